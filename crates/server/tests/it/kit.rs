//! The test kit itself: the snapshot sees a write, `assert_refused` reads the code of a JSON
//! error and the sentence of a page, and `app.as_` acts on both the API and the web.

use reqwest::StatusCode;
use serde_json::json;
use server::testing::spawn_demo_app;

use crate::common::{AppExt, assert_refused};

#[tokio::test]
async fn the_snapshot_sees_a_write_and_assert_refused_reads_codes_and_pages() {
    let app = spawn_demo_app().await;
    let before = app.snapshot().await;
    assert!(
        before.0.get("people").is_some_and(|rows| !rows.is_empty()),
        "{before:?}"
    );
    assert!(!before.0.contains_key("audit_log"), "the audit trail is left out");
    let admin = app.as_("admin").await;
    let tanaka = app.as_("tanaka").await;
    let (s, _) = admin
        .post(
            &format!("/people/{}/identifiers", tanaka.person),
            json!({"kind": "ic_card", "value": "9999000011110001"}),
        )
        .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_ne!(app.snapshot().await, before, "a write shows in the snapshot");

    // A JSON refusal: the status and the code.
    let res = tanaka.get("/audit").await;
    assert_refused(&res, StatusCode::FORBIDDEN, "forbidden");
    let wrong = std::panic::catch_unwind(|| assert_refused(&res, StatusCode::FORBIDDEN, "not-found"));
    assert!(wrong.is_err(), "another code is not accepted");
    let wrong = std::panic::catch_unwind(|| assert_refused(&res, StatusCode::NOT_FOUND, "forbidden"));
    assert!(wrong.is_err(), "another status is not accepted");

    // A page refusal: the status and the sentence of the code, in the person's own shell.
    let page = tanaka.page("/admin").await;
    assert_refused(&page, StatusCode::FORBIDDEN, "forbidden");
    assert!(
        page.body.contains("田中 ハナ"),
        "logged in by the first page: {}",
        page.body
    );
    let wrong = std::panic::catch_unwind(|| assert_refused(&page, StatusCode::FORBIDDEN, "route-not-found"));
    assert!(wrong.is_err(), "a page that does not say it is not refused with it");
}

/// One `kernel::store::Tx` holds a change and the audit entry that records it: dropped without
/// commit, neither is left (and the chain is whole); committed, both are there.
#[tokio::test]
async fn a_dropped_transaction_leaves_neither_the_change_nor_its_audit_entry() {
    use kernel::model::audit::AuditRecord;
    async fn rename(tx: &mut kernel::store::Tx, person: &str) -> u64 {
        kernel::on_tx!(tx, |c| sqlx::query(
            "UPDATE people SET display_name = '改名' WHERE id = $1"
        )
        .bind(person)
        .execute(&mut **c)
        .await
        .unwrap()
        .rows_affected())
    }
    let app = spawn_demo_app().await;
    let k = &app.kernel;
    let tanaka = app.person_of("tanaka").await;
    let entries = || async { kernel::store::audit::page(&k.db, 0, 1_000_000).await.unwrap() };
    let record = || AuditRecord::new(None, "test.rename", format!("person/{tanaka}")).subject(&tanaka);
    let before = app.snapshot().await;
    let logged = entries().await;

    {
        let mut tx = k.db.begin().await.unwrap();
        assert_eq!(rename(&mut tx, &tanaka).await, 1);
        kernel::store::audit::append_in(&mut tx, k.now(), vec![record()])
            .await
            .unwrap();
        // Dropped here without commit: rolled back.
    }
    assert_eq!(app.snapshot().await, before, "the change is gone");
    assert_eq!(entries().await, logged, "and so is its entry");
    assert!(kernel::store::audit::verify(&k.db).await.unwrap().is_ok());

    let mut tx = k.db.begin().await.unwrap();
    assert_eq!(rename(&mut tx, &tanaka).await, 1);
    kernel::store::audit::append_in(&mut tx, k.now(), vec![record()])
        .await
        .unwrap();
    tx.commit().await.unwrap();
    let name = kernel::store::people::get(&k.db, &tanaka)
        .await
        .unwrap()
        .unwrap()
        .display_name;
    assert_eq!(name, "改名", "committed, the change is there");
    let after = entries().await;
    assert_eq!(after.len(), logged.len() + 1);
    assert_eq!(
        (
            after.last().unwrap().action.as_str(),
            after.last().unwrap().subject_id.as_deref()
        ),
        ("test.rename", Some(tanaka.as_str())),
        "and its entry"
    );
    assert!(kernel::store::audit::verify(&k.db).await.unwrap().is_ok());
}
