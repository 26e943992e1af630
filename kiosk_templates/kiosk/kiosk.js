/* Suara Warga kiosk: the screens a citizen taps through (welcome, who served them, the nine
   elements, waiting time, comment, thanks), pairing, the idle reset, the language switch and
   the call for an officer. Answers are kept and sent by window.KioskStore (queue.js).
   ES2017 without optional chaining or ??: it runs in the Chrome of a 2018 Android tablet. */
(function () {
  'use strict';
  var ADVANCE_MS = 400; // a tap shows the choice selected, then the next screen
  // A new screen's choices ignore taps this long: the second tap of a double tap on
  // "Mulai" or Back must not answer the question that appears under the finger.
  var SETTLE_MS = 300;
  var THANKS_MS = 5000;
  var CALL_SHOWN_MS = 20000;
  var DEFAULT_IDLE = 30;
  var DEFAULT_COUNTDOWN = 20;
  var CODE_LENGTH = 6;
  // Screens of a session: the idle warning watches them, Back and the call button show.
  var IN_SESSION = {choose: true, element: true, wait: true, comment: true};
  var CAN_CALL = {welcome: true, unset: true, choose: true, element: true, wait: true,
                  comment: true};

  var UI = JSON.parse(document.getElementById('kiosk-ui').textContent);
  var store = window.KioskStore;
  var root = document.documentElement;

  var lang = 'id';
  var screen = null;
  var config = null;
  var session = null; // the citizen's answers so far (see startSession)
  var digits = '';
  var pairBlockedUntil = 0;
  var sending = false;
  var calling = false;
  var callKey = null;
  var lastTouch = new Date();
  var shownAt = 0;
  var timers = {};
  var idleOpen = false;
  var countdown = 0;

  function $(id) { return document.getElementById(id); }
  function all(selector, within) {
    return Array.prototype.slice.call((within || document).querySelectorAll(selector));
  }
  function one(selector) { return document.querySelector(selector); }

  function later(name, fn, ms) {
    clearTimeout(timers[name]);
    timers[name] = setTimeout(fn, ms);
  }
  function stop(name) {
    clearTimeout(timers[name]);
    clearInterval(timers[name]);
    timers[name] = null;
  }

  // Texts ----------------------------------------------------------------------------------

  function t(key, params) {
    var text = UI[lang][key] || UI.id[key] || '';
    Object.keys(params || {}).forEach(function (name) {
      text = text.split('{' + name + '}').join(String(params[name]));
    });
    return text;
  }

  // A text of the config, given in both languages.
  function tr(value) {
    if (!value) return '';
    if (typeof value === 'string') return value;
    return value[lang] || value.id || '';
  }

  function applyLang(next) {
    lang = next;
    root.lang = lang;
    all('[data-t]').forEach(function (el) { el.textContent = t(el.getAttribute('data-t')); });
    all('[data-t-label]').forEach(function (el) {
      el.setAttribute('aria-label', t(el.getAttribute('data-t-label')));
    });
    one('[data-action=lang]').lang = lang === 'id' ? 'en' : 'id';
    renderUnit();
    renderStatus(store.status());
    if (callKey) showCall(callKey);
    if (screen) render(screen);
  }

  function announce(text) {
    $('live').textContent = text;
  }

  // ISO 8601 on the tablet's clock, with its offset (the server corrects by the heartbeat's).
  function pad(n, width) { return String(n).padStart(width || 2, '0'); }
  function iso(d) {
    var offset = -d.getTimezoneOffset();
    var sign = offset < 0 ? '-' : '+';
    offset = Math.abs(offset);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()) + '.' +
      pad(d.getMilliseconds(), 3) + sign + pad(Math.floor(offset / 60)) + ':' +
      pad(offset % 60);
  }

  // RFC 4122 version 4 (crypto.randomUUID needs a secure context and a newer Chrome).
  function uuid4() {
    var b = new Uint8Array(16);
    crypto.getRandomValues(b);
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    var h = Array.prototype.map.call(b, function (x) {
      return (x + 0x100).toString(16).slice(1);
    }).join('');
    return h.slice(0, 8) + '-' + h.slice(8, 12) + '-' + h.slice(12, 16) + '-' +
      h.slice(16, 20) + '-' + h.slice(20);
  }

  function element(tag, className, text) {
    var el = document.createElement(tag);
    if (className) el.className = className;
    if (text) el.textContent = text;
    return el;
  }

  function setBusy(value) {
    if (typeof store.setBusy === 'function') store.setBusy(value);
  }

  // Screens --------------------------------------------------------------------------------

  function show(name) {
    var previous = screen;
    screen = name;
    all('section[data-screen]').forEach(function (s) {
      s.hidden = s.getAttribute('data-screen') !== name;
    });
    one('[data-action=back]').hidden = !IN_SESSION[name];
    one('[data-action=call]').hidden = !CAN_CALL[name];
    render(name);
    armIdle();
    if (previous !== name || name === 'element') {
      shownAt = Date.now();
      var heading = one('section[data-screen="' + name + '"] h1');
      announce(name === 'element' ? $('progress').textContent + '. ' + heading.textContent
        : heading.textContent);
      if (document.activeElement && document.activeElement !== document.body &&
          document.activeElement.offsetParent === null) {
        heading.focus();
      }
    }
  }

  function render(name) {
    if (IN_SESSION[name] && !session) return;
    if (name === 'pair') renderCode();
    else if (name === 'choose') renderChoices();
    else if (name === 'element') renderElement();
    else if (name === 'wait') renderBands();
    else if (name === 'comment') renderComment();
  }

  function renderUnit() {
    // Unit and counter names are Indonesian whatever the page's language.
    var unit = $('unit');
    unit.textContent = config && config.kiosk ? config.kiosk.unit.name : 'Suara Warga';
    unit.lang = 'id';
  }

  function renderStatus(status) {
    if (!status) return;
    var parts = [t(status.online ? 'online' : 'offline')];
    if (status.queued) parts.push(t('queued', {count: status.queued}));
    if (status.quarantined) parts.push(t('quarantined', {count: status.quarantined}));
    var line = $('status');
    line.textContent = parts.join(' · ');
    line.className = 'status ' + (status.online ? 'on' : 'off');
  }

  function survey() { return session.config.survey; }

  function pressed(button, on) {
    button.setAttribute('aria-pressed', on ? 'true' : 'false');
  }

  function renderChoices() {
    var box = $('choices');
    box.textContent = '';
    session.config.choices.forEach(function (choice) {
      var button = element('button', 'choice');
      button.type = 'button';
      button.setAttribute('data-counter', choice.counter);
      button.lang = 'id';
      button.appendChild(element('span', '', choice.name));
      if (choice.service_name && choice.service_name !== choice.name) {
        button.appendChild(element('span', 'sub', choice.service_name));
      }
      pressed(button, session.counter === choice.counter);
      box.appendChild(button);
    });
  }

  function renderElement() {
    var elements = survey().elements;
    var item = elements[session.index];
    var section = one('section[data-screen=element]');
    section.setAttribute('data-element', item.code);
    $('progress').textContent = t('progress', {number: session.index + 1,
                                               total: elements.length});
    $('meter').style.width = ((session.index + 1) * 100 / elements.length) + '%';
    $('el-name').textContent = tr(item.name);
    $('question').textContent = tr(item.question);
    all('[data-score]', section).forEach(function (button) {
      var score = Number(button.getAttribute('data-score'));
      var option = item.options.filter(function (o) { return o.score === score; })[0];
      button.querySelector('span').textContent = option ? tr(option.label) : '';
      pressed(button, session.answers[item.code] === score);
    });
  }

  function renderBands() {
    var wait = survey().wait;
    $('wait-label').textContent = tr(wait.label);
    var box = $('bands');
    box.textContent = '';
    wait.bands.forEach(function (band) {
      var button = element('button', 'choice', tr(band.label));
      button.type = 'button';
      button.setAttribute('data-band', band.code);
      pressed(button, session.wait_band === band.code);
      box.appendChild(button);
    });
  }

  function renderComment() {
    var comment = survey().comment;
    $('comment-label').textContent = tr(comment.label);
    $('comment-hint').textContent = tr(comment.hint);
    $('comment').maxLength = comment.max_length || 1000;
  }

  // Pairing --------------------------------------------------------------------------------

  function renderCode() {
    all('#code span').forEach(function (box, i) { box.textContent = digits.charAt(i); });
    $('code').setAttribute('aria-label', t('pair_code') + ': ' + digits.split('').join(' '));
  }

  function pairMessage(text) { $('pair-msg').textContent = text; }

  function setDigits(value) {
    digits = value.slice(0, CODE_LENGTH);
    pairMessage('');
    renderCode();
  }

  function pair() {
    var waiting = Math.ceil((pairBlockedUntil - Date.now()) / 1000);
    if (waiting > 0) return pairMessage(t('pair_wait', {seconds: waiting}));
    if (digits.length !== CODE_LENGTH) return pairMessage(t('pair_short'));
    var button = one('[data-action=pair]');
    button.disabled = true;
    pairMessage(t('pairing'));
    return Promise.resolve(store.pair(digits)).catch(function () {
      return {ok: false, status: 0};
    }).then(function (result) {
      button.disabled = false;
      digits = '';
      renderCode();
      if (result.ok) {
        pairMessage('');
        return Promise.resolve(store.config()).then(function (kept) {
          config = kept;
          renderUnit();
          show(home());
        });
      }
      pairMessage(pairError(result));
      return null;
    });
  }

  function pairError(result) {
    if (result.status === 0) return t('pair_offline');
    if (result.status === 403 || result.status === 422) return t('pair_refused');
    if (result.status === 429) {
      if (result.retry_after > 0) {
        pairBlockedUntil = Date.now() + result.retry_after * 1000;
        return t('pair_wait', {seconds: Math.ceil(result.retry_after)});
      }
      return t('pair_later');
    }
    return t('pair_failed', {status: result.status});
  }

  // /kiosk/#pair=123456, the QR code of the back office.
  function codeInHash() {
    var match = /pair=(\d{6})/.exec(location.hash);
    return match ? match[1] : null;
  }

  function pairFromHash() {
    var code = codeInHash();
    if (!code) return false;
    history.replaceState(null, '', location.pathname + location.search);
    digits = code;
    show('pair');
    pair();
    return true;
  }

  // The session ------------------------------------------------------------------------------

  // Where the kiosk waits for the next person: the welcome screen, or why it cannot take
  // answers yet (no questionnaire fetched; no counter in use to rate).
  function home() {
    if (!config) return 'setup';
    return (config.choices || []).length ? 'welcome' : 'unset';
  }

  function startSession() {
    session = {id: uuid4(), started_at: iso(new Date()), config: config, counter: null,
               service: null, answers: {}, index: 0, wait_band: null};
    setBusy(true);
    var choices = config.choices || [];
    if (choices.length === 1) {
      pick(choices[0]);
      show('element');
    } else if (choices.length === 0) {
      session = null;
      setBusy(false);
      show('unset');
    } else {
      show('choose');
    }
  }

  function pick(choice) {
    session.counter = choice.counter;
    session.service = choice.service || null;
  }

  // After a tap the choice shows selected, then the next screen comes by itself.
  function advance(next) {
    later('advance', function () {
      timers.advance = null;
      next();
    }, ADVANCE_MS);
  }

  function chooseCounter(code) {
    var choice = session.config.choices.filter(function (c) { return c.counter === code; })[0];
    if (!choice) return;
    pick(choice);
    renderChoices();
    advance(function () {
      session.index = 0;
      show('element');
    });
  }

  function answer(score) {
    var item = survey().elements[session.index];
    session.answers[item.code] = score;
    renderElement();
    advance(function () {
      if (session.index + 1 < survey().elements.length) {
        session.index += 1;
        show('element');
      } else {
        show('wait');
      }
    });
  }

  function chooseBand(code) {
    session.wait_band = code;
    renderBands();
    advance(function () { show('comment'); });
  }

  function back() {
    stop('advance');
    if (screen === 'comment') {
      show('wait');
    } else if (screen === 'wait') {
      session.index = survey().elements.length - 1;
      show('element');
    } else if (screen === 'element' && session.index > 0) {
      session.index -= 1;
      show('element');
    } else if (screen === 'element' && session.config.choices.length > 1) {
      show('choose');
    } else {
      reset();
    }
  }

  function complete(s) {
    return s.config.survey.elements.every(function (e) { return s.answers[e.code]; });
  }

  function draft() {
    var text = $('comment').value.trim();
    return text ? text : null;
  }

  // Exactly an item of the API's batch (docs/kiosk.md).
  function answerOf(s, comment, submittedAt) {
    var answers = {};
    s.config.survey.elements.forEach(function (e) { answers[e.code] = s.answers[e.code]; });
    return {id: s.id, counter: s.counter, service: s.service, survey: s.config.survey.id,
            answers: answers, wait_band: s.wait_band, comment: comment,
            started_at: s.started_at, submitted_at: iso(submittedAt)};
  }

  function send(withComment) {
    if (sending || !session) return;
    sending = true;
    $('send-msg').textContent = '';
    var done = session;
    Promise.resolve(store.save(answerOf(done, withComment ? draft() : null, new Date())))
      .then(function () {
        sending = false;
        if (session !== done) return;
        session = null;
        show('thanks');
        later('thanks', reset, THANKS_MS);
      }, function () {
        sending = false;
        $('send-msg').textContent = t('save_failed');
      });
  }

  // Back to the welcome screen for the next person: nothing of this one is kept on screen.
  function reset() {
    ['advance', 'thanks', 'idle', 'countdown', 'call'].forEach(stop);
    closeIdle();
    session = null;
    sending = false;
    $('comment').value = '';
    $('send-msg').textContent = '';
    hideCall();
    setBusy(false);
    applyLang('id');
    show(store.status().revoked ? 'revoked' : home());
  }

  // Idle: "Still answering?" after idle_seconds without a touch, then a countdown. ----------

  function settings() {
    var s = (config && config.settings) || {};
    return {idle: s.idle_seconds || DEFAULT_IDLE,
            countdown: s.countdown_seconds || DEFAULT_COUNTDOWN};
  }

  function armIdle() {
    stop('idle');
    if (IN_SESSION[screen] && !idleOpen) later('idle', openIdle, settings().idle * 1000);
    // English chosen by someone who then walked away: the next person finds Indonesian.
    else if (screen === 'welcome' && lang !== 'id') {
      later('idle', function () { applyLang('id'); }, settings().idle * 1000);
    }
  }

  function touched() {
    lastTouch = new Date();
    if (!idleOpen) armIdle();
  }

  function renderCountdown() {
    $('idle-help').textContent = t('idle_help', {seconds: countdown});
  }

  function openIdle() {
    idleOpen = true;
    countdown = settings().countdown;
    renderCountdown();
    one('[data-screen=idle]').hidden = false;
    one('[data-action=continue]').focus();
    stop('countdown');
    timers.countdown = setInterval(function () {
      countdown -= 1;
      if (countdown > 0) return renderCountdown();
      stop('countdown');
      timedOut();
    }, 1000);
  }

  function closeIdle() {
    idleOpen = false;
    stop('countdown');
    one('[data-screen=idle]').hidden = true;
  }

  function keepGoing() {
    closeIdle();
    armIdle();
  }

  // The person left: all nine elements answered is an answer (wait band and comment as far
  // as given, at the time of the last touch); anything shorter is dropped.
  function timedOut() {
    var left = session;
    var kept = left && complete(left) && !sending
      ? store.save(answerOf(left, draft(), lastTouch))
      : null;
    session = null;
    Promise.resolve(kept).catch(function () { return null; }).then(reset);
  }

  // Calling an officer ---------------------------------------------------------------------

  function showCall(key) {
    callKey = key;
    var box = $('callmsg');
    box.textContent = t(key);
    box.hidden = false;
  }

  function hideCall() {
    callKey = null;
    $('callmsg').hidden = true;
  }

  function callOfficer() {
    if (calling) return;
    calling = true;
    showCall('calling');
    Promise.resolve(store.callOfficer(session ? session.counter : null))
      .catch(function () { return false; })
      .then(function (ok) {
        calling = false;
        if (!CAN_CALL[screen]) return hideCall(); // revoked meanwhile
        showCall(ok ? 'call_ok' : 'call_failed');
        later('call', hideCall, CALL_SHOWN_MS);
      });
  }

  // Events ---------------------------------------------------------------------------------

  var ACTIONS = {
    lang: function () {
      applyLang(lang === 'id' ? 'en' : 'id');
      armIdle();
    },
    call: callOfficer,
    'continue': keepGoing,
    start: function () { if (config) startSession(); },
    back: function () { if (session) back(); },
    send: function () { send(true); },
    'send-empty': function () { send(false); },
    'no-wait': function () { if (session) chooseBand(null); },
    pair: pair,
    repair: function () { show('pair'); },
    erase: function () { setDigits(digits.slice(0, -1)); },
    clear: function () { setDigits(''); }
  };

  function onTap(event) {
    var button = event.target.closest('button');
    if (!button || button.disabled) return;
    var action = ACTIONS[button.getAttribute('data-action')];
    var data = button.dataset;
    if (action) action();
    else if (data.digit) setDigits(digits + data.digit);
    else if (!session || Date.now() - shownAt < SETTLE_MS) return;
    else if (data.counter) chooseCounter(data.counter);
    else if (data.score) answer(Number(data.score));
    else if (data.band) chooseBand(data.band);
  }

  function onKey(event) {
    if (screen !== 'pair') return;
    if (/^\d$/.test(event.key)) setDigits(digits + event.key);
    else if (event.key === 'Backspace') setDigits(digits.slice(0, -1));
    else if (event.key === 'Enter' && event.target.tagName !== 'BUTTON') pair();
  }

  function onRevoked() {
    ['advance', 'idle', 'countdown'].forEach(stop);
    closeIdle();
    hideCall();
    session = null;
    setBusy(false);
    show('revoked');
  }

  function onConfig(next) {
    config = next;
    renderUnit();
    if (screen === 'setup' || screen === 'unset' || screen === 'welcome') show(home());
  }

  function boot() {
    store.on('revoked', onRevoked);
    store.on('config', onConfig);
    store.on('status', renderStatus);
    document.addEventListener('click', onTap);
    document.addEventListener('keydown', onKey);
    ['pointerdown', 'touchstart', 'keydown', 'input'].forEach(function (name) {
      document.addEventListener(name, touched, true);
    });
    one('[data-screen=idle]').addEventListener('click', function (event) {
      if (event.target === event.currentTarget) keepGoing();
    });
    window.addEventListener('hashchange', pairFromHash);
    Promise.resolve(store.init()).catch(function () { return null; }).then(function () {
      return Promise.all([store.credential(), store.config()]);
    }).then(function (kept) {
      config = kept[1];
      var revoked = store.status().revoked;
      applyLang('id');
      if ((!kept[0] || revoked) && pairFromHash()) return;
      if (location.hash) history.replaceState(null, '', location.pathname + location.search);
      if (revoked) show('revoked');
      else if (!kept[0]) show('pair');
      else show(home());
    });
  }

  boot();
}());
