import { api } from '../api.js';
import { h, field, errorBox, showError, hide, busy } from '../dom.js';
import { signIn } from '../session.js';

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
