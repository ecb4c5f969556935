import { api } from '../api.js';
import { h, field, showNotice, pager, time } from '../dom.js';
import { session } from '../session.js';
import { reviewForm } from '../forms.js';
import { itemPage, moderationKind, statusNotice } from './content.js';
import { photoPicker, photoStrip } from './photos.js';

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
    h('p', { class: 'post-text', testid: 'feed-item-body' }, excerpt(post.body)),
    photoStrip(post.photos));
}

function newPostForm() {
  const title = h('input', { name: 'title', required: true, maxlength: 200, testid: 'newpost-title' });
  const body = h('textarea', { name: 'body', required: true, maxlength: 10000, rows: 5, testid: 'newpost-body' });
  const picker = photoPicker();
  picker.reload();
  const form = reviewForm({
    prefix: 'newpost',
    noticeTestid: 'newpost-pending-notice',
    heading: 'Write a post',
    hint: 'New posts are pending until a moderator approves them.',
    fields: [field('Title', title), field('Text', body), picker.element],
    submitLabel: 'Submit for review',
    send: () => api('/posts', { method: 'POST',
      body: { title: title.value, body: body.value, photo_ids: picker.ids() } }),
    done: ({ post }, notice) => {
      picker.reload();
      showNotice(notice, 'Thanks! Your post “', post.title,
        '” is pending: it will appear in the feed once a moderator approves it',
        post.photos.length ? ', with its photos' : '', '. ',
        h('a', { href: `#/post/${encodeURIComponent(post.id)}`, testid: 'newpost-link' }, 'View it'));
    },
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

export function postView(root, { params }) {
  return itemPage(root, {
    kind: 'post',
    path: `/posts/${encodeURIComponent(params[0])}`,
    back: ['#/feed', 'feed'],
    render: (post) => [
      h('h1', { testid: 'post-title' }, post.title),
      h('p', { class: 'muted small' }, 'by ', h('strong', { testid: 'post-author' }, post.author_username), ' · ',
        time(post.created_at)),
      statusNotice(post, 'post-status'),
      h('div', { class: 'post-text post-body', testid: 'post-body' }, post.body),
      photoStrip(post.photos, { large: true }),
    ],
  });
}

export const postModeration = moderationKind('post', 'Posts', {
  testids: ['mod-item', 'mod-list', 'mod'], publicIn: 'public feed', who: (post) => post.author_username,
  content: (post) => [
    h('h2', { testid: 'mod-title' }, h('a', { href: `#/post/${encodeURIComponent(post.id)}` }, post.title)),
    h('div', { class: 'post-text post-body', testid: 'mod-body' }, post.body),
    // Approving the post approves these (its pending photos) too.
    post.photos.length ? h('p', { class: 'muted small' }, 'Its photos (approved with it):') : null,
    photoStrip(post.photos, { testid: 'mod-post-photos' }),
  ],
});
