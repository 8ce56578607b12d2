// Browser tests of the monitoring dashboard (plugins/monitoring,
// docs/operations.md "Monitoring dashboard"): the real `trellis serve` with
// core-pages, echarts and monitoring from the build tree's plugin directory,
// and a configuration with a short monitoring step and an alert rule that
// fires as soon as the host answers requests. In headless Chromium the page
// must load without console errors, draw its three charts with a size, add a
// point when the next step arrives over the WebSocket, show the firing alert
// with its severity and since-time, and fit a 390 px wide window.
// Screenshots: <artifacts>/monitoring-*.png, and docs/images/monitoring.png
// with TRELLIS_UPDATE_DOC_IMAGES=1.
//
// The figures come from the host (GET /api/v1/monitoring/history and the
// topic trellis/monitoring). A host that answers that address with 404 gets
// the one test that applies to it: the page says so clearly.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { artifactsDir, launchBrowser, openPage, screenshot } from "./harness.mjs";

const PAGE = "/monitoring/";
const HISTORY = "/api/v1/monitoring/history?minutes=60";
// Chromium logs a fetch that is not 2xx as a console error.
const statusLogged = (code) => new RegExp(`status of ${code} `);

// The host's monitoring settings for the test: a one-second step, so the
// next point comes soon, a rule that fires on any traffic, and a demo
// database whose every query counts as slow.
const MONITORING_CONFIG = `[sources.demo]
plugin = "sqlite"
path = "demo.db"
read_only = true
slow_query_ms = 0

[monitoring]
resolution_seconds = 1

[[alerts.rules]]
name = "AnyTraffic"
expr = "rate(trellis_http_requests_total[10s]) > 0"
for = "0s"
severity = "critical"
summary = "The host answers requests"
`;

function pluginFiles() {
  const listed = (process.env.TRELLIS_E2E_PLUGINS || "").split(path.delimiter).filter(Boolean);
  const corePages = listed.find((f) => path.basename(f) === "core-pages.so");
  if (!corePages) throw new Error("TRELLIS_E2E_PLUGINS names no core-pages.so; run the suite through ctest");
  const dir = path.dirname(corePages);
  const files = ["core-pages.so", "sqlite.so", "echarts.so", "monitoring.so"].map((f) => path.join(dir, f));
  for (const f of files) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the targets core-pages, sqlite, echarts and monitoring`);
  }
  return files;
}

// `trellis serve` with `config` as trellis.toml; resolves once it printed its
// URL, rejects with its log when it exits first.
async function startHost(config) {
  const trellis = process.env.TRELLIS_BIN;
  if (!trellis) throw new Error("TRELLIS_BIN is not set; run the suite through ctest");
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-e2e-mon-"));
  fs.writeFileSync(path.join(work, "trellis.toml"), config);
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("TRELLIS_") && !key.startsWith("TRELLIS_E2E")) delete env[key];
  }
  // The page needs monitoring.dashboard:view: the browser acts as an
  // anonymous admin, as in the other page tests (harness.mjs).
  env.TRELLIS_AUTH_ANONYMOUS_ROLE = "admin";
  const init = spawnSync(trellis, ["demo", "init", "--path", path.join(work, "demo.db")], { env, encoding: "utf8" });
  if (init.status !== 0) throw new Error(`trellis demo init failed:\n${init.stderr}`);
  const args = ["--config", path.join(work, "trellis.toml"), "--no-default-plugins"];
  for (const file of pluginFiles()) {
    const dir = path.join(work, path.basename(file, ".so"));
    fs.mkdirSync(dir);
    fs.symlinkSync(file, path.join(dir, path.basename(file)));
    args.push("--plugin-dir", dir);
  }
  args.push("serve", "--listen", "127.0.0.1:0");
  const child = spawn(trellis, args, { env, stdio: ["ignore", "pipe", "pipe"], cwd: work });
  const server = { child, work, url: null, log: "", exit: null };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => { server.log += chunk; });
  process.on("exit", () => { if (server.exit === null) child.kill("SIGKILL"); });
  server.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      server.exit = { code, signal };
      resolve(server.exit);
    });
  });
  try {
    server.url = await new Promise((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error(`trellis did not start within 20 s:\n${server.log}`)), 20000);
      child.stdout.setEncoding("utf8");
      child.stdout.on("data", (chunk) => {
        out += chunk;
        const m = /Trellis is listening on (http:\/\/[^\s/]+)\//.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      child.on("exit", (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`trellis exited (${code ?? signal}) before listening:\n${server.log}`));
      });
    });
  } catch (err) {
    if (server.exit === null) child.kill("SIGKILL");
    await server.exited;
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }
  return server;
}

async function stopHost(server) {
  if (!server) return null;
  if (server.exit === null) server.child.kill("SIGTERM");
  const exit = await Promise.race([server.exited, new Promise((r) => setTimeout(() => r(null), 15000))]);
  if (exit === null) server.child.kill("SIGKILL");
  fs.mkdirSync(artifactsDir, { recursive: true });
  fs.writeFileSync(path.join(artifactsDir, "trellis-monitoring.log"), server.log);
  fs.rmSync(server.work, { recursive: true, force: true });
  return exit;
}

// Polls `check` until it gives something truthy; fails naming `what`.
async function until(check, what, ms = 30000) {
  const end = Date.now() + ms;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > end) throw new Error(`gave up waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

// Waits until the page drew its three charts with the history's lines, and
// fails at once when one could not be drawn.
async function chartsDrawn(page) {
  await page.waitForFunction(() => {
    const charts = [...document.querySelectorAll(".monitoring-chart .trellis-echarts")];
    if (charts.some((el) => el.getAttribute("data-trellis-echarts") === "error")) return true;
    return charts.length === 3 && charts.every((el) => el.getAttribute("data-monitoring") === "drawn" &&
                                                      el.getAttribute("data-trellis-echarts") === "ready" &&
                                                      el.hasAttribute("data-points"));
  }, null, { timeout: 20000 });
  assert.equal(await page.locator('.trellis-echarts[data-trellis-echarts="error"]').count(), 0,
               "a chart reported an error");
}

// The points a chart (card id) holds, as the chart itself has them.
function chartPoints(page, id) {
  return page.evaluate((id) => {
    const el = document.querySelector(`#${id} .trellis-echarts`);
    const chart = window.echarts.getInstanceByDom(el);
    return chart ? chart.getOption().series.map((s) => s.data.length) : null;
  }, id);
}

// Elements wider than the window, and content sticking out of a card
// (tables may scroll inside their .table-wrap). The shapes inside a chart's
// <svg> are left out: a line clipped to the plot keeps its full geometry
// while ECharts redraws after a resize; the <svg> itself is checked.
function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const width = document.documentElement.clientWidth;
    if (document.documentElement.scrollWidth > width) problems.push(`the page scrolls sideways (${document.documentElement.scrollWidth}px)`);
    for (const el of document.querySelectorAll("body *")) {
      if (el.closest(".table-wrap") || el.ownerSVGElement) continue;
      if (el.getBoundingClientRect().right > width + 0.5) {
        problems.push(`${el.tagName.toLowerCase()}.${el.className} is wider than the window`);
      }
    }
    for (const card of document.querySelectorAll(".card")) {
      const box = card.getBoundingClientRect();
      for (const el of card.querySelectorAll("*")) {
        if (el.closest(".table-wrap") || el.ownerSVGElement) continue;
        const r = el.getBoundingClientRect();
        if (r.width > 0 && r.right > box.right + 0.5) {
          problems.push(`${el.tagName.toLowerCase()}.${el.className} sticks out of its card`);
          break;
        }
      }
    }
    return problems;
  });
}

describe("the monitoring dashboard in Chromium", { timeout: 300000 }, () => {
  let server;
  let browser;
  let url;
  let hostServesHistory = false;

  before(async () => {
    try {
      server = await startHost(MONITORING_CONFIG);
    } catch (err) {
      // A host without the monitoring settings refuses them; the page is then
      // tested for how it copes with the missing history.
      if (!/\[monitoring\]|monitoring\.|\[alerts\]|alerts\./.test(String(err.message))) throw err;
      server = await startHost(MONITORING_CONFIG.slice(0, MONITORING_CONFIG.indexOf("[monitoring]")));
    }
    url = server.url;
    const res = await fetch(url + HISTORY, { headers: { Accept: "application/json" } });
    hostServesHistory = res.status === 200;
    if (!hostServesHistory) assert.equal(res.status, 404, `unexpected answer from ${HISTORY}: ${res.status}`);
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await stopHost(server);
    assert.deepEqual(exit, { code: 0, signal: null }, `trellis did not exit cleanly:\n${server?.log}`);
  });

  async function visit(target, viewport) {
    const page = await openPage(browser.context);
    if (viewport) await page.setViewportSize(viewport);
    const response = await page.goto(url + target);
    return { page, response };
  }

  test("the page is in the menu and served with its scripts, without inline script or style", async () => {
    const { page, response } = await visit(PAGE);
    assert.equal(response.status(), 200);
    assert.equal(await page.title(), "Monitoring · Trellis");
    const entry = page.locator(".trellis-nav a", { hasText: "Monitoring" });
    assert.equal(await entry.getAttribute("href"), PAGE);
    assert.equal(await entry.getAttribute("aria-current"), "page");
    const scripts = await page.evaluate(() => [...document.scripts].map((s) => ({ src: s.getAttribute("src"), type: s.type })));
    for (const s of scripts) {
      assert.ok(s.src || s.type === "application/json", `an inline script of type '${s.type}' is on the page`);
    }
    const srcs = scripts.map((s) => s.src).filter(Boolean);
    for (const want of ["/echarts/static/echarts.min.js", "/echarts/static/trellis-echarts.js", "/monitoring/static/monitoring.js"]) {
      assert.ok(srcs.includes(want), `${want} is not loaded (scripts: ${srcs.join(", ")})`);
    }
    assert.ok(srcs.indexOf("/monitoring/static/monitoring.js") > srcs.indexOf("/echarts/static/trellis-echarts.js"));
    // No handler attributes, and no style attributes but the chart heights the echarts plugin writes.
    const html = await response.text();
    assert.doesNotMatch(html, /\son[a-z]+=/i);
    const styles = html.match(/\sstyle="[^"]*"/g) ?? [];
    assert.ok(styles.every((s) => /^ style="height:\d+px"$/.test(s)), `style attributes: ${styles.join(", ")}`);
    for (const asset of ["/monitoring/static/monitoring.js", "/monitoring/static/monitoring.css"]) {
      const res = await fetch(url + asset);
      assert.equal(res.status, 200, asset);
      assert.ok(res.headers.get("etag"), `${asset} has no ETag`);
    }
    // Without JavaScript the plugin list is there, with each plugin's state.
    const rows = await page.locator("#monitoring-plugins tbody tr").allInnerTexts();
    assert.ok(rows.some((r) => /monitoring\s+loaded/.test(r)), `plugin rows: ${rows.join(" | ")}`);
    await page.close();
  });

  test("without the host's history the page says so and stays usable", async (t) => {
    if (hostServesHistory) return t.skip("this host serves the monitoring history");
    const { page } = await visit(PAGE);
    const box = page.locator("#monitoring-message");
    await box.waitFor({ state: "visible" });
    const text = await box.innerText();
    assert.match(text, /404/);
    assert.match(text, /\/api\/v1\/monitoring\/history/);
    assert.equal(await page.locator("#monitoring-live").innerText(), "off");
    await screenshot(page, "monitoring-no-history");
    page.expectNoProblems([statusLogged(404)]);
    await page.close();
  });

  test("the charts draw the last hour with a size, and the page logs no error", async (t) => {
    if (!hostServesHistory) return t.skip("the host does not serve /api/v1/monitoring/history (404)");
    const { page } = await visit(PAGE);
    await chartsDrawn(page);
    for (const id of ["monitoring-requests", "monitoring-errors", "monitoring-latency"]) {
      const box = await page.locator(`#${id} .trellis-echarts`).boundingBox();
      assert.ok(box.width > 250 && box.height >= 250, `${id} is ${box.width}x${box.height}`);
      const svg = await page.locator(`#${id} .trellis-echarts svg`).boundingBox();
      assert.ok(svg && svg.width > 250, `${id} has no drawing`);
    }
    assert.deepEqual((await chartPoints(page, "monitoring-latency")).length, 3, "latency has p50, p95 and p99");
    const legend = await page.evaluate(() => window.echarts.getInstanceByDom(
      document.querySelector("#monitoring-latency .trellis-echarts")).getOption().legend[0].data);
    assert.deepEqual(legend, ["p50", "p95", "p99"]);
    assert.match(await page.locator("#monitoring-live").innerText(), /^live/);
    assert.ok(await page.locator("#monitoring-message").isHidden());
    page.expectNoProblems();
    await page.close();
  });

  test("a WebSocket update appends the next step to the charts", async (t) => {
    if (!hostServesHistory) return t.skip("the host does not serve /api/v1/monitoring/history (404)");
    const { page } = await visit(PAGE);
    await chartsDrawn(page);
    const before = (await chartPoints(page, "monitoring-requests"))[0];
    const history = await (await fetch(url + HISTORY)).json();
    const newest = history.series.request_rate.at(-1)?.[0] ?? 0;
    // Traffic for the next step, and a wait for it to be published.
    for (let i = 0; i < 20; ++i) await fetch(url + "/healthz");
    await until(async () => (await chartPoints(page, "monitoring-requests"))[0] > before,
                "the request chart has a point more than its first " + before);
    const last = await page.evaluate(() => {
      const data = window.echarts.getInstanceByDom(document.querySelector("#monitoring-requests .trellis-echarts"))
        .getOption().series[0].data;
      return data[data.length - 1];
    });
    assert.ok(last[0] > newest, `the new point (${last[0]}) is not after the history's newest (${newest})`);
    // The page kept its points from the history: it appended, it did not reload.
    assert.equal(await page.evaluate(() => performance.getEntriesByType("resource")
      .filter((e) => e.name.includes("/api/v1/monitoring/history")).length), 1);
    page.expectNoProblems();
    await page.close();
  });

  test("a firing alert shows in the alerts panel with its severity and since-time", async (t) => {
    if (!hostServesHistory) return t.skip("the host does not serve /api/v1/monitoring/history (404)");
    const { page } = await visit(PAGE);
    await chartsDrawn(page);
    for (let i = 0; i < 20; ++i) await fetch(url + "/healthz");
    const row = page.locator("#monitoring-alerts tbody tr.alert-firing", { hasText: "AnyTraffic" });
    await row.waitFor({ state: "visible", timeout: 30000 });
    assert.match(await row.innerText(), /The host answers requests/);
    const tag = row.locator(".severity");
    assert.equal(await tag.innerText(), "critical");
    assert.match(await tag.getAttribute("class"), /\bseverity-critical\b/);
    // Severity-coloured: the tag in the layout's "bad" colour, unlike a plain tag.
    const colours = await page.evaluate(() => {
      const tag = document.querySelector("#monitoring-alerts .severity-critical");
      const probe = document.createElement("span");
      probe.className = "bad";
      document.body.append(probe);
      const out = [getComputedStyle(tag).color, getComputedStyle(probe).color];
      probe.remove();
      return out;
    });
    assert.equal(colours[0], colours[1]);
    const since = await row.locator("time").getAttribute("datetime");
    assert.ok(!Number.isNaN(Date.parse(since)), `since-time '${since}'`);
    assert.match(await page.locator("#monitoring-alerts h2").innerText(), /1 firing/);
    assert.ok(await page.locator("#monitoring-alerts .monitoring-empty").isHidden());
    await screenshot(page, "monitoring-alert");
    page.expectNoProblems();
    await page.close();
  });

  test("a 390 px wide window shows everything without sideways scrolling", async () => {
    const { page } = await visit(PAGE, { width: 390, height: 844 });
    if (hostServesHistory) {
      await chartsDrawn(page);
      for (const id of ["monitoring-requests", "monitoring-errors", "monitoring-latency"]) {
        const box = await page.locator(`#${id} .trellis-echarts`).boundingBox();
        assert.ok(box.width > 250 && box.width <= 390, `${id} is ${box.width} px wide`);
      }
    } else {
      await page.locator("#monitoring-message").waitFor({ state: "visible" });
    }
    assert.deepEqual(await layoutProblems(page), []);
    await screenshot(page, "monitoring-narrow");
    page.expectNoProblems(hostServesHistory ? [] : [statusLogged(404)]);
    await page.close();
  });

  test("queries of the window show among the slowest, and the screenshot for the docs", async (t) => {
    if (!hostServesHistory) return t.skip("the host does not serve /api/v1/monitoring/history (404)");
    const sql = "SELECT c.name, count(*) AS orders FROM orders o JOIN customers c ON c.id = o.customer_id " +
                "GROUP BY c.name ORDER BY orders DESC LIMIT 5";
    const res = await fetch(url + "/api/v1/sources/demo/query", {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify({ sql }),
    });
    assert.equal(res.status, 200, await res.text());
    const { page } = await visit(PAGE);
    await chartsDrawn(page);
    // The host names a query by its named query, and ad-hoc SQL as "(sql)".
    const row = page.locator("#monitoring-slow tbody tr", { hasText: "demo" });
    await row.waitFor({ state: "visible", timeout: 30000 });
    assert.match(await row.locator("code").innerText(), /\S/);
    assert.match(await row.locator("td.num").innerText(), /\d ms$/);
    // Half a minute of uneven traffic, so the charts have a shape to show.
    for (let step = 0; step < 30; ++step) {
      const n = 5 + Math.round(20 * Math.abs(Math.sin(step / 4)));
      await Promise.all(Array.from({ length: n }, () => fetch(url + "/healthz")));
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    await until(async () => (await chartPoints(page, "monitoring-requests"))[0] >= 30,
                "the request chart has 30 points");
    await page.locator("#monitoring-alerts tbody tr.alert-firing").waitFor({ state: "visible" });
    await screenshot(page, "monitoring", { doc: "monitoring" });
    page.expectNoProblems();
    await page.close();
  });
});
