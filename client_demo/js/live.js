// Live reads: the browser signs in to Firebase with a custom token from the API
// (uid = our user id) and listens to its own documents in Firestore. Writes
// still go only through the API; the security rules refuse everything else.
import { api, ApiError } from './api.js';
import { setMessageSource } from './message-source.js';
import { session } from './session.js';
import * as firebase from '../vendor/firebase-live.js';

let configPromise = null;
let liveUid = null;
const watches = new Set();

async function connect() {
  if (!configPromise) {
    configPromise = api('/client-config', { auth: false }).catch((err) => {
      configPromise = null;
      throw err;
    });
  }
  return firebase.connect(await configPromise);
}

// After our own sign-in: the same user in Firebase, so the rules let it read its data.
export async function startLive(userId) {
  await connect();
  if (liveUid === userId) return;
  const { custom_token: customToken } = await api('/auth/firebase-token', { method: 'POST' });
  liveUid = await firebase.signInWithApiToken(customToken);
}

export async function stopLive() {
  stopWatches();
  liveUid = null;
  await firebase.signOutFirebase();
}

// "Sign in with Firebase": an email/password user of Firebase Auth; returns its ID token.
export async function firebaseIdToken(email, password, create) {
  await connect();
  return firebase.signInWithEmail(email, password, create);
}

function track(unsubscribe) {
  watches.add(unsubscribe);
  return unsubscribe;
}

// Called before each view renders: listeners belong to the view that started them.
export function stopWatches() {
  for (const unsubscribe of watches) unsubscribe();
  watches.clear();
}

export function watchAccount(onData, onError) {
  return track(firebase.watchAccount(liveUid, onData, onError));
}

export function watchTransfers(count, onData, onError) {
  return track(firebase.watchTransfers(liveUid, count, onData, onError));
}

export function watchPostings(count, onData, onError) {
  return track(firebase.watchPostings(liveUid, count, onData, onError));
}

// A listener that can only start once this page is signed in to Firebase.
function afterSignIn(subscribe, onError) {
  let stopped = false;
  let unsubscribe = null;
  startLive(session.user.id).then(() => {
    if (!stopped) unsubscribe = subscribe();
  }, (err) => {
    if (!stopped && onError) onError(err);
  });
  return () => {
    stopped = true;
    if (unsubscribe) unsubscribe();
  };
}

// The rules refuse what is not the caller's; the API calls that 404 (not found or not yours).
function asApiRefusal(onError) {
  return (err) => onError(err && err.code === 'permission-denied'
    ? new ApiError(404, 'not_found', 'Not found.') : err);
}

// The Messages screen's source (message-source.js): Firestore listeners instead of polling.
setMessageSource({
  messages: (conversationId, after, onMessages, onError) => afterSignIn(
    () => firebase.watchMessages(conversationId, after, onMessages, asApiRefusal(onError)), onError),
  conversations: (onConversations, onError) => afterSignIn(
    () => firebase.watchConversations(liveUid, 50, onConversations, onError), onError),
});
