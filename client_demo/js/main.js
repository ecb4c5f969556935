import { onUnauthorized, token } from './api.js';
import { h, setChildren } from './dom.js';
import { session, onSessionChange, refreshMe, clearSession, signOut } from './session.js';
import { loginView, signupView, firebaseView } from './views/auth.js';
import { stopLive, stopWatches } from './live.js';
import { walletView } from './views/wallet.js';
import { historyView } from './views/history.js';
import { feedView, postView } from './views/posts.js';
import { photosView, tagPhotosView, ownerPhotosView, photoView, catsView } from './views/photos.js';
import { moderationView, ledgerAdminView, auditView, verifyView } from './views/admin.js';
import { cheatView } from './views/cheat.js';
import { messagesView } from './views/messages.js';

const viewEl = document.getElementById('view');
const navEl = document.getElementById('nav');
const flashEl = document.getElementById('flash');

// [pattern, view, access]; access: 'guest' | 'user' | 'admin' | undefined (public)
const routes = [
  [/^\/login$/, loginView, 'guest'],
  [/^\/signup$/, signupView, 'guest'],
  [/^\/firebase$/, firebaseView, 'guest'],
  [/^\/wallet$/, walletView, 'user'],
  [/^\/history$/, historyView, 'user'],
  [/^\/feed$/, feedView],
  [/^\/post\/([^/]+)$/, postView],
  [/^\/photos$/, photosView],
  [/^\/photos\/tag\/([^/]+)$/, tagPhotosView],
  [/^\/photos\/by\/([^/]+)$/, ownerPhotosView],
  [/^\/photo\/([^/]+)$/, photoView],
  [/^\/cats$/, catsView],
  [/^\/cheat$/, cheatView, 'user'],
  [/^\/messages$/, messagesView, 'user'],
  [/^\/messages\/([^/]+)$/, messagesView, 'user'],
  [/^\/admin\/moderation$/, moderationView, 'admin'],
  [/^\/admin\/ledger$/, ledgerAdminView, 'admin'],
  [/^\/admin\/audit$/, auditView, 'admin'],
  [/^\/admin\/verify$/, verifyView, 'admin'],
];

const userLinks = [['#/wallet', 'Wallet', 'nav-wallet'], ['#/history', 'History', 'nav-history'],
  ['#/feed', 'Feed', 'nav-feed'], ['#/photos', 'Photos', 'nav-photos'], ['#/cats', 'Cats', 'nav-cats'], ['#/messages', 'Messages', 'nav-messages'],
  ['#/cheat', 'Try to cheat', 'nav-cheat']];
const adminLinks = [['#/admin/moderation', 'Moderation', 'nav-admin-moderation'],
  ['#/admin/ledger', 'Ledger', 'nav-admin-ledger'],
  ['#/admin/audit', 'Audit', 'nav-admin-audit'], ['#/admin/verify', 'Verify', 'nav-admin-verify']];
const guestLinks = [['#/feed', 'Feed', 'nav-feed'], ['#/photos', 'Photos', 'nav-photos'], ['#/cats', 'Cats', 'nav-cats'],
  ['#/login', 'Log in', 'nav-login'],
  ['#/signup', 'Sign up', 'nav-signup'], ['#/firebase', 'Sign in with Firebase', 'nav-firebase']];

export function flash(message, kind = 'info') {
  setChildren(flashEl, message);
  flashEl.className = `flash flash-${kind}`;
  flashEl.hidden = !message;
  // A message survives the navigation that usually follows it, then goes.
  flashEl.dataset.sticky = message ? 'true' : 'false';
}

export function navigate(hash) {
  if (location.hash === hash) render();
  else location.hash = hash;
}

function currentPath() {
  const raw = location.hash.replace(/^#/, '') || '/';
  return raw.split('?')[0];
}

function link([href, label, testid]) {
  const active = `#${currentPath()}` === href;
  return h('a', { href, testid, class: active ? 'active' : null, 'aria-current': active ? 'page' : null }, label);
}

function renderNav() {
  if (!session.signedIn) {
    setChildren(navEl, h('span', { class: 'nav-links' }, guestLinks.map(link)));
    return;
  }
  const logout = h('button', { type: 'button', class: 'btn btn-link', testid: 'nav-logout' }, 'Log out');
  logout.addEventListener('click', async () => {
    logout.disabled = true;
    await signOut();
    flash('You are logged out.');
    navigate('#/login');
  });
  setChildren(navEl,
    h('span', { class: 'nav-links' },
      userLinks.map(link),
      // Not merely hidden: admin links are not in the DOM for other users.
      session.isAdmin ? h('span', { class: 'nav-admin', testid: 'nav-admin' }, adminLinks.map(link)) : null),
    h('span', { class: 'nav-session' },
      h('span', { class: 'nav-user', testid: 'nav-user' }, session.user.username),
      session.isAdmin ? h('span', { class: 'badge' }, 'admin') : null,
      logout));
}

function deny(title, text) {
  setChildren(viewEl, h('section', { class: 'card', testid: 'view-denied' }, h('h1', {}, title), h('p', {}, text)));
}

let renderCount = 0;
async function render() {
  const path = currentPath();
  const match = routes.map(([re, view, access]) => [re.exec(path), view, access]).find(([m]) => m);
  if (!match) {
    navigate(session.signedIn ? '#/wallet' : '#/login');
    return;
  }
  const [m, view, access] = match;
  if (access === 'guest' && session.signedIn) return navigate('#/wallet');
  if ((access === 'user' || access === 'admin') && !session.signedIn) {
    flash('Please log in first.');
    return navigate('#/login');
  }
  renderNav();
  if (access === 'admin' && !session.isAdmin) {
    deny('Admins only', 'This page is for administrators. The server refuses these calls for other users too.');
    return;
  }
  const ticket = ++renderCount;
  stopWatches();  // the previous view's live listeners
  viewEl.replaceChildren();
  window.scrollTo(0, 0);
  try {
    await view(viewEl, { params: m.slice(1).map(decodeURIComponent), navigate, flash });  // decode may throw too
  } catch (err) {
    if (ticket === renderCount) {
      setChildren(viewEl, h('div', { class: 'alert alert-error', role: 'alert', testid: 'view-error' },
        err && err.message ? err.message : String(err)));
    }
  }
}

onUnauthorized(() => {
  clearSession();
  flash('Your session has ended. Please log in again.', 'warn');
  navigate('#/login');
});

onSessionChange(() => {
  if (!session.signedIn) stopLive().catch(() => {});
  renderNav();
});
window.addEventListener('hashchange', () => {
  if (flashEl.dataset.sticky === 'true') flashEl.dataset.sticky = 'false';
  else flash('');
  render();
});

async function boot() {
  if (token.get()) {
    try {
      await refreshMe();
    } catch (err) {
      clearSession();
      if (err.status !== 401) flash(`Could not load your session: ${err.message}`, 'warn');
    }
  }
  document.body.dataset.ready = 'true';
  render();
}

boot();
