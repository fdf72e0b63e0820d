/**
 * The `/admin/backups` page: one self-contained HTML document (no framework, no external asset) that
 * reads the admin API with the admin's token (`Authorization: Bearer`, from `#token=…` or the form) and
 * shows what the plan's dashboard names: the last successful backup and its age against the RPO, size
 * and duration trends, per-table counts of the latest backup against the previous one, the media
 * snapshot's age and the last drill's recovery time.
 */
export const ADMIN_PAGE_HTML = String.raw`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Backups — Live It Iconic admin</title>
<link rel="icon" href="data:,">
<style>
  :root { --ok: #0b6e2e; --warn: #8a5300; --bad: #a4121c; --ink: #1b1b1f; --muted: #4a4a55; --line: #d5d5dd; --bg: #fff; }
  * { box-sizing: border-box; }
  body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--ink); background: var(--bg); }
  header, main { max-width: 1100px; margin: 0 auto; padding: 1rem; }
  h1 { font-size: 1.5rem; margin: 0.5rem 0; }
  h2 { font-size: 1.15rem; margin: 1.5rem 0 0.5rem; }
  .cards { display: grid; grid-template-columns: repeat(auto-fit, minmax(220px, 1fr)); gap: 0.75rem; }
  .card { border: 1px solid var(--line); border-radius: 8px; padding: 0.75rem 1rem; }
  .card .label { color: var(--muted); font-size: 0.9rem; }
  .card .value { font-size: 1.3rem; font-weight: 600; }
  .ok { color: var(--ok); } .warn { color: var(--warn); } .bad { color: var(--bad); }
  .badge { display: inline-block; padding: 0 0.5rem; border-radius: 999px; border: 2px solid currentColor; font-size: 0.85rem; font-weight: 600; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.35rem 0.5rem; border-bottom: 1px solid var(--line); }
  td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
  #backups td:first-child { white-space: nowrap; }
  .scroll { overflow-x: auto; }
  svg { width: 100%; height: auto; max-height: 260px; }
  form { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
  input[type=password] { min-width: 16rem; padding: 0.35rem; }
  button { padding: 0.35rem 0.9rem; }
  :focus-visible { outline: 3px solid #1a56db; outline-offset: 2px; }
  #error { color: var(--bad); font-weight: 600; }
</style>
</head>
<body>
<header>
  <h1>Backups</h1>
  <form id="auth" aria-label="Admin token">
    <label for="token">Admin token</label>
    <input id="token" type="password" autocomplete="off">
    <button type="submit">Load</button>
  </form>
  <p id="error" role="alert"></p>
</header>
<main aria-live="polite">
  <section aria-labelledby="status-h">
    <h2 id="status-h">Status</h2>
    <div class="cards">
      <div class="card"><div class="label">Last successful backup</div><div class="value" id="last-backup">…</div><div id="last-backup-age"></div></div>
      <div class="card"><div class="label">Backup duration</div><div class="value" id="last-duration">…</div></div>
      <div class="card"><div class="label">Records in the latest backup</div><div class="value" id="last-records">…</div></div>
      <div class="card"><div class="label">Media snapshot</div><div class="value" id="media-age">…</div></div>
      <div class="card"><div class="label">Last drill (recovery time)</div><div class="value" id="drill-rto">…</div></div>
    </div>
  </section>
  <section aria-labelledby="trend-h">
    <h2 id="trend-h">Size and duration over the retention window</h2>
    <figure>
      <svg id="trend" viewBox="0 0 600 220" role="img" aria-labelledby="trend-title"><title id="trend-title">Backup size and duration per backup</title></svg>
      <figcaption>Size (solid, left scale) and duration (dashed, right scale) of each complete backup, oldest left.</figcaption>
    </figure>
  </section>
  <section aria-labelledby="tables-h">
    <h2 id="tables-h">Records per table, latest backup</h2>
    <div class="scroll"><table id="tables"><caption class="label" id="tables-caption"></caption><thead><tr><th scope="col">Table</th><th scope="col" class="num">Records</th><th scope="col" class="num">Change</th></tr></thead><tbody></tbody></table></div>
  </section>
  <section aria-labelledby="list-h">
    <h2 id="list-h">Backups</h2>
    <div class="scroll"><table id="backups"><thead><tr><th scope="col">Backup</th><th scope="col">Status</th><th scope="col" class="num">Size</th><th scope="col" class="num">Records</th><th scope="col" class="num">Duration</th><th scope="col">Media snapshot</th></tr></thead><tbody></tbody></table></div>
  </section>
</main>
<script>
(() => {
  const $ = (id) => document.getElementById(id);
  const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
  if (fromHash) { sessionStorage.setItem('adminToken', fromHash); history.replaceState(null, '', location.pathname); }
  const token = () => sessionStorage.getItem('adminToken') || '';
  const bytes = (n) => n == null ? '-' : n < 1024 ? n + ' B' : n < 1048576 ? (n / 1024).toFixed(1) + ' KB' : n < 1073741824 ? (n / 1048576).toFixed(1) + ' MB' : (n / 1073741824).toFixed(2) + ' GB';
  const count = (n) => n == null ? '-' : Number(n).toLocaleString('en-US');
  const secs = (ms) => ms == null ? '-' : ms < 1000 ? ms + ' ms' : ms < 120000 ? (ms / 1000).toFixed(1) + ' s' : Math.round(ms / 60000) + ' min';
  const hoursSince = (iso) => (Date.now() - new Date(iso).getTime()) / 3600000;
  const ageText = (h) => h < 1 ? Math.round(h * 60) + ' min ago' : h < 48 ? h.toFixed(1) + ' h ago' : (h / 24).toFixed(1) + ' d ago';
  const text = (el, value, cls) => { el.textContent = value; if (cls) el.className = (el.className.replace(/\b(ok|warn|bad)\b/g, '') + ' ' + cls).trim(); };
  async function api(path) {
    const headers = token() ? { Authorization: 'Bearer ' + token() } : {};
    const response = await fetch(path, { headers });
    if (response.status === 401 || response.status === 403) throw new Error(response.status === 401 ? 'Sign in: the admin token is missing or expired.' : 'This account is not an admin.');
    if (!response.ok) throw new Error('The backups could not be read (' + response.status + ').');
    return response.json();
  }
  function chart(points) {
    const svg = $('trend');
    while (svg.lastChild && svg.lastChild.nodeName !== 'title') svg.removeChild(svg.lastChild);
    const ns = 'http://www.w3.org/2000/svg';
    const w = 600, h = 220, pad = 30;
    const maxSize = Math.max(1, ...points.map((p) => p.sizeBytes));
    const maxDur = Math.max(1, ...points.map((p) => p.durationMs || 0));
    const x = (i) => points.length < 2 ? w / 2 : pad + (i * (w - 2 * pad)) / (points.length - 1);
    const line = (values, max, dashed, label) => {
      const poly = document.createElementNS(ns, 'polyline');
      poly.setAttribute('points', values.map((v, i) => x(i).toFixed(1) + ',' + (h - pad - (v / max) * (h - 2 * pad)).toFixed(1)).join(' '));
      poly.setAttribute('fill', 'none');
      poly.setAttribute('stroke', dashed ? '#8a5300' : '#1a56db');
      poly.setAttribute('stroke-width', '2.5');
      if (dashed) poly.setAttribute('stroke-dasharray', '6 4');
      poly.setAttribute('data-series', label);
      svg.appendChild(poly);
    };
    const axis = document.createElementNS(ns, 'line');
    axis.setAttribute('x1', pad); axis.setAttribute('x2', w - pad); axis.setAttribute('y1', h - pad); axis.setAttribute('y2', h - pad); axis.setAttribute('stroke', '#4a4a55');
    svg.appendChild(axis);
    line(points.map((p) => p.sizeBytes), maxSize, false, 'size');
    line(points.map((p) => p.durationMs || 0), maxDur, true, 'duration');
    const legend = document.createElementNS(ns, 'text');
    legend.setAttribute('x', pad); legend.setAttribute('y', 18); legend.setAttribute('fill', '#1b1b1f'); legend.setAttribute('font-size', '13');
    legend.textContent = 'max ' + bytes(maxSize) + ' / ' + secs(maxDur);
    svg.appendChild(legend);
  }
  async function load() {
    text($('error'), '');
    try {
      const list = await api('/api/admin/backups?limit=200');
      const rpo = list.rpoHours;
      const good = list.backups.filter((b) => b.status === 'complete' && !b.suspect && b.purpose === 'backup');
      const last = good[0];
      if (last) {
        const age = hoursSince(last.completedAt || last.time);
        text($('last-backup'), new Date(last.completedAt || last.time).toISOString().replace('T', ' ').slice(0, 16) + ' UTC');
        $('last-backup-age').innerHTML = '';
        const badge = document.createElement('span');
        badge.className = 'badge ' + (age <= rpo ? 'ok' : age <= rpo * 1.25 ? 'warn' : 'bad');
        badge.id = 'rpo-badge';
        badge.textContent = ageText(age) + ' · RPO ' + rpo + ' h ' + (age <= rpo ? 'met' : 'missed');
        $('last-backup-age').appendChild(badge);
        text($('last-duration'), secs(last.durationMs));
        text($('last-records'), count(last.records));
      } else {
        text($('last-backup'), 'none', 'bad');
      }
      chart(good.slice().reverse());
      const tbody = $('backups').tBodies[0];
      tbody.innerHTML = '';
      for (const b of list.backups) {
        const row = tbody.insertRow();
        const status = b.suspect ? 'suspect' : b.status;
        [b.backupId, status, bytes(b.sizeBytes), count(b.records), secs(b.durationMs), b.mediaSnapshot || '-'].forEach((v, i) => { const c = row.insertCell(); c.textContent = v; if (i >= 2 && i <= 4) c.className = 'num'; if (i === 1) c.className = status === 'complete' ? 'ok' : 'bad'; });
      }
      const tables = $('tables').tBodies[0];
      tables.innerHTML = '';
      if (last) {
        const latest = await api('/api/admin/backups/' + encodeURIComponent(last.backupId));
        const previous = good[1] ? await api('/api/admin/backups/' + encodeURIComponent(good[1].backupId)) : null;
        text($('tables-caption'), 'Backup ' + last.backupId + (previous ? ', change since ' + previous.backupId : ''));
        for (const t of latest.tables) {
          const before = previous ? previous.tables.find((p) => p.table === t.table) : null;
          const diff = before ? t.records - before.records : null;
          const row = tables.insertRow();
          const name = document.createElement('th'); name.scope = 'row'; name.textContent = t.table; row.appendChild(name);
          const n = row.insertCell(); n.className = 'num'; n.textContent = count(t.records);
          const d = row.insertCell(); d.className = 'num' + (diff != null && diff < 0 ? ' bad' : ''); d.textContent = diff == null ? '-' : (diff > 0 ? '+' : '') + count(diff);
        }
      }
      const media = await api('/api/admin/media');
      if (media.latest) { const m = hoursSince(media.latest.completedAt) * 60; text($('media-age'), Math.round(m) + ' min ago', m <= media.rpoMinutes ? 'ok' : 'bad'); } else text($('media-age'), 'none', 'warn');
      const drills = await api('/api/admin/drills');
      const drill = drills.drills[0];
      text($('drill-rto'), drill ? secs(drill.recoveryTimeMs) + (drill.passed ? ' · passed' : ' · FAILED') : 'none yet', drill ? (drill.passed ? 'ok' : 'bad') : 'warn');
    } catch (error) {
      text($('error'), error.message);
    }
  }
  $('auth').addEventListener('submit', (event) => { event.preventDefault(); sessionStorage.setItem('adminToken', $('token').value); $('token').value = ''; load(); });
  load();
})();
</script>
</body>
</html>
`;
