//! Inboxes, their batches and what was published to the relay. Every query takes the
//! `TenantId` first; the delivery-log lookups at the bottom are the only cross-tenant reads.

use chrono::{DateTime, Utc};
use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use crate::domain::{InboxStatus, TenantId};

const COLUMNS: &str = "i.id, i.tenant_id, i.domain_id, d.name AS domain, i.local_part, i.address,
    i.first_name, i.last_name, i.display_name, i.status, i.daily_cap, i.warmup_started_at,
    i.created_at, i.batch_id, i.published_at, i.login_checked_at, i.login_check_error";

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct InboxRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub domain_id: Uuid,
    pub domain: String,
    pub local_part: String,
    pub address: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
    pub status: InboxStatus,
    pub daily_cap: i32,
    pub warmup_started_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub batch_id: Option<Uuid>,
    /// When the relay and the mail store last got its login.
    pub published_at: Option<DateTime<Utc>>,
    /// When the mail store last accepted its login (IMAP LOGIN with the issued password).
    pub login_checked_at: Option<DateTime<Utc>>,
    pub login_check_error: Option<String>,
}

impl InboxRow {
    pub fn address(&self) -> String {
        self.address
            .clone()
            .unwrap_or_else(|| format!("{}@{}", self.local_part, self.domain))
    }
}

/// A row with its sealed password, for exports and reveals.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct CredentialRow {
    #[sqlx(flatten)]
    pub inbox: InboxRow,
    pub password_sealed: Option<Vec<u8>>,
}

/// The columns of one new inbox, as parallel arrays for one `INSERT … SELECT FROM UNNEST`.
#[derive(Default)]
pub struct NewInboxes {
    pub ids: Vec<Uuid>,
    pub domain_ids: Vec<Uuid>,
    pub local_parts: Vec<String>,
    pub addresses: Vec<String>,
    pub first_names: Vec<String>,
    pub last_names: Vec<String>,
    pub display_names: Vec<String>,
    pub sealed: Vec<Vec<u8>>,
    pub salts: Vec<String>,
    pub hashes: Vec<String>,
}

impl NewInboxes {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }
}

/// The batch a key already made, with its size.
pub async fn batch_by_key(
    conn: &mut PgConnection,
    tenant: TenantId,
    key: &str,
) -> super::Result<Option<(Uuid, i32)>> {
    Ok(sqlx::query_as(
        "SELECT id, inbox_count FROM inbox_batches WHERE tenant_id = $1 AND idempotency_key = $2",
    )
    .bind(tenant.0)
    .bind(key)
    .fetch_optional(conn)
    .await?)
}

pub async fn insert_batch(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    key: &str,
    created_by: Uuid,
    count: i32,
    convention: &str,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO inbox_batches (id, tenant_id, idempotency_key, created_by, inbox_count, convention)
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(id)
    .bind(tenant.0)
    .bind(key)
    .bind(created_by)
    .bind(count)
    .bind(convention)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every row of the batch in one statement: all of them exist afterwards, or none.
pub async fn insert_many(
    conn: &mut PgConnection,
    tenant: TenantId,
    batch: Uuid,
    daily_cap: i32,
    rows: &NewInboxes,
) -> super::Result<u64> {
    let done = sqlx::query(
        "INSERT INTO inboxes (id, tenant_id, batch_id, domain_id, local_part, address, first_name,
             last_name, display_name, password_sealed, password_salt, password_sha256, status,
             daily_cap)
         SELECT u.id, $1, $2, u.domain_id, u.local_part, u.address, u.first_name, u.last_name,
                u.display_name, u.sealed, u.salt, u.hash, 'pending_relay', $3
           FROM UNNEST($4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::text[], $9::text[],
                       $10::text[], $11::bytea[], $12::text[], $13::text[])
             AS u(id, domain_id, local_part, address, first_name, last_name, display_name,
                  sealed, salt, hash)",
    )
    .bind(tenant.0)
    .bind(batch)
    .bind(daily_cap)
    .bind(&rows.ids)
    .bind(&rows.domain_ids)
    .bind(&rows.local_parts)
    .bind(&rows.addresses)
    .bind(&rows.first_names)
    .bind(&rows.last_names)
    .bind(&rows.display_names)
    .bind(&rows.sealed)
    .bind(&rows.salts)
    .bind(&rows.hashes)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Live local parts per domain, for the given domains of the tenant.
pub async fn taken<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    domains: &[Uuid],
) -> super::Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT domain_id, local_part FROM inboxes
          WHERE tenant_id = $1 AND domain_id = ANY($2) AND status <> 'deleted'
          ORDER BY created_at, local_part",
    )
    .bind(tenant.0)
    .bind(domains)
    .fetch_all(exec)
    .await?)
}

/// Which inboxes a list or export covers. Deleted ones never appear.
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub domain: Option<Uuid>,
    pub status: Option<InboxStatus>,
    pub batch: Option<Uuid>,
    pub ids: Option<Vec<Uuid>>,
}

const FILTER: &str = "i.tenant_id = $1 AND i.status <> 'deleted'
    AND ($2::uuid IS NULL OR i.domain_id = $2)
    AND ($3::text IS NULL OR i.status = $3)
    AND ($4::uuid IS NULL OR i.batch_id = $4)
    AND ($5::uuid[] IS NULL OR i.id = ANY($5))";

pub async fn count<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    f: &Filter,
) -> super::Result<i64> {
    Ok(
        sqlx::query_scalar(&format!("SELECT count(*) FROM inboxes i WHERE {FILTER}"))
            .bind(tenant.0)
            .bind(f.domain)
            .bind(f.status.map(InboxStatus::as_str))
            .bind(f.batch)
            .bind(&f.ids)
            .fetch_one(exec)
            .await?,
    )
}

/// One page of the filtered inboxes, by domain name, then creation, then local part. It walks
/// the workspace's domains in name order (`domains_tenant_name_idx`) and each domain's inboxes
/// by its index, sorting only within a domain, so it reads `offset + limit` rows and stops:
/// page 150 of 10,000 inboxes no longer sorts all 10,000 (nor counts them with a window, which
/// made every page read every row). The total is [`count`]'s.
pub async fn list<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> super::Result<Vec<InboxRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS}
           FROM domains d JOIN inboxes i ON i.domain_id = d.id AND i.tenant_id = $1
          WHERE d.tenant_id = $1 AND {FILTER} ORDER BY d.name, i.created_at, i.local_part OFFSET $6 LIMIT $7"
    ))
    .bind(tenant.0)
    .bind(f.domain)
    .bind(f.status.map(InboxStatus::as_str))
    .bind(f.batch)
    .bind(&f.ids)
    .bind(offset)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The public API's page of the filtered inboxes: by id, after `after` (the cursor), on the
/// `(tenant_id, id)` index, so a deep page costs what the first one does.
pub async fn page_after<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    f: &Filter,
    after: Option<Uuid>,
    limit: i64,
) -> super::Result<Vec<InboxRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM inboxes i JOIN domains d ON d.id = i.domain_id
          WHERE {FILTER} AND ($6::uuid IS NULL OR i.id > $6) ORDER BY i.id LIMIT $7"
    ))
    .bind(tenant.0)
    .bind(f.domain)
    .bind(f.status.map(InboxStatus::as_str))
    .bind(f.batch)
    .bind(&f.ids)
    .bind(after)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The filtered inboxes with their sealed passwords.
pub async fn credentials<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    f: &Filter,
) -> super::Result<Vec<CredentialRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS}, i.password_sealed FROM inboxes i JOIN domains d ON d.id = i.domain_id
          WHERE {FILTER} ORDER BY d.name, i.created_at, i.local_part"
    ))
    .bind(tenant.0)
    .bind(f.domain)
    .bind(f.status.map(InboxStatus::as_str))
    .bind(f.batch)
    .bind(&f.ids)
    .fetch_all(exec)
    .await?)
}

pub async fn get<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    id: Uuid,
) -> super::Result<Option<CredentialRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS}, i.password_sealed FROM inboxes i JOIN domains d ON d.id = i.domain_id
          WHERE i.tenant_id = $1 AND i.id = $2 AND i.status <> 'deleted'"
    ))
    .bind(tenant.0)
    .bind(id)
    .fetch_optional(exec)
    .await?)
}

/// Moves the inbox to `status` if it is in one of `from`; false if it was not.
pub async fn set_status(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    status: InboxStatus,
    from: &[InboxStatus],
) -> super::Result<bool> {
    let from: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
    let done = sqlx::query(
        "UPDATE inboxes SET status = $3, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status = ANY($4)",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(status.as_str())
    .bind(&from)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn update_settings(
    conn: &mut PgConnection,
    tenant: TenantId,
    id: Uuid,
    display_name: &str,
    daily_cap: i32,
) -> super::Result<bool> {
    let done = sqlx::query(
        "UPDATE inboxes SET display_name = $3, daily_cap = $4, updated_at = now()
          WHERE tenant_id = $1 AND id = $2 AND status <> 'deleted'",
    )
    .bind(tenant.0)
    .bind(id)
    .bind(display_name)
    .bind(daily_cap)
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// One login the relay gets.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RelayUserRow {
    pub id: Uuid,
    pub address: String,
    pub status: InboxStatus,
    pub password_salt: String,
    pub password_sha256: String,
    pub daily_cap: i32,
    pub warmup_started_at: Option<DateTime<Utc>>,
    /// Its domain is suspended by staff: the inbox does not authenticate.
    pub domain_suspended: bool,
}

/// The tenant's live inboxes with a relay hash.
pub async fn relay_users<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
) -> super::Result<Vec<RelayUserRow>> {
    Ok(sqlx::query_as(
        "SELECT i.id, lower(i.address) AS address, i.status, i.password_salt, i.password_sha256,
                i.daily_cap, i.warmup_started_at, d.status = 'suspended' AS domain_suspended
           FROM inboxes i JOIN domains d ON d.id = i.domain_id
          WHERE i.tenant_id = $1 AND i.status <> 'deleted' AND i.address IS NOT NULL
            AND i.password_salt IS NOT NULL AND i.password_sha256 IS NOT NULL
          ORDER BY i.address",
    )
    .bind(tenant.0)
    .fetch_all(exec)
    .await?)
}

/// The published inboxes still `pending_relay` are stamped published: the mail store's login
/// check ([`to_check`]) makes them `active`. Returns how many were stamped.
pub async fn mark_published(
    conn: &mut PgConnection,
    tenant: TenantId,
    ids: &[Uuid],
) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE inboxes SET published_at = now(), updated_at = now()
          WHERE tenant_id = $1 AND id = ANY($2) AND status = 'pending_relay'",
    )
    .bind(tenant.0)
    .bind(ids)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Published inboxes waiting for the mail store to accept their login, with their sealed
/// passwords (at most `limit`).
pub async fn to_check<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    limit: i64,
) -> super::Result<Vec<CredentialRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS}, i.password_sealed FROM inboxes i JOIN domains d ON d.id = i.domain_id
          WHERE i.tenant_id = $1 AND i.status = 'pending_relay' AND i.published_at IS NOT NULL
          ORDER BY i.published_at, i.id LIMIT $2"
    ))
    .bind(tenant.0)
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// The mail store accepted these logins: they become `active` (if still waiting) and their
/// warm-up starts.
pub async fn login_passed<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    ids: &[Uuid],
) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE inboxes SET status = 'active', updated_at = now(), login_checked_at = now(),
                login_check_error = NULL,
                warmup_started_at = COALESCE(warmup_started_at, now())
          WHERE tenant_id = $1 AND id = ANY($2) AND status = 'pending_relay'
            AND published_at IS NOT NULL",
    )
    .bind(tenant.0)
    .bind(ids)
    .execute(exec)
    .await?;
    Ok(done.rows_affected())
}

/// The mail store refused (or could not be asked): the inboxes stay `pending_relay`.
pub async fn login_failed<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    ids: &[Uuid],
    error: &str,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE inboxes SET login_check_error = $3
          WHERE tenant_id = $1 AND id = ANY($2) AND status = 'pending_relay'",
    )
    .bind(tenant.0)
    .bind(ids)
    .bind(error)
    .execute(exec)
    .await?;
    Ok(())
}

/// A row still on password scheme 1, to re-hash from its sealed password.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct RehashRow {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub password_salt: String,
    pub password_sealed: Vec<u8>,
}

/// Up to `limit` rows (every tenant's) whose record is scheme 1.
pub async fn old_scheme<'e>(
    exec: impl PgExecutor<'e>,
    limit: i64,
) -> super::Result<Vec<RehashRow>> {
    Ok(sqlx::query_as(
        "SELECT id, tenant_id, password_salt, password_sealed FROM inboxes
          WHERE password_scheme = 1 AND password_salt IS NOT NULL
            AND password_sealed IS NOT NULL
          ORDER BY id LIMIT $1",
    )
    .bind(limit)
    .fetch_all(exec)
    .await?)
}

/// Writes the new hashes (scheme `scheme`) of rows still on scheme 1.
pub async fn set_hashes(
    conn: &mut PgConnection,
    ids: &[Uuid],
    hashes: &[String],
    scheme: i16,
) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE inboxes i SET password_sha256 = u.hash, password_scheme = $3
           FROM UNNEST($1::uuid[], $2::text[]) AS u(id, hash)
          WHERE i.id = u.id AND i.password_scheme = 1",
    )
    .bind(ids)
    .bind(hashes)
    .bind(scheme)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Rows on scheme 1 that cannot be re-hashed (no sealed password): retired from the relay
/// data by marking them scheme 2 with no hash, which leaves them out of every login file.
pub async fn retire_unhashable(conn: &mut PgConnection) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE inboxes SET password_scheme = 2, password_sha256 = NULL
          WHERE password_scheme = 1
            AND (password_salt IS NULL OR password_sealed IS NULL)",
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// Tenants with a live inbox whose warm-up day changed within the last `window_secs`
/// (each inbox's day starts at the hour its warm-up did): their allowances must be
/// republished.
pub async fn tenants_with_new_warmup_day<'e>(
    exec: impl PgExecutor<'e>,
    window_secs: f64,
) -> super::Result<Vec<Uuid>> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT tenant_id FROM inboxes
          WHERE status IN ('active', 'suspended') AND warmup_started_at IS NOT NULL
            AND floor(extract(epoch FROM now() - warmup_started_at) / 86400)
             <> floor(extract(epoch FROM now() - make_interval(secs => $1) - warmup_started_at)
                      / 86400)",
    )
    .bind(window_secs)
    .fetch_all(exec)
    .await?)
}

/// Asks for a publish of the tenant (inside the caller's transaction).
pub async fn request_publish(conn: &mut PgConnection, tenant: TenantId) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO relay_publications (tenant_id, pending, requested_at)
         VALUES ($1, true, clock_timestamp())
         ON CONFLICT (tenant_id) DO UPDATE SET pending = true, requested_at = clock_timestamp()",
    )
    .bind(tenant.0)
    .execute(conn)
    .await?;
    Ok(())
}

/// `Some(requested_at)` when a publish is pending.
pub async fn pending_publish<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
) -> super::Result<Option<DateTime<Utc>>> {
    Ok(sqlx::query_scalar(
        "SELECT requested_at FROM relay_publications WHERE tenant_id = $1 AND pending",
    )
    .bind(tenant.0)
    .fetch_optional(exec)
    .await?)
}

/// Records a successful publish of the data read for the request made at `requested_at`;
/// a newer request keeps the publication pending.
pub async fn publish_done(
    conn: &mut PgConnection,
    tenant: TenantId,
    requested_at: DateTime<Utc>,
    domains: i32,
    users: i32,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE relay_publications
            SET pending = (requested_at <> $2), published_at = now(), attempts = 0,
                last_error = NULL, domains = $3, users = $4
          WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .bind(requested_at)
    .bind(domains)
    .bind(users)
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn publish_failed<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    error: &str,
) -> super::Result<()> {
    sqlx::query(
        "UPDATE relay_publications SET attempts = attempts + 1, last_error = $2
          WHERE tenant_id = $1",
    )
    .bind(tenant.0)
    .bind(error)
    .execute(exec)
    .await?;
    Ok(())
}

/// Who an inbox is, for the delivery log (cross-tenant: KumoMTA's records name the inbox).
#[derive(Clone, Copy, Debug, sqlx::FromRow)]
pub struct InboxOwner {
    pub id: Uuid,
    pub tenant_id: Uuid,
    pub domain_id: Uuid,
}

pub async fn owners_by_id<'e>(
    exec: impl PgExecutor<'e>,
    ids: &[Uuid],
) -> super::Result<Vec<InboxOwner>> {
    Ok(
        sqlx::query_as("SELECT id, tenant_id, domain_id FROM inboxes WHERE id = ANY($1)")
            .bind(ids)
            .fetch_all(exec)
            .await?,
    )
}

pub async fn owners_by_address<'e>(
    exec: impl PgExecutor<'e>,
    addresses: &[String],
) -> super::Result<Vec<(String, InboxOwner)>> {
    let rows: Vec<(String, Uuid, Uuid, Uuid)> = sqlx::query_as(
        "SELECT lower(address), id, tenant_id, domain_id FROM inboxes
          WHERE lower(address) = ANY($1) AND status <> 'deleted'",
    )
    .bind(addresses)
    .fetch_all(exec)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(a, id, tenant_id, domain_id)| {
            (
                a,
                InboxOwner {
                    id,
                    tenant_id,
                    domain_id,
                },
            )
        })
        .collect())
}

/// Deletes every live inbox on a domain being removed; returns how many.
pub async fn delete_on_domain(
    conn: &mut PgConnection,
    tenant: TenantId,
    domain: Uuid,
) -> super::Result<u64> {
    let done = sqlx::query(
        "UPDATE inboxes SET status = 'deleted', updated_at = now()
          WHERE tenant_id = $1 AND domain_id = $2 AND status <> 'deleted'",
    )
    .bind(tenant.0)
    .bind(domain)
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
}

/// The addresses of the tenant's inboxes among `ids`.
pub async fn addresses(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    ids: &[Uuid],
) -> super::Result<Vec<(Uuid, String)>> {
    Ok(sqlx::query_as(
        "SELECT i.id, COALESCE(i.address, i.local_part || '@' || d.name)
               FROM inboxes i JOIN domains d ON d.id = i.domain_id
              WHERE i.tenant_id = $1 AND i.id = ANY($2)",
    )
    .bind(tenant.0)
    .bind(ids)
    .fetch_all(pool)
    .await?)
}

/// The tenant's published inboxes among `ids`: (id, address, when first published).
pub async fn published_anchors(
    pool: &sqlx::PgPool,
    tenant: TenantId,
    ids: &[Uuid],
) -> super::Result<Vec<(Uuid, String, DateTime<Utc>)>> {
    Ok(sqlx::query_as(
        "SELECT id, address, published_at FROM inboxes
          WHERE tenant_id = $1 AND id = ANY($2) AND published_at IS NOT NULL
            AND address IS NOT NULL AND status <> 'deleted'
          ORDER BY created_at, id",
    )
    .bind(tenant.0)
    .bind(ids)
    .fetch_all(pool)
    .await?)
}
