// 見守り (issue 20): fraud protection that protects, and watch-over that works from the start —
// walked as the people concerned: a stranger sends tanaka a scam, tanaka never reads it, her
// daughter sato is told and refuses it; a new circle starts with the default rules and the
// watched person answers on the terminal's big buttons; tanaka's demo circle as sato sees it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useTown, town, person, checkA11y, visit, logIn, shot } from "./lib.mjs";

useTown(import.meta.url);

const SCAM = "還付金があります。今日中に 03-5555-0199 へお電話ください";
const PHONE = "03-5555-0199";
const main = (page) => page.textContent("main");

/** tanaka's own circle page, reached from her list of circles. */
async function ownCircle(page) {
  await page.goto(town.base + "/watch");
  await Promise.all([page.waitForURL(/\/watch\/[0-9A-Za-z]+$/), page.locator("#watch-circles a").first().click()]);
}

test("a scam to tanaka waits for her family: she never reads it, sato is told and refuses it", async () => {
  // A stranger (the shop owner, not on tanaka's list) sends the scam.
  const stranger = await person();
  await logIn(stranger, "shop");
  await stranger.goto(town.base + "/watch/messages/new");
  await stranger.fill("#name", "田中 ハナ");
  await stranger.fill("#birth_date", "1938-04-12");
  await stranger.fill("#body", SCAM);
  await Promise.all([stranger.waitForSelector("#watch-sent"), stranger.click("#watch-message button[type=submit]")]);
  const sent = await stranger.textContent("#watch-sent");
  assert.match(sent, /ご家族の確認を待っています/);
  assert.doesNotMatch(sent, /送りました/);
  await checkA11y(stranger, "message sent, waiting for the family");
  await shot(stranger, "watch-scam-sender-ja");
  await stranger.context().close();

  // tanaka: on her circle page, who wrote and that her family checks it — never the text.
  const hana = await person();
  await logIn(hana, "tanaka");
  await ownCircle(hana);
  const held = await hana.textContent("#watch-held");
  assert.match(held, /井上 勇さんからの連絡が届いています。ご家族が確認してからお見せします。/);
  assert.match(held, /ご家族の確認待ち/);
  for (const page of ["/watch", "/me", "/"]) {
    await hana.goto(town.base + page);
    assert.doesNotMatch(await hana.content(), /還付金|03-5555-0199/, `${page} shows the scam`);
  }
  await ownCircle(hana);
  assert.doesNotMatch(await hana.content(), /還付金|03-5555-0199/);
  assert.equal(await hana.locator("form[action$='/decision']").count(), 0, "she cannot let it through");
  await checkA11y(hana, "tanaka's circle with a held message");
  await shot(hana, "watch-scam-tanaka-circle-ja");
  // Her terminal: the same, in large words.
  await hana.goto(town.base + "/terminal");
  await hana.waitForSelector("#watch-waiting li", { state: "visible", timeout: 10_000 });
  const waiting = await hana.textContent("#watch-waiting");
  assert.match(waiting, /井上 勇さんから連絡がありました/);
  assert.match(waiting, /ご家族が確認しています/);
  assert.match(await hana.textContent("#watch-waiting-title"), /ご家族が確認している連絡/);
  assert.doesNotMatch(await hana.content(), /還付金|03-5555-0199/);
  await checkA11y(hana, "tanaka's terminal with a message waiting for the family");
  await shot(hana, "watch-scam-tanaka-terminal-ja");

  // sato is told at once (her notices), reads the text, and refuses it.
  const sato = await person();
  await logIn(sato, "sato");
  await sato.goto(town.base + "/watch");
  assert.match(await sato.textContent("#watch-notices"), /田中 ハナさんあての連絡を保留しています/);
  await Promise.all([
    sato.waitForURL(/\/watch\/[0-9A-Za-z]+$/),
    sato.locator("#watch-circles a", { hasText: "田中 ハナ" }).click(),
  ]);
  const item = sato.locator("#watch-held li", { hasText: PHONE });
  assert.match(await item.textContent(), /井上 勇/);
  assert.ok((await item.textContent()).includes(SCAM), "the family reads the whole text");
  await checkA11y(sato, "sato's view of the held scam");
  await shot(sato, "watch-scam-sato-ja");
  await Promise.all([sato.waitForURL(/done=message/), item.locator("button[value=reject]").click()]);
  assert.match(await sato.textContent("#watch-notice"), /保留中の連絡を処理しました/);
  const decided = sato.locator("#watch-held li", { hasText: PHONE });
  assert.match(await decided.locator(".badge").textContent(), /届けませんでした/);
  assert.equal(await decided.locator("button").count(), 0, "decided once");
  await sato.context().close();

  // Refused: tanaka still never reads it.
  await ownCircle(hana);
  assert.doesNotMatch(await hana.content(), /還付金|03-5555-0199/);
  await hana.context().close();

  // In English, the terminal says the same for a new held message (from the association head, not family).
  const neighbour = await person();
  await logIn(neighbour, "kaicho");
  await neighbour.goto(town.base + "/watch/messages/new");
  await neighbour.fill("#name", "田中 ハナ");
  await neighbour.fill("#birth_date", "1938-04-12");
  await neighbour.fill("#body", "自治会費の集金に伺います");
  await Promise.all([neighbour.waitForSelector("#watch-sent"), neighbour.click("#watch-message button[type=submit]")]);
  await Promise.all([neighbour.waitForLoadState("load"), neighbour.click(".lang-switch button[value=en]")]);
  await neighbour.goto(town.base + "/watch/messages/new");
  await shot(neighbour, "watch-message-form-en");
  // Back to Japanese: the language is kept with the person, and 鈴木さん answers in Japanese below.
  await Promise.all([neighbour.waitForLoadState("load"), neighbour.click(".lang-switch button[value=ja]")]);
  await neighbour.context().close();
  const hanaEn = await person("en-US");
  await logIn(hanaEn, "tanaka");
  await hanaEn.goto(town.base + "/terminal");
  const english = hanaEn.locator(".lang-switch button[value=en], #terminal-menu button[value=en]");
  if (await english.count()) await Promise.all([hanaEn.waitForLoadState("load"), english.first().click()]);
  await hanaEn.waitForSelector("#watch-waiting li", { state: "visible", timeout: 10_000 });
  assert.match(await hanaEn.textContent("#watch-waiting"), /sent you a message .*Your family is checking it\./);
  assert.doesNotMatch(await hanaEn.content(), /自治会費|還付金/);
  await checkA11y(hanaEn, "terminal in English with messages waiting");
  await shot(hanaEn, "watch-scam-tanaka-terminal-en");
  await hanaEn.context().close();
});

test("a new circle starts with the default rule, and the person answers on the terminal's big buttons", async () => {
  // The care manager proposes a circle around 鈴木 茂.
  const care = await person();
  await logIn(care, "caremgr");
  await care.goto(town.base + "/watch");
  await care.check("#watch-create input[name=whom][value=other]");
  await care.fill("#name", "鈴木 茂");
  await care.fill("#birth_date", "1952-03-25");
  await care.selectOption("#role", "care_manager");
  await Promise.all([care.waitForURL(/\/watch\/[0-9A-Za-z]+$/), care.click("#watch-create button[type=submit]")]);
  const circlePath = new URL(care.url()).pathname;
  assert.match(await care.textContent("#watch-consent"), /同意待ち/);
  const rules = await care.textContent("#watch-rules");
  assert.match(rules, /毎日 10:00 までに「元気です」\(猶予 60 分\)/);
  assert.match(rules, /24時間に1回は合図があること/);
  assert.equal(await care.locator("#watch-rules form button").count(), 2, "each rule can be changed (removed, added)");
  await checkA11y(care, "new circle with the default rules");
  await shot(care, "watch-new-circle-default-rules-ja");

  // 鈴木さん's terminal asks him, with two big buttons.
  const shigeru = await person();
  await logIn(shigeru, "kaicho");
  await shigeru.goto(town.base + "/terminal");
  await shigeru.waitForSelector("#watch-consent-question", { state: "visible", timeout: 10_000 });
  assert.match(await shigeru.textContent("#watch-consent-title"), /見守ってもらいますか/);
  assert.match(await shigeru.textContent("#watch-consent-text"), /中村 恵子さんが、あなたの見守りを始めたいと言っています。/);
  const yes = shigeru.locator("#watch-answer button[value=yes]");
  assert.match(await yes.textContent(), /はい、見守ってもらう/);
  assert.match(await shigeru.locator("#watch-answer button[value=no]").textContent(), /いいえ/);
  const box = await yes.boundingBox();
  assert.ok(box.height >= 48 && box.width >= 200, `a big button: ${JSON.stringify(box)}`);
  await checkA11y(shigeru, "terminal asking for consent");
  await shot(shigeru, "watch-terminal-consent-ja");
  await Promise.all([shigeru.waitForURL(/\/terminal\?done=consent$/), yes.click()]);
  await shigeru.waitForSelector("#watch-done-consent", { state: "visible", timeout: 10_000 });
  assert.match(await shigeru.textContent("#watch-done-consent"), /見守りが始まりました/);
  await shigeru.waitForSelector("#watch-checkin button", { state: "visible", timeout: 10_000 });
  assert.equal(await shigeru.isVisible("#watch-consent-question"), false, "asked once");
  await checkA11y(shigeru, "terminal after consenting");
  await shot(shigeru, "watch-terminal-consented-ja");
  await shigeru.context().close();

  // The care manager sees it started.
  await care.goto(town.base + circlePath);
  assert.equal(await care.locator("#watch-consent").count(), 0);
  assert.match(await main(care), /同意/);
  await care.context().close();

  // In English, another person says no: the circle closes and the proposer is told.
  const sato = await person();
  await logIn(sato, "sato");
  await sato.goto(town.base + "/watch");
  await sato.check("#watch-create input[name=whom][value=other]");
  await sato.fill("#name", "井上 勇");
  await sato.fill("#birth_date", "1960-09-03");
  await sato.selectOption("#role", "family");
  await Promise.all([sato.waitForURL(/\/watch\/[0-9A-Za-z]+$/), sato.click("#watch-create button[type=submit]")]);
  const isamu = await person("en-US");
  await logIn(isamu, "shop");
  await Promise.all([isamu.waitForLoadState("load"), isamu.click(".lang-switch button[value=en]")]);
  await isamu.goto(town.base + "/terminal");
  await isamu.waitForSelector("#watch-consent-question", { state: "visible", timeout: 10_000 });
  assert.match(await isamu.textContent("#watch-consent-title"), /Would you like to be watched over\?/);
  assert.match(await isamu.textContent("#watch-consent-text"), /would like to start watching over you/);
  await checkA11y(isamu, "terminal asking for consent (English)");
  await shot(isamu, "watch-terminal-consent-en");
  await Promise.all([isamu.waitForURL(/done=declined$/), isamu.click("#watch-answer button[value=no]")]);
  await isamu.waitForSelector("#watch-done-declined", { state: "visible", timeout: 10_000 });
  assert.match(await isamu.textContent("#watch-done-declined"), /No watch-over/);
  await shot(isamu, "watch-terminal-declined-en");
  await isamu.context().close();
  await sato.goto(town.base + "/watch");
  assert.match(await sato.textContent("#watch-notices"), /井上 勇さんは見守りを希望されませんでした/);
  await sato.context().close();
});

test("tanaka's demo circle is a living example: sato, caremgr, supporter, the bulb and a readable timeline", async () => {
  for (const [locale, lang] of [["ja-JP", "ja"], ["en-US", "en"]]) {
    const sato = await person(locale);
    await logIn(sato, "sato");
    if (lang === "en") await Promise.all([sato.waitForLoadState("load"), sato.click(".lang-switch button[value=en]")]);
    await sato.goto(town.base + "/watch");
    await Promise.all([
      sato.waitForURL(/\/watch\/[0-9A-Za-z]+$/),
      sato.locator("#watch-circles a", { hasText: "田中 ハナ" }).click(),
    ]);
    const members = await sato.textContent("#watch-members");
    for (const name of ["佐藤 由美", "中村 恵子", "伊藤 翔太"]) assert.match(members, new RegExp(name));
    assert.match(members, lang === "ja" ? /家族[\s\S]*ケアマネジャー[\s\S]*支援者/ : /Family member[\s\S]*Care manager[\s\S]*Supporter/);
    const devices = await sato.textContent("#watch-devices");
    assert.match(devices, lang === "ja" ? /電球 1 — 最後の合図/ : /Light bulb 1 — last sign/);
    assert.doesNotMatch(devices, /bulb-0001/);
    assert.match(await sato.textContent("#watch-rules"), lang === "ja" ? /毎日 10:00 までに「元気です」/ : /every day by 10:00/);
    const spark = sato.locator("svg.sparkline");
    const box = await spark.boundingBox();
    assert.ok(box.width >= 600 && box.height >= 120, `readable: ${JSON.stringify(box)}`);
    assert.match(await spark.locator("title#spark-title").textContent(), lang === "ja" ? /48時間の合図/ : /Signs over 48 hours/);
    const ticks = (await spark.locator("text").allTextContents()).join(" ");
    assert.match(ticks, lang === "ja" ? /6時.*12時|12時.*18時/ : /6:00.*12:00|12:00.*18:00/);
    assert.doesNotMatch(await main(sato), /\d{4}-\d{2}-\d{2}T|bulb-0001/, "no ISO time nor raw id");
    await checkA11y(sato, `tanaka's demo circle (${lang})`);
    await shot(sato, `watch-demo-circle-${lang}`);
    await sato.context().close();
  }
});
