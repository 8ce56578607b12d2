// Browser tests of plugins/admin: the users, API tokens and roles pages,
// driven in Chromium against the real `trellis serve` and its admin APIs. Most
// tests browse as the harness's anonymous admin; one signs in through /login
// as an admin made with `trellis users add`, so the pages' calls are checked
// with a real session and its CSRF token. No test may leave a console error
// (a Content-Security-Policy violation is one). The users page's screenshot
// is docs/images/admin-users.png (TRELLIS_UPDATE_DOC_IMAGES=1, see run.mjs).
//
// The plugin files: TRELLIS_E2E_ADMIN_PLUGINS (paths separated by ':'), or
// core-pages.so and admin.so from the build tree of TRELLIS_BIN.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";

import { launchBrowser, openPage, screenshot, startServer, stopServer } from "./harness.mjs";

const ADMIN_PASSWORD = "root has a long passphrase 7";
const GOOD_PASSWORD = "a sound passphrase 42";

function pluginFiles() {
  let files;
  if (process.env.TRELLIS_E2E_ADMIN_PLUGINS) {
    files = process.env.TRELLIS_E2E_ADMIN_PLUGINS.split(path.delimiter).filter(Boolean);
  } else {
    if (!process.env.TRELLIS_BIN) throw new Error("TRELLIS_BIN is not set; run the suite through ctest");
    const dir = path.resolve(path.dirname(process.env.TRELLIS_BIN), "..", "lib", "trellis", "plugins");
    files = [path.join(dir, "core-pages.so"), path.join(dir, "admin.so")];
  }
  for (const f of files) {
    if (!fs.existsSync(f)) throw new Error(`${f} is missing: build the targets core-pages and admin`);
  }
  return files;
}

// The environment that points `trellis` at a user store in `dir`.
function storeEnv(dir) {
  return { TRELLIS_AUTH_STORE: path.join(dir, "auth.db") };
}

// Runs the trellis CLI with `env` added; fails the test unless it exits 0.
function trellisCli(args, env, input) {
  const clean = { ...process.env };
  for (const key of Object.keys(clean)) if (key.startsWith("TRELLIS_") && !key.startsWith("TRELLIS_E2E")) delete clean[key];
  const run = spawnSync(process.env.TRELLIS_BIN, args, { env: { ...clean, ...env }, input, encoding: "utf8" });
  assert.equal(run.status, 0, `trellis ${args.join(" ")} exited ${run.status}:\n${run.stdout}\n${run.stderr}`);
  return run.stdout;
}

// The elements that stick out of the window on the right, as "tag#id.class".
async function wider(page) {
  return page.evaluate(() => [...document.querySelectorAll("body *")]
    .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth + 0.5)
    .map((el) => el.tagName.toLowerCase() + (el.id ? `#${el.id}` : "") + (el.className ? `.${el.className}` : "")));
}

// The id of the element that has the keyboard focus.
const focused = (page) => page.evaluate(() => document.activeElement?.id || document.activeElement?.getAttribute("aria-label") || "");

describe("admin pages in Chromium", { timeout: 240000 }, () => {
  let server;
  let browser;
  let url;
  let storeDir;

  before(async () => {
    process.env.TRELLIS_E2E_PLUGINS = pluginFiles().join(path.delimiter);
    storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-e2e-admin-"));
    server = await startServer({ env: storeEnv(storeDir) });
    url = server.url;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await stopServer(server);
    if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
    assert.deepEqual(exit, { code: 0, signal: null }, `trellis did not exit cleanly:\n${server?.log}`);
  });

  async function visit(pathname) {
    const page = await openPage(browser.context);
    const response = await page.goto(url + pathname);
    return { page, response };
  }

  async function usersLoaded(page) {
    await page.locator("#add-user-roles input[type=checkbox]").first().waitFor();
    await page.waitForFunction(() => !/Loading/.test(document.querySelector("#users-table tbody").textContent));
  }

  const apiGet = async (pathname) => {
    const res = await browser.context.request.get(url + pathname);
    assert.equal(res.status(), 200, `GET ${pathname}: ${await res.text()}`);
    return res.json();
  };
  const userNamed = async (name) => (await apiGet("/api/v1/users")).users.find((u) => u.name === name);
  const rowOf = (page, name) => page.locator("#users-table tbody tr").filter({ has: page.locator("th", { hasText: name }) });

  test("/admin/ leads to the users page, in the layout with the Admin menu entry", async () => {
    const { page, response } = await visit("/admin/");
    assert.equal(response.status(), 200);
    assert.equal(new URL(page.url()).pathname, "/admin/users");
    assert.equal(await page.title(), "Users · Trellis");
    assert.equal(await page.locator('nav.trellis-nav a[aria-current="page"]').textContent(), "Admin");
    assert.equal(await page.locator('nav.admin-tabs a[aria-current="page"]').textContent(), "Users");
    // The shell is there without script, with its message for browsers without it.
    const shell = await (await browser.context.request.get(`${url}/admin/users`)).text();
    assert.match(shell, /<noscript>.*These pages need JavaScript/s);
    assert.match(shell, /<form id="add-user-form">/);
    assert.doesNotMatch(shell, /<script>|on(click|submit)=/);
    await usersLoaded(page);
    page.expectNoProblems();
    await page.close();
  });

  test("adding a user: the password rule's error, then the user in the table, shown as text", async () => {
    const { page } = await visit("/admin/users");
    await usersLoaded(page);
    const name = "ada<b>lovelace</b>";
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Password", { exact: true }).fill("short");
    await page.locator("#add-user-roles").getByLabel("viewer").check();
    await page.getByRole("button", { name: "Add user" }).click();

    const error = page.locator("#add-user-error");
    await error.waitFor();
    assert.equal(await error.getAttribute("role"), "alert");
    const message = await error.textContent();
    assert.match(message, /password/i);
    assert.match(message, /\d+/, `the error should name the rule (a length): ${message}`);
    assert.equal(await focused(page), "add-user-password");
    assert.equal(await userNamed(name), undefined);

    await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole("button", { name: "Add user" }).click();
    await page.locator("#admin-status", { hasText: "Added" }).waitFor();
    assert.ok(await error.isHidden());
    assert.equal(await page.locator("#admin-status").textContent(), `Added ${name} with viewer.`);
    const row = rowOf(page, name);
    await row.waitFor();
    assert.equal(await row.locator("th").textContent(), name);
    assert.equal(await page.locator("#users-table b").count(), 0);
    assert.deepEqual(await row.locator("td:nth-child(2) .tag").allTextContents(), ["viewer"]);
    assert.equal(await row.locator("td:nth-child(3)").textContent(), "active");
    assert.equal(await row.locator("td:nth-child(5)").textContent(), "never");
    assert.match(await row.locator("td:nth-child(4) time").getAttribute("datetime"), /^\d{4}-\d\d-\d\dT/);
    // Focus goes to the new user's row, and the form is empty for the next one.
    assert.equal(await focused(page), `Manage ${name}`);
    assert.equal(await page.getByLabel("Name", { exact: true }).inputValue(), "");

    const stored = await userNamed(name);
    assert.deepEqual(stored.roles, ["viewer"]);
    assert.equal(stored.disabled, false);

    // The same name again is refused with the API's message.
    await page.getByLabel("Name", { exact: true }).fill(name);
    await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
    await page.getByRole("button", { name: "Add user" }).click();
    await error.waitFor();
    assert.ok((await error.textContent()).length > 0);
    page.expectNoProblems([/status of (400|409|422) /]);
    await page.close();
  });

  test("managing a user: roles, disable and enable, password, sessions", async () => {
    const name = "grace";
    const created = await browser.context.request.post(`${url}/api/v1/users`,
      { data: { name, password: GOOD_PASSWORD, roles: ["viewer"] }, headers: { Origin: url } });
    assert.equal(created.status(), 201, await created.text());

    const { page } = await visit("/admin/users");
    await usersLoaded(page);
    await page.getByRole("button", { name: `Manage ${name}` }).click();
    const panel = page.locator("#user-panel");
    await panel.waitFor();
    assert.equal(await focused(page), "user-panel-heading");
    assert.equal(await page.locator("#user-panel-name").textContent(), name);
    assert.ok(await panel.getByLabel("viewer").isChecked());

    // Roles: viewer off, editor on.
    await panel.getByLabel("viewer").uncheck();
    await panel.getByLabel("editor").check();
    await panel.getByRole("button", { name: "Save roles" }).click();
    await page.locator("#admin-status", { hasText: `Roles of ${name} are now: editor.` }).waitFor();
    await rowOf(page, name).locator("td:nth-child(2) .tag", { hasText: "editor" }).waitFor();
    assert.deepEqual((await userNamed(name)).roles, ["editor"]);

    // Disable, then enable again.
    await panel.getByRole("button", { name: "Disable user" }).click();
    await page.locator("#admin-status", { hasText: `${name} is disabled` }).waitFor();
    await rowOf(page, name).locator("td:nth-child(3)", { hasText: "disabled" }).waitFor();
    assert.equal((await userNamed(name)).disabled, true);
    await panel.getByRole("button", { name: "Enable user" }).click();
    await page.locator("#admin-status", { hasText: `${name} is enabled.` }).waitFor();
    assert.equal((await userNamed(name)).disabled, false);

    // A password the rules refuse: the API's message in the panel, the field focused.
    await panel.getByLabel("New password").fill("123");
    await panel.getByRole("button", { name: "Set password" }).click();
    const panelError = page.locator("#user-panel-error");
    await panelError.waitFor();
    assert.match(await panelError.textContent(), /password/i);
    assert.equal(await focused(page), "user-new-password");
    await panel.getByLabel("New password").fill("another sound passphrase");
    await panel.getByRole("button", { name: "Set password" }).click();
    await page.locator("#admin-status", { hasText: `The password of ${name} is changed.` }).waitFor();
    assert.ok(await panelError.isHidden());
    assert.equal(await panel.getByLabel("New password").inputValue(), "");

    await panel.getByRole("button", { name: "End sessions" }).click();
    await page.locator("#admin-status", { hasText: `Every session of ${name} has ended.` }).waitFor();

    // Close gives the focus back to the row's button.
    await panel.getByRole("button", { name: "Close" }).click();
    assert.ok(await panel.isHidden());
    assert.equal(await focused(page), `Manage ${name}`);
    page.expectNoProblems([/status of (400|422) /]);
    await page.close();
  });

  test("a token is shown once, works, and stops working when revoked", async () => {
    const { page } = await visit("/admin/tokens");
    assert.equal(await page.title(), "API tokens · Trellis");
    await page.locator("#token-role option[value=admin]").waitFor({ state: "attached" });
    const label = "ci <i>deploy</i>";
    await page.getByLabel("Label").fill(label);
    await page.getByLabel("Role").selectOption("admin");
    await page.getByLabel("Days until the token expires").fill("30");
    await page.getByRole("button", { name: "Create token" }).click();

    const secretBox = page.locator("#token-secret");
    await secretBox.waitFor();
    const secret = await page.locator("#token-secret-value").inputValue();
    assert.ok(secret.length >= 20, `the secret looks too short: ${secret}`);
    assert.equal(await focused(page), "token-secret-value");
    assert.match(await secretBox.textContent(), /only time the token is shown/);
    assert.equal(await page.locator("#token-secret-label").textContent(), `\u201c${label}\u201d`);

    const row = page.locator("#tokens-table tbody tr").filter({ has: page.locator("th", { hasText: label }) });
    await row.waitFor();
    assert.equal(await page.locator("#tokens-table i").count(), 0);
    assert.deepEqual(await row.locator("td").evaluateAll((tds) => tds.map((td) => td.textContent)).then((t) => [t[0], t[5]]),
                     ["admin", "active"]);
    const expires = new Date(await row.locator("td:nth-child(5) time").getAttribute("datetime"));
    const days = (expires - Date.now()) / 86400000;
    assert.ok(days > 29 && days <= 30, `expires in ${days} days, not 30`);

    // The secret works as a bearer token against the APIs.
    const bearer = { Authorization: `Bearer ${secret}` };
    // Node's own fetch: no cookie, only the token.
    const withToken = async () => (await fetch(`${url}/api/v1/roles`, { headers: bearer })).status;
    assert.equal(await withToken(), 200);

    // It is never shown again: not after "done", not after a reload.
    await page.getByRole("button", { name: /I have stored it/ }).click();
    assert.ok(await secretBox.isHidden());
    assert.equal(await page.locator("#token-secret-value").inputValue(), "");
    await page.reload();
    await row.waitFor();
    assert.ok(await secretBox.isHidden());
    assert.ok(!(await page.content()).includes(secret));
    assert.ok(!JSON.stringify(await apiGet("/api/v1/tokens")).includes(secret));

    // Revoking asks first; dismissing keeps the token.
    page.once("dialog", (d) => d.dismiss());
    await row.getByRole("button", { name: `Revoke ${label}` }).click();
    assert.equal(await row.locator("td:nth-child(7)").textContent(), "active");
    assert.equal(await withToken(), 200);

    let asked = "";
    page.once("dialog", (d) => { asked = d.message(); d.accept(); });
    await row.getByRole("button", { name: `Revoke ${label}` }).click();
    await page.locator("#admin-status", { hasText: "is revoked" }).waitFor();
    assert.match(asked, /Revoke the token .ci <i>deploy<\/i>.\?/);
    await row.locator("td:nth-child(7) .tag", { hasText: "revoked" }).waitFor();
    assert.equal(await row.getByRole("button").count(), 0);
    assert.equal(await focused(page), "tokens-heading");
    assert.equal(await withToken(), 401);

    // A token that never expires.
    await page.getByLabel("Label").fill("backup job");
    await page.getByLabel("Role").selectOption("viewer");
    await page.getByLabel("Never").check();
    assert.ok(await page.getByLabel("Days until the token expires").isDisabled());
    await page.getByRole("button", { name: "Create token" }).click();
    await secretBox.waitFor();
    const never = page.locator("#tokens-table tbody tr").filter({ has: page.locator("th", { hasText: "backup job" }) });
    await never.waitFor();
    assert.equal(await never.locator("td:nth-child(5)").textContent(), "never");
    await screenshot(page, "admin-tokens");
    page.expectNoProblems();
    await page.close();
  });

  test("a token without a label is refused with the API's message next to the form", async () => {
    const { page } = await visit("/admin/tokens");
    await page.locator("#token-role option[value=viewer]").waitFor({ state: "attached" });
    // Spaces pass the browser's `required` but not the API.
    await page.getByLabel("Label").fill("   ");
    await page.getByLabel("Role").selectOption("viewer");
    await page.getByRole("button", { name: "Create token" }).click();
    const error = page.locator("#token-error");
    await error.waitFor();
    assert.match(await error.textContent(), /label/i);
    assert.ok(await page.locator("#token-secret").isHidden());
    // Days that are no whole number are caught before any request.
    await page.getByLabel("Label").fill("x");
    await page.getByLabel("Days until the token expires").fill("");
    await page.getByRole("button", { name: "Create token" }).click();
    await error.filter({ hasText: "whole number of days" }).waitFor();
    assert.equal(await focused(page), "token-days");
    page.expectNoProblems([/status of (400|422) /]);
    await page.close();
  });

  test("the roles page lists each role's permissions and every declared permission", async () => {
    const { page } = await visit("/admin/roles");
    assert.equal(await page.title(), "Roles · Trellis");
    const admin = page.locator('section[aria-label="Role admin"]');
    await admin.waitFor();
    assert.match(await admin.locator("h2").textContent(), /admin\s*built-in/);
    const adminPerms = await admin.locator(".admin-permissions li").allTextContents();
    assert.ok(adminPerms.includes("admin.console:view"), adminPerms.join(", "));
    assert.ok(adminPerms.includes("trellis.users:manage"));
    const viewer = await page.locator('section[aria-label="Role viewer"] .admin-permissions li').allTextContents();
    assert.ok(!viewer.includes("admin.console:view"));
    const editor = page.locator('section[aria-label="Role editor"]');
    assert.deepEqual(await editor.locator("p .tag").allTextContents(), ["viewer"]);

    const row = page.locator("#permissions-table tbody tr").filter({ has: page.locator("th", { hasText: "admin.console:view" }) });
    await row.waitFor();
    assert.equal(await row.locator("td:nth-child(2)").textContent(), "admin");
    assert.match(await row.locator("td:nth-child(3)").textContent(), /Open the administration pages/);
    assert.ok((await row.locator("td:nth-child(4) .tag").allTextContents()).includes("admin"));
    assert.ok(await page.locator("#permissions-table th", { hasText: "trellis.tokens:manage" }).count() === 1);
    await screenshot(page, "admin-roles");
    page.expectNoProblems();
    await page.close();
  });

  test("the pages fit a 390 px phone screen; the users page's screenshot", async () => {
    const { page } = await visit("/admin/users");
    await usersLoaded(page);
    await page.setViewportSize({ width: 960, height: 700 });
    await screenshot(page, "admin-users", { doc: "admin-users" });
    await page.setViewportSize({ width: 390, height: 844 });
    for (const p of ["/admin/users", "/admin/tokens", "/admin/roles"]) {
      await page.goto(url + p);
      await page.locator(".admin tbody tr th, .admin-role").first().waitFor();
      assert.deepEqual(await wider(page), [], `${p}: elements wider than a 390px phone screen`);
    }
    await page.goto(`${url}/admin/users`);
    await usersLoaded(page);
    await page.getByRole("button", { name: "Manage grace" }).click();
    assert.deepEqual(await wider(page), [], "the manage panel is wider than a 390px phone screen");
    await screenshot(page, "admin-users-phone");
    page.expectNoProblems();
    await page.close();
  });
});

describe("admin pages with a real sign-in", { timeout: 240000 }, () => {
  let server;
  let browser;
  let url;
  let storeDir;

  before(async () => {
    process.env.TRELLIS_E2E_PLUGINS = pluginFiles().join(path.delimiter);
    storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-e2e-admin-login-"));
    trellisCli(["users", "add", "root", "--role", "admin", "--password-stdin"], storeEnv(storeDir), `${ADMIN_PASSWORD}\n`);
    server = await startServer({ anonymousRole: "", env: storeEnv(storeDir) });
    url = server.url;
    browser = await launchBrowser();
  });

  after(async () => {
    await browser?.close();
    const exit = await stopServer(server);
    if (storeDir) fs.rmSync(storeDir, { recursive: true, force: true });
    assert.deepEqual(exit, { code: 0, signal: null }, `trellis did not exit cleanly:\n${server?.log}`);
  });

  async function signIn(page, name, password) {
    await page.goto(`${url}/admin/users`);
    assert.equal(new URL(page.url()).pathname, "/login");
    await page.getByLabel("User name").fill(name);
    await page.getByLabel("Password").fill(password);
    await Promise.all([page.waitForURL((u) => u.pathname !== "/login"), page.getByRole("button", { name: "Sign in" }).click()]);
  }

  test("an admin signs in, adds a viewer through the page; the viewer may not open it", async () => {
    const page = await openPage(browser.context);
    await signIn(page, "root", ADMIN_PASSWORD);
    assert.equal(new URL(page.url()).pathname, "/admin/users");
    assert.ok((await page.locator('meta[name="trellis-csrf"]').getAttribute("content")).length > 0);
    await page.locator("#add-user-roles").getByLabel("viewer").waitFor();
    const root = page.locator("#users-table tbody tr").filter({ has: page.locator("th", { hasText: "root" }) });
    await root.waitFor();
    assert.match(await root.locator("td:nth-child(5) time").textContent(), /^\d{4}-\d\d-\d\d \d\d:\d\d$/);

    // The page's POST carries the session's CSRF token (trellis.fetch); it succeeds.
    await page.getByLabel("Name", { exact: true }).fill("reader");
    await page.getByLabel("Password", { exact: true }).fill(GOOD_PASSWORD);
    await page.locator("#add-user-roles").getByLabel("viewer").check();
    await page.getByRole("button", { name: "Add user" }).click();
    await page.locator("#admin-status", { hasText: "Added reader with viewer." }).waitFor();

    // The same call without the token is refused: the host checks it, not the page.
    const forged = await page.evaluate(async () => {
      const res = await fetch("/api/v1/users", { method: "POST", headers: { "Content-Type": "text/plain" },
                                                 body: JSON.stringify({ name: "mallory", password: "x".repeat(20), roles: ["admin"] }) });
      return res.status;
    });
    assert.equal(forged, 403);
    page.expectNoProblems([/status of 403 /]);
    await page.close();

    // The viewer signs in elsewhere and is refused the admin pages and APIs.
    const other = await launchBrowser();
    try {
      const viewer = await openPage(other.context);
      await viewer.goto(`${url}/login`);
      await viewer.getByLabel("User name").fill("reader");
      await viewer.getByLabel("Password").fill(GOOD_PASSWORD);
      await Promise.all([viewer.waitForURL((u) => u.pathname !== "/login"), viewer.getByRole("button", { name: "Sign in" }).click()]);
      const res = await viewer.goto(`${url}/admin/users`);
      assert.equal(res.status(), 403);
      assert.equal(await viewer.locator('nav.trellis-nav a', { hasText: "Admin" }).count(), 0);
      assert.equal((await other.context.request.get(`${url}/api/v1/users`)).status(), 403);
      viewer.expectNoProblems([/status of 403 /]);
    } finally {
      await other.close();
    }
  });
});
