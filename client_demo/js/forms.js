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

// Sends the form's request, one at a time: a failure (also one thrown by `send` before
// any request) is shown in the first box; on success the form is cleared and `done`
// gets the answer.
function submitOnce(form, submit, boxes, send, done) {
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    hide(...boxes);
    try {
      const result = await busy(submit, send);
      form.reset();
      done(result);
    } catch (e) {
      showError(boxes[0], e);
    }
  });
}

// A text box and a button: sends its text (`send(text)`), then clears itself and
// hands the answer to `done`. Returns the form and its text box.
export function textForm({ label, submitLabel, testids, send, done }) {
  const body = h('textarea', { name: 'body', required: true, maxlength: 2000, rows: 3, testid: testids.input });
  const submit = h('button', { type: 'submit', class: 'btn', testid: testids.submit }, submitLabel);
  const err = errorBox(testids.error);
  const form = h('form', { class: 'stack', testid: testids.form }, field(label, body), err, submit);
  submitOnce(form, submit, [err], () => send(body.value), done);
  return { form, body };
}

// The form that submits a new item for review (a post, a photo): test ids from `prefix`
// (`${prefix}-form`, -submit, -error), a heading, a hint and the fields; `done(answer,
// notice)` tells the user what became of it in the notice box.
export function reviewForm({ prefix, noticeTestid, heading, hint, fields, submitLabel, send, done }) {
  const submit = h('button', { type: 'submit', class: 'btn', testid: `${prefix}-submit` }, submitLabel);
  const err = errorBox(`${prefix}-error`);
  const notice = noticeBox(noticeTestid);
  const form = h('form', { class: 'stack', testid: `${prefix}-form` },
    h('h2', {}, heading), h('p', { class: 'muted small' }, hint), ...fields, err, notice, submit);
  submitOnce(form, submit, [err, notice], send, (answer) => done(answer, notice));
  return form;
}
