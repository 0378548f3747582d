// The main flows of the web shell in headless Chromium, as the people who use them.
// Every page visited is scanned with axe-core for WCAG 2.1 A/AA: zero violations is the test.
// Screenshots of each page (Japanese and English, normal and terminal mode) go to SCREENSHOT_DIR.
// The town, the browser and the helpers are in lib.mjs.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { useTown, town, scanned, shots, backend, tokenFor, person, checkA11y, visit, logIn } from "./lib.mjs";

// The server runs on the real clock, so the coordinator cannot wait a day for a request to
// become "old": here every unmatched request is in the coordinator's queue at once.
useTown(import.meta.url, "[aid]\ncoordinator_after_hours = 0\n");

let newPersonId;

test("a resident signs up, logs in, changes language and text size, exports data, logs out", async () => {
  const page = await person();
  await visit(page, "/", "home-ja");
  await visit(page, "/signup", "signup-ja");
  // A mistake first: the form says what the rule is, and stays accessible.
  await page.fill("#display_name", "青木 みどり");
  await page.fill("#login", "aoki");
  await page.fill("#password", "short");
  await page.click("form.stack button[type=submit]");
  await page.waitForSelector(".error-summary");
  assert.match(await page.textContent(".error-summary"), /10文字以上/);
  await checkA11y(page, "signup with errors");
  await page.screenshot({ path: `${shots}/${backend}-signup-errors-ja.png`, fullPage: true });

  await page.fill("#password", "みどりの風がふく町で");
  await page.fill("#email", "aoki@example.jp");
  await page.check("input[name=email_consent]");
  await Promise.all([page.waitForURL(/\/me\?notice=created/), page.click("form.stack button[type=submit]")]);
  await checkA11y(page, "my page after sign up");
  assert.equal(await page.inputValue("#display_name"), "青木 みどり");
  assert.match(await page.textContent(".who"), /青木 みどり/);
  assert.match(await page.textContent("main"), /緊急情報・お知らせのメール配信/, "the consent is listed");

  // Log out and in again.
  await Promise.all([page.waitForURL(/notice=logged-out/), page.click(".logout-form button")]);
  await logIn(page, "aoki", "みどりの風がふく町で");
  await visit(page, "/me", "me-ja");

  // Switch to English.
  await Promise.all([page.waitForLoadState("load"), page.click(".lang-switch button[value=en]")]);
  assert.equal(await page.getAttribute("html", "lang"), "en");
  assert.match(await page.textContent("h1"), /My page/);
  await checkA11y(page, "my page in English");
  await page.screenshot({ path: `${shots}/${backend}-me-en.png`, fullPage: true });

  // Larger text.
  await Promise.all([page.waitForLoadState("load"), page.click(".lang-switch button[name=large_text]")]);
  assert.match(await page.getAttribute("body", "class"), /large-text/);
  await checkA11y(page, "my page, large text");
  await page.screenshot({ path: `${shots}/${backend}-me-en-large.png`, fullPage: true });

  // Export my data.
  const [download] = await Promise.all([page.waitForEvent("download"), page.click("a[href='/me/export']")]);
  const exported = JSON.parse(readFileSync(await download.path(), "utf8"));
  assert.equal(exported.person.display_name, "青木 みどり");
  assert.equal(exported.login, "aoki");
  newPersonId = exported.person.id;

  // Terminal mode, then tokens, then log out.
  await visit(page, "/terminal", "terminal-en-large");
  await Promise.all([page.waitForLoadState("load"), page.click(".terminal-button[name=large_text]")]);
  await checkA11y(page, "terminal, normal text");
  await page.screenshot({ path: `${shots}/${backend}-terminal-en.png`, fullPage: true });
  await visit(page, "/me/tokens", "tokens-en");
  await page.fill("#token-name", "living-room bulb");
  await page.click("form.stack button[type=submit]");
  await page.waitForSelector("#new-token");
  assert.match(await page.textContent("#new-token"), /^machi_[0-9a-f]{64}$/);
  await checkA11y(page, "token created");
  await Promise.all([page.waitForURL(/notice=logged-out/), page.click(".logout-form button")]);
  await checkA11y(page, "home after logout (English)");
  await page.screenshot({ path: `${shots}/${backend}-home-en.png`, fullPage: true });
  await page.context().close();
});

test("an admin opens a record and grants a role; the person's navigation changes and the read is in their log", async () => {
  assert.ok(newPersonId, "the sign-up flow ran first");
  const resident = await person();
  await logIn(resident, "aoki", "みどりの風がふく町で");
  const navBefore = await resident.locator("nav.site-nav a").allTextContents();
  assert.ok(!navBefore.some((t) => /管理|Admin/.test(t)), `no admin link yet: ${navBefore}`);

  const admin = await person();
  await logIn(admin, "admin");
  await visit(admin, "/admin", "admin-ja");
  await visit(admin, `/admin/people/${newPersonId}`, "admin-person-ja");
  await admin.selectOption("#organisation_id", { label: "市民協働課" });
  await admin.selectOption("#role", "admin");
  await Promise.all([admin.waitForURL(/notice=role/), admin.click("form[action$='/roles'] button[type=submit]")]);
  await checkA11y(admin, "admin person after grant");
  assert.match(await admin.textContent("#roles"), /管理者/);

  await resident.reload();
  const navAfter = await resident.locator("nav.site-nav a").allTextContents();
  assert.ok(navAfter.some((t) => /管理|Admin/.test(t)), `admin link after the grant: ${navAfter}`);
  await visit(resident, "/me", null);
  const log = await resident.textContent("#access-log");
  assert.match(log, /さんが、あなたの登録情報を見ました|looked at your registration/, "the admin's read is in my access log, as a sentence");
  await admin.context().close();
  await resident.context().close();
});

test("every public and personal page in Japanese and English passes axe, including the directory and terminal", async () => {
  for (const [locale, lang] of [["ja-JP", "ja"], ["en-US", "en"]]) {
    const page = await person(locale);
    await visit(page, "/directory", `directory-${lang}`);
    await visit(page, "/login", `login-${lang}`);
    await visit(page, "/signup", `signup-${lang}`);
    const res = await page.goto(town.base + "/no-such-page");
    assert.equal(res.status(), 404);
    await checkA11y(page, "404 page");
    await page.screenshot({ path: `${shots}/${backend}-404-${lang}.png`, fullPage: true });
    await logIn(page, "tanaka");
    await visit(page, "/me", `me-tanaka-${lang}`);
    await visit(page, "/terminal", `terminal-${lang}`);
    await visit(page, "/watch", `watch-tanaka-${lang}`);
    await visit(page, "/watch/messages/new", `watch-message-${lang}`);
    await visit(page, "/aid", `aid-tanaka-${lang}`);
    await visit(page, "/aid/ask", `aid-ask-${lang}`);
    await visit(page, "/aid/offer", `aid-offer-${lang}`);
    await page.context().close();
  }
  // The core flows need no JavaScript (axe itself needs it, so this part only checks the flow).
  const context = await town.browser.newContext({ locale: "ja-JP", javaScriptEnabled: false });
  const plain = await context.newPage();
  await logIn(plain, "sato");
  assert.match(await plain.textContent("h1"), /マイページ/);
  await Promise.all([plain.waitForURL(/\/me\?notice=saved/), plain.fill("#kana", "さとう ゆみ").then(() => plain.click("form[action='/me/profile'] button"))]);
  assert.equal(await plain.inputValue("#kana"), "さとう ゆみ");
  await Promise.all([plain.waitForURL(/notice=logged-out/), plain.click(".logout-form button")]);
  await context.close();
  const withJs = await person();
  await logIn(withJs, "sato");
  await visit(withJs, "/me/delete", "delete-ja");
  await withJs.context().close();
  for (const path of ["/", "/signup", "/login", "/me", "/me/tokens", "/directory", "/admin", "/terminal", "/me/delete", "/watch", "/watch/messages/new", "/aid", "/aid/ask", "/aid/offer"]) {
    assert.ok(scanned.has(path), `${path} was scanned`);
  }
});

test("a drill alert takes over the terminal at once, is read out, and is acknowledged", async () => {
  const token = tokenFor("bousai");
  const page = await person();
  await logIn(page, "tanaka");
  await page.goto(town.base + "/terminal");
  assert.equal(await page.isVisible("#alert-overlay"), false);
  const cap = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>browser-drill-${backend}</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2026-11-23T10:00:00+09:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Geo</category>
    <event>地震</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>受信訓練:震度5強の地震が発生しました</headline>
    <description>これは訓練です。みどり市で震度5強を観測したという想定です。</description>
    <instruction>画面の「確認しました」を押してください。</instruction>
    <area><areaDesc>みどり市全域</areaDesc><geocode><valueName>全国地方公共団体コード</valueName><value>13999</value></geocode></area>
  </info>
</alert>`;
  const res = await fetch(town.base + "/api/v1/alerts", {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/cap+xml" },
    body: cap,
  });
  assert.equal(res.status, 201, await res.text());
  // It arrives over SSE without a reload.
  await page.waitForSelector("#alert-overlay:not([hidden])", { timeout: 10_000 });
  assert.match(await page.textContent("#alert-headline"), /受信訓練/);
  assert.match(await page.textContent("#alert-kind"), /訓練/);
  await checkA11y(page, "terminal with a drill alert");
  await page.screenshot({ path: `${shots}/${backend}-terminal-alert-ja.png`, fullPage: false });
  await Promise.all([page.waitForURL(/\/terminal$/), page.click("#alert-ack button")]);
  await page.waitForTimeout(500);
  assert.equal(await page.isVisible("#alert-overlay"), false, "acknowledged alerts stay down");
  await page.context().close();
});

test("危機管理課 composes a drill in the browser; the terminal shows it; the report fills", async () => {
  const staff = await person();
  await logIn(staff, "bousai");
  const nav = await staff.locator("nav.site-nav a").allTextContents();
  assert.ok(nav.some((t) => /緊急情報の発信/.test(t)), `the alerts link is in bousai's navigation: ${nav}`);
  await visit(staff, "/alerts/new", "alerts-compose-ja");

  const resident = await person();
  await logIn(resident, "tanaka");
  await resident.goto(town.base + "/terminal");
  // Another resident of district 1, reading an ordinary page.
  const neighbour = await person();
  await logIn(neighbour, "kaicho");
  await neighbour.goto(town.base + "/directory");

  await staff.fill("#headline", "受信訓練(ブラウザから)");
  await staff.fill("#instruction", "「確認しました」を押してください。");
  await staff.check("input[name=areas][value='13999-1']");
  await Promise.all([staff.waitForURL(/\/alerts\/.+\/report$/), staff.click("form.stack button[type=submit]")]);
  await checkA11y(staff, "drill report (empty)");

  await resident.waitForSelector("#alert-overlay:not([hidden])", { timeout: 10_000 });
  assert.match(await resident.textContent("#alert-headline"), /ブラウザから/);
  await Promise.all([resident.waitForURL(/\/terminal$/), resident.click("#alert-ack button")]);

  // Ordinary pages show a banner while the alert is in force.
  await neighbour.waitForSelector("#alert-banner:not([hidden])", { timeout: 10_000 });
  assert.match(await neighbour.textContent("#alert-banner"), /訓練.*ブラウザから/);
  await checkA11y(neighbour, "directory with the alert banner");
  await neighbour.screenshot({ path: `${shots}/${backend}-banner-ja.png` });
  await neighbour.context().close();

  // The report updates live (SSE) without a reload.
  await staff.waitForFunction(() => document.getElementById("report-acknowledged").textContent.trim() === "1", null, {
    timeout: 10_000,
  });
  // Screens that showed it count as delivered, per area and channel (terminal and web banner).
  const delivered = async (channel) =>
    (await staff.locator(`#report-area-channels tr[data-channel=${channel}] td.delivered`).allTextContents())
      .map(Number)
      .reduce((a, b) => a + b, 0);
  for (let i = 0; i < 20; i++) {
    await staff.reload();
    if ((await delivered("terminal")) >= 1 && (await delivered("web")) >= 1) break;
    await staff.waitForTimeout(250);
  }
  assert.ok((await delivered("terminal")) >= 1, "the terminal's receipt is counted");
  assert.ok((await delivered("web")) >= 1, "the banner's receipt is counted");
  await checkA11y(staff, "drill report with an acknowledgement");
  await staff.screenshot({ path: `${shots}/${backend}-alerts-report-ja.png`, fullPage: true });
  await staff.context().close();
  await resident.context().close();
});

test("an officer starts a safety check; residents answer on the terminal and the web; the tally fills live; a visit is assigned", async () => {
  const officer = await person();
  await logIn(officer, "kaicho");
  const nav = await officer.locator("nav.site-nav a").allTextContents();
  assert.ok(nav.some((t) => /安否確認/.test(t)), `the safety link is in the officer's navigation: ${nav}`);
  await visit(officer, "/safety", "safety-ja");

  const resident = await person();
  await logIn(resident, "tanaka");
  await resident.goto(town.base + "/terminal");

  await officer.fill("#title", "ブラウザからの安否確認");
  await officer.selectOption("#area", "13999-1");
  await Promise.all([officer.waitForURL(/\/safety\/[0-9A-Z]+$/), officer.click("form.stack button[type=submit]")]);
  await checkA11y(officer, "safety tally (nobody answered yet)");
  assert.equal((await officer.textContent("#safety-total [data-key=answered]")).trim(), "0");

  // The terminal asks with two huge buttons; tanaka presses 「助けが必要」.
  await resident.waitForSelector("#safety-question:not([hidden])", { timeout: 10_000 });
  assert.match(await resident.textContent("#safety-question-round"), /ブラウザから/);
  await checkA11y(resident, "terminal with a safety question");
  await resident.screenshot({ path: `${shots}/${backend}-terminal-safety-ja.png`, fullPage: false });
  await Promise.all([resident.waitForURL(/\/receipt\?back=/), resident.click("#safety-question button[value=help]")]);
  assert.match(await resident.textContent("#safety-done"), /回答を受け付けました/);
  await Promise.all([resident.waitForURL(/\/terminal$/), resident.click("#safety-back")]);
  await resident.waitForFunction(() => document.getElementById("safety-question").hidden, null, { timeout: 10_000 });

  // The officer's tally updates without a reload.
  await officer.waitForFunction(
    () => document.querySelector("#safety-total [data-key=answered]").textContent.trim() === "1",
    null,
    { timeout: 10_000 },
  );
  assert.equal((await officer.textContent("#safety-total [data-key=help]")).trim(), "1");
  // …and so does the map: tanaka's 町丁目 is no longer at 0%.
  await officer.waitForFunction(
    () => document.querySelector('#safety-map g[data-area="13999-1-01"] tspan.rate').textContent.trim() !== "0%",
    null,
    { timeout: 10_000 },
  );

  // A neighbour sees the banner on an ordinary page and answers on the web.
  const neighbour = await person();
  await logIn(neighbour, "shop");
  await neighbour.goto(town.base + "/directory");
  await neighbour.waitForSelector("#safety-banner:not([hidden])", { timeout: 10_000 });
  await Promise.all([neighbour.waitForURL(/\/answer$/), neighbour.click("#safety-banner a")]);
  await checkA11y(neighbour, "safety answer form");
  await neighbour.screenshot({ path: `${shots}/${backend}-safety-answer-ja.png`, fullPage: true });
  await neighbour.click("#safety-answer button[value=safe]");
  await neighbour.waitForSelector("#safety-done");
  await neighbour.context().close();
  await officer.waitForFunction(
    () => document.querySelector("#safety-total [data-key=answered]").textContent.trim() === "2",
    null,
    { timeout: 10_000 },
  );

  // Follow-up: tanaka's household needs help; the officer sends the supporter.
  await officer.reload();
  const card = officer.locator("#safety-follow-up li", { hasText: "田中" }).first();
  const options = await card.locator("select[name=visitor] option").allTextContents();
  const supporter = options.find((o) => /翔太/.test(o));
  assert.ok(supporter, `the supporter can be sent: ${options}`);
  await card.locator("select[name=visitor]").selectOption({ label: supporter });
  await Promise.all([officer.waitForLoadState("load"), card.locator("form[action$=visit] button").click()]);
  const after = officer.locator("#safety-follow-up li", { hasText: "田中" }).first();
  assert.match(await after.textContent(), /訪問担当/);
  await checkA11y(officer, "safety tally with the follow-up list");
  await officer.screenshot({ path: `${shots}/${backend}-safety-tally-ja.png`, fullPage: true });
  await officer.context().close();
  await resident.context().close();
});

test("見守り: the training gate and the allow-list, as the family member, the care manager and the watched person", async () => {
  // 田中 ハナ's circle ships with the demo town: the circle started here is 鈴木 茂's (kaicho's login).
  const HANA = { name: "鈴木 茂", birth: "1952-03-25" };
  const CAREMGR = { name: "中村 恵子", birth: "1972-03-03" };
  const SUPPORTER = { name: "伊藤 翔太", birth: "1995-02-02" };
  const SHOP = { name: "井上 勇", birth: "1960-09-03" };
  const body = `今週の特売のお知らせです(${backend})`;
  const shot = (page, name) => page.screenshot({ path: `${shots}/${backend}-${name}.png`, fullPage: true });

  // 1. A family member starts a circle around 鈴木 茂; it waits for consent.
  const family = await person();
  await logIn(family, "sato");
  await Promise.all([
    family.waitForURL(/\/watch$/),
    family.locator("nav.site-nav a", { hasText: "見守り" }).click(),
  ]);
  await checkA11y(family, "/watch (sato, before)");
  await shot(family, "watch-sato-ja");
  await family.check("#watch-create input[name=whom][value=other]");
  await family.fill("#name", HANA.name);
  await family.fill("#birth_date", HANA.birth);
  await family.selectOption("#role", "family");
  await Promise.all([family.waitForURL(/\/watch\/[0-9A-Za-z]+$/), family.click("#watch-create button[type=submit]")]);
  const circlePath = new URL(family.url()).pathname;
  assert.match(await family.textContent("h1"), /鈴木 茂さんの見守りの輪/);
  assert.match(await family.textContent("#watch-consent"), /同意待ち/);
  await checkA11y(family, "circle page waiting for consent");
  await shot(family, "watch-circle-waiting-ja");

  // 2. He consents himself, from his own list of circles.
  const hana = await person();
  await logIn(hana, "kaicho");
  await hana.goto(town.base + "/watch");
  const own = hana.locator(`#watch-circles a[href='${circlePath}']`);
  assert.match(await own.textContent(), /鈴木 茂/);
  assert.match(await hana.textContent("#watch-circles"), /同意待ち/);
  await Promise.all([hana.waitForURL((u) => u.pathname === circlePath), own.click()]);
  await Promise.all([hana.waitForURL(/done=consent/), hana.click("#watch-consent button[value=yes]")]);
  assert.match(await hana.textContent("#watch-notice"), /同意を記録しました/);
  assert.equal(await hana.locator("#watch-consent").count(), 0, "no longer waiting for consent");
  // He names sato as the guardian who approves her contacts (only she or the welfare desk can).
  await hana.locator("summary", { hasText: "休止・静かな時間・後見人" }).click();
  await hana.selectOption("#s-guardian", { label: "佐藤 由美" });
  await Promise.all([hana.waitForURL(/done=settings/), hana.click("#watch-settings button[type=submit]")]);
  assert.match(await hana.textContent("#watch-members"), /佐藤 由美\s*後見人/);

  // 3. The training gate. The family adds the care manager (on the ladder) and the supporter as a
  // listening volunteer (off the ladder, so no training is needed yet).
  const addMember = async (who, role, ladder) => {
    await family.goto(town.base + circlePath);
    await family.locator("summary", { hasText: "メンバーを加える" }).click();
    await family.fill("#m-name", who.name);
    await family.fill("#m-birth", who.birth);
    await family.selectOption("#m-role", role);
    await family.fill("#m-ladder", ladder);
    await Promise.all([family.waitForURL(/done=member/), family.click("#watch-add-member button[type=submit]")]);
    assert.match(await family.textContent("#watch-notice"), /メンバーを更新しました/);
  };
  await addMember(CAREMGR, "care_manager", "2");
  await addMember(SUPPORTER, "listening_volunteer", "");
  const members = await family.textContent("#watch-members");
  assert.match(members, /中村 恵子\s*ケアマネジャー\s*2/);
  assert.match(members, /伊藤 翔太\s*傾聴ボランティア\s*—/);

  // The care manager opens the circle and plans weekly calls by the volunteer: refused, no training.
  const care = await person();
  await logIn(care, "caremgr");
  await visit(care, "/watch", null);
  assert.match(await care.textContent("#watch-circles"), /鈴木 茂\s*—\s*ケアマネジャー/);
  await Promise.all([care.waitForURL((u) => u.pathname === circlePath), care.click(`#watch-circles a[href='${circlePath}']`)]);
  const addSchedule = async (wait) => {
    await care.click("#watch-schedule-details > summary");
    await care.selectOption("#sc-vol", { label: SUPPORTER.name });
    await care.selectOption("#sc-kind", "call");
    await care.selectOption("#sc-day", "2");
    await care.fill("#sc-time", "15:00");
    await Promise.all([care.waitForURL(wait), care.click("#watch-add-schedule button[type=submit]")]);
  };
  await addSchedule(/\/schedules$/);
  const refusal = await care.textContent("#watch-error");
  assert.match(refusal, /伊藤 翔太さんは個人情報保護の研修の記録がない/);
  assert.match(refusal, /研修/);
  assert.match(await care.textContent("main"), /予定はありません/, "nothing was scheduled");
  await checkA11y(care, "circle page with the training refusal");
  await shot(care, "watch-training-refused-ja");

  // The welfare desk records the volunteer's training (valid now: the server's clock is the real date).
  const desk = await person();
  await logIn(desk, "fukushi");
  await desk.goto(town.base + "/watch");
  assert.match(await desk.textContent("#watch-circles"), /鈴木 茂/, "the welfare desk sees every circle");
  assert.match(await desk.textContent("#watch-circles"), /田中 ハナ/, "the demo town's circle too");
  await desk.fill("#t-name", SUPPORTER.name);
  await desk.fill("#t-birth", SUPPORTER.birth);
  await desk.fill("#t-org", "みどり市社会福祉協議会");
  await desk.fill("#t-from", "2026-04-01");
  await desk.fill("#t-to", "2027-03-31");
  await Promise.all([desk.waitForURL(/\/watch\?done=training$/), desk.click("#watch-training button[type=submit]")]);
  assert.match(await desk.textContent("#watch-notice"), /研修を記録しました/);
  await checkA11y(desk, "/watch as the welfare desk after recording a training");
  await shot(desk, "watch-desk-ja");

  // The care manager tries again, from the page that refused: now it is planned.
  await addSchedule(/done=schedule/);
  assert.match(await care.textContent("#watch-notice"), /予定を加えました/);
  assert.equal(await care.locator("#watch-error").count(), 0);
  assert.match(await care.textContent("#watch-schedules"), /伊藤 翔太: 水曜 15:00 電話/);
  await care.context().close();
  await desk.context().close();

  // 4. The allow-list. A shop owner he does not know sends him a message: it is held.
  const stranger = await person();
  await logIn(stranger, "shop");
  await stranger.goto(town.base + "/watch/messages/new");
  await stranger.fill("#name", HANA.name);
  await stranger.fill("#birth_date", HANA.birth);
  await stranger.fill("#body", body);
  await stranger.click("#watch-message button[type=submit]");
  await stranger.waitForSelector("#watch-sent");
  // The sender is told it waits for the family's check, not 「送りました」 (it has not reached him).
  assert.match(await stranger.textContent("#watch-sent"), /ご家族の確認を待っています/);
  assert.doesNotMatch(await stranger.textContent("#watch-sent"), /送りました/);
  await checkA11y(stranger, "message form after sending (held)");
  await shot(stranger, "watch-message-held-ja");
  await stranger.context().close();

  // He sees who wrote and that it waits for the check — not its text — and cannot let it through himself.
  await hana.goto(town.base + circlePath);
  const heldForHana = hana.locator("#watch-held li", { hasText: SHOP.name });
  assert.match(await heldForHana.textContent(), /井上 勇さんからの連絡が届いています/);
  assert.ok(!(await hana.content()).includes(body), "the held text is not shown to the watched person");
  assert.match(await heldForHana.locator(".badge").textContent(), /ご家族の確認待ち/);
  assert.equal(await hana.locator("#watch-held button").count(), 0, "the person has no approve button");
  assert.equal(await hana.locator("form[action$='/decision']").count(), 0);
  await shot(hana, "watch-circle-held-person-ja");

  // The daughter (the guardian) lets it through and adds the sender to the list.
  await family.goto(town.base + circlePath);
  const heldForFamily = family.locator("#watch-held li", { hasText: body });
  assert.match(await heldForFamily.textContent(), /井上 勇/);
  await checkA11y(family, "circle page with a held message (guardian)");
  await shot(family, "watch-circle-held-guardian-ja");
  await Promise.all([
    family.waitForURL(/done=message/),
    heldForFamily.locator("button[value=approve_allow]").click(),
  ]);
  assert.match(await family.textContent("#watch-notice"), /保留中の連絡を処理しました/);
  assert.ok((await family.textContent("#watch-contacts")).includes(SHOP.name), "the sender is on the list");
  const decided = family.locator("#watch-held li", { hasText: body });
  assert.match(await decided.locator(".badge").textContent(), /届けました/, "kept, marked as let through");
  assert.equal(await decided.locator("button").count(), 0, "decided once");
  await family.context().close();

  await hana.goto(town.base + circlePath);
  assert.match(await hana.textContent("#watch-contacts"), /井上/);

  // 5. His terminal: 「元気です」 and the message, now delivered. A drill sent to his area earlier in
  // this file takes the screen first: he acknowledges it, as on any terminal.
  await hana.goto(town.base + "/terminal");
  for (let i = 0; i < 3; i++) {
    const ack = hana.locator("#alert-ack button");
    if (!(await ack.waitFor({ state: "visible", timeout: 4000 }).then(() => true, () => false))) break;
    await Promise.all([hana.waitForEvent("load"), ack.click()]);
  }
  await hana.waitForSelector("#watch-checkin button", { state: "visible", timeout: 10_000 });
  await hana.waitForSelector(`#watch-messages li:has-text("${body}")`, { timeout: 10_000 });
  assert.match(await hana.textContent("#watch-messages"), /井上 勇/);
  assert.equal(await hana.isVisible("#watch-checked"), false, "no 「元気です」 yet today");
  await checkA11y(hana, "terminal with watch-over");
  await shot(hana, "terminal-watch-ja");
  await Promise.all([hana.waitForURL(/\/terminal\?done=checkin$/), hana.click("#watch-checkin button")]);
  await hana.waitForSelector("#watch-checked", { state: "visible", timeout: 10_000 });
  assert.match(await hana.textContent("#watch-checked"), /届いています/);
  await shot(hana, "terminal-watch-checked-ja");
  await hana.context().close();

  for (const path of ["/watch", circlePath, "/watch/messages/new", "/terminal"]) {
    assert.ok(scanned.has(path), `${path} was scanned`);
  }
});

test("共助: a Saturday pick-up — the acquainted certified supporter first with why, ¥600/h agreed; done, settled, receipt, reviews; the coordinator suggests someone for an old request", async () => {
  const PARENT = "吉田 彩";
  const SUPPORTER = { name: "伊藤 翔太", birth: "1995-02-02" };
  const STRANGER = { name: "中村 恵子", birth: "1972-03-03" };
  const shot = (page, name) => page.screenshot({ path: `${shots}/${backend}-${name}.png`, fullPage: true });
  // The server's clock is the real one, in Japan: dates and weekdays are taken in JST.
  const jst = (ms) => new Date(ms + 9 * 3_600_000);
  const ymd = (ms) => jst(ms).toISOString().slice(0, 10);
  const hm = (ms) => jst(ms).toISOString().slice(11, 16);
  const weekday = (ms) => (jst(ms).getUTCDay() + 6) % 7; // 0 = Monday, as the slots count
  const now = Date.now();
  const saturday = ymd(now + ((6 - jst(now).getUTCDay() + 7) % 7 || 7) * 86_400_000);
  const submit = (page, url, target) =>
    Promise.all([page.waitForURL(url), typeof target === "string" ? page.click(target) : target.click()]);
  const notice = (page) => page.textContent("#aid-notice");

  // 1. 翔太 and 恵子 offer help: childcare and shopping, Saturday mornings within 5 km, insured.
  // `cells` are the week grid's boxes: d5p0 = 土曜・午前 (p0 午前, p1 午後, p2 夜).
  const offerHelp = async (login, cells) => {
    const page = await person();
    await logIn(page, login);
    await Promise.all([page.waitForURL(/\/aid$/), page.locator("nav.site-nav a", { hasText: "助け合い" }).click()]);
    await Promise.all([page.waitForURL(/\/aid\/offer$/), page.click("#aid-offer")]);
    await checkA11y(page, `/aid/offer (${login}, empty)`);
    for (const c of ["childcare", "shopping"]) await page.check(`#aid-profile input[name=categories][value=${c}]`);
    await page.fill("#skills", "車の運転、買い物");
    await page.fill("#radius", "5");
    for (const c of cells) await page.check(`#aid-week input[name=${c}]`);
    await page.check("#aid-profile input[name=insured]");
    await page.check("#aid-profile input[name=insured_categories][value=childcare]");
    await submit(page, /\/aid\/offer\?done=profile$/, "#aid-profile button[type=submit]");
    assert.match(await notice(page), /登録しました/);
    assert.equal(Number(await page.inputValue("#radius")), 5);
    for (const c of cells) assert.ok(await page.isChecked(`#aid-week input[name=${c}]`), `${c} kept`);
    return page;
  };
  // 翔太 is also free all day today; 恵子 has the same Saturday mornings, so trust alone orders them.
  const today = weekday(Date.now() + 120_000);
  const supporter = await offerHelp("supporter", ["d5p0", `d${today}p0`, `d${today}p1`, `d${today}p2`]);
  await checkA11y(supporter, "/aid/offer (supporter, registered)");
  await shot(supporter, "aid-offer-supporter-ja");
  const stranger = await offerHelp("caremgr", ["d5p0"]);
  await stranger.context().close();

  // 2. The coordinator (市民協働課, the aid duty) records both childcare supporter courses.
  const coordinator = await person();
  await logIn(coordinator, "kyodo");
  await coordinator.goto(town.base + "/aid");
  await Promise.all([coordinator.waitForURL(/\/aid\/coordinator$/), coordinator.click("#aid-coordinator")]);
  await checkA11y(coordinator, "/aid/coordinator");
  for (const who of [SUPPORTER, STRANGER]) {
    await coordinator.fill("#c-name", who.name);
    await coordinator.fill("#c-birth", who.birth);
    await coordinator.fill("#c-issuer", "みどり市ファミリー・サポート・センター");
    await coordinator.fill("#c-until", "2027-03-31");
    await submit(coordinator, /\/aid\/coordinator\?done=certify$/, "#aid-certify button[type=submit]");
    assert.match(await notice(coordinator), /記録しました/);
  }
  await supporter.reload();
  assert.match(await supporter.textContent("#aid-certifications"), /子育てサポーター講習 — みどり市ファミリー・サポート・センター/);

  // 3. The parent asks in three steps (category, when, details), with large buttons.
  const parent = await person();
  await logIn(parent, "kosodate");
  const ask = async (page, who, { category, date, start, minutes, description, free }) => {
    await page.goto(town.base + "/aid");
    await Promise.all([page.waitForURL(/\/aid\/ask$/), page.click("#aid-ask")]);
    assert.match(await page.textContent(".steps"), /3つのうち 1 つめ/);
    await checkA11y(page, `ask step 1 (${who})`);
    await Promise.all([page.waitForURL(/step|category=/), page.locator("#aid-categories a", { hasText: category }).click()]);
    assert.match(await page.textContent(".steps"), /3つのうち 2 つめ/);
    await checkA11y(page, `ask step 2 (${who})`);
    await page.fill("#date", date);
    await page.fill("#start", start);
    await page.selectOption("#duration", String(minutes));
    await Promise.all([page.waitForURL(/duration_minutes=/), page.click("#aid-when button[type=submit]")]);
    assert.match(await page.textContent(".steps"), /3つのうち 3 つめ/);
    await checkA11y(page, `ask step 3 (${who})`);
    await page.fill("#description", description);
    if (free) await page.check("#aid-details input[name=free]");
    else assert.equal(await page.inputValue("#fee"), "600", "the town's usual fee is proposed");
    await submit(page, /\/aid\/requests\/[0-9A-Za-z]+\?done=created$/, "#aid-details button[type=submit]");
    assert.match(await notice(page), /依頼しました/);
    return new URL(page.url()).pathname;
  };

  // First, today's pick-up (the one that will be completed): 翔太 offers, and they become 知り合い.
  // Done is only possible once the time has begun (and acceptance only before), so this one starts
  // in two minutes or so; the Saturday pick-up and the coordinator's part run meanwhile.
  const todayStart = Math.floor((Date.now() + 150_000) / 60_000) * 60_000;
  const todayPath = await ask(parent, "today", {
    category: "子どもの預かり・送迎",
    date: ymd(todayStart),
    start: hm(todayStart),
    minutes: 90,
    description: "今日、保育園へ陽菜を迎えに行って、家まで送ってほしいです。",
  });
  const invite = async (path, name) => {
    await parent.goto(town.base + path);
    const card = parent.locator("#aid-suggestions li", { hasText: name });
    await submit(parent, /done=invite$/, card.locator("button", { hasText: "この人に頼む" }));
    assert.match(await notice(parent), /お願いを送りました/);
  };
  const offer = async (path, message) => {
    await supporter.goto(town.base + "/aid");
    await Promise.all([supporter.waitForURL((u) => u.pathname === path), supporter.click(`#aid-open a[href='${path}']`)]);
    await checkA11y(supporter, "request page as an invited supporter");
    await supporter.fill("#message", message);
    await submit(supporter, /done=offer$/, "#aid-offer-form button[type=submit]");
    assert.match(await notice(supporter), /申し出ました/);
    assert.match(await supporter.textContent("#aid-offered"), /依頼した人が決めるまでお待ちください/);
  };
  const accept = async (path) => {
    await parent.goto(town.base + path);
    const card = parent.locator("#aid-offers li", { hasText: SUPPORTER.name });
    await submit(parent, /done=accept$/, card.locator("button", { hasText: "この人に決める" }));
    assert.match(await notice(parent), /お願いする人が決まりました/);
    assert.match(await parent.textContent("#aid-state"), /お願い済み/);
    assert.match(await parent.textContent("#aid-supporter"), /伊藤 翔太\s*ボランティア保険の対象/);
    assert.match(await parent.textContent("#aid-contact"), /伊藤 翔太/, "contact details after acceptance");
  };
  await invite(todayPath, SUPPORTER.name);
  await offer(todayPath, "行けるかもしれません。");
  // 翔太 takes the offer back (the request is open again), then offers once more.
  await submit(supporter, /done=withdraw$/, "#aid-withdraw-form button[type=submit]");
  assert.match(await notice(supporter), /申し出を取り下げました/);
  assert.match(await supporter.textContent("#aid-state"), /募集中/);
  await supporter.fill("#message", "今日は空いています。行けます。");
  await submit(supporter, /done=offer$/, "#aid-offer-form button[type=submit]");
  assert.match(await notice(supporter), /申し出ました/);
  await parent.goto(town.base + todayPath);
  const offerCard = parent.locator("#aid-offers li", { hasText: SUPPORTER.name });
  assert.match(await offerCard.textContent(), /今日は空いています/);
  await checkA11y(parent, "request page with an offer");
  await accept(todayPath);
  // The parent says 「知り合い」 on his offer; he says it back from his hub, where her asking is listed.
  await submit(parent, /done=link$/, offerCard.locator("button", { hasText: "知り合いになる" }));
  assert.match(await notice(parent), /「知り合い」を送りました/);
  await supporter.goto(town.base + "/aid");
  const asked = supporter.locator("#aid-links li", { hasText: PARENT });
  await checkA11y(supporter, "/aid with a 知り合い request");
  await shot(supporter, "aid-hub-link-ja");
  await submit(supporter, /\/aid\?done=linked$/, asked.locator("button", { hasText: "知り合いになる" }));
  assert.match(await notice(supporter), /知り合いになりました/);
  assert.equal(await supporter.locator("#aid-links").count(), 0, "nothing left to answer");

  // 4. The Saturday pick-up: the acquainted, certified supporter comes first, and the page says why.
  const satPath = await ask(parent, "saturday", {
    category: "子どもの預かり・送迎",
    date: saturday,
    start: "09:30",
    minutes: 90,
    description: "土曜の朝、保育園のお迎えと、家まで送ってほしいです。車の運転ができる方だと助かります。",
  });
  const [, satMonth, satDay] = saturday.split("-").map(Number);
  assert.match(await parent.textContent("h1"), new RegExp(`子どもの預かり・送迎 — ${satMonth}月${satDay}日\\(土\\) 午前9時30分`));
  assert.match(await parent.textContent("#aid-fee"), /1時間 600 円/);
  const suggestions = parent.locator("#aid-suggestions > li");
  assert.equal(await suggestions.count(), 2, await parent.textContent("#aid-suggestions"));
  assert.match(await suggestions.nth(0).locator("strong").textContent(), /伊藤 翔太/);
  const why = (await suggestions.nth(0).locator(".why").textContent()).trim();
  assert.match(why, /^知り合い・\d+\.\dkm・.*土曜午前に対応可$/, why);
  assert.match(await suggestions.nth(1).locator("strong").textContent(), /中村 恵子/);
  const strangerWhy = (await suggestions.nth(1).locator(".why").textContent()).trim();
  assert.doesNotMatch(strangerWhy, /知り合い/, strangerWhy);
  assert.match(strangerWhy, /土曜午前に対応可/, "the same Saturday morning: trust alone puts 翔太 first");
  await checkA11y(parent, "request page with suggestions");
  await shot(parent, "aid-suggestions-ja");
  await invite(satPath, SUPPORTER.name);
  await offer(satPath, "土曜の朝なら大丈夫です。");
  await accept(satPath);
  assert.match(await parent.textContent("#aid-fee"), /1時間 600 円 \(合意\)/);
  assert.match(await parent.textContent("#aid-facts"), /金額\s*900 円/);
  assert.equal(await parent.locator("#aid-done").count(), 0, "not done before Saturday");
  await checkA11y(parent, "accepted request");
  await shot(parent, "aid-accepted-ja");
  await supporter.goto(town.base + satPath);
  assert.match(await supporter.textContent("#aid-contact"), new RegExp(PARENT), "the supporter sees the parent's contact");
  assert.match(await supporter.textContent("#aid-fee"), /1時間 600 円 \(合意\)/);
  await checkA11y(supporter, "accepted request (supporter)");

  // 5. The coordinator: tanaka's shopping request has no helper yet; it is in the queue (here every
  // unmatched request is "old", see before()), and the coordinator suggests 翔太.
  const tanaka = await person();
  await logIn(tanaka, "tanaka");
  const tanakaPath = await ask(tanaka, "tanaka", {
    category: "買い物",
    date: saturday,
    start: "10:00",
    minutes: 60,
    description: "米10kgを買ってきてほしい",
    free: true,
  });
  await coordinator.goto(town.base + "/aid/coordinator");
  const item = coordinator.locator("#aid-queue > li", { has: coordinator.locator(`a[href='${tanakaPath}']`) });
  assert.match(await item.textContent(), /買い物.*田中 ハナ/s);
  assert.match(await item.locator(".badge").textContent(), /時間待ち/);
  assert.equal(await coordinator.locator(`#aid-queue a[href='${satPath}'], #aid-queue a[href='${todayPath}']`).count(), 0, "matched requests are not in the queue");
  const pick = item.locator("ol > li", { hasText: SUPPORTER.name });
  assert.match(await pick.textContent(), /伊藤 翔太 — .*km/);
  await checkA11y(coordinator, "coordinator queue");
  await shot(coordinator, "aid-coordinator-ja");
  await submit(coordinator, new RegExp(`${tanakaPath}\\?done=suggest$`), pick.locator("button", { hasText: "この人を紹介する" }));
  assert.match(await notice(coordinator), /紹介しました/);
  await checkA11y(coordinator, "request page after the coordinator's suggestion");
  await tanaka.goto(town.base + tanakaPath);
  assert.match(await tanaka.locator("#aid-suggestions li", { hasText: SUPPORTER.name }).textContent(), /コーディネーターの紹介/);
  await supporter.goto(town.base + "/aid");
  assert.equal(await supporter.locator(`#aid-open a[href='${tanakaPath}']`).count(), 1, "the supporter now sees it");
  await tanaka.context().close();
  await coordinator.context().close();

  // 6. Today's pick-up has begun: 翔太 marks it done; the parent settles in cash (¥600 × 1.5 h),
  // both see the receipt, and both review.
  const wait = todayStart + 1_000 - Date.now();
  if (wait > 0) await supporter.waitForTimeout(wait);
  await supporter.goto(town.base + todayPath);
  await checkA11y(supporter, "request page once begun");
  await submit(supporter, /done=done$/, "#aid-done");
  assert.match(await notice(supporter), /終わったことを記録しました/);
  assert.match(await supporter.textContent("#aid-state"), /終わりました/);
  await parent.goto(town.base + todayPath);
  assert.equal((await parent.textContent("#aid-settle-amount")).trim(), "900 円", "the agreed fee for 90 minutes");
  await parent.selectOption("#method", "cash");
  await checkA11y(parent, "request page with the settlement form");
  await shot(parent, "aid-settle-ja");
  await submit(parent, /done=settle$/, "#aid-settle button[type=submit]");
  assert.match(await notice(parent), /精算を記録しました/);
  assert.match(await parent.textContent("#aid-state"), /精算済み/);
  await Promise.all([parent.waitForURL(/\/receipt$/), parent.click("#aid-receipt-link")]);
  const receipt = await parent.textContent("#aid-receipt");
  assert.match(receipt, /吉田 彩/);
  assert.match(receipt, /伊藤 翔太/);
  assert.match(receipt, /1時間 600 円/);
  assert.match(receipt, /現金/);
  assert.match(receipt, /ボランティア保険の対象/);
  assert.equal((await parent.textContent("#aid-receipt-amount")).trim(), "900 円");
  await checkA11y(parent, "receipt");
  await shot(parent, "aid-receipt-ja");
  await supporter.goto(town.base + todayPath + "/receipt");
  assert.equal((await supporter.textContent("#aid-receipt-amount")).trim(), "900 円", "the receipt is on both sides");

  const review = async (page, comment) => {
    await page.goto(town.base + todayPath);
    await page.selectOption("#rating", "5");
    await page.fill("#comment", comment);
    await submit(page, /done=review$/, "#aid-review button[type=submit]");
    assert.match(await notice(page), /評価を送りました/);
    assert.equal(await page.locator("#aid-review").count(), 0, "one review each");
  };
  await review(parent, "陽菜も楽しかったそうです。ありがとうございました。");
  await review(supporter, "丁寧に準備していただき、助かりました。");
  const reviews = await supporter.locator("#aid-reviews li").allTextContents();
  assert.equal(reviews.length, 2, `${reviews}`);
  assert.ok(reviews.every((r) => r.startsWith("★★★★★")), `${reviews}`);
  await checkA11y(supporter, "request page with both reviews");
  await shot(supporter, "aid-reviewed-ja");
  await parent.context().close();
  await supporter.context().close();

  for (const path of ["/aid", "/aid/ask", "/aid/offer", "/aid/coordinator", todayPath, satPath, tanakaPath, `${todayPath}/receipt`]) {
    assert.ok(scanned.has(path), `${path} was scanned`);
  }
});
