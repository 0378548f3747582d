//! What My Page says about a person's data, as sentences: who read or changed it
//! (「みどりケアプランセンターの山田さんが、見守りの記録を見ました」) and what they agreed to. Never the
//! internal action codes or ids the audit log and consent records hold.

use std::collections::HashMap;

use serde::Serialize;

use crate::Result;
use crate::i18n::{Lang, has, t};
use crate::model::consent::Consent;
use crate::model::org::Role;
use crate::store::audit::NamedEntry;
use crate::store::{Db, orgs};

/// The catalog key of an audit action's sentence: `audit-` and the action with `.` and `_` as `-`.
pub fn action_key(action: &str) -> String {
    format!("audit-{}", action.replace(['.', '_'], "-"))
}

/// What kind of record an audit resource (`watch/01…`, `person/01…`) is, as a catalog key.
pub fn resource_key(resource: &str) -> &'static str {
    match resource.split(['/', '?', ':']).next().unwrap_or_default() {
        "person" | "people" | "admin" => "audit-thing-person",
        "household" | "households" => "audit-thing-household",
        "watch" => "audit-thing-watch",
        "aid" => "audit-thing-aid",
        "safety" => "audit-thing-safety",
        "alert" => "audit-thing-alert",
        "identifier" => "audit-thing-identifier",
        "membership" | "organisation" => "audit-thing-membership",
        "token" => "audit-thing-token",
        _ => "audit-thing-other",
    }
}

/// One line of the access log as the person reads it.
#[derive(Debug, Clone, Serialize)]
pub struct AccessLine {
    pub at: i64,
    pub sentence: String,
}

/// The sentence for one entry, given who acted in words.
pub fn sentence(lang: Lang, who: &str, action: &str, resource: &str) -> String {
    let key = action_key(action);
    if has(&key) {
        t(lang, &key, &[("who", who.to_string())])
    } else {
        // An action no catalog names yet: what was touched, never the code.
        let what = t(lang, resource_key(resource), &[]);
        t(lang, "audit-generic", &[("who", who.to_string()), ("what", what)])
    }
}

/// The person's access log as sentences, the actor named with their organisation.
pub async fn access_log(db: &Db, lang: Lang, person_id: &str, entries: &[NamedEntry]) -> Result<Vec<AccessLine>> {
    let org_names: HashMap<String, String> = orgs::list(db).await?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut org_of: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let who = match (&e.actor_id, &e.actor_name) {
            (Some(id), _) if id == person_id => t(lang, "audit-who-you", &[]),
            (Some(id), Some(name)) => {
                if !org_of.contains_key(id) {
                    // The organisation they act for: the first that is not merely where they live.
                    let org = orgs::memberships_of(db, id)
                        .await?
                        .into_iter()
                        .find(|m| m.role != Role::Resident)
                        .and_then(|m| org_names.get(&m.organisation_id).cloned());
                    org_of.insert(id.clone(), org);
                }
                match org_of.get(id).cloned().flatten() {
                    Some(org) => t(lang, "audit-who-org", &[("org", org), ("name", name.clone())]),
                    None => t(lang, "audit-who-person", &[("name", name.clone())]),
                }
            }
            (Some(_), None) => t(lang, "audit-who-deleted", &[]),
            (None, _) => t(lang, "audit-who-system", &[]),
        };
        out.push(AccessLine {
            at: e.at,
            sentence: sentence(lang, &who, &e.action, &e.resource),
        });
    }
    Ok(out)
}

/// One consent record in words.
#[derive(Debug, Clone, Serialize)]
pub struct ConsentLine {
    pub id: String,
    pub purpose: String,
    pub scope: String,
    pub granted_at: i64,
    pub withdrawn_at: Option<i64>,
    pub by_guardian: bool,
}

/// What a consent's scope covers, as a catalog key (`email`, `phone`, `watch/01…`).
pub fn scope_key(scope: &str) -> &'static str {
    match scope.split('/').next().unwrap_or_default() {
        "email" => "consent-scope-email",
        "phone" => "consent-scope-phone",
        "watch" => "consent-scope-watch",
        "aid" => "consent-scope-aid",
        "safety" => "consent-scope-safety",
        _ => "consent-scope-other",
    }
}

fn purpose_key(scope: &str) -> Option<&'static str> {
    match scope.split('/').next().unwrap_or_default() {
        "email" => Some("consent-purpose-email"),
        "phone" => Some("consent-purpose-phone"),
        "watch" => Some("consent-purpose-watch"),
        _ => None,
    }
}

pub fn consent_lines(lang: Lang, consents: &[Consent]) -> Vec<ConsentLine> {
    consents
        .iter()
        .map(|c| ConsentLine {
            id: c.id.clone(),
            // Known purposes in the reader's language; a purpose someone wrote stays as written.
            purpose: purpose_key(&c.scope)
                .map(|k| t(lang, k, &[]))
                .unwrap_or_else(|| c.purpose.clone()),
            scope: t(lang, scope_key(&c.scope), &[]),
            granted_at: c.granted_at,
            withdrawn_at: c.withdrawn_at,
            by_guardian: c.by_guardian,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_from_codes() {
        assert_eq!(action_key("safety.follow_up"), "audit-safety-follow-up");
        assert_eq!(resource_key("watch/01M98ABC"), "audit-thing-watch");
        assert_eq!(resource_key("people?area=x"), "audit-thing-person");
        assert_eq!(resource_key("something"), "audit-thing-other");
        assert_eq!(scope_key("watch/01M98"), "consent-scope-watch");
    }

    /// Every action any crate writes to the audit log has a sentence in both languages: the
    /// policy's actions, and the literal action strings found in the sources.
    #[test]
    fn every_audit_action_has_a_sentence() {
        let mut catalog = crate::i18n::Catalog::default();
        catalog.add(crate::i18n::KERNEL_JA, crate::i18n::KERNEL_EN).unwrap();
        let mut actions: Vec<String> = crate::model::policy::Action::ALL
            .iter()
            .map(|a| a.as_str().to_string())
            .collect();
        actions.extend(literal_audit_actions());
        assert!(
            actions.iter().any(|a| a == "watch.read"),
            "the source scan found the modules' actions"
        );
        let missing: Vec<String> = actions
            .iter()
            .map(|a| action_key(a))
            .filter(|k| catalog.text(Lang::Ja, k, &[]) == *k || catalog.text(Lang::En, k, &[]) == *k)
            .collect();
        assert!(missing.is_empty(), "audit actions without a sentence: {missing:?}");
        for k in [
            "audit-generic",
            "audit-who-you",
            "audit-who-org",
            "audit-who-person",
            "audit-who-system",
            "audit-who-deleted",
        ] {
            assert_ne!(catalog.text(Lang::En, k, &[]), k);
        }
    }

    /// Action strings written next to `AuditRecord::new(` or a module's `audit_change(` in any crate.
    fn literal_audit_actions() -> Vec<String> {
        let crates = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut out = Vec::new();
        let mut dirs = vec![crates];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let p = e.path();
                let name = p.file_name().and_then(|n| n.to_str()).unwrap_or_default();
                if p.is_dir() && !matches!(name, "target" | "tests" | "migrations" | "templates" | "messages") {
                    dirs.push(p);
                } else if name.ends_with(".rs") {
                    let src = std::fs::read_to_string(&p).unwrap_or_default();
                    for call in ["AuditRecord::new(", "audit_change("] {
                        for piece in src.split(call).skip(1) {
                            let window: String = piece.chars().take(300).collect();
                            let first = window.split('"').skip(1).step_by(2).find(|lit| {
                                lit.contains('.')
                                    && lit.starts_with(|c: char| c.is_ascii_lowercase())
                                    && !lit.ends_with('.')
                                    && lit.chars().all(|c| c.is_ascii_lowercase() || c == '.' || c == '_')
                            });
                            if let Some(lit) = first {
                                out.push(lit.to_string());
                            }
                        }
                    }
                }
            }
        }
        out.sort();
        out.dedup();
        out
    }
}
