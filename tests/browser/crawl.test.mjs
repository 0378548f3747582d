// Every page a person can reach by links, as each demo person (and a newly signed-up resident),
// in Japanese: no ISO timestamp, no id, no `None`, no internal code (aid.contact) in the words on the
// screen, and axe-core finds nothing. GET only, bounded, skipping logout, exports and downloads.
// What it flags is listed per page in SCREENSHOT_DIR/<backend>-crawl-findings.txt.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { AxeBuilder } from "@axe-core/playwright";
import { useTown, town, shots, backend, person, logIn } from "./lib.mjs";

useTown(import.meta.url);

const PEOPLE = ["tanaka", "sato", "kaicho", "supporter", "shop", "caremgr", "fukushi", "bousai", "admin"];
/** Pages per person, and pages per path shape (`/watch/:id` counts once per id up to this). */
const MAX_PAGES = 45;
const MAX_PER_SHAPE = 2;

const CHECKS = [
  ["ISO timestamp", /\d{4}-\d{2}-\d{2}T\d|\d{4}-\d{2}-\d{2} \d{2}:\d{2}/],
  ["ULID-like id", /\b[0-9A-HJKMNP-TV-Z]{26}\b/],
  ["None", /\bNone\b/],
  [
    "internal code",
    /\b(?:account|aid|alerts?|areas|audit|consents?|directory|households?|identifiers?|memberships?|organisations?|people|person|person_audit|residence|safety|tokens?|watch)\.[a-z_]+\b/,
  ],
];

/** Links not to follow: they act, download, stream or leave the pages. */
function skip(url) {
  const p = url.pathname;
  return (
    url.origin !== town.base ||
    p === "/logout" ||
    p.startsWith("/api/") ||
    p.startsWith("/static/") ||
    /\/(events|live|progress|pending)$/.test(p) ||
    /export|download|\.(csv|json|ics|xml|atom|js|png|svg)$/.test(p)
  );
}

const shape = (path) => path.replace(/[0-9A-HJKMNP-TV-Z]{26}|[0-9a-f]{32,}|\d{3,}/g, ":id").replace(/\?.*$/, "");

const findings = [];
const reached = [];

after(() => {
  const text = findings.map((f) => `${f.who}\t${f.path}\t${f.what}`).join("\n");
  writeFileSync(`${shots}/${backend}-crawl-findings.txt`, text + "\n");
  writeFileSync(`${shots}/${backend}-crawl-reached.txt`, reached.join("\n") + "\n");
});

async function crawl(page, who) {
  const seen = new Set();
  const shapes = new Map();
  const queue = ["/"];
  // The menu is where a person starts too.
  await page.goto(town.base + "/");
  for (const href of await page.locator("nav.site-nav a").evaluateAll((as) => as.map((a) => a.getAttribute("href")))) {
    queue.push(href);
  }
  let visited = 0;
  const flagged = [];
  while (queue.length && visited < MAX_PAGES) {
    const path = queue.shift();
    const url = new URL(path, town.base);
    url.hash = "";
    const key = url.pathname + url.search;
    if (seen.has(key) || skip(url)) continue;
    seen.add(key);
    const s = shape(key);
    if ((shapes.get(s) || 0) >= MAX_PER_SHAPE) continue;
    shapes.set(s, (shapes.get(s) || 0) + 1);
    const res = await page.goto(url.toString());
    visited++;
    reached.push(`${who}\t${key}`);
    const problems = [];
    if (!res || res.status() >= 400) problems.push(`status ${res?.status()}`);
    const text = await page.locator("body").innerText();
    for (const [name, re] of CHECKS) {
      const m = text.match(re);
      if (m) problems.push(`${name}: “${m[0]}” in “${text.slice(Math.max(0, m.index - 30), m.index + m[0].length + 30).replace(/\s+/g, " ")}”`);
    }
    const axe = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]).analyze();
    for (const v of axe.violations) problems.push(`axe ${v.id}: ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
    for (const what of problems) {
      findings.push({ who, path: key, what });
      flagged.push(`${key}: ${what}`);
    }
    const links = await page.locator("a[href]").evaluateAll((as) =>
      as.filter((a) => !a.hasAttribute("download")).map((a) => a.getAttribute("href")),
    );
    for (const href of links) {
      if (!href || href.startsWith("#") || href.startsWith("mailto:") || href.startsWith("tel:")) continue;
      const next = new URL(href, url);
      next.hash = "";
      if (!skip(next) && !seen.has(next.pathname + next.search)) queue.push(next.pathname + next.search);
    }
  }
  assert.ok(visited >= 3, `${who} reached only ${visited} pages`);
  assert.deepEqual(flagged, [], `${who}: ${flagged.length} problems on the pages reached:\n${flagged.join("\n")}`);
}

for (const login of PEOPLE) {
  test(`every page ${login} can reach reads as words and passes axe`, async () => {
    const page = await person("ja-JP");
    await logIn(page, login);
    try {
      await crawl(page, login);
    } finally {
      await page.context().close();
    }
  });
}

test("every page a newly signed-up resident can reach reads as words and passes axe", async () => {
  const page = await person("ja-JP");
  await page.goto(town.base + "/signup");
  await page.fill("#display_name", "新井 はじめ");
  // A login of its own on every run: the database may be kept between runs.
  await page.fill("#login", `arai${Date.now().toString(36)}`);
  await page.fill("#password", "はじめてのみどりの町で");
  await Promise.all([page.waitForURL(/\/me\?notice=created/), page.click("form.stack button[type=submit]")]);
  try {
    await crawl(page, "new resident");
  } finally {
    await page.context().close();
  }
});
