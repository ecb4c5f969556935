import { api, apiFull } from '../api.js';
import { h, field, errorBox, noticeBox, showError, showNotice, hide, busy, pager, time } from '../dom.js';
import { formatMoney } from '../money.js';
import { session } from '../session.js';
import { moneyForm, guardedSubmit } from '../forms.js';
import { photoModeration } from './photos.js';
import { postModeration } from './posts.js';

function tableWrap(testid, headings, body) {
  return h('div', { class: 'table-wrap' },
    h('table', { testid }, h('thead', {}, h('tr', {}, headings.map((t) => h('th', { scope: 'col' }, t)))), body));
}

// ---- Moderation -------------------------------------------------------------

function moderationItem(kind, entry) {
  const reason = h('input', { name: 'reason', placeholder: 'Reason for rejecting', maxlength: 500, testid: 'mod-reason' });
  const approve = h('button', { type: 'button', class: 'btn btn-ok', testid: 'mod-approve' }, 'Approve');
  const reject = h('button', { type: 'button', class: 'btn btn-danger', testid: 'mod-reject' }, 'Reject');
  const err = errorBox('mod-error');
  const outcome = noticeBox('mod-outcome');
  const actions = h('div', { class: 'row' }, approve, reason, reject);
  const [heading, ...rest] = kind.content(entry);
  const badge = h('span', { class: `badge badge-${entry.status}`, testid: 'mod-status' }, entry.status);
  const item = h('article', { class: 'post-card', testid: kind.testid, [kind.idAttr]: entry.id, 'data-status': entry.status },
    heading,
    h('p', { class: 'muted small' }, 'by ', h('strong', {}, kind.who(entry)), ' · ', time(entry.created_at), ' · ',
      badge,
      entry.moderation && entry.moderation.reason ? ` · reason: ${entry.moderation.reason}` : ''),
    rest, entry.status === 'pending' ? actions : null, err, outcome);

  async function decide(button, verb, body) {
    hide(err);
    try {
      const result = await busy(button, () =>
        api(`${kind.path}/${encodeURIComponent(entry.id)}/${verb}`, { method: 'POST', body }));
      actions.remove();
      const status = result[kind.key].status;
      item.dataset.status = status;
      badge.className = `badge badge-${status}`;  // the card says what it is now, not what it was
      badge.textContent = status;
      showNotice(outcome, verb === 'approve' ? kind.approvedText : `Rejected: ${body.reason}`);
    } catch (e) {
      showError(err, e);
    }
  }
  approve.addEventListener('click', () => decide(approve, 'approve', {}));
  reject.addEventListener('click', () => {
    if (!reason.value.trim()) {
      showError(err, new Error('Give a reason for rejecting.'));
      reason.focus();
      return;
    }
    decide(reject, 'reject', { reason: reason.value.trim() });
  });
  return item;
}

function moderationQueue(kind, status) {
  const list = h('div', { class: kind.listClass, testid: kind.listTestid });
  const queue = pager({
    testid: kind.pagerTestid,
    container: list,
    empty: 'Nothing to moderate.',
    load: (cursor) => api(kind.path, { query: { status: status.value, cursor, limit: 20 } }),
    renderItem: (entry) => moderationItem(kind, entry),
  });
  const section = h('section', { class: 'stack' }, h('h2', {}, kind.title), list, queue.controls);
  return { section, queue };
}

export async function moderationView(root) {
  const status = h('select', { name: 'status', testid: 'mod-status' },
    ['pending', 'approved', 'rejected'].map((s) => h('option', { value: s }, s)));
  const posts = moderationQueue(postModeration, status);
  const photos = moderationQueue(photoModeration, status);
  status.addEventListener('change', () => Promise.all([posts.queue.reload(), photos.queue.reload()]));
  root.append(h('section', { class: 'card stack', testid: 'view-moderation' },
    h('h1', {}, 'Moderation'),
    h('div', { class: 'row' }, field('Show', status)),
    posts.section, photos.section));
  await Promise.all([posts.queue.reload(), photos.queue.reload()]);
}

// ---- Deposits, reversals, accounts ---------------------------------------------

function reversalForm() {
  const id = h('input', { name: 'transfer_id', required: true, autocomplete: 'off', spellcheck: 'false', testid: 'rev-id' });
  const reason = h('input', { name: 'reason', required: true, maxlength: 500, testid: 'rev-reason' });
  const submit = h('button', { type: 'submit', class: 'btn btn-danger', testid: 'rev-submit' }, 'Reverse transfer');
  const err = errorBox('rev-error');
  const ok = noticeBox('rev-success');
  const form = h('form', { class: 'stack', testid: 'rev-form', novalidate: true },
    h('h2', {}, 'Reverse a transfer'),
    h('p', { class: 'muted small' }, 'Creates a new transfer that moves the money back; the original is kept and marked reversed.'),
    field('Transfer id', id), field('Reason', reason), err, ok, submit);
  guardedSubmit(form, submit, err, ok, {
    prepare() {
      if (!id.value.trim()) throw new Error('Enter the id of the transfer to reverse.');
      if (!reason.value.trim()) throw new Error('Give a reason.');
      return { id: id.value.trim(), reason: reason.value.trim() };
    },
    send: ({ id: transferId, reason: why }, key) => apiFull(`/admin/transfers/${encodeURIComponent(transferId)}/reverse`,
      { method: 'POST', body: { reason: why }, idempotencyKey: key }),
    done({ data }) {
      const t = data.transfer;
      showNotice(ok, `Reversed: ${formatMoney(t.amount, t.currency)} moved back from ${t.from_username} to ${t.to_username}.`,
        h('br'), h('small', { class: 'muted' }, `Reversal id: ${t.id}`));
    },
  });
  return form;
}

export async function ledgerAdminView(root) {
  const accountsBody = h('tbody');
  const accounts = pager({
    testid: 'accounts',
    container: accountsBody,
    load: (cursor) => api('/admin/accounts', { query: { cursor, limit: 50 } }),
    renderItem: (a) => h('tr', { testid: 'account-row', 'data-username': a.username || '' },
      h('td', {}, h('a', { href: `#/admin/account/${encodeURIComponent(a.id)}`, testid: 'account-link' },
        a.username || a.id)),
      h('td', { class: `num ${a.balance < 0 ? 'neg' : ''}` }, formatMoney(a.balance, a.currency)),
      h('td', {}, time(a.updated_at)),
      h('td', { class: 'mono small' }, a.id)),
  });
  const deposit = moneyForm({
    prefix: 'dep',
    title: 'Deposit',
    submitLabel: 'Deposit',
    path: '/admin/deposits',
    currency: session.account ? session.account.currency : 'USD',
    recipientHint: 'Money comes from the treasury account',
    describe: (t, money) => `Deposited ${money} to ${t.to_username}.`,
    onDone: () => accounts.reload(),
  });
  root.append(h('div', { class: 'stack', testid: 'view-ledger' },
    h('div', { class: 'grid' }, h('section', { class: 'card' }, deposit), h('section', { class: 'card' }, reversalForm())),
    h('section', { class: 'card' },
      h('h2', {}, 'Accounts'),
      h('p', { class: 'muted small' }, 'The treasury’s balance is minus all the money issued.'),
      tableWrap('accounts-table', ['Account', 'Balance', 'Updated', 'Id'], accountsBody), accounts.controls)));
  await accounts.reload();
}
