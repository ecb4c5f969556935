// The operator's first screen: the books' totals now, and what happened over a window,
// drawn from GET /admin/stats with uPlot (bundled: vendor/charts.js, no CDN).
import { api } from '../api.js';
import { h, field, errorBox, showError, hide, setChildren } from '../dom.js';
import { formatMoney, formatCents } from '../money.js';
import { hashParams } from './admin-common.js';

const WINDOWS = {
  '1h': { label: 'Last hour, per minute', bucket: 'minute', seconds: 3600 },
  '6h': { label: 'Last 6 hours, per minute', bucket: 'minute', seconds: 6 * 3600 },
  '24h': { label: 'Last 24 hours, per hour', bucket: 'hour', seconds: 86400 },
  '7d': { label: 'Last 7 days, per hour', bucket: 'hour', seconds: 7 * 86400 },
};
const CHARTS = [
  { id: 'transfers', title: 'Transfers', series: [['transfers', 'Transfers', '#1f4e8c'], ['deposits', 'Deposits', '#1d7a46'],
    ['reversals', 'Reversals', '#b36b00']] },
  { id: 'volume', title: 'Volume', money: true, series: [['volume', 'Transferred', '#1f4e8c'], ['deposited', 'Deposited', '#1d7a46']] },
  { id: 'refusals', title: 'Refusals by reason', series: [['insufficient_funds', '409 insufficient funds', '#b3261e'],
    ['conflicts', '409 already reversed', '#8a5a00'], ['login_failures', '401 failed logins', '#6b4fa8']] },
  { id: 'activity', title: 'Users and content', series: [['new_users', 'New users', '#1f4e8c'], ['uploads', 'Uploads', '#1d7a46'],
    ['messages', 'Messages', '#b36b00'], ['posts', 'Posts', '#6b4fa8']] },
];

let chartsModule = null;
async function charts() {
  if (!chartsModule) {
    // The stylesheet goes with the module, loaded once, on the first dashboard.
    document.head.append(h('link', { rel: 'stylesheet', href: 'vendor/charts.css' }));
    chartsModule = await import('../../vendor/charts.js');
  }
  return chartsModule.uPlot;
}

function tile(label, value, testid, note) {
  return h('div', { class: 'tile', testid, 'data-value': String(value.raw) },
    h('span', { class: 'tile-label' }, label), h('strong', { class: 'tile-value' }, value.text),
    note ? h('small', { class: 'muted' }, note) : null);
}

function sum(buckets, name) {
  return buckets.reduce((total, b) => total + (b[name] || 0), 0);
}

function chartFigure(spec, stats, uPlot, plots) {
  const xs = stats.buckets.map((b) => Date.parse(b.start) / 1000);
  const holder = h('div', { class: 'chart-plot' });
  const attrs = { class: 'chart card', testid: `chart-${spec.id}` };
  for (const [name] of spec.series) {
    attrs[`data-sum-${name.replace(/_/g, '-')}`] = String(sum(stats.buckets, name));
    attrs[`data-points-${name.replace(/_/g, '-')}`] = String(stats.buckets.filter((b) => b[name]).length);
  }
  const legend = h('ul', { class: 'chart-legend' }, spec.series.map(([name, label, color]) => {
    const total = sum(stats.buckets, name);
    return h('li', { testid: `legend-${name}` }, h('span', { class: 'swatch', 'data-color': color }), `${label}: `,
      h('strong', {}, spec.money ? formatMoney(total, stats.totals.currency) : String(total)));
  }));
  const figure = h('figure', attrs, h('figcaption', {}, h('h2', {}, spec.title)), holder, legend);
  // The swatch colours are set through the CSSOM: the CSP allows no inline style attributes.
  for (const swatch of legend.querySelectorAll('.swatch')) swatch.style.background = swatch.dataset.color;
  plots.push(() => {
    const width = Math.max(240, holder.clientWidth);
    holder.replaceChildren();
    const opts = {
      width,
      height: 200,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: { x: { time: true } },
      axes: [{ stroke: '#5d6b7e', grid: { stroke: '#eef1f6' } },
        { stroke: '#5d6b7e', grid: { stroke: '#eef1f6' }, size: spec.money ? 70 : 40,
          // Counts are whole: no 0.5 ticks.
          incrs: spec.money ? undefined : [1, 2, 5, 10, 20, 50, 100, 200, 500, 1e3, 2e3, 5e3, 1e4, 1e5, 1e6],
          values: (u, ticks) => ticks.map((v) => (spec.money ? formatCents(v) : String(v))) }],
      series: [{}, ...spec.series.map(([, label, color]) => ({ label, stroke: color, width: 2, points: { show: xs.length <= 90, size: 5 },
        fill: `${color}14` }))],
    };
    const data = [xs, ...spec.series.map(([name]) => stats.buckets.map((b) => b[name] || 0))];
    new uPlot(opts, data, holder);  // eslint-disable-line no-new
  });
  return figure;
}

export async function dashboardView(root, { navigate }) {
  const params = hashParams();
  const key = WINDOWS[params.get('window')] ? params.get('window') : '1h';
  const choice = h('select', { name: 'window', testid: 'dash-window' },
    Object.entries(WINDOWS).map(([k, w]) => h('option', { value: k, selected: k === key }, w.label)));
  choice.addEventListener('change', () => navigate(`#/admin?window=${choice.value}`));
  const err = errorBox('dash-error');
  const totals = h('div', { class: 'tiles', testid: 'dash-totals' });
  const plots = h('div', { class: 'charts' });
  const note = h('p', { class: 'muted small', testid: 'dash-not-recorded' });
  root.append(h('div', { class: 'stack', testid: 'view-dashboard' },
    h('section', { class: 'card stack' },
      h('div', { class: 'row spread' }, h('h1', {}, 'Dashboard'), field('Window', choice)),
      err, totals, note),
    plots));

  // ?since=&until= (RFC 3339) narrow the window to a given span, e.g. one incident.
  const w = WINDOWS[key];
  const until = new Date(params.get('until') || Date.now());
  const since = new Date(params.get('since') || until.getTime() - w.seconds * 1000);
  try {
    const [stats, uPlot] = await Promise.all([
      api('/admin/stats', { query: { bucket: w.bucket, since: since.toISOString(), until: until.toISOString() } }),
      charts()]);
    const t = stats.totals;
    const b = stats.buckets;
    const money = (v) => ({ raw: v, text: formatMoney(v, t.currency) });
    const plain = (v) => ({ raw: v, text: String(v) });
    setChildren(totals,
      tile('Money issued', money(t.money_issued), 'dash-issued', 'deposits less reversed deposits'),
      tile('In circulation', money(t.in_circulation), 'dash-circulation',
        t.in_circulation === t.money_issued ? 'equals money issued' : '≠ money issued: run Verify'),
      tile('Accounts', plain(t.accounts), 'dash-accounts', 'the treasury included'),
      tile('Users', plain(t.users), 'dash-users'),
      tile('Transfers in window', plain(sum(b, 'transfers')), 'dash-window-transfers'),
      tile('Refusals in window', plain(sum(b, 'insufficient_funds') + sum(b, 'conflicts')), 'dash-window-refusals',
        '409s of the ledger'));
    setChildren(note, 'Not counted: ', stats.not_recorded.map((r) => ({ rate_limited: '429 rate limited',
      unavailable: '503 unavailable' }[r] || r)).join(' and '),
    ' — the server keeps no record of these refusals (see docs/operator-console.md). ',
    `Window: ${new Date(stats.since).toLocaleString()} to ${new Date(stats.until).toLocaleString()}.`);
    const draws = [];
    setChildren(plots, CHARTS.map((spec) => chartFigure(spec, stats, uPlot, draws)));
    const drawAll = () => draws.forEach((draw) => draw());
    drawAll();
    let width = plots.clientWidth;
    const observer = new ResizeObserver(() => {
      if (!plots.isConnected) return observer.disconnect();
      if (plots.clientWidth !== width) {
        width = plots.clientWidth;
        drawAll();
      }
      return undefined;
    });
    observer.observe(plots);
    hide(err);
  } catch (e) {
    showError(err, e);
  }
}
