// What posts and photos share on screen (as server/moderation/models.py does on the server):
// the status notice, comments, the page of one item and the moderation entry.
import { api } from '../api.js';
import { h, errorBox, showError, pager, time, setChildren } from '../dom.js';
import { textForm } from '../forms.js';
import { session } from '../session.js';

const STATUS_TEXT = {
  pending: 'Pending: only you and the moderators can see it until it is approved.',
  rejected: 'Rejected by a moderator: only you and the moderators can see it.',
};

// The notice on an item that is not public (null for an approved one).
export function statusNotice(item, testid) {
  if (item.status === 'approved') return null;
  return h('div', { class: 'alert alert-warn', testid },
    h('span', { class: `badge badge-${item.status}` }, item.status), ' ', STATUS_TEXT[item.status] || '',
    item.moderation && item.moderation.reason ? h('span', {}, ' Reason: ', item.moderation.reason) : null);
}

function commentItem(c) {
  return h('li', { class: 'comment', testid: 'comment-item', 'data-comment-id': c.id },
    h('p', { class: 'muted small' }, h('strong', {}, c.author_username), ' · ', time(c.created_at)),
    h('p', { class: 'post-text', testid: 'comment-body' }, c.body));
}

// The comments of an approved item (`path`: its comments URL), with the form to add one.
function commentsSection(item, path) {
  const list = h('ol', { class: 'comments', testid: 'comment-list' });
  const countEl = h('span', { testid: 'comment-count' }, String(item.comment_count));
  const comments = pager({
    testid: 'comments',
    container: list,
    empty: 'No comments yet.',
    load: (cursor) => api(path, { query: { cursor, limit: 50 } }),
    renderItem: commentItem,
  });
  const form = () => textForm({
    label: 'Add a comment',
    submitLabel: 'Comment',
    testids: { form: 'comment-form', input: 'comment-body-input', submit: 'comment-submit', error: 'comment-error' },
    send: (body) => api(path, { method: 'POST', body: { body } }),
    done: ({ comment }) => {
      list.append(commentItem(comment));
      comments.added();
      item.comment_count += 1;
      countEl.textContent = String(item.comment_count);
    },
  }).form;
  const section = h('section', { class: 'comments-section' },
    h('h2', {}, 'Comments (', countEl, ')'),
    list, comments.controls,
    session.signedIn ? form() : h('p', {}, h('a', { href: '#/login' }, 'Log in'), ' to comment.'));
  return { section, reload: () => comments.reload() };
}

// The page of one item (`kind`: "post" or "photo"): loads it from `path`, or says it
// is not visible; `render(item)` gives what stands between the back link and the
// comments, which exist on approved items only.
export async function itemPage(root, { kind, path, back: [backHref, backLabel], render }) {
  const section = h('article', { class: 'card', testid: `view-${kind}` }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(section);
  let item;
  try {
    item = (await api(path))[kind];
  } catch (e) {
    const err = errorBox(`${kind}-error`);
    showError(err, e.status === 404 ? { message: `This ${kind} does not exist or is not visible to you.` } : e);
    setChildren(section, err, h('p', {}, h('a', { href: backHref }, `← Back to the ${backLabel}`)));
    return;
  }
  const comments = item.status === 'approved' ? commentsSection(item, `${path}/comments`) : null;
  setChildren(section,
    h('p', {}, h('a', { href: backHref }, `← ${backLabel[0].toUpperCase()}${backLabel.slice(1)}`)),
    ...render(item),
    comments && comments.section);
  if (comments) await comments.reload();
}

// What the admin moderation screen (views/admin.js) needs of a kind: `key` ("post"),
// its title, test ids [item, list, pager], where approved items appear, who wrote
// an entry and what to show of it.
export function moderationKind(key, title, { testids: [testid, listTestid, pagerTestid], publicIn, who, content }) {
  return {
    key, title, testid, listTestid, pagerTestid, who, content,
    path: `/admin/${key}s`,
    listClass: 'stack',
    idAttr: `data-${key}-id`,
    approvedText: `Approved: it is now in the ${publicIn}.`,
  };
}
