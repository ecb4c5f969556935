import { api, API_BASE, token } from '../api.js';
import { h, field, errorBox, showError, showNotice, hide, busy, pager, time } from '../dom.js';
import { session } from '../session.js';
import { reviewForm } from '../forms.js';
import { itemPage, moderationKind, statusNotice } from './content.js';

const MAX_BYTES = 10 * 1024 * 1024;
const ACCEPT = 'image/jpeg,image/png,image/webp';

const enc = encodeURIComponent;

// An <img> of a photo's image or thumbnail. Approved photos are public URLs
// (cached by the browser); pending and rejected ones need the token, so they
// are fetched with it and shown from a blob: URL.
export function photoImg(photo, kind = 'thumbnail', props = {}) {
  const url = `${API_BASE}${kind === 'image' ? photo.image_url : photo.thumbnail_url}`;
  const img = h('img', { alt: photo.caption || `Photo by ${photo.owner_username}`, loading: 'lazy', ...props });
  if (photo.status === 'approved') {
    img.src = url;
    return img;
  }
  const bearer = token.get();
  fetch(url, { headers: bearer ? { Authorization: `Bearer ${bearer}` } : {}, credentials: 'omit', cache: 'no-store' })
    .then((res) => (res.ok ? res.blob() : Promise.reject(new Error(`HTTP ${res.status}`))))
    .then((blob) => {
      const objectUrl = URL.createObjectURL(blob);
      img.addEventListener('load', () => URL.revokeObjectURL(objectUrl), { once: true });
      img.src = objectUrl;
    })
    .catch(() => img.classList.add('photo-missing'));
  return img;
}

function tagLinks(tags) {
  return h('span', { class: 'tags', testid: 'photo-tags' },
    tags.map((t) => h('a', { href: `#/photos/tag/${enc(t)}`, class: 'tag', testid: 'photo-tag' }, `#${t}`)));
}

// Machine labels (set by the server's detector, never by users): a badge each, linking to the zone.
export function labelBadges(photo) {
  const labels = photo.labels || [];
  if (!labels.length) return null;
  return h('span', { class: 'labels', testid: 'photo-labels' },
    labels.map((l) => h('a', { href: l.name === 'cat' ? '#/cats' : null, class: 'badge badge-label', testid: 'photo-label',
      title: `Recognised by ${l.by}` }, l.name === 'cat' ? '🐱 cat' : l.name)));
}

// A post's photos: thumbnails linking to each photo (`large`: the images themselves).
export function photoStrip(photos, { large = false, testid = 'post-photos' } = {}) {
  if (!photos || !photos.length) return null;
  return h('div', { class: `post-photos${large ? ' post-photos-large' : ''}`, testid },
    photos.map((photo) => h('a', { href: `#/photo/${enc(photo.id)}`, class: 'post-photo', testid: 'post-photo',
      'data-photo-id': photo.id }, photoImg(photo, large ? 'image' : 'thumbnail'))));
}

// Checkboxes over the caller's own photos (newest 24), up to `max`, in the order ticked.
export function photoPicker(max = 4) {
  const chosen = [];
  const grid = h('div', { class: 'photo-grid photo-grid-small', testid: 'photo-picker' });
  const note = h('small', { class: 'hint', testid: 'photo-picker-note' }, `Up to ${max}, shown in the order you tick them.`);
  function update() {
    for (const box of grid.querySelectorAll('input[type=checkbox]')) {
      const at = chosen.indexOf(box.value);
      box.disabled = at < 0 && chosen.length >= max;
      box.closest('label').querySelector('.pick-order').textContent = at < 0 ? '' : String(at + 1);
    }
  }
  function tile(photo) {
    const box = h('input', { type: 'checkbox', value: photo.id, testid: 'photo-pick' });
    box.addEventListener('change', () => {
      const at = chosen.indexOf(photo.id);
      if (box.checked && at < 0) chosen.push(photo.id);
      if (!box.checked && at >= 0) chosen.splice(at, 1);
      update();
    });
    return h('label', { class: 'photo-tile photo-pick', 'data-photo-id': photo.id },
      photoImg(photo, 'thumbnail'), h('span', { class: 'small' }, box, ' ',
        h('span', { class: `badge badge-${photo.status}` }, photo.status), ' ', h('strong', { class: 'pick-order' })));
  }
  const element = h('div', { class: 'field' }, h('span', { class: 'field-label' }, 'Photos (optional, from My photos)'),
    grid, note);
  return {
    element,
    ids: () => [...chosen],
    async reload() {
      chosen.length = 0;
      grid.replaceChildren();
      try {
        const page = await api('/photos/mine', { query: { limit: 24 } });
        const usable = page.items.filter((p) => p.status !== 'rejected');
        if (!usable.length) grid.append(h('p', { class: 'muted small' }, 'Upload photos on the Photos page to add them here.'));
        for (const photo of usable) grid.append(tile(photo));
      } catch (err) {
        grid.append(h('p', { class: 'muted small' }, `Could not load your photos: ${err.message}`));
      }
    },
  };
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

// One tile of a grid: the caption, then who (or, for the caller's own, the status) and
// the comment count. The meta parts are separate spans whose "·" comes with the part
// after it (css: .dots), so a wrapped line never ends in a dangling "·".
function galleryItem(photo, own = false) {
  const meta = [
    own ? h('span', { class: `badge badge-${photo.status}`, testid: 'gallery-status' }, photo.status)
      : h('a', { href: `#/photos/by/${enc(photo.owner_username)}` }, photo.owner_username),
    photo.comment_count ? h('span', {}, plural(photo.comment_count, 'comment')) : null,
  ];
  return h('figure', { class: 'photo-tile', testid: 'gallery-item', 'data-photo-id': photo.id },
    h('a', { href: `#/photo/${enc(photo.id)}`, testid: 'gallery-link' },
      photoImg(photo, 'thumbnail', { testid: 'gallery-thumb' })),
    h('figcaption', { class: 'small' },
      photo.caption ? h('span', { class: 'tile-caption', testid: 'gallery-caption', title: photo.caption },
        photo.caption) : null,
      h('span', { class: 'dots', testid: 'gallery-meta' }, meta),
      labelBadges(photo)));
}

function uploadForm(onUploaded) {
  const file = h('input', { type: 'file', name: 'image', accept: ACCEPT, required: true, testid: 'upload-file' });
  const caption = h('textarea', { name: 'caption', maxlength: 500, rows: 2, testid: 'upload-caption' });
  const tags = h('input', { name: 'tags', placeholder: 'sunset, beach', autocomplete: 'off', testid: 'upload-tags' });
  const preview = h('img', { class: 'photo-preview', alt: 'Preview of the chosen image', hidden: true, testid: 'upload-preview' });
  let previewUrl = null;
  file.addEventListener('change', () => {
    if (previewUrl) URL.revokeObjectURL(previewUrl);
    const chosen = file.files[0];
    previewUrl = chosen ? URL.createObjectURL(chosen) : null;
    preview.hidden = !previewUrl;
    if (previewUrl) preview.src = previewUrl;
    else preview.removeAttribute('src');
  });
  return reviewForm({
    prefix: 'upload',
    noticeTestid: 'upload-notice',
    heading: 'Upload a photo',
    hint: 'JPEG, PNG or WebP up to 10 MiB. The server re-encodes it and removes all metadata (GPS position included). It is pending until a moderator approves it.',
    fields: [field('Image', file), preview,
      field('Caption (optional)', caption), field('Tags (optional)', tags, 'Comma-separated, up to 10: a-z, 0-9 and _')],
    submitLabel: 'Upload for review',
    send: () => {
      const chosen = file.files[0];
      if (!chosen) throw new Error('Choose an image.');
      if (chosen.size > MAX_BYTES) throw new Error('The image is larger than 10 MiB.');
      const data = new FormData();
      data.append('image', chosen);
      data.append('caption', caption.value);
      data.append('tags', tags.value);
      return api('/photos', { method: 'POST', form: data });
    },
    done: ({ photo }, notice) => {
      file.dispatchEvent(new Event('change'));
      showNotice(notice, 'Uploaded. It will appear in the gallery once a moderator approves it. ',
        h('a', { href: `#/photo/${enc(photo.id)}`, testid: 'upload-link' }, 'View it'));
      if (onUploaded) onUploaded(photo);
    },
  });
}

async function galleryView(root, { tag, owner, label } = {}) {
  const grid = h('div', { class: 'photo-grid', testid: 'gallery-grid' });
  const gallery = pager({
    testid: 'gallery',
    container: grid,
    empty: label ? 'No approved photo of a cat yet.' : 'No approved photos here yet.',
    load: (cursor) => api('/photos', { query: { tag, owner, label, cursor, limit: 24 }, auth: false }),
    renderItem: (photo) => galleryItem(photo),
  });
  const title = label === 'cat' ? 'Cats' : tag ? `Photos tagged #${tag}` : owner ? `Photos by ${owner}` : 'Photos';
  const side = h('section', { class: 'card stack' });
  let mine = null;
  if (session.signedIn) {
    const mineGrid = h('div', { class: 'photo-grid photo-grid-small', testid: 'mine-grid' });
    mine = pager({
      testid: 'mine',
      container: mineGrid,
      empty: 'You have not uploaded any photo yet.',
      load: (cursor) => api('/photos/mine', { query: { cursor, limit: 12 } }),
      renderItem: (photo) => galleryItem(photo, true),
    });
    side.append(uploadForm(() => mine.reload()), h('h2', {}, 'My photos'), mineGrid, mine.controls);
  } else {
    side.append(h('p', {}, h('a', { href: '#/login' }, 'Log in'), ' to upload photos and comment.'));
  }
  root.append(h('div', { class: 'grid grid-wide', testid: 'view-gallery' },
    h('section', { class: 'card' }, h('h1', { testid: 'gallery-title' }, title),
      label === 'cat' ? h('p', { class: 'muted small', testid: 'cats-hint' },
        'Approved photos in which the server’s detector (OpenCV’s cat-face cascade) found a cat’s face.') : null,
      tag || owner || label ? h('p', {}, h('a', { href: '#/photos' }, '← All photos')) : null,
      grid, gallery.controls),
    side));
  await Promise.all([gallery.reload(), mine ? mine.reload() : null]);
}

export const photosView = (root) => galleryView(root);
export const tagPhotosView = (root, { params }) => galleryView(root, { tag: params[0] });
export const ownerPhotosView = (root, { params }) => galleryView(root, { owner: params[0] });
export const catsView = (root) => galleryView(root, { label: 'cat' });

function deleteButton(photo, navigate) {
  const button = h('button', { type: 'button', class: 'btn btn-danger', testid: 'photo-delete' }, 'Delete photo');
  const err = errorBox('photo-delete-error');
  button.addEventListener('click', async () => {
    if (!window.confirm('Delete this photo and its comments?')) return;
    hide(err);
    try {
      await busy(button, () => api(`/photos/${enc(photo.id)}`, { method: 'DELETE' }));
      navigate('#/photos');
    } catch (e) {
      showError(err, e);
    }
  });
  return h('div', { class: 'stack item-actions' }, err, button);
}

export function photoView(root, { params, navigate }) {
  return itemPage(root, {
    kind: 'photo',
    path: `/photos/${enc(params[0])}`,
    back: ['#/photos', 'photos'],
    render: (photo) => {
      const mayDelete = session.signedIn && (session.isAdmin || session.user.id === photo.owner_id);
      return [
        h('figure', { class: 'photo-full' }, photoImg(photo, 'image', { testid: 'photo-image', loading: null }),
          photo.caption ? h('figcaption', { class: 'post-text', testid: 'photo-caption' }, photo.caption) : null),
        h('p', { class: 'muted small' }, 'by ',
          h('a', { href: `#/photos/by/${enc(photo.owner_username)}`, testid: 'photo-owner' }, photo.owner_username),
          ' · ', time(photo.created_at), ' · ', `${photo.width}×${photo.height}`, ' ', tagLinks(photo.tags), ' ',
          labelBadges(photo)),
        statusNotice(photo, 'photo-status'),
        mayDelete ? deleteButton(photo, navigate) : null,
      ];
    },
  });
}

// What the admin moderation screen shows of a photo (see views/admin.js).
export const photoModeration = moderationKind('photo', 'Photos', {
  testids: ['mod-photo-item', 'mod-photo-list', 'mod-photos'], publicIn: 'public gallery', who: (photo) => photo.owner_username,
  content: (photo) => [
    h('a', { href: `#/photo/${enc(photo.id)}`, class: 'photo-mod-thumb' }, photoImg(photo, 'thumbnail', { testid: 'mod-photo-thumb' })),
    h('p', { class: 'post-text', testid: 'mod-caption' }, photo.caption),
    tagLinks(photo.tags), labelBadges(photo),
  ],
});
