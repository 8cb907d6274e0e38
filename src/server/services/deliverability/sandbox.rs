//! Sample traffic from the sandbox relay, so a newcomer in `make run` sees charts with data:
//! when the sandbox relay publishes inboxes, it reports what a week of modest sending from them
//! would have logged (deliveries, a few hard and soft bounces, one complaint per tenant) as
//! KumoMTA log records, through the same ingest as the real log hook. Every record carries
//! `x_sandbox` in its meta, so the pages say the figures are sample data. Only with the sandbox
//! relay and `deliverability.sandbox_traffic`.
//!
//! The records are a pure function of the inbox (id, address, first publish time), so a
//! republish reports the very same records and the ingest counts each once.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use crate::domain::TenantId;
use crate::server::db;
use crate::server::services::delivery;
use crate::server::state::AppState;

/// Days of sample history before an inbox's first publish.
const DAYS: i64 = 7;

/// A small deterministic number from an inbox and a day (no randomness: the same records
/// every time).
fn pick(inbox: Uuid, day: i64, salt: u8, modulo: u64) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in inbox
        .as_bytes()
        .iter()
        .chain(&day.to_le_bytes())
        .chain(&[salt])
    {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    h % modulo.max(1)
}

/// The records a week of sending from one inbox would have logged. `complaint`: include the
/// tenant's one sample complaint (about this inbox's first delivery).
pub fn records(inbox: Uuid, address: &str, anchor: DateTime<Utc>, complaint: bool) -> Vec<Value> {
    let mut out = Vec::new();
    let meta = json!({ "x_inbox_id": inbox.to_string(), "x_sandbox": true });
    let mut first: Option<(String, String, i64)> = None;
    for day in 1..=DAYS {
        let base = anchor - Duration::days(day);
        let sent = 4 + pick(inbox, day, 1, 6) as i64; // 4..9 a day
        for n in 0..sent {
            let at = (base + Duration::minutes(n * 37)).timestamp();
            let id = format!("sbx-{}-{day}-{n}", inbox.simple());
            let rcpt = format!("lead{n}.{day}@prospect-{}.example", pick(inbox, day, 2, 50));
            // About one in sixty a hard bounce, one in fifteen deferred first.
            let kind = if pick(inbox, day * 100 + n, 3, 60) == 0 {
                "Bounce"
            } else {
                "Delivery"
            };
            if pick(inbox, day * 100 + n, 4, 15) == 0 {
                out.push(json!({
                    "type": "TransientFailure", "id": id, "sender": address, "recipient": rcpt,
                    "timestamp": at - 600, "num_attempts": 1, "meta": meta,
                }));
            }
            out.push(json!({
                "type": kind, "id": id, "sender": address, "recipient": rcpt,
                "timestamp": at, "num_attempts": 0, "meta": meta,
            }));
            if kind == "Delivery" && first.is_none() {
                first = Some((id, rcpt, at));
            }
        }
    }
    if complaint && let Some((id, rcpt, at)) = first {
        out.push(json!({
            "type": "Feedback", "id": format!("sbx-fbl-{}", inbox.simple()),
            "sender": "fbl@feedback.example", "timestamp": at + 3600, "meta": meta,
            "feedback_report": {
                "original_mail_from": address,
                "supplemental_trace": { "x_ig_msg": id, "recipient": rcpt },
            },
        }));
    }
    out
}

/// Reports sample traffic for the tenant's published inboxes among `ids`; returns how many
/// records counted (0 when they were reported before).
pub async fn report(state: &AppState, tenant: TenantId, ids: &[Uuid]) -> anyhow::Result<usize> {
    if !state.settings.deliverability.sandbox_traffic || state.relay.name() != "sandbox" {
        return Ok(0);
    }
    let inboxes = db::inboxes::published_anchors(&state.pool, tenant, ids).await?;
    // In slices of 50 inboxes (~2,500 records): a batch of 1,000 inboxes does not hold all its
    // sample records in memory at once.
    let mut counted = 0;
    for (n, slice) in inboxes.chunks(50).enumerate() {
        let mut body = Vec::new();
        for (i, (id, address, anchor)) in slice.iter().enumerate() {
            body.extend(records(*id, address, *anchor, n == 0 && i == 0));
        }
        let parsed = delivery::parse(Value::Array(body).to_string().as_bytes())
            .map_err(|e| anyhow::anyhow!("sample records: {e}"))?;
        counted += delivery::ingest(&state.pool, &parsed)
            .await
            .map_err(|e| anyhow::anyhow!("storing sample records: {e}"))?
            .counted;
    }
    if counted > 0 {
        super::scores::request(state, tenant).await?;
    }
    Ok(counted)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_records_are_the_same_every_time_and_marked_as_sandbox() {
        let id = Uuid::from_u128(7);
        let at = Utc::now();
        let a = records(id, "a@x.com", at, true);
        assert_eq!(a, records(id, "a@x.com", at, true));
        assert!(a.iter().all(|r| r["meta"]["x_sandbox"] == true));
        let kinds = |k: &str| a.iter().filter(|r| r["type"] == k).count();
        assert!(kinds("Delivery") >= 28, "a week of 4+ a day");
        assert_eq!(kinds("Feedback"), 1);
        assert_eq!(
            records(id, "a@x.com", at, false)
                .iter()
                .filter(|r| r["type"] == "Feedback")
                .count(),
            0
        );
    }
}
