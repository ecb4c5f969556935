// The Firebase JS SDK pieces the demo client uses, bundled by esbuild into
// client_demo/vendor/firebase-live.js (`npm run build:client`). Reads only:
// the browser never writes Firestore; every change goes through the API.
import { initializeApp } from 'firebase/app';
import {
  connectAuthEmulator, createUserWithEmailAndPassword, getAuth, inMemoryPersistence,
  setPersistence, signInWithCustomToken, signInWithEmailAndPassword, signOut,
} from 'firebase/auth';
import {
  collection, connectFirestoreEmulator, doc, getFirestore, limit, onSnapshot, orderBy, query, where,
} from 'firebase/firestore';

let services = null;

// config: GET /api/v1/client-config. Idempotent: one Firebase app per page.
export function connect(config) {
  if (services) return services;
  const app = initializeApp({
    apiKey: config.firebase_api_key,
    authDomain: config.firebase_auth_domain,
    projectId: config.project_id,
  });
  const auth = getAuth(app);
  if (config.auth_emulator_url) connectAuthEmulator(auth, config.auth_emulator_url, { disableWarnings: true });
  const db = getFirestore(app);
  if (config.firestore_emulator_url) {
    const url = new URL(config.firestore_emulator_url);
    connectFirestoreEmulator(db, url.hostname, Number(url.port));
  }
  // The API session lives in sessionStorage; the Firebase one no longer than the page.
  services = { auth, db, ready: setPersistence(auth, inMemoryPersistence) };
  return services;
}

export async function signInWithApiToken(customToken) {
  await services.ready;
  return (await signInWithCustomToken(services.auth, customToken)).user.uid;
}

// Email/password at Firebase Auth; returns the ID token to exchange at POST /auth/firebase.
export async function signInWithEmail(email, password, create) {
  await services.ready;
  const fn = create ? createUserWithEmailAndPassword : signInWithEmailAndPassword;
  const cred = await fn(services.auth, email, password);
  return cred.user.getIdToken();
}

export async function signOutFirebase() {
  if (services) await signOut(services.auth);
}

function plain(snapshot) {
  const data = snapshot.data();
  for (const [key, value] of Object.entries(data)) {
    if (value && typeof value.toDate === 'function') data[key] = value.toDate().toISOString();
  }
  return { id: snapshot.id, ...data };
}

// Each watch returns an unsubscribe function. Every query is constrained to the
// caller's own documents, as the security rules demand.
export function watchAccount(uid, onData, onError) {
  return onSnapshot(doc(services.db, 'accounts', uid), (s) => s.exists() && onData(plain(s)), onError);
}

export function watchTransfers(uid, count, onData, onError) {
  const q = query(collection(services.db, 'transfers'), where('parties', 'array-contains', uid),
    orderBy('created_at', 'desc'), limit(count));
  return onSnapshot(q, (s) => onData(s.docs.map(plain)), onError);
}

export function watchPostings(uid, count, onData, onError) {
  const q = query(collection(services.db, 'postings'), where('owner_id', '==', uid),
    orderBy('seq', 'desc'), limit(count));
  return onSnapshot(q, (s) => onData(s.docs.map(plain)), onError);
}

export function watchConversations(uid, count, onData, onError) {
  const q = query(collection(services.db, 'conversations'), where('member_ids', 'array-contains', uid),
    orderBy('activity_at', 'desc'), limit(count));
  return onSnapshot(q, (s) => onData(s.docs.map(plain)), onError);
}

// Messages with seq > after, oldest first; each one once (only additions are passed on).
export function watchMessages(conversationId, after, onAdded, onError) {
  const q = query(collection(services.db, 'conversations', conversationId, 'messages'),
    where('seq', '>', after), orderBy('seq'));
  return onSnapshot(q, (s) => {
    const added = s.docChanges().filter((c) => c.type === 'added').map((c) => plain(c.doc));
    if (added.length) onAdded(added.sort((a, b) => a.seq - b.seq));
  }, onError);
}
