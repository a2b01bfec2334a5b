// Registers Calento's service worker (/sw.js) on the app's pages: it shows push
// notifications and keeps the last loaded Today, Tasks, Calendar and Focus pages for
// opening without a connection. Invitees' pages never load this.
'use strict';
if ('serviceWorker' in navigator && window.isSecureContext) {
  window.addEventListener('load', () => {
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => { /* private mode, or blocked */ });
  });
}
