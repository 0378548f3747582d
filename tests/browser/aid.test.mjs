// 共助 as the people concerned (issue 20, item 11): the supporter ticks 土曜・午前 in the week grid and
// reads it back in words; the requester makes a mistake and keeps what she typed; one button asks
// the suggested supporter; after acceptance only he reads where to meet. axe on every page;
// screenshots in Japanese and English.

import { test } from "node:test";
import assert from "node:assert/strict";
import { useTown, town, shots, backend, person, checkA11y, logIn } from "./lib.mjs";

useTown(import.meta.url);

const shot = (page, name) => page.screenshot({ path: `${shots}/${backend}-${name}.png`, fullPage: true });
const submit = (page, url, target) =>
  Promise.all([page.waitForURL(url), typeof target === "string" ? page.click(target) : target.click()]);
const text = (page, selector) => page.locator(selector).innerText();

/** The same person's pages in English (the language cookie, as the footer's switch sets it). */
async function inEnglish(login) {
  const page = await person("en-US");
  await page.context().addCookies([{ name: "machi_lang", value: "en", url: town.base }]);
  await logIn(page, login);
  return page;
}

test("共助: the week as a grid, a mistake that keeps what was typed, one button to ask, the meeting place after acceptance", async () => {
  const PARENT = "吉田 彩";
  const SUPPORTER = "伊藤 翔太";
  const PLACE = "みどり保育園の門の前";
  const jst = (ms) => new Date(ms + 9 * 3_600_000);
  const now = Date.now();
  const saturday = jst(now + ((6 - jst(now).getUTCDay() + 7) % 7 || 7) * 86_400_000).toISOString().slice(0, 10);
  const [, satMonth, satDay] = saturday.split("-").map(Number);

  // 1. 翔太 offers help with shopping on Saturday mornings: a table of days × times of day.
  const supporter = await person();
  await logIn(supporter, "supporter");
  await supporter.goto(town.base + "/aid/offer");
  assert.doesNotMatch(await text(supporter, "main"), /0=月|5:09|\d:\d\d:\d\d-/, "no slot codes");
  assert.match(await text(supporter, "#aid-week caption"), /手伝える曜日と時間帯/);
  assert.match(await text(supporter, "#aid-week thead"), /午前\s*0時〜12時/);
  await checkA11y(supporter, "/aid/offer (empty)");
  await supporter.check("#aid-profile input[name=categories][value=shopping]");
  await supporter.fill("#radius", "5");
  // The box is found by its name, as a screen reader says it.
  await supporter.getByRole("checkbox", { name: "土曜 午前" }).check();
  await submit(supporter, /\/aid\/offer\?done=profile$/, "#aid-profile button[type=submit]");
  assert.match(await text(supporter, "#aid-notice"), /登録しました/);
  assert.equal(await text(supporter, "#aid-week-saved"), "いま登録している手伝える時間: 土曜 午前");
  assert.ok(await supporter.getByRole("checkbox", { name: "土曜 午前" }).isChecked(), "kept");
  assert.equal(await supporter.getByRole("checkbox", { name: "土曜 午後" }).isChecked(), false);
  assert.doesNotMatch(await text(supporter, "main"), /\d:\d\d:\d\d-/);
  await checkA11y(supporter, "/aid/offer (saved)");
  await shot(supporter, "aid-week-ja");

  // 2. 彩 asks for Saturday 09:30 with a fee above the town's range: the page says the range,
  // and what she typed is still there.
  const parent = await person();
  await logIn(parent, "kosodate");
  await parent.goto(town.base + "/aid");
  await Promise.all([parent.waitForURL(/\/aid\/ask$/), parent.click("#aid-ask")]);
  await Promise.all([parent.waitForURL(/category=/), parent.locator("#aid-categories a", { hasText: "買い物" }).click()]);
  await parent.fill("#date", saturday);
  await parent.fill("#start", "09:30");
  await parent.selectOption("#duration", "60");
  await Promise.all([parent.waitForURL(/duration_minutes=/), parent.click("#aid-when button[type=submit]")]);
  assert.match(await text(parent, "#aid-ask-summary"), new RegExp(`買い物 — ${satMonth}月${satDay}日\\(土\\) 午前9時30分`));
  await parent.fill("#description", "お米10kgと牛乳を買ってきてほしいです。");
  await parent.fill("#place", PLACE);
  await parent.fill("#fee", "900");
  await parent.click("#aid-details button[type=submit]");
  await parent.waitForSelector(".error-summary");
  assert.match(await text(parent, ".error-summary"), /入力内容を確認してください/);
  assert.match(await text(parent, ".error-summary"), /謝礼は 1時間 500〜700 円の間にしてください/);
  assert.equal(await parent.inputValue("#description"), "お米10kgと牛乳を買ってきてほしいです。");
  assert.equal(await parent.inputValue("#place"), PLACE);
  assert.equal(await parent.inputValue("#fee"), "900");
  assert.equal(await parent.getAttribute("#fee", "aria-invalid"), "true");
  await checkA11y(parent, "ask with a mistake");
  await shot(parent, "aid-ask-error-ja");
  await parent.fill("#fee", "600");
  await submit(parent, /\/aid\/requests\/[0-9A-Za-z]+\?done=created$/, "#aid-details button[type=submit]");
  const path = new URL(parent.url()).pathname;
  assert.match(await text(parent, "#aid-notice"), /依頼しました/);

  // 3. One button for the suggested person; after it, the card says she is waiting.
  const card = parent.locator("#aid-suggestions > li", { hasText: SUPPORTER });
  assert.match(await card.locator(".why").innerText(), /土曜午前に対応可/);
  assert.equal(await card.locator("button").count(), 1);
  assert.equal(await card.locator("button").innerText(), "この人に頼む");
  assert.equal(await parent.getByText("この人にお願いする").count(), 0, "no second wording");
  await checkA11y(parent, "request with a suggestion");
  await shot(parent, "aid-suggestion-ja");
  await submit(parent, /done=invite$/, card.locator("button", { hasText: "この人に頼む" }));
  assert.match(await text(parent, "#aid-notice"), /お願いを送りました/);
  assert.match(await card.innerText(), /この人の返事を待っています/);
  assert.equal(await card.locator("button").count(), 0);

  // 4. 翔太 offers; he does not see the place yet.
  await supporter.goto(town.base + "/aid");
  await Promise.all([supporter.waitForURL((u) => u.pathname === path), supporter.click(`#aid-open a[href='${path}']`)]);
  assert.equal(await supporter.locator("#aid-contact").count(), 0);
  assert.doesNotMatch(await text(supporter, "main"), new RegExp(PLACE));
  await supporter.fill("#message", "土曜の朝なら行けます。");
  await submit(supporter, /done=offer$/, "#aid-offer-form button[type=submit]");
  assert.match(await text(supporter, "#aid-offered"), /依頼した人が決めるまでお待ちください/);

  // 5. 彩 chooses him.
  await parent.goto(town.base + path);
  assert.match(await card.innerText(), /この人から申し出がありました/);
  const offerCard = parent.locator("#aid-offers li", { hasText: SUPPORTER });
  await checkA11y(parent, "request with an offer");
  await submit(parent, /done=accept$/, offerCard.locator("button", { hasText: "この人に決める" }));
  assert.match(await text(parent, "#aid-notice"), /お願いする人が決まりました/);
  assert.match(await text(parent, "#aid-contact"), new RegExp(SUPPORTER));
  assert.doesNotMatch(await text(parent, "#aid-contact"), /待ち合わせ場所/);
  await shot(parent, "aid-accepted-requester-ja");

  // 6. Now 翔太 reads where to meet and how to reach her.
  await supporter.goto(town.base + path);
  const contact = await text(supporter, "#aid-contact");
  assert.match(contact, /待ち合わせ場所と連絡先/);
  assert.match(contact, new RegExp(PLACE));
  assert.match(contact, new RegExp(PARENT));
  assert.match(contact, /この依頼の2人だけに見えます/);
  await checkA11y(supporter, "request as the accepted supporter");
  await shot(supporter, "aid-meeting-ja");

  // 7. Anyone else is refused, and reads nothing of it.
  const other = await person();
  await logIn(other, "caremgr");
  const res = await other.goto(town.base + path);
  assert.equal(res.status(), 403);
  assert.doesNotMatch(await text(other, "body"), new RegExp(PLACE));
  await checkA11y(other, "request refused to another");
  await other.context().close();

  // 8. The same pages in English.
  const supporterEn = await inEnglish("supporter");
  await supporterEn.goto(town.base + "/aid/offer");
  assert.match(await text(supporterEn, "#aid-week-saved"), /Saturday morning/);
  assert.ok(await supporterEn.getByRole("checkbox", { name: "Saturday morning" }).isChecked());
  await checkA11y(supporterEn, "/aid/offer (en)");
  await shot(supporterEn, "aid-week-en");
  await supporterEn.goto(town.base + path);
  assert.match(await text(supporterEn, "#aid-contact"), new RegExp(`Where to meet[\\s\\S]*${PLACE}`));
  await checkA11y(supporterEn, "request as the accepted supporter (en)");
  await shot(supporterEn, "aid-meeting-en");
  const parentEn = await inEnglish("kosodate");
  await parentEn.goto(town.base + "/aid/ask?category=shopping&date=2020-01-04&start=09:30&duration_minutes=60");
  assert.match(await text(parentEn, ".error-summary"), /a time that has passed/);
  assert.equal(await parentEn.inputValue("#date"), "2020-01-04");
  await checkA11y(parentEn, "ask step 2 with a mistake (en)");
  await shot(parentEn, "aid-ask-error-en");
  for (const p of [supporter, parent, supporterEn, parentEn]) await p.context().close();
});
