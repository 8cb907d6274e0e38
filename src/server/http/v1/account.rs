//! `/v1/usage`, `/v1/audit` (read) and `/v1/deliverability`.

use axum::Extension;
use axum::extract::{RawQuery, State};
use axum::response::Json;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{ApiError, ApiResult, Caller, Page, Problem, fail, page_size, query};
use crate::domain::api::Scope;
use crate::permissions::Need;
use crate::server::services::{admin, billing, deliverability};
use crate::server::state::AppState;

#[derive(Serialize, ToSchema)]
pub struct Counted {
    pub used: i64,
    pub limit: i64,
}

#[derive(Serialize, ToSchema)]
pub struct Usage {
    /// "Growth", or "Free trial".
    pub plan: String,
    pub domains: Counted,
    pub inboxes: Counted,
    /// This calendar month's (UTC) API calls, this one included.
    pub api_calls: Counted,
}

/// The plan's limits and what is used of them.
#[utoipa::path(get, path = "/v1/usage", tag = "account",
    responses((status = 200, body = Usage), (status = 401, body = Problem)))]
pub async fn usage(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
) -> ApiResult<Json<Usage>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let view = billing::overview(&state, &ctx)
        .await
        .map_err(crate::error::internal)
        .map_err(fail)?;
    let c = |u: crate::domain::Usage| Counted {
        used: u.used,
        limit: u.limit,
    };
    Ok(Json(Usage {
        plan: view.plan_name,
        domains: c(view.domains),
        inboxes: c(view.inboxes),
        api_calls: c(view.api_calls),
    }))
}

/// One entry of the audit trail.
#[derive(Serialize, ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    /// `YYYY-MM-DD HH:MM:SS UTC`.
    pub at: String,
    /// Who: `user:…` (through `api key igk_…` when by key), `staff`, `system`, `webhook:…`.
    pub actor: String,
    pub ip: String,
    /// e.g. `inboxes.provision`, `domain.connect`, `api_key.create`.
    pub action: String,
    pub target: String,
    /// What changed, secrets masked.
    pub detail: String,
}

#[derive(Deserialize, IntoParams)]
pub struct AuditQuery {
    /// Only actions starting with this (`domain.` for every domain action).
    pub action: Option<String>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Items per page (default 50, at most 200).
    pub limit: Option<i64>,
}

/// The workspace's audit trail, newest first.
#[utoipa::path(get, path = "/v1/audit", tag = "account", params(AuditQuery),
    responses((status = 200, body = Page<AuditEvent>), (status = 422, body = Problem)))]
pub async fn audit(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Page<AuditEvent>>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let q: AuditQuery = query(raw.as_deref())?;
    let limit = page_size(&state, q.limit)?;
    let before = match q.cursor.as_deref().map(str::trim).filter(|c| !c.is_empty()) {
        None => None,
        Some(c) => Some(
            c.parse::<i64>()
                .map_err(|_| ApiError::invalid("cursor", "This cursor is not one we gave."))?,
        ),
    };
    let action = q.action.unwrap_or_default();
    let view = admin::activity_page(&state, &ctx, &action, before, limit)
        .await
        .map_err(crate::error::internal)
        .map_err(fail)?;
    Ok(Json(Page {
        next_cursor: view.next.map(|n| n.to_string()),
        data: view
            .entries
            .into_iter()
            .map(|e| AuditEvent {
                id: e.id,
                at: e.at,
                actor: e.actor,
                ip: e.ip,
                action: e.action,
                target: e.target,
                detail: e.detail,
            })
            .collect(),
    }))
}

#[derive(Deserialize, IntoParams)]
pub struct DeliverabilityQuery {
    /// `domain` or `inbox` (then `id`); the whole workspace when absent.
    pub scope: Option<String>,
    pub id: Option<String>,
    /// 7, 30 or 90 (30 otherwise).
    pub days: Option<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Figures {
    /// Delivered plus hard bounces.
    pub sent: i64,
    pub delivered: i64,
    pub hard_bounces: i64,
    /// Deferrals, not counted as sent.
    pub soft_bounces: i64,
    pub complaints: i64,
    /// Hard bounces over sent, 0..1.
    pub bounce_rate: f64,
    /// Complaints over delivered, 0..1.
    pub complaint_rate: f64,
}

impl From<&crate::domain::deliverability::Figures> for Figures {
    fn from(f: &crate::domain::deliverability::Figures) -> Self {
        Self {
            sent: f.sent(),
            delivered: f.delivered,
            hard_bounces: f.hard_bounces,
            soft_bounces: f.soft_bounces,
            complaints: f.complaints,
            bounce_rate: f.bounce_rate(),
            complaint_rate: f.complaint_rate(),
        }
    }
}

#[derive(Serialize, ToSchema)]
pub struct DayFigures {
    /// `YYYY-MM-DD` (UTC).
    pub day: String,
    #[serde(flatten)]
    pub figures: Figures,
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// 0–100.
    pub score: u8,
    /// `good`, `watch` or `at_risk`.
    pub level: String,
    /// Each reason points were taken off, and what to do.
    pub reasons: Vec<String>,
}

#[derive(Serialize, ToSchema)]
pub struct Deliverability {
    pub days: u32,
    pub totals: Figures,
    /// The same span just before, for comparison.
    pub previous: Figures,
    /// One entry per day, oldest first.
    pub series: Vec<DayFigures>,
    /// A domain's or inbox's score.
    pub health: Option<Health>,
}

/// What happened to the mail sent: the workspace's, a domain's or an inbox's.
#[utoipa::path(get, path = "/v1/deliverability", tag = "account", params(DeliverabilityQuery),
    responses((status = 200, body = Deliverability), (status = 404, body = Problem)))]
pub async fn deliverability(
    State(state): State<AppState>,
    Extension(caller): Extension<Caller>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Deliverability>> {
    let ctx = caller.allow(Scope::Read, Need::Read)?;
    let q: DeliverabilityQuery = query(raw.as_deref())?;
    let id = || super::path_id(q.id.as_deref().unwrap_or(""));
    let scope = match q.scope.as_deref().unwrap_or("workspace") {
        "workspace" | "" => deliverability::Scope::Workspace,
        "domain" => deliverability::Scope::Domain(id()?),
        "inbox" => deliverability::Scope::Inbox(id()?),
        _ => {
            return Err(ApiError::invalid(
                "scope",
                "Choose workspace, domain or inbox.",
            ));
        }
    };
    let days = crate::domain::deliverability::period(q.days.as_deref());
    let v = deliverability::page(&state, &ctx, scope, days)
        .await
        .map_err(fail)?;
    Ok(Json(Deliverability {
        days: v.days,
        totals: (&v.totals).into(),
        previous: (&v.previous).into(),
        series: v
            .series
            .iter()
            .map(|d| DayFigures {
                day: d.day.clone(),
                figures: (&d.figures).into(),
            })
            .collect(),
        health: v.health.map(|s| Health {
            score: s.score,
            level: serde_json::to_value(s.level)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            reasons: s.reasons.into_iter().map(|r| r.text).collect(),
        }),
    }))
}
