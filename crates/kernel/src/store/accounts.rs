//! Accounts (login name + argon2id password hash) and personal API tokens (stored hashed,
//! shown once, revocable), and turning either into the policy's [`Actor`].

use serde::Serialize;
use utoipa::ToSchema;

use crate::model::Id;
use crate::model::policy::Actor;
use crate::model::token::{new_token, token_hash, token_hint};
use crate::store::{Db, Tx};
use crate::{Error, Kernel, Result, on_db, on_tx};

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
    let mut tx = k.db.begin().await?;
    create_account_in(&mut tx, k, person_id, login, password_hash).await?;
    tx.commit().await
}

/// `create_account` inside the caller's transaction (with the entry recording it).
pub async fn create_account_in(
    tx: &mut Tx,
    k: &Kernel,
    person_id: &str,
    login: &str,
    password_hash: &str,
) -> Result<()> {
    on_tx!(tx, |t| sqlx::query(
        "INSERT INTO accounts (person_id, login, password_hash, created_at) VALUES ($1,$2,$3,$4)"
    )
    .bind(person_id)
    .bind(login)
    .bind(password_hash)
    .bind(k.now())
    .execute(&mut **t)
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

/// A token's name, trimmed: 1 to 100 characters.
pub fn token_name(name: &str) -> Result<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 100 {
        return Err(Error::invalid("token-name-invalid"));
    }
    Ok(name)
}

/// Create a token for a person. The secret is returned once and never stored.
pub async fn create_token(k: &Kernel, person_id: &str, name: &str) -> Result<(ApiToken, String)> {
    let mut tx = k.db.begin().await?;
    let made = create_token_in(&mut tx, k, person_id, name).await?;
    tx.commit().await?;
    Ok(made)
}

/// `create_token` inside the caller's transaction. A new token does not move
/// `token_generation` (no trigger on insert): the cache never remembers a miss, so the new
/// token is looked up on its first use.
pub async fn create_token_in(tx: &mut Tx, k: &Kernel, person_id: &str, name: &str) -> Result<(ApiToken, String)> {
    let name = token_name(name)?;
    crate::store::people::require_active_in(tx, person_id).await?;
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
    on_tx!(tx, |c| sqlx::query(
        "INSERT INTO api_tokens (id, person_id, name, hint, token_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6)"
    )
    .bind(&t.id)
    .bind(&t.person_id)
    .bind(&t.name)
    .bind(&t.hint)
    .bind(token_hash(&secret))
    .bind(t.created_at)
    .execute(&mut **c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok((t, secret))
}

/// The household each provisioned token is for, with the person it acts for: the
/// representative if they still live there, else the first member. (household, person) pairs.
pub async fn household_token_holders(db: &Db) -> Result<Vec<(Id, Id)>> {
    Ok(on_db!(db, |p| sqlx::query_as(
        "SELECT hid, holder FROM (SELECT h.id AS hid, COALESCE( \
         (SELECT hm.person_id FROM household_members hm JOIN people pe ON pe.id = hm.person_id \
          WHERE hm.household_id = h.id AND hm.person_id = h.representative_id AND pe.deleted_at IS NULL), \
         (SELECT MIN(hm.person_id) FROM household_members hm JOIN people pe ON pe.id = hm.person_id \
          WHERE hm.household_id = h.id AND pe.deleted_at IS NULL)) AS holder FROM households h) x \
         WHERE holder IS NOT NULL ORDER BY hid"
    )
    .fetch_all(p)
    .await)?)
}

/// One new token for each of these (household, person) pairs, inside the caller's
/// transaction: for home terminals and devices. Returns (household id, secret) pairs; secrets
/// are kept only as hashes.
pub async fn provision_household_tokens_in(
    tx: &mut Tx,
    k: &Kernel,
    name: &str,
    holders: &[(Id, Id)],
) -> Result<Vec<(Id, String)>> {
    let name = token_name(name)?;
    let now = k.now();
    let mut out = Vec::with_capacity(holders.len());
    for (household, person) in holders {
        let secret = new_token();
        on_tx!(tx, |t| sqlx::query(
            "INSERT INTO api_tokens (id, person_id, name, hint, token_hash, created_at) VALUES ($1,$2,$3,$4,$5,$6)",
        )
        .bind(k.new_id())
        .bind(person)
        .bind(name)
        .bind(token_hint(&secret))
        .bind(token_hash(&secret))
        .bind(now)
        .execute(&mut **t)
        .await
        .map(|r| r.rows_affected()))?;
        out.push((household.clone(), secret));
    }
    Ok(out)
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
    let mut tx = k.db.begin().await?;
    revoke_token_in(&mut tx, k, person_id, token_id).await?;
    tx.commit().await
}

/// `revoke_token` inside the caller's transaction.
pub async fn revoke_token_in(tx: &mut Tx, k: &Kernel, person_id: &str, token_id: &str) -> Result<()> {
    let n = on_tx!(tx, |t| sqlx::query(
        "UPDATE api_tokens SET revoked_at = COALESCE(revoked_at, $3) WHERE id = $1 AND person_id = $2"
    )
    .bind(token_id)
    .bind(person_id)
    .bind(k.now())
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::not_found("token-not-found"));
    }
    Ok(())
}

/// Revoke every live token of a person (after a password change they chose it for), inside
/// the caller's transaction; how many.
pub async fn revoke_all_tokens_in(tx: &mut Tx, k: &Kernel, person_id: &str) -> Result<u64> {
    Ok(on_tx!(tx, |t| sqlx::query(
        "UPDATE api_tokens SET revoked_at = $2 WHERE person_id = $1 AND revoked_at IS NULL"
    )
    .bind(person_id)
    .bind(k.now())
    .execute(&mut **t)
    .await
    .map(|r| r.rows_affected()))?)
}

/// The actor behind an API token, or None for an unknown or revoked token. Concurrent
/// lookups are answered together (see [`TokenLookups`]).
pub async fn actor_for_token(k: &Kernel, secret: &str) -> Result<Option<Actor>> {
    TokenLookups::of(k).resolve(token_hash(secret)).await
}

type Lookup = (String, tokio::sync::oneshot::Sender<Result<Option<Actor>>>);

/// Looks tokens up in batches: when a burst of requests arrives (every household answering
/// after a quake), one pass serves all the tokens waiting. The actors found are kept by token
/// hash while `token_generation` stays the same (its triggers move it on any change to tokens,
/// household members, memberships or organisations); every batch reads that one row first, in
/// the same read as its lookups, so a token revoked or a role taken away — by this process,
/// another process on the same file or another node — is refused from the next request on.
/// On a SQLite file the lookups run on a thread with a connection of its own (prepared
/// statements, a larger page cache) instead of the pool's workers.
pub struct TokenLookups {
    tx: tokio::sync::mpsc::Sender<Lookup>,
}

const LOOKUP_BATCH: usize = 256;

/// Most actors kept; past it the keeping starts over (a town's tokens fit several times).
const KNOWN_MAX: usize = 250_000;

/// A token's use is noted at most once a minute (to the minute is what its owner sees).
const USE_EVERY_MS: i64 = 60_000;

impl TokenLookups {
    fn of(k: &Kernel) -> std::sync::Arc<TokenLookups> {
        if let Some(l) = k.extensions.get::<TokenLookups>() {
            return l;
        }
        // Outside `get_or_init`, which holds the extensions' lock while it initialises.
        let uses = TokenUse::of(k);
        k.extensions.get_or_init(|| {
            let (tx, rx) = tokio::sync::mpsc::channel(LOOKUP_BATCH * 16);
            let known = Known::new(k.clock.clone(), uses);
            match crate::store::batch::own_connection(&k.db, LOOKUP_CACHE_KIB) {
                Some(Ok(conn)) => {
                    let started = std::thread::Builder::new()
                        .name("token-lookups".into())
                        .spawn(move || Self::run_file(conn, known, rx));
                    if let Err(e) = started {
                        tracing::error!(error = %e, "could not start the token lookup thread");
                    }
                }
                other => {
                    if let Some(Err(e)) = other {
                        tracing::warn!(error = %e, "token lookups: no connection of their own; using the pool");
                    }
                    tokio::spawn(Self::run_pool(k.clone(), known, rx));
                }
            }
            TokenLookups { tx }
        })
    }

    async fn resolve(&self, hash: String) -> Result<Option<Actor>> {
        let (reply, wait) = tokio::sync::oneshot::channel();
        let gone = || Error::Unavailable("token lookups stopped".into());
        self.tx.send((hash, reply)).await.map_err(|_| gone())?;
        wait.await.map_err(|_| gone())?
    }

    /// PostgreSQL, SQLite in memory: a task on the pool, one batch at a time (while it is looked
    /// up the next one gathers, so batches grow with the load).
    async fn run_pool(k: Kernel, mut known: Known, mut rx: tokio::sync::mpsc::Receiver<Lookup>) {
        let mut batch = Vec::with_capacity(LOOKUP_BATCH);
        while rx.recv_many(&mut batch, LOOKUP_BATCH).await > 0 {
            let result = async {
                // The generation before the lookups: what they find is at least that recent.
                let generation: Option<i64> = on_db!(&k.db, |p| sqlx::query_scalar(
                    "SELECT n FROM token_generation WHERE id = 1"
                )
                .fetch_optional(p)
                .await)?;
                known.check(generation);
                let missing: Vec<&str> = batch
                    .iter()
                    .map(|(h, _)| h.as_str())
                    .filter(|h| !known.actors.contains_key(*h))
                    .collect();
                if !missing.is_empty() {
                    let rows = lookup_pool(&k, &missing).await?;
                    known.add(rows);
                }
                Ok::<_, Error>(())
            }
            .await;
            known.reply(&mut batch, result);
        }
    }

    /// A SQLite file: a thread with its own connection, one read transaction per batch.
    fn run_file(mut conn: rusqlite::Connection, mut known: Known, mut rx: tokio::sync::mpsc::Receiver<Lookup>) {
        // Not memory-mapped: the answer writer grows the file during a burst, and each growth
        // remapped it (munmap, then a page fault per page touched) — measured slower (8 Dec).
        let mut batch = Vec::with_capacity(LOOKUP_BATCH);
        while rx.blocking_recv_many(&mut batch, LOOKUP_BATCH) > 0 {
            let result = lookup_file(&mut conn, &mut known, &batch)
                .map_err(|e| Error::Unavailable(format!("token lookups: {e}")));
            known.reply(&mut batch, result);
        }
    }
}

/// The lookup thread's page cache (KiB): the tokens and memberships of a large town fit, between
/// two commits of another connection (which make SQLite start its cache over).
const LOOKUP_CACHE_KIB: i64 = 16 * 1024;

/// A full load is followed by at least this many times its duration without another one.
const LOAD_SPACING: u32 = 10;

/// The actors resolved under one generation of `token_generation`.
struct Known {
    generation: Option<i64>,
    actors: std::collections::HashMap<String, Resolved>,
    /// Every live token of this generation was loaded in one pass. A miss is still looked up:
    /// creating a token does not move the generation (nothing kept can be wrong about it).
    complete: bool,
    /// When the last full load ended and how long it took (to space loads out, below).
    last_load: Option<(std::time::Instant, std::time::Duration)>,
    clock: std::sync::Arc<dyn crate::Clock>,
    uses: std::sync::Arc<TokenUse>,
}

struct Resolved {
    actor: Actor,
    token_id: Id,
    /// When this token's use was last noted (or its stored last use).
    noted_at: Option<i64>,
}

/// One row of a token lookup: a row per (token, membership), the membership columns empty for
/// people without any.
#[derive(sqlx::FromRow)]
struct Row {
    token_hash: String,
    token_id: Id,
    person_id: Id,
    last_used_at: Option<i64>,
    household_id: Option<Id>,
    organisation_id: Option<Id>,
    kind: Option<String>,
    duties: Option<String>,
    role: Option<String>,
    area_id: Option<Id>,
}

const LOOKUP_COLUMNS: &str = "SELECT t.token_hash, t.id AS token_id, t.person_id, t.last_used_at, hm.household_id, \
     m.organisation_id, o.kind, o.duties, m.role, m.area_id FROM api_tokens t \
     LEFT JOIN household_members hm ON hm.person_id = t.person_id \
     LEFT JOIN memberships m ON m.person_id = t.person_id \
     LEFT JOIN organisations o ON o.id = m.organisation_id";

impl Known {
    fn new(clock: std::sync::Arc<dyn crate::Clock>, uses: std::sync::Arc<TokenUse>) -> Known {
        Known {
            generation: None,
            actors: Default::default(),
            complete: false,
            last_load: None,
            clock,
            uses,
        }
    }

    /// Start over unless the generation just read is the one kept (none read: keep nothing).
    fn check(&mut self, generation: Option<i64>) {
        // After a full load only tokens created since are added; lookups one by one can pile up.
        let full = !self.complete && self.actors.len() >= KNOWN_MAX;
        if generation.is_none() || self.generation != generation || full {
            self.actors.clear();
            self.complete = false;
            self.generation = generation;
        }
    }

    /// Load every live token now? Once per generation, at the first miss, unless the last load
    /// ended less than [`LOAD_SPACING`] of its own duration ago: in a town whose memberships
    /// change every few seconds the loads then take at most about a tenth of the thread, and the
    /// misses in between are looked up one by one as before.
    fn wants_load(&self) -> bool {
        self.generation.is_some()
            && !self.complete
            && self
                .last_load
                .is_none_or(|(ended, took)| ended.elapsed() >= took * LOAD_SPACING)
    }

    /// Keep the actors of these rows (ordered by token, then membership).
    fn add(&mut self, rows: Vec<Row>) {
        use crate::model::org::{OrgKind, Role};
        use crate::model::policy::RoleGrant;
        let mut last: Option<String> = None;
        for r in rows {
            if last.as_deref() != Some(r.token_hash.as_str()) {
                // A token's rows come together: the first one starts its actor afresh.
                self.actors.insert(
                    r.token_hash.clone(),
                    Resolved {
                        actor: Actor {
                            person_id: Some(r.person_id.clone()),
                            household_id: r.household_id.clone(),
                            grants: Vec::new(),
                        },
                        token_id: r.token_id.clone(),
                        noted_at: r.last_used_at,
                    },
                );
                last = Some(r.token_hash.clone());
            }
            if let (Some(organisation_id), Some(kind), Some(role), Some(known)) =
                (r.organisation_id, r.kind, r.role, self.actors.get_mut(&r.token_hash))
            {
                known.actor.grants.push(RoleGrant {
                    role: Role::parse(&role).unwrap_or(Role::Resident),
                    organisation_id,
                    organisation_kind: OrgKind::parse(&kind).unwrap_or(OrgKind::Npo),
                    area_id: r.area_id,
                    duties: crate::store::orgs::split_duties(r.duties.as_deref().unwrap_or("")),
                });
            }
        }
    }

    /// Answer every lookup of the batch (from what is kept, unless the lookups failed), noting
    /// the tokens' use; without a generation (none read) nothing stays kept.
    fn reply(&mut self, batch: &mut Vec<Lookup>, result: Result<()>) {
        match result {
            Ok(()) => {
                let now = self.clock.now_ms();
                for (hash, reply) in batch.drain(..) {
                    let found = self.actors.get_mut(&hash).map(|r| {
                        if r.noted_at.is_none_or(|t| t < now - USE_EVERY_MS) {
                            self.uses.note(r.token_id.clone(), now);
                            r.noted_at = Some(now);
                        }
                        r.actor.clone()
                    });
                    let _ = reply.send(Ok(found));
                }
            }
            Err(e) => {
                let message = e.to_string();
                for (_, reply) in batch.drain(..) {
                    let _ = reply.send(Err(Error::Unavailable(message.clone())));
                }
            }
        }
        if self.generation.is_none() {
            self.actors.clear();
        }
    }
}

/// One batch on the lookup thread's connection: the generation and the tokens not kept, in one
/// read transaction (one snapshot).
fn lookup_file(conn: &mut rusqlite::Connection, known: &mut Known, batch: &[Lookup]) -> rusqlite::Result<()> {
    use rusqlite::OptionalExtension;
    let tx = conn.transaction()?;
    let generation: Option<i64> = tx
        .prepare_cached("SELECT n FROM token_generation WHERE id = 1")?
        .query_row([], |r| r.get(0))
        .optional()?;
    known.check(generation);
    let row = |r: &rusqlite::Row<'_>| {
        Ok(Row {
            token_hash: r.get(0)?,
            token_id: r.get(1)?,
            person_id: r.get(2)?,
            last_used_at: r.get(3)?,
            household_id: r.get(4)?,
            organisation_id: r.get(5)?,
            kind: r.get(6)?,
            duties: r.get(7)?,
            role: r.get(8)?,
            area_id: r.get(9)?,
        })
    };
    let missing = || batch.iter().any(|(h, _)| !known.actors.contains_key(h));
    if known.wants_load() && missing() {
        // A burst after a quake uses each household's token once: one pass over every live token
        // (same snapshot as the generation read above) instead of a B-tree descent per request.
        let started = std::time::Instant::now();
        let rows = tx
            .prepare_cached(&format!(
                "{LOOKUP_COLUMNS} WHERE t.revoked_at IS NULL ORDER BY t.token_hash, m.created_at, m.id"
            ))?
            .query_map([], row)?
            .collect::<rusqlite::Result<Vec<Row>>>()?;
        known.actors.clear();
        known.add(rows);
        known.complete = true;
        let took = started.elapsed();
        known.last_load = Some((std::time::Instant::now(), took));
        tracing::debug!(
            tokens = known.actors.len(),
            ms = took.as_millis() as u64,
            "token lookups: every live token kept"
        );
    }
    let mut one = tx.prepare_cached(&format!(
        "{LOOKUP_COLUMNS} WHERE t.token_hash = ?1 AND t.revoked_at IS NULL ORDER BY m.created_at, m.id"
    ))?;
    for (hash, _) in batch {
        if known.actors.contains_key(hash) {
            continue;
        }
        let rows = one.query_map([hash], row)?.collect::<rusqlite::Result<Vec<Row>>>()?;
        known.add(rows);
    }
    drop(one);
    tx.commit()
}

/// Rows for token hashes (live tokens only), in one query whatever their number.
async fn lookup_pool(k: &Kernel, hashes: &[&str]) -> Result<Vec<Row>> {
    // Padded (repeating the last hash) so a handful of statement texts serve every batch size.
    let padded = crate::store::padded_len(hashes.len());
    let sql = format!(
        "{LOOKUP_COLUMNS} WHERE t.token_hash IN ({}) AND t.revoked_at IS NULL ORDER BY t.token_hash, m.created_at, m.id",
        crate::store::padded_in_list(1, hashes.len())
    );
    Ok(on_db!(&k.db, |p| {
        let mut q = sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(sql.as_str()));
        for i in 0..padded {
            q = q.bind(hashes[i.min(hashes.len() - 1)]);
        }
        q.fetch_all(p).await
    })?)
}

/// Tokens used since the last write, written together every few seconds (last_used_at is shown
/// to the owner to the minute; it need not cost a write per request).
pub struct TokenUse {
    pending: std::sync::Mutex<std::collections::HashMap<Id, i64>>,
}

impl TokenUse {
    fn of(k: &Kernel) -> std::sync::Arc<TokenUse> {
        k.extensions.get_or_init(|| {
            let k2 = k.clone();
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                    if let Err(e) = TokenUse::of(&k2).flush(&k2).await {
                        tracing::warn!(error = %e, "could not note token use; will retry");
                    }
                }
            });
            TokenUse {
                pending: Default::default(),
            }
        })
    }

    fn note(&self, token_id: Id, at: i64) {
        if let Ok(mut p) = self.pending.lock() {
            p.insert(token_id, at);
        }
    }

    /// Write what is pending.
    pub async fn flush(&self, k: &Kernel) -> Result<usize> {
        let batch: Vec<(Id, i64)> = match self.pending.lock() {
            Ok(mut p) => p.drain().collect(),
            Err(_) => return Ok(0),
        };
        if let Err(e) = self.write(k, &batch).await {
            // Kept for the next flush (a newer use of the same token wins).
            if let Ok(mut p) = self.pending.lock() {
                for (id, at) in batch {
                    p.entry(id).or_insert(at);
                }
            }
            return Err(e);
        }
        Ok(batch.len())
    }

    async fn write(&self, k: &Kernel, batch: &[(Id, i64)]) -> Result<()> {
        // One short statement per 500 tokens (to the minute is all that is shown), so a burst of
        // new tokens never holds the write lock for long.
        for chunk in batch.chunks(500) {
            let at = chunk.iter().map(|(_, at)| *at).max().unwrap_or_default();
            let ph: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
            let sql = format!("UPDATE api_tokens SET last_used_at = $1 WHERE id IN ({})", ph.join(","));
            on_db!(&k.db, |p| {
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.as_str())).bind(at);
                for (id, _) in chunk {
                    q = q.bind(id);
                }
                q.execute(p).await.map(|_| ())
            })?;
        }
        Ok(())
    }
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

pub async fn set_password_hash_in(tx: &mut Tx, person_id: &str, hash: &str) -> Result<()> {
    on_tx!(tx, |t| sqlx::query(
        "UPDATE accounts SET password_hash = $2 WHERE person_id = $1"
    )
    .bind(person_id)
    .bind(hash)
    .execute(&mut **t)
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
