//! Templates (minijinja, embedded at build time) and page rendering. Templates get `t(key)`
//! for catalog text in the viewer's language and `when(ms)` / `day(ms)` for local times as people write them; they never hold
//! user-facing text of their own.

use std::collections::HashSet;
use std::sync::{LazyLock, PoisonError, RwLock};

use axum::response::{Html, IntoResponse, Response};
use minijinja::value::Kwargs;
use minijinja::{Environment, State, Value, context};

use super::Viewer;
use crate::i18n::{Lang, t};
use crate::{Error, Result};

/// Every installed module's templates, and which modules they came from.
struct Templates {
    modules: HashSet<&'static str>,
    env: Environment<'static>,
}

static ENV: LazyLock<RwLock<Templates>> = LazyLock::new(|| {
    let mut env = Environment::new();
    env.set_auto_escape_callback(|_| minijinja::AutoEscape::Html);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
    env.add_function("t", translate);
    env.add_function("when", when);
    env.add_function("day", day);
    RwLock::new(Templates {
        modules: HashSet::new(),
        env,
    })
});

/// The kernel's own templates; modules register theirs through [`crate::Module`].
pub const KERNEL_TEMPLATES: &[(&str, &str)] = &[
    ("layout.html", include_str!("../../templates/layout.html")),
    ("error.html", include_str!("../../templates/error.html")),
    ("home.html", include_str!("../../templates/home.html")),
    ("signup.html", include_str!("../../templates/signup.html")),
    ("login.html", include_str!("../../templates/login.html")),
    ("me.html", include_str!("../../templates/me.html")),
    ("delete.html", include_str!("../../templates/delete.html")),
    ("tokens.html", include_str!("../../templates/tokens.html")),
    ("directory.html", include_str!("../../templates/directory.html")),
    ("admin.html", include_str!("../../templates/admin.html")),
    ("admin_person.html", include_str!("../../templates/admin_person.html")),
    ("terminal.html", include_str!("../../templates/terminal.html")),
];

fn lang_of(state: &State) -> Lang {
    match state.lookup("lang").as_ref().and_then(|v| v.as_str()) {
        Some("en") => Lang::En,
        _ => Lang::Ja,
    }
}

fn translate(state: &State, key: &str, kwargs: Kwargs) -> std::result::Result<String, minijinja::Error> {
    let mut args: Vec<(&str, String)> = Vec::new();
    let names: Vec<&str> = kwargs.args().collect();
    for name in names {
        let v: Value = kwargs.get(name)?;
        args.push((name, v.to_string()));
    }
    Ok(t(lang_of(state), key, &args))
}

/// The current JST year, so that dates of this year are written without it.
pub fn this_year() -> i64 {
    use crate::model::clock::Clock;
    crate::model::clock::jst_year(crate::model::clock::SystemClock.now_ms())
}

/// A time as the viewer writes it (12月8日(火) 午前9時6分); see [`crate::model::clock::human`].
pub fn human_time(lang: Lang, ms: i64) -> String {
    crate::model::clock::human(lang, ms, this_year())
}

/// A date alone as the viewer writes it (12月8日(火)).
pub fn human_date(lang: Lang, ms: i64) -> String {
    crate::model::clock::human_date(lang, ms, this_year())
}

fn when(state: &State, ms: Option<i64>) -> String {
    ms.map(|ms| human_time(lang_of(state), ms)).unwrap_or_default()
}

fn day(state: &State, ms: Option<i64>) -> String {
    ms.map(|ms| human_date(lang_of(state), ms)).unwrap_or_default()
}

/// Add one module's templates, once per module name (another app prepared in the same
/// process, a test's, adds only the modules it brings). A name another module already uses is
/// refused: one module's page must not replace another's.
pub fn install_module(
    module: &'static str,
    templates: &[(&'static str, &'static str)],
) -> std::result::Result<(), String> {
    let mut installed = ENV.write().unwrap_or_else(PoisonError::into_inner);
    if installed.modules.contains(module) {
        return Ok(());
    }
    if let Some((name, _)) = templates
        .iter()
        .find(|(name, _)| installed.env.get_template(name).is_ok())
    {
        return Err(format!("template {name} of {module}: another module has it"));
    }
    // Checked in a scratch environment first, so a broken template leaves nothing half added.
    let mut scratch = Environment::new();
    for (name, src) in templates {
        scratch
            .add_template(name, src)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    for (name, src) in templates {
        installed
            .env
            .add_template(name, src)
            .map_err(|e| format!("template {name}: {e}"))?;
    }
    installed.modules.insert(module);
    Ok(())
}

pub fn render(name: &str, ctx: Value) -> Result<String> {
    let installed = ENV.read().unwrap_or_else(PoisonError::into_inner);
    installed
        .env
        .get_template(name)
        .and_then(|tpl| tpl.render(ctx))
        .map_err(|e| Error::Internal(format!("rendering {name}: {e:#}")))
}

/// Any serialisable value for a template.
pub fn ser<T: serde::Serialize>(v: &T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

/// What every page's layout needs to know about the viewer.
pub fn shell(v: &Viewer, title_key: &str) -> Value {
    let modules: std::collections::BTreeMap<&str, Value> = v.page_context.iter().map(|(k, x)| (*k, ser(x))).collect();
    let base = context! {
        lang => v.lang.code(),
        title_key => title_key,
        large_text => v.large_text,
        csrf => v.csrf.clone(),
        nav => ser(&v.nav()),
        viewer_name => v.person.as_ref().map(|p| p.display_name.clone()),
        logged_in => v.person.is_some(),
        path => v.path.clone(),
    };
    context! { ..base, ..Value::from(modules) }
}

/// Render a full page: the viewer's shell merged with the page's own context.
pub fn page(v: &Viewer, template: &str, title_key: &str, ctx: Value) -> Result<Response> {
    let merged = context! { ..shell(v, title_key), ..ctx };
    Ok(Html(render(template, merged)?).into_response())
}

/// Percent-encode for a query value.
pub fn url_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => out.push(b as char),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A `next=` target is only ever a local path, never another site.
pub fn safe_next(next: Option<&str>) -> String {
    match next {
        // A local path made only of URL-safe characters: no scheme, no `//host`, no control
        // characters or backslashes that browsers would strip or turn into `/`.
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && n.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"/-_.~?&=%+".contains(&b))
                && !n.to_ascii_lowercase().contains("%2f%2f")
                && !n.to_ascii_lowercase().starts_with("/%2f")
                && !n.to_ascii_lowercase().starts_with("/%5c") =>
        {
            n.to_string()
        }
        _ => "/me".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_stays_on_this_site() {
        assert_eq!(safe_next(Some("/me/tokens")), "/me/tokens");
        assert_eq!(safe_next(Some("//evil.example/")), "/me");
        assert_eq!(safe_next(Some("https://evil.example/")), "/me");
        assert_eq!(safe_next(Some("/\t/evil.example")), "/me");
        assert_eq!(safe_next(Some("/\\evil.example")), "/me");
        assert_eq!(safe_next(Some("/me\r\nSet-Cookie: x=1")), "/me");
        assert_eq!(safe_next(Some("/%2F/evil.example")), "/me");
        assert_eq!(
            safe_next(Some("/admin?area=13999-1&after=X")),
            "/admin?area=13999-1&after=X"
        );
        assert_eq!(safe_next(None), "/me");
        assert_eq!(url_encode("/me?a=b"), "/me%3Fa%3Db");
    }
}
