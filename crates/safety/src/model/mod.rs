//! Pure logic of safety confirmation: what an answer may say, when a round starts by itself,
//! when reminders and escalation are due, tallies, and the area map. No I/O.

pub mod answer;
pub mod map;
pub mod rule;
pub mod tally;

/// The e-mail asking a household, as a notice (`safety-notice-ask`) rendered in each
/// recipient's language. The link answers without logging in, once.
pub fn answer_mail(title: &str, link: &str, reminder: bool) -> kernel::notice::Notice {
    let mark = if reminder {
        "safety-notice-mark-reminder"
    } else {
        "safety-notice-mark"
    };
    kernel::notice::Notice::new("safety-notice-ask")
        .phrase("mark", mark)
        .text("title", title)
        .text("link", link)
}

/// The e-mail handing a silent 要支援者 household to someone who can go and see.
pub fn escalation_mail(title: &str, household: &str, address: &str, link: &str) -> kernel::notice::Notice {
    kernel::notice::Notice::new("safety-notice-escalate")
        .text("title", title)
        .text("household", household)
        .text("address", address)
        .text("link", link)
}

#[cfg(test)]
mod mail_tests {
    use kernel::i18n::{Catalog, Lang};

    fn catalog() -> Catalog {
        let mut c = Catalog::default();
        c.add(
            include_str!("../../messages/ja.txt"),
            include_str!("../../messages/en.txt"),
        )
        .unwrap();
        c
    }

    #[test]
    fn mails_carry_the_link_and_say_what_they_are() {
        let c = catalog();
        let (s, b) =
            super::answer_mail("震度6弱の地震", "https://machi.example/safety/a/xyz", false).render_in(&c, Lang::Ja);
        assert_eq!(s, "【安否確認】震度6弱の地震");
        assert_eq!(
            b,
            "【安否確認】震度6弱の地震\n\n\
             ご家族の安否を教えてください。ご家族のどなたか1人が、世帯全員の分を回答できます。\n\
             下のリンクを開き、「全員無事」か「助けが必要」を選んでください(ログインは不要です)。\n\n\
             https://machi.example/safety/a/xyz\n\n\
             このリンクは1回だけ使えます。回答を直すときは、machi にログインして回答してください。\n"
        );
        let (s, _) = super::answer_mail("震度6弱の地震", "x", true).render_in(&c, Lang::Ja);
        assert_eq!(s, "【安否確認・再送】震度6弱の地震");
        let (s, b) =
            super::escalation_mail("地震", "田中家", "みどり町一丁目1-1", "https://m/safety/r").render_in(&c, Lang::Ja);
        assert_eq!(s, "【安否確認・要訪問】田中家から回答がありません");
        assert_eq!(
            b,
            "地震\n\n要支援者のいる世帯から、まだ回答がありません。\n世帯: 田中家\n住所: みどり町一丁目1-1\n\n\
             訪問または電話で安否を確かめ、結果を記録してください。\nhttps://m/safety/r\n"
        );
        let (s, b) = super::answer_mail("Earthquake", "https://m/safety/a/xyz", true).render_in(&c, Lang::En);
        assert_eq!(s, "[Safety check, reminder] Earthquake");
        assert!(b.contains("https://m/safety/a/xyz") && b.contains("only once"), "{b}");
    }

    #[test]
    fn every_notice_is_in_both_catalogs() {
        let all = [
            super::answer_mail("t", "l", false),
            super::answer_mail("t", "l", true),
            super::escalation_mail("t", "h", "a", "l"),
        ];
        assert_eq!(kernel::notice::check(&catalog(), &all), Vec::<String>::new());
    }
}
