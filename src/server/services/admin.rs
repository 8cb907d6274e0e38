//! The staff panel's reads. The server functions check staff first; nothing here is reachable
//! by a customer.

use uuid::Uuid;

use crate::domain::TenantId;
use crate::domain::admin::{
    AdminAuditEntry, AdminSuspension, AdminTenantDetail, AdminTenantRow, AdminTenantsView,
};
use crate::server::db;
use crate::server::state::AppState;

const PAGE: i64 = 25;

fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

fn row(state: &AppState, r: db::admin::TenantRow) -> AdminTenantRow {
    AdminTenantRow {
        id: r.id.to_string(),
        plan: r
            .plan_id
            .as_deref()
            .and_then(|p| state.settings.plans.get(p))
            .map(|p| p.name.clone())
            .unwrap_or_else(|| "Free trial".into()),
        name: r.name,
        owner_email: r.owner_email,
        status: r.status,
        domains: r.domains,
        inboxes: r.inboxes,
        created: when(r.created_at),
    }
}

pub async fn tenants(
    state: &AppState,
    q: &str,
    status: &str,
    page: i64,
) -> anyhow::Result<AdminTenantsView> {
    let q = q.trim();
    let status = match status.trim() {
        s @ ("active" | "suspended") => s,
        _ => "",
    };
    let page = page.max(1);
    let (rows, total) = db::admin::search(&state.pool, q, status, (page - 1) * PAGE, PAGE).await?;
    Ok(AdminTenantsView {
        tenants: rows.into_iter().map(|r| row(state, r)).collect(),
        total,
        page,
        pages: ((total + PAGE - 1) / PAGE).max(1),
        query: q.to_string(),
        status: status.to_string(),
    })
}

pub async fn tenant(state: &AppState, id: Uuid) -> anyhow::Result<Option<AdminTenantDetail>> {
    let Some(t) = db::admin::tenant(&state.pool, id).await? else {
        return Ok(None);
    };
    let tenant = TenantId(id);
    let suspensions = db::suspensions::history(&state.pool, tenant)
        .await?
        .into_iter()
        .map(|s| AdminSuspension {
            category: s.category,
            reason: s.reason,
            actor: s.actor,
            created: when(s.created_at),
            lifted: s.lifted_at.map(when),
            lifted_by: s.lifted_by,
        })
        .collect();
    let audit = db::audit::for_tenant(&state.pool, tenant, 100)
        .await?
        .into_iter()
        .map(|a| AdminAuditEntry {
            at: when(a.at),
            actor: a.actor_kind,
            action: a.action,
            target: a.target,
            detail: a.after.map(|v| v.to_string()).unwrap_or_default(),
        })
        .collect();
    Ok(Some(AdminTenantDetail {
        tenant: row(state, t),
        members: db::admin::members(&state.pool, id).await?,
        domain_names: db::admin::domains(&state.pool, id).await?,
        suspensions,
        audit,
    }))
}
