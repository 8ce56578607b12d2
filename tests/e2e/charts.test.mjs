// Browser tests of the charts plugin's renderings: the golden files of
// tests/golden/charts/ (written by tests/integration/charts_test.cpp through
// the real plugin) shown in Chromium inside a page with the host's theme and
// the plugin's charts.css and table.js. Each chart must lay out with a size,
// keep its text inside its box without labels overlapping, and cause no
// console error; the table must sort when its headers are clicked.
// Screenshots: <artifacts>/chart-*.png, and docs/images/chart-*.png with
// TRELLIS_UPDATE_DOC_IMAGES=1 (see run.mjs).
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";
import { after, before, describe, test } from "node:test";

import { artifactsDir, launchBrowser, openPage, sourceDir } from "./harness.mjs";

const goldenDir = path.join(sourceDir, "tests", "golden", "charts");
const docImagesDir = path.join(sourceDir, "docs", "images");
const updateDocImages = process.env.TRELLIS_UPDATE_DOC_IMAGES === "1";

// golden file -> screenshot name (docs/images/chart-<name>.png) and card width.
const charts = [
  { file: "bar.svg", name: "bar", width: 720 },
  { file: "bar-stacked.svg", name: "bar-stacked", width: 720 },
  { file: "bar-many.svg", name: "bar-many", width: 720 },
  { file: "line.svg", name: "line", width: 720 },
  { file: "area.svg", name: "area", width: 720 },
  { file: "pie.svg", name: "pie", width: 720 },
  { file: "pie-donut.svg", name: "pie-donut", width: 720 },
  { file: "scatter.svg", name: "scatter", width: 720 },
  { file: "kpi.svg", name: "kpi", width: 340 },
  { file: "table.html", name: "table", width: 720 },
];

// A page like a host page: the theme, the plugin's stylesheet and script,
// and the rendering inside a card, as a plugin page would place it.
function writePage(chart) {
  const asset = (...p) => pathToFileURL(path.join(sourceDir, ...p)).href;
  const body = fs.readFileSync(path.join(goldenDir, chart.file), "utf8");
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${chart.name}</title>
<link rel="stylesheet" href="${asset("host", "assets", "trellis.css")}">
<link rel="stylesheet" href="${asset("plugins", "charts", "assets", "charts.css")}">
<script src="${asset("plugins", "charts", "assets", "table.js")}" defer></script>
</head><body><main><div class="card" id="chart" style="width:${chart.width}px">${body}</div></main></body></html>\n`;
  const dir = path.join(artifactsDir, "charts");
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${chart.name}.html`);
  fs.writeFileSync(file, html);
  return pathToFileURL(file).href;
}

async function saveShot(page, name) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `chart-${name}.png`);
  await page.locator("#chart").screenshot({ path: file, animations: "disabled" });
  if (updateDocImages) {
    fs.mkdirSync(docImagesDir, { recursive: true });
    fs.copyFileSync(file, path.join(docImagesDir, `chart-${name}.png`));
  }
}

// What is wrong with the drawing: text outside the SVG, overlapping labels.
// Labels may be turned, so each is the quadrilateral its box becomes on the
// screen, and two overlap when no edge direction separates them.
async function layoutProblems(page) {
  return page.evaluate(() => {
    const problems = [];
    const svg = document.querySelector("svg.trellis-chart");
    const box = svg.getBoundingClientRect();
    const own = (t) => [...t.childNodes].filter((n) => n.nodeType === Node.TEXT_NODE).map((n) => n.data).join("");
    const labels = [...svg.querySelectorAll("text")].filter((t) => t.textContent.trim() !== "").map((t) => {
      const b = t.getBBox();
      const m = t.getScreenCTM();
      const corners = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height], [b.x, b.y + b.height]]
        .map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
      return { text: own(t), corners, rect: t.getBoundingClientRect(), group: t.closest("g") };
    });
    for (const { text, rect: r } of labels) {
      if (r.left < box.left - 1 || r.right > box.right + 1 || r.top < box.top - 1 || r.bottom > box.bottom + 1) {
        problems.push(`"${text}" sticks out of the chart`);
      }
    }
    const separated = (p, q) => {
      for (const quad of [p, q]) {
        for (let k = 0; k < 4; k++) {
          const a = quad[k];
          const b = quad[(k + 1) % 4];
          const len = Math.hypot(b.x - a.x, b.y - a.y) || 1;
          const axis = { x: (a.y - b.y) / len, y: (b.x - a.x) / len };
          const span = (qd) => qd.map((c) => c.x * axis.x + c.y * axis.y);
          const sp = span(p);
          const sq = span(q);
          if (Math.min(Math.max(...sp), Math.max(...sq)) - Math.max(Math.min(...sp), Math.min(...sq)) <= 1) return true;
        }
      }
      return false;
    };
    // Labels of the same group (an axis, a legend) must not overlap each other.
    for (let a = 0; a < labels.length; a++) {
      for (let b = a + 1; b < labels.length; b++) {
        if (labels[a].group !== labels[b].group) continue;
        if (!separated(labels[a].corners, labels[b].corners)) {
          problems.push(`"${labels[a].text}" overlaps "${labels[b].text}"`);
        }
      }
    }
    return problems;
  });
}

describe("charts in Chromium", { timeout: 120000 }, () => {
  let browser;

  before(async () => {
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
  });

  for (const chart of charts.filter((c) => c.file.endsWith(".svg"))) {
    test(`${chart.file} renders with a size, its text inside and apart`, async () => {
      const page = await openPage(browser.context);
      await page.goto(writePage(chart));
      const size = await page.locator("svg.trellis-chart").boundingBox();
      assert.ok(size && size.width > 100 && size.height > 50, `${chart.file}: box ${JSON.stringify(size)}`);
      // The viewBox keeps its proportions when the SVG scales to the card.
      const ratio = await page.evaluate(() => {
        const svg = document.querySelector("svg.trellis-chart");
        const vb = svg.viewBox.baseVal;
        const r = svg.getBoundingClientRect();
        return { drawn: r.width / r.height, viewBox: vb.width / vb.height };
      });
      assert.ok(Math.abs(ratio.drawn - ratio.viewBox) < 0.02, `${chart.file}: ${JSON.stringify(ratio)}`);
      assert.deepEqual(await layoutProblems(page), [], chart.file);
      await saveShot(page, chart.name);
      page.expectNoProblems();
      await page.close();
    });
  }

  test("table.html sorts by the clicked header, NULLs last", async () => {
    const page = await openPage(browser.context);
    await page.goto(writePage(charts.find((c) => c.name === "table")));
    const column = (n) => page.locator(`table.trellis-table tbody tr td:nth-child(${n})`).allTextContents();
    const header = (name) => page.locator("table.trellis-table th", { hasText: name });
    await saveShot(page, "table");

    await header("spend").locator("button").click();
    assert.equal(await header("spend").getAttribute("aria-sort"), "ascending");
    assert.deepEqual(await column(4), ["-$42.00", "$0.50", "$1,234.50", "$98,765.25", "—"]);
    await header("spend").locator("button").click();
    assert.equal(await header("spend").getAttribute("aria-sort"), "descending");
    assert.deepEqual(await column(4), ["$98,765.25", "$1,234.50", "$0.50", "-$42.00", "—"]);

    // Numbers as numbers (10 after 4), dates as dates, text as text.
    await header("id").locator("button").click();
    assert.equal(await header("spend").getAttribute("aria-sort"), "none");
    assert.deepEqual(await column(1), ["1", "2", "3", "4", "10"]);
    await header("signed_up").locator("button").click();
    assert.deepEqual(await column(3), ["2022-07-30", "2023-11-02", "2024-01-15", "2024-03-09", "—"]);
    await header("name").locator("button").click();
    assert.deepEqual(await column(2), ["<script>alert(1)</script>", "Ada <b>&\"Lovelace\"</b>", "Alan Turing",
                                       "Edsger Dijkstra", "Grace O'Hopper"]);
    // The header buttons are keyboard-reachable and look like headers, not like the theme's buttons.
    const look = await header("name").locator("button").evaluate((b) => getComputedStyle(b).backgroundColor);
    assert.equal(look, "rgba(0, 0, 0, 0)");
    await header("id").locator("button").focus();
    await page.keyboard.press("Enter");
    assert.equal(await header("id").getAttribute("aria-sort"), "ascending");
    page.expectNoProblems();
    await page.close();
  });
});
