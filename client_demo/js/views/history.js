import { api } from '../api.js';
import { h, pager, time } from '../dom.js';
import { formatMoney } from '../money.js';
import { session } from '../session.js';

function table(testid, headings, body) {
  return h('div', { class: 'table-wrap' },
    h('table', { testid }, h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), body));
}

function statusBadge(status) {
  return h('span', { class: `badge badge-${status}` }, status);
}

export function transferRow(t, myAccountId) {
  const outgoing = t.from_account === myAccountId;
  const counterpart = outgoing ? t.to_username : t.from_username;
  const signed = outgoing ? -t.amount : t.amount;
  return h('tr', { testid: 'transfer-row', 'data-transfer-id': t.id, 'data-direction': outgoing ? 'out' : 'in' },
    h('td', {}, time(t.created_at)),
    h('td', {}, `${outgoing ? 'to' : 'from'} `, h('strong', {}, counterpart || '—')),
    h('td', { class: `num ${signed < 0 ? 'neg' : 'pos'}`, testid: 'transfer-amount' }, formatMoney(signed, t.currency, { signed: true })),
    h('td', {}, t.kind, ' ', statusBadge(t.status)),
    h('td', { class: 'wrap', testid: 'transfer-memo' }, t.memo || ''),
    h('td', { class: 'mono small' }, t.id));
}

export async function historyView(root) {
  const account = session.account;
  const transfersBody = h('tbody');
  const postingsBody = h('tbody');
  const transfers = pager({
    testid: 'transfers',
    container: transfersBody,
    empty: 'No transfers yet.',
    load: (cursor) => api('/transfers', { query: { cursor, limit: 20 } }),
    renderItem: (t) => transferRow(t, account.id),
  });
  const postings = pager({
    testid: 'postings',
    container: postingsBody,
    empty: 'No postings yet.',
    load: (cursor) => api('/accounts/me/postings', { query: { cursor, limit: 20 } }),
    renderItem: (p) => h('tr', { testid: 'posting-row', 'data-transfer-id': p.transfer_id },
      h('td', {}, time(p.created_at)),
      h('td', { class: `num ${p.amount < 0 ? 'neg' : 'pos'}` }, formatMoney(p.amount, account.currency, { signed: true })),
      h('td', { class: 'num' }, formatMoney(p.balance_after, account.currency)),
      h('td', { class: 'mono small' }, p.transfer_id),
      h('td', { class: 'mono small hash', title: p.hash || '' }, (p.hash || '').slice(0, 12))),
  });

  root.append(h('div', { class: 'stack', testid: 'view-history' },
    h('section', { class: 'card' },
      h('h1', {}, 'My transfers'),
      h('p', { class: 'muted' }, 'Sent and received, newest first.'),
      table('transfers-table', ['When', 'Who', 'Amount', 'Kind', 'Memo', 'Id'], transfersBody),
      transfers.controls),
    h('section', { class: 'card' },
      h('h2', {}, 'Ledger postings'),
      h('p', { class: 'muted' }, 'Every movement is a debit and a credit; each posting is chained to the previous one by its hash.'),
      table('postings-table', ['When', 'Amount', 'Balance after', 'Transfer', 'Hash'], postingsBody),
      postings.controls)));

  await Promise.all([transfers.reload(), postings.reload()]);
}
