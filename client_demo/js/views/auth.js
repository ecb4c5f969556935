import { api, apiFull } from '../api.js';
import { h, field, errorBox, showError, hide, busy } from '../dom.js';
import { signIn } from '../session.js';
import { firebaseIdToken } from '../live.js';

function authForm(root, { mode, navigate, flash }) {
  const isSignup = mode === 'signup';
  const username = h('input', { name: 'username', autocomplete: 'username', required: true,
    minlength: 3, maxlength: 32, testid: `${mode}-username`, autocapitalize: 'none', spellcheck: 'false' });
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: isSignup ? 8 : null,
    autocomplete: isSignup ? 'new-password' : 'current-password', testid: `${mode}-password` });
  const submit = h('button', { type: 'submit', class: 'btn', testid: `${mode}-submit` }, isSignup ? 'Create account' : 'Log in');
  const err = errorBox(`${mode}-error`);
  const form = h('form', { class: 'stack', testid: `${mode}-form` },
    field('Username', username, isSignup ? '3–32 characters: a–z, 0–9 and _' : null),
    field('Password', password, isSignup ? 'At least 8 characters' : null),
    err, submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    hide(err);
    try {
      await busy(submit, async () => {
        const resp = await api(`/auth/${mode}`, { method: 'POST', auth: false,
          body: { username: username.value.trim(), password: password.value } });
        await signIn(resp);
      });
      flash(isSignup ? `Welcome, ${username.value.trim().toLowerCase()}! Your account starts at 0.` : '');
      navigate('#/wallet');
    } catch (e) {
      showError(err, e);
      password.select();
    }
  });

  root.append(h('section', { class: 'card narrow', testid: `view-${mode}` },
    h('h1', {}, isSignup ? 'Sign up' : 'Log in'),
    form,
    h('p', { class: 'muted' }, isSignup ? 'Already have an account? ' : 'New here? ',
      h('a', { href: isSignup ? '#/login' : '#/signup', testid: `${mode}-switch` }, isSignup ? 'Log in' : 'Sign up'))));
  username.focus();
}

export function loginView(root, ctx) {
  authForm(root, { ...ctx, mode: 'login' });
}

export function signupView(root, ctx) {
  authForm(root, { ...ctx, mode: 'signup' });
}

// "Sign in with Firebase": a Firebase Auth user (email and password here; Google,
// phone... work the same) exchanges its ID token for a session of this API.
// The first time, the API asks for a username and creates the wallet.
export function firebaseView(root, { navigate, flash }) {
  const email = h('input', { name: 'email', type: 'email', autocomplete: 'email', required: true, testid: 'firebase-email' });
  const password = h('input', { name: 'password', type: 'password', required: true, minlength: 6,
    autocomplete: 'current-password', testid: 'firebase-password' });
  const create = h('input', { name: 'create', type: 'checkbox', testid: 'firebase-create' });
  const username = h('input', { name: 'username', autocomplete: 'username', minlength: 3, maxlength: 32,
    testid: 'firebase-username', autocapitalize: 'none', spellcheck: 'false' });
  const submit = h('button', { type: 'submit', class: 'btn', testid: 'firebase-submit' }, 'Sign in with Firebase');
  const err = errorBox('firebase-error');
  const form = h('form', { class: 'stack', testid: 'firebase-form' },
    field('Email', email),
    field('Password', password, 'Your Firebase Auth password (at least 6 characters)'),
    h('label', { class: 'check' }, create, ' Create a new Firebase account'),
    field('Username for your wallet', username, 'Needed the first time only: 3–32 characters, a–z, 0–9 and _'),
    err, submit);

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    hide(err);
    let created = false;
    try {
      await busy(submit, async () => {
        const idToken = await firebaseIdToken(email.value.trim(), password.value, create.checked);
        create.checked = false;  // the Firebase account exists now, whatever the API says next
        const name = username.value.trim();
        const { status, data } = await apiFull('/auth/firebase', { method: 'POST', auth: false,
          body: name ? { id_token: idToken, username: name } : { id_token: idToken } });
        created = status === 201;
        await signIn(data);
      });
      flash(created ? `Welcome, ${username.value.trim().toLowerCase()}! Your wallet starts at 0.` : '');
      navigate('#/wallet');
    } catch (e) {
      showError(err, e);
      if (e.status === 422) username.focus();
    }
  });

  root.append(h('section', { class: 'card narrow', testid: 'view-firebase' },
    h('h1', {}, 'Sign in with Firebase'),
    h('p', { class: 'muted' }, 'For users of a Firebase app: Firebase Auth proves who you are, this API gives you a wallet.'),
    form));
  email.focus();
}
