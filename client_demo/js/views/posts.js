import { api } from '../api.js';
import { h, field, errorBox, noticeBox, showError, showNotice, hide, busy, pager, time, setChildren } from '../dom.js';
import { session } from '../session.js';

const STATUS_TEXT = {
  pending: 'Pending: only you and the moderators can see it until it is approved.',
  rejected: 'Rejected by a moderator: only you and the moderators can see it.',
};

function excerpt(text, max = 280) {
  const s = String(text || '');
  return s.length > max ? `${s.slice(0, max)}…` : s;
}

function byline(post) {
  return h('p', { class: 'muted small' }, 'by ', h('strong', { testid: 'post-author' }, post.author_username), ' · ',
    time(post.created_at), ' · ', `${post.comment_count} comment${post.comment_count === 1 ? '' : 's'}`);
}

function feedItem(post) {
  return h('article', { class: 'post-card', testid: 'feed-item', 'data-post-id': post.id },
    h('h2', {}, h('a', { href: `#/post/${encodeURIComponent(post.id)}`, testid: 'feed-item-title' }, post.title)),
    byline(post),
    h('p', { class: 'post-text', testid: 'feed-item-body' }, excerpt(post.body)));
}

function newPostForm() {
  const title = h('input', { name: 'title', required: true, maxlength: 200, testid: 'newpost-title' });
  const body = h('textarea', { name: 'body', required: true, maxlength: 10000, rows: 5, testid: 'newpost-body' });
  const submit = h('button', { type: 'submit', class: 'btn', testid: 'newpost-submit' }, 'Submit for review');
  const err = errorBox('newpost-error');
  const ok = noticeBox('newpost-pending-notice');
  const form = h('form', { class: 'stack', testid: 'newpost-form' },
    h('h2', {}, 'Write a post'),
    h('p', { class: 'muted small' }, 'New posts are pending until a moderator approves them.'),
    field('Title', title), field('Text', body), err, ok, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    hide(err, ok);
    try {
      const { post } = await busy(submit, () => api('/posts', { method: 'POST', body: { title: title.value, body: body.value } }));
      form.reset();
      showNotice(ok, 'Thanks! Your post “', post.title, '” is pending: it will appear in the feed once a moderator approves it. ',
        h('a', { href: `#/post/${encodeURIComponent(post.id)}`, testid: 'newpost-link' }, 'View it'));
    } catch (e) {
      showError(err, e);
    }
  });
  return form;
}

export async function feedView(root) {
  const list = h('div', { class: 'stack', testid: 'feed-list' });
  const feed = pager({
    testid: 'feed',
    container: list,
    empty: 'No approved posts yet.',
    load: (cursor) => api('/posts', { query: { cursor, limit: 10 }, auth: false }),
    renderItem: feedItem,
  });
  root.append(h('div', { class: 'grid grid-wide', testid: 'view-feed' },
    h('section', { class: 'card' }, h('h1', {}, 'Feed'), list, feed.controls),
    h('section', { class: 'card' }, session.signedIn ? newPostForm()
      : h('p', {}, h('a', { href: '#/login' }, 'Log in'), ' to write posts and comments.'))));
  await feed.reload();
}

export function commentItem(c) {
  return h('li', { class: 'comment', testid: 'comment-item', 'data-comment-id': c.id },
    h('p', { class: 'muted small' }, h('strong', {}, c.author_username), ' · ', time(c.created_at)),
    h('p', { class: 'post-text', testid: 'comment-body' }, c.body));
}

// `path`: where comments of this item are posted (posts by default; photos use it too).
export function commentForm(post, list, countEl, comments, path = `/posts/${encodeURIComponent(post.id)}/comments`) {
  const body = h('textarea', { name: 'body', required: true, maxlength: 2000, rows: 3, testid: 'comment-body-input' });
  const submit = h('button', { type: 'submit', class: 'btn', testid: 'comment-submit' }, 'Comment');
  const err = errorBox('comment-error');
  const form = h('form', { class: 'stack', testid: 'comment-form' }, field('Add a comment', body), err, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    hide(err);
    try {
      const { comment } = await busy(submit, () =>
        api(path, { method: 'POST', body: { body: body.value } }));
      form.reset();
      list.append(commentItem(comment));
      comments.added();
      post.comment_count += 1;
      countEl.textContent = String(post.comment_count);
    } catch (e) {
      showError(err, e);
    }
  });
  return form;
}

export async function postView(root, { params }) {
  const [id] = params;
  const section = h('article', { class: 'card', testid: 'view-post' }, h('p', { class: 'muted' }, 'Loading…'));
  root.append(section);
  let post;
  try {
    ({ post } = await api(`/posts/${encodeURIComponent(id)}`));
  } catch (e) {
    const err = errorBox('post-error');
    showError(err, e.status === 404 ? { message: 'This post does not exist or is not visible to you.' } : e);
    setChildren(section, err, h('p', {}, h('a', { href: '#/feed' }, '← Back to the feed')));
    return;
  }

  const list = h('ol', { class: 'comments', testid: 'comment-list' });
  const countEl = h('span', { testid: 'comment-count' }, String(post.comment_count));
  const comments = pager({
    testid: 'comments',
    container: list,
    empty: 'No comments yet.',
    load: (cursor) => api(`/posts/${encodeURIComponent(post.id)}/comments`, { query: { cursor, limit: 50 } }),
    renderItem: commentItem,
  });

  setChildren(section,
    h('p', {}, h('a', { href: '#/feed' }, '← Feed')),
    h('h1', { testid: 'post-title' }, post.title),
    h('p', { class: 'muted small' }, 'by ', h('strong', { testid: 'post-author' }, post.author_username), ' · ', time(post.created_at)),
    post.status !== 'approved' ? h('div', { class: 'alert alert-warn', testid: 'post-status' },
      h('span', { class: `badge badge-${post.status}` }, post.status), ' ', STATUS_TEXT[post.status] || '',
      post.moderation && post.moderation.reason ? h('span', {}, ' Reason: ', post.moderation.reason) : null) : null,
    h('div', { class: 'post-text post-body', testid: 'post-body' }, post.body),
    post.status === 'approved' ? h('section', { class: 'comments-section' },
      h('h2', {}, 'Comments (', countEl, ')'),
      list, comments.controls,
      session.signedIn ? commentForm(post, list, countEl, comments)
        : h('p', {}, h('a', { href: '#/login' }, 'Log in'), ' to comment.')) : null);
  // Comments exist only on approved posts.
  if (post.status === 'approved') await comments.reload();
}
