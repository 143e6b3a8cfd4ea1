#!/usr/bin/env python3
"""Version 2 of tirex-guardian's default forecaster (issue 17, item 5): what models/ ships. Trains
and exports a model with TiRex's ONNX contract, and the weights it trained (weights.pt), into
--out (required, so that a trial run never overwrites the shipped model: models/ holds the .onnx
and .json of a run, copied there once the forecast-quality gate decided that it replaces version
1). training/README.md records what each attempt measured.

    /usr/bin/python3 training/train_v2.py --out DIR [--steps N] [--load DIR]

--load DIR skips training and re-runs the post-training choices (structure gate, calibration) on
the weights DIR/weights.pt that a previous run saved.

Contract (models/manifest.schema.json): input `context` float32 [batch, time], time up to 2048,
NaN allowed and masked inside the graph, scaling inside the graph; output `quantiles` float32
[batch, 32, 9] for the levels 0.1 ... 0.9.

Data: the first 64% of every real series listed in data/series.json and synthetic series
generated here (geometric random walks with volatility regimes and jumps, mean reversion,
trends, seasonality, level shifts, pegs and gaps). The next 16% of each series only calibrates
the bands after training; the last 20% is held out for the evaluation command.

Model: the context is anchored at its last finite value and scaled by the RMS of its one-step
changes (both inside the graph); an MLP over the last 512 scaled points (a gap is 0), the share
of finite points in each block of 32, and statistics of the same 512 points (autocorrelations of
the changes at 7 lags, variance ratios at 4 horizons, the drift's t-statistic: what tells a
random walk from a series with structure; the recent volatility over the last 16, 64 and 128
changes) predicts, per step, a median and positive gaps between adjacent levels, so quantiles never
cross. A gate from the same statistics scales the median's move away from the last value
(0: "no change", the best median for a random walk), times a structure gate that is closed where a
Ljung-Box test of the changes, robust to volatility clusters, cannot tell the context from a random
walk (see structure_q0). The last layer starts at zero: the untrained model is the random-walk
forecast with Gaussian bands growing with the square root of the horizon, and training learns the
rest.

Calibration (version 2): on the calibration windows, every gap between adjacent levels gets a
factor per forecast step, chosen from the median outwards so that the share of outcomes below
each level, averaged over series, is the level (quantile recalibration); version 1 had one width
factor for all levels and steps. Two sets of factors: one from the windows whose structure gate is
closed (weighted by how closed: random walks, where the bands are the whole forecast), one from all
windows with a 5% trimmed mean over series (the open gate's windows alone are mostly the ~40
calibration points of monthly series); a window interpolates between them by its gate.
Version 1 is `git show 0fcd562:training/train.py`.

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
    # Version 1: 512, over the points and their NaN mask. Reading the first layer's weights is most
    # of a call's time, and ONNX Runtime spends about a microsecond per operator: the budget (1.2x
    # version 1's latency) pays for the statistics and the structure test by giving the network
    # the share of finite points per block of mask_block points instead of the whole mask (a gap
    # is a 0 among the scaled points; a short context is NaN in front; without the blocks, the
    # monthly series, whose contexts are short, lost most of their gains).
    'hidden': 320,
    'mask_block': 32,
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
    # The open gate's factors: a mean over series of their shares below each level without the
    # lowest and highest 5% (series whose calibration windows straddle a regime change, a peg
    # made or broken, would otherwise set every series' bands).
    'calibration_trim': 0.05,
    'stats_span': 512,            # the window itself (its values and mask are the anchor's; 1024 points cost 1.3x v1's latency)
    'acf_lags': [1, 2, 3, 5, 7, 12, 24],
    'vr_steps': [2, 4, 8, 16],
    'gate_hidden': 32,
    'vol_windows': [16, 64, 128],  # recent volatility: log RMS of the last k changes over the window's
    # The median moves away from the last value only where the context shows structure: a factor
    # clamp((Q - q0) / (q1 - q0), 0, 1) of a Ljung-Box statistic Q of the changes at acf_lags,
    # robust to volatility clusters (chi-square with 7 degrees of freedom for a random walk). q0
    # and q1 are that distribution's 80% and 99% quantiles: fixed by the test, not fitted (the
    # calibration windows of a monthly series are about 40 points; training/README.md says what
    # choosing them there gave).
    'structure_q0': 9.80,
    'structure_q1': 18.48,
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
        sd_d = torch.sqrt(var_d)
        drift = mean[:, :1] / sd_d * torch.sqrt(n[:, :1])
        # Ljung-Box statistic robust to volatility clusters: per lag l, the squared sum of the
        # centred cross products p_t = d_t d_(t-l) over the sum of their squares (daily prices
        # cluster, and the plain statistic, n times the squared autocorrelations, then finds
        # structure in a random walk: up to 65 on a daily exchange rate against 20 here). The
        # filters' outputs are centred, zero where a filter spans a gap and in units of d's
        # deviation (squares of squares of raw prices overflow); d_(t-l) = (d_t + d_(t-l)) - d_t.
        # Where d_t's own filter spans a gap, its zero zeroes p (the lag-1 filter x_t - x_(t-2)
        # has no tap at t-1). Few operators: each costs about a microsecond in ONNX Runtime.
        c = (v - mean.unsqueeze(2)) * (ok / sd_d.unsqueeze(2))
        c0 = c[:, :1]
        p = c0 * (c[:, 1:1 + L] - c0) * ok[:, 1:1 + L]
        s = p.sum(dim=2)
        self.last_q = (s * s / ((p * p).sum(dim=2) + 1e-30)).sum(dim=1, keepdim=True)
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
        self.net = nn.Sequential(nn.Linear(L + L // s['mask_block'] + 2 + F_, H), nn.GELU(), nn.Linear(H, H), nn.GELU(), nn.Linear(H, P * self.Q))
        nn.init.zeros_(self.net[-1].weight)
        nn.init.zeros_(self.net[-1].bias)
        self.gate = nn.Sequential(nn.Linear(F_, s['gate_hidden']), nn.GELU(), nn.Linear(s['gate_hidden'], 1))
        # Prior: random walk, Gaussian gaps between adjacent levels growing with sqrt(step).
        z = torch.tensor(Z)
        gaps = (z[1:] - z[:-1])[None, :] * torch.sqrt(torch.arange(1, P + 1, dtype=torch.float32))[:, None]  # [P, Q-1]
        self.register_buffer('prior_gap', torch.log(torch.expm1(gaps)))  # softplus^-1
        self.register_buffer('positions', torch.arange(L, dtype=torch.float32))
        self.register_buffer('nan_block', torch.full((1, L), float('nan')), persistent=False)
        blocks = torch.arange(L) // s['mask_block']
        self.register_buffer('mask_blocks', (blocks[:, None] == torch.arange(L // s['mask_block'])[None, :]).float() / s['mask_block'])  # [L, L / block]
        self.register_buffer('tail_sums', torch.tril(torch.ones(self.Q // 2, self.Q // 2)))  # [j, k] = 1 where j >= k
        ks = torch.tensor(s['vol_windows'])
        self.register_buffer('recent_windows', (torch.arange(L - 1)[:, None] >= (L - 1 - ks)[None, :]).float())  # [L-1, K]
        # Per step and gap, for a closed and an open structure gate (interpolated between), set by
        # calibrate() after training (1 while training).
        self.register_buffer('gap_scale_closed', torch.ones(P, self.Q - 1))
        self.register_buffer('gap_scale_open', torch.ones(P, self.Q - 1))
        # The structure gate's thresholds, set after training (open while training).
        self.register_buffer('q0', torch.tensor(-1.0))
        self.register_buffer('q1', torch.tensor(0.0))

    def anchor(self, context):
        """Last finite value and the RMS of one-step changes over the last `window` points."""
        L = self.L
        # The last L points, NaN in front of a shorter context: a block of NaN before it, [B, L]
        # by broadcasting (F.pad with a computed width, or expand, export as a dozen or more shape
        # operators, about a microsecond each in ONNX Runtime).
        x = torch.cat([context[:, :1] + self.nan_block, context], dim=1)[:, -L:]
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
        h = self.net(torch.cat([z, wm @ self.mask_blocks, extra, feats], dim=1)).reshape(-1, self.P, self.Q)
        structure = torch.clamp((self.stats.last_q - self.q0) / (self.q1 - self.q0), 0.0, 1.0).unsqueeze(2)  # [B, 1, 1]
        median = torch.sigmoid(self.gate(feats)).unsqueeze(2) * structure * h[:, :, 4:5]
        gaps_up = F.softplus(h[:, :, 5:] + self.prior_gap[:, 4:])          # [B, P, 4], from the median out
        gaps_down = F.softplus(h[:, :, :4] + self.prior_gap[:, :4])        # [B, P, 4], level 0-1 ... 3-4
        return median, gaps_down, gaps_up, last, scale, structure

    def forward(self, context):
        median, gaps_down, gaps_up, last, scale, structure = self.parts(context)
        factors = self.gap_scale_closed + structure * (self.gap_scale_open - self.gap_scale_closed)  # [B, P, 8]
        up = median + torch.cumsum(gaps_up * factors[:, :, 4:], dim=2)
        down = gaps_down * factors[:, :, :4]
        lower = median - down @ self.tail_sums  # each lower level: the gaps from it to the median
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
def set_structure_gate(model, parts):
    """Sets the structure gate's thresholds (settings) and returns what the gate does on the
    calibration windows, for the manifest: per series, the MAE of the median over the last
    value's, the worst daily price series' and the mean of their logarithms."""
    model.q0.fill_(SETTINGS['structure_q0'])
    model.q1.fill_(SETTINGS['structure_q1'])
    doc = json.load(open(os.path.join(ROOT, 'data', 'series.json')))
    daily = {e['id'] for e in doc['series'] if e['frequency'] == 'daily'}
    windows = calibration_windows(parts)
    median, _, _, last, scale, structure = (t.numpy().astype(np.float64) for t in model.parts(window_batch(windows)))
    y = np.stack([t for _, _, t in windows])
    series = np.array([i for i, _, _ in windows])
    ok = ~np.isnan(y)
    err_last = np.where(ok, np.abs(y - last), 0.0)
    err = np.where(ok, np.abs(y - last - scale * median[:, :, 0]), 0.0)
    ratio = {parts[i][0]: err[series == i].sum() / max(err_last[series == i].sum(), 1e-300) for i in np.unique(series)}
    return {
        'q0': SETTINGS['structure_q0'], 'q1': SETTINGS['structure_q1'],
        'openShare': round(float(structure.mean()), 4),
        'worstDailyMaeRatio': round(max(r for name, r in ratio.items() if name in daily), 4),
        'meanLogMaeRatio': round(float(np.mean(np.log(list(ratio.values())))), 4),
    }


def gap_factors(median, gaps_down, gaps_up, yz, ok, series, weight, trim=0.0, symmetric=False):
    """Per step, the factors of the gaps from the median outwards, each chosen by bisection so
    that the share of outcomes at or below its level is the level (symmetric: one factor for a gap
    and its mirror image, so that the share between the two levels is their distance: a median
    held at the last value then keeps the calibration period's drift out of the bands). A share
    is a mean over series of each series' weighted share, a series counting by its mean weight;
    with trim, the mean of the series' shares without the lowest and highest `trim` of them."""
    levels = SETTINGS['levels']
    P = yz.shape[1]
    ids = np.unique(series)
    masks = [series == i for i in ids]
    mass = np.array([weight[m].mean() for m in masks])
    factors = np.ones((P, 8))

    def share(lo, hi, h):
        w = weight * ok[:, h]
        inside = ((yz[:, h] > lo) & (yz[:, h] <= hi)) * w
        shares = np.array([inside[m].sum() / max(w[m].sum(), 1e-12) for m in masks])
        if trim > 0:
            k = int(len(shares) * trim)
            return float(np.sort(shares)[k:len(shares) - k].mean())
        return float((shares * mass).sum() / mass.sum())

    def bisect(share_at, target):
        """The factor in [0.02, 50] where share_at(factor), increasing, reaches target."""
        lo_f, hi_f = 0.02, 50.0
        for _ in range(50):
            mid = (lo_f + hi_f) / 2
            if share_at(mid) < target:
                lo_f = mid
            else:
                hi_f = mid
        return (lo_f + hi_f) / 2

    for h in range(P):
        up = median[:, h, 0].copy()
        down = up.copy()
        for k in range(4):                       # level 5 + k above, 3 - k below (gaps_down[j]: levels j, j + 1)
            gu, gd = gaps_up[:, h, k], gaps_down[:, h, 3 - k]
            if symmetric:
                f = bisect(lambda f: share(down - f * gd, up + f * gu, h), levels[5 + k] - levels[3 - k])
                factors[h, 4 + k] = factors[h, 3 - k] = f
            else:
                factors[h, 4 + k] = bisect(lambda f: share(-np.inf, up + f * gu, h), levels[5 + k])
                factors[h, 3 - k] = bisect(lambda f: 1.0 - share(-np.inf, down - f * gd, h), 1.0 - levels[3 - k])
            up = up + factors[h, 4 + k] * gu
            down = down - factors[h, 3 - k] * gd
    w = SETTINGS['calibration_smoothing']
    return np.stack([factors[max(0, h - w // 2):h + w // 2 + 1].mean(axis=0) for h in range(P)])


@torch.no_grad()
def calibrate(model, parts):
    """Quantile recalibration on the calibration windows, once for the windows where the structure
    gate is closed (random walks: the bands are all the forecast), each weighted by how closed its
    gate is, and once for all windows with a trimmed mean over series, the factors of an open gate
    (the open windows alone are mostly the ~40 calibration points of monthly series). Returns both
    sets of factors and the 10-90% coverage (mean over series) before and after."""
    windows = calibration_windows(parts)
    model.gap_scale_closed.fill_(1.0)
    model.gap_scale_open.fill_(1.0)
    median, gaps_down, gaps_up, last, scale, structure = (t.numpy().astype(np.float64) for t in model.parts(window_batch(windows)))
    y = np.stack([t for _, _, t in windows])
    yz = (y - last) / scale                                   # [N, P], outcomes in the model's units
    series = np.array([i for i, _, _ in windows])
    ok = ~np.isnan(yz)
    s = structure[:, 0, 0]
    closed = gap_factors(median, gaps_down, gaps_up, yz, ok, series, 1.0 - s, symmetric=True)
    opened = gap_factors(median, gaps_down, gaps_up, yz, ok, series, np.ones_like(s), SETTINGS['calibration_trim'])

    def coverage(f):
        lo = median[:, :, 0] - (gaps_down * f[:, :, :4]).sum(axis=2)
        hi = median[:, :, 0] + (gaps_up * f[:, :, 4:]).sum(axis=2)
        inside = ((yz >= lo) & (yz <= hi)) & ok
        return float(np.mean([inside[series == i].sum() / ok[series == i].sum() for i in np.unique(series)]))

    before = coverage(np.ones((1, model.P, 8)))
    model.gap_scale_closed.copy_(torch.from_numpy(closed.astype(np.float32)))
    model.gap_scale_open.copy_(torch.from_numpy(opened.astype(np.float32)))
    after = coverage(closed[None] + s[:, None, None] * (opened - closed)[None])
    return np.stack([closed, opened]), before, after


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
    gate = set_structure_gate(model, parts)
    print(f'structure gate: {gate}', flush=True)
    factors, before, after = calibrate(model, parts)
    print(f'calibration: gap factors {factors.min():.3f} .. {factors.max():.3f}, coverage {before:.4f} -> {after:.4f}', flush=True)
    export(model, {'structureGate': gate, 'method': 'per-step gap factors from the median outwards (quantile recalibration), for a closed structure gate (windows weighted by how closed; one factor for a gap and its mirror image) and an open one (all windows, trimmed mean over series), smoothed over steps', 'factorRange': [round(float(factors.min()), 4), round(float(factors.max()), 4)], 'coverageBefore': round(before, 4), 'coverageAfter': round(after, 4)})


def export(model, calibration):
    v1.export(
        model, calibration, out_dir=OUT_DIR, version=SETTINGS['version'], builder='training/train_v2.py',
        command='/usr/bin/python3 training/train_v2.py --out DIR',
        calibration_data='the next 16% of every series (rolling origins), used only to choose the gap factors',
    )


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
