// Messages: the caller's conversations, one thread, a send box.
// New messages arrive through message-source.js (polling now, live later);
// every user-written string goes into the page as a text node (dom.js).
import { api } from '../api.js';
import { h, field, errorBox, showError, hide, busy, time, setChildren } from '../dom.js';
import { session } from '../session.js';
import { subscribeConversations, subscribeMessages } from '../message-source.js';
import { textForm } from '../forms.js';

function otherMember(conv) {
  const me = session.user && session.user.id;
  const i = conv.member_ids.findIndex((id) => id !== me);
  return i >= 0 ? conv.members[i] : conv.members[0];
}

function conversationItem(conv, selectedId) {
  const selected = conv.id === selectedId;
  return h('li', { class: selected ? 'conv-item selected' : 'conv-item', testid: 'conv-item', 'data-conversation-id': conv.id },
    h('a', { href: `#/messages/${encodeURIComponent(conv.id)}`, 'aria-current': selected ? 'true' : null, testid: 'conv-link' },
      h('strong', { testid: 'conv-with' }, otherMember(conv))),
    h('span', { class: 'muted small' }, ` · ${conv.message_count} message${conv.message_count === 1 ? '' : 's'}`,
      conv.last_message_at ? ' · ' : '', conv.last_message_at ? time(conv.last_message_at) : null));
}

function startForm(navigate) {
  const withInput = h('input', { name: 'with', required: true, maxlength: 32, autocomplete: 'off', testid: 'conv-start-with' });
  const submit = h('button', { type: 'submit', class: 'btn', testid: 'conv-start-submit' }, 'Start');
  const err = errorBox('conv-start-error');
  const form = h('form', { class: 'stack', testid: 'conv-start-form' }, field('Message a user', withInput, 'Their username'), err, submit);
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (submit.disabled) return;
    hide(err);
    try {
      const { conversation } = await busy(submit, () => api('/conversations', { method: 'POST', body: { with: withInput.value.trim() } }));
      navigate(`#/messages/${encodeURIComponent(conversation.id)}`);
    } catch (e) {
      showError(err, e);
    }
  });
  return form;
}

function messageItem(msg) {
  const mine = session.user && msg.author_id === session.user.id;
  return h('li', { class: mine ? 'msg msg-mine' : 'msg', testid: 'thread-message', 'data-seq': msg.seq },
    h('p', { class: 'muted small' }, h('strong', { testid: 'message-author' }, msg.author_username), ' · ', time(msg.created_at)),
    h('p', { class: 'post-text', testid: 'message-body' }, msg.body));
}

// The thread: shows each seq once, in order, whether it came from our send or the source.
function threadView(conversationId, onStop, live) {
  const list = h('ol', { class: 'thread', testid: 'thread', 'aria-live': 'polite' });
  const empty = h('p', { class: 'muted', testid: 'thread-empty' }, 'No messages yet. Say hello!');
  const shown = new Map();  // seq -> element
  const loadErr = errorBox('thread-error');

  function add(items) {
    for (const msg of items) {
      if (shown.has(msg.seq)) continue;
      const el = messageItem(msg);
      const later = [...shown.keys()].filter((s) => s > msg.seq).sort((a, b) => a - b)[0];
      if (later === undefined) list.append(el);
      else list.insertBefore(el, shown.get(later));
      shown.set(msg.seq, el);
      empty.hidden = true;
    }
    if (items.length) list.lastElementChild.scrollIntoView({ block: 'nearest' });
  }

  const { form, body } = textForm({
    label: 'Message',
    submitLabel: 'Send',
    testids: { form: 'message-form', input: 'message-input', submit: 'message-submit', error: 'message-error' },
    send: (text) => api(`/conversations/${encodeURIComponent(conversationId)}/messages`,
      { method: 'POST', body: { body: text } }),
    done: ({ message }) => add([message]),
  });
  body.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) form.requestSubmit();
  });

  onStop(subscribeMessages(conversationId, 0, live((items) => { hide(loadErr); add(items); }),
    live((e) => showError(loadErr, e.status === 404 ? { message: 'This conversation does not exist or is not yours.' } : e))));
  return h('div', { class: 'stack' }, loadErr, empty, list, form);
}

export async function messagesView(root, { params, navigate }) {
  const selectedId = params[0] || null;
  const stops = [];
  const stopAll = () => stops.splice(0).forEach((stop) => stop());
  // Every navigation re-renders the view: stop this one's subscriptions then
  // (and whenever an update finds the view gone from the page).
  window.addEventListener('hashchange', stopAll, { once: true });
  let view = null;
  const live = (fn) => (...args) => (view && !view.isConnected ? stopAll() : fn(...args));

  const convList = h('ul', { class: 'conv-list', testid: 'conv-list' });
  const convEmpty = h('p', { class: 'muted', testid: 'conv-empty', hidden: true }, 'No conversations yet.');
  const convErr = errorBox('conv-error');
  const title = h('h1', { testid: 'thread-title' }, selectedId ? 'Conversation' : 'Messages');
  stops.push(subscribeConversations(live((items) => {
    hide(convErr);
    setChildren(convList, items.map((c) => conversationItem(c, selectedId)));
    convEmpty.hidden = items.length > 0;
    const current = items.find((c) => c.id === selectedId);
    if (current) title.textContent = `With ${otherMember(current)}`;
  }), live((e) => showError(convErr, e))));

  view = h('div', { class: 'grid grid-wide messages', testid: 'view-messages' },
    h('section', { class: 'card' }, title,
      selectedId ? threadView(selectedId, (stop) => stops.push(stop), live)
        : h('p', { class: 'muted', testid: 'thread-none' }, 'Pick a conversation, or start one.')),
    h('section', { class: 'card stack' }, h('h2', {}, 'Conversations'), convErr, convEmpty, convList, startForm(navigate)));
  root.append(view);
}
