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

// What each field is called on the forms, and its rule as a sentence (the server's own
// wording is for programs: "String should match pattern ...").
const FIELDS = {
  username: ['Username', 'A username is 3 to 32 letters, digits or underscores.'],
  with: ['Username', 'A username is 3 to 32 letters, digits or underscores.'],
  to: ['Recipient', 'Enter the recipient’s username: 3 to 32 letters, digits or underscores.'],
  password: ['Password', 'A password needs 8 to 72 characters (fewer if they are accented letters or emoji).'],
  new_password: ['New password',
    'The new password needs 8 to 72 characters (fewer if they are accented letters or emoji).'],
  current_password: ['Current password', 'Enter your current password.'],
  amount: ['Amount', 'Enter an amount above zero, with at most two decimals.'],
  memo: ['Memo', 'A memo is at most 140 characters and not only spaces.'],
  title: ['Title', 'A title is 1 to 200 characters on one line, not only spaces.'],
  body: ['Text', 'Write something (not only spaces), within the length shown.'],
  caption: ['Caption', 'A caption is at most 500 characters.'],
  tags: ['Tags', 'Tags are up to 10 words of letters, digits or underscores (30 at most each), '
    + 'separated by commas, e.g. sunset,beach.'],
  reason: ['Reason', 'Give a reason (not only spaces).'],
  image: ['Image', 'Choose one JPEG, PNG or WebP image.'],
};

function fieldOf(detail) {
  const where = detail.field ?? detail.loc ?? detail.path ?? detail.name ?? detail.param;
  const parts = Array.isArray(where) ? where : String(where ?? '').split('.');
  return parts.filter((p) => p !== 'body' && p !== '').pop();
}

// One sentence a person can act on, for one offending field of a 422.
export function describeDetail(detail) {
  if (detail === null || typeof detail !== 'object') return 'Check what you entered.';
  const name = fieldOf(detail);
  const known = FIELDS[name];
  if (detail.type === 'missing') return `${known ? known[0] : 'A field'} is required.`;
  if (known) return known[1];
  if (name === undefined) return 'Check what you entered.';
  return `Check the ${String(name).replace(/_/g, ' ')}.`;
}

// Shows an API (or local validation) error in the box next to the form: sentences only.
// The contract's code stays on the box (data-code, and its tooltip) for whoever debugs.
export function showError(box, err) {
  const details = err && Array.isArray(err.details) ? err.details : [];
  // Schema errors (they carry a type) get a sentence per field; the server's own
  // refusals (to oneself, a cursor...) are already a sentence in `message`.
  const fieldErrors = details.filter((d) => d && typeof d === 'object' && d.type);
  const sentences = [...new Set(fieldErrors.map(describeDetail))];
  let message = err && err.message ? err.message : String(err);
  if (sentences.length && err.code === 'validation_error') message = 'Please check what you entered.';
  setChildren(box,
    h('strong', {}, message),
    sentences.length ? h('ul', { class: 'error-details', testid: 'error-details' },
      sentences.map((text) => h('li', {}, text))) : null);
  if (err && err.code) {
    box.dataset.code = err.code;
    box.title = err.status ? `${err.code} (HTTP ${err.status})` : err.code;
  } else {
    delete box.dataset.code;
    box.removeAttribute('title');
  }
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
