// Browser tests of the echarts plugin (plugins/echarts): a real `trellis
// serve` with the plugin and the page fixture tests/fixtures/plugins/
// echarts_page, whose pages render each type through the host the way a
// plugin page does. In headless Chromium every chart must draw with a size
// and without console errors, show its tooltip on hover, hide a series when
// its legend item is clicked, zoom the time axis with the slider and the
// wheel, keep hostile text as text, follow the dark scheme, resize, and be
// drawn when inserted later. Screenshots: <artifacts>/echarts-*.png, and
// docs/images/echarts-{line,bar,pie,heatmap}.png with TRELLIS_UPDATE_DOC_IMAGES=1.
//
// The plugin files: TRELLIS_E2E_ECHARTS_PLUGINS (paths separated by ':'), or
// else echarts.so and the fixture where the build tree of TRELLIS_BIN has them.
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { artifactsDir, launchBrowser, openPage, sourceDir, startServer, stopServer } from "./harness.mjs";

const PAGES = "/echarts-page";
const docImagesDir = path.join(sourceDir, "docs", "images");
const updateDocImages = process.env.TRELLIS_UPDATE_DOC_IMAGES === "1";
const echartsModule = path.join(sourceDir, "node_modules", "echarts");

function pluginFiles() {
  let files;
  if (process.env.TRELLIS_E2E_ECHARTS_PLUGINS) {
    files = process.env.TRELLIS_E2E_ECHARTS_PLUGINS.split(path.delimiter).filter(Boolean);
  } else {
    if (!process.env.TRELLIS_BIN) throw new Error("TRELLIS_BIN is not set; run the suite through ctest");
    const build = path.resolve(path.dirname(process.env.TRELLIS_BIN), "..");
    files = [path.join(build, "lib", "trellis", "plugins", "echarts.so"),
             path.join(build, "tests", "fixtures", "plugins", "echarts_page", "echarts_page.so")];
  }
  for (const f of files) {
    if (!fs.existsSync(f)) {
      throw new Error(`${f} is missing: build the targets echarts and fixture_echarts_page_echarts_page`);
    }
  }
  return files;
}

// Waits until every chart of the page has drawn (the script marks it), and
// fails at once when one could not be drawn.
async function chartsReady(page) {
  await page.waitForFunction(() => {
    const charts = [...document.querySelectorAll(".trellis-echarts")];
    if (charts.some((el) => el.getAttribute("data-trellis-echarts") === "error")) return true;
    return charts.length > 0 && charts.every((el) => el.getAttribute("data-trellis-echarts") === "ready");
  }, null, { timeout: 15000 });
  const failed = await page.locator('.trellis-echarts[data-trellis-echarts="error"]').count();
  assert.equal(failed, 0, "a chart reported an error");
}

// The card `id` as <artifacts>/echarts-<name>.png; `doc`: also as
// docs/images/echarts-<name>.png when TRELLIS_UPDATE_DOC_IMAGES=1.
async function saveShot(page, id, name, { doc = false } = {}) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `echarts-${name}.png`);
  await page.locator(`#${id}`).screenshot({ path: file, animations: "disabled" });
  if (updateDocImages && doc) {
    fs.mkdirSync(docImagesDir, { recursive: true });
    fs.copyFileSync(file, path.join(docImagesDir, `echarts-${name}.png`));
  }
}

// Where a data point of the chart in card `id` is on the screen.
async function pointOnScreen(page, id, finder, value) {
  await page.locator(`#${id}`).scrollIntoViewIfNeeded();
  const [x, y] = await page.evaluate(({ id, finder, value }) => {
    const el = document.querySelector(`#${id} .trellis-echarts`);
    return echarts.getInstanceByDom(el).convertToPixel(finder, value);
  }, { id, finder, value });
  const box = await page.locator(`#${id} .trellis-echarts`).boundingBox();
  return { x: box.x + x, y: box.y + y };
}

// Waits until the tooltip of chart `id` shows `text`.
function tooltipShows(page, id, text) {
  return page.waitForFunction(({ id, text }) => document.querySelector(`#${id} .trellis-echarts-tooltip`)
    ?.innerText.includes(text), { id, text });
}

// The texts the SVG of chart `id` draws.
function svgTexts(page, id) {
  return page.locator(`#${id} svg text`).allTextContents();
}

async function tooltip(page, id) {
  const tip = page.locator(`#${id} .trellis-echarts-tooltip`);
  await tip.waitFor({ state: "visible", timeout: 5000 });
  // ECharts fades the tooltip in and moves it; its text is there at once.
  return tip;
}

function option(page, id) {
  return page.evaluate((id) => {
    const el = document.querySelector(`#${id} .trellis-echarts`);
    const o = echarts.getInstanceByDom(el).getOption();
    const zoom = (o.dataZoom ?? []).map((z) => ({ type: z.type, start: z.start, end: z.end }));
    return { legend: o.legend?.[0]?.selected ?? null, dataZoom: zoom };
  }, id);
}

// How many paths are stroked in `colour` without a fill: the lines of a line
// chart. Colours compare as CSS computes them: ECharts writes a colour as
// given ("#E69F00") or, after an animation, as rgb(230,159,0).
function linesIn(page, id, colour) {
  return page.evaluate(({ id, colour }) => {
    const probe = document.createElement("span");
    document.body.append(probe);
    const css = (c) => {
      probe.style.color = "";
      probe.style.color = c;
      return getComputedStyle(probe).color;
    };
    const want = css(colour);
    const n = [...document.querySelectorAll(`#${id} svg path[fill="none"]`)]
      .filter((p) => p.getAttribute("stroke") && css(p.getAttribute("stroke")) === want).length;
    probe.remove();
    return n;
  }, { id, colour });
}

// Polls `check` until it holds; fails naming `what` after `ms`.
async function until(check, what, ms = 5000) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("echarts in Chromium", { timeout: 240000 }, () => {
  let server;
  let browser;
  let url;

  before(async () => {
    process.env.TRELLIS_E2E_PLUGINS = pluginFiles().join(path.delimiter);
    server = await startServer();
    url = server.url;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await stopServer(server);
    assert.deepEqual(exit, { code: 0, signal: null }, `trellis did not exit cleanly:\n${server?.log}`);
  });

  async function visit(pathname) {
    const page = await openPage(browser.context);
    const response = await page.goto(url + pathname);
    assert.equal(response.status(), 200, `${pathname}: ${response.status()}`);
    return page;
  }

  test("each type draws an SVG chart with a size, loaded as the rendering asked", async () => {
    const page = await visit(`${PAGES}/`);
    await chartsReady(page);
    // The layout loads what the renderings listed: the library, then the script.
    const scripts = await page.evaluate(() => [...document.scripts].map((s) => s.getAttribute("src")).filter(Boolean));
    assert.deepEqual(scripts.slice(-2), ["/echarts/static/echarts.min.js", "/echarts/static/trellis-echarts.js"]);
    const expected = {
      line: { label: "Daily revenue and cost", types: ["line", "line"] },
      bar: { label: "Sales per quarter", types: ["bar", "bar", "bar"] },
      pie: { label: "Visits by channel", types: ["pie"] },
      heatmap: { label: "Orders by weekday and hour", types: ["heatmap"] },
    };
    for (const [id, want] of Object.entries(expected)) {
      const chart = page.locator(`#${id} .trellis-echarts`);
      assert.equal(await chart.getAttribute("aria-label"), want.label);
      assert.equal(await chart.getAttribute("role"), "img");
      const card = await page.locator(`#${id}`).boundingBox();
      const svg = await page.locator(`#${id} .trellis-echarts svg`).boundingBox();
      assert.ok(svg && Math.abs(svg.height - 360) < 1, `${id}: svg ${JSON.stringify(svg)}`);
      assert.ok(svg.width > card.width - 60 && svg.width <= card.width, `${id}: svg ${svg.width} in ${card.width}`);
      const types = await page.evaluate((id) => echarts
        .getInstanceByDom(document.querySelector(`#${id} .trellis-echarts`)).getOption().series.map((s) => s.type), id);
      assert.deepEqual(types, want.types, id);
      // Something is drawn: marks in the plot, and the title as SVG text.
      assert.ok(await page.locator(`#${id} svg path`).count() > 5, `${id}: almost nothing drawn`);
      assert.equal(await page.locator(`#${id} svg text`, { hasText: want.label }).count(), 1, `${id}: title`);
      await saveShot(page, id, id, { doc: true });
    }
    // Lines and bars in the colour-blind-safe palette, in order.
    assert.equal(await linesIn(page, "line", "#0072B2"), 1);
    assert.equal(await linesIn(page, "line", "#E69F00"), 1);
    page.expectNoProblems();
    await page.close();
  });

  test("hovering shows the values under the pointer, formatted", async () => {
    const page = await visit(`${PAGES}/`);
    await chartsReady(page);

    // Line: every series at that day, in euros as format "currency:EUR" says.
    const day = await pointOnScreen(page, "line", { seriesIndex: 0 }, ["2024-02-15T00:00:00Z", 1500]);
    await page.mouse.move(day.x, day.y);
    let tip = await tooltip(page, "line");
    const expected = await page.evaluate(() => {
      const o = echarts.getInstanceByDom(document.querySelector("#line .trellis-echarts")).getOption();
      const at = (s) => o.series[s].data.find((p) => p[0] === "2024-02-15T00:00:00Z")[1];
      const eur = new Intl.NumberFormat("en", { style: "currency", currency: "EUR" });
      return [eur.format(at(0)), eur.format(at(1))];
    });
    const lineText = await tip.innerText();
    assert.match(lineText, /^2024-02-15\n/);
    for (const part of ["revenue", "cost", ...expected]) {
      assert.ok(lineText.includes(part), `"${part}" not in ${JSON.stringify(lineText)}`);
    }
    await saveShot(page, "line", "line-tooltip", { doc: true });

    // Bars: the regions of the quarter under the pointer.
    const q3 = await pointOnScreen(page, "bar", { seriesIndex: 0 }, ["Q3 2024", 100]);
    await page.mouse.move(q3.x, q3.y);
    tip = await tooltip(page, "bar");
    await tooltipShows(page, "bar", "Q3 2024");
    const barText = await tip.innerText();
    for (const part of ["Q3 2024", "North", "510", "South", "350", "East", "280"]) {
      assert.ok(barText.includes(part), barText);
    }

    // Heatmap: the cell's weekday, hour and value.
    const cell = await pointOnScreen(page, "heatmap", { seriesIndex: 0 }, [12, 2]);
    await page.mouse.move(cell.x, cell.y);
    tip = await tooltip(page, "heatmap");
    await tooltipShows(page, "heatmap", "Wed");
    const value = await page.evaluate(() => echarts
      .getInstanceByDom(document.querySelector("#heatmap .trellis-echarts"))
      .getOption().series[0].data.find((cell) => cell[0] === 12 && cell[1] === 2)[2]);
    assert.match(await tip.innerText(), new RegExp(`^Wed · 12\\norders: ${value}$`));
    page.expectNoProblems();
    await page.close();
  });

  test("clicking a legend item hides that series, clicking again shows it", async () => {
    const page = await visit(`${PAGES}/`);
    await chartsReady(page);
    const legendItem = (id, name) => page.locator(`#${id} svg text`).filter({ hasText: new RegExp(`^${name}$`) });

    assert.equal(await linesIn(page, "line", "#E69F00"), 1);
    await legendItem("line", "cost").click();
    assert.deepEqual((await option(page, "line")).legend, { revenue: true, cost: false });
    await until(async () => (await linesIn(page, "line", "#E69F00")) === 0, "the cost line is gone");
    assert.equal(await linesIn(page, "line", "#0072B2"), 1, "the other series stays");
    await legendItem("line", "cost").click();
    assert.deepEqual((await option(page, "line")).legend, { revenue: true, cost: true });
    await page.mouse.move(0, 0);  // hovering the legend highlights the series; away from it
    await until(async () => (await linesIn(page, "line", "#E69F00")) === 1, "the cost line is back");

    // A pie's legend hides a slice; the shares are then of what is left.
    const shares = () => page.locator("#pie svg text").filter({ hasText: /%$/ }).allTextContents();
    assert.ok((await shares()).some((t) => t.startsWith("Search: ")));
    await legendItem("pie", "Search").click();
    assert.equal((await option(page, "pie")).legend.Search, false);
    await until(async () => !(await svgTexts(page, "pie")).some((t) => t.startsWith("Search: ")), "Search is gone");
    await until(async () => (await svgTexts(page, "pie")).some((t) => /^Direct: 4\d\.\d%$/.test(t)), "Direct grew");

    // Bars: a region off, the other two stay.
    await legendItem("bar", "South").click();
    assert.deepEqual((await option(page, "bar")).legend, { North: true, South: false, East: true });
    page.expectNoProblems();
    await page.close();
  });

  test("the time axis zooms with the slider and with the wheel", async () => {
    const page = await visit(`${PAGES}/`);
    await chartsReady(page);
    const zoom = await option(page, "line");
    assert.deepEqual(zoom.dataZoom.map((z) => z.type), ["inside", "slider"]);
    assert.deepEqual(zoom.dataZoom.map((z) => [z.start, z.end]), [[0, 100], [0, 100]]);
    const firstTick = () => page.evaluate(() => {
      const labels = [...document.querySelectorAll("#line svg text")]
        .filter((t) => /^(\d{1,2}|[A-Z][a-z]{2}|\d{4})$/.test(t.textContent));
      return labels.sort((a, b) => a.getBoundingClientRect().x - b.getBoundingClientRect().x)[0]?.textContent;
    });
    assert.equal(await firstTick(), "2024");

    // Drag the slider's left handle to the right: the first weeks drop out.
    // The handles are the two outlined paths at the slider's ends.
    const handles = await page.locator('#line svg path[stroke="#ACB8D1"]').evaluateAll((ps) => ps.map((p) => {
      const r = p.getBoundingClientRect();
      return { x: r.x + r.width / 2, y: r.y + r.height / 2 };
    }));
    assert.equal(handles.length, 2, "the slider has two handles");
    const start = await pointOnScreen(page, "line", { seriesIndex: 0 }, ["2024-01-01T00:00:00Z", 1000]);
    const left = handles.sort((a, b) => a.x - b.x)[0];
    assert.ok(Math.abs(left.x - start.x) < 4, "the left handle is at the first day");
    await page.mouse.move(left.x, left.y);
    await page.mouse.down();
    for (let i = 1; i <= 12; i++) {
      await page.mouse.move(left.x + i * 25, left.y);
      await page.waitForTimeout(20);
    }
    await page.mouse.up();
    await page.waitForFunction(() => echarts.getInstanceByDom(document.querySelector("#line .trellis-echarts"))
      .getOption().dataZoom[1].start > 20);
    const dragged = await option(page, "line");
    assert.ok(dragged.dataZoom[1].start > 20 && dragged.dataZoom[1].end === 100, JSON.stringify(dragged.dataZoom));
    await until(async () => !(await svgTexts(page, "line")).includes("2024"), "the axis no longer starts in 2024");
    await saveShot(page, "line", "line-zoomed");

    // The wheel over the plot zooms in around the pointer.
    await page.reload();
    await chartsReady(page);
    const middle = await pointOnScreen(page, "line", { seriesIndex: 0 }, ["2024-02-15T00:00:00Z", 1400]);
    await page.mouse.move(middle.x, middle.y);
    for (let i = 0; i < 5; i++) {
      await page.mouse.wheel(0, -200);
      await page.waitForTimeout(50);
    }
    await page.waitForFunction(() => {
      const z = echarts.getInstanceByDom(document.querySelector("#line .trellis-echarts")).getOption().dataZoom[0];
      return z.start > 0 && z.end < 100;
    });
    const wheeled = await option(page, "line");
    const [inside, slider] = wheeled.dataZoom;
    assert.ok(inside.start > 0 && inside.end < 100 && inside.end - inside.start < 90, JSON.stringify(wheeled.dataZoom));
    assert.deepEqual([slider.start, slider.end], [inside.start, inside.end], "the slider follows the wheel");
    // Charts without a time axis have no zoom unless asked.
    assert.deepEqual((await option(page, "bar")).dataZoom, []);
    page.expectNoProblems();
    await page.close();
  });

  test("text from the data stays text: in the element, the SVG and the tooltips", async () => {
    const page = await visit(`${PAGES}/hostile`);
    await chartsReady(page);
    const evil = "</script><script>window.pwned=1</script>";
    const img = '<img src=x onerror="window.pwned=2">';
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    assert.equal(await page.locator("main img").count(), 0);
    assert.deepEqual(await page.locator("main script").evaluateAll((ss) => ss.map((s) => s.type)),
                     ["application/json", "application/json"]);
    assert.equal(await page.locator("#bar .trellis-echarts").getAttribute("aria-label"), "<b>bold?</b> </script>");
    assert.equal(await page.locator("#bar svg text", { hasText: "<b>bold?</b> </script>" }).count(), 1);
    assert.ok(await page.locator("#bar svg text", { hasText: evil }).count() >= 1);

    // The tooltips are HTML elements: what they show must be text, not markup.
    const bar = await pointOnScreen(page, "bar", { seriesIndex: 0 }, [0, 1]);
    await page.mouse.move(bar.x, bar.y);
    let tip = await tooltip(page, "bar");
    await tooltipShows(page, "bar", "window.pwned=1");
    assert.ok((await tip.innerText()).includes(evil));
    assert.ok((await tip.innerText()).includes(img));
    assert.equal(await tip.locator("img, script, b").count(), 0);

    const cell = await pointOnScreen(page, "heatmap", { seriesIndex: 0 }, [0, 0]);
    await page.mouse.move(cell.x, cell.y);
    tip = await tooltip(page, "heatmap");
    await tooltipShows(page, "heatmap", "onerror");
    assert.equal(await tip.innerText(), `${img} · ${evil}\nvalue: 3`);
    assert.equal(await tip.locator("img, script").count(), 0);
    assert.equal(await page.evaluate(() => window.pwned), undefined);
    page.expectNoProblems();
    await page.close();
  });

  test("a chart of no rows says No data", async () => {
    const page = await visit(`${PAGES}/empty`);
    await chartsReady(page);
    assert.equal(await page.locator("#empty .trellis-echarts").getAttribute("aria-label"), "Nothing yet (no data)");
    assert.deepEqual((await page.locator("#empty svg text").allTextContents()).sort(), ["No data", "Nothing yet"]);
    await saveShot(page, "empty", "empty");
    page.expectNoProblems();
    await page.close();
  });

  test("a chart inserted later is drawn, and released when removed", async () => {
    const page = await visit(`${PAGES}/empty`);
    await chartsReady(page);
    const html = await page.evaluate(async () => (await fetch("/echarts-page/fragment")).text());
    assert.match(html, /^<div class="trellis-echarts trellis-echarts-bar"/);
    await page.evaluate((markup) => {
      const card = document.createElement("section");
      card.className = "card";
      card.id = "inserted";
      card.innerHTML = markup;  // as a live page replaces content
      document.querySelector("main").append(card);
    }, html);
    await page.waitForFunction(() => document.querySelector("#inserted .trellis-echarts")
      .getAttribute("data-trellis-echarts") === "ready");
    const svg = await page.locator("#inserted svg").boundingBox();
    assert.ok(svg.width > 300 && Math.abs(svg.height - 360) < 1, JSON.stringify(svg));
    assert.equal((await option(page, "inserted")).legend, null);  // one series: no legend
    assert.equal(await page.locator("#inserted svg text", { hasText: "Referral" }).count(), 1);

    await page.evaluate(() => {
      window.removedChart = document.querySelector("#inserted .trellis-echarts");
      document.querySelector("#inserted").remove();
    });
    await page.waitForFunction(() => echarts.getInstanceByDom(window.removedChart) === undefined);
    // The element keeps its option, so it can be shown again.
    const left = await page.evaluate(() => [...window.removedChart.children].map((c) => c.type));
    assert.deepEqual(left, ["application/json"]);
    await page.evaluate(() => document.querySelector("main").append(window.removedChart));
    await page.waitForFunction(() => echarts.getInstanceByDom(window.removedChart) !== undefined &&
                                     window.removedChart.querySelector("svg") !== null);

    // A broken element is reported, and the others are unaffected.
    const invalid = "the option of a chart is not valid JSON";
    const logged = page.waitForEvent("console", {
      predicate: (m) => m.type() === "error" && m.text().startsWith(`trellis-echarts: ${invalid}`),
      timeout: 5000,
    });
    await page.evaluate(() => {
      const broken = document.createElement("div");
      broken.className = "trellis-echarts";
      broken.id = "broken";
      broken.innerHTML = '<script type="application/json">{"series": [</script>';
      document.querySelector("main").append(broken);
    });
    await logged;
    assert.equal(await page.locator("#broken").getAttribute("data-trellis-echarts"), "error");
    assert.equal(await page.evaluate(() => echarts.getInstanceByDom(document.querySelector("#broken"))), undefined);
    await page.evaluate(() => document.querySelector("#broken").remove());
    page.expectNoProblems([new RegExp(`trellis-echarts: ${invalid}`)]);
    await page.close();
  });

  test("the charts follow the dark scheme and resize with the page", async () => {
    const page = await visit(`${PAGES}/`);
    await chartsReady(page);
    const title = "Daily revenue and cost";
    const titleFill = () => page.locator("#line svg text", { hasText: title }).getAttribute("fill");
    const light = await titleFill();
    await page.evaluate(() => echarts.getInstanceByDom(document.querySelector("#line .trellis-echarts"))
      .dispatchAction({ type: "legendUnSelect", name: "cost" }));
    await page.emulateMedia({ colorScheme: "dark" });
    await until(async () => (await titleFill()) !== light, "the title changes colour");
    // Light text on the dark card; what the reader chose survives the redraw.
    const rgb = await page.evaluate((fill) => {
      const probe = document.createElement("span");
      probe.style.color = fill;
      document.body.append(probe);
      const c = getComputedStyle(probe).color.match(/\d+/g).map(Number);
      probe.remove();
      return c;
    }, await titleFill());
    assert.ok(rgb[0] + rgb[1] + rgb[2] > 500, `title colour on dark: ${rgb}`);
    assert.equal((await option(page, "line")).legend.cost, false);
    await chartsReady(page);
    await saveShot(page, "line", "line-dark");
    await saveShot(page, "heatmap", "heatmap-dark");
    await page.emulateMedia({ colorScheme: "light" });

    // A narrower window: the charts shrink with their cards.
    await page.setViewportSize({ width: 520, height: 640 });
    await page.waitForFunction(() => {
      const el = document.querySelector("#bar .trellis-echarts");
      return Math.abs(el.querySelector("svg").getBoundingClientRect().width - el.clientWidth) < 1;
    });
    const card = await page.locator("#bar").boundingBox();
    assert.ok(card.width < 520, JSON.stringify(card));
    const overflow = await page.evaluate(() => {
      const root = document.documentElement;
      return root.scrollWidth - root.clientWidth;
    });
    assert.equal(overflow, 0, "the page scrolls sideways");
    await saveShot(page, "pie", "pie-narrow");
    // Narrow, the pie's labels give the shares only, and none is cut.
    const pieLabels = await page.locator("#pie svg text").filter({ hasText: /%$/ }).allTextContents();
    assert.equal(pieLabels.length, 5, JSON.stringify(pieLabels));
    for (const label of pieLabels) assert.match(label, /^\d+(\.\d)?%$/);
    page.expectNoProblems();
    await page.close();
  });

  test("the plugin serves the locked ECharts build, its licenses and the script", async () => {
    const api = browser.context.request;
    const lib = await api.get(`${url}/echarts/static/echarts.min.js`);
    assert.equal(lib.status(), 200);
    assert.match(lib.headers()["content-type"], /^text\/javascript/);
    assert.ok((await lib.body()).equals(fs.readFileSync(path.join(echartsModule, "dist", "echarts.min.js"))),
              "echarts.min.js differs from node_modules/echarts/dist/echarts.min.js");
    const script = await api.get(`${url}/echarts/static/trellis-echarts.js`);
    assert.equal(await script.text(),
                 fs.readFileSync(path.join(sourceDir, "plugins", "echarts", "assets", "trellis-echarts.js"), "utf8"));
    const license = await api.get(`${url}/echarts/static/echarts-LICENSE.txt`);
    assert.match(license.headers()["content-type"], /^text\/plain/);
    const version = JSON.parse(fs.readFileSync(path.join(echartsModule, "package.json"), "utf8")).version;
    const text = await license.text();
    assert.ok(text.startsWith(`Apache ECharts ${version} `), text.slice(0, 80));
    for (const part of ["Apache License", "Version 2.0", "ZRender", "BSD", "d3"]) assert.ok(text.includes(part), part);

    // Through the HTTP API too: the types with their options, and a bad option named.
    const types = await (await api.get(`${url}/api/v1/viz/types`)).json();
    assert.deepEqual(types.types.filter((t) => t.plugin === "echarts").map((t) => t.name).sort(),
                     ["echarts-bar", "echarts-heatmap", "echarts-line", "echarts-pie"]);
    const bad = await api.post(`${url}/api/v1/viz/echarts-line`, {
      data: { data: { columns: ["month", "total"], rows: [["2024-01-01", 3]] }, options: { x: "month", y: "revenue" } },
    });
    assert.equal(bad.status(), 400);
    assert.equal((await bad.json()).error.message,
                 "column 'revenue' is not in the data (columns: month, total), named by option 'y' of echarts-line");
  });
});
