import { api } from '../api.js';
import { h, errorBox, showError, hide, busy } from '../dom.js';
import { formatMoney } from '../money.js';
import { session } from '../session.js';

const STOLEN_BALANCE = '100000000';

function base64url(obj) {
  const bytes = new TextEncoder().encode(JSON.stringify(obj));
  let bin = '';
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

// What a malicious client can mint with no secret at all: an unsigned
// Firebase-style ID token claiming to be the signed-in user.
export function forgeIdToken(projectId, uid) {
  const now = Math.floor(Date.now() / 1000);
  const header = { alg: 'none', typ: 'JWT' };
  const payload = {
    sub: uid, user_id: uid, aud: projectId, iss: `https://securetoken.google.com/${projectId}`,
    iat: now, exp: now + 3600, auth_time: now,
  };
  return `${base64url(header)}.${base64url(payload)}.`;
}

async function attempt(url, method, idToken, body) {
  try {
    const res = await fetch(url, {
      method,
      headers: { Authorization: `Bearer ${idToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
      credentials: 'omit',
      cache: 'no-store',
    });
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    return { reached: true, status: res.status, ok: res.ok, data };
  } catch (e) {
    return { reached: false, status: 0, ok: false, data: null, message: String(e && e.message ? e.message : e) };
  }
}

function outcome(testid, label, result) {
  const errStatus = result.data && result.data.error ? result.data.error.status || result.data.error.code : '';
  const errMessage = result.data && result.data.error ? result.data.error.message : '';
  let verdict;
  let cls;
  if (result.ok) {
    verdict = 'ACCEPTED — the database took a write from the browser. The security rules are not doing their job!';
    cls = 'alert-error';
  } else if (result.reached) {
    verdict = `Refused: HTTP ${result.status}${errStatus ? ` ${errStatus}` : ''}.`;
    cls = 'alert-ok';
  } else {
    verdict = `The request did not get through (${result.message}); the browser or network blocked it.`;
    cls = 'alert-ok';
  }
  return h('div', { class: `alert ${cls}`, testid, 'data-status': String(result.status), 'data-accepted': String(result.ok) },
    h('strong', {}, label), h('br'), verdict,
    errMessage ? h('pre', { class: 'mono small wrap' }, errMessage) : null);
}

export async function cheatView(root) {
  const err = errorBox('cheat-error');
  const run = h('button', { type: 'button', class: 'btn btn-danger', testid: 'cheat-run' }, 'Try to give myself 1,000,000.00');
  const steps = h('div', { class: 'stack', testid: 'cheat-steps' });
  const intro = h('div', { class: 'stack' },
    h('h1', {}, 'Try to cheat'),
    h('p', {}, 'In a typical Firebase app the browser writes Firestore directly, so anyone can open the developer tools and rewrite their own balance. Here the API is the only writer: the Firestore security rules refuse every write that comes from a client.'),
    h('p', {}, 'This page plays the attacker. It forges an ID token for you (no signature needed by the emulator) and sends two writes straight to Firestore: one that sets your balance to 1,000,000.00 and one that creates a transfer document. Then it asks the API for your balance again.'));
  const card = h('section', { class: 'card', testid: 'view-cheat' }, intro, err);
  root.append(card);

  let config;
  try {
    config = await api('/client-config');
  } catch (e) {
    showError(err, e);
    return;
  }
  if (!config.firestore_emulator_url) {
    card.append(h('div', { class: 'alert alert-warn', testid: 'cheat-no-emulator' },
      'This panel only works when the server runs against the Firestore emulator: a forged, unsigned token is meaningless to production Firestore, which rejects it before the rules are even consulted. Start the server with the emulator to try it.'));
    return;
  }
  card.append(run, steps);

  const emulator = config.firestore_emulator_url.replace(/\/+$/, '');
  const project = config.project_id;
  const docs = `${emulator}/v1/projects/${encodeURIComponent(project)}/databases/(default)/documents`;

  run.addEventListener('click', () => busy(run, async () => {
    hide(err);
    steps.replaceChildren();
    try {
      const uid = session.user.id;
      const before = await api('/accounts/me');
      steps.append(h('p', { testid: 'cheat-balance-before', 'data-cents': String(before.balance) },
        '1. Balance according to the API: ', h('strong', {}, formatMoney(before.balance, before.currency))));

      const idToken = forgeIdToken(project, uid);
      steps.append(h('div', {}, '2. Forged ID token for user ', h('code', {}, uid), ':',
        h('pre', { class: 'mono small wrap token', testid: 'cheat-token' }, idToken)));

      const patchUrl = `${docs}/accounts/${encodeURIComponent(uid)}?updateMask.fieldPaths=balance`;
      const patched = await attempt(patchUrl, 'PATCH', idToken, { fields: { balance: { integerValue: STOLEN_BALANCE } } });
      steps.append(h('div', {}, '3. ', h('code', { class: 'wrap' }, `PATCH …/documents/accounts/${uid}`), ' setting balance to 1,000,000.00',
        outcome('cheat-patch-result', 'Direct balance write', patched)));

      const created = await attempt(`${docs}/transfers`, 'POST', idToken, {
        fields: {
          from_account: { stringValue: 'treasury' },
          to_account: { stringValue: uid },
          amount: { integerValue: STOLEN_BALANCE },
          currency: { stringValue: before.currency || 'USD' },
          kind: { stringValue: 'deposit' },
          status: { stringValue: 'posted' },
          memo: { stringValue: 'free money' },
        },
      });
      steps.append(h('div', {}, '4. ', h('code', {}, 'POST …/documents/transfers'), ' creating a deposit to myself',
        outcome('cheat-create-result', 'Direct transfer creation', created)));

      const after = await api('/accounts/me');
      const unchanged = after.balance === before.balance;
      steps.append(h('p', { testid: 'cheat-balance-after', 'data-cents': String(after.balance) },
        '5. Balance according to the API afterwards: ', h('strong', {}, formatMoney(after.balance, after.currency))));
      steps.append(h('p', { class: `verdict ${unchanged && !patched.ok && !created.ok ? 'verdict-ok' : 'verdict-bad'}`,
        testid: 'cheat-verdict', 'data-unchanged': String(unchanged) },
      unchanged && !patched.ok && !created.ok
        ? '✔ Both attacks were refused and your balance did not change. Only the trusted API moves money.'
        : '✘ Something got through: check the security rules.'));
    } catch (e) {
      showError(err, e);
    }
  }));
}
