/* Suara Warga kiosk service worker, version {{ version }}: keeps the page and its assets so
   the kiosk starts and runs with no network. The API is never cached. A new version waits
   until the page, its queue empty, asks it to take over (see queue.js). */
'use strict';
var CACHE = 'kiosk-{{ version }}';
var PAGE = '/kiosk/';
var ASSETS = [PAGE].concat({{ assets|tojson }}.map(function (name) { return PAGE + name; }));

self.addEventListener('install', function (event) {
  event.waitUntil(caches.open(CACHE).then(function (cache) {
    return cache.addAll(ASSETS.map(function (url) {
      return new Request(url, {cache: 'no-cache', credentials: 'omit'});
    }));
  }));
});

self.addEventListener('activate', function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf('kiosk-') === 0 && name !== CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }));
});

self.addEventListener('message', function (event) {
  if (event.data === 'skipWaiting') self.skipWaiting();
});

self.addEventListener('fetch', function (event) {
  var request = event.request;
  var url = new URL(request.url);
  if (request.method !== 'GET' || url.origin !== location.origin) return;
  var key = request.mode === 'navigate' && url.pathname === PAGE ? PAGE
    : ASSETS.indexOf(url.pathname) >= 0 ? url.pathname : null;
  if (!key) return; // the API and anything else: the network, never a cache
  event.respondWith(caches.open(CACHE).then(function (cache) {
    return cache.match(key, {ignoreVary: true}).then(function (hit) {
      return hit || fetch(request);
    });
  }));
});
