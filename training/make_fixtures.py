#!/usr/bin/env python3
"""Builds the small ONNX test models (test/fixtures/models) with the TiRex contract, and their
manifests. Deterministic: the same script gives the same bytes (checked by their sha256).

Run with Debian's python3-onnx (no PyPI needed):  /usr/bin/python3 training/make_fixtures.py

Models (input `context` float32 [batch, time], output `quantiles` float32 [batch, 32, 9]):
  quantile-ok        a well-behaved quantile model: NaN-masked mean and scale of the last 64
                     points, Gaussian bands growing with the square root of the horizon; 20
                     nodes and a few hundred multiply-adds per row, so that per-call overhead
                     (the binding's, ONNX Runtime's) is what a benchmark of it measures
  emits-nan          as quantile-ok, with NaN at forecast step 5
  emits-inf          as quantile-ok, with +Inf at forecast step 7
  crossing           quantile levels in reverse order at every step
  huge               finite values around 1e30
  shape-mismatch     returns [batch, 16, 9] while its manifest promises [batch, 32, 9]
  drifting           as quantile-ok, every level moved by 20 window scales per step: ordered,
                     plausible bands around a median that runs away from the context
  slow               as quantile-ok plus a chain of 320 512x512 MatMul/Tanh whose result is
                     multiplied by zero: seconds of CPU, so a timeout must cancel it
  overconfident      miscalibrated on purpose (the forecast-quality gate must FAIL it): the
                     last value as the median, as the naive forecast, but bands a quarter of a
                     random walk's width (the RMS of the last 64 one-step changes x sqrt(h))
  lagging            worse than naive on purpose: the median is the value 8 steps back, with a
                     random walk's bands around it
"""
import hashlib
import json
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, '..', 'test', 'fixtures', 'models')
LEVELS = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
# Standard normal quantiles of LEVELS (scipy-free, to 6 digits).
Z = np.array([-1.281552, -0.841621, -0.524401, -0.253347, 0.0, 0.253347, 0.524401, 0.841621, 1.281552], np.float32)
PATCH, WINDOW = 32, 64
OPSET = 17


def const(name, array):
    return numpy_helper.from_array(np.asarray(array), name)


def build(kind):
    nodes = []
    horizon_scale = np.sqrt(np.arange(1, PATCH + 1, dtype=np.float32) / PATCH)[:, None]  # [32, 1]
    offsets = (horizon_scale * Z[None, :]).astype(np.float32)  # [32, 9], increasing in the level
    if kind == 'crossing':
        offsets = -offsets
    if kind == 'drifting':
        offsets = (offsets + 20.0 * np.arange(1, PATCH + 1, dtype=np.float32)[:, None]).astype(np.float32)
    inits = [
        const('zero', np.float32(0)),
        const('one', np.float32(1)),
        const('eps', np.float32(1e-5)),
        const('axes1', np.array([1], np.int64)),
        const('axes2', np.array([2], np.int64)),
        const('win_start', np.array([-WINDOW], np.int64)),
        const('big_end', np.array([2**31 - 1], np.int64)),
        const('offsets', offsets[None, :, :]),  # [1, 32, 9]
    ]
    # NaN-masked mean and RMS deviation of the last WINDOW points (NaN inside the graph, as
    # TiRex masks it); quantiles = mean + scale * z_level * sqrt(step / 32).
    nodes += [
        helper.make_node('Slice', ['context', 'win_start', 'big_end', 'axes1'], ['window']),
        helper.make_node('IsNaN', ['window'], ['nan']),
        helper.make_node('Not', ['nan'], ['ok']),
        helper.make_node('Cast', ['ok'], ['okf'], to=TensorProto.FLOAT),
        helper.make_node('Where', ['nan', 'zero', 'window'], ['x0']),
        helper.make_node('ReduceSum', ['okf', 'axes1'], ['count'], keepdims=1),
        helper.make_node('Max', ['count', 'one'], ['den']),
        helper.make_node('ReduceSum', ['x0', 'axes1'], ['sum'], keepdims=1),
        helper.make_node('Div', ['sum', 'den'], ['mean']),  # [B, 1]
        helper.make_node('Sub', ['x0', 'mean'], ['dev_raw']),
        helper.make_node('Mul', ['dev_raw', 'okf'], ['dev']),  # 0 where the input was NaN
        helper.make_node('Mul', ['dev', 'dev'], ['dev2']),
        helper.make_node('ReduceSum', ['dev2', 'axes1'], ['ss'], keepdims=1),
        helper.make_node('Div', ['ss', 'den'], ['var']),
        helper.make_node('Sqrt', ['var'], ['std']),
        helper.make_node('Add', ['std', 'eps'], ['scale']),  # [B, 1]
        helper.make_node('Unsqueeze', ['scale', 'axes2'], ['scale3']),  # [B, 1, 1]
        helper.make_node('Unsqueeze', ['mean', 'axes2'], ['mean3']),
        helper.make_node('Mul', ['offsets', 'scale3'], ['band']),  # [B, 32, 9]
        helper.make_node('Add', ['band', 'mean3'], ['q_raw']),
    ]
    out = 'q_raw'
    if kind in ('emits-nan', 'emits-inf'):
        poison = np.zeros((PATCH, 9), np.float32)
        poison[5 if kind == 'emits-nan' else 7, :] = np.nan if kind == 'emits-nan' else np.inf
        inits.append(const('poison', poison))
        nodes.append(helper.make_node('Add', [out, 'poison'], ['q_poisoned']))
        out = 'q_poisoned'
    if kind == 'huge':
        inits.append(const('huge', np.float32(1e30)))
        nodes.append(helper.make_node('Mul', [out, 'huge'], ['q_huge']))
        out = 'q_huge'
    if kind == 'shape-mismatch':
        inits += [const('half_start', np.array([0], np.int64)), const('half_end', np.array([16], np.int64))]
        nodes.append(helper.make_node('Slice', [out, 'half_start', 'half_end', 'axes1'], ['q_half']))
        out = 'q_half'
    if kind == 'slow':
        # Generated, not stored: the file stays small. Tanh keeps the chain finite, and the
        # result is multiplied by zero, so the output equals quantile-ok's.
        nodes.append(helper.make_node('RandomNormal', [], ['m0'], shape=[512, 512], scale=0.05, seed=7.0))
        cur = 'm0'
        for i in range(320):
            nodes += [
                helper.make_node('MatMul', [cur, 'm0'], [f'mm{i}']),
                helper.make_node('Tanh', [f'mm{i}'], [f't{i}']),
            ]
            cur = f't{i}'
        nodes += [
            helper.make_node('ReduceSum', [cur], ['slow_sum'], keepdims=0),
            helper.make_node('Mul', ['slow_sum', 'zero'], ['slow_zero']),
            helper.make_node('Add', [out, 'slow_zero'], ['q_slow']),
        ]
        out = 'q_slow'
    nodes.append(helper.make_node('Identity', [out], ['quantiles']))
    steps = 16 if kind == 'shape-mismatch' else PATCH
    graph = helper.make_graph(
        nodes,
        f'tg-fixture-{kind}',
        [helper.make_tensor_value_info('context', TensorProto.FLOAT, ['batch', 'time'])],
        [helper.make_tensor_value_info('quantiles', TensorProto.FLOAT, ['batch', steps, 9])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='tirex-guardian-fixtures')
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def build_random_walk(kind):
    """overconfident and lagging: a median taken from the context, random-walk bands scaled."""
    lag, width = (0, 0.25) if kind == 'overconfident' else (8, 1.0)
    horizon = np.sqrt(np.arange(1, PATCH + 1, dtype=np.float32) + lag)[:, None]
    offsets = (width * horizon * Z[None, :]).astype(np.float32)[None, :, :]  # [1, 32, 9]
    inits = [
        const('axes1', np.array([1], np.int64)),
        const('axes2', np.array([2], np.int64)),
        const('tail_start', np.array([-(WINDOW + 1)], np.int64)),
        const('big_end', np.array([2**31 - 1], np.int64)),
        const('lo_start', np.array([0], np.int64)),
        const('lo_end', np.array([-1], np.int64)),
        const('hi_start', np.array([1], np.int64)),
        const('at', np.array([-(lag + 1)], np.int64)),
        const('at_end', np.array([-lag if lag > 0 else 2**31 - 1], np.int64)),
        const('eps', np.float32(1e-6)),
        const('offsets', offsets),
    ]
    nodes = [
        helper.make_node('Slice', ['context', 'tail_start', 'big_end', 'axes1'], ['tail']),
        helper.make_node('Slice', ['tail', 'lo_start', 'lo_end', 'axes1'], ['before']),
        helper.make_node('Slice', ['tail', 'hi_start', 'big_end', 'axes1'], ['after']),
        helper.make_node('Sub', ['after', 'before'], ['step']),
        helper.make_node('Mul', ['step', 'step'], ['step2']),
        helper.make_node('ReduceMean', ['step2'], ['ms'], axes=[1], keepdims=1),
        helper.make_node('Sqrt', ['ms'], ['rms']),
        helper.make_node('Add', ['rms', 'eps'], ['scale']),
        helper.make_node('Slice', ['context', 'at', 'at_end', 'axes1'], ['median']),  # [B, 1]
        helper.make_node('Unsqueeze', ['scale', 'axes2'], ['scale3']),
        helper.make_node('Unsqueeze', ['median', 'axes2'], ['median3']),
        helper.make_node('Mul', ['offsets', 'scale3'], ['band']),
        helper.make_node('Add', ['band', 'median3'], ['quantiles']),
    ]
    graph = helper.make_graph(
        nodes,
        f'tg-fixture-{kind}',
        [helper.make_tensor_value_info('context', TensorProto.FLOAT, ['batch', 'time'])],
        [helper.make_tensor_value_info('quantiles', TensorProto.FLOAT, ['batch', PATCH, 9])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid('', OPSET)], producer_name='tirex-guardian-fixtures')
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def manifest(kind, sha):
    return {
        'schemaVersion': 1,
        'name': f'tg-fixture-{kind}',
        'version': '1.0.0',
        'file': f'{kind}.onnx',
        'sha256': sha,
        'inputs': [{'name': 'context', 'dtype': 'float32', 'shape': ['batch', 'time']}],
        # shape-mismatch lies here on purpose: its graph returns 16 steps.
        'outputs': [{'name': 'quantiles', 'dtype': 'float32', 'shape': ['batch', PATCH, 9]}],
        'quantileLevels': LEVELS,
        'medianIndex': 4,
        'patchLength': PATCH,
        'maxContext': 2048,
        'minContext': 66 if kind in ('overconfident', 'lagging') else 3,
        'maxHorizon': 256,
        'nanHandling': 'masked',
        'scaling': 'internal',
        'provenance': {
            'builder': 'training/make_fixtures.py',
            'purpose': 'test fixture' + ('' if kind == 'quantile-ok' else f' for fault injection ({kind})'),
        },
        'evaluation': None,
    }


def main():
    os.makedirs(OUT, exist_ok=True)
    for kind in ['quantile-ok', 'emits-nan', 'emits-inf', 'crossing', 'huge', 'shape-mismatch', 'slow', 'drifting', 'overconfident', 'lagging']:
        data = (build_random_walk(kind) if kind in ('overconfident', 'lagging') else build(kind)).SerializeToString()
        sha = hashlib.sha256(data).hexdigest()
        with open(os.path.join(OUT, f'{kind}.onnx'), 'wb') as f:
            f.write(data)
        with open(os.path.join(OUT, f'{kind}.json'), 'w') as f:
            json.dump(manifest(kind, sha), f, indent=2)
            f.write('\n')
        print(f'{kind:16s} {len(data):7d} bytes  sha256 {sha}')


if __name__ == '__main__':
    main()
