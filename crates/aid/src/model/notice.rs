//! What the aid module tells people: the notices that go out through the outbox, as catalog
//! keys (`aid-notice-*` in `messages/`) rendered in each recipient's language.

use kernel::notice::Notice;

/// The catalog key naming a kind of help.
fn category_key(category: &str) -> String {
    match category {
        "childcare" | "shopping" | "housework" | "garden" | "moving" | "it_help" | "listening" => {
            format!("aid-category-{category}")
        }
        _ => "aid-category-other".to_string(),
    }
}

pub fn invited(requester: &str, category: &str, link: &str) -> Notice {
    Notice::new("aid-notice-invited")
        .text("requester", requester)
        .phrase("what", category_key(category))
        .text("link", link)
}

pub fn offered(supporter: &str, link: &str) -> Notice {
    Notice::new("aid-notice-offered")
        .text("supporter", supporter)
        .text("link", link)
}

pub fn withdrawn(supporter: &str, link: &str) -> Notice {
    Notice::new("aid-notice-withdrawn")
        .text("supporter", supporter)
        .text("link", link)
}

pub fn accepted(requester: &str, link: &str) -> Notice {
    Notice::new("aid-notice-accepted")
        .text("requester", requester)
        .text("link", link)
}

pub fn fee_proposed(fee: i64, link: &str) -> Notice {
    Notice::new("aid-notice-fee")
        .text("fee", fee.to_string())
        .text("link", link)
}

pub fn coordinator_to_requester(supporter: &str, link: &str) -> Notice {
    Notice::new("aid-notice-introduced")
        .text("supporter", supporter)
        .text("link", link)
}

pub fn coordinator_to_supporter(requester: &str, category: &str, link: &str) -> Notice {
    Notice::new("aid-notice-asked")
        .text("requester", requester)
        .phrase("what", category_key(category))
        .text("link", link)
}

pub fn state_changed(who: &str, state: &str, link: &str) -> Notice {
    let what = match state {
        "done" => "aid-notice-state-done",
        "no_show" => "aid-notice-state-no_show",
        _ => "aid-notice-state-cancelled",
    };
    Notice::new("aid-notice-state")
        .text("who", who)
        .phrase("what", what)
        .text("link", link)
}

pub fn waiting(category: &str, link: &str) -> Notice {
    Notice::new("aid-notice-waiting")
        .phrase("what", category_key(category))
        .text("link", link)
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
            super::offered("田中", "L"),
            super::withdrawn("田中", "L"),
            super::accepted("田中", "L"),
            super::fee_proposed(800, "L"),
            super::coordinator_to_requester("田中", "L"),
        ];
        for c in [
            "childcare",
            "shopping",
            "housework",
            "garden",
            "moving",
            "it_help",
            "listening",
            "x",
        ] {
            all.push(super::invited("田中", c, "L"));
            all.push(super::coordinator_to_supporter("田中", c, "L"));
            all.push(super::waiting(c, "L"));
        }
        for s in ["done", "no_show", "cancelled"] {
            all.push(super::state_changed("田中", s, "L"));
        }
        assert_eq!(kernel::notice::check(&catalog(), &all), Vec::<String>::new());
    }

    #[test]
    fn japanese_and_english_words() {
        let c = catalog();
        let n = super::invited("田中", "shopping", "https://m/aid/requests/1");
        assert_eq!(
            n.render_in(&c, Lang::Ja),
            (
                "【共助】田中さんが「買い物」の手伝いを探しています".to_string(),
                "田中さんから「買い物」の依頼が届きました。引き受けられる場合は、下のページで申し出てください。\n\nhttps://m/aid/requests/1\n"
                    .to_string()
            )
        );
        let (subject, body) = n.render_in(&c, Lang::En);
        assert_eq!(subject, "[Mutual aid] 田中 is looking for help with Shopping");
        assert!(body.ends_with("\n\nhttps://m/aid/requests/1\n"), "{body}");
        let (subject, _) = super::state_changed("田中", "no_show", "L").render_in(&c, Lang::Ja);
        assert_eq!(subject, "【共助】田中さんが来られなかったと記録しました");
    }
}
