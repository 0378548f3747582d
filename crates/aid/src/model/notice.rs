//! What the aid module tells people (Japanese, the town's language): subjects and bodies of
//! the notices that go out through the outbox.

fn category_ja(category: &str) -> &'static str {
    match category {
        "childcare" => "子どもの預かり・送迎",
        "shopping" => "買い物",
        "housework" => "家事",
        "garden" => "庭の手入れ",
        "moving" => "ものの移動",
        "it_help" => "スマホ・パソコン",
        "listening" => "話し相手",
        _ => "そのほか",
    }
}

pub fn invited(requester: &str, category: &str, link: &str) -> (String, String) {
    let what = category_ja(category);
    (
        format!("【共助】{requester}さんが「{what}」の手伝いを探しています"),
        format!(
            "{requester}さんから「{what}」の依頼が届きました。引き受けられる場合は、下のページで申し出てください。\n\n{link}\n"
        ),
    )
}

pub fn offered(supporter: &str, link: &str) -> (String, String) {
    (
        format!("【共助】{supporter}さんが手伝いを申し出ました"),
        format!(
            "{supporter}さんがあなたの依頼に申し出ました。お願いする場合は、下のページで決めてください。\n\n{link}\n"
        ),
    )
}

pub fn withdrawn(supporter: &str, link: &str) -> (String, String) {
    (
        format!("【共助】{supporter}さんが申し出を取り下げました"),
        format!(
            "{supporter}さんがあなたの依頼への申し出を取り下げました。ほかの人を探すには、下のページをご覧ください。\n\n{link}\n"
        ),
    )
}

pub fn accepted(requester: &str, link: &str) -> (String, String) {
    (
        format!("【共助】{requester}さんがあなたにお願いしました"),
        format!("{requester}さんがあなたの申し出を受けました。連絡先と場所は下のページで見られます。\n\n{link}\n"),
    )
}

pub fn fee_proposed(fee: i64, link: &str) -> (String, String) {
    (
        "【共助】謝礼の変更の確認".to_string(),
        format!("謝礼を 1時間 {fee}円 に変える提案が届きました。よければ下のページで確認してください。\n\n{link}\n"),
    )
}

pub fn coordinator_to_requester(supporter: &str, link: &str) -> (String, String) {
    (
        format!("【共助】コーディネーターから {supporter}さんのご紹介"),
        format!("まだ手伝う人が決まっていない依頼に、コーディネーターが {supporter}さんを紹介しました。\n\n{link}\n"),
    )
}

pub fn coordinator_to_supporter(requester: &str, category: &str, link: &str) -> (String, String) {
    let what = category_ja(category);
    (
        format!("【共助】コーディネーターからのお願い: {requester}さんの「{what}」"),
        format!(
            "コーディネーターから、{requester}さんの「{what}」の依頼の紹介です。引き受けられる場合は申し出てください。\n\n{link}\n"
        ),
    )
}

pub fn state_changed(who: &str, state: &str, link: &str) -> (String, String) {
    let what = match state {
        "done" => "終わったと記録しました",
        "no_show" => "来られなかったと記録しました",
        _ => "依頼を取り消しました",
    };
    (
        format!("【共助】{who}さんが{what}"),
        format!("{who}さんが{what}。\n\n{link}\n"),
    )
}

pub fn waiting(category: &str, link: &str) -> (String, String) {
    let what = category_ja(category);
    (
        format!("【共助】「{what}」の依頼に手伝う人が決まっていません"),
        format!("決まらないまま時間がたった依頼があります。ふさわしい人を紹介してください。\n\n{link}\n"),
    )
}
