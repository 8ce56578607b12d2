// What the browser tests share: a real `trellis serve` on a free port, headless
// Debian Chromium driven by playwright-core, screenshots, and a watch on the
// browser console. Configured by the environment that tests/e2e/CMakeLists.txt
// sets (run.mjs explains each variable).
import { spawn } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

// playwright-core from the repository's node_modules (npm ci; scripts/install-deps).
const require = createRequire(import.meta.url);
const { chromium } = require("playwright-core");

const here = path.dirname(fileURLToPath(import.meta.url));
export const sourceDir = process.env.TRELLIS_SOURCE_DIR || path.resolve(here, "../..");
export const artifactsDir = process.env.TRELLIS_E2E_ARTIFACTS || path.join(os.tmpdir(), "trellis-e2e-artifacts");
const docImagesDir = path.join(sourceDir, "docs", "images");
const updateDocImages = process.env.TRELLIS_UPDATE_DOC_IMAGES === "1";

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set; run the suite through ctest (tests/e2e/CMakeLists.txt)`);
  return value;
}

/// Starts `trellis serve` on 127.0.0.1 and a free port with exactly the given
/// plugin files, each in a directory of its own. Resolves once the server
/// printed its URL.
export async function startServer(options = {}) {
  const trellis = required("TRELLIS_BIN");
  const plugins = required("TRELLIS_E2E_PLUGINS").split(path.delimiter).filter(Boolean);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-e2e-"));
  const args = ["--no-default-plugins"];
  for (const file of plugins) {
    // One --plugin-dir per plugin: the build puts every plugin of the tree
    // into one directory, and these tests want these plugins only.
    const dir = path.join(work, path.basename(file, ".so"));
    fs.mkdirSync(dir);
    fs.symlinkSync(file, path.join(dir, path.basename(file)));
    args.push("--plugin-dir", dir);
  }
  args.push("serve", "--listen", "127.0.0.1:0");

  const env = { ...process.env };
  for (const key of Object.keys(env)) {
    if (key.startsWith("TRELLIS_") && !key.startsWith("TRELLIS_E2E")) delete env[key];
  }
  // These tests are about pages, not sign-in: they browse as an anonymous
  // admin. security.test.mjs signs in for real.
  env.TRELLIS_AUTH_ANONYMOUS_ROLE = options.anonymousRole ?? "admin";
  env.TRELLIS_DATA_DIR = work;  // the user store and the audit log
  Object.assign(env, options.env || {});
  const child = spawn(trellis, args, { env, stdio: ["ignore", "pipe", "pipe"] });
  const server = { child, work, url: null, log: "", exit: null };
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => { server.log += chunk; });
  // Never leave a server behind, whatever happens to this process.
  process.on("exit", () => { if (server.exit === null) child.kill("SIGKILL"); });
  server.exited = new Promise((resolve) => {
    child.on("exit", (code, signal) => {
      server.exit = { code, signal };
      resolve(server.exit);
    });
  });

  server.url = await new Promise((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error(`trellis did not say where it listens within 20 s:\n${server.log}`)), 20000);
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
  return server;
}

/// Sends SIGTERM and waits for the exit; the log goes to the artifacts.
export async function stopServer(server) {
  if (!server) return null;
  if (server.exit === null) server.child.kill("SIGTERM");
  const timeout = new Promise((resolve) => setTimeout(() => resolve(null), 15000));
  const exit = await Promise.race([server.exited, timeout]);
  if (exit === null) server.child.kill("SIGKILL");
  fs.mkdirSync(artifactsDir, { recursive: true });
  fs.writeFileSync(path.join(artifactsDir, "trellis.log"), server.log);
  fs.rmSync(server.work, { recursive: true, force: true });
  return exit;
}

/// Headless Chromium from Debian, with a fresh profile. Never downloads a browser.
export async function launchBrowser() {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "trellis-e2e-profile-"));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    viewport: { width: 960, height: 640 },
    colorScheme: "light",
    locale: "en-US",
  });
  return {
    context,
    async close() {
      await context.close();
      fs.rmSync(profile, { recursive: true, force: true });
    },
  };
}

/// A new tab that records console errors, uncaught page errors and the host
/// runtime's warnings ("trellis: ..."). expectNoProblems() fails the test
/// with all of them; `allowed` lists regular expressions a test expects,
/// such as the network error of a deliberate 404.
export async function openPage(context) {
  const page = await context.newPage();
  const problems = [];
  page.on("console", (msg) => {
    const text = msg.text();
    if (msg.type() === "error" || (msg.type() === "warning" && text.startsWith("trellis:"))) {
      problems.push(`console ${msg.type()} on ${page.url()}: ${text}`);
    }
  });
  page.on("pageerror", (err) => problems.push(`page error on ${page.url()}: ${err.message}`));
  page.on("requestfailed", (req) => {
    // Navigating away aborts what is still loading; that is no error of the page.
    if (req.failure()?.errorText !== "net::ERR_ABORTED") {
      problems.push(`request failed on ${page.url()}: ${req.url()}: ${req.failure()?.errorText}`);
    }
  });
  page.expectNoProblems = (allowed = []) => {
    const left = problems.filter((p) => !allowed.some((re) => re.test(p)));
    if (left.length > 0) throw new Error(`the browser reported problems:\n${left.join("\n")}`);
  };
  return page;
}

/// Saves a full-page PNG into the artifacts; `doc: "name"` also writes
/// docs/images/<name>.png when TRELLIS_UPDATE_DOC_IMAGES=1.
export async function screenshot(page, name, { doc } = {}) {
  fs.mkdirSync(artifactsDir, { recursive: true });
  const file = path.join(artifactsDir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true, animations: "disabled", caret: "hide" });
  if (doc && updateDocImages) {
    fs.mkdirSync(docImagesDir, { recursive: true });
    fs.copyFileSync(file, path.join(docImagesDir, `${doc}.png`));
  }
  return file;
}
