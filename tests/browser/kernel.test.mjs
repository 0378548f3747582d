// Issue 20, the kernel's part, walked in headless Chromium as the people concerned: a new resident
// learns that alerts cannot reach them yet, sets their area by typing their address, makes their
// household, adds an e-mail with consent, and then receives an area alert; error pages keep the
// person's name and menu; My Page's access log reads as sentences; home depends on who you are.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useTown, town, backend, tokenFor, person, checkA11y, visit, logIn, shot } from "./lib.mjs";

useTown(import.meta.url);

// Logins of their own on every run: the database may be kept between runs.
const RUN = Date.now().toString(36);
const NEW = { name: "森 さくら", login: `mori${RUN}`, password: "さくら咲くみどりの町で" };

/** The words on the screen (not the markup). */
const words = (page, selector = "main") => page.locator(selector).innerText();

test("a new resident is told alerts cannot reach them, sets area, household and e-mail, then receives an area alert", async () => {
  const page = await person();
  await page.goto(town.base + "/signup");
  await page.fill("#display_name", NEW.name);
  await page.fill("#login", NEW.login);
  await page.fill("#password", NEW.password);
  await Promise.all([page.waitForURL(/\/me\?notice=created/), page.click("form.stack button[type=submit]")]);

  // My Page says plainly what is missing and where to fix it.
  let warning = await words(page, "#reach-warning");
  assert.match(warning, /まだ緊急のお知らせや安否確認が届きません/);
  assert.match(warning, /住まいの町丁目が未登録です/);
  assert.match(warning, /世帯が未登録です/);
  await checkA11y(page, "my page of a new resident");
  await shot(page, "kernel-me-new-ja");

  // So does the terminal, with its clock written with the weekday.
  await visit(page, "/terminal", "kernel-terminal-unreachable-ja");
  assert.match(await words(page, "#terminal-reach"), /まだ緊急のお知らせが届きません/);
  assert.match(await page.textContent("#terminal-clock"), /^\d{1,2}月\d{1,2}日\([日月火水木金土]\) 午[前後]\d{1,2}時/);
  assert.equal(await page.getAttribute("#terminal-reach a", "href"), "/me#address");
  // And the home page.
  await visit(page, "/", null);
  assert.match(await words(page, "#reach-warning"), /住まいの町丁目が未登録です/);

  // An address that fits no 町丁目 is refused with the reason, and nothing changes.
  await page.goto(town.base + "/me");
  await page.fill("#address-text", "東京都千代田区1-1");
  await page.click("form[action='/me/address'] >> text=住所から探す");
  await page.waitForSelector("#address-error");
  assert.match(await words(page, "#address-error"), /「東京都千代田区1-1」に合う町丁目が見つかりません/);
  assert.match(await words(page, "#address-now"), /町丁目はまだ登録されていません/);
  await checkA11y(page, "my page, address not found");

  // The address as she writes it.
  await page.fill("#address-text", "みどり町1丁目3-5");
  await Promise.all([page.waitForURL(/notice=area-set/), page.click("form[action='/me/address'] >> text=住所から探す")]);
  assert.match(await words(page, "#address-now"), /いまの町丁目: みどり町一丁目/);
  assert.match(await words(page, "main"), /住まいの町丁目を設定しました/);
  warning = await words(page, "#reach-warning");
  assert.doesNotMatch(warning, /町丁目が未登録/);
  assert.match(warning, /世帯が未登録です/);

  // Her own household; she represents it and sees its code for her family.
  await Promise.all([page.waitForURL(/notice=household-created/), page.click("form[action='/me/household/create'] button")]);
  assert.match(await words(page, "#household"), /森 さくらの世帯/);
  assert.match(await words(page, "#household-code"), /世帯の番号: [0-9A-Z]{4}-[0-9A-Z]{4}/);
  assert.equal(await page.isVisible("#reach-warning"), false, "nothing is missing any more");
  assert.match(await words(page, "#reach-ok"), /地域の緊急情報と安否確認が届きます/);

  // An e-mail address needs consent to its purpose; then the consent is recorded, in words.
  await page.fill("#contact-email", "sakura@example.jp");
  await page.click("form[action='/me/contact'] >> text=メールアドレスを保存");
  await page.waitForSelector("#contact-email-error");
  assert.match(await words(page, "#contact-email-error"), /目的への同意にチェック/);
  assert.equal(await page.inputValue("#contact-email"), "sakura@example.jp", "what she typed is kept");
  await checkA11y(page, "my page, e-mail without consent");
  await page.check("#contacts form:has(input[value=email]) input[name=consent]");
  await Promise.all([page.waitForURL(/notice=contact-saved/), page.click("form[action='/me/contact'] >> text=メールアドレスを保存")]);
  const consents = await words(page, "section[aria-labelledby=consents-h]");
  assert.match(consents, /緊急情報・お知らせのメール配信/);
  assert.match(consents, /メールアドレス/);
  assert.doesNotMatch(consents, /\bemail\b/);
  await checkA11y(page, "my page, all set");
  await shot(page, "kernel-me-set-ja");

  // The terminal no longer warns; an alert for みどり町一丁目 reaches it.
  await visit(page, "/terminal", null);
  assert.equal(await page.isVisible("#terminal-reach"), false);
  const headline = `土砂災害警戒情報(みどり町一丁目)${backend}`;
  const cap = `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>kernel-area-${backend}-${Date.now()}</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2026-11-23T10:00:00+09:00</sent>
  <status>Exercise</status>
  <msgType>Alert</msgType>
  <scope>Public</scope>
  <info>
    <language>ja-JP</language>
    <category>Geo</category>
    <event>土砂災害</event>
    <urgency>Immediate</urgency>
    <severity>Severe</severity>
    <certainty>Observed</certainty>
    <headline>${headline}</headline>
    <description>これは訓練です。みどり町一丁目に土砂災害の危険が高まったという想定です。</description>
    <instruction>画面の「確認しました」を押してください。</instruction>
    <area><areaDesc>みどり町一丁目</areaDesc><geocode><valueName>machi-area</valueName><value>13999-1-01</value></geocode></area>
  </info>
</alert>`;
  const res = await fetch(town.base + "/api/v1/alerts", {
    method: "POST",
    headers: { Authorization: `Bearer ${tokenFor("bousai")}`, "Content-Type": "application/cap+xml" },
    body: cap,
  });
  assert.equal(res.status, 201, await res.text());
  await page.waitForFunction((h) => document.body.innerText.includes(h), headline, { timeout: 10_000 });
  await checkA11y(page, "terminal with the area alert");
  await shot(page, "kernel-terminal-area-alert-ja");
  // Her home page says what waits for her: the alert in force for her 町丁目.
  await visit(page, "/", "kernel-home-new-resident-ja");
  const waiting = await words(page, "#home-waiting");
  assert.match(waiting, /受信訓練が行われています/);
  assert.ok(waiting.includes(headline), waiting);

  // The same pages in English.
  await page.goto(town.base + "/me");
  await Promise.all([page.waitForLoadState("load"), page.click(".lang-switch button[value=en]")]);
  assert.match(await words(page, "#address-now"), /Your area now: みどり町一丁目/);
  await checkA11y(page, "my page in English");
  await shot(page, "kernel-me-set-en");
  await page.context().close();
});

test("the address is found from a list, the map, or a choice among several; a household is joined by its code", async () => {
  const page = await person();
  await page.goto(town.base + "/signup");
  await page.fill("#display_name", "森 ゆうき");
  await page.fill("#login", `yuki${RUN}`);
  await page.fill("#password", "ゆうきのみどりの町で");
  await Promise.all([page.waitForURL(/\/me\?notice=created/), page.click("form.stack button[type=submit]")]);

  // 「みどり町」 alone fits three 町丁目: she picks one.
  await page.fill("#address-text", "みどり町");
  await page.click("form[action='/me/address'] >> text=住所から探す");
  await page.waitForSelector("#address-candidates");
  assert.match(await words(page, "#address-candidates"), /次のどれですか/);
  await checkA11y(page, "my page, several areas fit");
  await Promise.all([page.waitForURL(/notice=area-set/), page.click("#address-candidates button >> text=みどり町二丁目")]);
  assert.match(await words(page, "#address-now"), /みどり町二丁目/);

  // The map: each 町丁目 is a link; the choice is confirmed before it is saved.
  await page.click("svg.town-map a[aria-label='本町三丁目']");
  await page.waitForSelector("#address-confirm");
  assert.match(await words(page, "#address-confirm"), /本町三丁目 を住まいの町丁目にしますか/);
  await checkA11y(page, "my page, map choice to confirm");
  await shot(page, "kernel-me-map-ja");
  await Promise.all([page.waitForURL(/notice=area-set/), page.click("#address-confirm button")]);
  assert.match(await words(page, "#address-now"), /本町三丁目/);

  // The list, grouped by district.
  await page.selectOption("#area-select", { label: "南町一丁目" });
  await Promise.all([page.waitForURL(/notice=area-set/), page.click("form[action='/me/address'] >> text=この町丁目にする")]);
  assert.match(await words(page, "#address-now"), /南町一丁目/);

  // A wrong household code changes nothing; the right one (森 さくら's) joins her household.
  await page.fill("#household-code-input", "ZZZZ-9999");
  await page.click("form[action='/me/household/join'] button");
  await page.waitForSelector("#household-error");
  assert.match(await words(page, "#household-error"), /世帯の番号「ZZZZ-9999」は見つかりません/);
  assert.match(await words(page, "#household"), /世帯は登録されていません/);

  const sakura = await person();
  await logIn(sakura, NEW.login, NEW.password);
  const code = (await words(sakura, "#household-code")).match(/[0-9A-Z]{4}-[0-9A-Z]{4}/)[0];
  await page.fill("#household-code-input", code.toLowerCase());
  await Promise.all([page.waitForURL(/notice=household-joined/), page.click("form[action='/me/household/join'] button")]);
  const household = await words(page, "#household");
  assert.match(household, /森 さくらの世帯/);
  assert.match(household, /森 ゆうき/);
  await sakura.context().close();
  await page.context().close();
});

test("a 404 and a 403 while logged in keep the person's name and menu", async () => {
  const page = await person();
  await logIn(page, "tanaka");
  const res = await page.goto(town.base + "/no-such-page");
  assert.equal(res.status(), 404);
  assert.match(await page.textContent(".who"), /田中 ハナ さん/);
  assert.doesNotMatch(await page.locator("body").innerText(), /None/);
  const nav = await page.locator("nav.site-nav a").allTextContents();
  assert.ok(nav.includes("マイページ") && nav.includes("端末モード"), `the menu is there: ${nav}`);
  await checkA11y(page, "404 while logged in");
  await shot(page, "kernel-404-ja");
  const forbidden = await page.goto(town.base + "/admin");
  assert.equal(forbidden.status(), 403);
  assert.match(await page.textContent(".who"), /田中 ハナ さん/);
  await checkA11y(page, "403 while logged in");
  await page.context().close();
});

test("My Page's access log reads as sentences, never codes or ids", async () => {
  const admin = await person();
  await logIn(admin, "admin");
  const tanakaId = await (async () => {
    const r = await fetch(town.base + "/api/v1/me", { headers: { Authorization: `Bearer ${tokenFor("tanaka")}` } });
    return (await r.json()).person.id;
  })();
  await admin.goto(`${town.base}/admin/people/${tanakaId}`);
  await admin.context().close();

  for (const [locale, lang, sentence] of [
    ["ja-JP", "ja", /さんが、あなたの登録情報を見ました/],
    ["en-US", "en", /looked at your registration/],
  ]) {
    const page = await person(locale);
    await logIn(page, "tanaka");
    await visit(page, "/me", `kernel-me-access-${lang}`);
    const log = await words(page, "#access-log");
    assert.match(log, sentence);
    assert.doesNotMatch(log, /\b[a-z_]+\.[a-z_]+\b/, "no internal action codes");
    assert.doesNotMatch(log, /\b[0-9A-HJKMNP-TV-Z]{26}\b/, "no ids");
    assert.doesNotMatch(log, /(person|watch|aid|safety)\//);
    await page.context().close();
  }
});

test("home depends on who you are: tanaka sees everyday safety, bousai sees their duties; no API tokens in the menu", async () => {
  const tanaka = await person();
  await logIn(tanaka, "tanaka");
  await visit(tanaka, "/", "kernel-home-tanaka-ja");
  const home = await words(tanaka);
  assert.match(home, /暮らしの安心/);
  assert.match(home, /安否確認/);
  assert.match(home, /見守り/);
  assert.match(home, /助け合い/);
  assert.equal(await tanaka.isVisible("#home-duties"), false);
  let nav = await tanaka.locator("nav.site-nav a").allTextContents();
  assert.ok(!nav.some((t) => /API/.test(t)), `no API tokens in tanaka's menu: ${nav}`);
  // The tokens live under My Page's settings.
  await tanaka.goto(town.base + "/me");
  assert.equal(await tanaka.getAttribute("#settings a[href='/me/tokens']", "href"), "/me/tokens");

  const bousai = await person();
  await logIn(bousai, "bousai");
  await visit(bousai, "/", "kernel-home-bousai-ja");
  const duties = await words(bousai, "#home-duties");
  assert.match(duties, /あなたのお仕事/);
  assert.match(duties, /緊急情報の発信/);
  nav = await bousai.locator("nav.site-nav a").allTextContents();
  assert.ok(!nav.some((t) => /API/.test(t)), `no API tokens in bousai's menu: ${nav}`);

  // The favicon is served.
  const icon = await fetch(town.base + "/favicon.ico");
  assert.equal(icon.status, 200);
  assert.match(icon.headers.get("content-type"), /image\/svg\+xml/);

  const en = await person("en-US");
  await logIn(en, "bousai");
  await visit(en, "/", "kernel-home-bousai-en");
  assert.match(await words(en, "#home-duties"), /Your duties/);
  await tanaka.context().close();
  await bousai.context().close();
  await en.context().close();
});
