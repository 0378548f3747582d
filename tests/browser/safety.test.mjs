// 安否確認 as the people who answer it: tanaka on her terminal sees her answer confirmed and
// changes it; sato answers for her mother's household from her own pages, and the officer sees
// that family answered; 全員無事 with someone hurt asks first. Every page is scanned with axe;
// screenshots in Japanese and English (the map included).

import { test } from "node:test";
import assert from "node:assert/strict";
import { useTown, town, shot, tokenFor, person, checkA11y, visit, logIn } from "./lib.mjs";

useTown(import.meta.url);

async function api(token, method, path, body) {
  const res = await fetch(town.base + "/api/v1" + path, {
    method,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : null };
}

/** sato is family in tanaka's watch-over circle: made here unless the demo town already has it. */
async function satoIsFamilyOfTanaka() {
  const sato = tokenFor("sato");
  const tanaka = tokenFor("tanaka");
  const me = (await api(tanaka, "GET", "/me")).body;
  const satoId = (await api(sato, "GET", "/me")).body.person.id;
  const theirs = (await api(sato, "GET", "/watch/circles")).body;
  if (theirs.some((c) => c.person_id === me.person.id && c.as_role === "family" && c.consent_id)) return me;
  let circle = (await api(tanaka, "GET", "/watch/circles")).body.find((c) => c.as_role === "self");
  if (!circle) {
    const made = await api(tanaka, "POST", "/watch/circles", { person_id: me.person.id });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    circle = made.body;
  } else if (!circle.consent_id) {
    assert.equal((await api(tanaka, "POST", `/watch/circles/${circle.id}/consent`)).status, 200);
  }
  const put = await api(tanaka, "PUT", `/watch/circles/${circle.id}/members/${satoId}`, { role: "family" });
  assert.equal(put.status, 204, JSON.stringify(put.body));
  return me;
}

test("安否確認: the receipt on the terminal, a change, sato answering for her mother's household, the officer seeing it, and the question before 全員無事 with someone hurt", async () => {
  const hana = await satoIsFamilyOfTanaka();
  const household = hana.household.id;

  // The officer starts a check for district 1.
  const officer = await person();
  await logIn(officer, "kaicho");
  await visit(officer, "/safety");
  await officer.fill("#title", "地震の安否確認");
  await officer.selectOption("#area", "13999-1");
  await Promise.all([officer.waitForURL(/\/safety\/[0-9A-Z]+$/), officer.click("form.stack button[type=submit]")]);
  const round = officer.url().split("/").pop();
  await checkA11y(officer, "the round just started");

  // tanaka's terminal asks; she presses 全員無事 and sees what was recorded, with the time as people write it.
  const tanaka = await person();
  await logIn(tanaka, "tanaka");
  await tanaka.goto(town.base + "/terminal");
  await tanaka.waitForSelector("#safety-question:not([hidden])", { timeout: 10_000 });
  await Promise.all([tanaka.waitForURL(/\/receipt\?back=/), tanaka.click("#safety-question button[value=safe]")]);
  assert.match(await tanaka.textContent("h1"), /回答を受け付けました/);
  const receipt = await tanaka.textContent("#safety-receipt");
  assert.match(receipt, /田中家/);
  assert.match(receipt, /全員無事/);
  assert.match(receipt, /田中 ハナ/);
  assert.match(receipt, /端末/);
  assert.match(receipt, /\d+月\d+日\([日月火水木金土]\) 午[前後]\d+時(\d+分)?/, `the time as people write it: ${receipt}`);
  assert.doesNotMatch(receipt, /\d{4}-\d{2}-\d{2}|terminal|mqtt/, "no ISO time nor code");
  await checkA11y(tanaka, "the receipt after the terminal's button");
  await shot(tanaka, "safety-receipt-terminal-ja");

  // She changes it: she is hurt after all. 全員無事 with けが asks first.
  await Promise.all([tanaka.waitForURL(/\/answer$/), tanaka.click("#safety-change")]);
  await checkA11y(tanaka, "the answer form, changing the answer");
  await tanaka.locator("#safety-answer fieldset.member").first().locator("input[value=injured]").check();
  await tanaka.locator("#safety-answer fieldset.member input[type=text]").first().fill("足をくじきました");
  await tanaka.click("#safety-answer button[value=safe]");
  await tanaka.waitForSelector("#safety-confirm");
  assert.match(await tanaka.textContent("#safety-confirm"), /けがをした人がいます。『助けが必要』として送りますか?/);
  assert.match(await tanaka.textContent("#safety-confirm-members"), /田中 ハナ: けが/);
  await checkA11y(tanaka, "the question before 全員無事 with someone hurt");
  await shot(tanaka, "safety-confirm-ja");
  // 戻って直す keeps what she chose; then she sends it as 助けが必要.
  await tanaka.click("#safety-confirm-form button[name=edit]");
  await tanaka.waitForSelector("#safety-answer");
  assert.ok(await tanaka.locator("#safety-answer fieldset.member").first().locator("input[value=injured]").isChecked());
  assert.equal(await tanaka.locator("#safety-answer fieldset.member input[type=text]").first().inputValue(), "足をくじきました");
  await tanaka.click("#safety-answer button[value=safe]");
  await tanaka.waitForSelector("#safety-confirm");
  await Promise.all([tanaka.waitForURL(/\/receipt$/), tanaka.click("#safety-confirm-form button[value=help]")]);
  const changed = await tanaka.textContent("main");
  assert.match(changed, /回答を受け付けました/);
  assert.match(await tanaka.textContent("#safety-receipt [data-key=status]"), /助けが必要/);
  assert.match(await tanaka.textContent("#safety-receipt-members"), /田中 ハナ: けが — 足をくじきました/);
  await checkA11y(tanaka, "the receipt after the change");

  // sato, family in tanaka's circle, finds her mother's household on her safety page and answers for it.
  const sato = await person();
  await logIn(sato, "sato");
  const nav = await sato.locator("nav.site-nav a").allTextContents();
  assert.ok(nav.some((t) => /安否確認/.test(t)), `the safety page is in sato's menu: ${nav}`);
  await visit(sato, "/safety", "safety-family-ja");
  const family = await sato.textContent("#safety-family");
  assert.match(family, /田中家/);
  assert.match(family, /回答済み\(助けが必要\)/);
  await Promise.all([
    sato.waitForURL(new RegExp(`/households/${household}/answer$`)),
    sato.click("#safety-family a.button"),
  ]);
  assert.match(await sato.textContent("#safety-for"), /田中家の安否を、家族として代わりに回答します。/);
  await checkA11y(sato, "the answer form for the watched person's household");
  await shot(sato, "safety-answer-for-family-ja");
  await sato.fill("#comment", "母と電話で話しました。病院に行きます。");
  await Promise.all([sato.waitForURL(/\/receipt$/), sato.click("#safety-answer button[value=help]")]);
  assert.match(await sato.textContent("#safety-done"), /田中家の回答を受け付けました/);
  assert.match(await sato.textContent("#safety-receipt [data-key=by]"), /佐藤 由美さんが代わりに回答/);
  await checkA11y(sato, "the receipt of a proxy answer");
  await shot(sato, "safety-receipt-family-ja");

  // The officer's round page says that family answered, and shows the map of the 町丁目.
  await officer.reload();
  assert.match(await officer.textContent("#safety-proxies"), /田中家: 助けが必要 — 佐藤 由美さんが代わりに回答/);
  const card = officer.locator("#safety-follow-up li", { hasText: "田中" }).first();
  assert.match(await card.textContent(), /佐藤 由美さんが代わりに回答/);
  const areas = await officer.locator("#safety-map g[data-area]").count();
  assert.ok(areas >= 2, `every 町丁目 of the district on the map: ${areas}`);
  assert.equal(await officer.locator("#safety-map g[data-area] path").count(), areas, "each area drawn as its shape");
  assert.match(await officer.locator("#safety-map g[data-area] text").first().textContent(), /丁目.*\d+%/);
  assert.match(await officer.textContent("#safety-map-legend"), /回答率 0〜24%/);
  assert.doesNotMatch(await officer.textContent("main"), /\d{4}-\d{2}-\d{2}T?|\bmqtt\b|\bemail\b/);
  await checkA11y(officer, "the round page with a proxy answer");
  await shot(officer, "safety-round-proxy-ja");

  // A stranger to the household cannot open sato's page for it.
  const shop = await person();
  await logIn(shop, "shop");
  const refused = await shop.goto(`${town.base}/safety/${round}/households/${household}/answer`);
  assert.equal(refused.status(), 403);
  await shop.context().close();

  // The same pages in English.
  const en = await person("en-US");
  await logIn(en, "sato");
  await visit(en, "/safety", "safety-family-en");
  assert.match(await en.textContent("#safety-family"), /Answer for 田中家/);
  await visit(en, `/safety/${round}/households/${household}/receipt`, "safety-receipt-family-en");
  assert.match(await en.textContent("#safety-done"), /The answer for 田中家 is recorded/);
  assert.match(await en.textContent("#safety-receipt [data-key=by]"), /Answered for them by 佐藤 由美/);
  assert.match(await en.textContent("#safety-receipt [data-key=at]"), /(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d+ [A-Z][a-z]{2}/);
  const officerEn = await person("en-US");
  await logIn(officerEn, "kaicho");
  await visit(officerEn, `/safety/${round}`, "safety-round-proxy-en");
  assert.match(await officerEn.textContent("#safety-proxies"), /Answered for them by 佐藤 由美/);
  assert.match(await officerEn.textContent("#safety-map-legend"), /0–24% answered/);
  const tanakaEn = await person("en-US");
  await logIn(tanakaEn, "tanaka");
  await tanakaEn.goto(`${town.base}/safety/${round}/answer`);
  await tanakaEn.locator("#safety-answer fieldset.member").first().locator("input[value=injured]").check();
  await tanakaEn.click("#safety-answer button[value=safe]");
  await tanakaEn.waitForSelector("#safety-confirm");
  assert.match(await tanakaEn.textContent("#safety-confirm"), /Someone is hurt\. Send the answer as "We need help"\?/);
  await checkA11y(tanakaEn, "the question in English");
  await shot(tanakaEn, "safety-confirm-en");

  for (const p of [officer, tanaka, sato, en, officerEn, tanakaEn]) await p.context().close();
});
