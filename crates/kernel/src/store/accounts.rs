//! Accounts (login name + argon2id password hash) and personal API tokens (stored hashed,
//! shown once, revocable), and turning either into the policy's [`Actor`].

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::Id;
use crate::model::policy::Actor;
use crate::model::token::{new_token, token_hash, token_hint};
use crate::store::Db;
use crate::{Error, Kernel, Result, on_db};

/// At most this many argon2 computations at once (19 MiB each), so a flood of logins cannot
/// exhaust memory; the others wait their turn.
static ARGON2_SLOTS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(4);

/// Hash a password with argon2id (OWASP parameters: 19 MiB, 2 passes). Slow by design, so
/// it runs off the async threads.
pub async fn hash_password(password: String) -> Result<String> {
    let _slot = ARGON2_SLOTS
        .acquire()
        .await
        .map_err(|e| Error::Internal(e.to_string()))?;
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHasher, SaltString};
        let mut salt = [0u8; 16];
        crate::model::token::fill_random(&mut salt);
        let salt = SaltString::encode_b64(&salt).map_err(|e| Error::Internal(e.to_string()))?;
        argon2::Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
            .map_err(|e| Error::Internal(e.to_string()))
    })
    .await
    .map_err(|e| Error::Internal(e.to_string()))?
}

pub async fn verify_password(password: String, hash: String) -> bool {
    let Ok(_slot) = ARGON2_SLOTS.acquire().await else {
        return false;
    };
    tokio::task::spawn_blocking(move || {
        use argon2::password_hash::{PasswordHash, PasswordVerifier};
        PasswordHash::new(&hash)
            .map(|h| {
                argon2::Argon2::default()
                    .verify_password(password.as_bytes(), &h)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

pub async fn create_account(k: &Kernel, person_id: &str, login: &str, password_hash: &str) -> Result<()> {
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO accounts (person_id, login, password_hash, created_at) VALUES ($1,$2,$3,$4)"
    )
    .bind(person_id)
    .bind(login)
    .bind(password_hash)
    .bind(k.now())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn person_by_login(db: &Db, login: &str) -> Result<Option<Id>> {
    Ok(on_db!(db, |p| sqlx::query_scalar(
        "SELECT person_id FROM accounts WHERE login = $1"
    )
    .bind(login)
    .fetch_optional(p)
    .await)?)
}

pub async fn password_hash_of(db: &Db, login: &str) -> Result<Option<(Id, String)>> {
    Ok(on_db!(db, |p| sqlx::query_as(
        "SELECT person_id, password_hash FROM accounts WHERE login = $1"
    )
    .bind(login)
    .fetch_optional(p)
    .await)?)
}

#[derive(Debug, Clone, PartialEq, Serialize, ToSchema, sqlx::FromRow)]
pub struct ApiToken {
    pub id: Id,
    pub person_id: Id,
    pub name: String,
    /// The first characters of the token, to recognise it.
    pub hint: String,
    pub created_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

/// Create a token for a person. The secret is returned once and never stored.
pub async fn create_token(k: &Kernel, person_id: &str, name: &str) -> Result<(ApiToken, String)> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("token-name-invalid"));
    }
    crate::store::people::require_active(&k.db, person_id).await?;
    let secret = new_token();
    let t = ApiToken {
        id: k.new_id(),
        person_id: person_id.to_string(),
        name: name.to_string(),
        hint: token_hint(&secret),
        created_at: k.now(),
        last_used_at: None,
        revoked_at: None,
    };
    on_db!(&k.db, |p| sqlx::query(
        "INSERT INTO api_tokens (id, person_id, name, hint, token_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(&t.id)
    .bind(&t.person_id)
    .bind(&t.name)
    .bind(&t.hint)
    .bind(token_hash(&secret))
    .bind(t.created_at)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((t, secret))
}

pub async fn tokens_of(db: &Db, person_id: &str) -> Result<Vec<ApiToken>> {
    Ok(on_db!(db, |p| sqlx::query_as::<_, ApiToken>(
        "SELECT id, person_id, name, hint, created_at, last_used_at, revoked_at FROM api_tokens \
         WHERE person_id = $1 ORDER BY created_at, id"
    )
    .bind(person_id)
    .fetch_all(p)
    .await)?)
}

pub async fn revoke_token(k: &Kernel, person_id: &str, token_id: &str) -> Result<()> {
    let n = on_db!(&k.db, |p| sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND person_id = $2"
    )
    .bind(token_id)
    .bind(person_id)
    .bind(k.now())
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::not_found("token-not-found"));
    }
    Ok(())
}

/// The person a live token belongs to. Marks it used (at most once a minute, to spare writes).
pub async fn person_for_token(k: &Kernel, secret: &str) -> Result<Option<Id>> {
    let row: Option<(Id, Id)> = on_db!(&k.db, |p| sqlx::query_as(
        "SELECT id, person_id FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL"
    )
    .bind(token_hash(secret))
    .fetch_optional(p)
    .await)?;
    let Some((token_id, person_id)) = row else {
        return Ok(None);
    };
    let now = k.now();
    on_db!(&k.db, |p| sqlx::query(
        "UPDATE api_tokens SET last_used_at = $2 WHERE id = $1 AND (last_used_at IS NULL OR last_used_at < $3)"
    )
    .bind(&token_id)
    .bind(now)
    .bind(now - 60_000)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(Some(person_id))
}

/// Everything the policy needs to know about a person acting.
pub async fn actor_for_person(db: &Db, person_id: &str) -> Result<Actor> {
    let memberships = crate::store::orgs::memberships_of(db, person_id).await?;
    let household_id = crate::store::people::household_of(db, &person_id.to_string()).await?;
    Ok(Actor {
        person_id: Some(person_id.to_string()),
        household_id,
        grants: crate::store::orgs::grants(&memberships),
    })
}

pub async fn set_password_hash(db: &Db, person_id: &str, hash: &str) -> Result<()> {
    on_db!(db, |p| sqlx::query(
        "UPDATE accounts SET password_hash = $2 WHERE person_id = $1"
    )
    .bind(person_id)
    .bind(hash)
    .execute(p)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

pub async fn login_of(db: &Db, person_id: &str) -> Result<Option<String>> {
    Ok(on_db!(db, |p| sqlx::query_scalar(
        "SELECT login FROM accounts WHERE person_id = $1"
    )
    .bind(person_id)
    .fetch_optional(p)
    .await)?)
}

/// A hash to verify against when the login does not exist, so a wrong login takes as long
/// as a wrong password and the two cannot be told apart.
pub async fn dummy_hash() -> &'static str {
    static DUMMY: tokio::sync::OnceCell<String> = tokio::sync::OnceCell::const_new();
    DUMMY
        .get_or_init(|| async { hash_password("machi-dummy-password".into()).await.unwrap_or_default() })
        .await
}

/// Password rules: 10 to 128 characters. Length is what protects; no composition rules.
pub fn password_problem(password: &str) -> Option<&'static str> {
    let n = password.chars().count();
    if n < 10 {
        Some("password-too-short")
    } else if n > 128 {
        Some("password-too-long")
    } else {
        None
    }
}

/// Login names: 3 to 32 lowercase letters, digits, `.`, `_` or `-`.
pub fn login_problem(login: &str) -> Option<&'static str> {
    let ok_chars = login
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b));
    if !(3..=32).contains(&login.len()) || !ok_chars {
        Some("login-invalid")
    } else {
        None
    }
}
