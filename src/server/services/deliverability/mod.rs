//! Deliverability: what happened to the tenant's mail, per day, for the workspace, a domain
//! or an inbox, read from the daily rollups (`delivery_daily`, written by the log hook's
//! ingest), with health scores ([`scores`]) and blocklist monitoring ([`blocklists`]).
//! [`sandbox`] makes up sample traffic in `make run`.

pub mod blocklists;
pub mod sandbox;
pub mod scores;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use uuid::Uuid;

use crate::domain::TenantId;
use crate::domain::deliverability::{
    BlocklistStatus, DashboardDeliverability, Day, DeliverabilityView, Figures, HealthLevel,
    ListingView, Score, StaffDeliverability, Subject, SubjectHealth, TenantRate,
};
use crate::server::auth::{TenantCtx, end_read};
use crate::server::db;
use crate::server::db::deliverability::{DayRow, ListingRow, NIL, ScoreRow};
use crate::server::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum DeliverabilityError {
    #[error("Not found.")]
    NotFound,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(DeliverabilityError);

/// `YYYY-MM-DD HH:MM UTC`.
pub fn minute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// Which page.
#[derive(Clone, Copy, Debug)]
pub enum Scope {
    Workspace,
    Domain(Uuid),
    Inbox(Uuid),
}

/// The period's days (oldest first, zero-filled) and the totals of it and of the period
/// before, from rows covering both.
pub fn fold(rows: &[DayRow], today: NaiveDate, days: u32) -> (Vec<Day>, Figures, Figures, i64) {
    let days = i64::from(days);
    let start = today - Duration::days(days - 1);
    let before = start - Duration::days(days);
    let mut series: Vec<Day> = (0..days)
        .map(|i| Day {
            day: (start + Duration::days(i)).to_string(),
            figures: Figures::default(),
        })
        .collect();
    let (mut now, mut prev, mut sandbox) = (Figures::default(), Figures::default(), 0);
    for r in rows {
        if r.day >= start && r.day <= today {
            let i = (r.day - start).num_days() as usize;
            series[i].figures.add(&r.figures());
            now.add(&r.figures());
            sandbox += r.sandbox;
        } else if r.day >= before && r.day < start {
            prev.add(&r.figures());
        }
    }
    (series, now, prev, sandbox)
}

fn health(row: &ScoreRow) -> SubjectHealth {
    SubjectHealth {
        id: row.subject_id.to_string(),
        name: row.name.clone(),
        score: u8::try_from(row.score).unwrap_or(0),
        level: HealthLevel::parse(&row.level),
        sent: row.sent,
        bounce_rate: row.bounce_rate,
        complaint_rate: row.complaint_rate,
    }
}

fn score_of(row: &ScoreRow) -> Score {
    Score {
        score: u8::try_from(row.score).unwrap_or(0),
        level: HealthLevel::parse(&row.level),
        reasons: row.reasons.0.clone(),
    }
}

fn listing(l: ListingRow) -> ListingView {
    ListingView {
        subject: l.subject,
        list_name: l.list_name,
        zone: l.zone,
        answer: l.answer,
        since: minute(l.listed_at),
    }
}

/// One deliverability page over `days` (7, 30 or 90). Another tenant's domain or inbox is
/// `NotFound`, exactly like one that does not exist.
pub async fn page(
    state: &AppState,
    ctx: &TenantCtx,
    scope: Scope,
    days: u32,
) -> Result<DeliverabilityView, DeliverabilityError> {
    let tenant = ctx.tenant_id();
    let today = Utc::now().date_naive();
    let from = today - Duration::days(2 * i64::from(days) - 1);
    let mut tx = ctx.begin(state).await?;
    let tenant_name = db::deliverability::tenant_name(&mut tx, tenant).await?;
    let (subject, title, domain, inbox) = match scope {
        Scope::Workspace => (
            Subject::Workspace,
            format!("Deliverability of {tenant_name}"),
            NIL,
            NIL,
        ),
        Scope::Domain(id) => {
            let name = db::deliverability::domain_subject(&mut tx, tenant, id)
                .await?
                .ok_or(DeliverabilityError::NotFound)?;
            (
                Subject::Domain {
                    id: id.to_string(),
                    name: name.clone(),
                },
                format!("Deliverability of {name}"),
                id,
                NIL,
            )
        }
        Scope::Inbox(id) => {
            let (address, domain_id, domain_name) =
                db::deliverability::inbox_subject(&mut tx, tenant, id)
                    .await?
                    .ok_or(DeliverabilityError::NotFound)?;
            (
                Subject::Inbox {
                    id: id.to_string(),
                    address: address.clone(),
                    domain_id: domain_id.to_string(),
                    domain_name,
                },
                format!("Deliverability of {address}"),
                domain_id,
                id,
            )
        }
    };
    let rows = db::deliverability::days(&mut tx, tenant, domain, inbox, from).await?;
    let (series, totals, previous, sandbox_records) = fold(&rows, today, days);
    let own = match scope {
        Scope::Workspace => None,
        Scope::Domain(id) => db::deliverability::score_of(&mut tx, tenant, "domain", id).await?,
        Scope::Inbox(id) => db::deliverability::score_of(&mut tx, tenant, "inbox", id).await?,
    };
    let (children, worst_inboxes) = match scope {
        Scope::Workspace => (
            db::deliverability::domain_scores(&mut tx, tenant)
                .await?
                .iter()
                .map(health)
                .collect(),
            db::deliverability::worst_inboxes(&mut tx, tenant, None, 5)
                .await?
                .iter()
                .map(health)
                .collect(),
        ),
        Scope::Domain(id) => (
            db::deliverability::worst_inboxes(&mut tx, tenant, Some(id), 20)
                .await?
                .iter()
                .map(health)
                .collect(),
            Vec::new(),
        ),
        Scope::Inbox(_) => (Vec::new(), Vec::new()),
    };
    let listed_domain = match scope {
        Scope::Workspace => None,
        _ => Some(domain),
    };
    let mut listings: Vec<ListingView> =
        db::deliverability::tenant_listings(&mut tx, tenant, listed_domain)
            .await?
            .into_iter()
            .map(listing)
            .collect();
    let blocklist = match scope {
        Scope::Domain(id) => db::deliverability::domain_check(&mut tx, tenant, id)
            .await?
            .map(|(status, checked, note)| BlocklistStatus {
                status,
                checked: checked.map(minute),
                note,
            }),
        _ => None,
    };
    end_read(tx);
    // The relay's IPs are everyone's: a listing of one concerns every page.
    listings.extend(
        db::deliverability::open_listings(&state.pool, true)
            .await?
            .into_iter()
            .map(listing),
    );
    Ok(DeliverabilityView {
        subject,
        title,
        days,
        series,
        totals,
        previous,
        sandbox_records,
        health: own.as_ref().map(score_of),
        health_computed: own.as_ref().map(|s| minute(s.computed_at)),
        children,
        worst_inboxes,
        listings,
        blocklist,
        can_check: ctx.role().can_manage() && matches!(scope, Scope::Domain(_)),
        tenant_name,
    })
}

/// The dashboard's box from the figures its one query read (`db::tenants::dashboard_row`):
/// sent this month, and the three worst inboxes; the plan's allowance is set by the caller.
pub fn dashboard_box(
    sent: i64,
    sandbox: i64,
    worst: Vec<db::deliverability::WorstRow>,
) -> DashboardDeliverability {
    DashboardDeliverability {
        sent_this_month: sent,
        plan_allowance: 0,
        worst_inboxes: worst
            .into_iter()
            .map(|w| SubjectHealth {
                id: w.subject_id.to_string(),
                name: w.name,
                score: u8::try_from(w.score).unwrap_or(0),
                level: HealthLevel::parse(&w.level),
                sent: w.sent,
                bounce_rate: w.bounce_rate,
                complaint_rate: w.complaint_rate,
            })
            .collect(),
        sandbox: sandbox > 0,
    }
}

/// What the plan's inboxes may send in this month at their full daily cap.
pub fn plan_allowance(state: &AppState, max_inboxes: i64, today: NaiveDate) -> i64 {
    let next = if today.month() == 12 {
        NaiveDate::from_ymd_opt(today.year() + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(today.year(), today.month() + 1, 1)
    };
    let first = NaiveDate::from_ymd_opt(today.year(), today.month(), 1);
    let days = match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days(),
        _ => 30,
    };
    max_inboxes * i64::from(state.settings.inboxes.default_daily_cap) * days
}

/// Staff: tenants ranked by complaint then bounce rate over 24 h and 7 days, and what is
/// listed now.
pub async fn staff(state: &AppState) -> anyhow::Result<StaffDeliverability> {
    let now = Utc::now();
    let rate = |r: db::deliverability::RankedTenant| TenantRate {
        tenant_id: r.tenant_id.to_string(),
        tenant_name: r.tenant_name,
        figures: Figures {
            delivered: r.delivered,
            hard_bounces: r.hard_bounces,
            soft_bounces: r.soft_bounces,
            complaints: r.complaints,
        },
        suspended: r.suspended,
    };
    let last_24h = db::deliverability::ranked_hourly(&state.pool, now - Duration::hours(24), 50)
        .await?
        .into_iter()
        .map(rate)
        .collect();
    let last_7d =
        db::deliverability::ranked_daily(&state.pool, (now - Duration::days(6)).date_naive(), 50)
            .await?
            .into_iter()
            .map(rate)
            .collect();
    let listings = db::deliverability::open_listings(&state.pool, false)
        .await?
        .into_iter()
        .map(listing)
        .collect();
    let ips = db::deliverability::ip_checks(&state.pool)
        .await?
        .into_iter()
        .map(|(ip, at, status, note)| {
            (
                ip,
                BlocklistStatus {
                    status,
                    checked: Some(minute(at)),
                    note,
                },
            )
        })
        .collect();
    Ok(StaffDeliverability {
        last_24h,
        last_7d,
        listings,
        ips,
    })
}

/// Staff's tenant page: the tenant's last 7 days.
pub async fn tenant_week(state: &AppState, tenant: TenantId) -> anyhow::Result<Figures> {
    Ok(db::deliverability::tenant_totals(
        &state.pool,
        tenant,
        (Utc::now() - Duration::days(6)).date_naive(),
    )
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(day: NaiveDate, delivered: i64) -> DayRow {
        DayRow {
            day,
            delivered,
            hard_bounces: 1,
            soft_bounces: 0,
            complaints: 0,
            sandbox: 0,
        }
    }

    #[test]
    fn a_period_is_zero_filled_and_the_one_before_is_totalled_apart() {
        let today = NaiveDate::from_ymd_opt(2026, 3, 10).unwrap();
        let rows = vec![
            row(NaiveDate::from_ymd_opt(2026, 3, 1).unwrap(), 100), // the period before
            row(NaiveDate::from_ymd_opt(2026, 3, 4).unwrap(), 7),   // first day of 7
            row(today, 3),
        ];
        let (series, now, prev, _) = fold(&rows, today, 7);
        assert_eq!(series.len(), 7);
        assert_eq!(series[0].day, "2026-03-04");
        assert_eq!(series[0].figures.delivered, 7);
        assert_eq!(series[6].figures.delivered, 3);
        assert_eq!(series[3].figures, Figures::default());
        assert_eq!(now.delivered, 10);
        assert_eq!(now.hard_bounces, 2);
        assert_eq!(prev.delivered, 100);
    }
}
