// Alerts as the people concerned meet them (issue 20): an evacuation order stays on tanaka's
// terminal and pages after 「確認しました」 until it is lifted; a drill sent after it never hides it;
// 危機管理課 confirms a real alert's reach before it goes out, lists alerts and lifts one from the web.
// Every page is scanned with axe; screenshots in Japanese and English go to SCREENSHOT_DIR.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useTown, town, backend, shots, tokenFor, person, checkA11y, visit, logIn, shot } from "./lib.mjs";

useTown(import.meta.url);

const EVACUATION = "避難指示:みどり町一丁目(北みどり地区)";
const WHAT_TO_DO = "みどり小学校の体育館へ避難してください。";

function drillCap() {
  return `<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>browser-alerts-drill-${backend}</identifier>
  <sender>bousai@city.midori.example.jp</sender>
  <sent>2026-12-08T10:00:00+09:00</sent>
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
    <senderName>みどり市 危機管理課</senderName>
    <headline>受信訓練:震度5強の地震が発生しました</headline>
    <description>これは訓練です。</description>
    <instruction>画面の「確認しました」を押してください。</instruction>
    <area><areaDesc>みどり市全域</areaDesc><geocode><valueName>全国地方公共団体コード</valueName><value>13999</value></geocode></area>
  </info>
</alert>`;
}

const texts = async (page, selector) => (await page.locator(selector).allTextContents()).map((t) => t.replace(/\s+/g, " ").trim());

test("an evacuation order stays after 確認しました, a drill never hides it, and it ends when 危機管理課 lifts it", async () => {
  // tanaka (82, alone) is at her terminal; nothing is in force.
  const tanaka = await person();
  await logIn(tanaka, "tanaka");
  await visit(tanaka, "/terminal", "alerts-terminal-calm-ja");
  assert.match(await tanaka.textContent("#terminal-status"), /いま、緊急のお知らせはありません。/);

  // 危機管理課 composes a real 避難指示; a confirmation shows whom it reaches before it goes out.
  const bousai = await person();
  await logIn(bousai, "bousai");
  await visit(bousai, "/alerts/new", "alerts-compose-ja");
  await bousai.check("input[name=status][value=Actual]");
  await bousai.fill("#headline", EVACUATION);
  await bousai.fill("#description", "みどり川が氾濫するおそれがあります。");
  await bousai.fill("#instruction", WHAT_TO_DO);
  await bousai.selectOption("#category", "Met");
  await bousai.selectOption("#severity", "Extreme");
  assert.match(await bousai.textContent("#severity option:checked"), /極めて重大/, "CAP values are shown in words");
  await bousai.check("input[name=areas][value='13999-1']");
  await Promise.all([bousai.waitForLoadState("load"), bousai.click("form.stack button[type=submit]")]);
  assert.match(await bousai.textContent("h1"), /発信の前の確認/);
  assert.match(await bousai.textContent("#confirm-reach"), /この緊急情報は \d+人・\d+世帯 に届きます。/);
  const summary = await bousai.textContent("#confirm-summary");
  for (const words of ["実際の緊急情報", EVACUATION, "気象", "直ちに", "極めて重大", "みどり市 危機管理課"]) {
    assert.ok(summary.includes(words), `${words} in the confirmation: ${summary}`);
  }
  await checkA11y(bousai, "confirmation before a real alert");
  await shot(bousai, "alerts-confirm-ja");
  await Promise.all([bousai.waitForURL(/\/alerts\/.+\/report$/), bousai.click("#confirm-send")]);
  const evacuationId = bousai.url().match(/\/alerts\/([^/]+)\/report$/)[1];

  // It takes tanaka's whole screen, with what to do, when and by whom.
  await tanaka.waitForSelector("#alert-overlay:not([hidden])", { timeout: 10_000 });
  assert.equal(await tanaka.textContent("#alert-kind"), "緊急情報");
  assert.equal(await tanaka.textContent("#alert-headline"), EVACUATION);
  assert.equal(await tanaka.textContent("#alert-instruction"), WHAT_TO_DO);
  assert.match(await tanaka.textContent("#alert-issued"), /^\d+月\d+日\(.\) 午[前後]\d+時(\d+分)? みどり市 危機管理課 発表$/);
  await checkA11y(tanaka, "terminal with the evacuation order");
  await tanaka.screenshot({ path: `${shots}/${backend}-alerts-terminal-overlay-ja.png` });

  // 確認しました: the interruption goes, the order stays in the status panel.
  await Promise.all([tanaka.waitForURL(/\/terminal$/), tanaka.click("#alert-ack button")]);
  await tanaka.waitForTimeout(300);
  assert.equal(await tanaka.isVisible("#alert-overlay"), false);
  const item = tanaka.locator(`#alerts-in-force li[data-alert="${evacuationId}"]`);
  assert.equal(await item.isVisible(), true, "the 避難指示 is still on the terminal");
  const shown = (await item.textContent()).replace(/\s+/g, " ");
  for (const words of ["緊急情報", EVACUATION, `してほしいこと: ${WHAT_TO_DO}`, "みどり市 危機管理課 発表", "確認済み"]) {
    assert.ok(shown.includes(words), `${words} on the terminal: ${shown}`);
  }
  assert.match(shown, /\d+月\d+日\(.\) 午[前後]\d+時/);
  assert.doesNotMatch(await tanaka.textContent("#terminal-status"), /いま、緊急のお知らせはありません。/);
  await checkA11y(tanaka, "terminal after 確認しました");
  await shot(tanaka, "alerts-terminal-acknowledged-ja");

  // A drill sent after it: on every page, the real one stays first; the drill is marked and blue.
  const res = await fetch(town.base + "/api/v1/alerts", {
    method: "POST",
    headers: { Authorization: `Bearer ${tokenFor("bousai")}`, "Content-Type": "application/cap+xml" },
    body: drillCap(),
  });
  const body = await res.text();
  assert.equal(res.status, 201, body);
  const drillId = JSON.parse(body).id;
  await tanaka.waitForSelector("#alert-overlay.drill:not([hidden])", { timeout: 10_000 });
  assert.match(await tanaka.textContent("#alert-kind"), /【訓練】/);
  await visit(tanaka, "/me");
  const banner = await texts(tanaka, "#alert-banner li");
  assert.equal(banner.length, 2, `two alerts in force: ${banner}`);
  assert.ok(banner[0].startsWith(`緊急情報 ${EVACUATION}`), banner[0]);
  assert.match(banner[0], /確認済み/);
  assert.match(banner[1], /^【訓練】これは訓練です 受信訓練:震度5強/);
  const colours = await tanaka.$$eval("#alert-banner li", (lis) => lis.map((li) => getComputedStyle(li).backgroundColor));
  assert.notEqual(colours[0], colours[1], "a drill looks different from a real alert");
  await shot(tanaka, "alerts-banner-me-ja");
  // She acknowledges the drill from the banner, without the terminal.
  await Promise.all([
    tanaka.waitForURL(/\/me$/),
    tanaka.click(`#alert-banner li[data-alert="${drillId}"] button`),
  ]);
  assert.match(await tanaka.textContent(`#alert-banner li[data-alert="${drillId}"]`), /確認済み/);
  await checkA11y(tanaka, "my page with both alerts acknowledged");

  // In English too.
  const english = await person("en-US");
  await logIn(english, "tanaka");
  await visit(english, "/me", "alerts-banner-me-en");
  const en = await texts(english, "#alert-banner li");
  assert.match(en[0], /Emergency|Alert/i);
  assert.match(en[0], /Issued .* by みどり市 危機管理課/);
  assert.match(en[1], /DRILL/i);
  await visit(english, "/terminal", "alerts-terminal-acknowledged-en");
  assert.match(await english.textContent("#alerts-in-force"), /Acknowledged/);
  await english.context().close();

  // 危機管理課 lists the alerts and lifts the 避難指示 after a confirmation showing its reach.
  await tanaka.goto(town.base + "/terminal");
  await visit(bousai, "/alerts", "alerts-list-ja");
  const row = (await texts(bousai, "#alerts-in-force-list tbody tr"))[0];
  assert.ok(row.includes(EVACUATION) && /みどり市 危機管理課.*発信中/.test(row), row);
  assert.match(await bousai.textContent("#alerts-drills-list"), /【訓練】/);
  await Promise.all([bousai.waitForURL(/\/report$/), bousai.click(`#alerts-in-force-list a[href="/alerts/${evacuationId}/report"]`)]);
  assert.match(await bousai.textContent("#report-facts"), /直ちに/);
  await checkA11y(bousai, "report of the evacuation order");
  await shot(bousai, "alerts-report-ja");
  await Promise.all([bousai.waitForURL(/kind=lift/), bousai.click("#report-end a[href$='kind=lift']")]);
  assert.match(await bousai.textContent("#confirm-reach"), /解除の知らせは、元の緊急情報と同じ \d+人・\d+世帯 に届きます。/);
  await checkA11y(bousai, "confirmation before lifting");
  await shot(bousai, "alerts-lift-confirm-ja");
  await Promise.all([bousai.waitForURL(/\/alerts\?notice=lifted$/), bousai.click("#confirm-send")]);
  assert.match(await bousai.textContent("main"), /解除を発信しました。/);
  const past = await texts(bousai, "#alerts-past-list tbody tr");
  assert.ok(past.some((r) => r.includes(EVACUATION) && r.endsWith("解除済み")), past.join("\n"));
  await checkA11y(bousai, "alerts list after lifting");

  // tanaka's terminal drops the 避難指示 live and says it is lifted.
  await tanaka.waitForSelector(`#alerts-in-force li[data-alert="${evacuationId}"]`, { state: "detached", timeout: 10_000 });
  await tanaka.waitForSelector("#alerts-in-force li.lifted", { timeout: 10_000 });
  assert.match(await tanaka.textContent("#alerts-in-force li.lifted"), /解除.*【解除】/s);
  const left = await texts(tanaka, "#alerts-in-force li:not(.lifted)");
  assert.ok(left.every((t) => !t.includes(EVACUATION)), `no 避難指示 left: ${left}`);
  assert.equal(await tanaka.isVisible("#alert-overlay"), false, "a 解除 does not interrupt");
  await checkA11y(tanaka, "terminal after the lift");
  await shot(tanaka, "alerts-terminal-lifted-ja");

  // Staff pages in English.
  const staffEn = await person("en-US");
  await logIn(staffEn, "bousai");
  await visit(staffEn, "/alerts", "alerts-list-en");
  assert.match(await staffEn.textContent("h1"), /Alerts/);
  await visit(staffEn, `/alerts/${evacuationId}/report`, "alerts-report-en");
  assert.match(await staffEn.textContent("#report-facts"), /Immediately/);
  await staffEn.context().close();
  await bousai.context().close();
  await tanaka.context().close();
});
