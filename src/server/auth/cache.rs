//! What every signed-in request reads, kept in this process: the session record (by its id)
//! and the member's admission (membership, role, verified address, open suspension, 2FA duty).
//! Each was a database round trip per request — two, with the check sqlx makes of a pooled
//! connection when it is handed back — for answers that change a few times a day.
//!
//! The database says when they change: triggers (migration `auth_cache`) `NOTIFY` channel
//! [`CHANNEL`] on every write that can change an answer — a session record updated or deleted,
//! a membership changed or removed, a suspension opened or lifted, a browser signed out, a
//! workspace closed or made to require 2FA, an address verified, a 2FA secret confirmed. Every
//! process listens ([`AuthCache::listen`]) and drops what it kept, so a kill switch pulled on
//! one replica holds on every replica within a notification's latency.
//!
//! The caches are used only while the listener is connected: before it first is, and from the
//! moment it loses its connection (notifications may have been missed) until it has a new one,
//! every lookup goes to the database and everything kept is dropped. A lookup racing a change
//! (read before the change commits, kept after its notification arrived) is caught by a
//! generation counter that every notification bumps: an answer is kept only if no notification
//! arrived while it was being read. Entries also expire on their own ([`ADMISSION_TTL`],
//! [`SESSION_TTL`]).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use sqlx::PgPool;
use sqlx::postgres::{PgListener, PgPoolOptions};
use tower_sessions::cookie::time::OffsetDateTime;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{self, SessionStore};

use super::guard::Admission;

/// The channel the `auth_cache` triggers notify.
pub const CHANNEL: &str = "ig_auth_cache";
/// An admission is read again at least this often, whatever happens; each read also refreshes
/// the session's "last seen" when it is older than five minutes.
pub const ADMISSION_TTL: Duration = Duration::from_secs(60);
/// A session record is read again at least this often.
pub const SESSION_TTL: Duration = Duration::from_secs(300);
const CAPACITY: u64 = 100_000;

/// (user, tenant, browser session): who an admission admits, where, through which sign-in.
pub type AdmissionKey = (uuid::Uuid, uuid::Uuid, uuid::Uuid);

pub struct AuthCache {
    live: AtomicBool,
    generation: AtomicU64,
    sessions: moka::sync::Cache<String, Record>,
    admissions: moka::sync::Cache<AdmissionKey, Admission>,
}

impl std::fmt::Debug for AuthCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthCache")
            .field("live", &self.live.load(Ordering::Relaxed))
            .field("sessions", &self.sessions.entry_count())
            .field("admissions", &self.admissions.entry_count())
            .finish()
    }
}

impl Default for AuthCache {
    fn default() -> Self {
        Self {
            live: AtomicBool::new(false),
            generation: AtomicU64::new(0),
            sessions: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(SESSION_TTL)
                .build(),
            admissions: moka::sync::Cache::builder()
                .max_capacity(CAPACITY)
                .time_to_live(ADMISSION_TTL)
                .build(),
        }
    }
}

impl AuthCache {
    /// Whether lookups may use what is kept (the listener is connected).
    pub fn is_live(&self) -> bool {
        self.live.load(Ordering::Acquire)
    }

    /// The generation to pass to a `keep_*` after reading from the database; `None` while not
    /// live (nothing is kept then).
    pub fn generation(&self) -> Option<u64> {
        self.is_live()
            .then(|| self.generation.load(Ordering::Acquire))
    }

    /// How many admissions are kept (tests and diagnostics).
    pub fn admissions_kept(&self) -> u64 {
        self.admissions.run_pending_tasks();
        self.admissions.entry_count()
    }

    pub fn admission(&self, key: &AdmissionKey) -> Option<Admission> {
        if !self.is_live() {
            return None;
        }
        self.admissions.get(key)
    }

    /// Keeps an admission read from the database at generation `read_at`, unless a
    /// notification arrived since (then it may already be out of date).
    pub fn keep_admission(&self, read_at: u64, key: AdmissionKey, admission: Admission) {
        self.admissions.insert(key, admission);
        if !self.unchanged_since(read_at) {
            self.admissions.invalidate(&key);
        }
    }

    pub fn session(&self, id: &Id) -> Option<Record> {
        if !self.is_live() {
            return None;
        }
        let record = self.sessions.get(&id.to_string())?;
        (record.expiry_date > OffsetDateTime::now_utc()).then_some(record)
    }

    pub fn keep_session(&self, read_at: u64, record: &Record) {
        let key = record.id.to_string();
        self.sessions.insert(key.clone(), record.clone());
        if !self.unchanged_since(read_at) {
            self.sessions.invalidate(&key);
        }
    }

    pub fn forget_session(&self, id: &Id) {
        self.sessions.invalidate(&id.to_string());
    }

    fn unchanged_since(&self, read_at: u64) -> bool {
        self.is_live() && self.generation.load(Ordering::Acquire) == read_at
    }

    /// A notification: `session:<id>` drops that session record; anything else (a table's
    /// name) drops every admission.
    pub fn changed(&self, payload: &str) {
        self.generation.fetch_add(1, Ordering::AcqRel);
        match payload.strip_prefix("session:") {
            Some(id) => self.sessions.invalidate(id),
            None => self.admissions.invalidate_all(),
        }
    }

    /// Stops using the caches and drops everything kept (the listener lost its connection).
    fn suspend(&self) {
        self.live.store(false, Ordering::Release);
        self.generation.fetch_add(1, Ordering::AcqRel);
        self.sessions.invalidate_all();
        self.admissions.invalidate_all();
    }

    /// Listens on [`CHANNEL`] for as long as the process runs, on a connection of its own
    /// (not one of the pool's): the caches are live while it is connected.
    pub async fn listen(self: Arc<Self>, pool: PgPool) {
        let own = PgPoolOptions::new()
            .max_connections(1)
            .connect_lazy_with((*pool.connect_options()).clone());
        loop {
            match self.listen_once(&own).await {
                Ok(()) => {}
                Err(e) => tracing::warn!(
                    error = format!("{e:#}"),
                    "the auth cache's listener lost its connection; reading from the database until it is back"
                ),
            }
            self.suspend();
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    }

    async fn listen_once(&self, own: &PgPool) -> Result<(), sqlx::Error> {
        let mut listener = PgListener::connect_with(own).await?;
        listener.listen(CHANNEL).await?;
        // Anything kept before this point may have missed a notification.
        self.suspend();
        self.live.store(true, Ordering::Release);
        while let Some(n) = listener.try_recv().await? {
            self.changed(n.payload());
        }
        // `None`: the connection dropped (and was made again): notifications may be lost.
        Ok(())
    }
}

/// The session store behind the session layer: the database's (`inner`), with its records kept
/// in the [`AuthCache`] between changes.
#[derive(Clone, Debug)]
pub struct CachedStore<S> {
    inner: S,
    cache: Arc<AuthCache>,
}

impl<S> CachedStore<S> {
    pub fn new(inner: S, cache: Arc<AuthCache>) -> Self {
        Self { inner, cache }
    }
}

#[async_trait::async_trait]
impl<S: SessionStore + Clone> SessionStore for CachedStore<S> {
    async fn create(&self, record: &mut Record) -> session_store::Result<()> {
        self.inner.create(record).await
    }

    async fn save(&self, record: &Record) -> session_store::Result<()> {
        let saved = self.inner.save(record).await;
        self.cache.forget_session(&record.id);
        saved
    }

    async fn load(&self, id: &Id) -> session_store::Result<Option<Record>> {
        if let Some(record) = self.cache.session(id) {
            return Ok(Some(record));
        }
        let read_at = self.cache.generation();
        let record = self.inner.load(id).await?;
        if let (Some(read_at), Some(record)) = (read_at, &record) {
            self.cache.keep_session(read_at, record);
        }
        Ok(record)
    }

    async fn delete(&self, id: &Id) -> session_store::Result<()> {
        let deleted = self.inner.delete(id).await;
        self.cache.forget_session(id);
        deleted
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Role, TenantId, UserId};

    fn admission() -> Admission {
        Admission::for_tests(
            TenantId(uuid::Uuid::new_v4()),
            UserId(uuid::Uuid::new_v4()),
            Role::Owner,
            None,
        )
    }

    fn fresh_key() -> AdmissionKey {
        (
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
            uuid::Uuid::new_v4(),
        )
    }

    /// A session record expiring `secs` from now (negative: already expired).
    fn record(id: i128, secs: i64) -> Record {
        Record {
            id: Id(id),
            data: Default::default(),
            expiry_date: OffsetDateTime::now_utc()
                + tower_sessions::cookie::time::Duration::seconds(secs),
        }
    }

    fn live() -> AuthCache {
        let c = AuthCache::default();
        c.live.store(true, Ordering::Release);
        c
    }

    #[test]
    fn nothing_is_kept_or_served_until_the_listener_is_connected() {
        let c = AuthCache::default();
        assert_eq!(c.generation(), None);
        let key = (uuid::Uuid::nil(), uuid::Uuid::nil(), uuid::Uuid::nil());
        c.admissions.insert(key, admission());
        assert!(c.admission(&key).is_none());
    }

    #[test]
    fn an_answer_read_while_a_notification_arrived_is_not_kept() {
        let c = live();
        let key = fresh_key();
        let read_at = c.generation().unwrap();
        c.changed("suspensions");
        c.keep_admission(read_at, key, admission());
        assert!(c.admission(&key).is_none());
        let read_at = c.generation().unwrap();
        c.keep_admission(read_at, key, admission());
        assert!(c.admission(&key).is_some());
    }

    #[test]
    fn a_table_change_drops_every_admission_and_a_session_change_only_that_session() {
        let c = live();
        let key = fresh_key();
        let (a, b) = (record(1, 3600), record(2, 3600));
        let g = c.generation().unwrap();
        c.keep_admission(g, key, admission());
        c.keep_session(g, &a);
        c.keep_session(g, &b);
        c.changed(&format!("session:{}", a.id));
        assert!(c.session(&a.id).is_none());
        assert!(c.session(&b.id).is_some());
        assert!(c.admission(&key).is_some());
        c.changed("memberships");
        assert!(c.admission(&key).is_none());
        assert!(c.session(&b.id).is_some());
    }

    #[test]
    fn any_notification_only_drops_what_is_kept_never_adds() {
        // Anyone with a database login can NOTIFY this channel: an odd or huge payload may
        // cost a cache miss, never serve an answer the database did not give.
        let c = live();
        let key = fresh_key();
        let kept = record(9, 3600);
        c.keep_admission(c.generation().unwrap(), key, admission());
        c.keep_session(c.generation().unwrap(), &kept);
        for payload in ["session:", "session:not-an-id", "", &"x".repeat(100_000)] {
            c.changed(payload);
        }
        assert!(c.admission(&key).is_none());
        assert!(c.session(&kept.id).is_some(), "other sessions stay");
        assert_eq!(c.admissions_kept(), 0);
    }

    #[test]
    fn an_expired_session_record_is_not_served() {
        let c = live();
        let old = record(7, -1);
        c.keep_session(c.generation().unwrap(), &old);
        assert!(c.session(&old.id).is_none());
    }

    #[test]
    fn losing_the_listener_drops_everything_and_stops_serving() {
        let c = live();
        let key = fresh_key();
        c.keep_admission(c.generation().unwrap(), key, admission());
        c.suspend();
        assert!(c.admission(&key).is_none());
        c.live.store(true, Ordering::Release);
        assert!(c.admission(&key).is_none(), "dropped, not just hidden");
    }
}
