// Where new messages and conversation changes come from.
//
// Now: polling the API every few seconds. A live source (Firestore listeners,
// once the page is signed in to Firebase) can replace it with
// setMessageSource({ messages, conversations }) without touching the screen:
//   messages(conversationId, after, onMessages, onError) -> unsubscribe
//     calls onMessages(items) with messages of seq > after, oldest first,
//     each at most once, in seq order;
//   conversations(onConversations, onError) -> unsubscribe
//     calls onConversations(items), most recent activity first.
import { api } from './api.js';

export const POLL_MS = 2500;

function poller(tick, intervalMs) {
  let stopped = false;
  let timer = null;
  async function run() {
    if (stopped) return;
    await tick(() => stopped);
    if (!stopped) timer = setTimeout(run, intervalMs);
  }
  run();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

function pollMessages(conversationId, after, onMessages, onError, intervalMs = POLL_MS) {
  let last = after;
  const path = `/conversations/${encodeURIComponent(conversationId)}/messages`;
  return poller(async (stopped) => {
    try {
      let page;
      do {
        // `after` = the last seq seen: nothing is missed and nothing comes twice.
        page = await api(path, { query: { after: last, limit: 100 } });
        if (stopped()) return;
        if (page.items.length) {
          last = page.items[page.items.length - 1].seq;
          onMessages(page.items);
        }
      } while (page.next_cursor);
    } catch (err) {
      if (!stopped() && onError) onError(err);
    }
  }, intervalMs);
}

function pollConversations(onConversations, onError, intervalMs = POLL_MS) {
  return poller(async (stopped) => {
    try {
      const page = await api('/conversations', { query: { limit: 50 } });
      if (!stopped()) onConversations(page.items);
    } catch (err) {
      if (!stopped() && onError) onError(err);
    }
  }, intervalMs);
}

let source = { messages: pollMessages, conversations: pollConversations };

export function setMessageSource(live) {
  source = { ...source, ...live };
}

export function subscribeMessages(conversationId, after, onMessages, onError) {
  return source.messages(conversationId, after, onMessages, onError);
}

export function subscribeConversations(onConversations, onError) {
  return source.conversations(onConversations, onError);
}
