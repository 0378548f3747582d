//! Who is looking at a page, in which language, with which display settings, and what the
//! navigation offers them (decided by the policy, never by the template).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::Serialize;

use super::csrf::CsrfToken;
use crate::i18n::Lang;
use crate::model::person::Person;
use crate::model::policy::{Action, Actor, Policy, Resource, may};
use crate::{Error, Kernel, Result};

pub const SESSION_COOKIE: &str = "machi_session";
pub const LANG_COOKIE: &str = "machi_lang";
pub const LARGE_COOKIE: &str = "machi_large";

#[derive(Debug, Clone)]
pub struct Viewer {
    pub person: Option<Person>,
    pub actor: Actor,
    pub lang: Lang,
    pub large_text: bool,
    pub csrf: String,
    /// Path and query of this request, to come back to after logging in.
    pub path: String,
    /// A session cookie was sent but its session is gone (expired or logged out elsewhere).
    pub session_expired: bool,
    pub session_secret: Option<String>,
    /// What modules add to every page of a logged-in person (the alerts in force for their
    /// area, say), by template variable name: the layout shows it without JavaScript.
    pub page_context: Vec<(&'static str, serde_json::Value)>,
    /// This app's modules' navigation entries (see [`crate::module::Wiring`]).
    pub module_nav: std::sync::Arc<[crate::module::NavEntry]>,
}

/// A module's part of every page for a logged-in person: (template variable, how to compute it).
/// Given the viewer's language, so that what it returns is ready to show whatever the page's own
/// variables are called (a page may name a variable `when`, say).
pub type PageContextFn =
    fn(Kernel, Person, Lang) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<serde_json::Value>> + Send>>;

#[derive(Debug, Clone, Serialize)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

impl Viewer {
    pub fn person_id(&self) -> Option<&str> {
        self.actor.person_id.as_deref()
    }

    /// The logged-in person, or a redirect to the login page that comes back here.
    pub fn require_login(&self) -> Result<&Person> {
        self.person.as_ref().ok_or_else(|| Error::LoginRequired {
            next: self.path.clone(),
            expired: self.session_expired,
        })
    }

    /// Asks whichever policy the action belongs to (the kernel's or a module's).
    pub fn may<A: Policy>(&self, action: A, resource: &A::Resource) -> bool {
        may(&self.actor, action, resource)
    }

    /// Log in required, then the policy; 403 otherwise.
    pub fn require<A: Policy>(&self, action: A, resource: &A::Resource) -> Result<&Person> {
        let p = self.require_login()?;
        if self.may(action, resource) {
            Ok(p)
        } else {
            Err(Error::Forbidden)
        }
    }

    /// A refusal the person can act on (bad input, a clash, a reason to refuse), in their
    /// language, for a form to show next to what they typed; None for anything else.
    pub fn refusal_text(&self, e: &Error) -> Option<String> {
        match e {
            Error::Invalid { key, args } | Error::Conflict { key, args } | Error::Refused { key, args } => {
                let args: Vec<(&str, String)> = args.iter().map(|(k, v)| (*k, v.clone())).collect();
                Some(crate::i18n::t(self.lang, key, &args))
            }
            _ => None,
        }
    }

    /// Every label the navigation can show (for the catalog test).
    pub fn all_nav_labels() -> &'static [&'static str] {
        &[
            "nav-home",
            "nav-directory",
            "nav-me",
            "nav-terminal",
            "nav-admin",
            "nav-login",
            "nav-signup",
        ]
    }

    /// The menu entries that are this person's work rather than everyone's: those a resident
    /// without any role could not open (publishing alerts, following up safety checks, admin).
    pub fn duties(&self) -> Vec<NavItem> {
        let anyone = Actor {
            person_id: self.actor.person_id.clone(),
            household_id: None,
            grants: Vec::new(),
        };
        let mut out: Vec<NavItem> = self
            .module_nav
            .iter()
            .filter(|(_, _, sees)| sees(&self.actor) && !sees(&anyone))
            .map(|(href, label, _)| NavItem {
                href,
                label,
                current: false,
            })
            .collect();
        if self.may(Action::CreatePerson, &Resource::Town) {
            out.push(NavItem {
                href: "/admin",
                label: "nav-admin",
                current: false,
            });
        }
        out
    }

    pub fn nav(&self) -> Vec<NavItem> {
        let mut items = vec![("/", "nav-home"), ("/directory", "nav-directory")];
        if self.person.is_some() {
            // API tokens live under My Page's settings, not in everyone's main menu.
            items.push(("/me", "nav-me"));
            items.push(("/terminal", "nav-terminal"));
        }
        for (href, label, sees) in self.module_nav.iter() {
            if sees(&self.actor) {
                items.push((href, label));
            }
        }
        if self.may(Action::CreatePerson, &Resource::Town) {
            items.push(("/admin", "nav-admin"));
        }
        if self.person.is_none() {
            items.push(("/login", "nav-login"));
            items.push(("/signup", "nav-signup"));
        }
        let path = self.path.split('?').next().unwrap_or("/");
        items
            .into_iter()
            .map(|(href, label)| NavItem {
                href,
                label,
                current: path == href || (href != "/" && path.starts_with(href)),
            })
            .collect()
    }
}

impl FromRequestParts<Kernel> for Viewer {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, k: &Kernel) -> Result<Self, Self::Rejection> {
        if let Some(v) = parts.extensions.get::<Viewer>() {
            return Ok(v.clone());
        }
        let headers = &parts.headers;
        let secret = super::cookie(headers, SESSION_COOKIE).map(str::to_string);
        let lifetime = k.config.session_hours as i64 * 3_600_000;
        let person_id = match &secret {
            Some(s) => crate::store::sessions::person(k, s, lifetime).await?,
            None => None,
        };
        let (person, actor, prefs) = match &person_id {
            Some(id) => {
                let person = crate::store::people::require(&k.db, id).await?;
                let actor = crate::store::accounts::actor_for_person(&k.db, id).await?;
                let large = crate::store::people::large_text(&k.db, id).await?;
                (Some(person), actor, Some(large))
            }
            None => (None, Actor::anonymous(), None),
        };
        let chosen_lang = super::cookie(headers, LANG_COOKIE)
            .map(str::to_string)
            .or_else(|| person.as_ref().and_then(|p| p.language.clone()));
        let lang = match chosen_lang.as_deref() {
            Some("en") => Lang::En,
            Some("ja") => Lang::Ja,
            _ => Lang::from_accept_language(
                headers
                    .get(axum::http::header::ACCEPT_LANGUAGE)
                    .and_then(|v| v.to_str().ok()),
            ),
        };
        let large_text = prefs.unwrap_or(false) || super::cookie(headers, LARGE_COOKIE) == Some("1");
        // Pages only: an event stream, a script's fetch (the browser says `Sec-Fetch-Dest: empty`)
        // or the JSON API never renders the layout, so it need not pay for it.
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let not_a_page = header("accept").is_some_and(|a| a.contains("text/event-stream"))
            || header("sec-fetch-dest").is_some_and(|d| d != "document");
        let wiring = crate::module::wiring(k);
        let mut page_context = Vec::new();
        if let Some(p) = person
            .as_ref()
            .filter(|_| !not_a_page && !parts.uri.path().starts_with("/api/"))
        {
            for (name, f) in &wiring.page_context {
                // A module that cannot say its part must not take every page down with it.
                match f(k.clone(), p.clone(), lang).await {
                    Ok(value) => page_context.push((*name, value)),
                    Err(e) => tracing::error!(error = %e, part = name, "page context failed"),
                }
            }
        }
        let v = Viewer {
            session_expired: secret.is_some() && person.is_none(),
            session_secret: if person.is_some() { secret } else { None },
            page_context,
            module_nav: wiring.nav.clone(),
            person,
            actor,
            lang,
            large_text,
            csrf: parts
                .extensions
                .get::<CsrfToken>()
                .map(|t| t.0.clone())
                .unwrap_or_default(),
            path: parts
                .uri
                .path_and_query()
                .map(|p| p.as_str().to_string())
                .unwrap_or_else(|| "/".into()),
        };
        parts.extensions.insert(v.clone());
        Ok(v)
    }
}
