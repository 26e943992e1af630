/* Suara Warga kiosk: the answers kept in IndexedDB until the service has them, their sync,
   the heartbeat and the service worker's updates (window.KioskStore, used by kiosk.js).
   ES2017, no framework: it runs in the Chrome of a 2018 Android tablet. */
(function () {
  'use strict';
  var API = '/api/v1/';
  var BATCH = 100;
  var MAX_IDS = 1000;
  var PERIOD = 60000;
  var MAX_BACKOFF = 15 * 60000;
  var TIMEOUT = 60000; // a request that hangs longer is given up (a slow batch on 2G fits)
  var UPDATE_EVERY = 60; // heartbeats between two checks for a new service worker
  var version = document.documentElement.getAttribute('data-version') || '';

  var db = null;
  // kiosk: the id of the kiosk this tablet is paired as; creds: the credentials of kiosks it
  // was paired as before, by id, while answers made there still wait (each answer goes out
  // with the credential of the kiosk it was made on: its counter codes are that unit's).
  var meta = {credential: null, config: null, revoked: false, kiosk: null, creds: {}};
  var counts = {queued: 0, oldest: null, quarantined: 0};
  var counted = false; // counts read from IndexedDB at least once
  var reachable = true;
  var busy = false;
  var listeners = {};
  var syncing = null; // the running sync: one at a time
  var again = false; // a sync was asked for while one ran
  var failures = 0;
  var syncTimer = null;
  var beats = 0;
  var beatOk = false; // the last heartbeat reached the service
  var started = null; // init()'s promise
  var registration = null;
  var hadController = false;
  var reloadPending = false;

  function emit(name, value) {
    (listeners[name] || []).forEach(function (cb) { cb(value); });
  }

  function request(r) {
    return new Promise(function (resolve, reject) {
      r.onsuccess = function () { resolve(r.result); };
      r.onerror = function () { reject(r.error); };
    });
  }

  // Runs fn(stores...) in one transaction; resolves with fn's box once it has COMPLETED.
  function tx(names, mode, fn) {
    return new Promise(function (resolve, reject) {
      var t = db.transaction(names, mode);
      var box = {};
      t.oncomplete = function () { resolve(box.value); };
      t.onerror = t.onabort = function () { reject(t.error || new Error('aborted')); };
      fn.apply(null, names.map(function (n) { return t.objectStore(n); }).concat([box]));
    });
  }

  function open() {
    var r = indexedDB.open('suara-kiosk', 1);
    r.onupgradeneeded = function () {
      r.result.createObjectStore('meta');
      r.result.createObjectStore('queue', {keyPath: 'id'});
      r.result.createObjectStore('quarantine', {keyPath: 'id'});
    };
    return request(r);
  }

  function setMeta(key, value) {
    meta[key] = value;
    return tx(['meta'], 'readwrite', function (store) { store.put(value, key); });
  }

  function time(answer) { return Date.parse(answer.submitted_at); }

  // The queue, oldest first (the server flags a burst against the session stored before).
  function queued() {
    return tx(['queue'], 'readonly', function (store, box) {
      store.getAll().onsuccess = function (e) {
        box.value = e.target.result.sort(function (a, b) { return time(a) - time(b); });
      };
    });
  }

  function refresh() {
    return Promise.all([queued(), tx(['quarantine'], 'readonly', function (store, box) {
      store.count().onsuccess = function (e) { box.value = e.target.result; };
    })]).then(function (both) {
      counts = {queued: both[0].length, oldest: both[0].length ? both[0][0].submitted_at : null,
                quarantined: both[1]};
      counted = true;
      emit('status', status());
      maybeUpdate();
      return both[0];
    });
  }

  function status() {
    return {queued: counts.queued, oldest: counts.oldest, quarantined: counts.quarantined,
            online: navigator.onLine && reachable, revoked: meta.revoked};
  }

  // fetch with the credential (another kiosk's when given) and a time limit; resolves
  // {status, body} or rejects.
  function call(method, path, body, credential) {
    var own = !credential;
    credential = credential || meta.credential;
    var headers = {'Accept': 'application/json'};
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (credential) headers.Authorization = 'Bearer ' + credential;
    var abort = typeof AbortController === 'function' ? new AbortController() : null;
    var timer = abort && setTimeout(function () { abort.abort(); }, TIMEOUT);
    return fetch(API + path, {method: method, headers: headers, credentials: 'omit',
                              cache: 'no-store', signal: abort ? abort.signal : undefined,
                              body: body === undefined ? undefined : JSON.stringify(body)})
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (json) {
          return {status: response.status, body: json};
        });
      })
      .then(function (answer) {
        clearTimeout(timer);
        setReachable(true);
        if (own && answer.status === 403 && answer.body.revoked) markRevoked();
        return answer;
      }, function (error) {
        clearTimeout(timer);
        setReachable(false);
        beatOk = false;
        throw error;
      });
  }

  function setReachable(value) {
    if (reachable !== value) {
      reachable = value;
      emit('status', status());
    }
  }

  function markRevoked() {
    if (meta.revoked) return;
    setMeta('revoked', true).catch(function () {});
    emit('revoked', true);
    emit('status', status());
  }

  function fetchConfig() {
    return call('GET', 'kiosk/config').then(function (answer) {
      if (answer.status !== 200) return meta.config;
      return setMeta('config', answer.body).then(function () {
        emit('config', answer.body);
        return answer.body;
      });
    });
  }

  function mine(answer) { return answer._k === undefined || answer._k === meta.kiosk; }

  // What is sent of a queued answer: the batch item, without the kiosk it was made on.
  function item(answer) {
    var copy = {};
    Object.keys(answer).forEach(function (k) { if (k !== '_k') copy[k] = answer[k]; });
    return copy;
  }

  // Sends the queue in batches, this kiosk's answers first, then those made while the
  // tablet was paired as another kiosk (with that kiosk's credential); true when every
  // answer sent was settled (stored, a duplicate, or moved to the quarantine).
  function sendQueue() {
    return queued().then(function (all) {
      var groups = [all.filter(mine)];
      Object.keys(meta.creds).forEach(function (k) {
        groups.push(all.filter(function (a) { return String(a._k) === k; }));
      });
      function next(g, start) {
        if (g >= groups.length) return true;
        var group = groups[g];
        if (start >= group.length) return next(g + 1, 0);
        var other = g > 0 ? String(group[0]._k) : null;
        var batch = group.slice(start, start + BATCH);
        return call('POST', 'responses', {responses: batch.map(item)},
                    other && meta.creds[other]).then(function (answer) {
          // Another kiosk's credential refused (replaced, revoked): its answers are kept
          // in the quarantine, never dropped.
          if (other && answer.status === 401) {
            return settle(batch, batch.map(function (a) {
              return {id: a.id, status: 401, error: answer.body.error};
            }), true).then(function () { return next(g + 1, 0); });
          }
          if (answer.status !== 200 || !Array.isArray(answer.body.results)) return false;
          return settle(batch, answer.body.results, !!other).then(function (done) {
            return done && next(g, start + BATCH);
          });
        });
      }
      return next(0, 0).then(function (done) { return forgetCredentials().then(function () {
        return done;
      }); });
    });
  }

  // An earlier kiosk's credential goes once none of its answers waits any more.
  function forgetCredentials() {
    return queued().then(function (all) {
      var left = {};
      Object.keys(meta.creds).forEach(function (k) {
        if (all.some(function (a) { return String(a._k) === k; })) left[k] = meta.creds[k];
      });
      if (Object.keys(left).length === Object.keys(meta.creds).length) return null;
      return setMeta('creds', left);
    });
  }

  // ``other``: the answers were made on another kiosk, which is refused for good with a 403
  // or 401 (revoked, replaced): those go to the quarantine too.
  function settle(batch, results, other) {
    var sent = {};
    batch.forEach(function (a) { sent[a.id] = a; });
    var done = results.length === batch.length;
    return tx(['queue', 'quarantine'], 'readwrite', function (queue, quarantine) {
      results.forEach(function (result) {
        var answer = sent[result.id];
        if (!answer) return;
        var refused = result.status === 409 || result.status === 422 ||
          (other && (result.status === 403 || result.status === 401));
        if (result.status === 200 || result.status === 201) {
          queue.delete(answer.id);
        } else if (refused) {
          quarantine.put({id: answer.id, status: result.status, answer: item(answer),
                          errors: result.errors || {error: result.error},
                          at: new Date().toISOString()});
          queue.delete(answer.id);
        } else {
          done = false;
          if (result.status === 403) markRevoked();
        }
      });
    }).then(function () { return done; });
  }

  function sync() {
    if (syncing) {
      again = true;
      return syncing;
    }
    clearTimeout(syncTimer);
    // After an outage a heartbeat goes first: the service learns the tablet's clock (which
    // corrects the answers' times) and the ids it holds before it gets the answers.
    var ready = !meta.credential ? Promise.resolve(true)
      : !navigator.onLine ? Promise.resolve(false)
      : (beatOk || !counts.queued ? Promise.resolve() : heartbeat()).then(sendQueue);
    syncing = ready.catch(function () { return false; }).then(function (ok) {
      failures = ok ? 0 : failures + 1;
      return refresh().catch(function () {}).then(function () {
        syncing = null;
        if (again) {
          again = false;
          return sync();
        }
        var wait = ok ? PERIOD : Math.min(PERIOD * Math.pow(2, failures - 1), MAX_BACKOFF);
        syncTimer = setTimeout(sync, wait);
        return ok;
      });
    });
    return syncing;
  }

  function battery() {
    if (!navigator.getBattery) return Promise.resolve({level: null, charging: null});
    return navigator.getBattery().then(function (b) {
      return {level: Math.round(b.level * 100), charging: b.charging};
    }, function () { return {level: null, charging: null}; });
  }

  function heartbeat() {
    if (!meta.credential || meta.revoked) return Promise.resolve(false);
    beatOk = false;
    return Promise.all([queued(), battery()]).then(function (both) {
      var all = both[0].filter(mine);
      return call('POST', 'kiosk/heartbeat', {
        device_time: new Date().toISOString(), app_version: version,
        queue_length: all.length, oldest_unsent_at: all.length ? all[0].submitted_at : null,
        quarantined: counts.quarantined, battery: both[1].level, charging: both[1].charging,
        pending_ids: all.slice(0, MAX_IDS).map(function (a) { return a.id; })
      });
    }).then(function (answer) {
      if (answer.status !== 200) return false;
      beatOk = true;
      if (!meta.config || meta.config.version !== answer.body.config_version) {
        fetchConfig().catch(function () {});
      }
      return true;
    }).catch(function () { return false; });
  }

  function beat() {
    heartbeat();
    if (registration && ++beats % UPDATE_EVERY === 0) registration.update().catch(function () {});
    setTimeout(beat, PERIOD);
  }

  // A new service worker waits while answers are queued or a citizen is answering.
  function maybeUpdate() {
    if (registration && registration.waiting && counted && !counts.queued && !busy) {
      registration.waiting.postMessage('skipWaiting');
    }
  }

  function register() {
    if (!('serviceWorker' in navigator)) return;
    var sw = navigator.serviceWorker;
    hadController = !!sw.controller;
    sw.addEventListener('controllerchange', function () {
      if (!hadController) return;
      if (busy) reloadPending = true;
      else location.reload();
    });
    sw.register('/kiosk/sw.js', {scope: '/kiosk/'}).then(function (reg) {
      registration = reg;
      reg.addEventListener('updatefound', function () {
        var worker = reg.installing;
        if (worker) worker.addEventListener('statechange', maybeUpdate);
      });
      maybeUpdate();
    }).catch(function () {});
  }

  function init() {
    started = started || start();
    return started;
  }

  function start() {
    return open().then(function (opened) {
      db = opened;
      return tx(['meta'], 'readonly', function (store, box) {
        box.value = {};
        ['credential', 'config', 'revoked', 'kiosk', 'creds'].forEach(function (key) {
          store.get(key).onsuccess = function (e) { box.value[key] = e.target.result; };
        });
      });
    }).then(function (stored) {
      meta.credential = stored.credential || null;
      meta.config = stored.config || null;
      meta.revoked = !!stored.revoked;
      meta.kiosk = stored.kiosk === undefined ? null : stored.kiosk;
      meta.creds = stored.creds || {};
      if (navigator.storage && navigator.storage.persist) {
        navigator.storage.persist().catch(function () {});
      }
      register();
      window.addEventListener('online', function () {
        failures = 0;
        beatOk = false;
        sync();
      });
      window.addEventListener('offline', function () { emit('status', status()); });
      if (meta.credential && !meta.config) fetchConfig().catch(function () {});
      beat();
      sync();
      return refresh();
    }).then(function () { return status(); });
  }

  function pair(code) {
    return call('POST', 'kiosk/pair', {code: code}).then(function (answer) {
      if (answer.status !== 201) {
        return {ok: false, status: answer.status, error: answer.body.error || null};
      }
      var kiosk = answer.body.kiosk.id;
      var keep = Promise.resolve();
      if (meta.credential && meta.kiosk !== null && meta.kiosk !== kiosk) {
        // Paired as another kiosk: what the earlier one made still goes out as its own.
        var creds = {};
        Object.keys(meta.creds).forEach(function (k) { creds[k] = meta.creds[k]; });
        creds[meta.kiosk] = meta.credential;
        delete creds[kiosk];
        keep = setMeta('creds', creds);
      }
      return keep.then(function () { return setMeta('credential', answer.body.credential); })
        .then(function () { return setMeta('kiosk', kiosk); })
        .then(function () { return setMeta('revoked', false); })
        .then(function () { return forgetCredentials(); })
        .then(function () { return fetchConfig().catch(function () { return null; }); })
        .then(function () {
          heartbeat();
          sync();
          return {ok: true, kiosk: answer.body.kiosk};
        });
    }, function () { return {ok: false, status: 0, error: null}; });
  }

  function save(answer) {
    if (!meta.credential || meta.revoked) return Promise.reject(new Error('not enrolled'));
    var record = item(answer);
    record._k = meta.kiosk === null ? undefined : meta.kiosk;
    return tx(['queue'], 'readwrite', function (store) { store.put(record); })
      .then(function () {
        sync();
        return refresh().catch(function () {});
      }).then(function () { return true; });
  }

  function callOfficer(counter) {
    return call('POST', 'kiosk/calls', {counter: counter || null})
      .then(function (answer) { return answer.status === 201; }, function () { return false; });
  }

  function setBusy(value) {
    busy = !!value;
    if (busy) return;
    if (reloadPending) location.reload();
    else maybeUpdate();
  }

  window.KioskStore = {
    init: init,
    credential: function () { return meta.credential; },
    config: function () { return meta.config; },
    pair: pair,
    save: save,
    status: status,
    sync: sync,
    heartbeat: heartbeat,
    callOfficer: callOfficer,
    setBusy: setBusy,
    on: function (name, cb) { (listeners[name] = listeners[name] || []).push(cb); }
  };
}());
