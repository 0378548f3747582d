//! The kernel's JSON API through HTTP, against a real database: SQLite by default, PostgreSQL
//! when MACHI_TEST_DATABASE is a postgres:// URL (the test script runs both).

use reqwest::StatusCode;
use serde_json::{Value, json};
use server::testing::{TestApp, spawn_demo_app};

use crate::common::{assert_refused, request};

async fn get(app: &TestApp, path: &str, token: Option<&str>) -> (StatusCode, Value) {
    request(app, token, reqwest::Method::GET, path, None).await
}

async fn post(app: &TestApp, path: &str, token: Option<&str>, body: Value) -> (StatusCode, Value) {
    request(app, token, reqwest::Method::POST, path, Some(body)).await
}

#[tokio::test]
async fn demo_town_is_browsable() {
    let app = spawn_demo_app().await;
    let (s, areas) = get(&app, "/api/v1/areas", None).await;
    assert_eq!(s, StatusCode::OK);
    let areas = areas.as_array().unwrap();
    let count = |level: &str| areas.iter().filter(|a| a["level"] == level).count();
    assert_eq!((count("town"), count("district"), count("chome")), (1, 3, 8));

    let (s, orgs) = get(&app, "/api/v1/organisations", None).await;
    assert_eq!(s, StatusCode::OK);
    let names: Vec<&str> = orgs
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["name"].as_str().unwrap())
        .collect();
    for dept in ["危機管理課", "福祉課", "子育て支援課", "道路課", "市民協働課"] {
        assert!(names.contains(&dept), "{dept} missing from {names:?}");
    }

    // Point-in-area finds the most specific area, and its code resolves back to it.
    let chome = areas.iter().find(|a| a["level"] == "chome").unwrap();
    let ring = chome["geometry"]["coordinates"][0].as_array().unwrap();
    let (lon, lat) = (
        (ring[0][0].as_f64().unwrap() + ring[2][0].as_f64().unwrap()) / 2.0,
        (ring[0][1].as_f64().unwrap() + ring[2][1].as_f64().unwrap()) / 2.0,
    );
    let (s, found) = get(&app, &format!("/api/v1/areas/at?lat={lat}&lon={lon}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["code"], chome["code"]);
    let (s, refusal) = get(&app, "/api/v1/areas/at?lat=10&lon=10", None).await;
    assert_refused(&(s, &refusal), StatusCode::NOT_FOUND, "area-not-found");
    let (s, by_code) = get(
        &app,
        &format!("/api/v1/areas/{}", chome["code"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!((s, &by_code["id"]), (StatusCode::OK, &chome["id"]));

    // Staff see the people of the town, page by page.
    let staff = app.token_for("fukushi").await;
    let (s, people) = get(&app, "/api/v1/people?limit=500", Some(&staff)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(people.as_array().unwrap().len(), 60);
    let (_, page) = get(&app, "/api/v1/people?limit=10", Some(&staff)).await;
    let last = page[9]["id"].as_str().unwrap();
    let (_, next) = get(&app, &format!("/api/v1/people?limit=10&after={last}"), Some(&staff)).await;
    assert!(next[0]["id"].as_str().unwrap() > last);
}

#[tokio::test]
async fn policy_is_enforced_through_http() {
    let app = spawn_demo_app().await;
    let tanaka = app.person_of("tanaka").await;
    let sato = app.person_of("sato").await;
    let tanaka_token = app.token_for("tanaka").await;
    let kaicho = app.token_for("kaicho").await;

    // Anonymous → 401; a resident reads herself but not her neighbour.
    assert_refused(
        &get(&app, &format!("/api/v1/people/{tanaka}"), None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    let (s, me) = get(&app, &format!("/api/v1/people/{tanaka}"), Some(&tanaka_token)).await;
    assert_eq!((s, me["display_name"].as_str().is_some()), (StatusCode::OK, true));
    assert_refused(
        &get(&app, &format!("/api/v1/people/{sato}"), Some(&tanaka_token)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // The officer of district 1 reads people of district 1 only.
    let (s, _) = get(&app, &format!("/api/v1/people/{tanaka}"), Some(&kaicho)).await;
    assert_eq!(s, StatusCode::OK, "tanaka lives in district 1");
    let (s, listed) = get(&app, "/api/v1/people?area=13999-1", Some(&kaicho)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!listed.as_array().unwrap().is_empty());
    assert_refused(
        &get(&app, "/api/v1/people?area=13999-3", Some(&kaicho)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );
    assert_refused(
        &get(&app, "/api/v1/people", Some(&kaicho)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Only admins manage organisations; only auditors and admins read the audit log.
    let shop = app.token_for("shop").await;
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            "/api/v1/organisations",
            Some(&shop),
            json!({"kind":"npo","name":"x"}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    let auditor = app.token_for("auditor").await;
    assert_eq!(get(&app, "/api/v1/audit", Some(&auditor)).await.0, StatusCode::OK);
    assert_refused(
        &get(&app, "/api/v1/audit", Some(&shop)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // Medics identify a patient by card; residents cannot.
    let (_, ids) = get(
        &app,
        &format!("/api/v1/people/{tanaka}/identifiers"),
        Some(&tanaka_token),
    )
    .await;
    let device = ids
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["kind"] == "device")
        .expect("tanaka has a device")
        .clone();
    let path = format!("/api/v1/identifiers/device/{}", device["value"].as_str().unwrap());
    let medic = app.token_for("medic").await;
    let (s, found) = get(&app, &path, Some(&medic)).await;
    assert_eq!(
        (s, found["person"]["id"].as_str()),
        (StatusCode::OK, Some(tanaka.as_str()))
    );
    assert_refused(&get(&app, &path, Some(&shop)).await, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn reading_personal_data_is_audited_and_visible_to_the_person() {
    let app = spawn_demo_app().await;
    let tanaka = app.person_of("tanaka").await;
    let admin_id = app.person_of("admin").await;
    let admin = app.token_for("admin").await;
    let tanaka_token = app.token_for("tanaka").await;

    let (_, before) = get(&app, &format!("/api/v1/people/{tanaka}/audit"), Some(&tanaka_token)).await;
    assert_eq!(before.as_array().unwrap().len(), 0);
    assert_eq!(
        get(&app, &format!("/api/v1/people/{tanaka}"), Some(&admin)).await.0,
        StatusCode::OK
    );
    // Reading oneself is not an access by someone else.
    get(&app, &format!("/api/v1/people/{tanaka}"), Some(&tanaka_token)).await;

    let (s, log) = get(&app, &format!("/api/v1/people/{tanaka}/audit"), Some(&tanaka_token)).await;
    assert_eq!(s, StatusCode::OK);
    let log = log.as_array().unwrap();
    assert_eq!(log.len(), 1, "{log:?}");
    assert_eq!(log[0]["actor_id"].as_str(), Some(admin_id.as_str()));
    assert_eq!(log[0]["action"], "person.read");
    // Nobody else reads tanaka's audit trail, not even the admin.
    assert_refused(
        &get(&app, &format!("/api/v1/people/{tanaka}/audit"), Some(&admin)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    let (s, v) = get(&app, "/api/v1/audit/verify", Some(&admin)).await;
    assert_eq!((s, v["ok"].as_bool()), (StatusCode::OK, Some(true)));
}

#[tokio::test]
async fn tampering_with_the_audit_log_is_detected() {
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    for i in 0..5 {
        let rec = kernel::model::audit::AuditRecord::new(Some("someone"), "person.read", format!("person/{i}"));
        kernel::store::audit::append(k, rec).await.unwrap();
    }
    assert_eq!(kernel::store::audit::verify(&k.db).await.unwrap(), Ok(5));
    kernel::on_db!(&k.db, |p| sqlx::query(
        "UPDATE audit_log SET resource = 'person/x' WHERE seq = 3"
    )
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
    let broken = kernel::store::audit::verify(&k.db).await.unwrap().unwrap_err();
    assert_eq!(broken, kernel::model::audit::BrokenLink::Altered { seq: 3 });
    assert!(broken.to_string().contains("entry 3"));

    let auditor = app.token_for("auditor").await;
    let (_, v) = get(&app, "/api/v1/audit/verify", Some(&auditor)).await;
    assert_eq!(v["ok"], false);
    assert!(v["broken"].as_str().unwrap().contains("entry 3"), "{v}");
}

#[tokio::test]
async fn concurrent_audit_appends_keep_one_chain() {
    let app = spawn_demo_app().await;
    let mut tasks = Vec::new();
    for i in 0..40 {
        let k = app.kernel.clone();
        tasks.push(tokio::spawn(async move {
            let rec = kernel::model::audit::AuditRecord::new(None, "test", format!("r/{i}"));
            kernel::store::audit::append(&k, rec).await.unwrap()
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    assert_eq!(kernel::store::audit::verify(&app.kernel.db).await.unwrap(), Ok(40));
}

#[tokio::test]
async fn identifiers_link_look_up_and_refuse_duplicates() {
    let app = spawn_demo_app().await;
    let admin = app.token_for("admin").await;
    let sato = app.person_of("sato").await;
    let tanaka = app.person_of("tanaka").await;
    let (s, li) = post(
        &app,
        &format!("/api/v1/people/{sato}/identifiers"),
        Some(&admin),
        json!({"kind":"ic_card","value":"9999000011112222"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{li}");
    let (s, found) = get(&app, "/api/v1/identifiers/ic_card/9999000011112222", Some(&admin)).await;
    assert_eq!(
        (s, found["person"]["id"].as_str()),
        (StatusCode::OK, Some(sato.as_str()))
    );

    let res = reqwest::Client::new()
        .post(app.url(&format!("/api/v1/people/{tanaka}/identifiers")))
        .bearer_auth(&admin)
        .header("Accept-Language", "en")
        .json(&json!({"kind":"ic_card","value":"9999000011112222"}))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::CONFLICT, "identifier-taken");
    let body: Value = res.json();
    assert_eq!(body["error"]["code"], "identifier-taken");
    assert!(body["error"]["message"].as_str().unwrap().contains("ic_card"), "{body}");

    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &format!("/api/v1/people/{sato}/identifiers"),
            Some(&admin),
            json!({"kind":"IC CARD","value":"1"}),
        )
        .await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "identifier-invalid");
    assert_eq!(body["error"]["code"], "identifier-invalid");
    assert_refused(
        &get(&app, "/api/v1/identifiers/ic_card/0000", Some(&admin)).await,
        StatusCode::NOT_FOUND,
        "identifier-not-found",
    );
}

#[tokio::test]
async fn malformed_geojson_names_the_feature_and_imports_nothing() {
    let app = spawn_demo_app().await;
    let admin = app.token_for("admin").await;
    let square =
        |x: f64| json!({"type":"Polygon","coordinates":[[[x,35.0],[x+0.01,35.0],[x+0.01,35.01],[x,35.01],[x,35.0]]]});
    let good = |code: &str, x: f64| json!({"type":"Feature","properties":{"code":code,"name":"新町","parent_code":"13999"},"geometry":square(x)});
    let open_ring = json!({"type":"Feature","properties":{"code":"new-3","name":"壊れた町"},
        "geometry":{"type":"Polygon","coordinates":[[[139.0,35.0],[139.1,35.0],[139.1,35.1],[139.0,35.1]]]}});
    let doc = json!({"type":"FeatureCollection","features":[good("new-1", 139.0), good("new-2", 139.1), open_ring]});
    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(&app, "/api/v1/areas/import", Some(&admin), doc).await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "areas-import-invalid");
    assert_eq!(body["error"]["code"], "areas-import-invalid");
    let msg = body["error"]["message"].as_str().unwrap();
    assert!(msg.contains("feature 2") && msg.contains("not closed"), "{msg}");
    let (_, areas) = get(&app, "/api/v1/areas", None).await;
    assert_eq!(areas.as_array().unwrap().len(), 12, "nothing half-imported");

    let doc = json!({"type":"FeatureCollection","features":[good("new-1", 139.0), good("new-2", 139.1)]});
    let (s, body) = post(&app, "/api/v1/areas/import", Some(&admin), doc).await;
    assert_eq!((s, body["imported"].as_u64()), (StatusCode::OK, Some(2)));
    let (_, area) = get(&app, "/api/v1/areas/new-2", None).await;
    assert_eq!(area["name"], "新町");
    let (_, found) = get(&app, "/api/v1/areas/at?lat=35.005&lon=139.105", None).await;
    assert_eq!(found["code"], "new-2");
}

#[tokio::test]
async fn bad_input_is_a_clear_4xx_never_a_500() {
    let app = spawn_demo_app().await;
    let admin = app.token_for("admin").await;

    // Unknown route and method.
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/no/such/thing"))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::NOT_FOUND, "route-not-found");
    let body: Value = res.json();
    assert_eq!(body["error"]["code"], "route-not-found");
    // Outside the API an unknown address is a page, for people with browsers.
    let res = reqwest::Client::new()
        .get(app.url("/no/such/page"))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::NOT_FOUND, "route-not-found");
    assert!(res.headers["content-type"].to_str().unwrap().starts_with("text/html"));
    assert!(res.body.clone().contains("この URL はありません"));
    assert_eq!(
        reqwest::Client::new()
            .delete(app.url("/api/v1/areas"))
            .send()
            .await
            .unwrap()
            .status(),
        StatusCode::METHOD_NOT_ALLOWED
    );

    // Bad JSON: 400 with the parser's words, in English when asked.
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/people"))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .header("Accept-Language", "en-GB,en;q=0.9")
        .body("{\"display_name\": ")
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "bad-json");
    let body: Value = res.json();
    assert_eq!(body["error"]["code"], "bad-json");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("Cannot read the request's JSON"),
        "{body}"
    );

    // Japanese by default; unknown fields refused; a missing name explained.
    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            "/api/v1/people",
            Some(&admin),
            json!({"display_name":"a","shoe_size":27}),
        )
        .await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "bad-json");
    assert!(
        body["error"]["message"].as_str().unwrap().contains("shoe_size"),
        "{body}"
    );
    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(&app, "/api/v1/people", Some(&admin), json!({"display_name":"  "})).await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "person-name-missing");
    assert_eq!(body["error"]["message"].as_str(), Some("表示名を入力してください"));
    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            "/api/v1/people",
            Some(&admin),
            json!({"display_name":"山田","area_id":"nowhere"}),
        )
        .await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "area-unknown");
    let (s, person) = post(
        &app,
        "/api/v1/people",
        Some(&admin),
        json!({"display_name":"山田 太郎"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "a name is enough: {person}");

    // Oversize body: 413 with the limit.
    let big = format!("{{\"display_name\":\"{}\"}}", "あ".repeat(1_100_000));
    let res = reqwest::Client::new()
        .post(app.url("/api/v1/people"))
        .bearer_auth(&admin)
        .header("Content-Type", "application/json")
        .body(big)
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::PAYLOAD_TOO_LARGE, "payload-too-large");
    let body: Value = res.json();
    assert_eq!(body["error"]["code"], "payload-too-large");
    assert!(body["error"]["message"].as_str().unwrap().contains("1048576"), "{body}");

    // Bad query values.
    let (s, body) = get(&app, "/api/v1/areas/at?lat=north&lon=1", None).await;
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "query-invalid");
    let (s, refusal) = get(&app, "/api/v1/areas/at?lat=95&lon=1", None).await;
    assert_refused(&(s, &refusal), StatusCode::BAD_REQUEST, "query-invalid");

    // Duplicate membership → 409; unknown role → 400.
    let sato = app.person_of("sato").await;
    let (_, orgs) = get(&app, "/api/v1/organisations", None).await;
    let npo = orgs.as_array().unwrap().iter().find(|o| o["kind"] == "npo").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let m = json!({"person_id": sato, "organisation_id": npo, "role": "volunteer"});
    assert_eq!(
        post(&app, "/api/v1/memberships", Some(&admin), m.clone()).await.0,
        StatusCode::CREATED
    );
    assert_refused(
        &assert_unchanged!(
            app.snapshot().await,
            post(&app, "/api/v1/memberships", Some(&admin), m).await
        ),
        StatusCode::CONFLICT,
        "membership-exists",
    );
    let (s, body) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            "/api/v1/memberships",
            Some(&admin),
            json!({"person_id": sato, "organisation_id": npo, "role": "king"}),
        )
        .await
    );
    assert_refused(&(s, &body), StatusCode::BAD_REQUEST, "role-invalid");
}

#[tokio::test]
async fn tokens_are_shown_once_and_revocable() {
    let app = spawn_demo_app().await;
    let token = app.token_for("sato").await;
    let (s, created) = post(&app, "/api/v1/me/tokens", Some(&token), json!({"name":"見守り電球"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_string();
    let (s, me) = get(&app, "/api/v1/me", Some(&secret)).await;
    assert_eq!((s, me["person"]["display_name"].is_string()), (StatusCode::OK, true));
    let (_, list) = get(&app, "/api/v1/me/tokens", Some(&secret)).await;
    assert!(
        list.as_array()
            .unwrap()
            .iter()
            .all(|t| t.get("secret").is_none() && t.get("token_hash").is_none())
    );

    let id = created["id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    let (s, body) = get(&app, "/api/v1/me", Some(&secret)).await;
    assert_refused(&(s, &body), StatusCode::UNAUTHORIZED, "token-invalid");
    let (s, refusal) = get(&app, "/api/v1/me", Some("machi_not-a-token")).await;
    assert_refused(&(s, &refusal), StatusCode::UNAUTHORIZED, "token-invalid");
    let res = reqwest::Client::new()
        .get(app.url("/api/v1/me"))
        .header("Authorization", "Basic abc")
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::UNAUTHORIZED, "token-invalid");
}

#[tokio::test]
async fn households_consents_and_me() {
    let app = spawn_demo_app().await;
    let tanaka = app.person_of("tanaka").await;
    let token = app.token_for("tanaka").await;
    let (s, me) = get(&app, "/api/v1/me", Some(&token)).await;
    assert_eq!(s, StatusCode::OK);
    let household = me["household"]["id"].as_str().unwrap().to_string();
    assert_eq!(
        me["household"]["members"].as_array().unwrap().len(),
        1,
        "tanaka lives alone"
    );
    assert_eq!(
        get(&app, &format!("/api/v1/households/{household}"), Some(&token))
            .await
            .0,
        StatusCode::OK
    );
    let sato = app.token_for("sato").await;
    assert_refused(
        &get(&app, &format!("/api/v1/households/{household}"), Some(&sato)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    let (s, c) = post(
        &app,
        &format!("/api/v1/people/{tanaka}/consents"),
        Some(&token),
        json!({"purpose":"見守り","scope":"家族・ケアマネジャー"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(c["by_guardian"], false);
    let (s, w) = post(
        &app,
        &format!(
            "/api/v1/people/{tanaka}/consents/{}/withdraw",
            c["id"].as_str().unwrap()
        ),
        Some(&token),
        json!({}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    assert!(w["withdrawn_at"].is_i64());
    let res = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &format!("/api/v1/people/{tanaka}/consents"),
            Some(&sato),
            json!({"purpose":"x","scope":"y"})
        )
        .await
    );
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
}

#[tokio::test]
async fn health_readiness_metrics_and_openapi() {
    let app = spawn_demo_app().await;
    let res = reqwest::Client::new().get(app.url("/healthz")).send().await.unwrap();
    assert_eq!(res.status(), StatusCode::OK);
    assert!(res.headers().contains_key("x-request-id"));
    // A probe shows no forms: no CSRF cookie made for it.
    assert!(!res.headers().contains_key("set-cookie"), "{:?}", res.headers());
    let ready = reqwest::Client::new()
        .get(app.url("/readyz"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(ready.starts_with("ok "), "{ready}");
    let metrics = reqwest::Client::new()
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metrics.contains("machi_http_requests_total{method=\"GET\",route=\"/healthz\",status=\"200\"} 1"),
        "{metrics}"
    );

    let (s, doc) = get(&app, "/api/v1/openapi.json", None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"));
    for path in [
        "/api/v1/areas",
        "/api/v1/people/{id}",
        "/api/v1/identifiers/{kind}/{value}",
        "/api/v1/audit/verify",
    ] {
        assert!(
            doc["paths"].get(path).is_some(),
            "{path} missing from the OpenAPI document"
        );
    }
    assert!(doc["components"]["schemas"].get("Person").is_some());
}

#[tokio::test]
async fn review_fixes_households_areas_consent_and_bulk_audit() {
    let app = spawn_demo_app().await;
    let admin = app.token_for("admin").await;
    let tanaka = app.person_of("tanaka").await;
    let kaicho = app.person_of("kaicho").await;

    // A household representative cannot pull someone out of another household.
    let (_, me) = get(&app, "/api/v1/me", Some(&app.token_for("kaicho").await)).await;
    let household = me["household"]["id"].as_str().unwrap().to_string();
    let kaicho_token = app.token_for("kaicho").await;
    let rep = me["household"]["representative_id"].as_str().unwrap().to_string();
    let rep_token = if rep == kaicho {
        kaicho_token.clone()
    } else {
        token_for_person(&app, &rep).await
    };
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &format!("/api/v1/households/{household}/members"),
            Some(&rep_token),
            json!({"person_id": tanaka}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");
    // …but may add a person who has no household yet; the admin decides who acts for it.
    let (_, newcomer) = post(
        &app,
        "/api/v1/people",
        Some(&admin),
        json!({"display_name":"新住民", "area_id":"13999-1-01"}),
    )
    .await;
    let newcomer_id = newcomer["id"].as_str().unwrap();
    let (s, hh) = post(
        &app,
        &format!("/api/v1/households/{household}/members"),
        Some(&rep_token),
        json!({"person_id": newcomer_id, "relation":"同居人"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{hh}");
    let (s, refusal) = assert_unchanged!(
        app.snapshot().await,
        post(
            &app,
            &format!("/api/v1/households/{household}/members"),
            Some(&rep_token),
            json!({"person_id": newcomer_id, "representative": true}),
        )
        .await
    );
    assert_refused(&(s, &refusal), StatusCode::FORBIDDEN, "forbidden");

    // An area given by code is stored as the area's id.
    let (_, area) = get(&app, "/api/v1/areas/13999-1-01", None).await;
    assert_eq!(newcomer["area_id"], area["id"]);

    // Contact details through the API need the person's consent.
    let (s, body) = post(&app, "/api/v1/me/tokens", Some(&admin), json!({"name":"x"})).await;
    assert_eq!(s, StatusCode::CREATED, "{body}");
    let res = reqwest::Client::new()
        .put(app.url(&format!("/api/v1/people/{newcomer_id}")))
        .bearer_auth(&admin)
        .json(&json!({"display_name":"新住民","email":"new@example.jp"}))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "consent-needed-email");
    let body: Value = res.json();
    assert_eq!(body["error"]["code"], "consent-needed-email");

    // Listing people writes one entry per person listed, visible in each person's own log.
    let (s, listed) = get(&app, "/api/v1/people?area=13999-1", Some(&kaicho_token)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(listed.as_array().unwrap().iter().any(|p| p["id"] == tanaka));
    let (_, log) = get(
        &app,
        &format!("/api/v1/people/{tanaka}/audit"),
        Some(&app.token_for("tanaka").await),
    )
    .await;
    assert!(
        log.as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "people.list" && e["actor_id"] == kaicho),
        "{log}"
    );
    assert_eq!(
        kernel::store::audit::verify(&app.kernel.db)
            .await
            .unwrap()
            .map(|n| n > 10),
        Ok(true)
    );
}

async fn token_for_person(app: &TestApp, person: &str) -> String {
    kernel::store::accounts::create_token(&app.kernel, person, "test")
        .await
        .unwrap()
        .1
}

#[tokio::test]
async fn audit_verify_notices_a_rewritten_head() {
    let app = spawn_demo_app().await;
    for i in 0..3 {
        kernel::store::audit::append(
            &app.kernel,
            kernel::model::audit::AuditRecord::new(None, "t", format!("r/{i}")),
        )
        .await
        .unwrap();
    }
    // Remove the last entry and wind the head back: the head's hash no longer matches.
    kernel::on_db!(&app.kernel.db, |p| async {
        sqlx::query("DELETE FROM audit_log WHERE seq = 3").execute(p).await?;
        sqlx::query("UPDATE audit_head SET seq = 2 WHERE id = 1")
            .execute(p)
            .await?;
        Ok::<(), sqlx::Error>(())
    }
    .await)
    .unwrap();
    let broken = kernel::store::audit::verify(&app.kernel.db).await.unwrap().unwrap_err();
    assert_eq!(broken, kernel::model::audit::BrokenLink::Altered { seq: 2 });
}

// ---- issue 20: a resident makes themself reachable (area, household, contacts) ----

async fn send(app: &TestApp, method: reqwest::Method, path: &str, token: &str, body: Value) -> (StatusCode, Value) {
    request(app, Some(token), method, path, Some(body)).await
}

/// A resident who has just signed up: a name and a login, nothing else. (person id, token)
async fn newcomer(app: &TestApp, login: &str) -> (String, String) {
    let k = &app.kernel;
    let p = kernel::store::people::create(
        k,
        kernel::model::person::PersonInput {
            display_name: format!("新しい {login}"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let hash = kernel::store::accounts::hash_password("a long enough phrase".into())
        .await
        .unwrap();
    kernel::store::accounts::create_account(k, &p.id, login, &hash)
        .await
        .unwrap();
    let token = kernel::store::accounts::create_token(k, &p.id, "test").await.unwrap().1;
    (p.id, token)
}

async fn area_of(app: &TestApp, person: &str) -> Option<String> {
    let p = kernel::store::people::require(&app.kernel.db, person).await.unwrap();
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
async fn a_resident_sets_their_area_by_address_code_or_point_and_bad_input_changes_nothing() {
    let app = spawn_demo_app().await;
    let (me, token) = newcomer(&app, "newcomer").await;
    let put = reqwest::Method::PUT;
    let (s, reach) = get(&app, "/api/v1/me/reach", Some(&token)).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(reach, json!({"no_area": true, "no_household": true}));

    // Refusals name the reason, in the asker's language, and change nothing.
    for (body, code, words) in [
        (
            json!({"address": "みどり町"}),
            "address-ambiguous",
            "みどり町一丁目、みどり町二丁目、みどり町三丁目",
        ),
        (
            json!({"address": "東京都千代田区"}),
            "address-no-match",
            "「東京都千代田区」に合う町丁目が見つかりません",
        ),
        (
            json!({"area": "13999-1"}),
            "address-area-not-chome",
            "北みどり地区 は町丁目ではありません",
        ),
        (json!({"area": "nowhere"}), "address-area-unknown", "nowhere"),
        (
            json!({"lat": 35.0, "lon": 135.0}),
            "address-point-outside",
            "まちの町丁目の中にありません",
        ),
        (json!({"lat": 95.0, "lon": 135.0}), "query-invalid", "lat -90..90"),
        (json!({}), "address-missing", "どれかを指定してください"),
    ] {
        let (s, e) = assert_unchanged!(
            app.snapshot().await,
            send(&app, put.clone(), "/api/v1/me/address", &token, body.clone()).await
        );
        assert_refused(&(s, &e), StatusCode::BAD_REQUEST, code);
        assert_eq!(e["error"]["code"], code, "{body}: {e}");
        assert!(e["error"]["message"].as_str().unwrap().contains(words), "{e}");
        assert_eq!(area_of(&app, &me).await, None, "{body} changed nothing");
    }

    // The address as written; then a code; then a point inside 本町二丁目.
    let (s, r) = send(
        &app,
        put.clone(),
        "/api/v1/me/address",
        &token,
        json!({"address": "みどり町１丁目３－５"}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{r}");
    assert_eq!(r["area"]["name"], "みどり町一丁目");
    assert_eq!(r["address"], "みどり町１丁目３－５");
    assert_eq!(r["reach"], json!({"no_area": false, "no_household": true}));
    let (s, r) = send(
        &app,
        put.clone(),
        "/api/v1/me/address",
        &token,
        json!({"area": "13999-3-02"}),
    )
    .await;
    assert_eq!((s, r["area"]["name"].as_str()), (StatusCode::OK, Some("南町二丁目")));
    let (s, r) = send(
        &app,
        put.clone(),
        "/api/v1/me/address",
        &token,
        json!({"lat": 35.678, "lon": 139.56}),
    )
    .await;
    assert_eq!(
        (s, r["area"]["name"].as_str()),
        (StatusCode::OK, Some("本町二丁目")),
        "{r}"
    );
    assert_eq!(area_of(&app, &me).await.as_deref(), Some("本町二丁目"));

    // In English too.
    let res = reqwest::Client::new()
        .put(app.url("/api/v1/me/address"))
        .bearer_auth(&token)
        .header("Accept-Language", "en")
        .json(&json!({"address": "nowhere at all"}))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::BAD_REQUEST, "address-no-match");
    let e: Value = res.json();
    assert!(
        e["error"]["message"].as_str().unwrap().starts_with("No area matches"),
        "{e}"
    );

    // Anonymous: 401. And the OpenAPI document describes the new endpoints.
    let res = reqwest::Client::new()
        .put(app.url("/api/v1/me/address"))
        .json(&json!({"area": "13999-1-01"}))
        .send()
        .await
        .unwrap();
    let res = crate::common::read(res).await;
    assert_refused(&res, StatusCode::UNAUTHORIZED, "unauthorized");
    let (_, doc) = get(&app, "/api/v1/openapi.json", None).await;
    for path in [
        "/api/v1/me/address",
        "/api/v1/me/reach",
        "/api/v1/me/household",
        "/api/v1/me/household/join",
        "/api/v1/me/household/code",
        "/api/v1/me/contacts",
    ] {
        assert!(doc["paths"].get(path).is_some(), "{path} is documented");
    }
}

#[tokio::test]
async fn a_resident_makes_a_household_and_family_joins_it_by_its_code() {
    let app = spawn_demo_app().await;
    let (a, ta) = newcomer(&app, "akiko").await;
    let (b, tb) = newcomer(&app, "bunta").await;
    let post_ = reqwest::Method::POST;

    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        send(&app, post_.clone(), "/api/v1/me/household", &ta, json!({"name": "  "})).await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "household-name-missing");
    let (s, h) = send(
        &app,
        post_.clone(),
        "/api/v1/me/household",
        &ta,
        json!({"name": "秋子の家"}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    assert_eq!(h["representative_id"], a.as_str());
    assert_eq!(h["members"].as_array().unwrap().len(), 1);
    let (s, code) = get(&app, "/api/v1/me/household/code", Some(&ta)).await;
    assert_eq!(s, StatusCode::OK);
    let code = code["code"].as_str().unwrap().to_string();
    assert_eq!(code.len(), 9, "{code}");
    let (s, again) = get(&app, "/api/v1/me/household/code", Some(&ta)).await;
    assert_eq!(
        (s, again["code"].as_str()),
        (StatusCode::OK, Some(code.as_str())),
        "the code stays"
    );

    // A wrong code: refused, nothing changed. Someone with no household has no code to show.
    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        send(
            &app,
            post_.clone(),
            "/api/v1/me/household/join",
            &tb,
            json!({"code": "ZZZZ-9999"}),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "household-code-unknown");
    assert!(e["error"]["message"].as_str().unwrap().contains("ZZZZ-9999"));
    assert_eq!(
        kernel::store::people::household_of(&app.kernel.db, &b).await.unwrap(),
        None
    );
    assert_refused(
        &get(&app, "/api/v1/me/household/code", Some(&tb)).await,
        StatusCode::NOT_FOUND,
        "household-not-found",
    );

    // The right code, typed in lower case without its hyphen.
    let typed = code.replace('-', "").to_lowercase();
    let (s, h) = send(
        &app,
        post_.clone(),
        "/api/v1/me/household/join",
        &tb,
        json!({"code": typed}),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{h}");
    assert_eq!(h["members"].as_array().unwrap().len(), 2);
    assert_eq!(
        h["representative_id"],
        a.as_str(),
        "joining does not change who represents it"
    );
    // Only the representative shows the code.
    assert_refused(
        &get(&app, "/api/v1/me/household/code", Some(&tb)).await,
        StatusCode::FORBIDDEN,
        "forbidden",
    );

    // The representative's area moves the household (what safety checks ask by).
    let put = reqwest::Method::PUT;
    let (s, _) = send(&app, put, "/api/v1/me/address", &ta, json!({"area": "13999-1-01"})).await;
    assert_eq!(s, StatusCode::OK);
    let hid = kernel::store::people::household_of(&app.kernel.db, &a)
        .await
        .unwrap()
        .unwrap();
    let hh = kernel::store::households::require(&app.kernel.db, &hid).await.unwrap();
    let area = kernel::store::areas::get(&app.kernel.db, "13999-1-01")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(hh.area_id.as_deref(), Some(area.id.as_str()));
    let (_, reach) = get(&app, "/api/v1/me/reach", Some(&ta)).await;
    assert_eq!(reach, json!({"no_area": false, "no_household": false}));
}

#[tokio::test]
async fn contacts_need_consent_which_is_recorded_and_removing_one_withdraws_it() {
    let app = spawn_demo_app().await;
    let (me, token) = newcomer(&app, "contact").await;
    let put = reqwest::Method::PUT;
    let consents = || async { kernel::store::consents::of_person(&app.kernel.db, &me).await.unwrap() };

    let (s, e) = assert_unchanged!(
        app.snapshot().await,
        send(
            &app,
            put.clone(),
            "/api/v1/me/contacts",
            &token,
            json!({"kind": "email", "value": "c@example.jp"}),
        )
        .await
    );
    assert_refused(&(s, &e), StatusCode::BAD_REQUEST, "consent-needed-email");
    assert!(consents().await.is_empty());
    let (s, p) = send(
        &app,
        put.clone(),
        "/api/v1/me/contacts",
        &token,
        json!({"kind": "email", "value": "c@example.jp", "consent": true}),
    )
    .await;
    assert_eq!((s, p["email"].as_str()), (StatusCode::OK, Some("c@example.jp")), "{p}");
    let (s, _) = send(
        &app,
        put.clone(),
        "/api/v1/me/contacts",
        &token,
        json!({"kind": "email", "value": "c2@example.jp", "consent": true}),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let c = consents().await;
    assert_eq!(c.len(), 1, "one consent for the purpose while it stands");
    assert_eq!(
        (c[0].scope.as_str(), c[0].purpose.as_str()),
        ("email", "緊急情報・お知らせのメール配信")
    );

    for (body, code) in [
        (
            json!({"kind": "email", "value": "not an address", "consent": true}),
            "person-email-invalid",
        ),
        (
            json!({"kind": "phone", "value": "call me", "consent": true}),
            "contact-phone-invalid",
        ),
        (
            json!({"kind": "fax", "value": "1", "consent": true}),
            "contact-kind-unknown",
        ),
    ] {
        let (s, e) = assert_unchanged!(
            app.snapshot().await,
            send(&app, put.clone(), "/api/v1/me/contacts", &token, body.clone()).await
        );
        assert_refused(&(s, &e), StatusCode::BAD_REQUEST, code);
    }
    let p = kernel::store::people::require(&app.kernel.db, &me).await.unwrap();
    assert_eq!(
        (p.email.as_deref(), p.phone.as_deref()),
        (Some("c2@example.jp"), None),
        "refusals changed nothing"
    );

    let (s, p) = send(
        &app,
        put.clone(),
        "/api/v1/me/contacts",
        &token,
        json!({"kind": "phone", "value": "０４２－５５５－０１０１", "consent": true}),
    )
    .await;
    assert_eq!((s, p["phone"].as_str()), (StatusCode::OK, Some("042-555-0101")));
    // Removing the e-mail address withdraws its consent; the phone's stands.
    let (s, p) = send(
        &app,
        put,
        "/api/v1/me/contacts",
        &token,
        json!({"kind": "email", "value": ""}),
    )
    .await;
    assert_eq!((s, p["email"].clone()), (StatusCode::OK, Value::Null));
    let c = consents().await;
    let active: Vec<&str> = c.iter().filter(|c| c.is_active()).map(|c| c.scope.as_str()).collect();
    assert_eq!(active, vec!["phone"]);
    assert_eq!(c.len(), 2);
}

/// Take the audit log's head row away, so that every append fails until `mend_audit` puts it
/// back; returns the head to put back.
pub(crate) async fn break_audit(app: &TestApp) -> (i64, String) {
    kernel::on_db!(&app.kernel.db, |p| async {
        let head: (i64, String) = sqlx::query_as("SELECT seq, hash FROM audit_head WHERE id = 1")
            .fetch_one(p)
            .await
            .unwrap();
        sqlx::query("DELETE FROM audit_head WHERE id = 1")
            .execute(p)
            .await
            .unwrap();
        head
    }
    .await)
}

pub(crate) async fn mend_audit(app: &TestApp, (seq, hash): (i64, String)) {
    kernel::on_db!(&app.kernel.db, |p| sqlx::query(
        "INSERT INTO audit_head (id, seq, hash) VALUES (1, $1, $2)"
    )
    .bind(seq)
    .bind(&hash)
    .execute(p)
    .await
    .map(|_| ()))
    .unwrap();
}

/// The newest entry of the whole log.
pub(crate) async fn last_entry(app: &TestApp) -> kernel::model::audit::AuditEntry {
    let db = &app.kernel.db;
    let seq: i64 = kernel::on_db!(db, |p| sqlx::query_scalar("SELECT seq FROM audit_head WHERE id = 1")
        .fetch_one(p)
        .await)
    .unwrap();
    kernel::store::audit::page(db, seq - 1, 1).await.unwrap().pop().unwrap()
}

/// A change commits with the entry recording it: when the entry cannot be written the change is
/// not made either; when it can, both are there and the chain holds.
#[tokio::test]
async fn a_change_is_made_only_with_its_audit_entry() {
    let app = spawn_demo_app().await;
    let admin = app.token_for("admin").await;
    let body = json!({"kind": "npo", "name": "みどり子ども食堂"});
    let head = break_audit(&app).await;
    let (s, v) = assert_unchanged!(
        app.snapshot().await,
        post(&app, "/api/v1/organisations", Some(&admin), body.clone()).await
    );
    assert_refused(&(s, &v), StatusCode::INTERNAL_SERVER_ERROR, "internal");
    mend_audit(&app, head).await;
    let (s, o) = post(&app, "/api/v1/organisations", Some(&admin), body).await;
    assert_eq!(s, StatusCode::CREATED, "{o}");
    let id = o["id"].as_str().unwrap();
    assert!(kernel::store::orgs::get(&app.kernel.db, id).await.unwrap().is_some());
    let e = last_entry(&app).await;
    assert_eq!(
        (e.action.as_str(), e.resource.as_str(), e.actor_id),
        (
            "organisations.manage",
            format!("organisation/{id}").as_str(),
            Some(app.person_of("admin").await)
        )
    );
    assert!(kernel::store::audit::verify(&app.kernel.db).await.unwrap().is_ok());
}

/// A JSON request to a node at `base` (another app instance on the same database).
async fn get_at(base: &str, path: &str, token: &str) -> (StatusCode, Value) {
    let res = reqwest::Client::new()
        .get(format!("{base}{path}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn a_revoked_token_is_refused_at_once_by_every_node() {
    // Two nodes on one database; both have just resolved the token (and keep its actor).
    let app = spawn_demo_app().await;
    let (peer, _peer_kernel) = server::testing::spawn_peer(&app).await;
    let nodes = [app.url(""), format!("http://{peer}")];
    let token = app.token_for("sato").await;
    let (s, created) = post(&app, "/api/v1/me/tokens", Some(&token), json!({"name":"端末"})).await;
    assert_eq!(s, StatusCode::CREATED);
    let secret = created["secret"].as_str().unwrap().to_string();
    for node in &nodes {
        assert_eq!(get_at(node, "/api/v1/me", &secret).await.0, StatusCode::OK);
    }
    let id = created["id"].as_str().unwrap();
    let res = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/me/tokens/{id}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    // The very next request, on the other node first.
    for node in nodes.iter().rev() {
        let (s, body) = assert_unchanged!(app.snapshot().await, get_at(node, "/api/v1/me", &secret).await);
        assert_refused(&(s, &body), StatusCode::UNAUTHORIZED, "token-invalid");
    }
    // The owner's other token was not touched.
    for node in &nodes {
        assert_eq!(get_at(node, "/api/v1/me", &token).await.0, StatusCode::OK);
    }
}

#[tokio::test]
async fn a_role_taken_away_or_given_counts_at_once_on_every_node() {
    let app = spawn_demo_app().await;
    let (peer, _peer_kernel) = server::testing::spawn_peer(&app).await;
    let nodes = [app.url(""), format!("http://{peer}")];
    let admin = app.token_for("admin").await;
    let kaicho = app.token_for("kaicho").await;
    let tanaka = app.person_of("tanaka").await;
    let read_tanaka = format!("/api/v1/people/{tanaka}");
    // The officer of district 1 reads tanaka (district 1) on both nodes.
    for node in &nodes {
        assert_eq!(get_at(node, &read_tanaka, &kaicho).await.0, StatusCode::OK);
    }
    let (_, me) = get(&app, "/api/v1/me", Some(&kaicho)).await;
    let membership = me["memberships"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["role"] == "officer")
        .unwrap_or_else(|| panic!("kaicho is an officer: {me}"))
        .clone();
    let res = reqwest::Client::new()
        .delete(app.url(&format!("/api/v1/memberships/{}", membership["id"].as_str().unwrap())))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::NO_CONTENT);
    for node in nodes.iter().rev() {
        let (s, body) = assert_unchanged!(app.snapshot().await, get_at(node, &read_tanaka, &kaicho).await);
        assert_refused(&(s, &body), StatusCode::FORBIDDEN, "forbidden");
    }
    // Given back (on the other node): it counts at once too.
    let res = reqwest::Client::new()
        .post(format!("http://{peer}/api/v1/memberships"))
        .bearer_auth(&admin)
        .json(&json!({
            "person_id": membership["person_id"],
            "organisation_id": membership["organisation_id"],
            "role": "officer",
            "area_id": membership["area_id"],
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::CREATED);
    for node in &nodes {
        assert_eq!(get_at(node, &read_tanaka, &kaicho).await.0, StatusCode::OK);
    }
}
