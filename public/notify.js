// Settings → Notifications: turns push on and off for this browser. Loaded by that page
// only, so no other page (the public booking page least of all) downloads push code.
// The buttons and status line are the page's (`data-push`, `data-push-status`); the page
// reloads after a change so its device list shows the server's view.
(function () {
  'use strict';
  if (window.calentoPush) return;
  window.calentoPush = true;

  function panel() { return document.querySelector('[data-testid="push-panel"]'); }

  function say(text) {
    const status = document.querySelector('[data-push-status]');
    if (status) status.textContent = text;
  }

  function keyBytes(base64url) {
    const text = atob(base64url.replace(/-/g, '+').replace(/_/g, '/') + '==='.slice((base64url.length + 3) % 4));
    return Uint8Array.from(text, (c) => c.charCodeAt(0));
  }

  async function fingerprint(endpoint) {
    const digest = await crypto.subtle.digest('SHA-256', new TextEncoder().encode(endpoint));
    return Array.from(new Uint8Array(digest).slice(0, 8), (b) => b.toString(16).padStart(2, '0')).join('');
  }

  function deviceLabel() {
    const ua = navigator.userAgent;
    const browser = /Edg\//.test(ua) ? 'Edge' : /Firefox\//.test(ua) ? 'Firefox' : /Chrome\//.test(ua) ? 'Chrome'
      : /Safari\//.test(ua) ? 'Safari' : 'Browser';
    const system = /Android/.test(ua) ? 'Android' : /iPhone|iPad/.test(ua) ? 'iOS' : /Mac OS X/.test(ua) ? 'macOS'
      : /Windows/.test(ua) ? 'Windows' : /Linux/.test(ua) ? 'Linux' : '';
    return system ? browser + ' on ' + system : browser;
  }

  async function post(fn, fields) {
    const response = await fetch('/fn/' + fn, {
      method: 'POST', body: new URLSearchParams(fields), credentials: 'same-origin',
    });
    if (!response.ok) {
      let message = 'The server said no (' + response.status + ').';
      try { message = (await response.json()).message || message; } catch (_) { /* not JSON */ }
      throw new Error(message);
    }
  }

  async function refresh() {
    const here = panel();
    if (!here) return;
    const on = here.querySelector('[data-push="on"]');
    const off = here.querySelector('[data-push="off"]');
    if (!('serviceWorker' in navigator) || !('PushManager' in window) || !here.dataset.vapidKey) {
      say('This browser cannot receive push notifications' +
        (window.isSecureContext ? '.' : ' from an address without https.'));
      return;
    }
    const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    const subscription = await registration.pushManager.getSubscription();
    const known = (here.dataset.known || '').split(' ');
    const mine = subscription && known.includes(await fingerprint(subscription.endpoint));
    if (on) on.hidden = !!mine;
    if (off) off.hidden = !mine;
    if (Notification.permission === 'denied') {
      say('Notifications are blocked for this site in the browser settings.');
      if (on) on.disabled = true;
    } else if (mine) {
      say('This browser receives push notifications.');
      here.dataset.state = 'on';
    } else {
      say('Push is off for this browser.');
      here.dataset.state = 'off';
    }
  }

  async function turnOn() {
    const here = panel();
    const permission = await Notification.requestPermission();
    if (permission !== 'granted') {
      say('Notifications were not allowed, so push stays off.');
      return;
    }
    const registration = await navigator.serviceWorker.register('/sw.js', { scope: '/' });
    await navigator.serviceWorker.ready;
    let subscription = await registration.pushManager.getSubscription();
    if (!subscription) {
      subscription = await registration.pushManager.subscribe({
        userVisibleOnly: true, applicationServerKey: keyBytes(here.dataset.vapidKey),
      });
    }
    const json = subscription.toJSON();
    await post('subscribe_push', {
      endpoint: json.endpoint, p256dh: json.keys.p256dh, auth: json.keys.auth, label: deviceLabel(),
    });
    location.reload();
  }

  async function turnOff() {
    const registration = await navigator.serviceWorker.getRegistration('/');
    const subscription = registration && (await registration.pushManager.getSubscription());
    if (subscription) {
      await post('unsubscribe_push', { device: subscription.endpoint }).catch(() => {});
      await subscription.unsubscribe();
    }
    location.reload();
  }

  document.addEventListener('click', (event) => {
    const button = event.target.closest && event.target.closest('[data-push]');
    if (!button) return;
    event.preventDefault();
    button.disabled = true;
    (button.dataset.push === 'on' ? turnOn() : turnOff())
      .catch((error) => say('Push could not be changed: ' + error.message))
      .finally(() => { button.disabled = false; });
  });

  // The panel is drawn by the page after its settings load, and drawn again after each
  // save: bring every new one up to date.
  let shown = null;
  function check() {
    const here = panel();
    if (here && here !== shown) {
      shown = here;
      refresh().catch((error) => say('Push is unavailable: ' + error.message));
    }
  }
  new MutationObserver(check).observe(document.body, { childList: true, subtree: true });
  check();
})();
