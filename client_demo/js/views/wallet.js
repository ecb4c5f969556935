import { h, setChildren, time, errorBox, showError, hide } from '../dom.js';
import { formatMoney } from '../money.js';
import { session, refreshMe } from '../session.js';
import { moneyForm } from '../forms.js';
import { startLive, watchAccount } from '../live.js';

export async function walletView(root) {
  const balance = h('p', { class: 'balance', testid: 'balance' }, '…');
  const updated = h('p', { class: 'muted small' });
  const liveBadge = h('span', { class: 'badge', testid: 'live-status', 'data-live': 'false' }, 'connecting…');

  function show(a) {
    balance.textContent = formatMoney(a.balance, a.currency);
    balance.dataset.cents = String(a.balance);
    setChildren(updated, 'Updated ', time(a.updated_at), ' ', liveBadge);
  }

  function setLive(on, label) {
    liveBadge.dataset.live = String(on);
    liveBadge.textContent = label;
  }

  const err = errorBox('balance-error');
  const currency = session.account ? session.account.currency : 'USD';
  const form = moneyForm({
    prefix: 'transfer',
    title: 'Send money',
    submitLabel: 'Send',
    path: '/transfers',
    currency,
    recipientHint: 'Their username',
    describe: (t, money) => `Sent ${money} to ${t.to_username}.`,
    // No reload: the balance listener below shows the debit as Firestore commits it.
  });

  root.append(h('div', { class: 'grid', testid: 'view-wallet' },
    h('section', { class: 'card' },
      h('h1', {}, 'My balance'),
      h('p', { class: 'muted' }, 'Account of ', h('strong', { testid: 'wallet-username' }, session.user.username)),
      balance, updated, err,
      h('p', {}, h('a', { href: '#/history', testid: 'wallet-history-link' }, 'See my history →'))),
    h('section', { class: 'card' }, form)));

  await refreshMe();
  show(session.account);
  try {
    await startLive(session.user.id);
    watchAccount((a) => {
      hide(err);
      session.account = { ...session.account, balance: a.balance, updated_at: a.updated_at };
      show(session.account);
      setLive(true, 'live');
    }, (e) => {
      setLive(false, 'offline');
      showError(err, e);
    });
  } catch (e) {
    setLive(false, 'offline');
    showError(err, e);
  }
}
