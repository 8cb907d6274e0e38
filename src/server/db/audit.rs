//! The append-only audit log (a trigger refuses UPDATE and DELETE).

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::{ActorKind, TenantId};

/// Who did it, from where.
#[derive(Clone, Debug)]
pub struct Actor {
    pub kind: ActorKind,
    pub id: Option<Uuid>,
    pub label: String,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Actor {
    /// Of `kind`, with `label` and no id or origin.
    pub fn named(kind: ActorKind, label: &str) -> Self {
        Self {
            kind,
            id: None,
            label: label.to_string(),
            ip: None,
            user_agent: None,
        }
    }

    /// A customer, from the request they made.
    pub fn user(id: Uuid, label: &str, origin: &Origin) -> Self {
        Self {
            kind: ActorKind::User,
            id: Some(id),
            label: label.to_string(),
            ip: origin.ip.clone(),
            user_agent: origin.user_agent.clone(),
        }
    }

    /// Background work (the saga, triggers, the trial clock): `label` says which.
    pub fn system(label: &str) -> Self {
        Self::named(ActorKind::System, label)
    }

    /// `kind:label`, or the kind alone: how suspensions and refunds name who did them.
    pub fn describe(&self) -> String {
        if self.label.is_empty() {
            self.kind.as_str().to_string()
        } else {
            format!("{}:{}", self.kind, self.label)
        }
    }

    /// A provider's webhook (`stripe`, `kumomta`).
    pub fn webhook(label: &str) -> Self {
        Self::named(ActorKind::Webhook, label)
    }
}

/// Where a request came from.
#[derive(Clone, Debug, Default)]
pub struct Origin {
    pub ip: Option<String>,
    pub user_agent: Option<String>,
}

impl Origin {
    /// The client IP and its user agent (kept to 300 characters).
    pub fn new(ip: Option<std::net::IpAddr>, user_agent: Option<&str>) -> Self {
        Self {
            ip: ip.map(|ip| ip.to_string()),
            user_agent: user_agent.map(|ua| ua.chars().take(300).collect()),
        }
    }
}

/// Keys whose values never reach the log in clear, at any depth.
const SECRET_KEYS: [&str; 6] = [
    "password",
    "secret",
    "token",
    "api_key",
    "card",
    "smtp_pass",
];

/// Replaces every value under a secret-looking key with `••••` and its last two characters
/// (enough to tell two apart, not enough to use).
pub fn mask_secrets(v: &mut Value) {
    match v {
        Value::Object(map) => {
            for (k, val) in map.iter_mut() {
                let key = k.to_ascii_lowercase();
                if SECRET_KEYS.iter().any(|s| key.contains(s)) {
                    *val = Value::String(mask(val));
                } else {
                    mask_secrets(val);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(mask_secrets),
        _ => {}
    }
}

fn mask(v: &Value) -> String {
    let text = match v {
        // Already masked by the service that wrote it: kept as it is.
        Value::String(s) if !s.is_empty() && s.chars().all(|c| c == '*' || c == '•') => {
            return s.clone();
        }
        Value::String(s) => s.clone(),
        Value::Null => return String::new(),
        other => other.to_string(),
    };
    let tail: String = text
        .chars()
        .rev()
        .take(if text.chars().count() > 8 { 2 } else { 0 })
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("••••{tail}")
}

pub struct Entry<'a> {
    pub tenant: Option<TenantId>,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

pub async fn record<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    e: Entry<'_>,
) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_kind, actor_id, actor_label, tenant_id, action, target,
             before, after, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(actor.kind)
    .bind(actor.id)
    .bind(&actor.label)
    .bind(e.tenant.map(|t| t.0))
    .bind(e.action)
    .bind(e.target)
    .bind(e.before.map(|mut v| {
        mask_secrets(&mut v);
        v
    }))
    .bind(e.after.map(|mut v| {
        mask_secrets(&mut v);
        v
    }))
    .bind(&actor.ip)
    .bind(&actor.user_agent)
    .execute(exec)
    .await?;
    Ok(())
}

#[derive(Clone, Debug, sqlx::FromRow)]
pub struct AuditRow {
    pub id: i64,
    pub at: chrono::DateTime<chrono::Utc>,
    pub actor_kind: ActorKind,
    pub actor_id: Option<Uuid>,
    pub actor_label: String,
    pub tenant_id: Option<Uuid>,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// The tenant's name (`None` once it is deleted, or for rows without a tenant).
    pub tenant_name: Option<String>,
}

/// What to show of the trail: every field optional (empty = any).
#[derive(Clone, Debug, Default)]
pub struct Filter {
    pub tenant: Option<Uuid>,
    pub actor_kind: String,
    /// Actions starting with this (`domain.` matches every domain action).
    pub action: String,
    /// Rows older than this id (the next page).
    pub before_id: Option<i64>,
    pub limit: i64,
    /// Leave out staff-internal rows (notes): the customer's own Activity page.
    pub customer_view: bool,
}

/// Actions only staff see: a customer's Activity page leaves them out.
pub const STAFF_INTERNAL: [&str; 1] = ["tenant.note"];

const COLUMNS: &str = "a.id, a.at, a.actor_kind, a.actor_id, a.actor_label, a.tenant_id, a.action,
    a.target, a.before, a.after, a.ip, a.user_agent, t.name AS tenant_name";

/// The tenant's trail, newest first: the only read a customer's request can make.
pub async fn for_tenant<'e>(
    exec: impl PgExecutor<'e>,
    tenant: TenantId,
    limit: i64,
) -> super::Result<Vec<AuditRow>> {
    search(
        exec,
        &Filter {
            tenant: Some(tenant.0),
            limit,
            ..Default::default()
        },
    )
    .await
}

/// The trail, newest first, filtered (staff see every tenant; customers go through
/// [`for_tenant`] or set `tenant` from their `TenantCtx`).
pub async fn search<'e>(exec: impl PgExecutor<'e>, f: &Filter) -> super::Result<Vec<AuditRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLUMNS} FROM audit_log a LEFT JOIN tenants t ON t.id = a.tenant_id
          WHERE ($1::uuid IS NULL OR a.tenant_id = $1)
            AND ($2 = '' OR a.actor_kind = $2)
            AND ($3 = '' OR starts_with(a.action, $3))
            AND ($4::bigint IS NULL OR a.id < $4)
            AND NOT ($6 AND a.action = ANY($7))
          ORDER BY a.id DESC LIMIT $5"
    ))
    .bind(f.tenant)
    .bind(&f.actor_kind)
    .bind(&f.action)
    .bind(f.before_id)
    .bind(f.limit)
    .bind(f.customer_view)
    .bind(&STAFF_INTERNAL[..])
    .fetch_all(exec)
    .await?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_masked_at_any_depth_and_other_fields_kept() {
        let mut v = json!({
            "email": "a@b.test",
            "password": "correct horse battery staple",
            "nested": [{"api_key": "sk_live_abcdefgh12"}, {"token": "short"}, {"secret": "********"}],
            "count": 3
        });
        mask_secrets(&mut v);
        assert_eq!(
            v,
            json!({
                "email": "a@b.test",
                "password": "••••le",
                "nested": [{"api_key": "••••12"}, {"token": "••••"}, {"secret": "********"}],
                "count": 3
            })
        );
    }
}
