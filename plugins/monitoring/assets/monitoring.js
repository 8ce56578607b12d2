// The browser half of the monitoring dashboard (/monitoring/).
//
// The page (plugins/monitoring/monitoring.cpp) holds an element #monitoring
// whose data- attributes say where the figures are:
//   data-history="/api/v1/monitoring/history?minutes=60"  the last hour, as JSON
//   data-topic="trellis/monitoring"                        the WebSocket topic of each new step
//   data-window-minutes="60"                               how much the charts keep
// and one card per chart with an empty echarts-line rendering inside, whose
// scripts (echarts.min.js, trellis-echarts.js) the layout loaded.
//
// This script fetches the history, puts the lines into those charts (a new
// option in the rendering's element, which trellis-echarts.js draws with the
// page's theme, formats and size), then listens on /ws: each update carries
// the newest point of every series, which is appended while points older
// than the window are dropped; the tables are replaced with the update's.
// After a lost connection the history is fetched again, so no gap stays.
//
// No inline script and no eval: a Content-Security-Policy without
// 'unsafe-inline' allows the page.
(function () {
  "use strict";

  // -- Pure functions (window.trellisMonitoring exposes them to tests) -------

  var SERIES = ["request_rate", "error_rate", "latency_p50", "latency_p95", "latency_p99"];
  var ALERT_STATES = { firing: 0, pending: 1 };
  var SEVERITY_RANK = { critical: 0, error: 1, warning: 2, info: 3 };

  // What is wrong with a history or update document, or "" when it has the shape.
  function shapeProblem(doc) {
    if (!doc || typeof doc !== "object" || Array.isArray(doc)) return "it is not a JSON object";
    if (!doc.series || typeof doc.series !== "object") return "it has no object 'series'";
    for (var i = 0; i < SERIES.length; ++i) {
      var s = doc.series[SERIES[i]];
      if (s === undefined) continue;  // a figure the host does not keep is drawn empty
      if (!Array.isArray(s)) return "'series." + SERIES[i] + "' is not an array";
      for (var j = 0; j < s.length; ++j) {
        if (!Array.isArray(s[j]) || typeof s[j][0] !== "number" || (s[j][1] !== null && typeof s[j][1] !== "number")) {
          return "point " + (j + 1) + " of 'series." + SERIES[i] + "' is not [unix_ms, number or null]";
        }
      }
    }
    var lists = ["slow_queries", "plugins", "alerts"];
    for (var k = 0; k < lists.length; ++k) {
      if (doc[lists[k]] !== undefined && !Array.isArray(doc[lists[k]])) return "'" + lists[k] + "' is not an array";
    }
    return "";
  }

  // Appends `fresh` points to `kept` (both [[unix_ms, value], ...], by time):
  // a point at a time already there replaces it, an older one is ignored, and
  // a jump of more than two steps gets a null point so the line shows the gap.
  function appendPoints(kept, fresh, stepMs) {
    fresh.forEach(function (p) {
      var last = kept.length ? kept[kept.length - 1] : null;
      if (last && p[0] === last[0]) {
        kept[kept.length - 1] = [p[0], p[1]];
      } else if (!last || p[0] > last[0]) {
        if (last && stepMs > 0 && p[0] - last[0] > 2 * stepMs) kept.push([last[0] + stepMs, null]);
        kept.push([p[0], p[1]]);
      }
    });
    return kept;
  }

  // Drops the points older than `windowMs` before the newest point of all series.
  function trim(series, windowMs) {
    var newest = -Infinity;
    Object.keys(series).forEach(function (k) {
      var s = series[k];
      if (s.length) newest = Math.max(newest, s[s.length - 1][0]);
    });
    if (newest === -Infinity) return series;
    var oldest = newest - windowMs;
    Object.keys(series).forEach(function (k) {
      var s = series[k];
      var drop = 0;
      while (drop < s.length && s[drop][0] < oldest) ++drop;
      if (drop) s.splice(0, drop);
    });
    return series;
  }

  // Adds the slow queries of `fresh` that `kept` does not hold yet: updates
  // carry those of their step only, the history all of its window.
  function mergeSlowQueries(kept, fresh) {
    var key = function (q) { return [q.time, q.source, q.duration_ms, q.query].join("\u0000"); };
    var seen = {};
    kept.forEach(function (q) { seen[key(q)] = true; });
    (fresh || []).forEach(function (q) {
      if (q && typeof q === "object" && !seen[key(q)]) {
        seen[key(q)] = true;
        kept.push(q);
      }
    });
    return kept;
  }

  // The `n` slowest queries that ran at `oldestMs` or later, slowest first.
  function slowest(queries, oldestMs, n) {
    return queries.filter(function (q) { return !(typeof q.time === "number" && q.time < oldestMs); })
      .sort(function (a, b) { return (Number(b.duration_ms) || 0) - (Number(a.duration_ms) || 0); })
      .slice(0, n);
  }

  // The alerts worth showing: firing first, then pending; by severity, then
  // the longest active first.
  function activeAlerts(alerts) {
    return (alerts || []).filter(function (a) {
      return a && Object.prototype.hasOwnProperty.call(ALERT_STATES, a.state);
    }).sort(function (a, b) {
      var rank = function (s) { return Object.prototype.hasOwnProperty.call(SEVERITY_RANK, s) ? SEVERITY_RANK[s] : 9; };
      return ALERT_STATES[a.state] - ALERT_STATES[b.state] || rank(severityName(a.severity)) - rank(severityName(b.severity)) ||
        (a.active_since || 0) - (b.active_since || 0) || String(a.name).localeCompare(String(b.name));
    });
  }

  // A severity as a class name part: lowercase letters, digits and '-'.
  function severityName(s) {
    var name = String(s === null || s === undefined ? "" : s).toLowerCase().replace(/[^a-z0-9-]/g, "");
    return name || "none";
  }

  // "12:04:05" for today (UTC), "2024-03-01 12:04" otherwise.
  function utcTime(ms, nowMs) {
    var d = new Date(ms);
    var iso = d.toISOString();
    if (iso.slice(0, 10) === new Date(nowMs).toISOString().slice(0, 10)) return iso.slice(11, 19);
    return iso.slice(0, 10) + " " + iso.slice(11, 16);
  }

  // "for 42 s", "for 5 min", "for 2 h 10 min", "for 3 d 4 h".
  function duration(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return s + " s";
    var m = Math.floor(s / 60);
    if (m < 60) return m + " min";
    var h = Math.floor(m / 60);
    if (h < 24) return h + " h" + (m % 60 ? " " + (m % 60) + " min" : "");
    return Math.floor(h / 24) + " d" + (h % 24 ? " " + (h % 24) + " h" : "");
  }

  var api = {
    shapeProblem: shapeProblem, appendPoints: appendPoints, trim: trim, mergeSlowQueries: mergeSlowQueries,
    slowest: slowest, activeAlerts: activeAlerts,
    severityName: severityName, utcTime: utcTime, duration: duration
  };
  if (typeof window !== "undefined") window.trellisMonitoring = api;
  if (typeof document === "undefined") return;

  var root = document.getElementById("monitoring");
  if (!root) return;

  // -- State -----------------------------------------------------------------

  var historyUrl = root.getAttribute("data-history");
  var topic = root.getAttribute("data-topic");
  var windowMs = (Number(root.getAttribute("data-window-minutes")) || 60) * 60000;
  var series = {};
  SERIES.forEach(function (k) { series[k] = []; });
  var stepMs = 0;
  var SLOWEST = 10;  // rows of the slow-query table
  var slowQueries = [];  // of the window, as they came
  var last = null;  // the newest document, for the tables
  var socket = null;
  var retryMs = 1000;
  var connectedOnce = false;
  var loading = false;
  var locale = document.documentElement.lang || undefined;
  var integer = new Intl.NumberFormat(locale, { maximumFractionDigits: 0 });
  var decimal = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  var figure = new Intl.NumberFormat(locale, { maximumSignificantDigits: 4 });  // 0.137, 31.5, 1,843

  // -- Messages --------------------------------------------------------------

  function message(text) {
    var box = document.getElementById("monitoring-message");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }

  function live(text, ok) {
    var el = document.getElementById("monitoring-live");
    if (!el) return;
    el.textContent = text;
    el.classList.toggle("good", ok === true);
    el.classList.toggle("bad", ok === false);
  }

  // -- Charts ----------------------------------------------------------------

  function cards() {
    return Array.prototype.slice.call(root.querySelectorAll(".monitoring-chart"));
  }

  function words(el, name) {
    return (el.getAttribute(name) || "").split(" ").filter(Boolean);
  }

  // A JSON array of strings in an attribute (the legend labels, which may hold spaces).
  function strings(el, name) {
    try {
      var list = JSON.parse(el.getAttribute(name) || "[]");
      return Array.isArray(list) ? list.map(String) : [];
    } catch (e) {
      return [];
    }
  }

  // The ECharts option of a card: what the server's rendering set (title,
  // colours, UTC), with a time axis and one line per series.
  function chartOption(card, base) {
    var keys = words(card, "data-series");
    var labels = strings(card, "data-labels");
    var unit = card.getAttribute("data-unit") || "";
    var several = keys.length > 1;
    var top = base.title ? 34 : 6;
    var option = {
      backgroundColor: "transparent",
      useUTC: true,
      color: words(card, "data-colors").length ? words(card, "data-colors") : base.color,
      tooltip: { trigger: "axis" },
      xAxis: { type: "time", axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", min: 0, name: unit, nameTextStyle: { align: "left" } },
      grid: { left: 12, right: 28, top: top + 28, bottom: 12, containLabel: true },
      series: keys.map(function (k, i) {
        return {
          type: "line", name: labels[i] || k, data: series[k].slice(), showSymbol: false,
          connectNulls: false, emphasis: { focus: "series" }
        };
      })
    };
    if (base.title) option.title = base.title;
    // The legend goes on the title's line, right, clear of the axis name.
    if (several) option.legend = { type: "scroll", data: labels, top: 6, right: 4 };
    return option;
  }

  // Replaces the server's empty rendering with one that has the lines; the
  // echarts runtime (trellis-echarts.js) draws the new element.
  function mount(card) {
    var old = card.querySelector(".trellis-echarts");
    if (!old) return;
    var source = old.querySelector('script[type="application/json"]');
    var base = {};
    try { base = JSON.parse(source ? source.textContent : "{}"); } catch (e) { base = {}; }
    var el = document.createElement("div");
    ["class", "data-height", "data-format", "role"].forEach(function (a) {
      if (old.hasAttribute(a)) el.setAttribute(a, old.getAttribute(a));
    });
    var title = base.title && base.title.text ? base.title.text : "Chart";
    el.setAttribute("aria-label", title + " over the last " + Math.round(windowMs / 60000) + " minutes");
    el.setAttribute("data-monitoring", "drawn");
    var json = document.createElement("script");
    json.type = "application/json";
    json.textContent = JSON.stringify(chartOption(card, base));
    el.appendChild(json);
    old.replaceWith(el);
  }

  function drawn(card) {
    return card.querySelector('.trellis-echarts[data-monitoring="drawn"]');
  }

  // Puts the current points into a drawn chart. The runtime may have drawn
  // the element again (another colour scheme) from its first option; then
  // this runs again once it is ready (see watchRedraws).
  function fill(card) {
    var el = drawn(card);
    var chart = el && window.echarts ? window.echarts.getInstanceByDom(el) : null;
    if (!chart) return;
    chart.setOption({
      series: words(card, "data-series").map(function (k) { return { data: series[k].slice() }; })
    });
    el.setAttribute("data-points", String(words(card, "data-series").reduce(function (n, k) {
      return n + series[k].length;
    }, 0)));
  }

  function drawCharts() {
    cards().forEach(function (card) {
      if (drawn(card)) fill(card);
      else mount(card);
    });
  }

  function watchRedraws() {
    new MutationObserver(function (mutations) {
      mutations.forEach(function (m) {
        var el = m.target;
        if (el.getAttribute("data-trellis-echarts") !== "ready" || el.getAttribute("data-monitoring") !== "drawn") return;
        var chart = window.echarts ? window.echarts.getInstanceByDom(el) : null;
        if (chart && el.__monitoringChart !== chart) {
          el.__monitoringChart = chart;
          fill(el.closest(".monitoring-chart"));
        }
      });
    }).observe(root, { subtree: true, attributes: true, attributeFilter: ["data-trellis-echarts"] });
  }

  // -- Tables ----------------------------------------------------------------

  // `label`: the column's name, shown before the value where the table is
  // stacked (narrow windows).
  function cell(content, className, label) {
    var td = document.createElement("td");
    if (className) td.className = className;
    if (label) td.setAttribute("data-label", label);
    if (content instanceof Node) td.appendChild(content);
    else td.textContent = content === null || content === undefined ? "" : String(content);
    return td;
  }

  function span(text, className) {
    var s = document.createElement("span");
    s.className = className;
    s.textContent = text;
    return s;
  }

  function when(ms, nowMs) {
    var box = document.createDocumentFragment();
    if (typeof ms !== "number") {
      box.appendChild(document.createTextNode("–"));
      return box;
    }
    var t = document.createElement("time");
    t.dateTime = new Date(ms).toISOString();
    t.textContent = utcTime(ms, nowMs);
    box.appendChild(t);
    box.appendChild(document.createTextNode(" "));
    box.appendChild(span(nowMs >= ms ? duration(nowMs - ms) + " ago" : "", "ago"));
    return box;
  }

  // Fills a section's table, or shows its "nothing" line when there are no rows.
  function table(sectionId, rows, emptyText) {
    var section = document.getElementById(sectionId);
    if (!section) return;
    var tbody = section.querySelector("tbody");
    var empty = section.querySelector(".monitoring-empty");
    tbody.replaceChildren.apply(tbody, rows);
    section.querySelector("table").hidden = rows.length === 0;
    if (empty) {
      empty.textContent = emptyText;
      empty.hidden = rows.length > 0;
    }
  }

  function heading(sectionId, text, className) {
    var h = document.querySelector("#" + sectionId + " h2");
    if (!h) return;
    var count = h.querySelector(".count");
    if (!count) {
      count = document.createElement("span");
      h.appendChild(count);
    }
    count.className = "count " + (className || "muted");
    count.textContent = text;
  }

  function alertRows(doc, nowMs) {
    var all = doc.alerts || [];
    var active = activeAlerts(all);
    var firing = active.filter(function (a) { return a.state === "firing"; }).length;
    var counts = [];
    if (firing) counts.push(firing + " firing");
    if (active.length > firing) counts.push(active.length - firing + " pending");
    heading("monitoring-alerts", counts.join(", "), firing ? "bad" : "muted");
    var rows = active.map(function (a) {
      var sev = severityName(a.severity);
      var tr = document.createElement("tr");
      tr.className = "alert alert-" + a.state + " severity-row-" + sev;
      var name = document.createDocumentFragment();
      name.appendChild(span(String(a.name), "alert-name"));
      if (a.summary) {
        var s = document.createElement("div");
        s.className = "summary";
        s.textContent = a.summary;
        name.appendChild(s);
      }
      var labels = a.labels && typeof a.labels === "object" ? Object.keys(a.labels) : [];
      if (labels.length) {
        var l = document.createElement("div");
        l.className = "labels";
        l.textContent = labels.map(function (k) { return k + "=" + a.labels[k]; }).join(" ");
        name.appendChild(l);
      }
      tr.appendChild(cell(name, "wide"));
      tr.appendChild(cell(span(a.severity ? String(a.severity) : "none", "tag severity severity-" + sev)));
      tr.appendChild(cell(span(a.state, "alert-state-" + a.state), "end"));
      tr.appendChild(cell(when(a.state === "firing" && typeof a.fired_at === "number" ? a.fired_at : a.active_since,
                               nowMs), "when", "Since"));
      tr.appendChild(cell(typeof a.value === "number" ? figure.format(a.value) : "–", "num end", "Value"));
      return tr;
    });
    var emptyText = all.length === 0 ? "No alert rules are configured."
      : "Nothing is firing or pending (" + all.length + (all.length === 1 ? " rule" : " rules") + ").";
    table("monitoring-alerts", rows, emptyText);
  }

  function newestPoint() {
    var newest = -Infinity;
    SERIES.forEach(function (k) {
      if (series[k].length) newest = Math.max(newest, series[k][series[k].length - 1][0]);
    });
    return newest;
  }

  function slowRows(nowMs) {
    var newest = newestPoint();
    var oldest = newest === -Infinity ? nowMs - windowMs : newest - windowMs;
    var shown = slowest(slowQueries, oldest, SLOWEST);
    var inWindow = slowest(slowQueries, oldest, Infinity).length;
    heading("monitoring-slow", inWindow > SLOWEST ? "the " + SLOWEST + " slowest of " + inWindow : "");
    var rows = shown.map(function (q) {
      var tr = document.createElement("tr");
      tr.appendChild(cell(q.source, "wide", "Source"));
      var code = document.createElement("code");
      code.className = "query";
      code.textContent = q.query === null || q.query === undefined ? "" : String(q.query);
      code.title = code.textContent;
      tr.appendChild(cell(code, "wide"));
      tr.appendChild(cell(typeof q.duration_ms === "number" ? decimal.format(q.duration_ms) + " ms" : "–", "num"));
      tr.appendChild(cell(when(q.time, nowMs), "when end"));
      return tr;
    });
    table("monitoring-slow", rows, "No slow query in the last " + Math.round(windowMs / 60000) + " minutes.");
  }

  function pluginRows(doc) {
    if (!Array.isArray(doc.plugins)) return;  // keep the list the server wrote
    var rows = doc.plugins.map(function (p) {
      var tr = document.createElement("tr");
      var id = document.createElement("strong");
      id.textContent = p.id;
      tr.appendChild(cell(id));
      var state = String(p.state);
      tr.appendChild(cell(span(state, state === "loaded" ? "tag good" : state === "rejected" ? "tag bad" : "tag")));
      tr.appendChild(cell(typeof p.calls === "number" ? integer.format(p.calls) : "–", "num"));
      tr.appendChild(cell(typeof p.errors === "number" ? integer.format(p.errors) : "–",
                          "num" + (p.errors > 0 ? " errors-some" : "")));
      return tr;
    });
    var section = document.getElementById("monitoring-plugins");
    if (section) section.querySelector("tbody").replaceChildren.apply(section.querySelector("tbody"), rows);
  }

  function drawTables() {
    if (!last) return;
    var nowMs = Date.now();
    alertRows(last, nowMs);
    slowRows(nowMs);
    pluginRows(last);
  }

  // -- Data ------------------------------------------------------------------

  // Alerts and plugins come whole with every document; slow queries of an
  // update are those of its step, added to what the page holds.
  function tables(doc, whole) {
    if (whole) slowQueries = [];
    mergeSlowQueries(slowQueries, Array.isArray(doc.slow_queries) ? doc.slow_queries : []);
    var newest = newestPoint();
    if (newest !== -Infinity) slowQueries = slowest(slowQueries, newest - windowMs, Infinity);
    last = {
      alerts: Array.isArray(doc.alerts) ? doc.alerts : (last && last.alerts) || [],
      plugins: Array.isArray(doc.plugins) ? doc.plugins : last && last.plugins
    };
    drawTables();
  }

  function resolution(doc) {
    if (typeof doc.resolution_seconds === "number" && doc.resolution_seconds > 0) {
      stepMs = doc.resolution_seconds * 1000;
    }
  }

  function replaceHistory(doc) {
    resolution(doc);
    SERIES.forEach(function (k) {
      series[k] = appendPoints([], Array.isArray(doc.series[k]) ? doc.series[k] : [], stepMs);
    });
    trim(series, windowMs);
    tables(doc, true);
    drawCharts();
    live(stepMs ? "live, every " + stepMs / 1000 + " s" : "live", true);
  }

  function update(doc) {
    var problem = shapeProblem(doc);
    if (problem) {
      console.warn("monitoring: an update on " + topic + " was ignored: " + problem);
      return;
    }
    resolution(doc);
    SERIES.forEach(function (k) {
      if (Array.isArray(doc.series[k])) appendPoints(series[k], doc.series[k], stepMs);
    });
    trim(series, windowMs);
    tables(doc, false);
    drawCharts();
  }

  // Why the history could not be had, in words for whoever looks at the page.
  function failure(status, detail) {
    if (status === 404) {
      return "This host does not serve monitoring figures: " + historyUrl + " answered 404 Not Found. " +
        "The dashboard needs a Trellis host that records them (see docs/operations.md, Monitoring dashboard).";
    }
    if (status === 401 || status === 403) {
      return "You may not read the monitoring figures (" + historyUrl + " answered " + status + "). " +
        "Sign in as a user with the permission monitoring.dashboard:view.";
    }
    return "The monitoring figures could not be loaded: " + historyUrl + " answered " + status +
      (detail ? " (" + detail + ")" : "") + ".";
  }

  function load() {
    if (loading) return;
    loading = true;
    fetch(historyUrl, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (res) {
        if (!res.ok) {
          return res.json().catch(function () { return {}; }).then(function (body) {
            throw new Error(failure(res.status, body && typeof body.error === "string" ? body.error : ""));
          });
        }
        return res.json().catch(function () {
          throw new Error("The monitoring figures could not be read: " + historyUrl + " did not answer JSON.");
        });
      })
      .then(function (doc) {
        var problem = shapeProblem(doc);
        if (problem) throw new Error("The monitoring figures could not be read: the answer of " + historyUrl +
                                     " is not in the expected shape (" + problem + ").");
        message("");
        replaceHistory(doc);
        if (!socket) connect();
      })
      .catch(function (err) {
        var text = err && err.message ? err.message : String(err);
        var ours = /^(This host|You may|The monitoring)/.test(text);
        message(ours ? text : "The monitoring figures could not be loaded: " + text + ".");
        live("off", false);
        // A missing address or permission stays so; anything else (the host
        // restarting, a proxy's 502) may pass: try again.
        if (!/answered (404|401|403)\b/.test(text)) retryLoad();
      })
      .then(function () { loading = false; });
  }

  var retryTimer = null;
  function retryLoad() {
    if (retryTimer || socket) return;  // with a socket, its reconnect fetches again
    retryTimer = setTimeout(function () {
      retryTimer = null;
      load();
    }, 15000);
  }

  function connect() {
    var scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + "/ws");
    socket.onopen = function () {
      retryMs = 1000;
      socket.send(JSON.stringify({ type: "subscribe", topics: [topic], page: location.pathname }));
      live(stepMs ? "live, every " + stepMs / 1000 + " s" : "live", true);
      // Steps published while the connection was down come with the history.
      if (connectedOnce) load();
      connectedOnce = true;
    };
    socket.onmessage = function (ev) {
      var msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      if (msg.type === "update" && msg.topic === topic && msg.values) update(msg.values);
      else if (msg.type === "error") console.warn("monitoring: the server said: " + msg.message);
    };
    socket.onclose = function () {
      live("reconnecting…", false);
      setTimeout(connect, retryMs);
      retryMs = Math.min(retryMs * 2, 15000);
    };
  }

  function start() {
    live("loading…", null);
    watchRedraws();
    load();
    // "5 min ago" moves on between updates too.
    setInterval(drawTables, 15000);
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
