//! Outbound webhooks, signed as the Standard Webhooks spec says: headers `webhook-id`,
//! `webhook-timestamp` and `webhook-signature` (`v1,` + base64 HMAC-SHA256 of
//! `{id}.{timestamp}.{body}` under the endpoint's secret, `whsec_` + base64). A rotated-out
//! secret signs beside the new one for `api.webhook_rotation_overlap_hours`.
//!
//! An event becomes one delivery row per subscribed endpoint and a job, in the caller's
//! transaction ([`emit`]), so a committed event is never lost and a rolled-back one never
//! sent. Each attempt is logged with its status and time; a failure schedules the next
//! attempt (30 s doubling to 6 h, `api.webhook_attempts` in all) in the same transaction that
//! logs it. An endpoint failing without a success for `api.webhook_disable_after_hours` is
//! disabled and the owner mailed. Targets must resolve to public addresses (checked after DNS
//! resolution, on every attempt, and the request goes to the address checked) unless
//! `api.allow_private_targets`.

use base64::Engine;
use chrono::{Duration, Utc};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sqlx::PgConnection;
use std::net::{IpAddr, SocketAddr};
use uuid::Uuid;

use super::{IntegrationError, invalid, parse_id, when};
use crate::domain::api::{DeliveryView, WebhookView, parse_events};
use crate::domain::{EmailAddress, TenantId};
use crate::server::auth::TenantCtx;
use crate::server::crypto;
use crate::server::db::audit::{Actor, Change, IntegrationAction};
use crate::server::db::{self};
use crate::server::jobs::{Job, JobError, NewJob, enqueue_in};
use crate::server::providers::mail::OutgoingMail;
use crate::server::services::outbox;
use crate::server::state::AppState;

pub const DELIVER_JOB: &str = "webhook_deliver";

/// Endpoints are the owners' to register and change (the door's role table says so too).
fn manager(ctx: &TenantCtx) -> Result<(), IntegrationError> {
    if ctx.role() == crate::domain::Role::Owner {
        Ok(())
    } else {
        Err(IntegrationError::Forbidden(
            "Only owners can change webhook endpoints.".into(),
        ))
    }
}

/// A fresh secret: `whsec_` and 24 random bytes in base64.
fn new_secret() -> String {
    format!(
        "whsec_{}",
        base64::engine::general_purpose::STANDARD.encode(crypto::random_bytes(24).as_slice())
    )
}

fn aad(endpoint: Uuid) -> Vec<u8> {
    format!("webhook:{endpoint}").into_bytes()
}

/// The Standard Webhooks signature of one message under `secret` (`whsec_…`): `v1,<base64>`.
pub fn sign(secret: &str, msg_id: &str, timestamp: i64, body: &[u8]) -> anyhow::Result<String> {
    let key = base64::engine::general_purpose::STANDARD
        .decode(secret.strip_prefix("whsec_").unwrap_or(secret))
        .map_err(|e| anyhow::anyhow!("a webhook secret is not base64: {e}"))?;
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(anyhow::Error::msg)?;
    mac.update(msg_id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
    ))
}

/// Whether `ip` is a public unicast address (not private, loopback, link-local, shared,
/// documentation, multicast, unspecified or reserved; IPv4-mapped IPv6 judged as IPv4).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_private()
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.is_unspecified()
                || v4.is_multicast()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1]))
                || (o[0] == 192 && o[1] == 0 && o[2] == 0)
                || (o[0] == 198 && (18..20).contains(&o[1]))
                || o[0] >= 240)
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || (s[0] == 0x2001 && s[1] == 0x0db8)
                || (s[0] == 0x0064 && s[1] == 0xff9b))
        }
    }
}

/// A target URL, parsed: `https://` (or `http://` where private targets are allowed), a
/// host, no credentials.
pub fn parse_target(raw: &str, allow_private: bool) -> Result<reqwest::Url, String> {
    let raw = raw.trim();
    if raw.len() > 2000 {
        return Err("The URL is too long (2,000 characters at most).".into());
    }
    let url = reqwest::Url::parse(raw)
        .map_err(|_| "Enter a full URL, e.g. https://example.com/hooks/inboxgrove.".to_string())?;
    match url.scheme() {
        "https" => {}
        "http" if allow_private => {}
        _ => return Err("The URL must start with https://.".into()),
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err("The URL needs a host name.".into());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("Put no user name or password in the URL; check our signature instead.".into());
    }
    Ok(url)
}

/// How long a webhook host's name may take to resolve.
const RESOLVE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The addresses `url`'s host resolves to, all public unless `allow_private`; the refusal
/// says which address was refused.
pub async fn resolve_public(
    url: &reqwest::Url,
    allow_private: bool,
) -> Result<Vec<SocketAddr>, String> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port_or_known_default().unwrap_or(443);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let addrs: Vec<SocketAddr> = match host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        // The system resolver has no deadline of its own that we control: a resolver that
        // drops queries must not hold the request (or a delivery job) for minutes.
        Err(_) => tokio::time::timeout(RESOLVE_TIMEOUT, tokio::net::lookup_host((host, port)))
            .await
            .map_err(|_| format!("{host} did not resolve in time; try again later."))?
            .map_err(|_| format!("{host} does not resolve."))?
            .collect(),
    };
    if addrs.is_empty() {
        return Err(format!("{host} does not resolve."));
    }
    if !allow_private && let Some(bad) = addrs.iter().find(|a| !is_public(a.ip())) {
        return Err(format!(
            "{host} resolves to {}, a private, loopback or link-local address: we only send to public addresses.",
            bad.ip()
        ));
    }
    Ok(addrs)
}

/// The workspace's endpoints with their last 20 deliveries each.
pub async fn list(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
) -> Result<Vec<WebhookView>, IntegrationError> {
    let endpoints = db::webhooks::endpoints(conn, ctx.tenant_id()).await?;
    let deliveries = db::webhooks::recent_deliveries(conn, ctx.tenant_id()).await?;
    Ok(endpoints
        .into_iter()
        .map(|e| WebhookView {
            id: e.id.to_string(),
            url: e.url,
            events: e.events,
            enabled: e.enabled,
            disabled_reason: e.disabled_reason,
            failing_since: e.failing_since.map(when),
            deliveries: deliveries
                .iter()
                .filter(|d| d.endpoint_id == e.id)
                .map(|d| DeliveryView {
                    id: d.id.to_string(),
                    event: d.event.clone(),
                    status: d.status.clone(),
                    attempts: d.attempts,
                    last_status: d.last_status,
                    last_ms: d.last_ms,
                    last_error: d.last_error.clone(),
                    created: when(d.created_at),
                })
                .collect(),
        })
        .collect())
}

/// The most endpoints one workspace may register.
const MAX_ENDPOINTS: i64 = 20;

/// Registers an endpoint (owners and admins); returns its id and secret (shown once).
pub async fn create(
    state: &AppState,
    ctx: &TenantCtx,
    url: &str,
    events: &str,
    actor: &Actor,
) -> Result<(String, String), IntegrationError> {
    manager(ctx)?;
    let allow = state.settings.api.allow_private_targets;
    let url = parse_target(url, allow).map_err(|m| invalid("url", m))?;
    let events = parse_events(events).map_err(|m| invalid("events", m))?;
    resolve_public(&url, allow)
        .await
        .map_err(|m| invalid("url", m))?;
    let id = Uuid::new_v4();
    let secret = new_secret();
    let sealed = state.secrets.encrypt(secret.as_bytes(), &aad(id));
    let mut tx = ctx.begin(state).await?;
    if db::webhooks::count_endpoints(&mut tx, ctx.tenant_id()).await? >= MAX_ENDPOINTS {
        return Err(invalid(
            "url",
            format!("A workspace has at most {MAX_ENDPOINTS} endpoints: remove one first."),
        ));
    }
    db::webhooks::insert_endpoint(&mut tx, ctx.tenant_id(), id, url.as_str(), &events, &sealed)
        .await?;
    super::record(
        tx,
        ctx,
        actor,
        IntegrationAction::WebhookCreate,
        &format!("webhook:{id}"),
        Change::after(serde_json::json!({ "url": url.as_str(), "events": events })),
    )
    .await?;
    Ok((id.to_string(), secret))
}

/// Removes an endpoint and its delivery log.
pub async fn delete(
    state: &AppState,
    ctx: &TenantCtx,
    id: &str,
    actor: &Actor,
) -> Result<(), IntegrationError> {
    manager(ctx)?;
    let id = parse_id(id)?;
    let mut tx = ctx.begin(state).await?;
    let url = db::webhooks::delete_endpoint(&mut tx, ctx.tenant_id(), id)
        .await?
        .ok_or(IntegrationError::NotFound)?;
    super::record(
        tx,
        ctx,
        actor,
        IntegrationAction::WebhookDelete,
        &format!("webhook:{id}"),
        Change::after(serde_json::json!({ "url": url })),
    )
    .await?;
    Ok(())
}

/// A new secret for the endpoint (shown once); the old one keeps signing beside it for the
/// overlap, so receivers can switch without losing a message. Re-enables a disabled endpoint.
pub async fn rotate(
    state: &AppState,
    ctx: &TenantCtx,
    id: &str,
    actor: &Actor,
) -> Result<String, IntegrationError> {
    manager(ctx)?;
    let id = parse_id(id)?;
    let secret = new_secret();
    let sealed = state.secrets.encrypt(secret.as_bytes(), &aad(id));
    let until = Utc::now() + Duration::hours(state.settings.api.webhook_rotation_overlap_hours);
    let mut tx = ctx.begin(state).await?;
    if !db::webhooks::rotate_secret(&mut tx, ctx.tenant_id(), id, until, &sealed).await? {
        return Err(IntegrationError::NotFound);
    }
    super::record(
        tx,
        ctx,
        actor,
        IntegrationAction::WebhookRotate,
        &format!("webhook:{id}"),
        Change::after(serde_json::json!({ "previous_until": until.to_rfc3339() })),
    )
    .await?;
    Ok(secret)
}

/// Turns a disabled endpoint back on (its failure clock restarts).
pub async fn enable(state: &AppState, ctx: &TenantCtx, id: &str) -> Result<(), IntegrationError> {
    manager(ctx)?;
    let id = parse_id(id)?;
    let mut tx = ctx.begin(state).await?;
    if !db::webhooks::enable(&mut tx, ctx.tenant_id(), id).await? {
        return Err(IntegrationError::NotFound);
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct DeliverPayload {
    delivery: Uuid,
}

fn deliver_job(tenant: TenantId, delivery: Uuid, attempt: i32) -> NewJob {
    NewJob::new(DELIVER_JOB, &DeliverPayload { delivery })
        .tenant(tenant)
        .dedupe(format!("webhook:{delivery}:{attempt}"))
        .max_attempts(3)
}

/// Sends a delivery again, now, whatever became of it (its log keeps every attempt).
pub async fn resend(
    state: &AppState,
    ctx: &TenantCtx,
    delivery: &str,
    actor: &Actor,
) -> Result<(), IntegrationError> {
    manager(ctx)?;
    let id = parse_id(delivery)?;
    let mut tx = ctx.begin(state).await?;
    let attempts = db::webhooks::reopen_delivery(&mut tx, ctx.tenant_id(), id)
        .await?
        .ok_or(IntegrationError::NotFound)?;
    enqueue_in(
        &mut tx,
        &state.settings.jobs,
        deliver_job(ctx.tenant_id(), id, attempts + 1)
            .dedupe(format!("webhook:{id}:resend:{}", Uuid::new_v4())),
    )
    .await?;
    super::record(
        tx,
        ctx,
        actor,
        IntegrationAction::WebhookResend,
        &format!("webhook_delivery:{id}"),
        Change::none(),
    )
    .await?;
    state.jobs.wake();
    Ok(())
}

/// Sends a `webhook.test` event to one endpoint (to try the receiver).
pub async fn send_test(
    state: &AppState,
    ctx: &TenantCtx,
    endpoint: &str,
) -> Result<(), IntegrationError> {
    manager(ctx)?;
    let id = parse_id(endpoint)?;
    let mut tx = ctx.begin(state).await?;
    // Only an enabled endpoint of this workspace that takes test events gets one.
    let queued = queue(
        &mut tx,
        state,
        ctx.tenant_id(),
        Some(id),
        "webhook.test",
        serde_json::json!({ "message": "A test event from InboxGrove." }),
    )
    .await?;
    if queued == 0 {
        return Err(IntegrationError::NotFound);
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    state.jobs.wake();
    Ok(())
}

/// Queues `event` with `data` for every enabled endpoint of `tenant` subscribed to it, in the
/// caller's transaction (system path or the tenant's own). Returns how many deliveries.
pub async fn emit(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
    event: &str,
    data: serde_json::Value,
) -> anyhow::Result<usize> {
    queue(conn, state, tenant, None, event, data).await
}

async fn queue(
    conn: &mut PgConnection,
    state: &AppState,
    tenant: TenantId,
    only: Option<Uuid>,
    event: &str,
    data: serde_json::Value,
) -> anyhow::Result<usize> {
    let endpoints = db::webhooks::subscribed(conn, tenant, event, only).await?;
    if endpoints.is_empty() {
        return Ok(0);
    }
    let payload = serde_json::json!({
        "type": event,
        "timestamp": Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": data,
    });
    for endpoint in &endpoints {
        let id = Uuid::new_v4();
        db::webhooks::insert_delivery(conn, tenant, id, *endpoint, event, &payload).await?;
        enqueue_in(conn, &state.settings.jobs, deliver_job(tenant, id, 1)).await?;
    }
    Ok(endpoints.len())
}

/// [`emit`] in a transaction of its own, for events raised outside one; failures are
/// logged, never raised (a webhook must not undo the work it reports).
pub async fn emit_now(state: &AppState, tenant: TenantId, event: &str, data: serde_json::Value) {
    let done = async {
        let mut tx = state.pool.begin().await?;
        let n = emit(&mut tx, state, tenant, event, data).await?;
        tx.commit().await?;
        anyhow::Ok(n)
    }
    .await;
    match done {
        Ok(0) => {}
        Ok(_) => state.jobs.wake(),
        Err(e) => tracing::error!(error = format!("{e:#}"), event, "queueing a webhook failed"),
    }
}

/// The wait before attempt `next` (2, 3, …): the base doubled each time, capped.
pub fn retry_after(next: i32, base_secs: u64, max_secs: u64) -> std::time::Duration {
    let exp = u32::try_from(next.saturating_sub(2)).unwrap_or(0).min(30);
    std::time::Duration::from_secs(base_secs.saturating_mul(1u64 << exp).min(max_secs))
}

/// The job: one attempt of one delivery.
pub async fn deliver(state: AppState, job: Job) -> Result<(), JobError> {
    let p: DeliverPayload = job.payload()?;
    let row = db::webhooks::sending(&state.pool, p.delivery).await?;
    // Gone with its endpoint, or already delivered (a duplicate job).
    let Some(row) = row else { return Ok(()) };
    if row.status == "delivered" {
        return Ok(());
    }
    if !row.enabled {
        db::webhooks::give_up_disabled(&state.pool, p.delivery).await?;
        return Ok(());
    }
    let attempt = row.attempts + 1;
    let started = std::time::Instant::now();
    let outcome = attempt_once(&state, p.delivery, &row).await;
    let ms = i32::try_from(started.elapsed().as_millis()).unwrap_or(i32::MAX);
    record(&state, p.delivery, &row, attempt, ms, outcome).await
}

/// What one attempt got: the status, or why there was none.
type Outcome = Result<u16, String>;

async fn attempt_once(state: &AppState, delivery: Uuid, row: &db::webhooks::Sending) -> Outcome {
    let api = &state.settings.api;
    let url = parse_target(&row.url, api.allow_private_targets)?;
    let addrs = resolve_public(&url, api.allow_private_targets).await?;
    let open = |blob: &[u8]| {
        state
            .secrets
            .decrypt(blob, &aad(row.endpoint_id))
            .map_err(|_| "The endpoint's secret cannot be read.".to_string())
            .and_then(|b| String::from_utf8(b.to_vec()).map_err(|_| "bad secret".to_string()))
    };
    let body = serde_json::to_vec(&row.payload).map_err(|e| e.to_string())?;
    let msg_id = format!("msg_{}", delivery.simple());
    let ts = Utc::now().timestamp();
    let mut signatures =
        vec![sign(&open(&row.secret_sealed)?, &msg_id, ts, &body).map_err(|e| e.to_string())?];
    if row.previous_live
        && let Some(prev) = &row.previous_sealed
    {
        signatures.push(sign(&open(prev)?, &msg_id, ts, &body).map_err(|e| e.to_string())?);
    }
    // The request goes to the address just checked, never to a second lookup's answer.
    let host = url.host_str().unwrap_or_default().to_string();
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_millis(api.webhook_timeout_ms))
        .redirect(reqwest::redirect::Policy::none())
        .resolve(&host, addrs[0])
        .build()
        .map_err(|e| e.to_string())?;
    let res = client
        .post(url)
        .header("content-type", "application/json")
        .header("user-agent", "InboxGrove-Webhooks/1")
        .header("webhook-id", &msg_id)
        .header("webhook-timestamp", ts.to_string())
        .header("webhook-signature", signatures.join(" "))
        .body(body)
        .send()
        .await
        .map_err(|e| {
            if e.is_timeout() {
                "No answer within the time limit.".to_string()
            } else {
                "Could not connect.".to_string()
            }
        })?;
    Ok(res.status().as_u16())
}

async fn record(
    state: &AppState,
    delivery: Uuid,
    row: &db::webhooks::Sending,
    attempt: i32,
    ms: i32,
    outcome: Outcome,
) -> Result<(), JobError> {
    let api = &state.settings.api;
    let ok = matches!(outcome, Ok(s) if (200..300).contains(&s));
    let (status, error) = match &outcome {
        Ok(s) if (200..300).contains(s) => (Some(i32::from(*s)), None),
        Ok(s) => (Some(i32::from(*s)), Some(format!("Answered {s}."))),
        Err(e) => (None, Some(e.clone())),
    };
    let tenant = TenantId(row.tenant_id);
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    let give_up = !ok && attempt >= api.webhook_attempts;
    let new_status = if ok {
        "delivered"
    } else if give_up {
        "given_up"
    } else {
        "failed"
    };
    let logged = db::webhooks::Attempt {
        number: attempt,
        status,
        ms,
        error: error.as_deref(),
    };
    db::webhooks::record_attempt(&mut tx, tenant, delivery, &logged, new_status).await?;
    let mut disabled = false;
    if ok {
        db::webhooks::endpoint_answered(&mut tx, row.endpoint_id).await?;
    } else {
        let since = row.failing_since.unwrap_or_else(Utc::now);
        let limit = Duration::hours(api.webhook_disable_after_hours);
        disabled = Utc::now() - since >= limit;
        let reason = disabled.then(|| {
            format!(
                "Disabled on {}: every delivery failed for {} hours.",
                when(Utc::now()),
                api.webhook_disable_after_hours
            )
        });
        db::webhooks::endpoint_failed(&mut tx, row.endpoint_id, reason.as_deref()).await?;
        if disabled {
            db::audit::integration(
                &mut *tx,
                &Actor::system("webhook sender"),
                tenant,
                IntegrationAction::WebhookDisable,
                &format!("webhook:{}", row.endpoint_id),
                Change::after(serde_json::json!({ "url": row.url })),
            )
            .await?;
        } else if !give_up {
            let wait = retry_after(
                attempt + 1,
                api.webhook_backoff_secs,
                api.webhook_max_backoff_secs,
            );
            let at = Utc::now() + Duration::from_std(wait).unwrap_or_default();
            enqueue_in(
                &mut tx,
                &state.settings.jobs,
                deliver_job(tenant, delivery, attempt + 1).at(at),
            )
            .await?;
        }
    }
    tx.commit().await.map_err(anyhow::Error::from)?;
    if disabled {
        mail_disabled(state, tenant, row).await;
    }
    if !ok {
        tracing::info!(%delivery, event = %row.event, attempt, ?error, "webhook delivery failed");
    }
    Ok(())
}

async fn mail_disabled(state: &AppState, tenant: TenantId, row: &db::webhooks::Sending) {
    let Ok(Some(owner)) = db::admin::owner_email(&state.pool, tenant).await else {
        return;
    };
    let Ok(to) = EmailAddress::parse(&owner) else {
        return;
    };
    let page = format!(
        "{}/settings/api",
        state.settings.server.public_url.trim_end_matches('/')
    );
    let sent = outbox::send(
        state,
        &OutgoingMail {
            to,
            subject: "A webhook endpoint was disabled".into(),
            body: format!(
                "Hello,\n\nEvery delivery to {} failed for {} hours, so we stopped sending to it.\n\n\
                 Fix the receiver, then turn the endpoint back on and re-send what it missed:\n\n{page}\n\n\
                 The InboxGrove team\n",
                row.url, state.settings.api.webhook_disable_after_hours
            ),
            tenant_id: Some(tenant),
            idempotency_key: Some(format!(
                "webhook_disabled:{}:{}",
                row.endpoint_id,
                row.failing_since.map_or(0, |t| t.timestamp())
            )),
        },
    )
    .await;
    if let Err(e) = sent {
        tracing::warn!(error = %e, "mailing a disabled webhook failed");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_loopback_link_local_and_mapped_addresses_are_not_public() {
        for ip in [
            "10.0.0.1",
            "172.16.5.4",
            "192.168.1.1",
            "127.0.0.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_target_must_be_https_without_credentials() {
        assert!(parse_target("https://hooks.example.com/x", false).is_ok());
        assert!(parse_target("http://hooks.example.com/x", false).is_err());
        assert!(parse_target("http://127.0.0.1:9/x", true).is_ok());
        assert!(parse_target("https://u:p@hooks.example.com/", false).is_err());
        assert!(parse_target("file:///etc/passwd", true).is_err());
        assert!(parse_target("not a url", false).is_err());
    }

    #[tokio::test]
    async fn a_literal_private_address_is_refused_unless_allowed() {
        let url = parse_target("https://169.254.169.254/latest", false).unwrap();
        let err = resolve_public(&url, false).await.unwrap_err();
        assert!(err.contains("169.254.169.254"), "{err}");
        assert!(resolve_public(&url, true).await.is_ok());
        let url = parse_target("https://localhost/", false).unwrap();
        assert!(resolve_public(&url, false).await.is_err());
    }

    #[test]
    fn retries_double_from_the_base_up_to_the_cap() {
        let secs: Vec<u64> = (2..=6)
            .map(|n| retry_after(n, 30, 21600).as_secs())
            .collect();
        assert_eq!(secs, [30, 60, 120, 240, 480]);
        assert_eq!(retry_after(40, 30, 21600).as_secs(), 21600);
    }

    #[test]
    fn the_signature_matches_the_spec_example() {
        // The example in the Standard Webhooks specification.
        let sig = sign(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1614265330,
            br#"{"test": 2432232314}"#,
        )
        .unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }
}
