// What the operator's screens share: short ids (full value on hover, a copy button),
// links from a document path to the screen that shows it, the hash's query string,
// and the two raw fetches the JSON helper does not cover (a download, a streamed body).
import { API_BASE, ApiError, token } from '../api.js';
import { h } from '../dom.js';

export function shortText(value, keep = 8) {
  const text = String(value ?? '');
  return text.length > keep + 3 ? `${text.slice(0, keep)}…` : text;
}

// Two overlapping sheets, drawn: no icon font to rely on.
function copyIcon() {
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  svg.setAttribute('viewBox', '0 0 16 16');
  svg.setAttribute('width', '12');
  svg.setAttribute('height', '12');
  svg.setAttribute('aria-hidden', 'true');
  for (const [x, y] of [[5, 1], [1, 5]]) {
    const rect = document.createElementNS(ns, 'rect');
    for (const [k, v] of Object.entries({ x, y, width: 10, height: 10, rx: 1.5, fill: x === 1 ? '#fff' : 'none',
      stroke: 'currentColor', 'stroke-width': 1.5 })) rect.setAttribute(k, String(v));
    svg.append(rect);
  }
  return svg;
}

async function copy(text, button) {
  try {
    await navigator.clipboard.writeText(text);
    button.replaceChildren('✓');
  } catch {
    // No clipboard (plain http, or denied): select the text so the operator can copy it.
    const range = document.createRange();
    range.selectNodeContents(button.previousElementSibling);
    getSelection().removeAllRanges();
    getSelection().addRange(range);
    button.replaceChildren('select');
  }
  setTimeout(() => button.replaceChildren(copyIcon()), 1500);
}

// An id shown short, the whole value in its title (hover) and data-full; `href` makes it a link.
export function shortId(value, { href, keep = 8, testid = 'short-id' } = {}) {
  if (value === null || value === undefined || value === '') return h('span', { class: 'muted' }, '—');
  const full = String(value);
  const label = href
    ? h('a', { href, class: 'mono', title: full }, shortText(full, keep))
    : h('span', { class: 'mono', title: full }, shortText(full, keep));
  const button = h('button', { type: 'button', class: 'copy', title: `Copy ${full}`, 'aria-label': 'Copy the full value',
    testid: 'copy-id' }, copyIcon());
  button.addEventListener('click', (event) => {
    event.preventDefault();
    event.stopPropagation();
    copy(full, button);
  });
  return h('span', { class: 'short-id', testid, 'data-full': full }, label, button);
}

// Where a document path leads in the console (an account, a post, a photo), else to its events.
export function docHref(path) {
  const [collection, id] = String(path || '').split('/');
  if (!id) return null;
  switch (collection) {
    case 'accounts': return `#/admin/account/${encodeURIComponent(id)}`;
    case 'postings': {
      const m = /^(.*)_(\d{12})$/.exec(id);
      return m ? `#/admin/account/${encodeURIComponent(m[1])}?seq=${Number(m[2])}` : null;
    }
    case 'posts': return `#/post/${encodeURIComponent(id)}`;
    case 'photos': return `#/photo/${encodeURIComponent(id)}`;
    case 'users': return auditHref({ actor: id });
    case 'audit': return null;
    default: return auditHref({ target: path });  // transfers, conversations, sessions, usernames…
  }
}

export function docLink(path, testid = 'doc-link') {
  if (!path) return h('span', { class: 'muted' }, '—');
  const [collection, ...rest] = String(path).split('/');
  const id = rest.join('/');
  if (!id) return h('span', { class: 'mono' }, path);
  return h('span', { class: 'doc-link', testid, 'data-path': path },
    h('span', { class: 'doc-kind' }, collection), ' ', shortId(id, { href: docHref(path) || undefined }));
}

export function auditHref(filters) {
  const qs = new URLSearchParams(Object.entries(filters).filter(([, v]) => v)).toString();
  return `#/admin/audit${qs ? `?${qs}` : ''}`;
}

// The query string of the current hash (#/admin/audit?action=…).
export function hashParams() {
  const hash = location.hash.replace(/^#/, '');
  const at = hash.indexOf('?');
  return new URLSearchParams(at < 0 ? '' : hash.slice(at + 1));
}

function apiUrl(path, query) {
  const qs = new URLSearchParams(Object.entries(query || {}).filter(([, v]) => v !== undefined && v !== null && v !== ''));
  return `${API_BASE}/api/v1${path}${qs.toString() ? `?${qs}` : ''}`;
}

async function rawFetch(path, { method = 'GET', query } = {}) {
  let res;
  try {
    res = await fetch(apiUrl(path, query), { method, headers: { Authorization: `Bearer ${token.get()}` },
      credentials: 'omit', cache: 'no-store' });
  } catch {
    throw new ApiError(0, 'network_error', 'Could not reach the server. Check the connection and try again.');
  }
  if (!res.ok) {
    let err = {};
    try { err = (await res.json()).error || {}; } catch { /* not JSON */ }
    throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || `HTTP ${res.status}`, err.details || []);
  }
  return res;
}

// Saves what the API streams as a file (the browser's own download, from a blob).
export async function download(path, query) {
  const res = await rawFetch(path, { query });
  const disposition = res.headers.get('Content-Disposition') || '';
  const name = (/filename="([^"]+)"/.exec(disposition) || [])[1] || 'download';
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = h('a', { href: url, download: name, hidden: true });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return { name, size: blob.size };
}

// Calls onLine(object) for each JSON line of a streamed response, as it arrives.
export async function streamLines(path, { method = 'POST', onLine }) {
  const res = await rawFetch(path, { method });
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  for (;;) {
    const { value, done } = await reader.read();
    buffered += decoder.decode(value || new Uint8Array(), { stream: !done });
    const lines = buffered.split('\n');
    buffered = lines.pop();
    for (const line of lines) if (line.trim()) onLine(JSON.parse(line));
    if (done) break;
  }
  if (buffered.trim()) onLine(JSON.parse(buffered));
}

export function verdict(ok, testid) {
  return h('span', { class: `check-mark ${ok === true ? 'ok' : ok === false ? 'bad' : 'unknown'}`, testid,
    'data-ok': String(ok) }, ok === true ? '✔' : ok === false ? '✘' : '?');
}
