// The host's browser runtime for live pages. No framework, no inline script:
// the layout loads this file, and pages declare what they want with attributes.
//
//   data-trellis-topic="plugin/topic"  subscribe the page to a topic (any element may say so)
//   data-trellis-bind="key"            textContent (or value, for inputs) set by updates;
//                                      an update sets every element bound to its keys
//   data-trellis-event="plugin/name"   send an event: click (buttons), change (inputs,
//                                      selects), submit (forms, with their fields)
//
// Server messages: {"type":"update","values":{"key":"text",...}}
//                  {"type":"error","message":"..."}
//
// CSRF: the layout puts the session's token in <meta name="trellis-csrf">. Every
// POST form gets it as a hidden "_csrf" field when submitted, and
// window.trellis.fetch() sends it as the X-CSRF-Token header.
(function () {
  "use strict";
  var socket = null;
  var retryMs = 500;
  var pending = [];

  function topics() {
    var seen = {};
    var out = [];
    document.querySelectorAll("[data-trellis-topic]").forEach(function (el) {
      var t = el.getAttribute("data-trellis-topic");
      if (t && !seen[t]) { seen[t] = true; out.push(t); }
    });
    return out;
  }

  function setStatus(text, ok) {
    document.querySelectorAll(".trellis-live-status").forEach(function (el) {
      el.textContent = text;
      el.classList.toggle("good", ok);
      el.classList.toggle("bad", !ok);
    });
  }

  function apply(values) {
    Object.keys(values).forEach(function (key) {
      var value = values[key] === null || values[key] === undefined ? "" : String(values[key]);
      document.querySelectorAll('[data-trellis-bind="' + CSS.escape(key) + '"]').forEach(function (el) {
        if (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT") {
          if (document.activeElement !== el) el.value = value;
        } else {
          el.textContent = value;
        }
      });
    });
  }

  function send(message) {
    var text = JSON.stringify(message);
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(text);
    else pending.push(text);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    socket.onopen = function () {
      retryMs = 500;
      setStatus("live", true);
      send({ type: "subscribe", topics: topics(), page: location.pathname });
      while (pending.length) socket.send(pending.shift());
    };
    socket.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "update" && msg.values) apply(msg.values);
      else if (msg.type === "error") console.warn("trellis: " + msg.message);
    };
    socket.onclose = function () {
      setStatus("reconnecting…", false);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 10000);
    };
  }

  function fields(form) {
    var out = {};
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string") out[name] = value;
    });
    return out;
  }

  function eventFor(el, value, formFields) {
    var target = el.getAttribute("data-trellis-event") || "";
    var slash = target.indexOf("/");
    if (slash <= 0) { console.warn("trellis: data-trellis-event must be 'plugin/name'"); return; }
    send({
      type: "event", plugin: target.slice(0, slash), name: target.slice(slash + 1),
      value: value, fields: formFields || {}, page: location.pathname
    });
  }

  document.addEventListener("click", function (ev) {
    var el = ev.target.closest("[data-trellis-event]");
    if (!el || el.tagName === "FORM" || el.tagName === "INPUT" || el.tagName === "SELECT" ||
        el.tagName === "TEXTAREA") return;
    ev.preventDefault();
    eventFor(el, el.getAttribute("value") || el.textContent.trim());
  });
  document.addEventListener("change", function (ev) {
    var el = ev.target.closest("[data-trellis-event]");
    if (!el || el.tagName === "FORM") return;
    eventFor(el, el.type === "checkbox" ? String(el.checked) : el.value);
  });
  function csrfToken() {
    var meta = document.querySelector('meta[name="trellis-csrf"]');
    return meta ? meta.getAttribute("content") : "";
  }
  window.trellis = window.trellis || {};
  window.trellis.csrfToken = csrfToken;
  window.trellis.fetch = function (url, options) {
    options = options || {};
    var headers = new Headers(options.headers || {});
    if (csrfToken()) headers.set("X-CSRF-Token", csrfToken());
    options.headers = headers;
    options.credentials = "same-origin";
    return fetch(url, options);
  };

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if ((form.getAttribute("method") || "").toLowerCase() === "post" && csrfToken() && !form.elements._csrf) {
      var hidden = document.createElement("input");
      hidden.type = "hidden";
      hidden.name = "_csrf";
      hidden.value = csrfToken();
      form.appendChild(hidden);
    }
    if (!form.hasAttribute("data-trellis-event")) return;
    ev.preventDefault();
    eventFor(form, "", fields(form));
  });

  if (document.querySelector("[data-trellis-topic], [data-trellis-event]")) connect();
})();
