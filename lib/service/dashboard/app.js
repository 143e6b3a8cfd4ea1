// The status page's script: no build step, no dependency, no CDN. Everything the service sends
// is written as text (textContent, SVG attributes): nothing is parsed as HTML. The page reads
// GET /v1/dashboard; the admin buttons (shown only to an `admin` key) call the service's own
// emergency endpoints, which record each action in the audit log.
'use strict';

(() => {
  const REFRESH_MS = 5000;
  const HISTORY = 60;
  const SVG = 'http://www.w3.org/2000/svg';
  const STATUSES = ['ok', 'corrected', 'fallback', 'blocked'];
  const COLORS = { ok: '#2e7d32', corrected: '#1565c0', fallback: '#ef6c00', blocked: '#c62828' };
  const $ = (id) => document.getElementById(id);
  const history = [];
  let timer = null;

  function el(tag, text, className) {
    const e = document.createElement(tag);
    if (text !== undefined && text !== null) e.textContent = String(text);
    if (className) e.className = className;
    return e;
  }

  function svg(tag, attrs) {
    const e = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    return e;
  }

  /** A numeric cell: the raw value in data-value (what tests compare), a readable text. */
  function num(value, text, attrs) {
    const td = el('td', text === undefined ? value : text, 'num');
    td.dataset.value = String(value);
    for (const [k, v] of Object.entries(attrs || {})) td.dataset[k] = v;
    return td;
  }

  const pct = (r) => `${(100 * r).toFixed(2)}%`;
  const us = (v) => (v === null || v === undefined ? 'n/a' : v >= 1000 ? `${(v / 1000).toFixed(2)} ms` : `${v.toFixed(0)} µs`);

  function rows(tableId, list, build) {
    const body = $(tableId).tBodies[0];
    body.replaceChildren(...list.map(build));
  }

  function key() {
    return sessionStorage.getItem('tg-key');
  }

  async function api(method, path, body) {
    const headers = { authorization: `Bearer ${key()}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      const e = new Error((data && data.error && `${data.error.code}: ${data.error.message}`) || `HTTP ${res.status}`);
      e.status = res.status;
      throw e;
    }
    return data;
  }

  function showError(message) {
    $('error').textContent = message;
    $('error').hidden = message === null;
  }

  function renderModels(d, admin) {
    rows('models', d.models, (m) => {
      const tr = el('tr');
      tr.dataset.model = m.name;
      tr.append(el('td', m.name), el('td', `${m.model.name}@${m.model.version}`), el('td', m.model.sha256.slice(0, 12)), el('td', m.model.provider));
      tr.append(el('td', m.breaker.state, `state-${m.breaker.state}`));
      tr.append(el('td', m.maintenance === null ? 'no' : `${m.maintenance.mode}: ${m.maintenance.reason}`));
      tr.append(el('td', m.suspended === null ? 'no' : m.suspended));
      const actions = el('td', null, 'admin-only');
      if (admin) {
        if (m.maintenance === null) actions.append(action('Enter maintenance', 'POST', '/v1/maintenance', { action: 'enter', mode: 'fallback', reason: 'from the dashboard', model: m.name }));
        else actions.append(action('Exit maintenance', 'POST', '/v1/maintenance', { action: 'exit', model: m.name }));
        if (m.suspended !== null) actions.append(action('Resume inference', 'POST', '/v1/resume', { model: m.name }));
      }
      tr.append(actions);
      return tr;
    });
  }

  function action(label, method, path, body) {
    const b = el('button', label);
    b.type = 'button';
    b.addEventListener('click', async () => {
      b.disabled = true;
      try {
        await api(method, path, body);
        $('action-result').textContent = `${label}: done`;
      } catch (err) {
        $('action-result').textContent = `${label}: ${err.message}`;
      }
      await refresh();
    });
    return b;
  }

  function renderForecasts(d) {
    const models = Object.entries(d.stats.models);
    rows('forecasts', models, ([name, s]) => {
      const tr = el('tr');
      tr.dataset.model = name;
      const lat = s.latency && s.latency.forecast;
      tr.append(el('td', name), num(s.calls, undefined, { metric: 'calls' }));
      for (const st of STATUSES) tr.append(num(s.byStatus[st], undefined, { metric: st }));
      tr.append(num(s.blockRate, pct(s.blockRate), { metric: 'blockRate' }), num(s.fallbackRate, pct(s.fallbackRate), { metric: 'fallbackRate' }));
      for (const p of ['p50Us', 'p90Us', 'p99Us']) tr.append(num(lat ? lat[p] : 'null', us(lat ? lat[p] : null), { metric: p }));
      return tr;
    });
    const total = { t: Date.now() };
    for (const st of STATUSES) total[st] = models.reduce((a, [, s]) => a + s.byStatus[st], 0);
    history.push(total);
    if (history.length > HISTORY + 1) history.shift();
    renderHistory();
  }

  /** Forecasts per refresh interval by status: one line each. */
  function renderHistory() {
    const W = 640;
    const H = 140;
    const chart = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' });
    chart.append(svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#fff', stroke: '#ddd' }));
    const deltas = history.slice(1).map((h, i) => Object.fromEntries(STATUSES.map((s) => [s, Math.max(0, h[s] - history[i][s])])));
    const max = Math.max(1, ...deltas.flatMap((d) => STATUSES.map((s) => d[s])));
    const x = (i) => 30 + (i * (W - 40)) / Math.max(1, HISTORY - 1);
    const y = (v) => H - 20 - (v / max) * (H - 35);
    for (const s of STATUSES) {
      if (deltas.length === 0) break;
      const points = deltas.map((d, i) => `${x(i).toFixed(1)},${y(d[s]).toFixed(1)}`).join(' ');
      chart.append(svg('polyline', { points, fill: 'none', stroke: COLORS[s], 'stroke-width': 2, 'data-status': s }));
    }
    const label = svg('text', { x: 4, y: 12, 'font-size': 10, fill: '#666' });
    label.textContent = `max ${max} per refresh`;
    chart.append(label);
    STATUSES.forEach((s, i) => {
      const t = svg('text', { x: 30 + i * 80, y: H - 5, 'font-size': 11, fill: COLORS[s] });
      t.textContent = s;
      chart.append(t);
    });
    $('history').replaceChildren(chart);
  }

  function renderSignals(d) {
    const list = [];
    for (const [model, s] of Object.entries(d.stats.models)) for (const [signal, n] of Object.entries(s.threatsBySignal)) list.push({ model, signal, n });
    list.sort((a, b) => b.n - a.n);
    rows('signals', list.slice(0, 8), (r) => {
      const tr = el('tr');
      tr.append(el('td', r.model), el('td', r.signal), num(r.n));
      return tr;
    });
  }

  function renderLimits(d) {
    const hits = Object.entries(d.stats.service.refusals).filter(([k]) => k.startsWith('TG_RATE_LIMITED:'));
    rows('limits', hits, ([k, n]) => {
      const tr = el('tr');
      tr.dataset.limiter = k.slice('TG_RATE_LIMITED:'.length);
      tr.append(el('td', k.slice('TG_RATE_LIMITED:'.length)), num(n, undefined, { metric: 'hits' }));
      return tr;
    });
    const rl = d.stats.rateLimits;
    $('limits-mode').textContent = rl.enabled ? `mode: ${rl.mode}` : 'rate limits off';
  }

  function renderAudit(d) {
    rows('audit', Object.entries(d.stats.audit), ([model, a]) => {
      const tr = el('tr');
      tr.dataset.model = model;
      if (a === null) {
        tr.append(el('td', model), el('td', 'off'));
        return tr;
      }
      const errors = d.stats.models[model].errors.TG_AUDIT_WRITE_FAILED || 0;
      const age = a.lastCheckpointAt === null ? 'none yet' : `${Math.round((Date.now() - Date.parse(a.lastCheckpointAt)) / 1000)} s ago`;
      tr.append(el('td', model), el('td', a.state, a.state === 'open' && a.error === null ? 'state-closed' : 'state-open'));
      tr.append(num(a.pending, `${a.pending} / ${a.maxQueue}`), num(a.written), num(a.dropped), num(errors), el('td', age));
      return tr;
    });
  }

  function renderBreakers(d, admin) {
    rows('breakers', Object.entries(d.breakers), ([name, b]) => {
      const tr = el('tr');
      tr.append(el('td', name), el('td', b.model), el('td', b.state, `state-${b.state}`));
      const actions = el('td', null, 'admin-only');
      if (admin && b.state !== 'closed') actions.append(action('Reset', 'POST', `/v1/breakers/${encodeURIComponent(name)}/reset`, {}));
      tr.append(actions);
      return tr;
    });
  }

  /** The fan chart of one instrument's latest forecast: context tail, bands, median. */
  function fan(entry) {
    const box = el('div', null, 'fan');
    box.dataset.instrument = entry.instrument;
    box.append(el('h3', entry.instrument));
    const f = entry.forecast;
    if (f === null) {
      box.append(el('p', 'no forecast yet', 'muted'));
      return box;
    }
    const meta = el('p', `${f.model} · ${f.status}${f.fallback ? ` (${f.fallback})` : ''} · ${f.at}`, 'muted');
    box.append(meta);
    const W = 420;
    const H = 200;
    const chart = svg('svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: 'img' });
    chart.append(svg('rect', { x: 0, y: 0, width: W, height: H, fill: '#fff' }));
    const values = f.context.filter((v) => v !== null);
    if (f.quantiles) for (const row of f.quantiles) for (const v of row) if (v !== null) values.push(v);
    if (values.length === 0) {
      box.append(el('p', 'nothing finite to draw', 'muted'));
      return box;
    }
    let lo = Math.min(...values);
    let hi = Math.max(...values);
    if (hi === lo) {
      hi += 1;
      lo -= 1;
    }
    const n = f.context.length + f.horizon;
    const x = (i) => 10 + (i * (W - 20)) / Math.max(1, n - 1);
    const y = (v) => H - 10 - ((v - lo) / (hi - lo)) * (H - 20);
    const path = (pts) => pts.map(([i, v], k) => `${k === 0 ? 'M' : 'L'}${x(i).toFixed(1)},${y(v).toFixed(1)}`).join('');
    const ctx = [];
    f.context.forEach((v, i) => v !== null && ctx.push([i, v]));
    chart.append(svg('path', { d: path(ctx), fill: 'none', stroke: '#37474f', 'stroke-width': 1.5 }));
    const at = (level) => f.levels.findIndex((l) => Math.abs(l - level) < 1e-9);
    const start = f.context.length;
    if (f.quantiles) {
      for (const [a, b, opacity] of [[0.1, 0.9, 0.18], [0.2, 0.8, 0.22], [0.3, 0.7, 0.26], [0.4, 0.6, 0.3]]) {
        const ia = at(a);
        const ib = at(b);
        if (ia < 0 || ib < 0) continue;
        const upper = f.quantiles.map((r, h) => [start + h, r[ib]]).filter(([, v]) => v !== null);
        const lower = f.quantiles.map((r, h) => [start + h, r[ia]]).filter(([, v]) => v !== null).reverse();
        if (upper.length === 0 || lower.length === 0) continue;
        chart.append(svg('path', { d: `${path(upper)}L${path(lower).slice(1)}Z`, fill: f.status === 'fallback' ? '#ef6c00' : '#1565c0', 'fill-opacity': opacity, 'data-band': `${a}-${b}` }));
      }
      const im = at(0.5);
      if (im >= 0) chart.append(svg('path', { d: path(f.quantiles.map((r, h) => [start + h, r[im]]).filter(([, v]) => v !== null)), fill: 'none', stroke: '#0d47a1', 'stroke-width': 2, 'data-median': '1' }));
    }
    chart.append(svg('line', { x1: x(start - 0.5), x2: x(start - 0.5), y1: 5, y2: H - 5, stroke: '#999', 'stroke-dasharray': '3 3' }));
    box.append(chart);
    return box;
  }

  function render(d) {
    const admin = d.viewer.scopes.includes('admin');
    document.body.classList.toggle('admin', admin);
    $('ready').textContent = d.ready.ready ? 'ready' : 'not ready';
    $('ready').className = `badge ${d.ready.ready ? 'ok' : 'bad'}`;
    $('profile').textContent = `profile ${d.profile} · up ${d.stats.service.uptimeS} s`;
    $('viewer').textContent = `${d.viewer.id} (${d.viewer.scopes.join(', ')})`;
    $('updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    renderModels(d, admin);
    renderForecasts(d);
    renderSignals(d);
    renderLimits(d);
    renderAudit(d);
    renderBreakers(d, admin);
    $('fans').replaceChildren(...d.forecasts.map(fan));
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  }

  async function refresh() {
    if (!key()) return;
    try {
      render(await api('GET', '/v1/dashboard'));
      showError(null);
      $('content').hidden = false;
    } catch (err) {
      showError(err.status === 401 ? 'the key was refused' : err.status === 403 ? 'this key lacks the metrics or admin scope' : `could not read the status: ${err.message}`);
      if (err.status === 401 || err.status === 403) signOut(false);
    }
  }

  function signIn(k) {
    sessionStorage.setItem('tg-key', k);
    $('login').hidden = true;
    $('signout').hidden = false;
    if (timer === null) timer = setInterval(refresh, REFRESH_MS);
    return refresh();
  }

  function signOut(clearError = true) {
    sessionStorage.removeItem('tg-key');
    if (timer !== null) clearInterval(timer);
    timer = null;
    $('login').hidden = false;
    $('signout').hidden = true;
    $('content').hidden = true;
    if (clearError) showError(null);
  }

  document.addEventListener('DOMContentLoaded', () => {
    $('login-form').addEventListener('submit', (e) => {
      e.preventDefault();
      const k = $('key').value.trim();
      $('key').value = '';
      if (k) signIn(k);
    });
    $('refresh').addEventListener('click', () => refresh());
    $('signout').addEventListener('click', () => signOut());
    if (key()) signIn(key());
    else signOut();
  });
})();
