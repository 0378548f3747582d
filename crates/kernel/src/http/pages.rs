//! The kernel's HTML pages: home, sign up, log in and out, my page (profile, household,
//! consents, my data export, who read my data, settings, password, account deletion), API
//! tokens, the public directory, admin pages, and the in-home terminal. Handlers are thin:
//! form → policy → store → page or redirect. Forms work without JavaScript.

use std::collections::HashMap;
use std::net::SocketAddr;

use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use minijinja::context;
use serde::Deserialize;

use crate::i18n::t;
use crate::model::audit::AuditRecord;
use crate::model::consent::ConsentInput;
use crate::model::identifier::IdentifierInput;
use crate::model::org::{OrgKind, OrganisationInput, Role};
use crate::model::person::PersonInput;
use crate::model::policy::{Action, Resource};
use crate::store::{self, accounts, audit};
use crate::web::render::{safe_next, ser};
use crate::web::viewer::{LANG_COOKIE, LARGE_COOKIE, SESSION_COOKIE};
use crate::web::{Viewer, limiter, page, set_cookie};
use crate::{Error, Kernel, Result, service};

pub fn router() -> Router<Kernel> {
    Router::new()
        .route("/", get(home))
        .route("/signup", get(signup_form).post(signup))
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/settings", post(settings))
        .route("/me", get(my_page))
        .route("/me/profile", post(save_profile))
        .route("/me/password", post(change_password))
        .route("/me/consents/{id}/withdraw", post(withdraw_consent))
        .route("/me/export", get(export_my_data))
        .route("/me/delete", get(delete_form).post(delete_account))
        .route("/me/tokens", get(tokens_page).post(create_token))
        .route("/me/tokens/{id}/revoke", post(revoke_token))
        .route("/directory", get(directory))
        .route("/admin", get(admin))
        .route("/admin/organisations", post(admin_create_organisation))
        .route("/admin/people/{id}", get(admin_person))
        .route("/admin/people/{id}/roles", post(admin_grant_role))
        .route("/admin/people/{id}/roles/{membership}/revoke", post(admin_revoke_role))
        .route("/admin/people/{id}/identifiers", post(admin_link_identifier))
        .route("/admin/people/{id}/identifiers/remove", post(admin_unlink_identifier))
        .route("/terminal", get(terminal))
        .route("/static/{name}", get(crate::web::assets::serve))
        .route("/favicon.ico", get(crate::web::assets::favicon))
        .merge(super::residence::pages())
}

/// Text in the viewer's language.
fn tr(v: &Viewer, key: &str) -> String {
    t(v.lang, key, &[])
}

fn see_other(to: &str) -> Response {
    Redirect::to(to).into_response()
}

fn with_cookie(mut res: Response, cookie: HeaderValue) -> Response {
    res.headers_mut().append(header::SET_COOKIE, cookie);
    res
}

fn secure(k: &Kernel) -> bool {
    k.config.secure_cookies()
}

/// Form errors: field name → message, shown next to the field and in a summary at the top.
type FieldErrors = Vec<(&'static str, String)>;

fn errors_value(errors: &FieldErrors) -> minijinja::Value {
    let map: HashMap<&str, &String> = errors.iter().map(|(f, m)| (*f, m)).collect();
    ser(&map)
}

// ---- home ----

#[derive(Deserialize, Default)]
struct Notice {
    notice: Option<String>,
}

async fn home(State(k): State<Kernel>, v: Viewer, Query(q): Query<Notice>) -> Result<Response> {
    let is_admin = v.may(Action::CreatePerson, &Resource::Town);
    let (reach, waiting) = match &v.person {
        Some(p) => {
            let viewer = crate::module::HomeViewer {
                person_id: p.id.clone(),
                household_id: v.actor.household_id.clone(),
                area_id: p.area_id.clone(),
                lang: v.lang,
                actor: v.actor.clone(),
            };
            (
                Some(store::residence::reach(&k.db, p).await?),
                crate::module::home_cards(&k, viewer).await,
            )
        }
        None => (None, Vec::new()),
    };
    page(
        &v,
        "home.html",
        "home-title",
        context! { notice => notice_key(q.notice.as_deref()), is_admin, reach => ser(&reach), duties => ser(&v.duties()),
        waiting => ser(&waiting) },
    )
}

/// Only known notice keys are shown (a query parameter never injects text).
fn notice_key(n: Option<&str>) -> Option<&'static str> {
    match n? {
        "deleted" => Some("notice-account-deleted"),
        "logged-out" => Some("notice-logged-out"),
        "saved" => Some("notice-saved"),
        "password" => Some("notice-password-changed"),
        "password-tokens" => Some("notice-password-changed-tokens"),
        "withdrawn" => Some("notice-consent-withdrawn"),
        "role" => Some("notice-role-granted"),
        "revoked" => Some("notice-revoked"),
        "identifier" => Some("notice-identifier-linked"),
        "created" => Some("notice-created"),
        "area-set" => Some("notice-area-set"),
        "household-joined" => Some("notice-household-joined"),
        "household-created" => Some("notice-household-created"),
        "contact-saved" => Some("notice-contact-saved"),
        _ => None,
    }
}

// ---- sign up ----

#[derive(Deserialize, Default)]
struct SignupForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    email: String,
    #[serde(default)]
    email_consent: Option<String>,
    #[serde(default)]
    phone: String,
    #[serde(default)]
    phone_consent: Option<String>,
}

async fn signup_form(v: Viewer) -> Result<Response> {
    if v.person.is_some() {
        return Ok(see_other("/me"));
    }
    render_signup(&v, &SignupForm::default(), &Vec::new(), StatusCode::OK)
}

fn render_signup(v: &Viewer, f: &SignupForm, errors: &FieldErrors, status: StatusCode) -> Result<Response> {
    let ctx = context! {
        form => context! { display_name => f.display_name.clone(), login => f.login.clone(), email => f.email.clone(), phone => f.phone.clone(),
                           email_consent => f.email_consent.is_some(), phone_consent => f.phone_consent.is_some() },
        errors => errors_value(errors),
        error_list => errors.iter().map(|(_, m)| m.clone()).collect::<Vec<_>>(),
    };
    let mut res = page(v, "signup.html", "signup-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn signup(State(k): State<Kernel>, v: Viewer, Form(f): Form<SignupForm>) -> Result<Response> {
    let mut errors: FieldErrors = Vec::new();
    let login = f.login.trim().to_lowercase();
    let person_input = PersonInput {
        display_name: f.display_name.clone(),
        email: Some(f.email.clone()),
        phone: Some(f.phone.clone()),
        language: Some(v.lang.code().to_string()),
        ..Default::default()
    };
    let person_input = match person_input.validate() {
        Ok(p) => Some(p),
        Err(e) => {
            let field = if e.message_key() == "person-email-invalid" {
                "email"
            } else {
                "display_name"
            };
            errors.push((field, tr(&v, e.message_key())));
            None
        }
    };
    if let Some(key) = accounts::login_problem(&login) {
        errors.push(("login", tr(&v, key)));
    } else if accounts::person_by_login(&k.db, &login).await?.is_some() {
        errors.push(("login", tr(&v, "login-taken")));
    }
    if let Some(key) = accounts::password_problem(&f.password) {
        errors.push(("password", tr(&v, key)));
    }
    if !f.email.trim().is_empty() && f.email_consent.is_none() {
        errors.push(("email", tr(&v, "consent-needed-email")));
    }
    if !f.phone.trim().is_empty() && f.phone_consent.is_none() {
        errors.push(("phone", tr(&v, "consent-needed-phone")));
    }
    let Some(input) = person_input.filter(|_| errors.is_empty()) else {
        return render_signup(&v, &f, &errors, StatusCode::BAD_REQUEST);
    };
    let hash = accounts::hash_password(f.password.clone()).await?;
    // The person, their account, consents and the entry recording the sign-up commit together.
    let mut tx = k.db.begin().await?;
    let person = store::people::create_in(&mut tx, &k, input).await?;
    if let Err(e) = accounts::create_account_in(&mut tx, &k, &person.id, &login, &hash).await {
        // Two sign-ups raced for the same login: the second learns it is taken (and its
        // transaction, dropped, leaves nothing behind).
        if matches!(&e, Error::Database(d) if Error::is_unique_violation(d)) {
            drop(tx);
            errors.push(("login", tr(&v, "login-taken")));
            return render_signup(&v, &f, &errors, StatusCode::CONFLICT);
        }
        return Err(e);
    }
    for (given, purpose_key, scope) in [
        (&person.email, "consent-purpose-email", "email"),
        (&person.phone, "consent-purpose-phone", "phone"),
    ] {
        if given.is_some() {
            let input = ConsentInput {
                purpose: t(crate::i18n::Lang::Ja, purpose_key, &[]),
                scope: scope.to_string(),
            };
            store::consents::grant_in(&mut tx, &k, &person.id, &person.id, input).await?;
        }
    }
    audit::append_in(
        &mut tx,
        k.now(),
        vec![AuditRecord::new(
            Some(&person.id),
            "account.create",
            format!("person/{}", person.id),
        )],
    )
    .await?;
    tx.commit().await?;
    start_session(&k, &person.id, "/me?notice=created").await
}

async fn start_session(k: &Kernel, person_id: &str, to: &str) -> Result<Response> {
    let lifetime_secs = k.config.session_hours as i64 * 3600;
    let secret = store::sessions::create(k, person_id, lifetime_secs * 1000).await?;
    Ok(with_cookie(
        see_other(to),
        // No Max-Age: the server ends the session after `session_hours` without use, and
        // extends it while it is used; the browser keeps the cookie until it closes.
        set_cookie(SESSION_COOKIE, &secret, None, secure(k)),
    ))
}

// ---- log in and out ----

#[derive(Deserialize, Default)]
struct LoginQuery {
    next: Option<String>,
    expired: Option<String>,
}

#[derive(Deserialize, Default)]
struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

async fn login_form(v: Viewer, Query(q): Query<LoginQuery>) -> Result<Response> {
    if v.person.is_some() {
        return Ok(see_other(&safe_next(q.next.as_deref())));
    }
    let notice = q.expired.is_some().then(|| tr(&v, "session-expired"));
    render_login(&v, "", q.next.as_deref(), notice, None, StatusCode::OK)
}

fn render_login(
    v: &Viewer,
    login: &str,
    next: Option<&str>,
    notice: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> Result<Response> {
    let ctx = context! { login => login, next => safe_next(next), notice => notice, error => error };
    let mut res = page(v, "login.html", "login-title", ctx)?;
    *res.status_mut() = status;
    Ok(res)
}

async fn login(
    State(k): State<Kernel>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    v: Viewer,
    Form(f): Form<LoginForm>,
) -> Result<Response> {
    let login = f.login.trim().to_lowercase();
    let keys = vec![format!("acct:{login}"), format!("ip:{}", addr.ip())];
    let now = k.now();
    if let Err(wait) = limiter::attempt(&k.db, &keys, now).await? {
        let msg = t(
            v.lang,
            "too-many-attempts",
            &[("minutes", ((wait + 59) / 60).to_string())],
        );
        let mut res = render_login(
            &v,
            &login,
            f.next.as_deref(),
            None,
            Some(msg),
            StatusCode::TOO_MANY_REQUESTS,
        )?;
        res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(wait));
        return Ok(res);
    }
    let stored = accounts::password_hash_of(&k.db, &login).await?;
    let (person, hash) = match stored {
        Some((p, h)) => (Some(p), h),
        None => (None, accounts::dummy_hash().await.to_string()),
    };
    let ok = accounts::verify_password(f.password.clone(), hash).await;
    match person.filter(|_| ok) {
        Some(person_id) => {
            limiter::succeeded(&k.db, &keys, now).await?;
            // A login changes no personal data (only the session, not on the record): its
            // entry commits alone, before the session starts.
            service::record_alone(
                &k,
                vec![AuditRecord::new(
                    Some(&person_id),
                    "account.login",
                    format!("person/{person_id}"),
                )],
            )
            .await?;
            start_session(&k, &person_id, &safe_next(f.next.as_deref())).await
        }
        None => {
            // One message whether the login exists or not.
            let msg = tr(&v, "login-failed");
            render_login(&v, &login, f.next.as_deref(), None, Some(msg), StatusCode::UNAUTHORIZED)
        }
    }
}

async fn logout(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    if let Some(secret) = &v.session_secret {
        store::sessions::end(&k.db, secret).await?;
    }
    Ok(with_cookie(
        see_other("/?notice=logged-out"),
        set_cookie(SESSION_COOKIE, "", Some(0), secure(&k)),
    ))
}

// ---- settings: language and large text, for anyone ----

#[derive(Deserialize, Default)]
struct SettingsForm {
    lang: Option<String>,
    large_text: Option<String>,
    back: Option<String>,
}

async fn settings(State(k): State<Kernel>, v: Viewer, Form(f): Form<SettingsForm>) -> Result<Response> {
    let lang = match f.lang.as_deref() {
        Some("en") => "en",
        Some("ja") => "ja",
        _ => v.lang.code(),
    };
    let large = match f.large_text.as_deref() {
        Some("1") => true,
        Some("0") => false,
        _ => v.large_text,
    };
    if let Some(p) = &v.person {
        store::people::set_prefs(&k.db, &p.id, Some(lang), large).await?;
    }
    let year = Some(365 * 24 * 3600);
    let res = see_other(&safe_next(f.back.as_deref()));
    let res = with_cookie(res, set_cookie(LANG_COOKIE, lang, year, secure(&k)));
    Ok(with_cookie(
        res,
        set_cookie(LARGE_COOKIE, if large { "1" } else { "0" }, year, secure(&k)),
    ))
}

// ---- my page ----

#[derive(Deserialize, Default)]
struct MeQuery {
    notice: Option<String>,
    /// A 町丁目 chosen on the map, to confirm.
    area: Option<String>,
}

async fn my_page(State(k): State<Kernel>, v: Viewer, Query(q): Query<MeQuery>) -> Result<Response> {
    v.require_login()?;
    let confirm = match q.area.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => store::areas::get(&k.db, a).await?,
        None => None,
    };
    let form = MeForm {
        section: confirm.as_ref().map(|_| "address"),
        confirm,
        ..Default::default()
    };
    render_me(&k, &v, notice_key(q.notice.as_deref()), form, StatusCode::OK).await
}

/// What a My Page form leaves to show: its refusal next to it, what was typed, the 町丁目 that
/// fit an address, the 町丁目 chosen on the map to confirm.
#[derive(Default)]
pub(crate) struct MeForm {
    pub section: Option<&'static str>,
    pub error: Option<String>,
    pub address_text: String,
    pub candidates: Vec<crate::model::area::Area>,
    pub confirm: Option<crate::model::area::Area>,
    pub household_code: String,
    pub household_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
}

pub(crate) async fn render_me(
    k: &Kernel,
    v: &Viewer,
    notice: Option<&'static str>,
    form: MeForm,
    status: StatusCode,
) -> Result<Response> {
    let person = v.require_login()?.clone();
    let household = match store::people::household_of(&k.db, &person.id).await? {
        Some(h) => Some(store::households::with_members(&k.db, &h).await?),
        None => None,
    };
    let join_code = match &household {
        Some(h) if h.household.representative_id.as_deref() == Some(person.id.as_str()) => {
            Some(store::residence::join_code(k, &h.household.id).await?)
        }
        _ => None,
    };
    let consents = store::consents::of_person(&k.db, &person.id).await?;
    let entries = audit::about_person_named(&k.db, &person.id, 200).await?;
    let access = crate::web::sentences::access_log(&k.db, v.lang, &person.id, &entries).await?;
    let memberships = store::orgs::memberships_of(&k.db, &person.id).await?;
    let orgs: HashMap<String, String> = store::orgs::list(&k.db)
        .await?
        .into_iter()
        .map(|o| (o.id, o.name))
        .collect();
    let roles: Vec<_> = memberships
        .iter()
        .map(|m| context! { role => m.role.as_str(), organisation => orgs.get(&m.organisation_id).cloned().unwrap_or_default() })
        .collect();
    let all_areas = store::areas::list(&k.db).await?;
    let area = person
        .area_id
        .as_ref()
        .and_then(|a| all_areas.iter().find(|x| &x.id == a))
        .map(|a| a.name.clone());
    let reach = store::residence::reach(&k.db, &person).await?;
    // The 町丁目 grouped by district, for the list; their shapes, for the map.
    let districts: Vec<_> = all_areas
        .iter()
        .filter(|d| d.level == crate::model::area::AreaLevel::District)
        .map(|d| {
            let chome: Vec<_> = all_areas
                .iter()
                .filter(|c| c.parent_id.as_deref() == Some(d.id.as_str()))
                .map(|c| context! { id => c.id.clone(), name => c.name.clone() })
                .collect();
            context! { name => d.name.clone(), chome }
        })
        .collect();
    let shapes: Vec<_> = all_areas
        .iter()
        .filter(|a| a.level == crate::model::area::AreaLevel::Chome)
        .filter_map(|a| {
            let shape = crate::model::geometry::parse_geometry(&a.geometry).ok()?;
            Some((a.id.clone(), a.code.clone(), a.name.clone(), shape))
        })
        .collect();
    let (map, map_height) = crate::model::residence::map_shapes(&shapes);
    let login = accounts::login_of(&k.db, &person.id).await?;
    let candidates: Vec<_> = form
        .candidates
        .iter()
        .map(|a| context! { id => a.id.clone(), name => a.name.clone() })
        .collect();
    let household_name = form.household_name.clone().unwrap_or_else(|| {
        t(
            v.lang,
            "household-default-name",
            &[("name", person.display_name.clone())],
        )
    });
    let mut res = page(
        v,
        "me.html",
        "me-title",
        context! { person => ser(&person), household => ser(&household), join_code,
        consents => ser(&crate::web::sentences::consent_lines(v.lang, &consents)), access => ser(&access),
        roles, area, area_id => person.area_id.clone(), login, notice, reach => ser(&reach), districts,
        map => ser(&map), map_width => crate::model::residence::MAP_WIDTH, map_height,
        form => context! { section => form.section, error => form.error, address_text => form.address_text, candidates,
            confirm => form.confirm.as_ref().map(|a| context! { id => a.id.clone(), name => a.name.clone() }),
            household_code => form.household_code, household_name,
            email => form.email.clone().or(person.email.clone()), phone => form.phone.clone().or(person.phone.clone()) } },
    )?;
    *res.status_mut() = status;
    Ok(res)
}

#[derive(Deserialize, Default)]
struct ProfileForm {
    #[serde(default)]
    display_name: String,
    #[serde(default)]
    kana: String,
    #[serde(default)]
    birth_date: String,
    #[serde(default)]
    address: String,
}

async fn save_profile(State(k): State<Kernel>, v: Viewer, Form(f): Form<ProfileForm>) -> Result<Response> {
    let person = v.require_login()?.clone();
    // Contact fields keep their consented values; this form edits name, kana, birth date, address.
    let input = PersonInput {
        display_name: f.display_name,
        kana: Some(f.kana),
        birth_date: Some(f.birth_date),
        address: Some(f.address),
        email: person.email.clone(),
        phone: person.phone.clone(),
        language: person.language.clone(),
        area_id: person.area_id.clone(),
        needs_support: person.needs_support,
    };
    store::people::update(&k, &person.id, input).await?;
    Ok(see_other("/me?notice=saved"))
}

#[derive(Deserialize, Default)]
struct PasswordForm {
    #[serde(default)]
    current: String,
    #[serde(default)]
    new_password: String,
    /// "yes": revoke every API token too (a password thought stolen may have made some).
    #[serde(default)]
    revoke_tokens: Option<String>,
}

async fn change_password(State(k): State<Kernel>, v: Viewer, Form(f): Form<PasswordForm>) -> Result<Response> {
    let person = v.require_login()?.clone();
    let login = accounts::login_of(&k.db, &person.id).await?.ok_or(Error::Forbidden)?;
    let (_, hash) = accounts::password_hash_of(&k.db, &login)
        .await?
        .ok_or(Error::Forbidden)?;
    let keys = vec![format!("acct:{login}")];
    let now = k.now();
    limiter::attempt(&k.db, &keys, now)
        .await?
        .map_err(|retry_after_secs| Error::TooManyAttempts { retry_after_secs })?;
    if !accounts::verify_password(f.current, hash).await {
        return Err(Error::invalid("password-current-wrong"));
    }
    limiter::succeeded(&k.db, &keys, now).await?;
    if let Some(key) = accounts::password_problem(&f.new_password) {
        return Err(Error::invalid(key));
    }
    let hash = accounts::hash_password(f.new_password).await?;
    // Other devices' sessions end (this one starts afresh), with the entry recording it.
    let revoke = f.revoke_tokens.as_deref() == Some("yes");
    service::change_password(&k, &person.id, &hash, revoke).await?;
    let next = if revoke {
        "/me?notice=password-tokens"
    } else {
        "/me?notice=password"
    };
    start_session(&k, &person.id, next).await
}

async fn withdraw_consent(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    let person = v.require_login()?.clone();
    store::consents::withdraw(&k, &person.id, &id).await?;
    Ok(see_other("/me?notice=withdrawn"))
}

async fn export_my_data(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    let person = v.require_login()?.clone();
    let household = match &v.actor.household_id {
        Some(h) => Some(store::households::with_members(&k.db, h).await?),
        None => None,
    };
    let doc = serde_json::json!({
        "exported_at": crate::model::clock::to_rfc3339_jst(k.now()),
        "person": person,
        "login": accounts::login_of(&k.db, &person.id).await?,
        "household": household,
        "memberships": store::orgs::memberships_of(&k.db, &person.id).await?,
        "linked_identifiers": store::identifiers::of_person(&k.db, &person.id).await?,
        "consents": store::consents::of_person(&k.db, &person.id).await?,
        "api_tokens": accounts::tokens_of(&k.db, &person.id).await?,
        "access_log": audit::about_person(&k.db, &person.id, 10_000).await?,
    });
    let body = serde_json::to_string_pretty(&doc).map_err(|e| Error::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, "application/json; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"machi-my-data.json\"",
            ),
        ],
        body,
    )
        .into_response())
}

async fn delete_form(v: Viewer) -> Result<Response> {
    v.require_login()?;
    page(&v, "delete.html", "delete-title", context! {})
}

#[derive(Deserialize, Default)]
struct DeleteForm {
    confirm: Option<String>,
}

async fn delete_account(State(k): State<Kernel>, v: Viewer, Form(f): Form<DeleteForm>) -> Result<Response> {
    let person = v.require_login()?.clone();
    if f.confirm.as_deref() != Some("yes") {
        return Err(Error::invalid("delete-confirm-needed"));
    }
    let mut tx = k.db.begin().await?;
    store::people::delete_personal_in(&mut tx, &k, &person.id).await?;
    audit::append_in(
        &mut tx,
        k.now(),
        vec![AuditRecord::new(
            Some(&person.id),
            "account.delete",
            format!("person/{}", person.id),
        )],
    )
    .await?;
    tx.commit().await?;
    Ok(with_cookie(
        see_other("/?notice=deleted"),
        set_cookie(SESSION_COOKIE, "", Some(0), secure(&k)),
    ))
}

// ---- API tokens ----

async fn tokens_page(State(k): State<Kernel>, v: Viewer, Query(q): Query<Notice>) -> Result<Response> {
    let person = v.require_login()?.clone();
    let tokens = accounts::tokens_of(&k.db, &person.id).await?;
    page(
        &v,
        "tokens.html",
        "tokens-title",
        context! { tokens => ser(&tokens), secret => None::<String>, notice => notice_key(q.notice.as_deref()) },
    )
}

#[derive(Deserialize, Default)]
struct TokenForm {
    #[serde(default)]
    name: String,
}

async fn create_token(State(k): State<Kernel>, v: Viewer, Form(f): Form<TokenForm>) -> Result<Response> {
    let person = v.require_login()?.clone();
    let (token, secret) = service::create_token(&k, Some(&person.id), &person.id, &f.name).await?;
    service::record_alone(
        &k,
        vec![AuditRecord::new(
            Some(&person.id),
            "token.create",
            format!("token/{}", token.id),
        )],
    )
    .await?;
    let tokens = accounts::tokens_of(&k.db, &person.id).await?;
    // Shown once, in this response only; never stored in clear.
    let mut res = page(
        &v,
        "tokens.html",
        "tokens-title",
        context! { tokens => ser(&tokens), secret, created_name => token.name, notice => None::<&str> },
    )?;
    res.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

async fn revoke_token(State(k): State<Kernel>, v: Viewer, Path(id): Path<String>) -> Result<Response> {
    let person = v.require_login()?.clone();
    service::revoke_token(&k, &person.id, &id).await?;
    Ok(see_other("/me/tokens?notice=revoked"))
}

// ---- the public directory ----

async fn directory(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    let orgs = store::orgs::list(&k.db).await?;
    let areas = store::areas::list(&k.db).await?;
    let names: HashMap<&str, &str> = areas.iter().map(|a| (a.id.as_str(), a.name.as_str())).collect();
    let org_rows: Vec<_> = orgs
        .iter()
        .map(|o| context! { name => o.name.clone(), kind => o.kind.as_str(), area => o.area_id.as_deref().and_then(|a| names.get(a).copied()) })
        .collect();
    let area_rows: Vec<_> = areas
        .iter()
        .map(|a| context! { name => a.name.clone(), kana => a.kana.clone(), code => a.code.clone(), level => a.level.as_str(),
                            parent => a.parent_id.as_deref().and_then(|p| names.get(p).copied()) })
        .collect();
    page(
        &v,
        "directory.html",
        "directory-title",
        context! { orgs => org_rows, areas => area_rows },
    )
}

// ---- admin ----

#[derive(Deserialize, Default)]
struct AdminQuery {
    area: Option<String>,
    after: Option<String>,
    notice: Option<String>,
}

async fn admin(State(k): State<Kernel>, v: Viewer, Query(q): Query<AdminQuery>) -> Result<Response> {
    v.require(Action::CreatePerson, &Resource::Town)?;
    let area = match q.area.as_deref().filter(|a| !a.is_empty()) {
        Some(a) => Some(store::areas::require(&k.db, a).await?),
        None => None,
    };
    let people = store::people::list(&k.db, area.as_ref().map(|a| a.id.as_str()), q.after.as_deref(), 50).await?;
    let records = people
        .iter()
        .map(|p| AuditRecord::new(v.person_id(), Action::ListPeople.as_str(), "admin/people").subject(&p.id))
        .collect();
    service::record_alone(&k, records).await?;
    let next_after = (people.len() == 50)
        .then(|| people.last().map(|p| p.id.clone()))
        .flatten();
    let areas = store::areas::list(&k.db).await?;
    let orgs = store::orgs::list(&k.db).await?;
    let kinds: Vec<&str> = OrgKind::ALL.iter().map(|k| k.as_str()).collect();
    page(
        &v,
        "admin.html",
        "admin-title",
        context! { people => ser(&people), areas => ser(&areas), orgs => ser(&orgs), kinds, area => q.area, next_after,
        notice => notice_key(q.notice.as_deref()) },
    )
}

#[derive(Deserialize, Default)]
struct OrgForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    name: String,
}

async fn admin_create_organisation(State(k): State<Kernel>, v: Viewer, Form(f): Form<OrgForm>) -> Result<Response> {
    v.require(Action::ManageOrganisations, &Resource::Town)?;
    service::create_organisation(
        &k,
        &v.actor,
        OrganisationInput {
            kind: f.kind,
            name: f.name,
            area_id: None,
            duties: vec![],
        },
    )
    .await?;
    Ok(see_other("/admin?notice=created"))
}

async fn admin_person(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Query(q): Query<Notice>,
) -> Result<Response> {
    v.require(Action::CreatePerson, &Resource::Town)?;
    let person = store::people::require(&k.db, &id).await?;
    // Opening a record is a read of personal data: it goes in the person's own access log.
    service::record_alone(
        &k,
        vec![
            AuditRecord::new(v.person_id(), Action::ReadPerson.as_str(), format!("person/{id}"))
                .subject(&id)
                .reason("admin"),
        ],
    )
    .await?;
    let memberships = store::orgs::memberships_of(&k.db, &id).await?;
    let orgs = store::orgs::list(&k.db).await?;
    let names: HashMap<&str, &str> = orgs.iter().map(|o| (o.id.as_str(), o.name.as_str())).collect();
    let roles: Vec<_> = memberships
        .iter()
        .map(|m| context! { id => m.id.clone(), role => m.role.as_str(), organisation => names.get(m.organisation_id.as_str()).copied(), area_id => m.area_id.clone() })
        .collect();
    let identifiers = store::identifiers::of_person(&k.db, &id).await?;
    let areas = store::areas::list(&k.db).await?;
    let all_roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
    let login = accounts::login_of(&k.db, &id).await?;
    page(
        &v,
        "admin_person.html",
        "admin-person-title",
        context! { person => ser(&person), roles, identifiers => ser(&identifiers), orgs => ser(&orgs), areas => ser(&areas),
        all_roles, login, notice => notice_key(q.notice.as_deref()) },
    )
}

#[derive(Deserialize, Default)]
struct RoleForm {
    #[serde(default)]
    organisation_id: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    area_id: String,
}

async fn admin_grant_role(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<RoleForm>,
) -> Result<Response> {
    v.require(
        Action::ManageMemberships,
        &Resource::Organisation {
            id: f.organisation_id.clone(),
        },
    )?;
    let area = Some(f.area_id.as_str()).filter(|a| !a.is_empty());
    service::grant_role(&k, &v.actor, &id, &f.organisation_id, &f.role, area).await?;
    Ok(see_other(&format!("/admin/people/{id}?notice=role")))
}

async fn admin_revoke_role(
    State(k): State<Kernel>,
    v: Viewer,
    Path((id, membership)): Path<(String, String)>,
) -> Result<Response> {
    v.require(Action::ManageMemberships, &Resource::Town)?;
    // The membership must be this person's: the audit entry names whose role it was.
    service::revoke_role(&k, &v.actor, &membership, Some(&id)).await?;
    Ok(see_other(&format!("/admin/people/{id}?notice=revoked")))
}

#[derive(Deserialize, Default)]
struct IdentifierForm {
    #[serde(default)]
    kind: String,
    #[serde(default)]
    value: String,
}

async fn admin_link_identifier(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<IdentifierForm>,
) -> Result<Response> {
    let person = store::people::require(&k.db, &id).await?;
    v.require(
        Action::ManageIdentifiers,
        &Resource::Person {
            id: person.id.clone(),
            household_id: None,
            area_path: vec![],
        },
    )?;
    service::link_identifier(
        &k,
        &v.actor,
        &id,
        IdentifierInput {
            kind: f.kind,
            value: f.value,
        },
    )
    .await?;
    Ok(see_other(&format!("/admin/people/{id}?notice=identifier")))
}

async fn admin_unlink_identifier(
    State(k): State<Kernel>,
    v: Viewer,
    Path(id): Path<String>,
    Form(f): Form<IdentifierForm>,
) -> Result<Response> {
    v.require(
        Action::ManageIdentifiers,
        &Resource::Person {
            id: id.clone(),
            household_id: None,
            area_path: vec![],
        },
    )?;
    service::unlink_identifier(&k, &v.actor, &id, &f.kind, &f.value).await?;
    Ok(see_other(&format!("/admin/people/{id}?notice=revoked")))
}

// ---- the in-home terminal ----

async fn terminal(State(k): State<Kernel>, v: Viewer) -> Result<Response> {
    let person = v.require_login()?.clone();
    let now_ms = k.now();
    let now = crate::model::clock::to_rfc3339_jst(now_ms);
    let reach = store::residence::reach(&k.db, &person).await?;
    page(
        &v,
        "terminal.html",
        "terminal-title",
        context! { person => ser(&person), now_iso => format!("{}T{}", &now[..10], &now[11..16]),
        now_text => crate::web::render::human_time(v.lang, now_ms), reach => ser(&reach) },
    )
}
