//! What the watch module tells people (Japanese, the town's language): subjects and bodies of
//! the notices that go out through the outbox.

/// A call of the escalation ladder (Japanese, the town's language): subject and body.
pub fn missed_notice(name: &str, reason: &str, welfare_desk: bool, link: &str) -> (String, String) {
    let what = match reason {
        "daily" => "今日の「元気です」がまだありません",
        "on_too_long" => "電気などが長い時間つけっぱなしです",
        _ => "決めた時間のあいだ合図がありません",
    };
    let who = if welfare_desk {
        "見守りの輪の方から応答がないため、福祉の窓口にお知らせしています。"
    } else {
        "見守りの輪の連絡先としてお知らせしています。"
    };
    (
        format!("【見守り】{name}さん: {what}"),
        format!(
            "{name}さんの見守りで、{what}。\n{who}\n\n\
             様子を見に行ける方は、下のページで「今から訪問します」を押してください。\n\
             押すと、ほかの方への連絡は止まります。\n\n{link}\n"
        ),
    )
}

/// The person signalled after all: the call is over.
pub fn resumed_notice(name: &str, link: &str) -> (String, String) {
    (
        format!("【見守り】{name}さんから合図がありました"),
        format!("{name}さんから合図がありました。先ほどの連絡は終わりです。\n\n{link}\n"),
    )
}

/// Someone is on their way: the others may stand down.
pub fn visiting_notice(name: &str, visitor: &str, link: &str) -> (String, String) {
    (
        format!("【見守り】{visitor}さんが{name}さんを訪問します"),
        format!("{visitor}さんが「今から訪問します」を押しました。ほかの方への連絡は止まりました。\n\n{link}\n"),
    )
}

/// The visit's outcome, for the others called.
pub fn outcome_notice(name: &str, visitor: &str, outcome: &str, link: &str) -> (String, String) {
    let what = match outcome {
        "safe" => "会えました。無事でした",
        "help" => "支援・救急につなぎました",
        _ => "不在でした",
    };
    (
        format!("【見守り】{name}さんの訪問の結果: {what}"),
        format!("{visitor}さんが{name}さんを訪問しました: {what}。\n\n{link}\n"),
    )
}

/// A visit was acknowledged but its outcome never recorded: the welfare desk is called.
pub fn stale_visit_notice(name: &str, visitor: &str, link: &str) -> (String, String) {
    (
        format!("【見守り】{name}さんの訪問の結果が届いていません"),
        format!(
            "{visitor}さんが「今から訪問します」を押しましたが、結果が記録されていません。\
             福祉の窓口にお知らせしています。\n\n{link}\n"
        ),
    )
}

/// The contact allow-list changed (told to the person and the guardian).
pub fn contacts_notice(name: &str, contact: &str, added: bool, link: &str) -> (String, String) {
    let what = if added { "追加" } else { "削除" };
    (
        format!("【見守り】{name}さんの連絡先リストに{contact}さんを{what}しました"),
        format!("{name}さんの連絡を受け取れる人のリストに、{contact}さんを{what}しました。\n\n{link}\n"),
    )
}

/// A message from someone not on the list waits for the guardian.
pub fn held_notice(name: &str, sender: &str, link: &str) -> (String, String) {
    (
        format!("【見守り】{name}さんあての連絡を保留しています"),
        format!(
            "{sender}さんから{name}さんの端末あての連絡がありました。連絡先リストにない方なので、\
             届ける前に確認をお願いします。\n\n{link}\n"
        ),
    )
}

/// The person said no to a proposed circle (told to its members).
pub fn declined_notice(name: &str) -> (String, String) {
    (
        format!("【見守り】{name}さんは見守りを希望されませんでした"),
        format!(
            "{name}さんに見守りの輪への同意をおたずねしたところ、「いいえ」とお答えがありました。\
             輪は閉じました。お話しのうえで、あらためて始めることができます。\n"
        ),
    )
}
