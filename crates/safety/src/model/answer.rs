//! An answer: one member answers for the whole household (「全員無事」 or 「助けが必要」) and may
//! set each member's state with a comment. A later answer amends the earlier; the latest counts.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// What the household said as a whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HouseholdStatus {
    /// 全員無事
    Safe,
    /// 助けが必要
    Help,
}

impl HouseholdStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            HouseholdStatus::Safe => "safe",
            HouseholdStatus::Help => "help",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "safe" | "全員無事" | "無事" => Some(HouseholdStatus::Safe),
            "help" | "助けが必要" => Some(HouseholdStatus::Help),
            _ => None,
        }
    }
}

/// One member's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MemberStatus {
    /// 無事
    Safe,
    /// けが
    Injured,
    /// 不明
    Unknown,
    /// 不在 (away from home, e.g. at work)
    Away,
}

impl MemberStatus {
    pub const ALL: [MemberStatus; 4] = [
        MemberStatus::Safe,
        MemberStatus::Injured,
        MemberStatus::Unknown,
        MemberStatus::Away,
    ];
    pub fn as_str(self) -> &'static str {
        match self {
            MemberStatus::Safe => "safe",
            MemberStatus::Injured => "injured",
            MemberStatus::Unknown => "unknown",
            MemberStatus::Away => "away",
        }
    }
    /// The English word or the Japanese one residents see.
    pub fn parse(s: &str) -> Option<Self> {
        match s.trim() {
            "safe" | "無事" => Some(MemberStatus::Safe),
            "injured" | "けが" => Some(MemberStatus::Injured),
            "unknown" | "不明" => Some(MemberStatus::Unknown),
            "away" | "不在" => Some(MemberStatus::Away),
            _ => None,
        }
    }
}

/// An answer as it arrives (API JSON or a form), before checking.
#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AnswerInput {
    /// `safe` (全員無事) or `help` (助けが必要).
    pub status: String,
    #[serde(default)]
    pub members: Vec<MemberInput>,
    #[serde(default)]
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MemberInput {
    pub person_id: String,
    /// `safe` / `injured` / `unknown` / `away` (無事 / けが / 不明 / 不在).
    pub status: String,
    #[serde(default)]
    pub comment: Option<String>,
}

/// A checked answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Answer {
    pub status: HouseholdStatus,
    pub members: Vec<MemberAnswer>,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct MemberAnswer {
    pub person_id: String,
    pub status: MemberStatus,
    pub comment: Option<String>,
}

/// Why an answer was refused: a catalog key and the field it is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invalid {
    pub key: &'static str,
    pub field: String,
}

pub const MAX_COMMENT_CHARS: usize = 500;

fn comment(c: &Option<String>, field: &str) -> Result<Option<String>, Invalid> {
    let c = c.as_deref().map(str::trim).filter(|c| !c.is_empty());
    match c {
        Some(c) if c.chars().count() > MAX_COMMENT_CHARS => Err(Invalid {
            key: "safety-comment-too-long",
            field: field.into(),
        }),
        c => Ok(c.map(str::to_string)),
    }
}

impl AnswerInput {
    /// Check against the household's members: each member named must be one of them, once.
    pub fn check(&self, household_members: &[String]) -> Result<Answer, Invalid> {
        let status = HouseholdStatus::parse(&self.status).ok_or_else(|| Invalid {
            key: "safety-status-invalid",
            field: "status".into(),
        })?;
        let mut members: Vec<MemberAnswer> = Vec::new();
        for (i, m) in self.members.iter().enumerate() {
            let field = format!("members[{i}].status");
            let s = MemberStatus::parse(&m.status).ok_or(Invalid {
                key: "safety-member-status-invalid",
                field,
            })?;
            if !household_members.contains(&m.person_id) || members.iter().any(|x| x.person_id == m.person_id) {
                return Err(Invalid {
                    key: "safety-member-not-in-household",
                    field: format!("members[{i}].person_id"),
                });
            }
            members.push(MemberAnswer {
                person_id: m.person_id.clone(),
                status: s,
                comment: comment(&m.comment, &format!("members[{i}].comment"))?,
            });
        }
        Ok(Answer {
            status,
            members,
            comment: comment(&self.comment, "comment")?,
        })
    }
}

/// Why 「全員無事」 cannot be recorded as it was pressed: someone is marked hurt or missing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// A member is marked けが.
    Injured,
    /// A member is marked 不明 (and nobody けが).
    Unknown,
}

impl Doubt {
    /// The catalog key of the question asked.
    pub fn key(self) -> &'static str {
        match self {
            Doubt::Injured => "safety-confirm-injured",
            Doubt::Unknown => "safety-confirm-unknown",
        }
    }
}

impl Answer {
    /// 「全員無事」 pressed while a member is marked けが or 不明 contradicts itself: the person is
    /// asked whether to send 「助けが必要」 instead of it being recorded so silently.
    pub fn doubt(&self) -> Option<Doubt> {
        if self.status != HouseholdStatus::Safe {
            return None;
        }
        if self.members.iter().any(|m| m.status == MemberStatus::Injured) {
            Some(Doubt::Injured)
        } else if self.members.iter().any(|m| m.status == MemberStatus::Unknown) {
            Some(Doubt::Unknown)
        } else {
            None
        }
    }

    /// What the tally counts: 「助けが必要」, or any member hurt or unaccounted for.
    pub fn effective(&self) -> HouseholdStatus {
        let worrying = self
            .members
            .iter()
            .any(|m| matches!(m.status, MemberStatus::Injured | MemberStatus::Unknown));
        if worrying { HouseholdStatus::Help } else { self.status }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn members() -> Vec<String> {
        vec!["p1".into(), "p2".into()]
    }

    #[test]
    fn a_member_hurt_means_help_whatever_was_pressed() {
        let input = AnswerInput {
            status: "safe".into(),
            members: vec![
                MemberInput {
                    person_id: "p1".into(),
                    status: "無事".into(),
                    comment: None,
                },
                MemberInput {
                    person_id: "p2".into(),
                    status: "injured".into(),
                    comment: Some(" 足を切った ".into()),
                },
            ],
            comment: None,
        };
        let a = input.check(&members()).unwrap();
        assert_eq!(a.status, HouseholdStatus::Safe);
        assert_eq!(a.effective(), HouseholdStatus::Help);
        assert_eq!(a.members[1].comment.as_deref(), Some("足を切った"));
        let away = AnswerInput {
            status: "safe".into(),
            members: vec![MemberInput {
                person_id: "p2".into(),
                status: "不在".into(),
                comment: None,
            }],
            comment: None,
        };
        assert_eq!(away.check(&members()).unwrap().effective(), HouseholdStatus::Safe);
    }

    #[test]
    fn all_safe_with_someone_hurt_or_missing_is_asked_about_first() {
        let answer = |status: HouseholdStatus, states: &[MemberStatus]| Answer {
            status,
            members: states
                .iter()
                .enumerate()
                .map(|(i, s)| MemberAnswer {
                    person_id: format!("p{i}"),
                    status: *s,
                    comment: None,
                })
                .collect(),
            comment: None,
        };
        use HouseholdStatus::{Help, Safe};
        use MemberStatus::{Away, Injured, Unknown};
        assert_eq!(
            answer(Safe, &[MemberStatus::Safe, Injured]).doubt(),
            Some(Doubt::Injured)
        );
        assert_eq!(
            answer(Safe, &[Unknown, Injured]).doubt(),
            Some(Doubt::Injured),
            "hurt is said first"
        );
        assert_eq!(answer(Safe, &[Unknown]).doubt(), Some(Doubt::Unknown));
        assert_eq!(answer(Safe, &[Away, MemberStatus::Safe]).doubt(), None);
        assert_eq!(answer(Safe, &[]).doubt(), None);
        assert_eq!(
            answer(Help, &[Injured]).doubt(),
            None,
            "「助けが必要」 needs no question"
        );
        assert_eq!(Doubt::Injured.key(), "safety-confirm-injured");
    }

    #[test]
    fn bad_answers_name_the_field() {
        let bad = AnswerInput {
            status: "maybe".into(),
            ..Default::default()
        };
        assert_eq!(bad.check(&members()).unwrap_err().field, "status");
        let bad = AnswerInput {
            status: "help".into(),
            members: vec![
                MemberInput {
                    person_id: "p1".into(),
                    status: "safe".into(),
                    comment: None,
                },
                MemberInput {
                    person_id: "p2".into(),
                    status: "sleepy".into(),
                    comment: None,
                },
            ],
            comment: None,
        };
        let e = bad.check(&members()).unwrap_err();
        assert_eq!(
            (e.key, e.field.as_str()),
            ("safety-member-status-invalid", "members[1].status")
        );
        let stranger = AnswerInput {
            status: "safe".into(),
            members: vec![MemberInput {
                person_id: "p9".into(),
                status: "safe".into(),
                comment: None,
            }],
            comment: None,
        };
        assert_eq!(
            stranger.check(&members()).unwrap_err().key,
            "safety-member-not-in-household"
        );
        let long = AnswerInput {
            status: "safe".into(),
            comment: Some("あ".repeat(MAX_COMMENT_CHARS + 1)),
            ..Default::default()
        };
        assert_eq!(long.check(&members()).unwrap_err().field, "comment");
    }

    proptest! {
        #[test]
        fn only_the_four_member_states_are_accepted(s in "\\PC{0,12}") {
            let parsed = MemberStatus::parse(&s);
            let known = ["safe", "injured", "unknown", "away", "無事", "けが", "不明", "不在"];
            prop_assert_eq!(parsed.is_some(), known.contains(&s.trim()));
            if let Some(m) = parsed {
                prop_assert_eq!(MemberStatus::parse(m.as_str()), Some(m));
            }
        }
    }
}
