//! The magic button: plan → provision a whole batch in one transaction → publish to the relay;
//! the inbox list and detail, credential reveal and export (both audited), suspend / resume /
//! delete.

use aes_gcm::aead::OsRng;
use aes_gcm::aead::rand_core::RngCore;
use anyhow::Context;
use chrono::Utc;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::domain::inboxes::{
    BatchForm, BatchResult, DomainOption, ExportFormat, InboxDetail, InboxFilter, InboxListItem,
    InboxesView, TargetDomain, WizardDomain, WizardView, inbox_status_label, plan, warmup_limit,
};
use crate::domain::{DomainStatus, InboxStatus};
use crate::server::auth::end_read;
use crate::server::auth::guard::TenantCtx;
use crate::server::db;
use crate::server::db::audit::{Actor, InboxAction};
use crate::server::db::inboxes::{CredentialRow, Filter, InboxRow, NewInboxes};
use crate::server::services::billing::access;
use crate::server::state::AppState;

pub mod export;
pub mod mailstore;
pub mod relay;

/// Length of generated SMTP passwords (letters and digits: 24 × log2(62) ≈ 143 bits).
pub const PASSWORD_LEN: usize = 24;
const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

#[derive(Debug, thiserror::Error)]
pub enum InboxError {
    /// Bad input: (field, message) pairs.
    #[error("{}", .0.first().map(|(_, m)| m.as_str()).unwrap_or("Invalid input."))]
    Invalid(Vec<(&'static str, String)>),
    #[error("Only owners and admins can create, suspend or delete inboxes.")]
    NotManager,
    #[error("Not found.")]
    NotFound,
    /// Not possible now (a domain not active, the plan's limit, a suspended account).
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(InboxError);

impl From<access::MayAddError> for InboxError {
    fn from(e: access::MayAddError) -> Self {
        match e {
            access::MayAddError::Refused(l) => Self::Refused(l.to_string()),
            access::MayAddError::Unexpected(e) => Self::Unexpected(e),
        }
    }
}

fn manager(ctx: &TenantCtx) -> Result<(), InboxError> {
    ctx.require_manager().map_err(|_| InboxError::NotManager)
}

/// A fresh SMTP password from the OS CSPRNG (rejection sampling: no modulo bias).
pub fn generate_password() -> Zeroizing<String> {
    let mut out = Zeroizing::new(String::with_capacity(PASSWORD_LEN));
    let mut buf = [0u8; 64];
    while out.len() < PASSWORD_LEN {
        OsRng.fill_bytes(&mut buf);
        for b in buf {
            // 248 = 4 × 62: bytes above it would favour the first letters.
            if b < 248 && out.len() < PASSWORD_LEN {
                out.push(ALPHABET[usize::from(b) % ALPHABET.len()] as char);
            }
        }
    }
    buf.fill(0);
    out
}

/// The one password record the relay (KumoMTA's Lua: `sha256(password .. salt)`) and the
/// mail store (Dovecot's `SSHA256`, salt after the password) both verify:
/// `hex(SHA-256(password || salt_hex))`, the salt being the 32 hex characters as written. The
/// passwords are 143-bit random strings, so a fast hash cannot be brute-forced; the salt
/// hides equal ones.
pub fn relay_hash(salt_hex: &str, password: &str) -> String {
    let mut h = Sha256::new();
    h.update(password.as_bytes());
    h.update(salt_hex.as_bytes());
    hex::encode(h.finalize())
}

/// The record scheme [`relay_hash`] writes (`inboxes.password_scheme`). Scheme 1 was
/// `SHA-256(salt || ":" || password)`, which no Dovecot scheme reads; the `inbox_rehash` job
/// moves those rows to 2 from their sealed passwords.
pub const PASSWORD_SCHEME: i16 = 2;

fn new_salt() -> String {
    let mut salt = [0u8; 16];
    OsRng.fill_bytes(&mut salt);
    hex::encode(salt)
}

fn parse_id(field: &'static str, id: &str) -> Result<Uuid, InboxError> {
    Uuid::parse_str(id.trim())
        .map_err(|_| InboxError::Invalid(vec![(field, format!("“{id}” is not an id we know."))]))
}

/// An idempotency key from the form: 8–100 letters, digits, `-` or `_`.
fn check_key(key: &str) -> Result<&str, InboxError> {
    let key = key.trim();
    if (8..=100).contains(&key.len())
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        Ok(key)
    } else {
        Err(InboxError::Invalid(vec![(
            "idempotency_key",
            "The form is missing its one-time key; reload the page and try again.".into(),
        )]))
    }
}

/// The wizard: active domains with the addresses they already have, and the plan headroom.
pub async fn wizard(state: &AppState, ctx: &TenantCtx) -> Result<WizardView, InboxError> {
    let tenant = ctx.tenant_id();
    let mut tx = ctx.begin(state).await?;
    let domains = db::domains::active(&mut *tx, tenant).await?;
    let ids: Vec<Uuid> = domains.iter().map(|d| d.id).collect();
    let mut taken: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (domain, local) in db::inboxes::taken(&mut *tx, tenant, &ids).await? {
        taken.entry(domain).or_default().push(local);
    }
    let billing = db::billing::billing_state(&mut tx, ctx).await?;
    tx.commit().await.context("loading the wizard")?;
    let e = access::entitlement(
        &state.settings,
        &billing.row,
        billing.subscription().as_ref(),
        Utc::now(),
    );
    Ok(WizardView {
        domains: domains
            .into_iter()
            .map(|d| WizardDomain {
                taken: taken.remove(&d.id).unwrap_or_default(),
                id: d.id.to_string(),
                name: d.name,
            })
            .collect(),
        plan_name: e.plan_name,
        used: billing.row.inboxes,
        limit: e.max_inboxes,
        blocked: e.blocked,
        max_per_domain: state.settings.inboxes.max_per_domain,
        can_manage: ctx.role().can_manage(),
        overage_price: e
            .plan_id
            .as_deref()
            .and_then(|id| state.settings.plans.get(id))
            .and_then(|p| {
                Some(crate::domain::Cents(p.overage_cents_per_inbox?).format(&p.currency))
            })
            .filter(|_| e.inbox_overage),
    })
}

/// "Provision": the whole batch in one transaction, or nothing. The same key twice gives the
/// first batch back. Then the relay is told (or a durable job will, if it is unreachable).
pub async fn provision(
    state: &AppState,
    ctx: &TenantCtx,
    form: &BatchForm,
    key: &str,
    actor: &Actor,
) -> Result<BatchResult, InboxError> {
    manager(ctx)?;
    let key = check_key(key)?;
    let tenant = ctx.tenant_id();
    let spec = form
        .parse(state.settings.inboxes.max_per_domain)
        .map_err(InboxError::Invalid)?;
    let ids = form
        .domain_ids()
        .iter()
        .map(|id| parse_id("domains", id))
        .collect::<Result<Vec<_>, _>>()?;
    if ids.is_empty() {
        return Err(InboxError::Invalid(vec![(
            "domains",
            "Choose at least one active domain.".into(),
        )]));
    }
    let total = i64::from(spec.per_domain) * ids.len() as i64;

    let mut tx = state.pool.begin().await.context("starting")?;
    // A double submit that already committed: the first batch is the answer.
    if let Some((id, count)) = db::inboxes::batch_by_key(&mut tx, tenant, key).await? {
        return Ok(existing(id, count));
    }
    // Locks the tenant row: concurrent batches (or a racing double submit) queue here.
    access::may_add(&mut tx, &state.settings, ctx, 0, total).await?;
    if let Some((id, count)) = db::inboxes::batch_by_key(&mut tx, tenant, key).await? {
        return Ok(existing(id, count));
    }
    let domains = db::domains::by_ids(&mut tx, tenant, &ids).await?;
    if domains.len() != ids.len() {
        return Err(InboxError::Invalid(vec![(
            "domains",
            "One of the chosen domains is not yours (or was removed). Reload the page.".into(),
        )]));
    }
    if let Some(d) = domains.iter().find(|d| d.status != DomainStatus::Active) {
        return Err(InboxError::Refused(format!(
            "{} is not active yet ({}): inboxes can be created once its DNS checks pass.",
            d.name,
            crate::domain::domains::status_label(d.status.as_str())
        )));
    }
    let mut taken: HashMap<Uuid, Vec<String>> = HashMap::new();
    for (domain, local) in db::inboxes::taken(&mut *tx, tenant, &ids).await? {
        taken.entry(domain).or_default().push(local);
    }
    // In the order the customer chose them, as the preview showed.
    let targets: Vec<TargetDomain> = ids
        .iter()
        .filter_map(|id| domains.iter().find(|d| d.id == *id))
        .map(|d| TargetDomain {
            id: d.id.to_string(),
            name: d.name.clone(),
            taken: taken.remove(&d.id).unwrap_or_default(),
        })
        .collect();
    let planned =
        plan(&spec, &targets).map_err(|e| InboxError::Invalid(vec![("per_domain", e)]))?;

    let mut rows = NewInboxes::default();
    for p in &planned {
        let id = Uuid::new_v4();
        let password = generate_password();
        let salt = new_salt();
        rows.hashes.push(relay_hash(&salt, &password));
        rows.sealed
            .push(state.secrets.encrypt(password.as_bytes(), id.as_bytes()));
        rows.salts.push(salt);
        rows.ids.push(id);
        rows.domain_ids
            .push(Uuid::parse_str(&p.domain_id).context("planned domain id")?);
        rows.local_parts.push(p.local_part.clone());
        rows.addresses.push(p.address.clone());
        rows.first_names.push(p.first_name.clone());
        rows.last_names.push(p.last_name.clone());
        rows.display_names.push(p.display_name.clone());
    }
    let batch = Uuid::new_v4();
    let count = i32::try_from(rows.len()).context("batch size")?;
    db::inboxes::insert_batch(
        &mut tx,
        tenant,
        batch,
        key,
        ctx.user_id().0,
        count,
        spec.convention.key(),
    )
    .await?;
    let inserted = db::inboxes::insert_many(
        &mut tx,
        tenant,
        batch,
        state.settings.inboxes.default_daily_cap,
        &rows,
    )
    .await
    .map_err(|e| {
        if e.violated(&db::Constraint::InboxesLiveAddress) {
            InboxError::Refused(
                "One of these addresses was just taken. Reload the page for a fresh preview."
                    .into(),
            )
        } else {
            InboxError::Unexpected(e.into())
        }
    })?;
    if inserted != rows.len() as u64 {
        return Err(anyhow::anyhow!("inserted {inserted} of {} inboxes", rows.len()).into());
    }
    relay::request_in_request_path(&mut tx, &state.settings, tenant).await?;
    db::audit::inboxes(
        &mut *tx,
        actor,
        tenant,
        db::audit::InboxesAction::Provision,
        &format!("batch:{batch}"),
        db::audit::Change::after(serde_json::json!({
            "count": count,
            "domains": targets.iter().map(|t| &t.name).collect::<Vec<_>>(),
            "convention": spec.convention.key(),
        })),
    )
    .await?;
    crate::server::services::integrations::webhooks::emit(
        &mut tx,
        state,
        tenant,
        "inbox.batch.created",
        serde_json::json!({ "batch_id": batch, "count": count }),
    )
    .await?;
    tx.commit().await.context("committing the batch")?;
    publish_after_commit(state, ctx).await;
    Ok(BatchResult {
        batch_id: batch.to_string(),
        count: planned.len(),
        existing: false,
    })
}

fn existing(id: Uuid, count: i32) -> BatchResult {
    BatchResult {
        batch_id: id.to_string(),
        count: usize::try_from(count).unwrap_or_default(),
        existing: true,
    }
}

/// The request path's own publish attempt; a failure leaves the job to retry.
async fn publish_after_commit(state: &AppState, ctx: &TenantCtx) {
    match relay::publish_now(state, ctx.tenant_id()).await {
        Ok(_) => {}
        Err(e) => {
            tracing::warn!(tenant = %ctx.tenant_id().0, error = %e, "relay publish failed; the relay_publish job retries");
            state.jobs.wake();
        }
    }
}

fn warmup(state: &AppState, r: &InboxRow) -> (String, String) {
    let s = &state.settings.inboxes;
    match r.warmup_started_at {
        None => (
            "starts when live".into(),
            format!(
                "Warm-up starts once the relay has the inbox: {} a day, +{} a day up to {}.",
                s.warmup_start,
                s.warmup_step,
                s.warmup_max.min(r.daily_cap)
            ),
        ),
        Some(start) => {
            let day = (Utc::now() - start).num_days();
            let today = warmup_limit(
                day,
                s.warmup_start,
                s.warmup_step,
                s.warmup_max,
                r.daily_cap,
            );
            (
                format!("{today}/day (day {})", day + 1),
                format!(
                    "Day {} of warm-up: {today} a day now, +{} a day up to {}.",
                    day + 1,
                    s.warmup_step,
                    s.warmup_max.min(r.daily_cap)
                ),
            )
        }
    }
}

fn list_item(state: &AppState, r: &InboxRow) -> InboxListItem {
    InboxListItem {
        id: r.id.to_string(),
        address: r.address(),
        display_name: r.display_name.clone(),
        domain: r.domain.clone(),
        status: r.status.as_str().into(),
        status_label: inbox_status_label(r.status.as_str()).into(),
        daily_cap: r.daily_cap,
        warmup: warmup(state, r).0,
    }
}

/// The filter as typed into a URL, parsed; bad ids are a 422, never a silent "everything".
pub fn parse_filter(f: &InboxFilter) -> Result<Filter, InboxError> {
    let opt = |v: &Option<String>| {
        v.as_deref()
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(str::to_string)
    };
    let status = match opt(&f.status) {
        None => None,
        Some(s) => match InboxStatus::parse(&s) {
            Some(st) if st != InboxStatus::Deleted => Some(st),
            _ => {
                return Err(InboxError::Invalid(vec![(
                    "status",
                    format!("“{s}” is not an inbox status."),
                )]));
            }
        },
    };
    Ok(Filter {
        domain: opt(&f.domain).map(|d| parse_id("domain", &d)).transpose()?,
        status,
        batch: opt(&f.batch).map(|b| parse_id("batch", &b)).transpose()?,
        ids: opt(&f.ids)
            .map(|ids| {
                ids.split(',')
                    .filter(|s| !s.trim().is_empty())
                    .map(|id| parse_id("ids", id))
                    .collect::<Result<Vec<_>, _>>()
            })
            .transpose()?,
    })
}

pub async fn list(
    state: &AppState,
    ctx: &TenantCtx,
    filter: &InboxFilter,
    page: i64,
) -> Result<InboxesView, InboxError> {
    let tenant = ctx.tenant_id();
    let f = parse_filter(filter)?;
    let size = state.settings.inboxes.page_size;
    let mut tx = ctx.begin(state).await?;
    let page = page.max(1);
    let total = db::inboxes::count(&mut *tx, tenant, &f).await?;
    // A page past the end is shown as the last one.
    let pages = ((total + size - 1) / size).max(1);
    let page = page.min(pages);
    let rows = if total > 0 {
        db::inboxes::list(&mut *tx, tenant, &f, (page - 1) * size, size).await?
    } else {
        Vec::new()
    };
    let domains = db::domains::active(&mut *tx, tenant).await?;
    end_read(tx);
    Ok(InboxesView {
        inboxes: rows.iter().map(|r| list_item(state, r)).collect(),
        total,
        page,
        pages,
        batch_size: f.batch.map(|_| total),
        filter: filter.clone(),
        domains: domains
            .into_iter()
            .map(|d| DomainOption {
                id: d.id.to_string(),
                name: d.name,
            })
            .collect(),
        can_manage: ctx.role().can_manage(),
    })
}

/// The public API's page: the filtered inboxes after the cursor `after`, by id.
pub async fn page(
    state: &AppState,
    ctx: &TenantCtx,
    filter: &InboxFilter,
    after: Option<Uuid>,
    limit: i64,
) -> Result<Vec<InboxRow>, InboxError> {
    let f = parse_filter(filter)?;
    let mut tx = ctx.begin(state).await?;
    let rows = db::inboxes::page_after(&mut *tx, ctx.tenant_id(), &f, after, limit).await?;
    end_read(tx);
    Ok(rows)
}

async fn load(state: &AppState, ctx: &TenantCtx, id: Uuid) -> Result<CredentialRow, InboxError> {
    let mut tx = ctx.begin(state).await?;
    let row = db::inboxes::get(&mut *tx, ctx.tenant_id(), id).await?;
    end_read(tx);
    row.ok_or(InboxError::NotFound)
}

pub async fn detail(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
) -> Result<InboxDetail, InboxError> {
    let row = load(state, ctx, id).await?;
    let r = &row.inbox;
    let relay = &state.settings.relay;
    let (allowance_today, warmup_day) = relay::allowance(
        &state.settings,
        r.daily_cap,
        r.warmup_started_at,
        Utc::now(),
    );
    // Asked as the inbox itself; a suspended or waiting inbox cannot log in, so it is not asked.
    let messages = match r.status {
        InboxStatus::Active => {
            mailstore::message_count(state, &r.address(), open_password(state, &row)?).await
        }
        _ => None,
    };
    let at = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%d %H:%M UTC").to_string();
    Ok(InboxDetail {
        item: list_item(state, r),
        first_name: r.first_name.clone(),
        last_name: r.last_name.clone(),
        created: r.created_at.format("%Y-%m-%d %H:%M UTC").to_string(),
        smtp_host: relay.smtp_host.clone(),
        smtp_port: relay.smtp_port,
        smtp_security: relay.smtp_security.clone(),
        imap_host: relay.imap_host.clone(),
        imap_port: relay.imap_port,
        imap_security: relay.imap_security.clone(),
        warmup_note: warmup(state, r).1,
        allowance_today,
        warmup_day,
        login_checked: r.login_checked_at.map(at),
        login_check_error: r.login_check_error.clone(),
        messages,
        can_manage: ctx.role().can_manage(),
    })
}

/// Opens a sealed password (bound to its inbox id).
pub fn open_password(state: &AppState, row: &CredentialRow) -> anyhow::Result<Zeroizing<String>> {
    let blob = row
        .password_sealed
        .as_deref()
        .context("the inbox has no stored password")?;
    let plain = state
        .secrets
        .decrypt(blob, row.inbox.id.as_bytes())
        .context("opening an inbox password")?;
    Ok(Zeroizing::new(
        String::from_utf8(plain.to_vec()).context("an inbox password is not UTF-8")?,
    ))
}

/// "Reveal": the SMTP password, audited (the trail names the inbox, never the secret).
pub async fn reveal(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    actor: &Actor,
) -> Result<String, InboxError> {
    let row = load(state, ctx, id).await?;
    let password = open_password(state, &row)?;
    db::audit::inbox(
        &state.pool,
        actor,
        ctx.tenant_id(),
        db::audit::InboxAction::RevealCredentials,
        id,
        db::audit::Change::after(
            serde_json::json!({ "address": row.inbox.address(), "password": "********" }),
        ),
    )
    .await?;
    Ok(password.to_string())
}

/// What suspend / resume / delete do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Change {
    Suspend,
    Resume,
    Delete,
}

pub async fn change(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    change: Change,
    actor: &Actor,
) -> Result<(), InboxError> {
    manager(ctx)?;
    let row = load(state, ctx, id).await?;
    use InboxStatus::{Active, Deleted, PendingRelay, Suspended};
    let (to, from, action): (InboxStatus, &[InboxStatus], InboxAction) = match change {
        Change::Suspend => (Suspended, &[Active, PendingRelay], InboxAction::Suspend),
        Change::Resume => (PendingRelay, &[Suspended], InboxAction::Resume),
        Change::Delete => (
            Deleted,
            &[Active, PendingRelay, Suspended],
            InboxAction::Delete,
        ),
    };
    let mut tx = state.pool.begin().await.context("starting")?;
    if !db::inboxes::set_status(&mut tx, ctx.tenant_id(), id, to, from).await? {
        return Err(InboxError::Refused(format!(
            "The inbox is {}; that cannot be done now.",
            inbox_status_label(row.inbox.status.as_str()).to_lowercase()
        )));
    }
    relay::request_in_request_path(&mut tx, &state.settings, ctx.tenant_id()).await?;
    db::audit::inbox(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        action,
        id,
        db::audit::Change::from_to(
            serde_json::json!({ "status": row.inbox.status }),
            serde_json::json!({ "status": to, "address": row.inbox.address() }),
        ),
    )
    .await?;
    if change == Change::Suspend {
        crate::server::services::integrations::webhooks::emit(
            &mut tx,
            state,
            ctx.tenant_id(),
            "inbox.suspended",
            serde_json::json!({ "inbox_id": id, "address": row.inbox.address(), "by": "customer" }),
        )
        .await?;
    }
    tx.commit().await.context("committing")?;
    publish_after_commit(state, ctx).await;
    Ok(())
}

/// Display name and daily cap.
pub async fn update(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    display_name: &str,
    daily_cap: &str,
    actor: &Actor,
) -> Result<(), InboxError> {
    manager(ctx)?;
    let row = load(state, ctx, id).await?;
    let mut errors = Vec::new();
    let name = display_name.trim();
    if name.is_empty()
        || name.chars().count() > 80
        || crate::domain::account::has_control_chars(name)
    {
        errors.push((
            "display_name",
            "Type a display name of 1 to 80 characters.".to_string(),
        ));
    }
    let cap = match daily_cap.trim().parse::<i32>() {
        Ok(c) if (1..=2000).contains(&c) => c,
        _ => {
            errors.push((
                "daily_cap",
                "The daily cap is a whole number from 1 to 2,000.".into(),
            ));
            0
        }
    };
    if !errors.is_empty() {
        return Err(InboxError::Invalid(errors));
    }
    let mut tx = state.pool.begin().await.context("starting")?;
    db::inboxes::update_settings(&mut tx, ctx.tenant_id(), id, name, cap).await?;
    if cap != row.inbox.daily_cap {
        // The relay enforces the allowance: it gets the new cap now.
        relay::request_in_request_path(&mut tx, &state.settings, ctx.tenant_id()).await?;
    }
    db::audit::inbox(&mut *tx, actor, ctx.tenant_id(), db::audit::InboxAction::Update, id, db::audit::Change::from_to(serde_json::json!({ "display_name": row.inbox.display_name, "daily_cap": row.inbox.daily_cap }), serde_json::json!({ "display_name": name, "daily_cap": cap })))
    .await?;
    tx.commit().await.context("committing")?;
    if cap != row.inbox.daily_cap {
        publish_after_commit(state, ctx).await;
    }
    Ok(())
}

/// The credentials file: (file name, CSV bytes). Audited with the count and format.
pub async fn export(
    state: &AppState,
    ctx: &TenantCtx,
    filter: &InboxFilter,
    format: ExportFormat,
    actor: &Actor,
) -> Result<(String, Vec<u8>), InboxError> {
    let f = parse_filter(filter)?;
    let mut tx = ctx.begin(state).await?;
    let rows = db::inboxes::credentials(&mut *tx, ctx.tenant_id(), &f).await?;
    if rows.is_empty() {
        return Err(InboxError::NotFound);
    }
    let mut creds = Vec::with_capacity(rows.len());
    for r in &rows {
        creds.push(export::Credential {
            row: &r.inbox,
            password: open_password(state, r)?,
        });
    }
    let csv = export::write(format, &state.settings, &creds)?;
    db::audit::inboxes(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        db::audit::InboxesAction::Export,
        &filter.query(),
        db::audit::Change::after(
            serde_json::json!({ "format": format.key(), "count": rows.len() }),
        ),
    )
    .await?;
    tx.commit().await.context("recording the export")?;
    let name = format!(
        "inboxgrove-{}-{}.csv",
        format.key(),
        Utc::now().format("%Y%m%d-%H%M%S")
    );
    Ok((name, csv))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_long_random_and_alphanumeric() {
        let a = generate_password();
        let b = generate_password();
        assert_eq!(a.len(), PASSWORD_LEN);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(*a, *b);
    }

    #[test]
    fn relay_hash_matches_the_published_test_vector() {
        // The same vector the reference policy's Lua (deploy/kumomta/test) and Dovecot
        // (`doveadm pw -t`, tests/api/mailstore.rs) are checked against.
        assert_eq!(
            relay_hash(
                "00112233445566778899aabbccddeeff",
                "Xq7vR2mT9pL4sW8nK3dF6hJ1"
            ),
            "0a4acb24102df972169f83bd97cdea17097ef9eb610ccdb1cc9e1e6683c37cf2"
        );
    }
}
