# ruff: noqa: E501 - JavaScript source
"""The JavaScript environment an Auth0 rule expects, evaluated once per QuickJS context.

Nothing here calls into Python (QuickJS refuses that under a time limit): the worker pulls the
queued host requests, console lines and metadata updates with `__identa.drain()` after each step.
"""

PRELUDE = r"""
(function () {
  'use strict';
  var G = globalThis;
  var MAX_LOG = 65536;
  var state = {
    outbox: [], logs: [], logSize: 0, meta: [], done: null, pending: {}, inflight: 0,
    nextId: 1, timers: [], timerSeq: 1, rules: {}, user: null, context: null
  };

  function show(value) {
    if (typeof value === 'string') return value;
    if (value instanceof Error) return value.stack || String(value);
    try {
      var text = JSON.stringify(value);
      return text === undefined ? String(value) : text;
    } catch (e) { return String(value); }
  }
  function log() {
    if (state.logSize >= MAX_LOG) { state.logs.push(null); return; }
    var line = Array.prototype.map.call(arguments, show).join(' ');
    state.logSize += line.length + 1;
    state.logs.push(line);
  }
  G.console = { log: log, info: log, warn: log, error: log, debug: log, trace: log };

  class UnauthorizedError extends Error {
    constructor(message) { super(message); this.name = 'UnauthorizedError'; }
  }
  G.UnauthorizedError = UnauthorizedError;
  G.global = G;

  function finish(outcome) {
    if (state.done === null) state.done = outcome;
  }
  function failure(err) {
    if (err === null || err === undefined) err = new Error('unknown error');
    var name = (err && err.name) || 'Error';
    var message = (err && err.message !== undefined) ? String(err.message) : String(err);
    return { error: { name: name, message: message,
                      unauthorized: err instanceof UnauthorizedError || name === 'UnauthorizedError' } };
  }
  function guard(fn) {
    try { fn(); } catch (e) { finish(failure(e)); }
  }

  // Timers: real time, fired by the worker between host events.
  function addTimer(fn, ms, args, repeat) {
    var id = state.timerSeq++;
    var delay = Math.max(0, Number(ms) || 0);
    state.timers.push({ id: id, at: Date.now() + delay, fn: fn, args: args,
                        repeat: repeat ? Math.max(1, delay) : 0 });
    return id;
  }
  G.setTimeout = function (fn, ms) { return addTimer(fn, ms, Array.prototype.slice.call(arguments, 2), false); };
  G.setInterval = function (fn, ms) { return addTimer(fn, ms, Array.prototype.slice.call(arguments, 2), true); };
  G.setImmediate = function (fn) { return addTimer(fn, 0, Array.prototype.slice.call(arguments, 1), false); };
  G.clearTimeout = G.clearInterval = G.clearImmediate = function (id) {
    state.timers = state.timers.filter(function (t) { return t.id !== id; });
  };

  function hostCall(request, deliver) {
    var id = state.nextId++;
    state.pending[id] = deliver;
    state.inflight++;
    state.outbox.push({ id: id, request: request });
  }

  function toRequest(options, method) {
    if (typeof options === 'string') options = { url: options };
    options = options || {};
    var url = options.url || options.uri;
    if (options.baseUrl) url = String(options.baseUrl).replace(/\/$/, '') + '/' + String(url).replace(/^\//, '');
    var request = { method: String(method || options.method || 'GET').toUpperCase(), url: String(url) };
    if (options.qs) request.params = options.qs;
    var headers = {};
    if (options.headers) Object.keys(options.headers).forEach(function (k) { headers[k] = String(options.headers[k]); });
    if (options.auth && (options.auth.user || options.auth.username)) {
      headers.Authorization = 'Basic ' + btoaText((options.auth.user || options.auth.username) + ':' + (options.auth.pass || options.auth.password || ''));
    } else if (options.auth && options.auth.bearer) {
      headers.Authorization = 'Bearer ' + options.auth.bearer;
    }
    request.headers = headers;
    if (options.json !== undefined && options.json !== true && options.json !== false) request.json = options.json;
    else if (options.form !== undefined) request.form = options.form;
    else if (options.body !== undefined) {
      if (typeof options.body === 'string') request.body = options.body;
      else if (options.json) request.json = options.body;
      else request.body = JSON.stringify(options.body);
    }
    if (options.timeout) request.timeout = Number(options.timeout) / 1000;
    return { request: request, parseJson: !!options.json };
  }

  function makeRequestError(message) {
    var err = new Error(message);
    err.code = 'EREFUSED';
    return err;
  }

  function request(options, callback) {
    var method = null;
    if (typeof options === 'string' && typeof callback === 'object') { callback.url = options; options = callback; callback = arguments[2]; }
    if (this && this.__method) method = this.__method;
    var prepared = toRequest(options, method);
    var cb = typeof callback === 'function' ? callback : function () {};
    hostCall(prepared.request, function (result) {
      if (result.error) return cb(makeRequestError(result.error));
      var body = result.text;
      if (prepared.parseJson) { try { body = JSON.parse(body); } catch (e) { /* keep the text */ } }
      var response = { statusCode: result.status, statusMessage: result.reason, headers: result.headers,
                       body: body, request: { uri: { href: result.url } } };
      cb(null, response, body);
    });
  }
  ['get', 'post', 'put', 'patch', 'head', 'delete', 'del'].forEach(function (verb) {
    request[verb] = function (options, callback) {
      return request.call({ __method: verb === 'del' ? 'DELETE' : verb.toUpperCase() }, options, callback);
    };
  });
  request.defaults = function () { return request; };
  G.request = request;

  function Headers(values) { this._values = values || {}; }
  Headers.prototype.get = function (name) {
    var v = this._values[String(name).toLowerCase()];
    return v === undefined ? null : v;
  };
  Headers.prototype.has = function (name) { return this.get(name) !== null; };
  G.fetch = function (url, init) {
    init = init || {};
    var headers = {};
    if (init.headers) Object.keys(init.headers).forEach(function (k) { headers[k] = String(init.headers[k]); });
    var req = { method: String(init.method || 'GET').toUpperCase(), url: String(url), headers: headers };
    if (init.body !== undefined) req.body = String(init.body);
    return new Promise(function (resolve, reject) {
      hostCall(req, function (result) {
        if (result.error) return reject(new TypeError('fetch failed: ' + result.error));
        var text = result.text;
        resolve({ ok: result.status >= 200 && result.status < 300, status: result.status,
                  statusText: result.reason, url: result.url, headers: new Headers(result.headers),
                  text: function () { return Promise.resolve(text); },
                  json: function () { return new Promise(function (ok) { ok(JSON.parse(text)); }); } });
      });
    });
  };

  function copyJson(value) { return value === undefined ? {} : JSON.parse(JSON.stringify(value)); }
  function metadataUpdate(kind) {
    return function (userId, metadata, cb) {
      state.meta.push({ user_id: String(userId), kind: kind, value: copyJson(metadata) });
      if (typeof cb === 'function') { G.setImmediate(function () { cb(null); }); }
      return Promise.resolve();
    };
  }
  G.auth0 = { users: { updateUserMetadata: metadataUpdate('user_metadata'),
                       updateAppMetadata: metadataUpdate('app_metadata') } };

  // Identa's extension: identa.mentions.add(userId, {text, source, url}) -> Promise. The server
  // scores the text for sentiment and attaches it to the customer once the rules have finished.
  function addMention(userId, mention) {
    var m = mention || {};
    var text = m.text, source = m.source === undefined ? 'rule' : m.source, url = m.url;
    if (typeof text !== 'string' || !text.trim()) return Promise.reject(new TypeError("a mention's text must be a non-empty string"));
    if (text.length > 10000) return Promise.reject(new RangeError("a mention's text is longer than 10000 characters"));
    if (typeof source !== 'string' || !source || source.length > 64) return Promise.reject(new TypeError("a mention's source must be 1 to 64 characters"));
    if (url !== undefined && url !== null && (typeof url !== 'string' || url.length > 2048)) return Promise.reject(new TypeError("a mention's url must be a string of at most 2048 characters"));
    state.meta.push({ user_id: String(userId), kind: 'mention',
                      value: { text: text, source: source, url: url === undefined ? null : url } });
    return Promise.resolve();
  }
  G.identa = { mentions: { add: addMention } };

  var B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  function btoaText(text) {
    var bytes = unescape(encodeURIComponent(text)), out = '';
    for (var i = 0; i < bytes.length; i += 3) {
      var a = bytes.charCodeAt(i), b = bytes.charCodeAt(i + 1), c = bytes.charCodeAt(i + 2);
      var n = (a << 16) | ((b || 0) << 8) | (c || 0);
      out += B64[(n >> 18) & 63] + B64[(n >> 12) & 63] +
             (i + 1 < bytes.length ? B64[(n >> 6) & 63] : '=') + (i + 2 < bytes.length ? B64[n & 63] : '=');
    }
    return out;
  }

  // A small `moment`: enough for moment(), moment(date), .diff(other, unit), .toISOString(), .format().
  // QuickJS's Date parses only ISO strings; V8 (Auth0's Node, where moment falls back to Date)
  // also reads US dates such as Facebook's birthday "MM/DD/YYYY", which getAge passes.
  var US_DATE = /^\s*(\d{1,2})\/(\d{1,2})\/(\d{4})\s*$/;
  function toDate(input) {
    if (input === undefined) return new Date();
    if (input && input._d) return new Date(input._d);
    var us = typeof input === 'string' ? US_DATE.exec(input) : null;
    if (us) return new Date(Date.UTC(+us[3], +us[1] - 1, +us[2]));
    return new Date(input);
  }
  function moment(input) {
    var date = toDate(input);
    var m = { _d: date };
    m.valueOf = function () { return date.getTime(); };
    m.toDate = function () { return new Date(date.getTime()); };
    m.toISOString = function () { return date.toISOString(); };
    m.format = function () { return date.toISOString(); };
    m.isValid = function () { return !isNaN(date.getTime()); };
    m.diff = function (other, unit) {
      var o = moment(other)._d;
      var months = (date.getFullYear() - o.getFullYear()) * 12 + (date.getMonth() - o.getMonth());
      var anchor = new Date(o.getTime()); anchor.setMonth(anchor.getMonth() + months);
      if (months > 0 && anchor > date) months--;
      if (months < 0 && anchor < date) months++;
      var ms = date.getTime() - o.getTime();
      switch (String(unit || 'milliseconds').replace(/s$/, '')) {
        case 'year': case 'y': return Math.trunc(months / 12);
        case 'month': case 'M': return months;
        case 'week': case 'w': return Math.trunc(ms / 604800000);
        case 'day': case 'd': return Math.trunc(ms / 86400000);
        case 'hour': case 'h': return Math.trunc(ms / 3600000);
        case 'minute': case 'm': return Math.trunc(ms / 60000);
        case 'second': case 's': return Math.trunc(ms / 1000);
        default: return ms;
      }
    };
    return m;
  }

  var MODULES = { request: request, moment: moment };
  G.require = function (name) {
    var bare = String(name);
    var at = bare.lastIndexOf('@');
    if (at > 0) bare = bare.slice(0, at);
    if (Object.prototype.hasOwnProperty.call(MODULES, bare)) return MODULES[bare];
    var err = new Error("Cannot find module '" + name + "': rules in Identa can require only " +
                        Object.keys(MODULES).join(', '));
    err.code = 'MODULE_NOT_FOUND';
    throw err;
  };

  var processObject = {};
  Object.defineProperty(processObject, 'env', {
    get: function () { throw new Error('process.env is not available to rules; use configuration'); }
  });
  G.process = processObject;

  function compile(hash, source) {
    if (state.rules[hash]) return;
    var body = String(source).replace(/^\s+/, '');
    state.rules[hash] = (0, eval)('(function () { var __identaRule = ' + body + '\n;return __identaRule; })()');
    if (typeof state.rules[hash] !== 'function') { delete state.rules[hash]; throw new TypeError('the rule script is not a function'); }
  }

  G.__identa = {
    compile: function (hash, source) {
      try { compile(hash, source); return ''; }
      catch (e) { return (e && e.name ? e.name + ': ' : '') + (e && e.message !== undefined ? e.message : String(e)); }
    },
    begin: function (hash, userJson, contextJson, configurationJson) {
      state.done = null; state.outbox = []; state.logs = []; state.logSize = 0; state.meta = [];
      state.pending = {}; state.inflight = 0; state.timers = [];
      G.configuration = Object.freeze(JSON.parse(configurationJson));
      var user = JSON.parse(userJson), context = JSON.parse(contextJson);
      var callback = function (err, newUser, newContext) {
        if (state.done !== null) return;
        if (err) { finish(failure(err)); return; }
        try {
          finish({ result: JSON.stringify({ user: newUser === undefined ? user : newUser,
                                            context: newContext === undefined ? context : newContext }) });
        } catch (e) { finish(failure(e)); }
      };
      guard(function () {
        var returned = state.rules[hash].call(G, user, context, callback);
        if (returned && typeof returned.then === 'function') {
          returned.then(undefined, function (e) { finish(failure(e)); });
        }
      });
    },
    deliver: function (id, resultJson) {
      var deliver = state.pending[id];
      if (!deliver) return;
      delete state.pending[id];
      state.inflight--;
      guard(function () { deliver(JSON.parse(resultJson)); });
    },
    fireTimers: function () {
      var now = Date.now();
      var due = state.timers.filter(function (t) { return t.at <= now; });
      due.sort(function (a, b) { return a.at - b.at; });
      due.forEach(function (t) {
        if (t.repeat) t.at = now + t.repeat;
        else state.timers = state.timers.filter(function (x) { return x !== t; });
        guard(function () { t.fn.apply(G, t.args); });
      });
    },
    drain: function () {
      var next = -1;
      state.timers.forEach(function (t) {
        var wait = Math.max(0, t.at - Date.now());
        if (next < 0 || wait < next) next = wait;
      });
      var out = JSON.stringify({ host: state.outbox, logs: state.logs, meta: state.meta,
                                 done: state.done, inflight: state.inflight, nextTimer: next });
      state.outbox = []; state.logs = []; state.meta = [];
      return out;
    }
  };
})();
"""
