// Calento's service worker: shows push notifications (also when no Calento tab is open),
// opens the right page when one is clicked, and keeps the last loaded Today, Tasks and
// Calendar pages (and the files they need) so the app opens without a connection.
// Registered by /notify.js (Settings → Notifications) and by signed-in pages.
'use strict';

const PAGES = 'calento-pages-v1';
const FILES = 'calento-files-v1';
// Pages worth opening offline: the start page and what people look at on the go.
const KEPT = [/^\/today$/, /^\/tasks$/, /^\/calendar$/, /^\/focus$/];

self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let message = {};
  try {
    message = event.data ? event.data.json() : {};
  } catch (_) {
    message = { title: 'Calento', body: event.data ? event.data.text() : '' };
  }
  const title = message.title || 'Calento';
  const options = {
    body: message.body || '',
    tag: message.tag || undefined,
    data: { url: message.url || '/today', kind: message.kind || '' },
    icon: '/icons/icon-192.png',
    badge: '/icons/icon-192.png',
    // A reminder stays until it is seen.
    requireInteraction: message.kind === 'event_reminder',
  };
  event.waitUntil(self.registration.showNotification(title, options));
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const target = new URL((event.notification.data && event.notification.data.url) || '/today', self.location.origin);
  // Only our own pages open from a notification.
  const url = target.origin === self.location.origin ? target.href : self.location.origin + '/today';
  event.waitUntil((async () => {
    const windows = await self.clients.matchAll({ type: 'window', includeUncontrolled: true });
    for (const client of windows) {
      if (new URL(client.url).origin === self.location.origin && 'focus' in client) {
        await client.focus();
        if ('navigate' in client) await client.navigate(url);
        return;
      }
    }
    await self.clients.openWindow(url);
  })());
});

// The push service replaced the subscription: subscribe again with the same key and tell
// the server (the old one is forgotten when it answers 410).
self.addEventListener('pushsubscriptionchange', (event) => {
  event.waitUntil((async () => {
    const old = event.oldSubscription;
    const key = old && old.options && old.options.applicationServerKey;
    if (!key) return;
    const fresh = event.newSubscription ||
      (await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }));
    const json = fresh.toJSON();
    const body = new URLSearchParams({
      endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth, label: 'Renewed subscription',
    });
    await fetch('/fn/subscribe_push', { method: 'POST', body, credentials: 'same-origin' });
  })());
});

function offlineBanner(html, savedAt) {
  const when = new Date(Number(savedAt) || Date.now());
  const text = 'You are offline. This is this page as it was at ' +
    when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' }) + ' on ' + when.toLocaleDateString() +
    '; it may be out of date.';
  const banner = '<div class="offline-banner" role="status" data-testid="offline-banner">' +
    text.replace(/&/g, '&amp;').replace(/</g, '&lt;') + '</div>';
  return html.replace(/<\/body>/i, banner + '</body>');
}

async function pageFromNetwork(request, url) {
  try {
    const response = await fetch(request);
    if (response.ok && KEPT.some((re) => re.test(url.pathname)) && !response.redirected) {
      const copy = response.clone();
      const body = await copy.text();
      const headers = new Headers(copy.headers);
      headers.set('x-calento-saved-at', String(Date.now()));
      const cache = await caches.open(PAGES);
      await cache.put(url.pathname, new Response(body, { status: 200, headers }));
    }
    return response;
  } catch (error) {
    const cache = await caches.open(PAGES);
    const saved = (await cache.match(url.pathname)) || (await cache.match('/today'));
    if (!saved) throw error;
    const html = offlineBanner(await saved.text(), saved.headers.get('x-calento-saved-at'));
    const headers = new Headers(saved.headers);
    headers.delete('content-length');
    return new Response(html, { status: 200, headers });
  }
}

// The network first (the browser's own cache still applies), the copy kept here when there
// is no network.
async function fileFromNetwork(request) {
  const cache = await caches.open(FILES);
  try {
    const response = await fetch(request);
    if (response.ok) await cache.put(request, response.clone());
    return response;
  } catch (error) {
    const found = await cache.match(request);
    if (found) return found;
    throw error;
  }
}

self.addEventListener('fetch', (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  // Signing out forgets the pages kept for offline use (they show the account's data).
  if (request.method === 'POST' && url.pathname === '/fn/logout') {
    event.waitUntil(caches.delete(PAGES));
    return;
  }
  if (request.method !== 'GET') return;
  if (request.mode === 'navigate') {
    event.respondWith(pageFromNetwork(request, url));
  } else if (url.pathname.startsWith('/pkg/') || url.pathname.startsWith('/icons/') || url.pathname === '/favicon.svg') {
    event.respondWith(fileFromNetwork(request));
  }
});
