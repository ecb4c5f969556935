import { h, setChildren, time, errorBox, showError, hide, busy } from '../dom.js';
import { formatMoney } from '../money.js';
import { session, refreshMe } from '../session.js';
import { moneyForm } from '../forms.js';

export async function walletView(root) {
  const balance = h('p', { class: 'balance', testid: 'balance' }, '…');
  const updated = h('p', { class: 'muted small' });
  const refresh = h('button', { type: 'button', class: 'btn btn-secondary', testid: 'balance-refresh' }, 'Refresh');

  function show() {
    const a = session.account;
    balance.textContent = formatMoney(a.balance, a.currency);
    balance.dataset.cents = String(a.balance);
    setChildren(updated, 'Updated ', time(a.updated_at));
  }

  const err = errorBox('balance-error');
  refresh.addEventListener('click', async () => {
    hide(err);
    try {
      await busy(refresh, refreshMe);
      show();
    } catch (e) {
      showError(err, e);
    }
  });

  const currency = session.account ? session.account.currency : 'USD';
  const form = moneyForm({
    prefix: 'transfer',
    title: 'Send money',
    submitLabel: 'Send',
    path: '/transfers',
    currency,
    recipientHint: 'Their username',
    describe: (t, money) => `Sent ${money} to ${t.to_username}.`,
    onDone: async () => {
      await refreshMe();
      show();
    },
  });

  root.append(h('div', { class: 'grid', testid: 'view-wallet' },
    h('section', { class: 'card' },
      h('h1', {}, 'My balance'),
      h('p', { class: 'muted' }, 'Account of ', h('strong', { testid: 'wallet-username' }, session.user.username)),
      balance, updated, err, refresh,
      h('p', {}, h('a', { href: '#/history', testid: 'wallet-history-link' }, 'See my history →'))),
    h('section', { class: 'card' }, form)));

  await refreshMe();
  show();
}
