// The audit log: filters kept in the URL, one expandable line per event, "load more"
// paging as the API pages, and an export of exactly what the filters match.
import { api } from '../api.js';
import { h, field, errorBox, showError, hide, busy, pager, time, setChildren } from '../dom.js';
import { formatMoney } from '../money.js';
import { docLink, download, hashParams, shortId, auditHref } from './admin-common.js';

const ACTIONS = ['user.signup', 'user.login', 'user.login_failed', 'user.logout', 'user.password_change',
  'user.promote', 'account.create', 'transfer.create', 'deposit.create', 'transfer.reverse',
  'post.create', 'post.update', 'post.delete', 'post.approve', 'post.reject', 'comment.create',
  'photo.create', 'photo.delete', 'photo.approve', 'photo.reject', 'conversation.create', 'message.create'];
const FILTERS = ['action', 'actor', 'target', 'since', 'until'];
const PATH_RE = /^(accounts|postings|transfers|users|posts|photos|comments|conversations|audit|sessions)\/[^/\s]+$/;
const ID_RE = /^[0-9a-f]{32,}$|^[0-9a-f]{32}_[0-9]{12}$/;
const ACCOUNT_KEYS = new Set(['from_account', 'to_account', 'account_id']);
const TRANSFER_KEYS = new Set(['reverses', 'reversed_by', 'transfer_id']);

// datetime-local gives local wall time; the API and the URL carry RFC 3339 UTC.
function toRfc3339(localValue) {
  if (!localValue) return '';
  const d = new Date(localValue);
  return Number.isNaN(d.getTime()) ? '' : d.toISOString();
}

function toLocalInput(iso) {
  const d = new Date(iso || '');
  if (!iso || Number.isNaN(d.getTime())) return '';
  const pad = (n) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

function detailValue(key, value) {
  if (value === null || value === undefined) return h('span', { class: 'muted' }, '—');
  if (typeof value === 'string') {
    if (ACCOUNT_KEYS.has(key)) return docLink(`accounts/${value}`);
    if (TRANSFER_KEYS.has(key)) return docLink(`transfers/${value}`);
    if (PATH_RE.test(value)) return docLink(value);
    if (ID_RE.test(value)) return shortId(value);
    return h('span', { class: 'wrap' }, value);
  }
  if (key === 'amount' && Number.isInteger(value)) return h('span', {}, formatMoney(value), h('small', { class: 'muted' }, ` (${value} minor units)`));
  if (typeof value === 'object') return h('code', { class: 'wrap' }, JSON.stringify(value));
  return h('span', {}, String(value));
}

// One line of the closed event: what happened, in words.
function summary(e) {
  const d = e.details && typeof e.details === 'object' ? e.details : {};
  const parts = [];
  if (Number.isInteger(d.amount)) parts.push(formatMoney(d.amount));
  for (const key of ['memo', 'reason', 'title', 'caption', 'provider', 'origin', 'status']) {
    if (typeof d[key] === 'string' && d[key]) parts.push(`${key}: ${d[key]}`);
  }
  if (!parts.length) {
    const keys = Object.keys(d).filter((k) => d[k] !== null);
    parts.push(keys.length ? keys.join(', ') : 'no details');
  }
  return parts.join(' · ');
}

function actorCell(e) {
  if (!e.actor_id && !e.actor_username) return h('span', { class: 'muted' }, 'anonymous');
  const href = auditHref({ actor: e.actor_id || e.actor_username });
  return h('a', { href, title: e.actor_id || e.actor_username, testid: 'audit-actor-link' }, e.actor_username || e.actor_id);
}

function eventItem(e) {
  const details = e.details && typeof e.details === 'object' ? e.details : { value: e.details };
  const facts = [
    ['Event', shortId(e.id, { keep: 12 })],
    ['At', h('span', { class: 'mono' }, e.at)],
    ['Actor', e.actor_id ? h('span', {}, e.actor_username || '', ' ', docLink(`users/${e.actor_id}`)) : actorCell(e)],
    ['Target', docLink(e.target)],
    ['Request', shortId(e.request_id, { keep: 12 })],
    ...Object.entries(details).map(([k, v]) => [k, detailValue(k, v)]),
  ];
  return h('details', { class: 'event', testid: 'audit-row', 'data-action': e.action, 'data-id': e.id },
    h('summary', { class: 'event-line' },
      h('span', { class: 'event-time' }, time(e.at)),
      h('code', { class: 'event-action', testid: 'audit-action' }, e.action),
      h('span', { class: 'event-actor' }, actorCell(e)),
      h('span', { class: 'event-target' }, docLink(e.target, 'audit-target-link')),
      h('span', { class: 'event-summary muted' }, summary(e))),
    h('dl', { class: 'event-details', testid: 'audit-details' },
      facts.map(([k, v]) => [h('dt', {}, k), h('dd', {}, v)])));
}

export async function auditView(root, { navigate }) {
  const params = hashParams();
  const filters = Object.fromEntries(FILTERS.map((k) => [k, params.get(k) || '']));
  const action = h('input', { name: 'action', list: 'audit-actions', placeholder: 'any', value: filters.action,
    testid: 'audit-action-filter' });
  const actor = h('input', { name: 'actor', placeholder: 'username or id', value: filters.actor, testid: 'audit-actor' });
  const target = h('input', { name: 'target', placeholder: 'e.g. transfers/ID', value: filters.target, testid: 'audit-target' });
  const since = h('input', { name: 'since', type: 'datetime-local', step: 1, value: toLocalInput(filters.since), testid: 'audit-since' });
  const until = h('input', { name: 'until', type: 'datetime-local', step: 1, value: toLocalInput(filters.until), testid: 'audit-until' });
  const submit = h('button', { type: 'submit', class: 'btn', testid: 'audit-submit' }, 'Filter');
  const clear = h('button', { type: 'reset', class: 'btn btn-secondary', testid: 'audit-clear' }, 'Clear');
  const list = h('div', { class: 'events', testid: 'audit-table' });
  const shown = h('span', { class: 'muted small', testid: 'audit-count', 'data-count': '0' });
  const exportErr = errorBox('audit-export-error');
  let count = 0;
  const log = pager({
    testid: 'audit',
    container: list,
    empty: 'No events match.',
    load: async (cursor) => {
      const page = await api('/admin/audit', { query: { ...filters, cursor, limit: 25 } });
      count = (cursor ? count : 0) + page.items.length;
      shown.dataset.count = String(count);
      setChildren(shown, `${count} event${count === 1 ? '' : 's'} shown${page.next_cursor ? ', more to load' : ''}`);
      return page;
    },
    renderItem: eventItem,
  });
  const more = log.controls.querySelector('[data-testid="audit-next"]');
  more.textContent = 'Load more';

  const form = h('form', { class: 'filters', testid: 'audit-form' },
    h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
    field('Action', action), field('Actor', actor), field('Target', target),
    field('Since', since), field('Until', until), h('div', { class: 'row' }, submit, clear));
  // The filters live in the URL: a view can be shared, and Back returns to the previous one.
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    navigate(auditHref({ action: action.value.trim(), actor: actor.value.trim(), target: target.value.trim(),
      since: toRfc3339(since.value), until: toRfc3339(until.value) }));
  });
  form.addEventListener('reset', (event) => {
    event.preventDefault();
    navigate('#/admin/audit');
  });

  function exportButton(format, label) {
    const button = h('button', { type: 'button', class: 'btn btn-secondary', testid: `audit-export-${format}` }, label);
    button.addEventListener('click', async () => {
      hide(exportErr);
      try {
        await busy(button, () => download('/admin/audit/export', { ...filters, format }));
      } catch (e) {
        showError(exportErr, e);
      }
    });
    return button;
  }

  root.append(h('section', { class: 'card stack', testid: 'view-audit' },
    h('h1', {}, 'Audit log'),
    h('p', { class: 'muted small' }, 'Every state change is written in the same commit as its audit event. ',
      'Click an event for its details; the filters are part of the address, so a view can be shared.'),
    form,
    h('div', { class: 'row spread' }, shown,
      h('span', { class: 'row' }, h('span', { class: 'muted small' }, 'Export what the filters match:'),
        exportButton('jsonl', 'JSON Lines'), exportButton('csv', 'CSV'))),
    exportErr, list, log.controls));
  await log.reload();
}
