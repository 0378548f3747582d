// What every browser-test file shares: one real `machi serve --demo` per file on its own fresh
// database, headless Chromium, the axe-core scan and the screenshot habit.
//
// Environment: MACHI_BIN (the machi binary), MACHI_BROWSER_DATABASE (a SQLite file or a postgres
// URL with `options[search_path]=SCHEMA`; each test file gets its own file or schema next to it),
// SCREENSHOT_DIR (default target/screenshots), CHROMIUM (default /usr/bin/chromium).

import { before, after } from "node:test";
import assert from "node:assert/strict";
import { spawn, execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { chromium } from "playwright-core";
import { AxeBuilder } from "@axe-core/playwright";

export const PASSWORD = "midori-demo-2026";
export const shots = process.env.SCREENSHOT_DIR || "target/screenshots";
export const backend = (process.env.MACHI_BROWSER_DATABASE || "").startsWith("postgres") ? "postgres" : "sqlite";
mkdirSync(shots, { recursive: true });

/** The running town: `base` URL, its database, the browser; set in `before`. */
export const town = { base: "", db: "", browser: null, server: null };
/** Paths scanned by axe in this file. */
export const scanned = new Set();

/** This file's own database, derived from MACHI_BROWSER_DATABASE and the test file's name. */
function databaseFor(name) {
  const given = process.env.MACHI_BROWSER_DATABASE;
  if (!given.startsWith("postgres")) {
    // A file left by an earlier run would keep its alerts and people: start from nothing.
    const file = join(dirname(given), `${name}.db`);
    for (const f of [file, `${file}-wal`, `${file}-shm`]) rmSync(f, { force: true });
    return file;
  }
  const url = new URL(given);
  const schema = `${url.searchParams.get("options[search_path]") || "browser"}_${name}`.replace(/[^a-z0-9_]/gi, "_");
  url.searchParams.delete("options[search_path]");
  const plain = url.toString();
  execFileSync("psql", [plain, "-qc", `DROP SCHEMA IF EXISTS ${schema} CASCADE; CREATE SCHEMA ${schema}`]);
  return `${plain}${plain.includes("?") ? "&" : "?"}options[search_path]=${schema}`;
}

/**
 * Start the demo town for the calling test file (call at the top level of the file).
 * `config` is extra machi.toml text.
 */
export function useTown(fileUrl, config = "") {
  let configDir;
  before(async () => {
    const bin = process.env.MACHI_BIN;
    assert.ok(bin && process.env.MACHI_BROWSER_DATABASE, "MACHI_BIN and MACHI_BROWSER_DATABASE must be set (scripts/test sets them)");
    town.db = databaseFor(basename(new URL(fileUrl).pathname).replace(/\.test\.mjs$/, ""));
    configDir = mkdtempSync(join(tmpdir(), "machi-browser-"));
    writeFileSync(join(configDir, "machi.toml"), config);
    town.server = spawn(bin, ["--database", town.db, "serve", "--demo", "--bind", "127.0.0.1:0"], {
      env: { ...process.env, MACHI_LOG: "warn", MACHI_CONFIG: join(configDir, "machi.toml") },
      stdio: ["ignore", "ignore", "pipe"],
    });
    town.base = await new Promise((resolve, reject) => {
      const lines = createInterface({ input: town.server.stderr });
      const timer = setTimeout(() => reject(new Error("machi did not start within 60 s")), 60_000);
      lines.on("line", (line) => {
        const m = line.match(/serving on (http:\/\/[^/]+)\//);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      town.server.on("exit", (code) => reject(new Error(`machi exited with ${code}`)));
    });
    town.browser = await chromium.launch({
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    });
  });
  after(async () => {
    await town.browser?.close();
    town.server?.kill("SIGTERM");
    if (configDir) rmSync(configDir, { recursive: true, force: true });
  });
}

/** A personal API token for a demo login, made with the CLI on this file's database. */
export function tokenFor(login) {
  return execFileSync(process.env.MACHI_BIN, ["--database", town.db, "token", "create", login], {
    env: { ...process.env, MACHI_LOG: "error" },
  })
    .toString()
    .trim();
}

/** Fresh browser context (cookies) in a language. */
export async function person(locale = "ja-JP") {
  const context = await town.browser.newContext({ locale, acceptDownloads: true, viewport: { width: 1100, height: 900 } });
  return context.newPage();
}

/** Scan the current page with axe-core; fail with the violations listed. */
export async function checkA11y(page, label) {
  const results = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
  const problems = results.violations.map(
    (v) => `${v.id} (${v.impact}): ${v.help}\n    ${v.nodes.map((n) => n.target.join(" ")).slice(0, 5).join("\n    ")}`,
  );
  assert.deepEqual(problems, [], `axe violations on ${label} (${page.url()}):\n${problems.join("\n")}`);
  scanned.add(new URL(page.url()).pathname);
}

/** Keep a screenshot of the page, named after the backend and `name`. */
export async function shot(page, name) {
  await page.screenshot({ path: `${shots}/${backend}-${name}.png`, fullPage: true });
}

/** Go to a path, check it, and keep a screenshot named after it. */
export async function visit(page, path, name) {
  const res = await page.goto(town.base + path);
  assert.ok(res.status() < 400, `${path} answered ${res.status()}`);
  await checkA11y(page, path);
  if (name) await shot(page, name);
}

export async function logIn(page, login, password = PASSWORD) {
  await page.goto(town.base + "/login");
  await page.fill("#login", login);
  await page.fill("#password", password);
  await Promise.all([page.waitForURL(/\/me/), page.click("form.stack button[type=submit]")]);
}
