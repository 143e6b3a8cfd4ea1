#!/usr/bin/env python3
"""Version 2 of tirex-guardian's default forecaster: work in progress (issue 17, item 5), not
shipped. Trains a candidate and exports it with TiRex's ONNX contract into --out (required: it
never writes models/; the forecast-quality gate decides whether a candidate replaces the shipped
model). training/README.md records what each attempt measured.

    /usr/bin/python3 training/train_v2.py --out DIR [--steps N] [--load DIR]

--load DIR skips training and re-runs the post-training choices (structure gate, calibration) on
the weights DIR/weights.pt that a previous run saved.

Contract (models/manifest.schema.json): input `context` float32 [batch, time], time up to 2048,
NaN allowed and masked inside the graph, scaling inside the graph; output `quantiles` float32
[batch, 32, 9] for the levels 0.1 ... 0.9.

Data: the first 64% of every real series listed in data/series.json and synthetic series
generated here (geometric random walks with volatility regimes and jumps, mean reversion,
trends, seasonality, level shifts, pegs and gaps). The next 16% of each series only calibrates
the width of the bands after training (one factor, chosen so that the 10-90% interval covers
80% of the calibration windows); the last 20% is held out for the evaluation command.

Model: the context is anchored at its last finite value and scaled by the RMS of its one-step
changes (both inside the graph); an MLP over the last 512 scaled points, their NaN mask and
statistics of the same 512 points (autocorrelations of the changes at 7 lags, variance ratios
at 4 horizons, the drift's t-statistic: what tells a random walk from a series with structure)
predicts, per step, a median and positive gaps between adjacent levels, so quantiles never
cross. A gate from the same statistics scales the median's move away from the last value
(0: "no change", the best median for a random walk). The last layer starts at zero: the untrained
model is the random-walk forecast with Gaussian bands growing with the square root of the horizon,
and training learns the rest.

Calibration (version 2): on the calibration windows, every gap between adjacent levels gets a
factor per forecast step, chosen from the median outwards so that the share of outcomes below
each level, averaged over series, is the level (quantile recalibration); version 1 had one width
factor for all levels and steps. Version 1 is `git show 0fcd562:training/train.py`.

Reproducible: fixed seeds, fixed thread count, settings below; the manifest records them.
"""
import hashlib
import json
import os
import sys
import time

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import train as v1  # noqa: E402  (version 1's data, sampling and loss code, shared)
from train import MAX_CONTEXT, MAX_HORIZON, ROOT, Z, Synthetic, calibration_windows, pinball, sample_batch, training_parts  # noqa: E402

V2_SETTINGS = {
    'version': '2.0.0',
    'seed': 20261130,
    'threads': 2,
    'window': 512,        # points the network sees (the most recent ones)
    'patch': 32,
    'levels': [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9],
    'hidden': 320,      # version 1: 512; reading the weights is most of a call's time (1.2x latency budget)
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
    'calibration_smoothing': 5,   # steps: the per-step gap factors are a running mean over this many
    'stats_span': 512,            # the window itself (its values and mask are the anchor's; 1024 points cost 1.3x v1's latency)
    'acf_lags': [1, 2, 3, 5, 7, 12, 24],
    'vr_steps': [2, 4, 8, 16],
    'gate_hidden': 32,
    'vol_windows': [16, 64, 128],  # recent volatility: log RMS of the last k changes over the window's
    # The median moves away from the last value only where the context shows structure: a factor
    # clamp((Q - q0) / (q1 - q0), 0, 1) of the Ljung-Box statistic Q of the changes at acf_lags
    # (about chi-square with 7 degrees of freedom for a random walk). q0, q1 are chosen on the
    # calibration windows: the largest aggregate gain with no daily price series' median worse than
    # the last value there.
    'structure_grid_q0': [7, 10, 14, 20, 30, 50, 80, 120],
    'structure_grid_span': [1.5, 2.0, 3.0],
}
# train.py's functions read their module's SETTINGS: version 2's replace them in place (one
# process trains one model), so the data, the sampling and the loss are version 1's code.
v1.SETTINGS.clear()
v1.SETTINGS.update(V2_SETTINGS)
SETTINGS = v1.SETTINGS


# ---------------------------------------------------------------- model

class ContextStats(nn.Module):
    """Scale-free statistics of the last stats_span points of the context: autocorrelations of the
    one-step changes d at acf_lags, variance ratios at vr_steps, the drift's t-statistic and the
    share of finite changes. Every one is a variance of a fixed linear filter of the values, so one
    convolution computes them all: d_t = x_t - x_(t-1); x_t - x_(t-k) (variance ratio
    Var / (k Var d)); d_t + d_(t-l) (autocorrelation (Var / Var d - 2) / 2). A filter counts where
    all its taps are finite (a second convolution over the mask). A Gather per lag table was three
    times the whole model's latency in ONNX Runtime; this is a handful of operators."""

    def __init__(self):
        super().__init__()
        s = SETTINGS
        self.N = s['stats_span']
        self.lags = s['acf_lags']
        self.steps = s['vr_steps']
        K = max(max(self.lags) + 2, max(self.steps) + 1)
        filters = []
        d = np.zeros(K); d[-1], d[-2] = 1.0, -1.0
        filters.append(d)
        for l in self.lags:
            f = d.copy(); f[-1 - l] += 1.0; f[-2 - l] -= 1.0
            filters.append(f)
        for k in self.steps:
            f = np.zeros(K); f[-1], f[-1 - k] = 1.0, -1.0
            filters.append(f)
        w = torch.tensor(np.stack(filters), dtype=torch.float32).unsqueeze(1)      # [C, 1, K]
        self.register_buffer('filters', w)
        self.register_buffer('taps', (w != 0).float())
        self.register_buffer('tap_count', (w != 0).float().sum(dim=(1, 2)) - 0.5)   # [C]
        self.register_buffer('k', torch.tensor(self.steps, dtype=torch.float32))
        self.count = len(self.lags) + len(self.steps) + 2

    def forward(self, x0, maskf):
        """x0: the window's values with NaN as 0, maskf: 1 where finite (the anchor's, [B, N])."""
        N = self.N
        m = maskf.unsqueeze(1)
        v = F.conv1d(x0.unsqueeze(1), self.filters)                                            # [B, C, N - K + 1]
        ok = (F.conv1d(m, self.taps) > self.tap_count[None, :, None]).float()
        n = torch.clamp(ok.sum(dim=2), min=1.0)                                   # [B, C]
        mean = (v * ok).sum(dim=2) / n
        var = torch.clamp((v * v * ok).sum(dim=2) / n - mean * mean, min=0.0) + 1e-20
        L = len(self.lags)
        var_d = var[:, :1]
        acf = (var[:, 1:1 + L] / var_d - 2.0) / 2.0
        vr = var[:, 1 + L:] / (self.k * var_d)
        drift = mean[:, :1] / torch.sqrt(var_d) * torch.sqrt(n[:, :1])
        self.last_q = n[:, :1] * (torch.clamp(acf, -1.0, 1.0) ** 2).sum(dim=1, keepdim=True)
        return torch.cat([
            torch.clamp(acf, -1.0, 1.0),
            torch.clamp(torch.log(vr + 1e-6), -3.0, 3.0) / 3.0,
            torch.clamp(drift, -5.0, 5.0) / 5.0,
            n[:, :1] / N,
        ], dim=1)


class Forecaster(nn.Module):
    def __init__(self):
        super().__init__()
        s = SETTINGS
        L, P, H = s['window'], s['patch'], s['hidden']
        self.L, self.P, self.Q = L, P, len(s['levels'])
        self.stats = ContextStats()
        F_ = self.stats.count + len(s['vol_windows'])
        self.net = nn.Sequential(nn.Linear(2 * L + 2 + F_, H), nn.GELU(), nn.Linear(H, H), nn.GELU(), nn.Linear(H, P * self.Q))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.gate = nn.Sequential(nn.Linear(F_, s['gate_hidden']), nn.GELU(), nn.Linear(s['gate_hidden'], 1))
        # Prior: random walk, Gaussian gaps between adjacent levels growing with sqrt(step).
        z = torch.tensor(Z)
        gaps = (z[1:] - z[:-1])[None, :] * torch.sqrt(torch.arange(1, P + 1, dtype=torch.float32))[:, None]  # [P, Q-1]
        self.register_buffer('prior_gap', torch.log(torch.expm1(gaps)))  # softplus^-1
        self.register_buffer('positions', torch.arange(L, dtype=torch.float32))
        ks = torch.tensor(s['vol_windows'])
        self.register_buffer('recent_windows', (torch.arange(L - 1)[:, None] >= (L - 1 - ks)[None, :]).float())  # [L-1, K]
        # Per step and gap, set by calibrate() after training (1 while training).
        self.register_buffer('gap_scale', torch.ones(P, self.Q - 1))
        # The structure gate's thresholds, set by choose_structure_gate() (off while training).
        self.register_buffer('q0', torch.tensor(-1.0))
        self.register_buffer('q1', torch.tensor(0.0))

    def anchor(self, context):
        """Last finite value and the RMS of one-step changes over the last `window` points."""
        L = self.L
        x = context[:, -L:]
        x = F.pad(x, (L - x.shape[1], 0), value=float('nan'))
        mask = ~torch.isnan(x)
        maskf = mask.float()
        x0 = torch.where(mask, x, torch.zeros_like(x))
        idx = torch.argmax(maskf * (self.positions + 1.0), dim=1, keepdim=True)
        last = torch.gather(x0, 1, idx)
        pair = maskf[:, 1:] * maskf[:, :-1]
        d = (x0[:, 1:] - x0[:, :-1]) * pair
        count = torch.clamp(pair.sum(dim=1, keepdim=True), min=1.0)
        d2 = d * d
        rms = torch.sqrt(d2.sum(dim=1, keepdim=True) / count)
        scale = torch.maximum(rms, 1e-6 * torch.abs(last) + 1e-10)
        # Recent volatility against the window's: what a band must follow (volatility clusters).
        # One product with a 0/1 matrix sums the last k squared changes for every k at once.
        sums = d2 @ self.recent_windows
        counts = torch.clamp(pair @ self.recent_windows, min=1.0)
        recent = torch.clamp(torch.log(torch.sqrt(sums / counts) / scale + 1e-12), -5.0, 5.0) / 5.0
        return x0, maskf, last, scale, count, recent

    def parts(self, context):
        """The scaled median (gated) and the gaps below and above it, before the calibration."""
        w0, wm, last, scale, count, recent = self.anchor(context)
        z = torch.clamp((w0 - last) / scale, -50.0, 50.0) * wm
        feats = torch.cat([self.stats(w0, wm), recent], dim=1)
        extra = torch.cat([torch.log(scale / (torch.abs(last) + 1e-10) + 1e-12) / 10.0, count / self.L], dim=1)
        h = self.net(torch.cat([z, wm, extra, feats], dim=1)).reshape(-1, self.P, self.Q)
        structure = torch.clamp((self.stats.last_q - self.q0) / (self.q1 - self.q0), 0.0, 1.0)
        alpha = (torch.sigmoid(self.gate(feats)) * structure).unsqueeze(2)  # [B, 1, 1]
        median = alpha * h[:, :, 4:5]
        gaps_up = F.softplus(h[:, :, 5:] + self.prior_gap[:, 4:])          # [B, P, 4], from the median out
        gaps_down = F.softplus(h[:, :, :4] + self.prior_gap[:, :4])        # [B, P, 4], level 0-1 ... 3-4
        return median, gaps_down, gaps_up, last, scale

    def forward(self, context):
        median, gaps_down, gaps_up, last, scale = self.parts(context)
        up = median + torch.cumsum(gaps_up * self.gap_scale[:, 4:], dim=2)
        down = gaps_down * self.gap_scale[:, :4]
        lower = median - torch.flip(torch.cumsum(torch.flip(down, [2]), dim=2), [2])
        qz = torch.cat([lower, median, up], dim=2)
        return last.unsqueeze(2) + scale.unsqueeze(2) * qz, last, scale


# ---------------------------------------------------------------- calibration


def window_batch(windows):
    T = max(len(c) for _, c, _ in windows)
    ctx = np.full((len(windows), T), np.nan, np.float32)
    for j, (_, c, _) in enumerate(windows):
        ctx[j, T - len(c):] = c
    return torch.from_numpy(ctx)


@torch.no_grad()
def choose_structure_gate(model, parts):
    """Picks (q0, q1) of the structure gate on the calibration windows: the smallest mean over
    series of log(MAE of the median / MAE of the last value) such that no daily price series'
    median is worse than the last value; the median's only job the gate changes. Returns the
    choice and the figures it was chosen on."""
    doc = json.load(open(os.path.join(ROOT, 'data', 'series.json')))
    daily = {e['id'] for e in doc['series'] if e['frequency'] == 'daily'}
    windows = calibration_windows(parts)
    model.q0.fill_(-1.0)
    model.q1.fill_(0.0)
    median, _, _, last, scale = model.parts(window_batch(windows))
    q = model.stats.last_q.numpy().astype(np.float64)[:, 0]
    median, last, scale = median.numpy()[:, :, 0].astype(np.float64), last.numpy().astype(np.float64), scale.numpy().astype(np.float64)
    y = np.stack([t for _, _, t in windows])
    series = np.array([i for i, _, _ in windows])
    ok = ~np.isnan(y)
    err_last = np.where(ok, np.abs(y - last), 0.0)
    ids = [i for i in np.unique(series)]
    names = {i: parts[i][0] for i in ids}

    def ratios(g):
        err = np.where(ok, np.abs(y - last - scale * median * g[:, None]), 0.0)
        return {i: err[series == i].sum() / max(err_last[series == i].sum(), 1e-300) for i in ids}

    best = None
    for q0 in SETTINGS['structure_grid_q0']:
        for span in SETTINGS['structure_grid_span']:
            g = np.clip((q - q0) / (q0 * span - q0), 0.0, 1.0)
            r = ratios(g)
            worst_daily = max(r[i] for i in ids if names[i] in daily)
            objective = float(np.mean([np.log(r[i]) for i in ids]))
            key = (worst_daily > 1.0, worst_daily if worst_daily > 1.0 else 0.0, objective)
            if best is None or key < best[0]:
                best = (key, q0, q0 * span, worst_daily, objective)
    _, q0, q1, worst_daily, objective = best
    model.q0.fill_(float(q0))
    model.q1.fill_(float(q1))
    return {'q0': q0, 'q1': q1, 'worstDailyMaeRatio': round(worst_daily, 4), 'meanLogMaeRatio': round(objective, 4)}


@torch.no_grad()
def calibrate(model, parts):
    """Quantile recalibration: per forecast step, the gaps between adjacent levels are scaled from
    the median outwards, each factor chosen by bisection so that the share of outcomes at or below
    its level, averaged over series, is the level; the factors are then smoothed over steps.
    Returns the 10-90% coverage (mean over series) before and after."""
    windows = calibration_windows(parts)
    model.gap_scale.fill_(1.0)
    median, gaps_down, gaps_up, last, scale = (t.numpy().astype(np.float64) for t in model.parts(window_batch(windows)))
    y = np.stack([t for _, _, t in windows])
    yz = (y - last) / scale                                   # [N, P], outcomes in the model's units
    series = np.array([i for i, _, _ in windows])
    ids = np.unique(series)
    ok = ~np.isnan(yz)
    levels = SETTINGS['levels']
    P = model.P
    factors = np.ones((P, 8))

    def share_below(q, h):
        inside = (yz[:, h] <= q) & ok[:, h]
        return float(np.mean([inside[series == i].sum() / max(1, ok[series == i, h].sum()) for i in ids]))

    def coverage(f):
        lo = median[:, :, 0] - (gaps_down * f[None, :, :4]).sum(axis=2)
        hi = median[:, :, 0] + (gaps_up * f[None, :, 4:]).sum(axis=2)
        inside = ((yz >= lo) & (yz <= hi)) & ok
        return float(np.mean([inside[series == i].sum() / ok[series == i].sum() for i in ids]))

    before = coverage(factors)
    for h in range(P):
        m = median[:, h, 0]
        # Upper side: level 5 .. 8, each gap outward from the median.
        base = m.copy()
        for k in range(4):
            gap = gaps_up[:, h, k]
            lo_f, hi_f = 0.02, 50.0
            for _ in range(50):
                mid = (lo_f + hi_f) / 2
                if share_below(base + mid * gap, h) < levels[5 + k]:
                    lo_f = mid
                else:
                    hi_f = mid
            factors[h, 4 + k] = (lo_f + hi_f) / 2
            base = base + factors[h, 4 + k] * gap
        # Lower side: level 3 .. 0 (gaps_down[k] lies between levels k and k + 1).
        base = m.copy()
        for k in range(3, -1, -1):
            gap = gaps_down[:, h, k]
            lo_f, hi_f = 0.02, 50.0
            for _ in range(50):
                mid = (lo_f + hi_f) / 2
                if share_below(base - mid * gap, h) > levels[k]:
                    lo_f = mid
                else:
                    hi_f = mid
            factors[h, k] = (lo_f + hi_f) / 2
            base = base - factors[h, k] * gap
    w = SETTINGS['calibration_smoothing']
    smooth = np.stack([factors[max(0, h - w // 2):h + w // 2 + 1].mean(axis=0) for h in range(P)])
    model.gap_scale.copy_(torch.from_numpy(smooth.astype(np.float32)))
    return smooth, before, coverage(smooth)


# ---------------------------------------------------------------- train, export

def main():
    s = SETTINGS
    torch.manual_seed(s['seed'])
    torch.set_num_threads(s['threads'])
    rng = np.random.default_rng(s['seed'])
    parts = training_parts()
    synth = Synthetic(np.random.default_rng(s['seed'] + 1))
    model = Forecaster()
    if LOAD_DIR is not None:
        model.load_state_dict(torch.load(os.path.join(LOAD_DIR, 'weights.pt')))
    opt = torch.optim.AdamW(model.parameters(), lr=s['lr'], weight_decay=s['weight_decay'])
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=s['lr'], total_steps=s['steps'], pct_start=0.05)
    levels = torch.tensor(s['levels'])
    t0 = time.time()
    for step in range(0 if LOAD_DIR is not None else s['steps']):
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
    torch.save(model.state_dict(), os.path.join(OUT_DIR, 'weights.pt'))
    model.eval()
    gate = choose_structure_gate(model, parts)
    print(f'structure gate: {gate}', flush=True)
    factors, before, after = calibrate(model, parts)
    print(f'calibration: gap factors {factors.min():.3f} .. {factors.max():.3f}, coverage {before:.4f} -> {after:.4f}', flush=True)
    export(model, {'structureGate': gate, 'method': 'per-step gap factors from the median outwards (quantile recalibration), smoothed over steps', 'factorRange': [round(float(factors.min()), 4), round(float(factors.max()), 4)], 'coverageBefore': round(before, 4), 'coverageAfter': round(after, 4)})


def export(model, calibration):
    s = SETTINGS
    model.eval()

    class Exported(nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, context):
            return self.m(context)[0]

    out_dir = OUT_DIR
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
        'version': s['version'],
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
            'builder': 'training/train_v2.py',
            'command': '/usr/bin/python3 training/train_v2.py --out DIR',
            'settings': s,
            'torch': torch.__version__,
            'onnx': onnx.__version__,
            'python': sys.version.split()[0],
            'trainingData': 'first 64% of every series in data/series.json (see data/README.md for sources and licences), plus synthetic series',
            'calibrationData': 'the next 16% of every series (rolling origins), used only to choose the gap factors',
            'heldOut': 'the last 20% of every series: never read here; the evaluation command scores on it',
            'calibration': calibration,
        },
        'evaluation': None,
    }
    with open(os.path.join(out_dir, 'tirex-guardian-default.json'), 'w') as f:
        json.dump(manifest, f, indent=2)
        f.write('\n')
    print(f'exported {path}: {len(data)} bytes, sha256 {manifest["sha256"]}')


OUT_DIR = None
LOAD_DIR = None

if __name__ == '__main__':
    args = sys.argv[1:]
    if '--steps' in args:
        SETTINGS['steps'] = int(args[args.index('--steps') + 1])
    if '--out' not in args:
        sys.exit('train_v2.py: --out DIR is required (a candidate never overwrites the shipped model)')
    OUT_DIR = os.path.abspath(args[args.index('--out') + 1])
    os.makedirs(OUT_DIR, exist_ok=True)
    if '--load' in args:
        LOAD_DIR = os.path.abspath(args[args.index('--load') + 1])
    main()
