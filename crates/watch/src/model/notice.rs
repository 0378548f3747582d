//! What the watch module tells people: the notices that go out through the outbox, as catalog
//! keys (`watch-notice-*` in `messages/`) rendered in each recipient's language.

use kernel::notice::Notice;

/// A call of the escalation ladder.
pub fn missed_notice(name: &str, reason: &str, welfare_desk: bool, link: &str) -> Notice {
    let what = match reason {
        "daily" => "watch-notice-reason-daily",
        "on_too_long" => "watch-notice-reason-on_too_long",
        _ => "watch-notice-reason-period",
    };
    let who = if welfare_desk {
        "watch-notice-to-desk"
    } else {
        "watch-notice-to-contact"
    };
    Notice::new("watch-notice-missed")
        .text("name", name)
        .phrase("what", what)
        .phrase("who", who)
        .text("link", link)
}

/// The person signalled after all: the call is over.
pub fn resumed_notice(name: &str, link: &str) -> Notice {
    Notice::new("watch-notice-resumed")
        .text("name", name)
        .text("link", link)
}

/// Someone is on their way: the others may stand down.
pub fn visiting_notice(name: &str, visitor: &str, link: &str) -> Notice {
    Notice::new("watch-notice-visiting")
        .text("name", name)
        .text("visitor", visitor)
        .text("link", link)
}

/// The visit's outcome, for the others called.
pub fn outcome_notice(name: &str, visitor: &str, outcome: &str, link: &str) -> Notice {
    let what = match outcome {
        "safe" => "watch-notice-outcome-safe",
        "help" => "watch-notice-outcome-help",
        _ => "watch-notice-outcome-absent",
    };
    Notice::new("watch-notice-outcome")
        .text("name", name)
        .text("visitor", visitor)
        .phrase("what", what)
        .text("link", link)
}

/// A visit was acknowledged but its outcome never recorded: the welfare desk is called.
pub fn stale_visit_notice(name: &str, visitor: &str, link: &str) -> Notice {
    Notice::new("watch-notice-stale")
        .text("name", name)
        .text("visitor", visitor)
        .text("link", link)
}

/// The contact allow-list changed (told to the person and the guardian).
pub fn contacts_notice(name: &str, contact: &str, added: bool, link: &str) -> Notice {
    let key = if added {
        "watch-notice-contact-added"
    } else {
        "watch-notice-contact-removed"
    };
    Notice::new(key)
        .text("name", name)
        .text("contact", contact)
        .text("link", link)
}

/// A message from someone not on the list waits for the guardian.
pub fn held_notice(name: &str, sender: &str, link: &str) -> Notice {
    Notice::new("watch-notice-held")
        .text("name", name)
        .text("sender", sender)
        .text("link", link)
}

/// The person said no to a proposed circle (told to its members).
pub fn declined_notice(name: &str) -> Notice {
    Notice::new("watch-notice-declined").text("name", name)
}

#[cfg(test)]
mod tests {
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

    /// Every notice, in every variant, comes from the catalog in both languages.
    #[test]
    fn every_notice_is_in_both_catalogs() {
        let mut all = vec![
            super::resumed_notice("佐藤", "L"),
            super::visiting_notice("佐藤", "田中", "L"),
            super::stale_visit_notice("佐藤", "田中", "L"),
            super::contacts_notice("佐藤", "田中", true, "L"),
            super::contacts_notice("佐藤", "田中", false, "L"),
            super::held_notice("佐藤", "田中", "L"),
            super::declined_notice("佐藤"),
        ];
        for reason in ["daily", "on_too_long", "period"] {
            for desk in [true, false] {
                all.push(super::missed_notice("佐藤", reason, desk, "L"));
            }
        }
        for o in ["safe", "help", "absent"] {
            all.push(super::outcome_notice("佐藤", "田中", o, "L"));
        }
        assert_eq!(kernel::notice::check(&catalog(), &all), Vec::<String>::new());
    }

    #[test]
    fn japanese_wording_and_english() {
        let c = catalog();
        let n = super::missed_notice("佐藤", "daily", false, "https://m/watch/1");
        assert_eq!(
            n.render_in(&c, Lang::Ja),
            (
                "【見守り】佐藤さん: 今日の「元気です」がまだありません".to_string(),
                "佐藤さんの見守りで、今日の「元気です」がまだありません。\n見守りの輪の連絡先としてお知らせしています。\n\n\
                 様子を見に行ける方は、下のページで「今から訪問します」を押してください。\n\
                 押すと、ほかの方への連絡は止まります。\n\nhttps://m/watch/1\n"
                    .to_string()
            )
        );
        let (subject, body) = n.render_in(&c, Lang::En);
        assert_eq!(subject, "[Watch-over] 佐藤: no \"I'm fine\" yet today");
        assert!(
            body.contains("\"I'm going to visit now\"") && body.ends_with("\n\nhttps://m/watch/1\n"),
            "{body}"
        );
        let (subject, _) = super::contacts_notice("佐藤", "田中", false, "L").render_in(&c, Lang::Ja);
        assert_eq!(subject, "【見守り】佐藤さんの連絡先リストに田中さんを削除しました");
    }
}
