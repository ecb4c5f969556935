import { apiFull, IdempotencyKeeper } from './api.js';
import { h, field, errorBox, noticeBox, showError, showNotice, hide, busy } from './dom.js';
import { parseAmount, formatMoney } from './money.js';

// Submits `send(key)` at most once at a time with a stable Idempotency-Key.
// The key survives failures whose outcome is unknown (network, 5xx) so a retry
// cannot move money twice; it is renewed after success, an edit, or a definitive 4xx
// (nothing happened, and the server may otherwise replay the old refusal).
export function guardedSubmit(form, submit, errBox, okBox, { prepare, send, done }) {
  const keeper = new IdempotencyKeeper(form);
  let inFlight = false;
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (inFlight) return;
    hide(errBox, okBox);
    let payload;
    try {
      payload = prepare();
    } catch (e) {
      showError(errBox, e);
      return;
    }
    inFlight = true;
    try {
      const result = await busy(submit, () => send(payload, keeper.current()));
      keeper.reset();
      form.reset();
      done(result, payload);
    } catch (e) {
      if (e.definitive) keeper.reset();
      showError(errBox, e);
    } finally {
      inFlight = false;
    }
  });
}

// "to / amount / memo" form used for transfers and admin deposits.
export function moneyForm({ prefix, title, submitLabel, path, currency, describe, onDone, recipientHint }) {
  const to = h('input', { name: 'to', required: true, autocomplete: 'off', autocapitalize: 'none',
    spellcheck: 'false', testid: `${prefix}-to`, placeholder: 'username' });
  const amount = h('input', { name: 'amount', required: true, inputmode: 'decimal', autocomplete: 'off',
    testid: `${prefix}-amount`, placeholder: '12.34' });
  const memo = h('input', { name: 'memo', maxlength: 140, autocomplete: 'off', testid: `${prefix}-memo` });
  const submit = h('button', { type: 'submit', class: 'btn', testid: `${prefix}-submit` }, submitLabel);
  const err = errorBox(`${prefix}-error`);
  const ok = noticeBox(`${prefix}-success`);
  const form = h('form', { class: 'stack', testid: `${prefix}-form`, novalidate: true },
    h('h2', {}, title),
    field('To', to, recipientHint),
    field(`Amount (${currency})`, amount, 'e.g. 12.34'),
    field('Memo (optional)', memo, 'Up to 140 characters'),
    err, ok, submit);

  guardedSubmit(form, submit, err, ok, {
    prepare() {
      const recipient = to.value.trim().toLowerCase();
      if (!recipient) throw new Error('Enter the recipient’s username.');
      const body = { to: recipient, amount: parseAmount(amount.value) };
      if (memo.value.trim()) body.memo = memo.value.trim();
      return body;
    },
    send: (body, key) => apiFull(path, { method: 'POST', body, idempotencyKey: key }),
    done({ data, headers }) {
      const t = data.transfer;
      const replayed = headers.get('Idempotent-Replayed') === 'true';
      showNotice(ok, describe(t, formatMoney(t.amount, t.currency || currency)),
        replayed ? ' (This had already gone through; it was not repeated.)' : '',
        h('br'), h('small', { class: 'muted' }, `Transfer id: ${t.id}`));
      if (onDone) Promise.resolve(onDone(t)).catch(() => {}); // the success message stands regardless
    },
  });
  return form;
}
