#!/usr/bin/env python3
"""Version 1 of tirex-guardian's default forecaster (models/v1/, kept for comparison: version 2,
training/train_v2.py, replaced it and reuses this file's data, sampling and loss code). Trains it
and exports it with TiRex's ONNX contract into models/v1/.

    /usr/bin/python3 training/train.py            # Debian's python3-torch and python3-onnx

Contract (models/manifest.schema.json): input `context` float32 [batch, time], time up to 2048,
NaN allowed and masked inside the graph, scaling inside the graph; output `quantiles` float32
[batch, 32, 9] for the levels 0.1 ... 0.9.

Data: the first 64% of every real series listed in data/series.json and synthetic series
generated here (geometric random walks with volatility regimes and jumps, mean reversion,
trends, seasonality, level shifts, pegs and gaps). The next 16% of each series only calibrates
the width of the bands after training (one factor, chosen so that the 10-90% interval covers
80% of the calibration windows); the last 20% is held out for the evaluation command.

Model: the context is anchored at its last finite value and scaled by the RMS of its one-step
changes (both inside the graph); an MLP over the last 512 scaled points and their NaN mask
predicts, per step, a median and positive gaps between adjacent levels, so quantiles never
cross. The last layer starts at zero: the untrained model is the random-walk forecast with
Gaussian bands growing with the square root of the horizon, and training learns the rest.

Reproducible: fixed seeds, fixed thread count, settings below; the manifest records them.
"""
import csv
import hashlib
import json
import math
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, '..'))
SETTINGS = {
    'seed': 20261123,
    'threads': 2,
    'window': 512,        # points the network sees (the most recent ones)
    'patch': 32,
    'levels': [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    'hidden': 512,
    'steps': 6000,
    'batch': 256,
    'lr': 1e-3,
    'weight_decay': 1e-5,
    'real_fraction': 0.5,  # of each batch; the rest is synthetic
    'min_context': 32,
    'max_context': 1024,
    'target_clip': 60.0,   # scaled targets beyond this are clipped in the loss (jumps)
    'opset': 17,
    'calibration_fraction': 0.2,  # of each series' training part: picks the band width, not trained on
    'calibration_origins': 32,    # per series
    'target_coverage': 0.80,      # of the 10-90% interval, mean over series
}
MAX_CONTEXT = 2048
MAX_HORIZON = 256
Z = [-1.2815516, -0.8416212, -0.5244005, -0.2533471, 0.0, 0.2533471, 0.5244005, 0.8416212, 1.2815516]


# ---------------------------------------------------------------- data

def read_series(entry):
    path = os.path.join(ROOT, 'data', entry['file'])
    with open(path, newline='') as f:
        rows = list(csv.reader(f))
    if entry['header']:
        header, rows = rows[0], rows[1:]
        col = header.index(entry['column']) if isinstance(entry['column'], str) else entry['column']
        where = entry.get('where')
        if where:
            (key, value), = where.items()
            k = header.index(key)
            rows = [r for r in rows if r[k] == value]
    else:
        col = entry['column']
    out = []
    for r in rows:
        cell = r[col].strip() if col < len(r) else ''
        try:
            out.append(float(cell) if cell else math.nan)
        except ValueError:
            out.append(math.nan)
    return np.array(out, dtype=np.float64)


def training_parts():
    """(id, fit part, calibration part) per series. The evaluation's held-out tail (the last
    heldOutFraction) is dropped here; of the rest, the last calibration_fraction only picks the
    band width after training."""
    doc = json.load(open(os.path.join(ROOT, 'data', 'series.json')))
    parts = []
    for entry in doc['series']:
        values = read_series(entry)
        n_train = int(math.floor(len(values) * (1 - doc['heldOutFraction'])))
        n_fit = int(math.floor(n_train * (1 - SETTINGS['calibration_fraction'])))
        parts.append((entry['id'], values[:n_fit], values[:n_train]))
    return parts


def ar1(e, a):
    """x[i] = a * x[i-1] + e[i], vectorised in chunks short enough that a**-k stays finite."""
    x = np.empty_like(e)
    prev = 0.0
    for start in range(0, len(e), 32):
        c = e[start:start + 32]
        k = np.arange(len(c))
        x[start:start + 32] = a ** k * (prev * a + np.cumsum(c * a ** -k))
        prev = x[start + len(c) - 1]
    return x


class Synthetic:
    """Series of many shapes; each call returns one float64 array of the requested length."""

    def __init__(self, rng):
        self.rng = rng

    def __call__(self, n):
        r = self.rng
        kind = r.choice(['gbm', 'gbm', 'gbm', 'ou', 'trend', 'seasonal', 'seasonal', 'shift', 'peg'])
        t = np.arange(n, dtype=np.float64)
        if kind == 'gbm':
            # Random walk on log prices with volatility regimes (switching at random times) and jumps.
            vol = np.exp(r.uniform(np.log(2e-4), np.log(3e-2)))
            switches = np.cumsum(r.random(n) < 0.01)
            regimes = np.exp(r.normal(0, 0.7, switches[-1] + 1))[switches]
            regimes[switches == 0] = 1.0
            steps = r.standard_t(r.choice([3, 5, 30]), n) * vol * regimes
            jumps = (r.random(n) < r.uniform(0, 0.01)) * r.normal(0, 8 * vol, n)
            x = np.exp(np.cumsum(steps + jumps + r.normal(0, vol / 20)))
        elif kind == 'ou':
            x = ar1(r.normal(0, r.uniform(0.1, 1.0), n), 1 - r.uniform(0.01, 0.3))
        elif kind == 'trend':
            x = r.normal(0, 1) * t / n * r.uniform(1, 20) + np.cumsum(r.normal(0, r.uniform(0.01, 0.5), n))
        elif kind == 'seasonal':
            period = r.choice([7, 12, 24, 24, 48, 168])
            harmonics = sum(
                r.normal(0, 1 / k) * np.sin(2 * np.pi * k * t / period + r.uniform(0, 2 * np.pi)) for k in range(1, 4)
            )
            walk = np.cumsum(r.normal(0, r.uniform(0.0, 0.1), n))
            x = harmonics + walk + r.normal(0, r.uniform(0.02, 0.4), n) + r.normal(0, 0.3) * t / n
        elif kind == 'shift':
            x = np.cumsum(r.normal(0, r.uniform(0.01, 0.3), n))
            for _ in range(r.integers(1, 4)):
                x[r.integers(0, n):] += r.normal(0, 5)
        else:  # peg: flat with rare devaluations and tiny noise
            x = np.ones(n)
            for _ in range(r.integers(0, 3)):
                x[r.integers(0, n):] *= np.exp(r.normal(0, 0.3))
            x = x * (1 + r.normal(0, r.choice([0, 1e-5, 1e-4]), n))
        x = x * np.exp(r.uniform(np.log(1e-3), np.log(1e5))) + r.normal(0, 1) * (r.random() < 0.3) * np.abs(x).max()
        if r.random() < 0.15:  # gaps
            for _ in range(r.integers(1, 5)):
                a = r.integers(0, n)
                x[a:a + r.integers(1, 30)] = np.nan
        return x


def sample_batch(rng, parts, synth, batch):
    s = SETTINGS
    P = s['patch']
    ctx = np.full((batch, s['max_context']), np.nan, np.float32)
    tgt = np.full((batch, P), np.nan, np.float32)
    for b in range(batch):
        T = int(rng.integers(s['min_context'], s['max_context'] + 1))
        if rng.random() < s['real_fraction']:
            while True:
                _, values, _ = parts[rng.integers(0, len(parts))]
                if len(values) >= s['min_context'] + P:
                    break
            cut = int(rng.integers(s['min_context'], len(values) - P + 1))
            start = max(0, cut - T)
            c, y = values[start:cut], values[cut:cut + P]
        else:
            x = synth(T + P)
            c, y = x[:T], x[T:]
        ctx[b, -len(c):] = c
        tgt[b] = y
    return torch.from_numpy(ctx), torch.from_numpy(tgt)


# ---------------------------------------------------------------- model

class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        s = SETTINGS
        L, P, H = s['window'], s['patch'], s['hidden']
        self.L, self.P, self.Q = L, P, len(s['levels'])
        self.net = nn.Sequential(nn.Linear(2 * L + 2, H), nn.GELU(), nn.Linear(H, H), nn.GELU(), nn.Linear(H, P * self.Q))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        # Prior: random walk, Gaussian gaps between adjacent levels growing with sqrt(step).
        z = torch.tensor(Z)
        gaps = (z[1:] - z[:-1])[None, :] * torch.sqrt(torch.arange(1, P + 1, dtype=torch.float32))[:, None]  # [P, Q-1]
        self.register_buffer('prior_gap', torch.log(torch.expm1(gaps)))  # softplus^-1
        self.register_buffer('positions', torch.arange(L, dtype=torch.float32))
        # Band width around the median, set by calibrate() after training (1 while training).
        self.register_buffer('spread', torch.ones(()))

    def anchor(self, context):
        """Last finite value and the RMS of one-step changes: the graph's own scaling."""
        L = self.L
        x = context[:, -L:]
        x = F.pad(x, (L - x.shape[1], 0), value=float('nan'))
        mask = ~torch.isnan(x)
        maskf = mask.float()
        x0 = torch.where(mask, x, torch.zeros_like(x))
        idx = torch.argmax(maskf * (self.positions + 1.0), dim=1, keepdim=True)
        last = torch.gather(x0, 1, idx)
        # One-step changes where both ends are finite.
        pair = maskf[:, 1:] * maskf[:, :-1]
        d = (x0[:, 1:] - x0[:, :-1]) * pair
        count = torch.clamp(pair.sum(dim=1, keepdim=True), min=1.0)
        rms = torch.sqrt((d * d).sum(dim=1, keepdim=True) / count)
        scale = torch.maximum(rms, 1e-6 * torch.abs(last) + 1e-10)
        return x0, maskf, last, scale, count

    def forward(self, context):
        x0, maskf, last, scale, count = self.anchor(context)
        z = torch.clamp((x0 - last) / scale, -50.0, 50.0) * maskf
        extra = torch.cat([torch.log(scale / (torch.abs(last) + 1e-10) + 1e-12) / 10.0, count / self.L], dim=1)
        h = self.net(torch.cat([z, maskf, extra], dim=1)).reshape(-1, self.P, self.Q)
        median = h[:, :, 4:5]
        gaps = F.softplus(h[:, :, 5:] + self.prior_gap[:, 4:])            # above the median
        gaps_down = F.softplus(h[:, :, :4] + self.prior_gap[:, :4])       # below it
        upper = median + torch.cumsum(gaps, dim=2)
        lower = median - torch.flip(torch.cumsum(torch.flip(gaps_down, [2]), dim=2), [2])
        qz = median + self.spread * (torch.cat([lower, median, upper], dim=2) - median)
        return last.unsqueeze(2) + scale.unsqueeze(2) * qz, last, scale


def pinball(pred, target, levels):
    diff = target.unsqueeze(2) - pred
    return torch.maximum(levels * diff, (levels - 1) * diff)


# ---------------------------------------------------------------- calibration

def calibration_windows(parts):
    """Rolling origins over each series' calibration part: (series index, context, target)."""
    s = SETTINGS
    P = s['patch']
    out = []
    for i, (_, fit, train) in enumerate(parts):
        first, last = len(fit), len(train) - P
        if last < first or first < 3:
            continue
        stride = max(1, math.ceil((last - first + 1) / s['calibration_origins']))
        for o in range(first, last + 1, stride):
            out.append((i, train[max(0, o - MAX_CONTEXT):o], train[o:o + P]))
    return out


@torch.no_grad()
def calibrate(model, parts):
    """Picks the spread whose mean-over-series 10-90% coverage on the calibration windows is the
    target; returns (spread, coverage before, coverage after)."""
    windows = calibration_windows(parts)
    T = max(len(c) for _, c, _ in windows)
    ctx = np.full((len(windows), T), np.nan, np.float32)
    for j, (_, c, _) in enumerate(windows):
        ctx[j, T - len(c):] = c
    model.spread.fill_(1.0)
    q = model(torch.from_numpy(ctx))[0].numpy().astype(np.float64)  # [N, P, Q]
    y = np.stack([t for _, _, t in windows])
    series = np.array([i for i, _, _ in windows])
    med = q[:, :, 4]

    def coverage(spread):
        lo = med + spread * (q[:, :, 0] - med)
        hi = med + spread * (q[:, :, -1] - med)
        inside = ((y >= lo) & (y <= hi)).astype(np.float64)
        ok = ~np.isnan(y)
        per = [inside[series == i][ok[series == i]].mean() for i in np.unique(series)]
        return float(np.mean(per))

    lo_s, hi_s = 0.5, 3.0
    for _ in range(40):
        mid = (lo_s + hi_s) / 2
        if coverage(mid) < SETTINGS['target_coverage']:
            lo_s = mid
        else:
            hi_s = mid
    spread = (lo_s + hi_s) / 2
    model.spread.fill_(spread)
    return spread, coverage(1.0), coverage(spread)


# ---------------------------------------------------------------- train, export

def main():
    s = SETTINGS
    torch.manual_seed(s['seed'])
    torch.set_num_threads(s['threads'])
    rng = np.random.default_rng(s['seed'])
    parts = training_parts()
    synth = Synthetic(np.random.default_rng(s['seed'] + 1))
    model = Forecaster()
    opt = torch.optim.AdamW(model.parameters(), lr=s['lr'], weight_decay=s['weight_decay'])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s['lr'], total_steps=s['steps'], pct_start=0.05)
    levels = torch.tensor(s['levels'])
    t0 = time.time()
    for step in range(s['steps']):
        ctx, tgt = sample_batch(rng, parts, synth, s['batch'])
        pred, last, scale = model(ctx)
        zt = torch.clamp((tgt - last) / scale, -s['target_clip'], s['target_clip'])
        zp = (pred - last.unsqueeze(2)) / scale.unsqueeze(2)
        ok = ~torch.isnan(zt)
        loss = pinball(zp, torch.where(ok, zt, torch.zeros_like(zt)), levels)
        loss = (loss * ok.unsqueeze(2)).sum() / (ok.sum() * len(s['levels']))
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        if step % 500 == 0 or step == s['steps'] - 1:
            print(f'step {step:5d}  loss {loss.item():.4f}  {time.time() - t0:.0f}s', flush=True)
    model.eval()
    spread, before, after = calibrate(model, parts)
    print(f'calibration: spread {spread:.4f}, coverage {before:.4f} -> {after:.4f}', flush=True)
    export(model, {'spread': round(spread, 6), 'coverageBefore': round(before, 4), 'coverageAfter': round(after, 4)})


def export(model, calibration, out_dir=None, version='1.0.0', builder='training/train.py', command='/usr/bin/python3 training/train.py',
           calibration_data='the next 16% of every series (rolling origins), used only to choose the band width'):
    """Writes the model as ONNX with its manifest into out_dir (default OUT_DIR); version 2
    (train_v2.py) calls it with its own version, builder and command."""
    s = SETTINGS
    model.eval()

    class Exported(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, context):
            return self.m(context)[0]

    out_dir = out_dir or OUT_DIR
    path = os.path.join(out_dir, 'tirex-guardian-default.onnx')
    example = torch.randn(2, 700).cumsum(dim=1)
    torch.onnx.export(
        Exported(model), (example,), path, opset_version=s['opset'], input_names=['context'], output_names=['quantiles'],
        dynamic_axes={'context': {0: 'batch', 1: 'time'}, 'quantiles': {0: 'batch'}}, do_constant_folding=True,
    )
    m = onnx.load(path)
    onnx.checker.check_model(m)
    data = open(path, 'rb').read()
    manifest = {
        'schemaVersion': 1,
        'name': 'tirex-guardian-default',
        'version': version,
        'file': os.path.basename(path),
        'sha256': hashlib.sha256(data).hexdigest(),
        'inputs': [{'name': 'context', 'dtype': 'float32', 'shape': ['batch', 'time']}],
        'outputs': [{'name': 'quantiles', 'dtype': 'float32', 'shape': ['batch', s['patch'], len(s['levels'])]}],
        'quantileLevels': s['levels'],
        'medianIndex': 4,
        'patchLength': s['patch'],
        'maxContext': MAX_CONTEXT,
        'minContext': 3,
        'maxHorizon': MAX_HORIZON,
        'nanHandling': 'masked',
        'scaling': 'internal',
        'provenance': {
            'builder': builder,
            'command': command,
            'settings': s,
            'torch': torch.__version__,
            'onnx': onnx.__version__,
            'python': sys.version.split()[0],
            'trainingData': 'first 64% of every series in data/series.json (see data/README.md for sources and licences), plus synthetic series',
            'calibrationData': calibration_data,
            'heldOut': 'the last 20% of every series: never read here; the evaluation command scores on it',
            'calibration': calibration,
        },
        'evaluation': None,
    }
    with open(os.path.join(out_dir, 'tirex-guardian-default.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print(f'exported {path}: {len(data)} bytes, sha256 {manifest["sha256"]}')


OUT_DIR = os.path.join(ROOT, 'models', 'v1')

if __name__ == '__main__':
    # --steps N: a shorter run (smoke tests); --out DIR: write the model elsewhere (reproducibility checks).
    args = sys.argv[1:]
    if '--steps' in args:
        SETTINGS['steps'] = int(args[args.index('--steps') + 1])
    if '--out' in args:
        OUT_DIR = os.path.abspath(args[args.index('--out') + 1])
        os.makedirs(OUT_DIR, exist_ok=True)
    main()
