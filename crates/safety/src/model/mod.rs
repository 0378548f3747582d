//! Pure logic of safety confirmation: what an answer may say, when a round starts by itself,
//! when reminders and escalation are due, tallies, and the area map. No I/O.

pub mod answer;
pub mod map;
pub mod rule;
pub mod tally;

/// Subject and body of the e-mail asking a household (Japanese, the town's language). The link
/// answers without logging in, once.
pub fn answer_mail(title: &str, link: &str, reminder: bool) -> (String, String) {
    let mark = if reminder {
        "【安否確認・再送】"
    } else {
        "【安否確認】"
    };
    let subject = format!("{mark}{title}");
    let body = format!(
        "{mark}{title}\n\n\
         ご家族の安否を教えてください。ご家族のどなたか1人が、世帯全員の分を回答できます。\n\
         下のリンクを開き、「全員無事」か「助けが必要」を選んでください(ログインは不要です)。\n\n\
         {link}\n\n\
         このリンクは1回だけ使えます。回答を直すときは、machi にログインして回答してください。\n"
    );
    (subject, body)
}

/// The e-mail handing a silent 要支援者 household to someone who can go and see.
pub fn escalation_mail(title: &str, household: &str, address: &str, link: &str) -> (String, String) {
    let subject = format!("【安否確認・要訪問】{household}から回答がありません");
    let body = format!(
        "{title}\n\n\
         要支援者のいる世帯から、まだ回答がありません。\n\
         世帯: {household}\n住所: {address}\n\n\
         訪問または電話で安否を確かめ、結果を記録してください。\n{link}\n"
    );
    (subject, body)
}

#[cfg(test)]
mod mail_tests {
    #[test]
    fn mails_carry_the_link_and_say_what_they_are() {
        let (s, b) = super::answer_mail("震度6弱の地震", "https://machi.example/safety/a/xyz", false);
        assert_eq!(s, "【安否確認】震度6弱の地震");
        assert!(b.contains("https://machi.example/safety/a/xyz") && b.contains("1回だけ"));
        let (s, _) = super::answer_mail("震度6弱の地震", "x", true);
        assert!(s.contains("再送"));
        let (s, b) = super::escalation_mail("地震", "田中家", "みどり町一丁目1-1", "https://m/safety/r");
        assert!(s.contains("田中家") && b.contains("みどり町一丁目1-1"));
    }
}
