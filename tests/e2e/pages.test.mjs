// Browser tests of the web host: the layout, navigation, forms, the live
// pages over the WebSocket, error pages, and no console errors anywhere. The
// pages are those of plugins/core-pages and examples/pages (docs/pages.md).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { launchBrowser, openPage, screenshot, startServer, stopServer } from "./harness.mjs";

const EXAMPLE = "/pages-example";
// Chromium logs the status of a document that is not 2xx as a console error.
const statusLogged = (code) => new RegExp(`status of ${code} `);

describe("trellis pages in Chromium", { timeout: 240000 }, () => {
  let server;
  let browser;
  let url;

  before(async () => {
    server = await startServer();
    url = server.url;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await stopServer(server);
    // SIGTERM stops the server and shuts the plugins down: the example's clock
    // thread must join, or the process would hang here.
    assert.deepEqual(exit, { code: 0, signal: null }, `trellis did not exit cleanly after SIGTERM:\n${server?.log}`);
    assert.match(server.log, /all plugins shut down/);
  });

  // Opens `path` in a new tab; returns the tab and the response.
  async function visit(path) {
    const page = await openPage(browser.context);
    const response = await page.goto(url + path);
    return { page, response };
  }

  // The elements that stick out of the window on the right, as "tag#id.class".
  async function wider(page) {
    return page.evaluate(() => [...document.querySelectorAll("body *")]
      .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
      .map((el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "") + (el.className ? `.${el.className}` : "")));
  }

  async function expectLayout(page, { title }) {
    assert.equal(await page.locator("header.trellis-header a.trellis-brand").textContent(), "Trellis");
    const nav = await page.locator("nav.trellis-nav a").allTextContents();
    assert.deepEqual(nav, ["Home", "Notes", "Live demo", "Plugins", "Host"]);
    assert.match(await page.locator("footer.trellis-footer").textContent(), /^Trellis \d+\.\d+\.\d+/);
    assert.equal(await page.title(), `${title} · Trellis`);
    assert.equal(await page.locator("main").count(), 1);
  }

  test("the home page renders inside the layout", async () => {
    const { page, response } = await visit("/");
    assert.equal(response.status(), 200);
    assert.equal(new URL(page.url()).pathname, "/core-pages/");  // / redirects to the first menu entry
    await expectLayout(page, { title: "Home" });
    assert.equal(await page.locator("main h1").textContent(), "Installed plugins");
    assert.equal(await page.locator("main .card h2", { hasText: "pages-example" }).count(), 1);
    assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), "Home");
    await screenshot(page, "home", { doc: "pages-home" });
    page.expectNoProblems();
    await page.close();
  });

  test("clicking menu links navigates between plugin pages", async () => {
    const { page } = await visit("/core-pages/");
    await Promise.all([page.waitForURL(`${url}${EXAMPLE}/`), page.locator("nav a", { hasText: "Notes" }).click()]);
    await expectLayout(page, { title: "Notes" });
    assert.equal(await page.locator('nav a[aria-current="page"]').textContent(), "Notes");
    // The plugin's static asset is on the page, and it loaded.
    const icon = page.locator(`main h1 img[src="${EXAMPLE}/static/notebook.svg"]`);
    assert.ok(await icon.evaluate((img) => img.complete && img.naturalWidth > 0), "notebook.svg did not load");

    await Promise.all([page.waitForURL(`${url}${EXAMPLE}/live`), page.locator("nav a", { hasText: "Live demo" }).click()]);
    assert.equal(await page.locator("main h1").textContent(), "Live demo");
    await Promise.all([page.waitForURL(`${url}/core-pages/plugins`), page.locator("nav a", { hasText: "Plugins" }).click()]);
    assert.equal(await page.locator("main h1").textContent(), "Plugins");
    assert.equal(await page.locator("main tbody tr").count(), 2);
    await Promise.all([page.waitForURL(`${url}/core-pages/`), page.locator("a.trellis-brand").click()]);
    page.expectNoProblems();
    await page.close();
  });

  test("a form is posted, read with request.form, and its text is escaped", async () => {
    const { page } = await visit(`${EXAMPLE}/`);
    const title = "<b>Milk</b> & eggs";
    await page.locator("#note-title").fill(title);
    await page.locator("#note-text").fill("Two eggs.\nAnd <script>alert(1)</script> milk.");
    await Promise.all([page.waitForURL(new RegExp(`${EXAMPLE}/notes/\\d+$`)), page.getByRole("button", { name: "Add note" }).click()]);
    await expectLayout(page, { title });
    // Shown as text: no <b> element, no script element in the content.
    assert.equal((await page.locator("main h1").textContent()).trim(), title);
    assert.equal(await page.locator("main h1 b").count(), 0);
    assert.equal(await page.locator("main script").count(), 0);
    assert.match(await page.locator("main article p").textContent(), /<script>alert\(1\)<\/script>/);

    // A query parameter: ?highlight=eggs marks the word.
    await page.locator('input[name="highlight"]').fill("egg");
    await Promise.all([page.waitForURL(/\?highlight=egg$/), page.getByRole("button", { name: "Highlight" }).click()]);
    assert.deepEqual(await page.locator("main article mark").allTextContents(), ["egg"]);
    await screenshot(page, "note", { doc: "pages-note" });

    // The list links to the note, and ?q= finds it.
    const noteUrl = page.url().replace(/\?.*$/, "");
    await page.goto(`${url}${EXAMPLE}/?q=${encodeURIComponent("Milk")}`);
    assert.match(await page.locator("main").textContent(), /Notes containing Milk:/);
    assert.equal(await page.locator("#notes a").getAttribute("href"), new URL(noteUrl).pathname);
    await page.goto(`${url}${EXAMPLE}/?q=nothing-like-this`);
    assert.match(await page.locator("#notes").textContent(), /No note matches/);

    // A rejected form comes back with a 400, the message and what was typed.
    const bad = await page.request.post(`${url}${EXAMPLE}/notes`, { form: { title: "", text: "kept <text>" } });
    assert.equal(bad.status(), 400);
    const html = await bad.text();
    assert.match(html, /A note needs a title\./);
    assert.match(html, /kept &lt;text&gt;<\/textarea>/);

    await page.goto(`${url}${EXAMPLE}/`);
    await screenshot(page, "notes", { doc: "pages-notes" });
    page.expectNoProblems();
    await page.close();
  });

  test("the JSON endpoint reads request.json", async () => {
    const api = browser.context.request;
    const created = await api.post(`${url}${EXAMPLE}/api/notes`, { data: { title: "From JSON", text: "via fetch" } });
    assert.equal(created.status(), 201);
    const { id, url: noteUrl } = await created.json();
    assert.equal(created.headers()["location"], noteUrl);
    assert.equal(noteUrl, `${EXAMPLE}/notes/${id}`);

    const list = await (await api.get(`${url}${EXAMPLE}/api/notes`)).json();
    assert.ok(list.notes.some((n) => n.id === id && n.title === "From JSON" && n.text === "via fetch"));

    // The same notes as text, streamed in chunks.
    const exported = await api.get(`${url}${EXAMPLE}/export`);
    assert.equal(exported.status(), 200);
    assert.equal(exported.headers()["transfer-encoding"], "chunked");
    assert.match(await exported.text(), /# From JSON\n\nvia fetch\n/);

    const notJson = await api.post(`${url}${EXAMPLE}/api/notes`, { data: Buffer.from("{oops"), headers: { "Content-Type": "application/json" } });
    assert.equal(notJson.status(), 400);
    assert.match((await notJson.json()).error, /not JSON/);
    const noTitle = await api.post(`${url}${EXAMPLE}/api/notes`, { data: { title: 42 } });
    assert.equal(noTitle.status(), 400);
    assert.equal((await noTitle.json()).error, "'title' must be a string");
  });

  test("the host's live page receives updates over the WebSocket", async () => {
    const { page, response } = await visit("/core-pages/live");
    await expectLayout(page, { title: "Host" });
    // The page is served with a placeholder; only an update over the WebSocket replaces it.
    assert.match(await response.text(), /data-trellis-bind="uptime">…</);
    await page.waitForFunction(() => {
      const el = document.querySelector('[data-trellis-bind="uptime"]');
      return el && /^\d/.test(el.textContent);
    }, null, { timeout: 10000 });
    await page.waitForFunction(() => document.querySelector(".trellis-live-status").textContent === "live");
    assert.match(await page.locator('[data-trellis-bind="requests"]').textContent(), /^\d+$/);
    assert.match(await page.locator('[data-trellis-bind="memory"]').textContent(), /^\d+ MiB$/);
    await screenshot(page, "host-live");
    page.expectNoProblems();
    await page.close();
  });

  test("a button event reaches the plugin and the count changes on every open page", async () => {
    const { page } = await visit(`${EXAMPLE}/live`);
    const { page: other } = await visit(`${EXAMPLE}/live`);
    await page.waitForFunction(() => document.querySelector(".trellis-live-status").textContent === "live");
    // A clock update proves the server has the other tab's subscription (one
    // message subscribes a page to all its topics, the counter's included).
    const ticks = await other.locator("#ticks").textContent();
    await other.waitForFunction((first) => document.querySelector("#ticks").textContent !== first, ticks, { timeout: 5000 });
    const start = Number(await page.locator("#count").textContent());
    for (let i = 1; i <= 3; i++) {
      await page.locator("#increment").click();
      await page.locator("#count").filter({ hasText: new RegExp(`^${start + i}$`) }).waitFor({ timeout: 5000 });
    }
    // The handler also published the count: the other tab follows without a click.
    await other.locator("#count").filter({ hasText: new RegExp(`^${start + 3}$`) }).waitFor({ timeout: 5000 });
    // A reload shows the count the plugin keeps.
    await other.reload();
    assert.equal(await other.locator("#count").textContent(), String(start + 3));
    page.expectNoProblems();
    other.expectNoProblems();
    await page.close();
    await other.close();
  });

  test("the clock published by the plugin's thread updates the page", async () => {
    const { page } = await visit(`${EXAMPLE}/live`);
    const ticks = await page.locator("#ticks").textContent();
    assert.match(await page.locator("#time").textContent(), /^\d\d:\d\d:\d\d$/);
    await page.waitForFunction((first) => document.querySelector("#ticks").textContent !== first, ticks, { timeout: 5000 });
    assert.ok(Number(await page.locator("#ticks").textContent()) > Number(ticks));
    assert.match(await page.locator("#time").textContent(), /^\d\d:\d\d:\d\d$/);

    // A form sent as an event: its fields reach the plugin; the reply is set as text.
    await page.locator('#greet input[name="name"]').fill("<i>Ada</i>");
    await page.getByRole("button", { name: "Greet" }).click();
    await page.locator("#greeting").filter({ hasText: "Hello, <i>Ada</i>!" }).waitFor({ timeout: 5000 });
    assert.equal(await page.locator("#greeting i").count(), 0);
    assert.equal(new URL(page.url()).pathname, `${EXAMPLE}/live`);  // no navigation
    await page.locator("#increment").click();
    await page.locator("#count").filter({ hasText: /^[1-9]\d*$/ }).waitFor();
    await screenshot(page, "live", { doc: "pages-live" });
    page.expectNoProblems();
    await page.close();
  });

  test("an unknown address gets the 404 page inside the layout", async () => {
    const { page, response } = await visit(`${EXAMPLE}/no-such-page`);
    assert.equal(response.status(), 404);
    await expectLayout(page, { title: "Page not found" });
    assert.equal(await page.locator("main h1").textContent(), "Page not found");
    assert.equal(await page.locator("main code").textContent(), response.headers()["x-request-id"]);
    await screenshot(page, "404", { doc: "pages-404" });
    page.expectNoProblems([statusLogged(404)]);

    // The plugin's own 404, for a note that does not exist, uses the layout too.
    const { page: note, response: noteResponse } = await visit(`${EXAMPLE}/notes/999999`);
    assert.equal(noteResponse.status(), 404);
    await expectLayout(note, { title: "Note not found" });
    note.expectNoProblems([statusLogged(404)]);
    await page.close();
    await note.close();
  });

  test("a handler that throws gets the 500 page with the request id", async () => {
    const { page, response } = await visit(`${EXAMPLE}/broken`);
    assert.equal(response.status(), 500);
    await expectLayout(page, { title: "Something went wrong" });
    const id = response.headers()["x-request-id"];
    assert.ok(id, "no X-Request-Id header");
    assert.equal(await page.locator("main code").textContent(), id);
    assert.doesNotMatch(await page.locator("main").textContent(), /on purpose/);  // the detail is for the log
    await screenshot(page, "500", { doc: "pages-500" });
    page.expectNoProblems([statusLogged(500)]);
    await page.close();
    // The log has the detail under the same request id.
    const logged = new RegExp(`request ${id}: .*this page fails on purpose`);
    for (let waited = 0; !logged.test(server.log) && waited < 3000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.match(server.log, logged);
  });

  test("static assets are served with caching headers", async () => {
    const api = browser.context.request;
    const svg = await api.get(`${url}${EXAMPLE}/static/notebook.svg`);
    assert.equal(svg.status(), 200);
    assert.equal(svg.headers()["content-type"], "image/svg+xml");
    const etag = svg.headers()["etag"];
    assert.ok(etag);
    assert.match(svg.headers()["cache-control"], /max-age=/);
    const again = await api.get(`${url}${EXAMPLE}/static/notebook.svg`, { headers: { "If-None-Match": etag } });
    assert.equal(again.status(), 304);
    // No way out of the plugin's files: ".." segments, encoded slashes or not, are refused.
    assert.equal((await api.get(`${url}${EXAMPLE}/static/..%2f..%2fstatic%2ftrellis.css`)).status(), 400);
  });

  test("pages fit a phone screen and the dark theme", async () => {
    const { page } = await visit(`${EXAMPLE}/live`);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForFunction(() => document.querySelector(".trellis-live-status").textContent === "live");
    assert.deepEqual(await wider(page), [], "elements wider than a 390px phone screen");
    await screenshot(page, "live-phone");
    await page.emulateMedia({ colorScheme: "dark" });
    await page.goto(`${url}${EXAMPLE}/`);
    assert.deepEqual(await wider(page), [], "elements wider than a 390px phone screen");
    await screenshot(page, "notes-phone-dark");
    await page.setViewportSize({ width: 960, height: 640 });
    await page.goto(`${url}${EXAMPLE}/live`);
    await screenshot(page, "live-dark");
    page.expectNoProblems();
    await page.close();
  });
});
