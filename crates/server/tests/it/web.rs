//! The web pages as a browser without JavaScript uses them: forms, cookies, redirects.
//! Runs on SQLite, and on PostgreSQL when MACHI_TEST_DATABASE says so.

use reqwest::StatusCode;
use reqwest::header::SET_COOKIE;
use server::testing::{TestApp, spawn_demo_app};

use crate::common::{Browser, assert_refused};

const PASSWORD: &str = kernel::demo::DEMO_PASSWORD;

#[tokio::test]
async fn sign_up_with_only_a_name_and_see_my_page() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let page = b.get("/signup").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("name=\"csrf\""));
    let res = b
        .post(
            "/signup",
            &[
                ("display_name", "山田 花子"),
                ("login", "hanako"),
                ("password", "a long enough phrase"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert_eq!(res.location(), "/me?notice=created");
    let cookie = res
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("machi_session="))
        .unwrap();
    assert!(
        cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax") && !cookie.contains("Secure"),
        "{cookie}"
    );
    let me = b.get("/me").await;
    assert_eq!(me.status, StatusCode::OK);
    assert!(me.body.contains("山田 花子"));
    assert!(me.body.contains("hanako"));
}

#[tokio::test]
async fn optional_contact_needs_consent_which_is_recorded() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post(
            "/signup",
            &[
                ("display_name", "鈴木"),
                ("login", "suzuki"),
                ("password", "correct horse battery"),
                ("email", "suzuki@example.jp"),
            ],
        )
        .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "consent-needed-email");
    assert!(res.body.contains("目的への同意にチェック"), "{}", res.body);
    assert!(
        res.body.contains("value=\"suzuki@example.jp\""),
        "the form keeps what was typed"
    );

    let res = b
        .post(
            "/signup",
            &[
                ("display_name", "鈴木"),
                ("login", "suzuki"),
                ("password", "correct horse battery"),
                ("email", "suzuki@example.jp"),
                ("email_consent", "yes"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let person = kernel::store::accounts::person_by_login(&app.kernel.db, "suzuki")
        .await
        .unwrap()
        .unwrap();
    let consents = kernel::store::consents::of_person(&app.kernel.db, &person)
        .await
        .unwrap();
    assert_eq!(consents.len(), 1);
    assert_eq!(consents[0].scope, "email");
    assert!(consents[0].is_active() && !consents[0].by_guardian);

    // Withdraw it from my page.
    let res = b.post(&format!("/me/consents/{}/withdraw", consents[0].id), &[]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let consents = kernel::store::consents::of_person(&app.kernel.db, &person)
        .await
        .unwrap();
    assert!(!consents[0].is_active());
}

#[tokio::test]
async fn sign_up_refuses_weak_long_and_duplicate_with_the_rule() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post(
            "/signup",
            &[("display_name", "a"), ("login", "tanaka"), ("password", "short")],
        )
        .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "login-taken");
    assert!(
        res.body.contains("このログイン名はすでに使われています"),
        "{}",
        res.body
    );
    assert!(res.body.contains("パスワードは10文字以上にしてください"));
    let long = "x".repeat(129);
    b.set_lang(Some("en"));
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post(
            "/signup",
            &[("display_name", ""), ("login", "Bad Login"), ("password", &long)],
        )
        .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "password-too-long");
    for msg in [
        "at most 128 characters",
        "A login name is 3 to 32",
        "Please enter a display name",
    ] {
        assert!(res.body.contains(msg), "{msg}: {}", res.body);
    }
}

#[tokio::test]
async fn wrong_password_and_unknown_login_look_the_same() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let wrong = assert_unchanged!(app.snapshot().await, b.login("tanaka", "not the password").await);
    let unknown = assert_unchanged!(app.snapshot().await, b.login("nobody-here", "not the password").await);
    assert_refused(&wrong, StatusCode::UNAUTHORIZED, "login-failed");
    assert_refused(&unknown, StatusCode::UNAUTHORIZED, "login-failed");
    let msg = "ログイン名またはパスワードが違います";
    assert!(wrong.body.contains(msg) && unknown.body.contains(msg));
    let ok = b.login("tanaka", PASSWORD).await;
    assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/me"));
}

#[tokio::test]
async fn five_failed_logins_pause_logging_in() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    for _ in 0..5 {
        assert_refused(
            &assert_unchanged!(app.snapshot().await, b.login("sato", "guess guess guess").await),
            StatusCode::UNAUTHORIZED,
            "login-failed",
        );
    }
    let res = assert_unchanged!(app.snapshot().await, b.login("sato", PASSWORD).await);
    assert_refused(&res, StatusCode::TOO_MANY_REQUESTS, "too-many-attempts");
    let retry: i64 = res.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=300).contains(&retry), "{retry}");
    assert!(res.body.contains("一時的に受け付けを停止"), "{}", res.body);
    // After the window the right password works again.
    app.clock.advance(5 * 60 * 1000 + 1000);
    assert_eq!(b.login("sato", PASSWORD).await.status, StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn nodes_sharing_the_database_share_the_login_limit() {
    // Two nodes on one database (one SQLite file, or one PostgreSQL schema), as behind a load
    // balancer: the guesser's 5 tries are counted together, not 5 per node.
    let app = spawn_demo_app().await;
    let (peer, _peer_kernel) = server::testing::spawn_peer(&app).await;
    let here = Browser::new(&app);
    let there = Browser::at(&format!("http://{peer}"));
    for i in 0..5 {
        let b = if i % 2 == 0 { &here } else { &there };
        assert_refused(
            &assert_unchanged!(app.snapshot().await, b.login("sato", "guess guess guess").await),
            StatusCode::UNAUTHORIZED,
            "login-failed",
        );
    }
    // The right password, on either node, waits like the guesses.
    for b in [&here, &there] {
        let res = assert_unchanged!(app.snapshot().await, b.login("sato", PASSWORD).await);
        assert_refused(&res, StatusCode::TOO_MANY_REQUESTS, "too-many-attempts");
        let retry: i64 = res.headers["retry-after"].to_str().unwrap().parse().unwrap();
        assert!((1..=300).contains(&retry), "{retry}");
        assert!(res.body.contains("一時的に受け付けを停止"), "{}", res.body);
        assert_eq!(b.cookie("machi_session"), None, "no session was made");
    }
    // After the window the right password works again, on the other node too.
    app.clock.advance(5 * 60 * 1000 + 1000);
    let ok = there.login("sato", PASSWORD).await;
    assert_eq!((ok.status, ok.location()), (StatusCode::SEE_OTHER, "/me"));
}

#[tokio::test]
async fn parallel_guesses_on_two_nodes_get_five_tries_in_all() {
    let app = spawn_demo_app().await;
    let (peer, _peer_kernel) = server::testing::spawn_peer(&app).await;
    let browsers: Vec<Browser> = (0..10)
        .map(|i| match i % 2 {
            0 => Browser::new(&app),
            _ => Browser::at(&format!("http://{peer}")),
        })
        .collect();
    // Each attempt is counted before its password is checked: of ten at once, five run.
    let pages = futures_util::future::join_all(browsers.iter().map(|b| b.login("sato", "guess guess guess"))).await;
    let mut statuses: Vec<u16> = pages.iter().map(|p| p.status.as_u16()).collect();
    statuses.sort();
    assert_eq!(statuses, [401, 401, 401, 401, 401, 429, 429, 429, 429, 429]);
}

#[tokio::test]
async fn forms_without_the_csrf_token_are_refused_in_the_users_language() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.get("/login").await;
    let res = b
        .post_raw("/login", &[("login", "tanaka"), ("password", PASSWORD)])
        .await;
    assert_refused(&res, StatusCode::FORBIDDEN, "csrf-invalid");
    assert!(res.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.body.contains("フォームの有効期限が切れたか"), "{}", res.body);

    b.set_lang(Some("en"));
    let res = b
        .post_raw(
            "/login",
            &[
                ("csrf", "0".repeat(64).as_str()),
                ("login", "tanaka"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_refused(&res, StatusCode::FORBIDDEN, "csrf-invalid");
    assert!(res.body.contains("The form has expired"), "{}", res.body);
}

#[tokio::test]
async fn an_expired_session_returns_to_login_and_remembers_the_page() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.login("tanaka", PASSWORD).await;
    assert_eq!(b.get("/me/tokens").await.status, StatusCode::OK);
    app.clock.advance(9 * 3600 * 1000);
    let res = b.get("/me/tokens").await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(res.location(), "/login?next=/me/tokens&expired=1");
    let login = b.get(res.location()).await;
    assert!(login.body.contains("ログインが切れました"));
    assert!(
        login.body.contains("name=\"next\" value=\"&#x2f;me&#x2f;tokens\""),
        "{}",
        login.body
    );
    let again = b
        .post(
            "/login",
            &[("login", "tanaka"), ("password", PASSWORD), ("next", "/me/tokens")],
        )
        .await;
    assert_eq!(again.location(), "/me/tokens");
    // A next= pointing elsewhere is ignored.
    let c = Browser::new(&app);
    let res = c
        .post(
            "/login",
            &[("login", "sato"), ("password", PASSWORD), ("next", "//evil.example/")],
        )
        .await;
    assert_eq!(res.location(), "/me");
}

#[tokio::test]
async fn an_admin_opening_my_record_appears_in_my_access_log() {
    let app = spawn_demo_app().await;
    let tanaka = kernel::store::accounts::person_by_login(&app.kernel.db, "tanaka")
        .await
        .unwrap()
        .unwrap();
    let me = Browser::new(&app);
    me.login("tanaka", PASSWORD).await;
    assert!(me.get("/me").await.body.contains("id=\"access-log-empty\""));

    let admin = Browser::new(&app);
    admin.login("admin", PASSWORD).await;
    let page = admin.get(&format!("/admin/people/{tanaka}")).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("田中 ハナ"));
    let admin_name = kernel::store::people::require(
        &app.kernel.db,
        &kernel::store::accounts::person_by_login(&app.kernel.db, "admin")
            .await
            .unwrap()
            .unwrap(),
    )
    .await
    .unwrap()
    .display_name;

    let mine = me.get("/me").await;
    let log = mine
        .body
        .split("id=\"access-log\"")
        .nth(1)
        .expect("the access log table is shown");
    // A sentence naming who and what, never the action code or the record's id.
    assert!(
        log.contains(&format!("{admin_name}さんが、あなたの登録情報を見ました")),
        "{log}"
    );
    assert!(!log.contains("person.read") && !log.contains("person/"), "{log}");

    // Residents cannot open the admin pages.
    assert_refused(
        &me.get(&format!("/admin/people/{tanaka}")).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
}

#[tokio::test]
async fn granting_a_role_changes_the_navigation() {
    let app = spawn_demo_app().await;
    let sato = kernel::store::accounts::person_by_login(&app.kernel.db, "sato")
        .await
        .unwrap()
        .unwrap();
    let s = Browser::new(&app);
    s.login("sato", PASSWORD).await;
    assert!(!s.get("/").await.body.contains("href=\"&#x2f;admin\""));

    let admin = Browser::new(&app);
    admin.login("admin", PASSWORD).await;
    let orgs = kernel::store::orgs::list(&app.kernel.db).await.unwrap();
    let kyodo = orgs.iter().find(|o| o.name == "市民協働課").unwrap();
    let res = admin
        .post(
            &format!("/admin/people/{sato}/roles"),
            &[("organisation_id", &kyodo.id), ("role", "admin"), ("area_id", "")],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    assert!(s.get("/").await.body.contains("href=\"&#x2f;admin\""));
    assert_eq!(s.get("/admin").await.status, StatusCode::OK);
}

#[tokio::test]
async fn language_and_large_text_follow_the_person() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.set_lang(Some("en-US,en;q=0.9"));
    assert!(b.get("/").await.body.contains("<html lang=\"en\">"));
    b.set_lang(None);
    assert!(b.get("/").await.body.contains("<html lang=\"ja\">"));
    b.login("tanaka", PASSWORD).await;
    let res = b.post("/settings", &[("lang", "en"), ("back", "/me")]).await;
    assert_eq!(res.location(), "/me");
    let me = b.get("/me").await;
    assert!(me.body.contains("<html lang=\"en\">") && me.body.contains("My page"));
    b.post("/settings", &[("large_text", "1"), ("back", "/me")]).await;
    assert!(b.get("/me").await.body.contains("class=\"large-text"));
    // Stored with the person, so another device shows the same.
    let other = Browser::new(&app);
    other.login("tanaka", PASSWORD).await;
    let page = other.get("/me").await;
    assert!(page.body.contains("<html lang=\"en\">") && page.body.contains("class=\"large-text"));
}

#[tokio::test]
async fn export_my_data_and_delete_my_account() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.post(
        "/signup",
        &[
            ("display_name", "退会 予定"),
            ("login", "leaver"),
            ("password", "a long enough phrase"),
            ("phone", "090-0000-1111"),
            ("phone_consent", "yes"),
        ],
    )
    .await;
    let export = b.get("/me/export").await;
    assert_eq!(export.status, StatusCode::OK);
    assert!(
        export.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("attachment")
    );
    let doc: serde_json::Value = serde_json::from_str(&export.body).unwrap();
    assert_eq!(doc["person"]["display_name"], "退会 予定");
    assert_eq!(doc["login"], "leaver");
    assert_eq!(doc["consents"].as_array().unwrap().len(), 1);

    let person = kernel::store::accounts::person_by_login(&app.kernel.db, "leaver")
        .await
        .unwrap()
        .unwrap();
    assert_refused(
        &assert_unchanged!(app.snapshot().await, b.post("/me/delete", &[]).await),
        StatusCode::BAD_REQUEST,
        "delete-confirm-needed",
    );
    let res = b.post("/me/delete", &[("confirm", "yes")]).await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/?notice=deleted")
    );
    let p = kernel::store::people::require(&app.kernel.db, &person).await.unwrap();
    assert_eq!(p.display_name, kernel::store::people::DELETED_NAME);
    assert!(p.phone.is_none());
    assert!(
        kernel::store::consents::of_person(&app.kernel.db, &person)
            .await
            .unwrap()
            .iter()
            .all(|c| !c.is_active())
    );
    assert_refused(
        &assert_unchanged!(app.snapshot().await, b.login("leaver", "a long enough phrase").await),
        StatusCode::UNAUTHORIZED,
        "login-failed",
    );
    let entries = kernel::store::audit::about_person(&app.kernel.db, &person, 10)
        .await
        .unwrap();
    assert!(entries.is_empty() || entries.iter().all(|e| e.subject_id.as_deref() == Some(person.as_str())));
    assert_eq!(
        kernel::store::audit::verify(&app.kernel.db)
            .await
            .unwrap()
            .map(|n| n > 0),
        Ok(true)
    );
}

#[tokio::test]
async fn tokens_page_shows_a_new_token_once_and_revokes() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.login("sato", PASSWORD).await;
    let res = b.post("/me/tokens", &[("name", "見守り電球")]).await;
    assert_eq!(res.status, StatusCode::OK);
    let secret = res
        .body
        .split("id=\"new-token\">")
        .nth(1)
        .unwrap()
        .split('<')
        .next()
        .unwrap()
        .to_string();
    assert!(secret.starts_with("machi_"));
    let api = reqwest::Client::new();
    let me = api
        .get(app.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    assert!(!b.get("/me/tokens").await.body.contains(&secret), "shown once only");

    let token = kernel::store::accounts::tokens_of(
        &app.kernel.db,
        &kernel::store::accounts::person_by_login(&app.kernel.db, "sato")
            .await
            .unwrap()
            .unwrap(),
    )
    .await
    .unwrap()
    .remove(0);
    assert_eq!(
        b.post(&format!("/me/tokens/{}/revoke", token.id), &[]).await.status,
        StatusCode::SEE_OTHER
    );
    let me = api
        .get(app.url("/api/v1/me"))
        .bearer_auth(&secret)
        .send()
        .await
        .unwrap();
    let me = crate::common::read(me).await;
    assert_refused(&me, StatusCode::UNAUTHORIZED, "token-invalid");
    let body: serde_json::Value = me.json();
    assert_eq!(body["error"]["code"], "token-invalid");
}

#[tokio::test]
async fn pages_carry_strict_security_headers_and_work_offline() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    for path in [
        "/",
        "/login",
        "/signup",
        "/directory",
        "/static/machi.css",
        "/no-such-page",
    ] {
        let page = b.get(path).await;
        let csp = page.headers["content-security-policy"].to_str().unwrap();
        assert!(
            csp.contains("script-src 'self'") && csp.contains("frame-ancestors 'none'"),
            "{path}: {csp}"
        );
        assert!(!csp.contains("unsafe-inline"));
        assert_eq!(page.headers["x-content-type-options"], "nosniff");
        assert!(page.headers.contains_key("referrer-policy"));
        assert!(!page.body.contains("<script>"), "{path} has inline script");
        assert!(!page.body.contains("https://"), "{path} loads something from outside");
    }
    assert_refused(&b.get("/no-such-page").await, StatusCode::NOT_FOUND, "route-not-found");
    let terminal = b.get("/terminal").await;
    assert_eq!(terminal.status, StatusCode::SEE_OTHER, "the terminal needs a login");
    b.login("tanaka", PASSWORD).await;
    let terminal = b.get("/terminal").await;
    assert!(terminal.body.contains("class=\" terminal\"") || terminal.body.contains("terminal-buttons"));
    let menu = terminal
        .body
        .split("id=\"terminal-menu\"")
        .nth(1)
        .unwrap()
        .split("alert-overlay")
        .next()
        .unwrap();
    let buttons =
        menu.matches("class=\"terminal-button\"").count() + menu.matches("class=\"terminal-button primary\"").count();
    assert_eq!(buttons, 4, "{}", terminal.body);
}

#[tokio::test]
async fn changing_the_password_needs_the_current_one_and_ends_other_sessions() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let other = Browser::new(&app);
    b.login("sato", PASSWORD).await;
    other.login("sato", PASSWORD).await;
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post(
            "/me/password",
            &[("current", "wrong wrong wrong"), ("new_password", "a brand new phrase")],
        )
        .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "password-current-wrong");
    assert!(res.body.contains("現在のパスワードが違います"), "{}", res.body);
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/password", &[("current", PASSWORD), ("new_password", "short")])
            .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "password-too-short");
    assert!(res.body.contains("10文字以上"));
    let res = b
        .post(
            "/me/password",
            &[("current", PASSWORD), ("new_password", "a brand new phrase")],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=password")
    );
    assert_eq!(
        b.get("/me").await.status,
        StatusCode::OK,
        "this browser stays logged in"
    );
    assert_eq!(
        other.get("/me").await.status,
        StatusCode::SEE_OTHER,
        "the other device is logged out"
    );
    let c = Browser::new(&app);
    assert_refused(
        &assert_unchanged!(app.snapshot().await, c.login("sato", PASSWORD).await),
        StatusCode::UNAUTHORIZED,
        "login-failed",
    );
    assert_eq!(
        c.login("sato", "a brand new phrase").await.status,
        StatusCode::SEE_OTHER
    );
}

#[tokio::test]
async fn cookies_are_secure_when_served_over_https() {
    let config = kernel::config::Config {
        public_url: Some("https://machi.example.jp".into()),
        ..Default::default()
    };
    let app = server::testing::spawn_app_with(config, true).await;
    let b = Browser::new(&app);
    let res = b.login("tanaka", PASSWORD).await;
    let cookies: Vec<String> = res
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .collect();
    assert!(cookies.iter().any(|c| c.starts_with("machi_session=")), "{cookies:?}");
    assert!(
        cookies.iter().all(|c| c.contains("; Secure") && c.contains("HttpOnly")),
        "{cookies:?}"
    );
}

#[tokio::test]
async fn review_fixes_error_pages_sessions_roles_and_deleted_people() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.get("/").await;
    // The forms on an error page carry the right CSRF token, so switching language works there.
    let page = b.get("/no-such-page").await;
    let token = b.cookie("machi_csrf").unwrap();
    assert!(
        page.body.contains(&format!("name=\"csrf\" value=\"{token}\"")),
        "{}",
        page.body
    );
    let res = b.post("/settings", &[("lang", "en"), ("back", "/no-such-page")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);

    // The session cookie has no Max-Age: the server decides when it ends.
    let res = b.login("tanaka", PASSWORD).await;
    let cookie = res
        .headers
        .get_all(SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap().to_string())
        .find(|c| c.starts_with("machi_session="))
        .unwrap();
    assert!(!cookie.contains("Max-Age"), "{cookie}");
    // A redirect target with control characters is refused.
    let c = Browser::new(&app);
    let res = c
        .post(
            "/login",
            &[("login", "sato"), ("password", PASSWORD), ("next", "/\t/evil.example")],
        )
        .await;
    assert_eq!(res.location(), "/me");

    // Revoking a role through another person's URL is refused.
    let admin = Browser::new(&app);
    admin.login("admin", PASSWORD).await;
    let sato = kernel::store::accounts::person_by_login(&app.kernel.db, "sato")
        .await
        .unwrap()
        .unwrap();
    let kaicho = kernel::store::accounts::person_by_login(&app.kernel.db, "kaicho")
        .await
        .unwrap()
        .unwrap();
    let officer = kernel::store::orgs::memberships_of(&app.kernel.db, &kaicho)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.role == kernel::model::org::Role::Officer)
        .unwrap();
    let res = assert_unchanged!(
        app.snapshot().await,
        admin
            .post(&format!("/admin/people/{sato}/roles/{}/revoke", officer.id), &[])
            .await
    );
    assert_refused(&res, StatusCode::NOT_FOUND, "not-found");
    assert!(
        kernel::store::orgs::get_membership(&app.kernel.db, &officer.id)
            .await
            .unwrap()
            .is_some()
    );

    // A deleted account's household goes, and the person takes no new data.
    let leaver = Browser::new(&app);
    leaver.login("tanaka", PASSWORD).await;
    let tanaka = kernel::store::accounts::person_by_login(&app.kernel.db, "tanaka")
        .await
        .unwrap()
        .unwrap();
    let household = kernel::store::people::household_of(&app.kernel.db, &tanaka)
        .await
        .unwrap()
        .unwrap();
    leaver.post("/me/delete", &[("confirm", "yes")]).await;
    assert!(
        kernel::store::households::get(&app.kernel.db, &household)
            .await
            .unwrap()
            .is_none(),
        "tanaka lived alone"
    );
    let res = assert_unchanged!(
        app.snapshot().await,
        admin
            .post(
                &format!("/admin/people/{tanaka}/identifiers"),
                &[("kind", "ic_card"), ("value", "1234")],
            )
            .await
    );
    assert_refused(&res, StatusCode::NOT_FOUND, "person-not-found");
}

// ---- issue 20: every resident can be reached; error pages in the person's shell ----

async fn area_name(app: &TestApp, login: &str) -> Option<String> {
    let id = app.person_of(login).await;
    let p = kernel::store::people::require(&app.kernel.db, &id).await.unwrap();
    match p.area_id {
        Some(a) => Some(
            kernel::store::areas::get(&app.kernel.db, &a)
                .await
                .unwrap()
                .unwrap()
                .name,
        ),
        None => None,
    }
}

#[tokio::test]
async fn a_new_resident_sets_area_household_and_contacts_from_my_page() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let res = b
        .post(
            "/signup",
            &[
                ("display_name", "森 さくら"),
                ("login", "sakura"),
                ("password", "a long enough phrase"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    // My Page, the terminal and home all say what is missing.
    let me = b.get("/me").await;
    assert!(
        me.body.contains("まだ緊急のお知らせや安否確認が届きません"),
        "{}",
        me.body
    );
    assert!(me.body.contains("住まいの町丁目が未登録です") && me.body.contains("世帯が未登録です"));
    let terminal = b.get("/terminal").await;
    assert!(terminal.body.contains("まだ緊急のお知らせが届きません"));
    assert!(terminal.body.contains("href=\"/me#address\""));
    assert!(b.get("/").await.body.contains("id=\"reach-warning\""));

    // An address that fits nothing: 400 with the reason, next to the form, what was typed kept.
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/address", &[("address", "東京都千代田区")]).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "address-no-match");
    assert!(
        res.body.contains("「東京都千代田区」に合う町丁目が見つかりません"),
        "{}",
        res.body
    );
    assert!(res.body.contains("value=\"東京都千代田区\""));
    assert_eq!(area_name(&app, "sakura").await, None);
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/address", &[("area", "13999-2")]).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "address-area-not-chome");
    assert!(res.body.contains("中央地区 は町丁目ではありません"));
    assert_eq!(area_name(&app, "sakura").await, None);
    let res = assert_unchanged!(app.snapshot().await, b.post("/me/address", &[]).await);
    assert_refused(&res, StatusCode::BAD_REQUEST, "address-missing");

    // Several fit: a question with one button each, not an error.
    let res = b.post("/me/address", &[("address", "みどり町")]).await;
    assert_eq!(res.status, StatusCode::OK);
    assert!(res.body.contains("次のどれですか"));
    assert!(res.body.contains(">みどり町二丁目</button>"));

    // The address as written.
    let res = b.post("/me/address", &[("address", "みどり町一丁目3-5")]).await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=area-set#address")
    );
    assert_eq!(area_name(&app, "sakura").await.as_deref(), Some("みどり町一丁目"));
    let me = b.get("/me?notice=area-set").await;
    assert!(me.body.contains("いまの町丁目: みどり町一丁目"));
    assert!(me.body.contains("地域の緊急情報が届くようになりました"));
    // The map: each 町丁目 is a link; following one asks to confirm.
    assert!(me.body.contains("<svg class=\"town-map\""));
    assert!(
        me.body
            .contains("href=\"/me?area=13999-3-01#address\" aria-label=\"南町一丁目\"")
    );
    let confirm = b.get("/me?area=13999-3-01").await;
    assert!(confirm.body.contains("南町一丁目 を住まいの町丁目にしますか"));
    assert_eq!(
        area_name(&app, "sakura").await.as_deref(),
        Some("みどり町一丁目"),
        "a link changes nothing"
    );
    // The list (by id, as the select sends it).
    let honcho = kernel::store::areas::get(&app.kernel.db, "13999-2-01")
        .await
        .unwrap()
        .unwrap();
    let res = b.post("/me/address", &[("area", &honcho.id)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    assert_eq!(area_name(&app, "sakura").await.as_deref(), Some("本町一丁目"));

    // A household: a name is needed; then she represents it and sees its code.
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/household/create", &[("name", " ")]).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "household-name-missing");
    assert!(res.body.contains("世帯の名前を入力してください"));
    let res = b.post("/me/household/create", &[("name", "森の家")]).await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=household-created#household")
    );
    let me = b.get("/me").await;
    assert!(
        me.body.contains("森の家") && me.body.contains("世帯の番号: "),
        "{}",
        me.body
    );
    let code = me.body.split("世帯の番号: ").nth(1).unwrap()[..9].to_string();

    // Her neighbour joins with the code; a wrong code changes nothing.
    let n = Browser::new(&app);
    n.post(
        "/signup",
        &[
            ("display_name", "森 はやと"),
            ("login", "hayato"),
            ("password", "a long enough phrase"),
        ],
    )
    .await;
    let res = assert_unchanged!(
        app.snapshot().await,
        n.post("/me/household/join", &[("code", "ZZZZ-0000")]).await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "household-code-unknown");
    assert!(res.body.contains("世帯の番号「ZZZZ-0000」は見つかりません"));
    let hayato = app.person_of("hayato").await;
    assert_eq!(
        kernel::store::people::household_of(&app.kernel.db, &hayato)
            .await
            .unwrap(),
        None
    );
    let res = n.post("/me/household/join", &[("code", &code)]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let me = n.get("/me").await;
    assert!(me.body.contains("森の家") && me.body.contains("森 さくら"));
    assert_eq!(
        area_name(&app, "hayato").await.as_deref(),
        Some("本町一丁目"),
        "he takes the household's area"
    );
    assert!(!me.body.contains("id=\"reach-warning\""));

    // An e-mail address needs consent; the consent is recorded and listed in words.
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/contact", &[("kind", "email"), ("value", "sakura@example.jp")])
            .await
    );
    assert_refused(&res, StatusCode::BAD_REQUEST, "consent-needed-email");
    assert!(res.body.contains("目的への同意にチェック"));
    assert!(res.body.contains("value=\"sakura@example.jp\""));
    let sakura = app.person_of("sakura").await;
    assert!(
        kernel::store::consents::of_person(&app.kernel.db, &sakura)
            .await
            .unwrap()
            .is_empty()
    );
    let res = b
        .post(
            "/me/contact",
            &[("kind", "email"), ("value", "sakura@example.jp"), ("consent", "yes")],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=contact-saved#contacts")
    );
    let c = kernel::store::consents::of_person(&app.kernel.db, &sakura)
        .await
        .unwrap();
    assert_eq!((c.len(), c[0].scope.as_str()), (1, "email"));
    let me = b.get("/me").await;
    assert!(me.body.contains("<td>メールアドレス</td>"), "the scope in words");
    assert!(!me.body.contains("id=\"reach-warning\""));
    assert!(!b.get("/terminal").await.body.contains("id=\"terminal-reach\""));
}

#[tokio::test]
async fn error_pages_keep_the_persons_name_and_menu() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    b.login("tanaka", PASSWORD).await;
    for (path, status) in [
        ("/no-such-page", StatusCode::NOT_FOUND),
        ("/admin", StatusCode::FORBIDDEN),
    ] {
        let page = b.get(path).await;
        let code = if status == StatusCode::NOT_FOUND {
            "route-not-found"
        } else {
            "forbidden"
        };
        assert_refused(&page, status, code);
        assert!(page.body.contains("田中 ハナ さん"), "{path}: {}", page.body);
        assert!(!page.body.contains("None"), "{path}");
        assert!(
            page.body.contains(">マイページ</a>") && page.body.contains(">端末モード</a>"),
            "{path}: the menu"
        );
        assert!(page.body.contains("class=\"logout-form\""));
    }
    // In English when she chose English.
    b.post("/settings", &[("lang", "en"), ("back", "/")]).await;
    let page = b.get("/no-such-page").await;
    assert!(
        page.body.contains("<html lang=\"en\">") && page.body.contains("My page"),
        "{}",
        page.body
    );
    // Anonymous: the public menu and a way to log in, no name.
    let anon = Browser::new(&app);
    let page = anon.get("/no-such-page").await;
    assert_refused(&page, StatusCode::NOT_FOUND, "route-not-found");
    assert!(!page.body.contains("None") && !page.body.contains("logout-form"));
    assert!(page.body.contains("href=\"/login\""));
}

#[tokio::test]
async fn the_access_log_names_who_did_what_in_sentences_even_for_actions_it_does_not_know() {
    let app = spawn_demo_app().await;
    let tanaka = app.person_of("tanaka").await;
    let caremgr = app.person_of("caremgr").await;
    let k = &app.kernel;
    use kernel::model::audit::AuditRecord;
    kernel::store::audit::append(
        k,
        AuditRecord::new(
            Some(&caremgr),
            "watch.read",
            format!("watch/{}", "01M98ABCDEFGHJKMNPQRSTVWXY"),
        )
        .subject(&tanaka),
    )
    .await
    .unwrap();
    kernel::store::audit::append(
        k,
        AuditRecord::new(Some(&caremgr), "aid.something_new", "aid/01M98ABCDEFGHJKMNPQRSTVWXZ").subject(&tanaka),
    )
    .await
    .unwrap();
    let b = Browser::new(&app);
    b.login("tanaka", PASSWORD).await;
    let me = b.get("/me").await;
    let log = me.body.split("id=\"access-log\"").nth(1).unwrap();
    let caremgr_name = kernel::store::people::require(&k.db, &caremgr)
        .await
        .unwrap()
        .display_name;
    assert!(
        log.contains(&format!(
            "みどりケアプランセンターの{caremgr_name}さんが、見守りの記録を見ました"
        )),
        "{log}"
    );
    assert!(
        log.contains("さんが、助け合いの記録を扱いました"),
        "an unknown action: a generic sentence"
    );
    for code in ["watch.read", "aid.something_new", "watch/", "aid/", "01M98"] {
        assert!(!log.contains(code), "{code} in {log}");
    }
    b.post("/settings", &[("lang", "en"), ("back", "/me")]).await;
    let log = b.get("/me").await.body;
    assert!(log.contains(&format!(
        "{caremgr_name} of みどりケアプランセンター looked at the watch-over records"
    )));
}

/// Making a household from My Page writes the household, the membership and the entry in one
/// transaction: with the entry impossible nothing is written; otherwise all of it is.
#[tokio::test]
async fn a_household_is_made_only_with_its_audit_entry() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let res = b
        .post(
            "/signup",
            &[
                ("display_name", "森 さくら"),
                ("login", "sakura"),
                ("password", "a long enough phrase"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER);
    let sakura = app.person_of("sakura").await;
    let head = crate::api::break_audit(&app).await;
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/household/create", &[("name", "森の家")]).await
    );
    assert_refused(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    crate::api::mend_audit(&app, head).await;
    let res = b.post("/me/household/create", &[("name", "森の家")]).await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let k = &app.kernel;
    let household = kernel::store::people::household_of(&k.db, &sakura)
        .await
        .unwrap()
        .unwrap();
    let h = kernel::store::households::require(&k.db, &household).await.unwrap();
    assert_eq!(
        (h.name.as_str(), h.representative_id.as_deref()),
        ("森の家", Some(sakura.as_str()))
    );
    let e = crate::api::last_entry(&app).await;
    assert_eq!(
        (e.action.as_str(), e.resource, e.actor_id),
        (
            "residence.household",
            format!("household/{household}"),
            Some(sakura.clone())
        )
    );
    assert!(kernel::store::audit::verify(&k.db).await.unwrap().is_ok());
}

#[tokio::test]
async fn a_password_change_can_revoke_every_api_token_on_every_node() {
    let app = spawn_demo_app().await;
    let (peer, _peer_kernel) = server::testing::spawn_peer(&app).await;
    let token = app.token_for("sato").await;
    let me_at = |base: String| {
        let token = token.clone();
        async move {
            let res = reqwest::Client::new()
                .get(format!("{base}/api/v1/me"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap();
            let status = res.status();
            (status, res.json::<serde_json::Value>().await.unwrap_or_default())
        }
    };
    let nodes = [app.url(""), format!("http://{peer}")];
    let b = Browser::new(&app);
    b.login("sato", PASSWORD).await;
    let page = b.get("/me").await;
    assert!(
        page.body.contains("APIトークンもすべて無効にする"),
        "the option is offered"
    );
    // Without the option the tokens keep working.
    let res = b
        .post(
            "/me/password",
            &[("current", PASSWORD), ("new_password", "a brand new phrase")],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=password")
    );
    for node in &nodes {
        assert_eq!(me_at(node.clone()).await.0, StatusCode::OK);
    }
    // With it, every token is refused at once, on both nodes.
    let res = b
        .post(
            "/me/password",
            &[
                ("current", "a brand new phrase"),
                ("new_password", "another new phrase"),
                ("revoke_tokens", "yes"),
            ],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=password-tokens")
    );
    assert!(
        b.get("/me?notice=password-tokens")
            .await
            .body
            .contains("APIトークンはすべて無効になりました")
    );
    for node in nodes.iter().rev() {
        let (s, body) = assert_unchanged!(app.snapshot().await, me_at(node.clone()).await);
        assert_refused(&(s, &body), StatusCode::UNAUTHORIZED, "token-invalid");
    }
    let live = app
        .count(&format!(
            "SELECT COUNT(*) FROM api_tokens WHERE person_id = '{}' AND revoked_at IS NULL",
            app.person_of("sato").await
        ))
        .await;
    assert_eq!(live, 0);
}

#[tokio::test]
async fn account_and_token_changes_are_made_only_with_their_audit_entry() {
    let app = spawn_demo_app().await;
    let b = Browser::new(&app);
    let other = Browser::new(&app);
    b.login("sato", PASSWORD).await;
    other.login("sato", PASSWORD).await;
    let sato = app.person_of("sato").await;
    let head = crate::api::break_audit(&app).await;
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post("/me/tokens", &[("name", "台所の端末")]).await
    );
    assert_refused(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    let res = assert_unchanged!(
        app.snapshot().await,
        b.post(
            "/me/password",
            &[
                ("current", PASSWORD),
                ("new_password", "a brand new phrase"),
                ("revoke_tokens", "yes"),
            ],
        )
        .await
    );
    assert_refused(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    assert_eq!(other.get("/me").await.status, StatusCode::OK, "no session ended");
    let signup = Browser::new(&app);
    let res = assert_unchanged!(
        app.snapshot().await,
        signup
            .post(
                "/signup",
                &[
                    ("display_name", "森 さくら"),
                    ("login", "sakura"),
                    ("password", "a long enough phrase"),
                ],
            )
            .await
    );
    assert_refused(&res, StatusCode::INTERNAL_SERVER_ERROR, "internal");
    crate::api::mend_audit(&app, head).await;

    let res = b.post("/me/tokens", &[("name", "台所の端末")]).await;
    assert_eq!(res.status, StatusCode::OK, "{}", res.body);
    let k = &app.kernel;
    let tokens = kernel::store::accounts::tokens_of(&k.db, &sato).await.unwrap();
    let token = tokens.iter().find(|t| t.name == "台所の端末").unwrap();
    let e = crate::api::last_entry(&app).await;
    assert_eq!(
        (e.action.as_str(), e.resource, e.actor_id),
        ("token.create", format!("token/{}", token.id), Some(sato.clone()))
    );
    let res = b
        .post(
            "/me/password",
            &[
                ("current", PASSWORD),
                ("new_password", "a brand new phrase"),
                ("revoke_tokens", "yes"),
            ],
        )
        .await;
    assert_eq!(
        (res.status, res.location()),
        (StatusCode::SEE_OTHER, "/me?notice=password-tokens")
    );
    assert_ne!(other.get("/me").await.status, StatusCode::OK, "the other session ended");
    let tokens = kernel::store::accounts::tokens_of(&k.db, &sato).await.unwrap();
    assert!(tokens.iter().all(|t| t.revoked_at.is_some()));
    let e = crate::api::last_entry(&app).await;
    assert_eq!(
        (
            e.action.as_str(),
            e.resource,
            e.actor_id,
            e.reason.map(|r| r.ends_with("tokens revoked"))
        ),
        (
            "account.password",
            format!("person/{sato}"),
            Some(sato.clone()),
            Some(true)
        )
    );
    let res = signup
        .post(
            "/signup",
            &[
                ("display_name", "森 さくら"),
                ("login", "sakura"),
                ("password", "a long enough phrase"),
            ],
        )
        .await;
    assert_eq!(res.status, StatusCode::SEE_OTHER, "{}", res.body);
    let sakura = app.person_of("sakura").await;
    let e = crate::api::last_entry(&app).await;
    assert_eq!(
        (e.action.as_str(), e.resource, e.actor_id),
        ("account.create", format!("person/{sakura}"), Some(sakura.clone()))
    );
    assert!(kernel::store::audit::verify(&k.db).await.unwrap().is_ok());
}
