//! Health scores: every domain and inbox of a tenant scored from its DNS records, its last
//! `window_days` of figures, its blocklist listings (and the relay's IPs') and its warm-up,
//! stored with the reasons. A subject that falls below "at risk" mails the owner once: the
//! mark (`alerted_at`) stays while it stays at risk and is cleared when it recovers.
//!
//! Jobs: `deliverability_score` (per tenant) after each log batch that touched the tenant and
//! after a blocklist change; `deliverability_score_scan` (every `score_every_secs`) enqueues
//! one per tenant so warm-up and the sliding window move on their own.

use std::collections::{HashMap, HashSet};

use anyhow::Context;
use chrono::{Duration, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::domain::deliverability::{
    Figures, HealthLevel, RecordState, Score, ScoreInput, Thresholds, score,
};
use crate::domain::{EmailAddress, TenantId};
use crate::server::db;
use crate::server::db::deliverability::{NIL, NewScore};
use crate::server::jobs::{self, Job, JobError, NewJob};
use crate::server::providers::mail::OutgoingMail;
use crate::server::services::inboxes::relay;
use crate::server::services::outbox;
use crate::server::state::AppState;

pub const SCORE_KIND: &str = "deliverability_score";
pub const SCAN_KIND: &str = "deliverability_score_scan";

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ScoreJob {
    pub tenant_id: Uuid,
}

/// Makes sure the tenant's scores will be recomputed now (one pending job at most).
pub async fn request(state: &AppState, tenant: TenantId) -> anyhow::Result<()> {
    request_after(state, tenant, std::time::Duration::ZERO).await
}

/// Makes sure the tenant's scores will be recomputed within `delay` (one pending job at most:
/// a burst of log batches is scored once).
pub async fn request_after(
    state: &AppState,
    tenant: TenantId,
    delay: std::time::Duration,
) -> anyhow::Result<()> {
    let mut conn = state.pool.acquire().await.context("connecting")?;
    if db::jobs::pending_for_tenant(&mut conn, SCORE_KIND, tenant).await? {
        return Ok(());
    }
    jobs::enqueue_in(
        &mut conn,
        &state.settings.jobs,
        NewJob::new(
            SCORE_KIND,
            &ScoreJob {
                tenant_id: tenant.0,
            },
        )
        .tenant(tenant)
        .at(Utc::now() + Duration::from_std(delay).unwrap_or_default()),
    )
    .await?;
    state.jobs.wake();
    Ok(())
}

pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let ScoreJob { tenant_id } = job.payload()?;
    compute(state, TenantId(tenant_id)).await?;
    Ok(())
}

/// Enqueues a score job for every tenant with a domain.
pub async fn scan(state: &AppState) -> anyhow::Result<usize> {
    let tenants = db::deliverability::tenants_to_score(&state.pool).await?;
    for t in &tenants {
        request(state, TenantId(*t)).await?;
    }
    Ok(tenants.len())
}

/// How many days the warm-up ramp lasts for an inbox with `cap`.
fn ramp_days(settings: &crate::server::config::Settings, cap: i32) -> i32 {
    let s = &settings.inboxes;
    let top = s.warmup_max.min(cap);
    (1..=365)
        .find(|d| {
            crate::domain::inboxes::warmup_limit(
                i64::from(*d - 1),
                s.warmup_start,
                s.warmup_step,
                s.warmup_max,
                cap,
            ) >= top
        })
        .unwrap_or(1)
}

/// What one computation did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Computed {
    pub domains: usize,
    pub inboxes: usize,
    /// Subjects that fell below "at risk" now (the owner was mailed about them).
    pub alerted: Vec<String>,
}

/// Computes and stores every score of the tenant, and mails the owner about subjects that
/// fell below "at risk" since the last computation.
pub async fn compute(state: &AppState, tenant: TenantId) -> anyhow::Result<Computed> {
    let t: &Thresholds = &state.settings.deliverability.thresholds;
    let now = Utc::now();
    let from = (now - Duration::days(t.window_days - 1)).date_naive();
    let mut tx = crate::server::db::tenant_tx(&state.pool, tenant).await?;
    let domains = db::deliverability::domains_to_score(&mut tx, tenant).await?;
    let inboxes = db::deliverability::inboxes_to_score(&mut tx, tenant).await?;
    let figures = db::deliverability::figures_since(&mut tx, tenant, from).await?;
    let listings = db::deliverability::tenant_listings(&mut tx, tenant, None).await?;
    let previous = db::deliverability::previous(&mut tx, tenant).await?;
    crate::server::auth::end_read(tx);
    let ip_listings: Vec<String> = db::deliverability::open_listings(&state.pool, true)
        .await?
        .into_iter()
        .map(|l| format!("{} is on {}", l.subject, l.list_name))
        .collect();

    let by_subject: HashMap<(Uuid, Uuid), Figures> =
        figures.into_iter().map(|(d, i, f)| ((d, i), f)).collect();
    let mut domain_listings: HashMap<Uuid, Vec<String>> = HashMap::new();
    for l in listings {
        if let Some(d) = l.domain_id {
            domain_listings.entry(d).or_default().push(l.list_name);
        }
    }

    let mut scores = Vec::with_capacity(domains.len() + inboxes.len());
    let mut names: HashMap<Uuid, String> = HashMap::new();
    let mut domain_base: HashMap<Uuid, ScoreInput> = HashMap::new();
    for d in &domains {
        let records: Vec<RecordState> = d
            .records
            .0
            .iter()
            .map(|(purpose, status)| RecordState {
                purpose: purpose.clone(),
                ok: status == "ok",
                checked: status != "unknown",
            })
            .collect();
        let inactive = (d.status != "active")
            .then(|| crate::domain::domains::status_label(&d.status).to_lowercase());
        let base = ScoreInput {
            records,
            domain_inactive: inactive,
            domain_listings: domain_listings.get(&d.id).cloned().unwrap_or_default(),
            ip_listings: ip_listings.clone(),
            ..Default::default()
        };
        let input = ScoreInput {
            figures: by_subject.get(&(d.id, NIL)).copied().unwrap_or_default(),
            ..base.clone()
        };
        names.insert(d.id, d.name.clone());
        scores.push(to_row("domain", d.id, d.id, &input, score(&input, t)));
        domain_base.insert(d.id, base);
    }
    for i in &inboxes {
        let Some(base) = domain_base.get(&i.domain_id) else {
            continue;
        };
        let (allowance, day) =
            relay::allowance(&state.settings, i.daily_cap, i.warmup_started_at, now);
        let warmup = (day > 0).then(|| (day, ramp_days(&state.settings, i.daily_cap), allowance));
        let input = ScoreInput {
            figures: by_subject
                .get(&(i.domain_id, i.id))
                .copied()
                .unwrap_or_default(),
            warmup,
            ..base.clone()
        };
        scores.push(to_row("inbox", i.id, i.domain_id, &input, score(&input, t)));
    }

    // Newly at risk: below the line and not yet mailed about. Still at risk: keep the mark.
    // The alert mail's key names the subjects and when each was last computed: a retry after
    // a failure (nothing stored yet) finds the same key and does not mail twice; a later drop
    // (after a recovery was stored) gets a new one.
    // Only what is live can fall: a domain still being set up (and its inboxes) is scored
    // but never alerted about.
    let mut live: HashSet<Uuid> = domains
        .iter()
        .filter(|d| d.status == "active")
        .map(|d| d.id)
        .collect();
    let live_domains = live.clone();
    live.extend(
        inboxes
            .iter()
            .filter(|i| i.status == "active" && live_domains.contains(&i.domain_id))
            .map(|i| i.id),
    );
    let mut newly = Vec::new();
    let mut episode = Vec::new();
    for s in &mut scores {
        let before = previous.get(&(s.kind.to_string(), s.id));
        let was_alerted = before.is_some_and(|(alerted, _)| *alerted);
        if s.level == HealthLevel::AtRisk.as_str() && !live.contains(&s.id) {
            // At risk but not live (suspended, still being set up): no mail, and the mark
            // stays as it was, so coming back does not mail again.
            s.alerted = was_alerted;
        } else if s.level == HealthLevel::AtRisk.as_str() {
            if !was_alerted {
                newly.push((s.kind, s.id, s.score));
                episode.push(format!(
                    "{}@{}",
                    s.id,
                    before.map(|(_, at)| at.timestamp_micros()).unwrap_or(0)
                ));
            }
            s.alerted = true;
        }
    }
    let mut out = Computed {
        domains: domains.len(),
        inboxes: scores.len() - domains.len(),
        alerted: Vec::new(),
    };
    if !newly.is_empty() {
        let mut inbox_names: HashMap<Uuid, String> = HashMap::new();
        let inbox_ids: Vec<Uuid> = newly
            .iter()
            .filter(|n| n.0 == "inbox")
            .map(|n| n.1)
            .collect();
        for (id, address) in db::inboxes::addresses(&state.pool, tenant, &inbox_ids).await? {
            inbox_names.insert(id, address);
        }
        let described: Vec<String> = newly
            .iter()
            .map(|(kind, id, score)| {
                let name = if *kind == "domain" {
                    names.get(id).cloned()
                } else {
                    inbox_names.get(id).cloned()
                }
                .unwrap_or_else(|| id.to_string());
                format!("{name} ({kind}, score {score})")
            })
            .collect();
        // Mailed before the marks are stored: a failed mail retries the job, and the mail's
        // idempotency key keeps a retry from mailing twice.
        mail_alert(state, tenant, &newly, &described, &scores, &mut episode).await?;
        out.alerted = described;
    }
    let mut conn = state.pool.acquire().await.context("connecting")?;
    db::deliverability::store_scores(&mut conn, tenant, &scores).await?;
    // The dashboard shows the new worst inboxes (and sent figures) at once in this process.
    state.dashboard_box.invalidate(&tenant.0);
    Ok(out)
}

fn to_row(kind: &'static str, id: Uuid, domain: Uuid, input: &ScoreInput, s: Score) -> NewScore {
    NewScore {
        kind,
        id,
        domain_id: domain,
        score: i16::from(s.score),
        level: s.level.as_str(),
        reasons: serde_json::to_value(&s.reasons).unwrap_or_default(),
        sent: input.figures.sent(),
        bounce_rate: input.figures.bounce_rate(),
        complaint_rate: input.figures.complaint_rate(),
        alerted: false,
    }
}

async fn mail_alert(
    state: &AppState,
    tenant: TenantId,
    newly: &[(&'static str, Uuid, i16)],
    described: &[String],
    scores: &[NewScore],
    episode: &mut [String],
) -> anyhow::Result<()> {
    crate::server::services::integrations::webhooks::emit_now(
        state,
        tenant,
        "deliverability.at_risk",
        serde_json::json!({ "senders": described }),
    )
    .await;
    let Some(owner) = db::admin::owner_email(&state.pool, tenant).await? else {
        return Ok(());
    };
    let Ok(to) = EmailAddress::parse(&owner) else {
        return Ok(());
    };
    episode.sort();
    let key = format!(
        "deliverability_alert:{}:{}",
        tenant.0,
        crate::server::crypto::token_hash(&episode.join(","))
            .iter()
            .take(12)
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    );
    let first: HashSet<Uuid> = newly.iter().map(|n| n.1).collect();
    // What to do: the worst reasons of the subjects, without repeats.
    let mut advice: Vec<String> = Vec::new();
    for s in scores.iter().filter(|s| first.contains(&s.id)) {
        if let Ok(reasons) =
            serde_json::from_value::<Vec<crate::domain::deliverability::Reason>>(s.reasons.clone())
        {
            for r in reasons.into_iter().filter(|r| r.points > 0) {
                if !advice.contains(&r.text) {
                    advice.push(r.text);
                }
            }
        }
    }
    advice.truncate(8);
    let page = format!(
        "{}/deliverability",
        state.settings.server.public_url.trim_end_matches('/')
    );
    let body = format!(
        "Hello,\n\nThese fell below \"at risk\" ({} of 100) on InboxGrove:\n\n{}\n\n\
         What to do:\n\n{}\n\nThe figures, charts and every reason are here:\n\n{page}\n\n\
         We mail once when something becomes at risk, not every hour; we will not write again \
         about these until they recover and fall again.\n\nThe InboxGrove team\n",
        state.settings.deliverability.thresholds.at_risk,
        described
            .iter()
            .map(|d| format!("- {d}"))
            .collect::<Vec<_>>()
            .join("\n"),
        advice
            .iter()
            .map(|a| format!("- {a}"))
            .collect::<Vec<_>>()
            .join("\n"),
    );
    outbox::send(
        state,
        &OutgoingMail {
            to,
            subject: format!(
                "Deliverability alert: {} at risk",
                crate::domain::plural(described.len() as i64, "sender", "senders")
            ),
            body,
            tenant_id: Some(tenant),
            idempotency_key: Some(key),
        },
    )
    .await
    .map_err(|e| anyhow::anyhow!("mailing the deliverability alert: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ramp_ends_when_the_allowance_reaches_the_cap() {
        let settings = crate::server::config::Settings::load_from(
            "Leptos.toml",
            [(
                crate::server::crypto::SECRET_KEY_VAR.to_string(),
                crate::server::crypto::generate_key_base64()
                    .expose_secret()
                    .to_string(),
            )],
        )
        .unwrap();
        // 5, 10, ... 30 by default: six days.
        assert_eq!(ramp_days(&settings, 30), 6);
        assert_eq!(ramp_days(&settings, 5), 1);
    }
    use secrecy::ExposeSecret;
}
