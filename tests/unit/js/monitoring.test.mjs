// Unit tests of the monitoring dashboard's script (plugins/monitoring/assets/
// monitoring.js) without a browser: the file runs in a bare VM context (no
// document, so it only publishes its pure functions as trellisMonitoring),
// and those are checked on monitoring-history.json, a document in the shape
// of GET /api/v1/monitoring/history. The page itself is tested against the
// real host in tests/e2e/monitoring.test.mjs.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { test } from "node:test";
import vm from "node:vm";

const here = path.dirname(fileURLToPath(import.meta.url));
const script = path.resolve(here, "../../../plugins/monitoring/assets/monitoring.js");
const fixture = () => JSON.parse(fs.readFileSync(path.join(here, "monitoring-history.json"), "utf8"));

function load() {
  const context = { window: {} };
  vm.runInNewContext(fs.readFileSync(script, "utf8"), context, { filename: script });
  // Arrays made in the VM have another Array.prototype: compare as plain data.
  const m = context.window.trellisMonitoring;
  return new Proxy(m, { get: (t, k) => (...args) => JSON.parse(JSON.stringify(t[k](...args)) ?? "null") });
}

const m = load();

test("a history document in the agreed shape has no shape problem", () => {
  assert.equal(m.shapeProblem(fixture()), "");
  // An update carries the same shape with one point per series.
  const update = fixture();
  for (const k of Object.keys(update.series)) update.series[k] = update.series[k].slice(-1);
  assert.equal(m.shapeProblem(update), "");
});

test("documents of another shape are named for what is wrong", () => {
  assert.equal(m.shapeProblem(null), "it is not a JSON object");
  assert.equal(m.shapeProblem([]), "it is not a JSON object");
  assert.equal(m.shapeProblem({}), "it has no object 'series'");
  assert.equal(m.shapeProblem({ series: { request_rate: 5 } }), "'series.request_rate' is not an array");
  assert.equal(m.shapeProblem({ series: { latency_p99: [[1, 2], ["x", 3]] } }),
               "point 2 of 'series.latency_p99' is not [unix_ms, number or null]");
  assert.equal(m.shapeProblem({ series: { error_rate: [[1, "0.5"]] } }),
               "point 1 of 'series.error_rate' is not [unix_ms, number or null]");
  assert.equal(m.shapeProblem({ series: {}, alerts: {} }), "'alerts' is not an array");
  assert.equal(m.shapeProblem({ series: {}, plugins: "x" }), "'plugins' is not an array");
});

test("appending keeps time order, replaces a repeated step and marks a gap", () => {
  assert.deepEqual(m.appendPoints([[1000, 1], [6000, 2]], [[11000, 3]], 5000), [[1000, 1], [6000, 2], [11000, 3]]);
  // The same step again (a repeated publish) replaces the value.
  assert.deepEqual(m.appendPoints([[1000, 1], [6000, 2]], [[6000, 9]], 5000), [[1000, 1], [6000, 9]]);
  // An older point (from before a reconnect) is ignored.
  assert.deepEqual(m.appendPoints([[1000, 1], [6000, 2]], [[1000, 7]], 5000), [[1000, 1], [6000, 2]]);
  // Missed steps leave a null, so the line breaks instead of bridging them.
  assert.deepEqual(m.appendPoints([[1000, 1]], [[21000, 4]], 5000), [[1000, 1], [6000, null], [21000, 4]]);
  assert.deepEqual(m.appendPoints([], [[1000, null], [6000, 2]], 5000), [[1000, null], [6000, 2]]);
});

test("trimming keeps one window before the newest point of any series", () => {
  const hour = 3600000;
  const series = {
    request_rate: [[5000, 1], [10000, 2], [hour, 3], [hour + 5000, 4]],
    error_rate: [[0, 0], [hour + 10000, 0.1]],
    latency_p50: [],
  };
  assert.deepEqual(m.trim(series, hour), {
    // The newest point is error_rate's, at hour + 10 s: 10 s and later stay.
    request_rate: [[10000, 2], [hour, 3], [hour + 5000, 4]],
    error_rate: [[hour + 10000, 0.1]],
    latency_p50: [],
  });
  assert.deepEqual(m.trim({ a: [], b: [] }, hour), { a: [], b: [] });
});

test("slow queries of updates are added once, and the slowest of the window come first", () => {
  const a = { source: "demo", query: "SELECT 1", duration_ms: 12, time: 1000 };
  const b = { source: "demo", query: "SELECT 2", duration_ms: 900, time: 2000 };
  const c = { source: "pg", query: "SELECT 3", duration_ms: 40, time: 3000 };
  // The history holds a and b; an update brings c, and a again (the same step published twice).
  const kept = m.mergeSlowQueries([a, b], [c, a]);
  assert.deepEqual(kept, [a, b, c]);
  assert.deepEqual(m.mergeSlowQueries([], undefined), []);
  // The same query at another time is another entry.
  assert.equal(m.mergeSlowQueries([a], [{ ...a, time: 5000 }]).length, 2);
  assert.deepEqual(m.slowest([a, b, c], 0, 10), [b, c, a]);
  assert.deepEqual(m.slowest([a, b, c], 0, 2), [b, c]);
  // Older than the window: gone.
  assert.deepEqual(m.slowest([a, b, c], 1500, 10), [b, c]);
  assert.deepEqual(m.slowest(fixture().slow_queries, 0, 10).map((q) => q.duration_ms), [812.4]);
});

test("only firing and pending alerts show, firing first, then by severity", () => {
  const names = m.activeAlerts(fixture().alerts).map((a) => a.name);
  assert.deepEqual(names, ["HighErrorRate", "SlowP95"]);
  const more = [
    { name: "b", state: "pending", severity: "critical", active_since: 5 },
    { name: "a", state: "firing", severity: "info", active_since: 9 },
    { name: "c", state: "firing", severity: "critical", active_since: 7 },
    { name: "d", state: "firing", severity: "critical", active_since: 3 },
    { name: "e", state: "firing", severity: "odd one", active_since: 1 },
  ];
  assert.deepEqual(m.activeAlerts(more).map((a) => a.name), ["d", "c", "a", "e", "b"]);
  assert.deepEqual(m.activeAlerts(undefined), []);
});

test("severities become safe class names", () => {
  assert.equal(m.severityName("Critical"), "critical");
  assert.equal(m.severityName("page \"me\" <now>"), "pagemenow");
  assert.equal(m.severityName(null), "none");
  assert.equal(m.severityName(""), "none");
});

test("times are written in UTC, with the date when not today", () => {
  const now = Date.UTC(2025, 10, 26, 12, 0, 0);
  assert.equal(m.utcTime(Date.UTC(2025, 10, 26, 9, 5, 7), now), "09:05:07");
  assert.equal(m.utcTime(Date.UTC(2025, 10, 25, 23, 59, 30), now), "2025-11-25 23:59");
  assert.equal(m.duration(0), "0 s");
  assert.equal(m.duration(42000), "42 s");
  assert.equal(m.duration(5 * 60000 + 10000), "5 min");
  assert.equal(m.duration(2 * 3600000 + 10 * 60000), "2 h 10 min");
  assert.equal(m.duration(3 * 3600000), "3 h");
  assert.equal(m.duration(3 * 86400000 + 4 * 3600000), "3 d 4 h");
  assert.equal(m.duration(-5000), "0 s");
});
