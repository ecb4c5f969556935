import { h, time, errorBox, showError, hide } from '../dom.js';
import { formatMoney } from '../money.js';
import { session } from '../session.js';
import { startLive, watchTransfers, watchPostings } from '../live.js';

const PAGE = 20;

// On phones each row becomes a card (css: table.cards), so nothing scrolls sideways.
function table(testid, headings, body) {
  return h('div', { class: 'table-wrap' },
    h('table', { testid, class: 'cards' },
      h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), body));
}

// A 64-character id takes the width of the memo: its start, the whole on hover (and copy).
function shortId(id, testid) {
  if (!id) return '';
  return h('span', { class: 'mono small', title: id, 'data-full-id': id, testid },
    id.length > 10 ? `${id.slice(0, 8)}…` : id);
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
    h('td', { class: 'memo', testid: 'transfer-memo' }, t.memo || ''),
    h('td', {}, shortId(t.id, 'transfer-id')));
}

// The newest `count` items, kept current by a Firestore listener; "Show more" widens it.
function liveList({ testid, container, empty, watch, renderItem }) {
  const errBox = errorBox(`${testid}-error`);
  const emptyNote = h('p', { class: 'muted', testid: `${testid}-empty`, hidden: true }, empty);
  const more = h('button', { type: 'button', class: 'btn btn-secondary', testid: `${testid}-more`, hidden: true }, 'Show more');
  let count = PAGE;
  let unsubscribe = null;
  function subscribe() {
    if (unsubscribe) unsubscribe();
    unsubscribe = watch(count, (items) => {
      hide(errBox);
      container.replaceChildren(...items.map(renderItem));
      emptyNote.hidden = items.length > 0;
      more.hidden = items.length < count;
    }, (err) => showError(errBox, err));
  }
  more.addEventListener('click', () => {
    count += PAGE;
    subscribe();
  });
  return { controls: h('div', { class: 'pager' }, emptyNote, errBox, more), subscribe };
}

export async function historyView(root) {
  const account = session.account;
  const transfersBody = h('tbody');
  const postingsBody = h('tbody');
  const transfers = liveList({
    testid: 'transfers',
    container: transfersBody,
    empty: 'No transfers yet.',
    watch: watchTransfers,
    renderItem: (t) => transferRow(t, account.id),
  });
  const postings = liveList({
    testid: 'postings',
    container: postingsBody,
    empty: 'No postings yet.',
    watch: watchPostings,
    renderItem: (p) => h('tr', { testid: 'posting-row', 'data-transfer-id': p.transfer_id },
      h('td', {}, time(p.created_at)),
      h('td', { class: `num ${p.amount < 0 ? 'neg' : 'pos'}` }, formatMoney(p.amount, account.currency, { signed: true })),
      h('td', { class: 'num' }, formatMoney(p.balance_after, account.currency)),
      h('td', {}, shortId(p.transfer_id, 'posting-transfer-id')),
      h('td', { class: 'mono small hash', title: p.hash || '' }, (p.hash || '').slice(0, 12))),
  });

  root.append(h('div', { class: 'stack', testid: 'view-history' },
    h('section', { class: 'card' },
      h('h1', {}, 'My transfers'),
      h('p', { class: 'muted' }, 'Sent and received, newest first; new ones appear as they happen.'),
      table('transfers-table', ['When', 'Who', 'Amount', 'Kind', 'Memo', 'Id'], transfersBody),
      transfers.controls),
    h('section', { class: 'card' },
      h('h2', {}, 'Ledger postings'),
      h('p', { class: 'muted' }, 'Every movement is a debit and a credit; each posting is chained to the previous one by its hash.'),
      table('postings-table', ['When', 'Amount', 'Balance after', 'Transfer', 'Hash'], postingsBody),
      postings.controls)));

  await startLive(session.user.id);
  transfers.subscribe();
  postings.subscribe();
}
