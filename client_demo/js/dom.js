// DOM helpers. Everything is built with createElement and text nodes:
// user data never goes through an HTML parser.

export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = value;
    else if (key === 'testid') el.dataset.testid = value;
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el, children) {
  for (const child of [children].flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export function setChildren(el, ...children) {
  el.replaceChildren();
  return append(el, children);
}

export function field(label, input, hint) {
  return h('label', { class: 'field' }, h('span', { class: 'field-label' }, label), input,
    hint ? h('small', { class: 'hint' }, hint) : null);
}

export function time(iso) {
  if (!iso) return h('span', { class: 'muted' }, '—');
  const d = new Date(iso);
  const text = Number.isNaN(d.getTime()) ? String(iso) : d.toLocaleString();
  return h('time', { datetime: String(iso), title: String(iso) }, text);
}

function describeDetail(detail) {
  if (detail === null || typeof detail !== 'object') return String(detail);
  const where = detail.field ?? detail.loc ?? detail.path ?? detail.name ?? detail.param;
  const what = detail.message ?? detail.msg ?? detail.reason ?? detail.kind;
  const fieldName = Array.isArray(where) ? where.filter((p) => p !== 'body').join('.') : where;
  if (fieldName && what) return `${fieldName}: ${what}`;
  if (what) return String(what);
  return JSON.stringify(detail);
}

// Shows an API (or local validation) error in the box next to the form.
export function showError(box, err) {
  const message = err && err.message ? err.message : String(err);
  const details = err && Array.isArray(err.details) ? err.details : [];
  setChildren(box,
    h('strong', {}, message),
    err && err.code && err.status ? h('span', { class: 'error-code' }, ` (${err.code}, HTTP ${err.status})`) : null,
    details.length ? h('ul', { class: 'error-details', testid: 'error-details' },
      details.map((d) => h('li', {}, describeDetail(d)))) : null);
  box.hidden = false;
}

export function errorBox(testid) {
  return h('div', { class: 'alert alert-error', role: 'alert', testid, hidden: true });
}

export function noticeBox(testid) {
  return h('div', { class: 'alert alert-ok', role: 'status', testid, hidden: true });
}

export function showNotice(box, ...children) {
  setChildren(box, ...children);
  box.hidden = false;
}

export function hide(...boxes) {
  for (const box of boxes) {
    box.hidden = true;
    box.replaceChildren();
  }
}

// Loading state for a slow call: the button is disabled and says "Working…".
export async function busy(button, fn) {
  const label = button.textContent;
  button.disabled = true;
  button.textContent = 'Working…';
  button.setAttribute('aria-busy', 'true');
  try {
    return await fn();
  } finally {
    button.disabled = false;
    button.textContent = label;
    button.removeAttribute('aria-busy');
  }
}

// A paged list: render(items) appends rows; "Next page" follows next_cursor.
export function pager({ load, renderItem, container, empty = 'Nothing here yet.', testid }) {
  const errBox = errorBox(`${testid}-error`);
  const next = h('button', { type: 'button', class: 'btn btn-secondary', testid: `${testid}-next`, hidden: true }, 'Next page');
  const emptyNote = h('p', { class: 'muted', testid: `${testid}-empty`, hidden: true }, empty);
  const loading = h('p', { class: 'muted', testid: `${testid}-loading`, hidden: true }, 'Loading…');
  let cursor = null;
  let count = 0;

  async function fetchPage() {
    hide(errBox);
    try {
      const page = await load(cursor);
      const items = (page && page.items) || [];
      for (const item of items) container.append(renderItem(item));
      count += items.length;
      cursor = page ? page.next_cursor : null;
      next.hidden = !cursor;
      emptyNote.hidden = count > 0;
    } catch (err) {
      showError(errBox, err);
    }
  }

  next.addEventListener('click', () => busy(next, fetchPage));
  const controls = h('div', { class: 'pager' }, loading, emptyNote, errBox, next);
  return {
    controls,
    // For items added locally (e.g. a comment just written).
    added() {
      count += 1;
      emptyNote.hidden = true;
    },
    reload() {
      container.replaceChildren();
      cursor = null;
      count = 0;
      next.hidden = true;
      emptyNote.hidden = true;
      loading.hidden = false;
      return fetchPage().finally(() => {
        loading.hidden = true;
      });
    },
  };
}
