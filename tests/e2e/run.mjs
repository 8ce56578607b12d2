// The ctest entry point of the browser tests: checks that the browser and
// playwright-core are there, then runs every *.test.mjs of this folder with
// node's own test runner.
//
// Environment (tests/e2e/CMakeLists.txt sets it):
//   TRELLIS_BIN                the trellis executable under test
//   TRELLIS_E2E_PLUGINS        the plugin files to load, separated by ':'
//   TRELLIS_E2E_ARTIFACTS      where screenshots and the server log go
//   TRELLIS_SOURCE_DIR         the source tree (for docs/images)
//   TRELLIS_UPDATE_DOC_IMAGES  1: also refresh the screenshots in docs/images/
//
// Exits with 77 (ctest SKIP_RETURN_CODE) when /usr/bin/chromium or
// node_modules/playwright-core is missing: scripts/install-deps provides both.
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import { createRequire } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";

const SKIP = 77;
const here = path.dirname(fileURLToPath(import.meta.url));

if (!fs.existsSync("/usr/bin/chromium")) {
  console.log("SKIP: /usr/bin/chromium is missing; run scripts/install-deps (Debian package 'chromium')");
  process.exit(SKIP);
}
try {
  createRequire(import.meta.url).resolve("playwright-core");
} catch {
  console.log(`SKIP: playwright-core is missing from ${path.resolve(here, "../../node_modules")}; ` +
              "run scripts/install-deps (npm ci)");
  process.exit(SKIP);
}

const files = fs.readdirSync(here).filter((f) => f.endsWith(".test.mjs")).sort().map((f) => path.join(here, f));
const result = spawnSync(process.execPath, ["--test", "--test-reporter=spec", "--test-concurrency=1", ...files],
                         { stdio: "inherit" });
if (result.error) throw result.error;
if (process.env.TRELLIS_E2E_ARTIFACTS) console.log(`screenshots and server log: ${process.env.TRELLIS_E2E_ARTIFACTS}`);
process.exit(result.status ?? 1);
