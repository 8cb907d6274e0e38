//! KumoMTA's delivery log (its log hook posts records to `POST /webhooks/kumomta`): Delivery,
//! Bounce, TransientFailure and Feedback (complaint) records become hourly counts per tenant,
//! domain and inbox, which the abuse triggers and analytics read. Anyone can mail a feedback
//! report to the relay's FBL listener, so a complaint counts only when its trace (the
//! `X-KumoRef` header the relay stamped: `x_ig_msg` = the relay's message id, and the
//! recipient) names a message the relay logged as delivered, once per message. Other record types
//! (Reception, AdminBounce, …) are accepted and ignored. The whole body is validated before
//! anything is stored, and stored in one transaction: a malformed batch stores nothing.

use anyhow::Context;
use chrono::{DateTime, DurationRound, TimeZone, Utc};
use serde::Deserialize;
use serde_json::Value;
use std::collections::HashMap;
use uuid::Uuid;

use crate::server::db;
use crate::server::db::inboxes::InboxOwner;

pub const COUNTED: [&str; 4] = ["Delivery", "Bounce", "TransientFailure", "Feedback"];

/// The counted kind as a `'static` name (every counted record's kind is one of [`COUNTED`]).
fn counted_kind(kind: &str) -> &'static str {
    COUNTED
        .iter()
        .find(|k| **k == kind)
        .copied()
        .unwrap_or("Feedback")
}

/// `recipient`: one address, or an array since KumoMTA 2025.12.02.
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum Recipients {
    One(String),
    Many(Vec<String>),
}

#[derive(Clone, Debug, Deserialize)]
pub struct FeedbackReport {
    #[serde(default)]
    pub original_mail_from: Option<String>,
    /// Spelled so by KumoMTA.
    #[serde(default)]
    pub original_rcpto_to: Option<Vec<String>>,
    #[serde(default)]
    pub supplemental_trace: Option<Value>,
}

/// The fields of a log record we use; unknown fields are ignored.
#[derive(Clone, Debug, Deserialize)]
pub struct LogRecord {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub sender: Option<String>,
    #[serde(default)]
    pub recipient: Option<Recipients>,
    /// `{}` or, from Lua, sometimes `[]` when empty.
    #[serde(default)]
    pub meta: Option<Value>,
    #[serde(default)]
    pub timestamp: Option<i64>,
    #[serde(default)]
    pub num_attempts: Option<i64>,
    #[serde(default)]
    pub feedback_report: Option<FeedbackReport>,
}

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{0}")]
    Malformed(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(IngestError);

#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize)]
pub struct Ingested {
    /// The tenants whose counts changed (the abuse triggers look at them).
    #[serde(skip)]
    pub tenants: Vec<Uuid>,
    /// Counted now.
    pub counted: usize,
    /// Seen before (KumoMTA retried the batch).
    pub duplicates: usize,
    /// Types we do not count, or records no inbox of ours sent.
    pub ignored: usize,
    /// Complaints naming no message the relay delivered: stored for staff, not counted.
    pub unmatched: usize,
}

/// Parses a body: one record or an array of them. Every record must be an object with a
/// string `type`, and the fields we read must have their documented types.
pub fn parse(body: &[u8]) -> Result<Vec<LogRecord>, IngestError> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| IngestError::Malformed(format!("the body is not JSON: {e}")))?;
    let items = match value {
        Value::Array(items) => items,
        v @ Value::Object(_) => vec![v],
        _ => {
            return Err(IngestError::Malformed(
                "expected a log record or an array of them".into(),
            ));
        }
    };
    items
        .into_iter()
        .enumerate()
        .map(|(i, v)| {
            serde_json::from_value::<LogRecord>(v)
                .map_err(|e| IngestError::Malformed(format!("record {i}: {e}")))
        })
        .collect()
}

fn meta_str<'a>(v: Option<&'a Value>, key: &str) -> Option<&'a str> {
    v.and_then(|m| m.get(key)).and_then(Value::as_str)
}

fn bare(addr: &str) -> String {
    addr.trim()
        .trim_start_matches('<')
        .trim_end_matches('>')
        .to_ascii_lowercase()
}

impl LogRecord {
    /// The inbox id the policy logged (`x_inbox_id`), or for a complaint the decoded trace
    /// header of the original message.
    fn inbox_id(&self) -> Option<Uuid> {
        let trace = self
            .feedback_report
            .as_ref()
            .and_then(|f| f.supplemental_trace.as_ref());
        meta_str(self.meta.as_ref(), "x_inbox_id")
            .or_else(|| meta_str(trace, "x_inbox_id"))
            .and_then(|s| Uuid::parse_str(s).ok())
    }

    /// Our mailbox that sent the message: the envelope sender, or for a complaint the
    /// original message's sender.
    fn our_address(&self) -> Option<String> {
        match (&self.feedback_report, &self.sender) {
            (Some(f), _) if f.original_mail_from.is_some() => {
                f.original_mail_from.as_deref().map(bare)
            }
            (_, Some(s)) if self.kind != "Feedback" => Some(bare(s)),
            _ => None,
        }
    }

    /// Made up by the sandbox relay: its records carry `x_sandbox` in their meta, which only
    /// the relay sets (never in a complaint's trace, which the complainer can write).
    fn is_sandbox(&self) -> bool {
        self.meta
            .as_ref()
            .and_then(|m| m.get("x_sandbox"))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }

    fn hour(&self) -> DateTime<Utc> {
        let at = self
            .timestamp
            .and_then(|t| Utc.timestamp_opt(t, 0).single())
            .unwrap_or_else(Utc::now);
        at.duration_trunc(chrono::Duration::hours(1)).unwrap_or(at)
    }

    /// What makes a record unique, so a retried batch is not counted twice.
    fn key(&self) -> Option<String> {
        let id = self.id.as_deref()?;
        let rcpt = match &self.recipient {
            Some(Recipients::One(r)) => r.clone(),
            Some(Recipients::Many(r)) => r.join(","),
            None => String::new(),
        };
        Some(format!(
            "{}|{id}|{}|{}|{rcpt}",
            self.kind,
            self.num_attempts.unwrap_or(0),
            self.timestamp.unwrap_or(0)
        ))
    }
}

/// What a complaint says about the message it reports, from the trace header the relay
/// stamped on it (`X-KumoRef`, decoded by KumoMTA into `supplemental_trace`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct Traced {
    message_id: String,
    recipient: String,
}

impl LogRecord {
    fn trace(&self) -> Option<&Value> {
        self.feedback_report
            .as_ref()
            .and_then(|f| f.supplemental_trace.as_ref())
    }

    /// The relay's message id and recipient the complaint refers to. Anyone can write a
    /// trace; it only counts if it names a message the relay logged as delivered.
    fn traced(&self) -> Option<Traced> {
        let t = self.trace()?;
        Some(Traced {
            message_id: meta_str(Some(t), "x_ig_msg")?.trim().to_string(),
            recipient: bare(meta_str(Some(t), "recipient")?),
        })
    }

    /// Each recipient of a Delivery record, bare.
    fn recipients(&self) -> Vec<String> {
        match &self.recipient {
            Some(Recipients::One(r)) => vec![bare(r)],
            Some(Recipients::Many(r)) => r.iter().map(|r| bare(r)).collect(),
            None => Vec::new(),
        }
    }
}

/// Stores the counts of `records` in one transaction. Delivery records are remembered by
/// message id and recipient; a Feedback record (complaint) counts only when its trace names
/// such a delivered message (attributed to that message's inbox, whatever else the report
/// claims), and each message counts once. Every complaint is stored for staff.
pub async fn ingest(pool: &sqlx::PgPool, records: &[LogRecord]) -> Result<Ingested, IngestError> {
    let counted: Vec<&LogRecord> = records
        .iter()
        .filter(|r| COUNTED.contains(&r.kind.as_str()))
        .collect();
    let mut out = Ingested {
        ignored: records.len() - counted.len(),
        ..Ingested::default()
    };
    let ids: Vec<Uuid> = counted.iter().filter_map(|r| r.inbox_id()).collect();
    let addresses: Vec<String> = counted.iter().filter_map(|r| r.our_address()).collect();
    let by_id: HashMap<Uuid, InboxOwner> = db::inboxes::owners_by_id(pool, &ids)
        .await?
        .into_iter()
        .map(|o| (o.id, o))
        .collect();
    let by_address: HashMap<String, InboxOwner> = db::inboxes::owners_by_address(pool, &addresses)
        .await?
        .into_iter()
        .collect();
    let claimed = |r: &LogRecord| -> Option<InboxOwner> {
        r.inbox_id()
            .and_then(|id| by_id.get(&id))
            .or_else(|| r.our_address().and_then(|a| by_address.get(&a)))
            .copied()
    };

    let (complaints, counted): (Vec<&LogRecord>, Vec<&LogRecord>) =
        counted.into_iter().partition(|r| r.kind == "Feedback");
    let mut attributed = Vec::with_capacity(counted.len());
    let mut sent = Vec::new();
    for r in counted {
        match claimed(r) {
            Some(owner) => {
                if r.kind == "Delivery"
                    && let Some(id) = r.id.as_deref()
                {
                    for recipient in r.recipients() {
                        sent.push(db::delivery::SentMessage {
                            message_id: id.to_string(),
                            recipient,
                            tenant_id: owner.tenant_id,
                            domain_id: owner.domain_id,
                            inbox_id: owner.id,
                        });
                    }
                }
                attributed.push((r, r.key(), owner));
            }
            None => out.ignored += 1,
        }
    }

    let mut tx = pool.begin().await.context("starting")?;
    // Delivered messages first: a complaint later in the same batch may name one.
    db::delivery::record_sent(&mut tx, &sent).await?;
    let pairs: Vec<(String, String)> = complaints
        .iter()
        .filter_map(|r| r.traced())
        .map(|t| (t.message_id, t.recipient))
        .collect();
    let delivered: HashMap<(String, String), db::delivery::SentMessage> =
        db::delivery::sent_messages(&mut tx, &pairs)
            .await?
            .into_iter()
            .map(|m| ((m.message_id.clone(), m.recipient.clone()), m))
            .collect();
    // A complaint counts once per delivered message: its key is the message's, not the
    // report's, so ten reports of one message (or one report replayed) count once.
    let complaint_key = |t: &Traced| format!("Complaint|{}|{}", t.message_id, t.recipient);
    let mut keys: Vec<String> = attributed
        .iter()
        .filter_map(|(_, k, _)| k.clone())
        .collect();
    for r in &complaints {
        keys.extend(r.key());
        if let Some(t) = r
            .traced()
            .filter(|t| delivered.contains_key(&(t.message_id.clone(), t.recipient.clone())))
        {
            keys.push(complaint_key(&t));
        }
    }
    // One statement for the whole batch: the keys not seen before (now marked seen).
    let mut fresh = db::delivery::mark_seen(&mut tx, &keys).await?;
    let mut counts: HashMap<(Uuid, Uuid, Uuid, DateTime<Utc>, &str), i64> = HashMap::new();
    // Records the sandbox relay made up (`x_sandbox`), so pages can say so.
    let mut sandbox: HashMap<(Uuid, Uuid, Uuid, DateTime<Utc>), i64> = HashMap::new();
    for (r, key, owner) in attributed {
        // `remove`: a key repeated inside the body counts once.
        if key.is_some_and(|k| !fresh.remove(&k)) {
            out.duplicates += 1;
            continue;
        }
        if !out.tenants.contains(&owner.tenant_id) {
            out.tenants.push(owner.tenant_id);
        }
        *counts
            .entry((
                owner.tenant_id,
                owner.domain_id,
                owner.id,
                r.hour(),
                r.kind.as_str(),
            ))
            .or_default() += 1;
        if r.is_sandbox() {
            *sandbox
                .entry((owner.tenant_id, owner.domain_id, owner.id, r.hour()))
                .or_default() += 1;
        }
        out.counted += 1;
    }
    for r in complaints {
        // The same report again (KumoMTA retried the batch): stored and counted already.
        if r.key().is_some_and(|k| !fresh.remove(&k)) {
            out.duplicates += 1;
            continue;
        }
        let traced = r.traced();
        let matched = traced
            .as_ref()
            .and_then(|t| delivered.get(&(t.message_id.clone(), t.recipient.clone())));
        let mut stored = db::delivery::NewComplaint {
            message_id: traced.as_ref().map(|t| t.message_id.clone()),
            recipient: traced.as_ref().map(|t| t.recipient.clone()),
            original_mail_from: r
                .feedback_report
                .as_ref()
                .and_then(|f| f.original_mail_from.as_deref())
                .map(bare),
            reporter: r.sender.as_deref().map(bare),
            ..Default::default()
        };
        match (matched, &traced) {
            (Some(m), Some(t)) => {
                stored.tenant_id = Some(m.tenant_id);
                stored.inbox_id = Some(m.inbox_id);
                if fresh.remove(&complaint_key(t)) {
                    stored.counted = true;
                    if !out.tenants.contains(&m.tenant_id) {
                        out.tenants.push(m.tenant_id);
                    }
                    *counts
                        .entry((m.tenant_id, m.domain_id, m.inbox_id, r.hour(), "Feedback"))
                        .or_default() += 1;
                    if r.is_sandbox() {
                        *sandbox
                            .entry((m.tenant_id, m.domain_id, m.inbox_id, r.hour()))
                            .or_default() += 1;
                    }
                    out.counted += 1;
                } else {
                    stored.refused = Some("repeat");
                    out.duplicates += 1;
                }
            }
            _ => {
                // Kept for staff under the tenant it claims, never counted.
                let owner = claimed(r);
                stored.tenant_id = owner.as_ref().map(|o| o.tenant_id);
                stored.inbox_id = owner.as_ref().map(|o| o.id);
                stored.refused = Some("unmatched");
                out.unmatched += 1;
            }
        }
        db::delivery::store_complaint(&mut tx, &stored).await?;
    }
    let mut daily: HashMap<(Uuid, Uuid, Uuid, chrono::NaiveDate), db::delivery::DailyDelta> =
        HashMap::new();
    for (&(tenant, domain, inbox, hour, kind), &n) in &counts {
        let d = daily
            .entry((tenant, domain, inbox, hour.date_naive()))
            .or_insert_with(|| db::delivery::DailyDelta {
                tenant_id: tenant,
                domain_id: domain,
                inbox_id: inbox,
                day: hour.date_naive(),
                ..Default::default()
            });
        match kind {
            "Delivery" => d.delivered += n,
            "Bounce" => d.hard_bounces += n,
            "TransientFailure" => d.soft_bounces += n,
            _ => d.complaints += n,
        }
    }
    for ((tenant, domain, inbox, hour), n) in sandbox {
        if let Some(d) = daily.get_mut(&(tenant, domain, inbox, hour.date_naive())) {
            d.sandbox += n;
        }
    }
    let hourly: Vec<db::delivery::HourDelta> = counts
        .into_iter()
        .map(
            |((tenant, domain, inbox, hour, kind), n)| db::delivery::HourDelta {
                tenant_id: tenant,
                domain_id: domain,
                inbox_id: inbox,
                hour,
                kind: counted_kind(kind),
                count: n,
            },
        )
        .collect();
    db::delivery::add_hourly(&mut tx, &hourly).await?;
    let daily: Vec<db::delivery::DailyDelta> = daily.into_values().collect();
    db::delivery::add_daily(&mut tx, &daily).await?;
    tx.commit().await.context("committing delivery counts")?;
    Ok(out)
}

/// Which automatic trigger fired, with the reason the suspension records.
#[derive(Clone, Debug, PartialEq)]
pub enum Trigger {
    Complaints(i64),
    BounceRate { bounces: i64, messages: i64 },
}

impl Trigger {
    pub fn reason(&self, settings: &crate::server::config::AbuseSettings) -> String {
        match self {
            Trigger::Complaints(n) => format!(
                "{n} spam complaints in 24 h (the limit is {})",
                settings.complaints_24h
            ),
            Trigger::BounceRate { bounces, messages } => format!(
                "bounce rate {:.1}% in 24 h ({bounces} of {messages} messages; the limit is {:.1}%)",
                *bounces as f64 * 100.0 / *messages as f64,
                settings.bounce_rate * 100.0
            ),
        }
    }
}

/// The trigger the last 24 h of counts meet, if any: exactly at a threshold fires.
pub fn trigger(
    settings: &crate::server::config::AbuseSettings,
    deliveries: i64,
    bounces: i64,
    complaints: i64,
) -> Option<Trigger> {
    let messages = deliveries + bounces;
    if complaints >= settings.complaints_24h {
        Some(Trigger::Complaints(complaints))
    } else if messages >= settings.bounce_min_messages
        && messages > 0
        && bounces as f64 >= settings.bounce_rate * messages as f64
    {
        Some(Trigger::BounceRate { bounces, messages })
    } else {
        None
    }
}

/// Evaluates the automatic triggers for `tenants` from the stored counts of the last 24 h;
/// a trigger that fires suspends the tenant (actor `system`, category `abuse`) once: while
/// that suspension is open, more records change nothing.
pub async fn evaluate_triggers(
    state: &crate::server::state::AppState,
    tenants: &[Uuid],
) -> anyhow::Result<usize> {
    let since = Utc::now() - chrono::Duration::hours(24);
    let since = since
        .duration_trunc(chrono::Duration::hours(1))
        .unwrap_or(since);
    let mut fired = 0;
    for tenant in tenants {
        let tenant = crate::domain::TenantId(*tenant);
        let (deliveries, bounces, complaints) =
            db::delivery::window(&state.pool, tenant, since).await?;
        let Some(t) = trigger(&state.settings.abuse, deliveries, bounces, complaints) else {
            continue;
        };
        let actor = db::audit::Actor::system("abuse trigger");
        let reason = t.reason(&state.settings.abuse);
        match crate::server::services::suspensions::suspend(
            state,
            tenant,
            crate::domain::SuspensionCategory::Abuse,
            &reason,
            &actor,
        )
        .await
        {
            Ok(true) => {
                tracing::warn!(tenant = %tenant.0, %reason, "tenant suspended by an abuse trigger");
                fired += 1;
            }
            Ok(false) => {}
            Err(e) => return Err(anyhow::anyhow!("suspending for abuse: {e}")),
        }
    }
    Ok(fired)
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// KumoMTA's records pass through its policy: whatever arrives is refused or read,
        /// never a panic.
        #[test]
        fn log_bodies_never_panic(body in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..400)) {
            let _ = parse(&body);
        }

        #[test]
        fn odd_but_well_typed_records_are_read_without_panicking(
            kind in "[A-Za-z]{0,10}",
            id in proptest::prelude::any::<String>(),
            rcpt in proptest::prelude::any::<String>(),
            ts in proptest::prelude::any::<i64>(),
            n in proptest::prelude::any::<i64>(),
            trace in proptest::prelude::any::<String>(),
        ) {
            let body = serde_json::json!([{
                "type": kind, "id": id, "sender": rcpt, "recipient": [rcpt, ""], "timestamp": ts,
                "num_attempts": n, "meta": {"x_inbox_id": trace},
                "feedback_report": {"original_mail_from": trace, "supplemental_trace": {"x_ig_msg": id, "recipient": rcpt, "x_inbox_id": 7}},
            }]);
            for r in parse(body.to_string().as_bytes()).unwrap() {
                let _ = (r.key(), r.inbox_id(), r.our_address(), r.hour(), r.traced(), r.recipients());
            }
        }
    }

    #[test]
    fn triggers_fire_exactly_at_their_thresholds() {
        let s = crate::server::config::AbuseSettings::default();
        assert_eq!(trigger(&s, 500, 0, 9), None);
        assert_eq!(trigger(&s, 500, 0, 10), Some(Trigger::Complaints(10)));
        // 10 % bounces over at least 100 messages.
        assert_eq!(trigger(&s, 81, 9, 0), None, "90 messages are too few");
        assert_eq!(trigger(&s, 91, 9, 0), None, "9 %");
        assert_eq!(
            trigger(&s, 90, 10, 0),
            Some(Trigger::BounceRate {
                bounces: 10,
                messages: 100
            })
        );
        assert_eq!(
            Trigger::Complaints(10).reason(&s),
            "10 spam complaints in 24 h (the limit is 10)"
        );
    }

    #[test]
    fn one_record_or_an_array_and_recipient_as_string_or_array() {
        let one =
            parse(br#"{"type":"Delivery","id":"a","sender":"x@y.com","recipient":"r@gmail.com"}"#)
                .unwrap();
        assert_eq!(one.len(), 1);
        assert_eq!(
            one[0].recipient,
            Some(Recipients::One("r@gmail.com".into()))
        );
        let many = parse(
            br#"[{"type":"Bounce","recipient":["a@b.c","d@e.f"],"meta":[]},{"type":"Reception"}]"#,
        )
        .unwrap();
        assert_eq!(many.len(), 2);
        assert_eq!(
            many[0].recipient,
            Some(Recipients::Many(vec!["a@b.c".into(), "d@e.f".into()]))
        );
    }

    #[test]
    fn malformed_bodies_are_refused_whole() {
        for body in [
            &b"not json"[..],
            b"42",
            br#"[{"type":"Delivery"}, {"no_type":true}]"#,
            br#"[{"type":7}]"#,
            br#"{"type":"Delivery","timestamp":"yesterday"}"#,
            br#"{"type":"Delivery","recipient":{"a":1}}"#,
        ] {
            assert!(
                matches!(parse(body), Err(IngestError::Malformed(_))),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn a_complaint_is_attributed_to_the_original_sender() {
        let r = &parse(br#"{"type":"Feedback","sender":"fbl@isp.net","feedback_report":{"original_mail_from":"<Jane@Acme.com>","original_rcpto_to":["<u@isp.net>"]}}"#).unwrap()[0];
        assert_eq!(r.our_address().as_deref(), Some("jane@acme.com"));
        let d = &parse(br#"{"type":"Delivery","sender":"Jane@Acme.com","meta":{"x_inbox_id":"6f1c0c8e-0000-4000-8000-000000000001"}}"#).unwrap()[0];
        assert_eq!(d.our_address().as_deref(), Some("jane@acme.com"));
        assert!(d.inbox_id().is_some());
    }
}
