// One account as the operator sees it: its statement (running balance, each posting's
// hash and chain checks), the transfers behind it, and the one action the API allows:
// reversing a transfer, with a reason.
import { api, apiFull, newIdempotencyKey } from '../api.js';
import { h, errorBox, showError, hide, busy, pager, time, setChildren } from '../dom.js';
import { formatMoney } from '../money.js';
import { docLink, hashParams, shortId, verdict, auditHref } from './admin-common.js';

function chainNote(line) {
  const problems = [];
  if (!line.hash_ok) problems.push('the hash does not match the content (edited)');
  if (line.link_ok === false) problems.push('prev_hash is not the previous posting’s hash');
  if (line.balance_ok === false) problems.push('balance_after is not the previous balance plus the amount');
  if (line.link_ok === null) problems.push('the previous posting is missing');
  if (!line.transfer) problems.push('its transfer is missing');
  return problems;
}

function counterparty(line, accountId) {
  const t = line.transfer;
  if (!t) return h('span', { class: 'muted' }, '—');
  const outgoing = t.from_account === accountId;
  const other = outgoing ? t.to_account : t.from_account;
  const name = outgoing ? t.to_username : t.from_username;
  return h('span', {}, outgoing ? 'to ' : 'from ', h('a', { href: `#/admin/account/${encodeURIComponent(other)}` }, name));
}

function reverseForm(transfer, onDone) {
  const reason = h('input', { name: 'reason', required: true, maxlength: 500, placeholder: 'Reason for reversing',
    testid: 'stmt-reverse-reason' });
  const submit = h('button', { type: 'submit', class: 'btn btn-danger', testid: 'stmt-reverse-submit' }, 'Reverse');
  const err = errorBox('stmt-reverse-error');
  const form = h('form', { class: 'row reverse-form', testid: 'stmt-reverse-form', novalidate: true }, reason, submit, err);
  let key = null;  // one key per intended reversal: a retry after a network error cannot reverse twice
  reason.addEventListener('input', () => { key = null; });
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    hide(err);
    if (!reason.value.trim()) {
      showError(err, new Error('Give a reason.'));
      return;
    }
    key = key || newIdempotencyKey();
    try {
      const { data } = await busy(submit, () => apiFull(`/admin/transfers/${encodeURIComponent(transfer.id)}/reverse`,
        { method: 'POST', body: { reason: reason.value.trim() }, idempotencyKey: key }));
      onDone(data.transfer);
    } catch (e) {
      showError(err, e);
    }
  });
  return form;
}

function lineItem(line, account, highlight, onReversed) {
  const problems = chainNote(line);
  const ok = problems.length === 0;
  const t = line.transfer;
  const actions = h('div', { class: 'stmt-actions' });
  if (t && t.kind !== 'reversal' && t.status === 'posted') {
    const open = h('button', { type: 'button', class: 'btn btn-secondary btn-small', testid: 'stmt-reverse' }, 'Reverse…');
    open.addEventListener('click', () => setChildren(actions, reverseForm(t, onReversed)));
    actions.append(open);
  }
  return h('article', { class: `stmt-line${ok ? '' : ' broken'}${highlight ? ' highlight' : ''}`, testid: 'stmt-line',
    'data-seq': String(line.seq), 'data-id': line.id, 'data-chain-ok': String(ok), id: `seq-${line.seq}` },
  h('div', { class: 'stmt-main' },
    h('span', { class: 'stmt-seq mono' }, `#${line.seq}`),
    h('span', { class: 'stmt-when' }, time(line.created_at)),
    h('span', { class: 'stmt-what' },
      t ? h('span', { class: `badge badge-${t.kind}` }, t.kind) : null, ' ', counterparty(line, account.id),
      t && t.memo ? h('span', { class: 'muted' }, ` · ${t.memo}`) : null,
      t && t.status === 'reversed' ? [' ', h('span', { class: 'badge badge-rejected', testid: 'stmt-reversed' }, 'reversed')] : null),
    h('span', { class: `stmt-amount num ${line.amount < 0 ? 'neg' : 'pos'}` }, formatMoney(line.amount, account.currency, { signed: true })),
    h('span', { class: 'stmt-balance num', testid: 'stmt-balance' }, formatMoney(line.balance_after, account.currency))),
  h('div', { class: 'stmt-chain' },
    verdict(ok, 'stmt-chain'), ' hash ', shortId(line.hash, { keep: 12 }),
    ok ? h('span', { class: 'muted small' }, ' chain verifies')
      : h('span', { class: 'chain-problem', testid: 'stmt-problem' }, ` ${problems.join('; ')}`),
    ' · ', docLink(`transfers/${line.transfer_id}`),
    t && t.reverses ? h('span', {}, ' · reverses ', docLink(`transfers/${t.reverses}`)) : null,
    t && t.reversed_by ? h('span', {}, ' · reversed by ', docLink(`transfers/${t.reversed_by}`)) : null),
  actions);
}

export async function accountView(root, { params, navigate, flash }) {
  const [accountId] = params;
  const highlight = Number(hashParams().get('seq')) || null;
  const header = h('div', { class: 'stack' });
  const list = h('div', { class: 'statement', testid: 'stmt-list' });
  let account = null;
  let headOk = true;
  const statement = pager({
    testid: 'stmt',
    container: list,
    empty: 'No postings yet.',
    load: async (cursor) => {
      const page = await api(`/admin/accounts/${encodeURIComponent(accountId)}/statement`, { query: { cursor, limit: 50 } });
      if (!cursor) {
        account = page.account;
        headOk = page.head_ok;
        renderHeader();
      }
      return page;
    },
    renderItem: (line) => lineItem(line, account, line.seq === highlight, (reversal) => {
      flash(`Reversed: ${formatMoney(reversal.amount, reversal.currency)} moved back from `
        + `${reversal.from_username} to ${reversal.to_username}.`);
      navigate(`#/admin/account/${encodeURIComponent(accountId)}`);
    }),
  });
  statement.controls.querySelector('[data-testid="stmt-next"]').textContent = 'Load older postings';

  function renderHeader() {
    const a = account;
    setChildren(header,
      h('div', { class: 'row spread' },
        h('h1', {}, a.kind === 'treasury' ? 'Treasury' : `Account of ${a.username}`),
        h('a', { href: a.owner_id ? auditHref({ actor: a.owner_id }) : auditHref({ target: `accounts/${a.id}` }), class: 'small' },
          'Audit events')),
      h('dl', { class: 'facts' },
        h('dt', {}, 'Balance'), h('dd', { testid: 'stmt-account-balance' }, formatMoney(a.balance, a.currency)),
        h('dt', {}, 'Postings'), h('dd', {}, String(a.posting_count)),
        h('dt', {}, 'Account id'), h('dd', {}, shortId(a.id, { keep: 12 })),
        h('dt', {}, 'Head hash'), h('dd', {}, shortId(a.head_hash, { keep: 12 })),
        h('dt', {}, 'Head'), h('dd', {}, verdict(headOk, 'stmt-head'),
          headOk ? ' the newest posting is the account’s head and balance' : ' the account’s head, count or balance does not match its newest posting')));
  }

  root.append(h('section', { class: 'card stack', testid: 'view-account' }, header,
    h('p', { class: 'muted small' }, 'Newest first. Each posting’s hash is recomputed and its link to the posting before checked; ',
      'the running balance is the balance after the posting.'),
    list, statement.controls));
  await statement.reload();
  if (highlight) {
    const row = list.querySelector(`#seq-${highlight}`);
    if (row) row.scrollIntoView({ block: 'center' });
  }
}
