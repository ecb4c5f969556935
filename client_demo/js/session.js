import { api, token } from './api.js';

// Who is signed in, as last reported by GET /api/v1/me.
export const session = {
  user: null,
  account: null,
  get signedIn() {
    return Boolean(token.get() && this.user);
  },
  get isAdmin() {
    return Boolean(this.user && this.user.role === 'admin');
  },
};

const listeners = new Set();
export function onSessionChange(fn) {
  listeners.add(fn);
}
function changed() {
  for (const fn of listeners) fn(session);
}

export async function refreshMe() {
  if (!token.get()) {
    clearSession();
    return session;
  }
  const me = await api('/me');
  session.user = me.user;
  session.account = me.account;
  changed();
  return session;
}

export async function signIn(authResponse) {
  token.set(authResponse.token);
  session.user = authResponse.user;
  await refreshMe();
}

export function clearSession() {
  token.clear();
  const had = session.user !== null;
  session.user = null;
  session.account = null;
  if (had) changed();
}

export async function signOut() {
  try {
    await api('/auth/logout', { method: 'POST' });
  } catch {
    // The token is dropped locally either way.
  }
  clearSession();
}
