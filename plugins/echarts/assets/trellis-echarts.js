// The browser half of the echarts plugin: turns its renderings into charts.
//
// A rendering is an element
//   <div class="trellis-echarts" data-height="360" data-format="number" ...>
//     <script type="application/json">{ an ECharts option }</script>
//   </div>
// This file runs after echarts.min.js (the layout loads both with defer, in
// that order). It makes a chart of every such element on the page, and of
// every one added later (live pages replace content), follows the page's
// light or dark scheme as host/assets/trellis.css does (prefers-color-scheme),
// resizes charts with their element and disposes of them when their element
// leaves the page. No inline script and no eval, so a strict CSP allows it.
//
// When a chart has drawn, its element gets data-trellis-echarts="ready" (or
// "error", with the reason in the console).
(function () {
  "use strict";
  var SELECTOR = ".trellis-echarts";
  var echarts = window.echarts;
  if (!echarts || typeof echarts.init !== "function") {
    console.error("trellis-echarts: ECharts is not loaded; the page must load /echarts/static/echarts.min.js first");
    return;
  }
  var scheme = window.matchMedia ? window.matchMedia("(prefers-color-scheme: dark)") : null;
  var charts = new Map(); // element -> { chart, source: its <script> element, text }
  var resizer = typeof ResizeObserver === "function" ? new ResizeObserver(resized) : null;

  function theme() {
    return scheme && scheme.matches ? "dark" : null;
  }

  // -- Values as the rendering's data-format says ---------------------------

  function numberFormat(spec, forAxis) {
    var options = { maximumFractionDigits: 2 };
    if (spec === "integer") {
      options = { maximumFractionDigits: 0 };
    } else if (spec === "compact") {
      options = { notation: "compact", maximumFractionDigits: 1 };
    } else if (spec === "percent") {
      options = { style: "percent", maximumFractionDigits: 1 };
    } else if (/^currency:[A-Z]{3}$/.test(spec || "")) {
      options = { style: "currency", currency: spec.slice(9) };
      if (forAxis) options.minimumFractionDigits = 0;
    }
    var locale = document.documentElement.lang || undefined;
    var format;
    try {
      format = new Intl.NumberFormat(locale, options);
    } catch (e) {
      format = new Intl.NumberFormat(undefined, { maximumFractionDigits: 2 });
    }
    return function (value) {
      if (Array.isArray(value)) value = value[value.length - 1];
      if (typeof value === "number" && isFinite(value)) return format.format(value);
      return value === null || value === undefined ? "–" : String(value);
    };
  }

  function instant(p) {
    var t = new Date(p.value);
    var day = echarts.time.format(t, "{yyyy}-{MM}-{dd}", true);
    if (t.getTime() % 86400000 === 0) return day;
    return day + " " + echarts.time.format(t, t.getUTCSeconds() ? "{HH}:{mm}:{ss}" : "{HH}:{mm}", true);
  }

  function each(parts, fn) {
    if (!parts) return;
    (Array.isArray(parts) ? parts : [parts]).forEach(fn);
  }

  // Functions cannot travel in JSON: formatters are added here.
  function decorate(option, el) {
    var value = numberFormat(el.getAttribute("data-format"), false);
    var axis = numberFormat(el.getAttribute("data-format"), true);
    var encode = echarts.format.encodeHTML;
    option.textStyle = Object.assign({ fontFamily: getComputedStyle(el).fontFamily }, option.textStyle);
    if (option.tooltip) {
      // Inside the chart, so a tooltip never widens a narrow page.
      option.tooltip = Object.assign({ className: "trellis-echarts-tooltip", confine: true, valueFormatter: value },
                                     option.tooltip);
    }
    function valueAxis(a) {
      if (a.type === "value") a.axisLabel = Object.assign({}, a.axisLabel, { formatter: axis });
    }
    each(option.xAxis, valueAxis);
    each(option.yAxis, valueAxis);
    each(option.xAxis, function (a) {
      // The tooltip's heading for a time: the date, and the time of day only when there is one.
      if (a.type === "time") a.axisPointer = Object.assign({}, a.axisPointer, { label: { formatter: instant } });
    });
    each(option.visualMap, function (v) { v.formatter = axis; });
    each(option.series, function (s) {
      if (s.label && s.label.show && s.type !== "pie") {
        s.label.formatter = function (p) { return value(p.value); };
      }
    });
    var heatmap = (option.series || []).some(function (s) { return s.type === "heatmap"; });
    if (heatmap && option.tooltip) {
      var xs = (option.xAxis && option.xAxis.data) || [];
      var ys = (option.yAxis && option.yAxis.data) || [];
      // Text from the data is HTML-escaped: the tooltip is an HTML element.
      option.tooltip.formatter = function (p) {
        var v = p.value || [];
        return encode(String(ys[v[1]])) + " · " + encode(String(xs[v[0]])) + "<br>" + p.marker +
          encode(p.seriesName) + ": <b>" + encode(value(v[2])) + "</b>";
      };
    }
    return option;
  }

  // -- Charts ---------------------------------------------------------------

  function fail(el, message) {
    el.setAttribute("data-trellis-echarts", "error");
    console.error("trellis-echarts: " + message);
  }

  function draw(el, entry, keep) {
    var option;
    try {
      option = JSON.parse(entry.text);
    } catch (e) {
      fail(el, "the option of a chart is not valid JSON (" + e.message + ")");
      return;
    }
    el.removeAttribute("data-trellis-echarts");  // "ready" again once this drawing is done
    try {
      entry.chart = echarts.init(el, theme(), { renderer: "svg" });
      entry.chart.on("finished", function () {
        if (el.getAttribute("data-trellis-echarts") !== "ready") el.setAttribute("data-trellis-echarts", "ready");
      });
      entry.chart.setOption(decorate(option, el));
      if (keep) entry.chart.setOption(keep);
    } catch (e) {
      fail(el, "could not draw a chart: " + e.message);
    }
  }

  function hydrate(el) {
    if (charts.has(el)) return;
    var source = null;
    for (var c = el.firstElementChild; c; c = c.nextElementSibling) {
      if (c.tagName === "SCRIPT" && c.type === "application/json") source = c;
    }
    if (!source) {
      fail(el, "a .trellis-echarts element has no <script type=\"application/json\"> option");
      return;
    }
    // A strict CSP may drop the style attribute; the height comes back here.
    if (!el.style.height && el.getAttribute("data-height")) el.style.height = el.getAttribute("data-height") + "px";
    var entry = { chart: null, source: source, text: source.textContent };
    charts.set(el, entry);
    draw(el, entry, null);
    if (resizer) resizer.observe(el);
  }

  // ECharts empties the element when it disposes of a chart; the option goes
  // back in, so the element can be drawn again (moved, or in another theme).
  function dispose(el, entry) {
    if (entry.chart && !entry.chart.isDisposed()) entry.chart.dispose();
    entry.chart = null;
    if (entry.source.parentNode !== el) el.insertBefore(entry.source, el.firstChild);
  }

  function release(el) {
    var entry = charts.get(el);
    if (!entry) return;
    if (resizer) resizer.unobserve(el);
    dispose(el, entry);
    charts.delete(el);
  }

  function resized(entries) {
    // After layout settles, outside the observer callback (a resize inside
    // it would report a loop).
    window.requestAnimationFrame(function () {
      entries.forEach(function (e) {
        var entry = charts.get(e.target);
        if (entry && entry.chart && !entry.chart.isDisposed()) entry.chart.resize();
      });
    });
  }

  // The scheme changed: draw again in the other theme, keeping what the
  // reader chose (hidden series, zoom).
  function rethemed() {
    charts.forEach(function (entry, el) {
      if (!entry.chart || entry.chart.isDisposed()) return;
      var old = entry.chart.getOption();
      var keep = {};
      if (old.legend && old.legend[0] && old.legend[0].selected) keep.legend = { selected: old.legend[0].selected };
      if (old.dataZoom) keep.dataZoom = old.dataZoom.map(function (z) { return { start: z.start, end: z.end }; });
      dispose(el, entry);
      draw(el, entry, keep);
    });
  }

  function scan(root) {
    if (root.nodeType !== 1) return;
    if (root.matches(SELECTOR)) hydrate(root);
    if (root.firstElementChild) root.querySelectorAll(SELECTOR).forEach(hydrate);
  }

  function start() {
    scan(document.documentElement);
    new MutationObserver(function (mutations) {
      var removed = false;
      mutations.forEach(function (m) {
        m.addedNodes.forEach(scan);
        removed = removed || m.removedNodes.length > 0;
      });
      if (removed) {
        charts.forEach(function (entry, el) {
          if (!el.isConnected) release(el);
        });
      }
    }).observe(document.documentElement, { childList: true, subtree: true });
    if (scheme) {
      if (scheme.addEventListener) scheme.addEventListener("change", rethemed);
      else if (scheme.addListener) scheme.addListener(rethemed);
    }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
