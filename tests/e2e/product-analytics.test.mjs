// Browser tests of the product-analytics example app (examples/product-analytics,
// docs/product-analytics.md): `trellis serve` on a demo database written by
// `trellis demo init` into a temporary directory, with the plugins the app
// needs (core-pages, sqlite, charts, product-analytics, and echarts, which
// draws the revenue line when the build has it) from the build tree's plugin
// directory. Every page must render without console errors, with
// charts that have a size and nothing sticking out of its card; the tests
// click from the list to a product and back, search, filter, sort and pick a
// date range. Screenshots: <artifacts>/product-analytics-*.png, and
// docs/images/product-analytics-*.png with TRELLIS_UPDATE_DOC_IMAGES=1.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { artifactsDir, launchBrowser, openPage, screenshot } from "./harness.mjs";

const APP = "/product-analytics";
// Chromium logs the status of a document that is not 2xx as a console error.
const statusLogged = (code) => new RegExp(`status of ${code} `);

// The plugins come from the directory the build puts every plugin in: the
// one holding core-pages, which the suite's environment names.
function pluginFiles() {
  const listed = (process.env.TRELLIS_E2E_PLUGINS || "").split(path.delimiter).filter(Boolean);
  const corePages = listed.find((f) => path.basename(f) === "core-pages.so");
  if (!corePages) throw new Error("TRELLIS_E2E_PLUGINS names no core-pages.so; run the suite through ctest");
  const dir = path.dirname(corePages);
  const files = ["core-pages.so", "sqlite.so", "charts.so", "product_analytics.so"].map((f) => path.join(dir, f));
  for (const f of files) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the tree first (make build)`);
  }
  const echarts = path.join(dir, "echarts.so");
  if (fs.existsSync(echarts)) files.push(echarts);
  return files;
}

// `trellis serve` on a fresh demo database; resolves once it printed its URL.
// A failure to start leaves no process and no directory behind.
async function startApp() {
  const trellis = process.env.TRELLIS_BIN;
  if (!trellis) throw new Error("TRELLIS_BIN is not set; run the suite through ctest");
  const files = pluginFiles();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-e2e-pa-"));
  try {
    return await startIn(work, trellis, files);
  } catch (err) {
    fs.rmSync(work, { recursive: true, force: true });
    throw err;
  }
}

async function startIn(work, trellis, files) {
  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("TRELLIS_") && !key.startsWith("TRELLIS_E2E")) delete env[key];
  }
  // These tests are about the app, not sign-in: they browse as an anonymous
  // admin, with the user store and audit log in the scratch directory.
  env.TRELLIS_AUTH_ANONYMOUS_ROLE = "admin";
  env.TRELLIS_DATA_DIR = work;
  const init = spawnSync(trellis, ["demo", "init", "--path", path.join(work, "demo.db")], { env, encoding: "utf8" });
  if (init.status !== 0) throw new Error(`trellis demo init failed:\n${init.stderr}`);
  fs.writeFileSync(path.join(work, "trellis.toml"), `[server]
home = "${APP}/"

[sources.demo]
plugin = "sqlite"
path = "demo.db"
read_only = true

[plugin.product-analytics]
dashboards = ["product=https://bi.example.com/product/{id}?from={from}&to={to}"]
`);
  const args = ["--config", path.join(work, "trellis.toml"), "--no-default-plugins"];
  for (const file of files) {
    const dir = path.join(work, path.basename(file, ".so"));
    fs.mkdirSync(dir);
    fs.symlinkSync(file, path.join(dir, path.basename(file)));
    args.push("--plugin-dir", dir);
  }
  args.push("serve", "--listen", "127.0.0.1:0");

  const child = spawn(trellis, args, { env, stdio: ["ignore", "pipe", "pipe"] });
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
  }).catch((err) => {
    if (server.exit === null) child.kill("SIGKILL");
    throw err;
  });
  return server;
}

async function stopApp(server) {
  if (!server) return null;
  if (server.exit === null) server.child.kill("SIGTERM");
  const exit = await Promise.race([server.exited, new Promise((r) => setTimeout(() => r(null), 15000))]);
  if (exit === null) server.child.kill("SIGKILL");
  fs.mkdirSync(artifactsDir, { recursive: true });
  fs.writeFileSync(path.join(artifactsDir, "trellis-product-analytics.log"), server.log);
  fs.rmSync(server.work, { recursive: true, force: true });
  return exit;
}

describe("the product-analytics app in Chromium", { timeout: 300000 }, () => {
  let server;
  let browser;
  let url;

  before(async () => {
    server = await startApp();
    url = server.url;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await stopApp(server);
    assert.deepEqual(exit, { code: 0, signal: null }, `trellis did not exit cleanly:\n${server?.log}`);
  });

  async function visit(target) {
    const page = await openPage(browser.context);
    const response = await page.goto(url + target);
    return { page, response };
  }

  // What is wrong with the layout: charts without a size, elements wider
  // than the window, content sticking out of a card. Tables may scroll in
  // their .table-wrap on a phone (`scroll`), not on a desktop.
  async function layoutProblems(page, { scroll = false } = {}) {
    return page.evaluate((scroll) => {
      const problems = [];
      for (const svg of document.querySelectorAll("svg.trellis-chart")) {
        const r = svg.getBoundingClientRect();
        if (r.width < 150 || r.height < 50) problems.push(`a ${svg.getAttribute("class")} is ${r.width}x${r.height}`);
        if (svg.querySelectorAll(".trellis-chart-mark, .trellis-kpi-value").length === 0) {
          problems.push(`a ${svg.getAttribute("class")} draws nothing`);
        }
      }
      const width = document.documentElement.clientWidth;
      const scrolls = ".table-wrap, .pa-scroll";
      for (const el of document.querySelectorAll("body *")) {
        if (el.closest(scrolls)) continue;
        if (el.getBoundingClientRect().right > width + 0.5) problems.push(`${el.tagName.toLowerCase()}.${el.className} is wider than the window`);
      }
      for (const wrap of document.querySelectorAll(scrolls)) {
        if (!scroll && wrap.scrollWidth > wrap.clientWidth + 1) {
          problems.push(`${wrap.className} needs ${wrap.scrollWidth - wrap.clientWidth}px more room`);
        }
      }
      for (const card of document.querySelectorAll(".card")) {
        const box = card.getBoundingClientRect();
        for (const el of card.querySelectorAll("*")) {
          if (el.closest(scrolls)) continue;
          const r = el.getBoundingClientRect();
          if (r.width > 0 && r.right > box.right + 0.5) {
            problems.push(`${el.tagName.toLowerCase()}.${el.className} sticks out of its card`);
            break;
          }
        }
      }
      return problems;
    }, scroll);
  }

  const views = [
    { path: `${APP}/analytics`, title: "Analytics", shot: "overview", charts: 5 },
    { path: `${APP}/analytics/revenue-by-category`, title: "Revenue by category", shot: "revenue-by-category", charts: 1 },
    { path: `${APP}/analytics/revenue-by-month`, title: "Revenue by month", shot: "revenue-by-month", charts: 1 },
    { path: `${APP}/analytics/top-products`, title: "Top products", shot: "top-products", charts: 1 },
    { path: `${APP}/analytics/basket-size`, title: "Basket size", shot: "basket-size", charts: 1 },
    { path: `${APP}/analytics/new-vs-returning`, title: "New and returning customers", shot: "new-vs-returning", charts: 1 },
  ];

  test("/ opens the app: the analytics overview, with the app's menu entries", async () => {
    const { page, response } = await visit("/");
    assert.equal(response.status(), 200);
    assert.equal(new URL(page.url()).pathname, `${APP}/analytics`);
    assert.deepEqual(await page.locator("nav.trellis-nav a").allTextContents(), ["Home", "Products", "Analytics", "Plugins", "Host"]);
    assert.equal(await page.locator('nav.trellis-nav a[aria-current="page"]').textContent(), "Analytics");
    page.expectNoProblems();
  });

  for (const v of views) {
    test(`${v.title}: charts render, nothing sticks out`, async () => {
      const { page, response } = await visit(v.path);
      assert.equal(response.status(), 200);
      assert.equal(await page.locator("main h1").textContent(), v.title);
      assert.ok(await page.locator("svg.trellis-chart").count() >= v.charts, "its charts are there");
      // A chart of the echarts plugin draws in the browser: wait for it.
      for (const el of await page.locator(".trellis-echarts").all()) {
        await el.and(page.locator("[data-trellis-echarts=ready]")).waitFor();
      }
      assert.deepEqual(await layoutProblems(page), []);
      assert.equal(await page.locator(".pa-tabs a[aria-current=page]").count(), 1);
      await screenshot(page, `product-analytics-${v.shot}`, { doc: `product-analytics-${v.shot}` });
      page.expectNoProblems();
    });
  }

  test("the list leads to a product and back", async () => {
    const { page, response } = await visit(`${APP}/products`);
    assert.equal(response.status(), 200);
    assert.equal(await page.locator("#pa-products tbody tr").count(), 25);
    assert.match(await page.locator("#pa-count").textContent(), /^Products 1–25 of 500\./);
    assert.deepEqual(await layoutProblems(page), []);
    await screenshot(page, "product-analytics-products", { doc: "product-analytics-products" });

    const first = page.locator("#pa-products tbody tr a").first();
    const name = await first.textContent();
    await Promise.all([page.waitForURL(/\/products\/\d+$/), first.click()]);
    assert.equal(await page.locator("#pa-product-name").textContent(), name);
    assert.equal(await page.locator(".pa-kpi svg.trellis-chart").count(), 3);
    assert.equal(await page.locator("#pa-sales svg.trellis-chart-type-line").count(), 1);
    assert.ok(await page.locator("#pa-customers tbody tr").count() > 0, "top customers are listed");
    assert.ok(await page.locator("#pa-related li a").count() > 0, "related products are listed");
    const dashboard = await page.locator("a.pa-dashboard").getAttribute("href");
    assert.match(dashboard, /^https:\/\/bi\.example\.com\/product\/\d+\?from=2024-11-01&to=2026-10-31$/);
    assert.deepEqual(await layoutProblems(page), []);

    await Promise.all([page.waitForURL(`${url}${APP}/products`), page.goBack()]);
    assert.equal(await page.locator("#pa-products tbody tr").count(), 25);
    page.expectNoProblems();
  });

  test("the best seller's page, with a related product to follow", async () => {
    // The top product of the analytics view is the best seller.
    const { page } = await visit(`${APP}/analytics/top-products`);
    const best = page.locator("#pa-top-products tbody tr a").first();
    await Promise.all([page.waitForURL(/\/products\/\d+/), best.click()]);
    assert.deepEqual(await layoutProblems(page), []);
    // The last 12 months have 12 months of data before them: the tiles show the change.
    await Promise.all([page.waitForURL(/from=2025-11-01&to=2026-10-31/),
                       page.locator(".pa-presets a", { hasText: "Last 12 months" }).click()]);
    assert.equal((await page.locator(".pa-kpi .trellis-kpi-change").allTextContents()).length, 3);
    assert.match(await page.locator("p.pa-note").textContent(), /365 days before, from 2024-11-01/);
    assert.deepEqual(await layoutProblems(page), []);
    await screenshot(page, "product-analytics-product", { doc: "product-analytics-product" });

    // The table of top customers sorts in the browser (the charts plugin's table.js).
    const header = page.locator("#pa-customers th button", { hasText: "Customer" });
    await header.click();
    assert.equal(await page.locator("#pa-customers th", { hasText: "Customer" }).getAttribute("aria-sort"), "ascending");
    const names = await page.locator("#pa-customers tbody tr td:first-child").allTextContents();
    assert.deepEqual(names, [...names].sort((a, b) => a.localeCompare(b)));

    const related = page.locator("#pa-related li a").first();
    const name = await related.textContent();
    await Promise.all([page.waitForURL(/\/products\/\d+/), related.click()]);
    assert.equal(await page.locator("#pa-product-name").textContent(), name);
    page.expectNoProblems();
  });

  test("search, category and sorting by a column", async () => {
    const { page } = await visit(`${APP}/products`);
    await page.locator("input[name=q]").fill("lamp");
    await Promise.all([page.waitForURL(/q=lamp/), page.locator("form.pa-filter button[type=submit]").click()]);
    const names = await page.locator("#pa-products tbody tr td:first-child").allTextContents();
    assert.ok(names.length > 0, "some products match 'lamp'");
    for (const n of names) assert.match(n, /lamp/i);

    await page.locator("input[name=q]").fill("");
    const garden = await page.locator("select[name=category] option", { hasText: /^Garden \(\d+\)$/ }).getAttribute("value");
    await page.locator("select[name=category]").selectOption(garden);
    await Promise.all([page.waitForURL(/category=\d+/), page.locator("form.pa-filter button[type=submit]").click()]);
    const categories = await page.locator("#pa-products tbody tr td:nth-child(2)").allTextContents();
    assert.ok(categories.length > 0);
    assert.deepEqual([...new Set(categories)], ["Garden"]);

    // Revenue, largest first; clicking again turns it around. The category stays.
    await Promise.all([page.waitForURL(/sort=revenue&dir=desc/), page.locator("#pa-products th a", { hasText: "Revenue" }).click()]);
    assert.match(page.url(), /category=\d+/);
    const money = async () => (await page.locator("#pa-products tbody tr td:nth-child(5)").allTextContents())
      .map((t) => Number(t.replace(/[$,]/g, "")));
    const down = await money();
    assert.deepEqual(down, [...down].sort((a, b) => b - a));
    await Promise.all([page.waitForURL(/sort=revenue&dir=asc/), page.locator("#pa-products th a", { hasText: "Revenue" }).click()]);
    const up = await money();
    assert.deepEqual(up, [...up].sort((a, b) => a - b));
    page.expectNoProblems();
  });

  test("the pages of the list", async () => {
    const { page } = await visit(`${APP}/products`);
    const second = (await page.locator("#pa-products tbody tr a").allTextContents())[0];
    await Promise.all([page.waitForURL(/page=2/), page.locator(".pa-pager a[rel=next]").click()]);
    assert.match(await page.locator("#pa-count").textContent(), /^Products 26–50 of 500\./);
    assert.notEqual((await page.locator("#pa-products tbody tr a").allTextContents())[0], second);
    assert.equal(await page.locator(".pa-pager a[aria-current=page]").textContent(), "2");
    await Promise.all([page.waitForURL(/page=20/), page.locator(".pa-pager a", { hasText: /^20$/ }).click()]);
    assert.match(await page.locator("#pa-count").textContent(), /^Products 476–500 of 500\./);
    page.expectNoProblems();
  });

  test("revenue by month: the line is interactive when the echarts plugin is loaded", async (t) => {
    const { page } = await visit(`${APP}/analytics/revenue-by-month`);
    const chart = page.locator("#pa-revenue .trellis-echarts");
    if (await chart.count() === 0) {
      assert.equal(await page.locator("#pa-revenue svg.trellis-chart-type-line").count(), 1, "the SVG line instead");
      t.skip("the build has no echarts plugin");
      return;
    }
    await page.waitForSelector("#pa-revenue .trellis-echarts[data-trellis-echarts=ready]");
    const box = await chart.locator("svg").first().boundingBox();
    assert.ok(box && box.width > 400 && box.height > 200, `the chart is drawn with a size: ${JSON.stringify(box)}`);
    // Hovering shows the month's revenue, formatted as money.
    await chart.hover({ position: { x: box.width / 2, y: box.height / 2 } });
    await page.waitForSelector(".trellis-echarts-tooltip", { state: "visible" });
    assert.match(await page.locator(".trellis-echarts-tooltip").first().textContent(), /\$[\d,]+/);
    assert.deepEqual(await layoutProblems(page), []);
    page.expectNoProblems();
  });

  test("the date filter narrows a view and its tabs keep the range", async () => {
    const { page } = await visit(`${APP}/analytics/revenue-by-month`);
    await page.locator("input[name=from]").fill("2025-07-01");
    await page.locator("input[name=to]").fill("2025-12-31");
    await Promise.all([page.waitForURL(/from=2025-07-01&to=2025-12-31/), page.locator("form.pa-filter button[type=submit]").click()]);
    const months = await page.locator(".trellis-table tbody tr td:first-child").allTextContents();
    assert.deepEqual(months, ["2025-07", "2025-08", "2025-09", "2025-10", "2025-11", "2025-12"]);
    assert.deepEqual(await layoutProblems(page), []);

    await Promise.all([page.waitForURL(/basket-size\?from=2025-07-01&to=2025-12-31/),
                       page.locator(".pa-tabs a", { hasText: "Basket size" }).click()]);
    assert.equal(await page.locator("input[name=from]").inputValue(), "2025-07-01");
    await Promise.all([page.waitForURL(/from=2025-11-01&to=2026-10-31/), page.locator(".pa-presets a", { hasText: "Last 12 months" }).click()]);
    assert.equal(await page.locator("input[name=to]").inputValue(), "2026-10-31");
    page.expectNoProblems();
  });

  test("a product page with a range: changes against the period before", async () => {
    const { page } = await visit(`${APP}/products/1?from=2026-01-01&to=2026-06-30`);
    const changes = await page.locator(".pa-kpi .trellis-kpi-change").allTextContents();
    assert.equal(changes.length, 3);
    for (const c of changes) assert.match(c, /vs previous/);
    await screenshot(page, "product-analytics-product-range");
    page.expectNoProblems();
  });

  test("bad parameters: a message naming them, and the fallback", async () => {
    let { page, response } = await visit(`${APP}/products?page=-1&sort=evil&category=abc`);
    assert.equal(response.status(), 400);
    const messages = await page.locator(".pa-notice[role=alert] li").allTextContents();
    assert.deepEqual(messages.map((m) => m.split(":")[0]), ["category", "sort", "page"]);
    assert.equal(await page.locator("#pa-products tbody tr").count(), 25);
    await screenshot(page, "product-analytics-bad-parameters", { doc: "product-analytics-bad-parameters" });
    page.expectNoProblems([statusLogged(400)]);

    ({ page, response } = await visit(`${APP}/analytics/basket-size?from=2025-13-01`));
    assert.equal(response.status(), 400);
    assert.match(await page.locator(".pa-notice[role=alert]").textContent(), /from: '2025-13-01' is not a date/);
    assert.ok(await page.locator("svg.trellis-chart").count() > 0, "the whole range is shown instead");
    page.expectNoProblems([statusLogged(400)]);

    ({ page, response } = await visit(`${APP}/products/99999`));
    assert.equal(response.status(), 404);
    assert.equal(await page.locator("main h1").textContent(), "Product not found");
    page.expectNoProblems([statusLogged(404)]);
  });

  test("a phone: pages fit the narrow window", async () => {
    const page = await openPage(browser.context);
    await page.setViewportSize({ width: 390, height: 800 });
    for (const target of [`${APP}/products/1`, `${APP}/analytics`, `${APP}/analytics/new-vs-returning`, `${APP}/products`]) {
      await page.goto(url + target);
      assert.deepEqual(await layoutProblems(page, { scroll: true }), [], target);
    }
    await page.goto(url + `${APP}/products/1`);
    await screenshot(page, "product-analytics-phone");
    page.expectNoProblems();
  });
});
