//! The append-only audit log (a trigger refuses UPDATE and DELETE).

use serde_json::Value;
use sqlx::PgExecutor;
use uuid::Uuid;

use crate::domain::{ActorKind, TenantId, UserId};

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

struct Entry<'a> {
    pub tenant: Option<TenantId>,
    pub action: &'a str,
    pub target: &'a str,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

async fn record<'e>(exec: impl PgExecutor<'e>, actor: &Actor, e: Entry<'_>) -> super::Result<()> {
    sqlx::query(
        "INSERT INTO audit_log (actor_kind, actor_id, actor_label, tenant_id, action, target,
             before, after, ip, user_agent)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
    )
    .bind(actor.kind.as_str())
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

/// Audit actions by family, each stored as its dotted name (the trail filters by prefix).
macro_rules! actions {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }
        }
    };
}

actions! {
    /// A customer's account: target `user:{id}`.
    AccountAction {
        Signup => "account.signup",
        Login => "account.login",
        Logout => "account.logout",
        VerifyEmail => "account.verify_email",
        EmailChange => "account.email_change",
        PasswordReset => "account.password_reset",
        PasswordChange => "account.password_change",
        SessionEnd => "account.session_end",
        TwoFactorOn => "account.two_factor_on",
        TwoFactorOff => "account.two_factor_off",
    }
}

actions! {
    /// A workspace's people: target `user:{id}` or `invitation:{id}`.
    TeamAction {
        Invite => "team.invite",
        Revoke => "team.revoke",
        Join => "team.join",
        RoleChange => "team.role_change",
        Remove => "team.remove",
        Leave => "team.leave",
        Transfer => "team.transfer",
        CreateWorkspace => "team.create_workspace",
        Require2fa => "team.require_2fa",
        Export => "team.export",
        ExportDownload => "team.export_download",
    }
}

actions! {
    /// One domain, by the customer or the purchase saga: target `domain:{id}`.
    DomainAction {
        Purchase => "domain.purchase",
        Connect => "domain.connect",
        Repair => "domain.repair",
        Delete => "domain.delete",
        Active => "domain.active",
        Failed => "domain.failed",
        Refund => "domain.refund",
        Suspend => "domain.suspend",
        Resume => "domain.resume",
        AutoRenew => "domain.auto_renew",
        Renewed => "domain.renewed",
        RenewalFailed => "domain.renewal_failed",
    }
}

actions! {
    /// One inbox: target `inbox:{id}`.
    InboxAction {
        RevealCredentials => "inbox.reveal_credentials",
        Update => "inbox.update",
        Suspend => "inbox.suspend",
        Resume => "inbox.resume",
        Delete => "inbox.delete",
    }
}

actions! {
    /// Many inboxes at once: target the batch or the export's filter.
    InboxesAction {
        Provision => "inboxes.provision",
        Export => "inboxes.export",
    }
}

actions! {
    /// The tenant's subscription and payments: target the Stripe object or ledger row.
    BillingAction {
        PlanChange => "billing.plan_change",
        Checkout => "billing.checkout",
        CancelAtPeriodEnd => "billing.cancel_at_period_end",
        Refund => "billing.refund",
        DefaultCard => "billing.default_card",
        RemoveCard => "billing.remove_card",
    }
}

actions! {
    /// The tenant as a whole (staff or triggers): target the tenant, suspension or note.
    TenantAction {
        Suspend => "tenant.suspend",
        Resume => "tenant.resume",
        TrialExtend => "tenant.trial_extend",
        Close => "tenant.close",
        Note => "tenant.note",
    }
}

actions! {
    /// Staff operating the platform: relay purges, job retries, event views, the sandbox clock.
    OpsAction {
        RelayPurge => "relay.purge",
        RelayPurgeResult => "relay.purge.result",
        JobRetry => "job.retry",
        ViewEvent => "staff.view_event",
        ViewAs => "staff.view_as",
        SandboxClock => "sandbox.clock",
    }
}

actions! {
    /// The workspace's integrations: API keys (`api_key:{id}`), webhook endpoints
    /// (`webhook:{id}`) and the cold-email tools inboxes are pushed to (`tool:{name}`).
    IntegrationAction {
        ApiKeyCreate => "api_key.create",
        ApiKeyRevoke => "api_key.revoke",
        WebhookCreate => "webhook.create",
        WebhookDelete => "webhook.delete",
        WebhookRotate => "webhook.rotate_secret",
        WebhookResend => "webhook.resend",
        WebhookDisable => "webhook.disable",
        ToolConnect => "tool.connect",
        ToolPush => "tool.push",
    }
}

/// What a row says changed: the state before and after (either may be absent).
#[derive(Clone, Debug, Default)]
pub struct Change {
    pub before: Option<Value>,
    pub after: Option<Value>,
}

impl Change {
    pub fn none() -> Self {
        Self::default()
    }

    pub fn after(after: Value) -> Self {
        Self {
            before: None,
            after: Some(after),
        }
    }

    pub fn from_to(before: Value, after: Value) -> Self {
        Self {
            before: Some(before),
            after: Some(after),
        }
    }
}

async fn write<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: Option<TenantId>,
    action: &str,
    target: &str,
    change: Change,
) -> super::Result<()> {
    record(
        exec,
        actor,
        Entry {
            tenant,
            action,
            target,
            before: change.before,
            after: change.after,
        },
    )
    .await
}

/// A sign-up, sign-in or sign-out of `user`.
pub async fn account<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: Option<TenantId>,
    action: AccountAction,
    user: UserId,
    change: Change,
) -> super::Result<()> {
    let target = format!("user:{}", user.0);
    write(exec, actor, tenant, action.as_str(), &target, change).await
}

/// A change to the workspace's people; `target` names the user or invitation.
pub async fn team<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: TeamAction,
    target: &str,
    change: Change,
) -> super::Result<()> {
    write(exec, actor, Some(tenant), action.as_str(), target, change).await
}

/// A change to one of the tenant's domains.
pub async fn domain<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: DomainAction,
    domain: Uuid,
    change: Change,
) -> super::Result<()> {
    let target = format!("domain:{domain}");
    write(exec, actor, Some(tenant), action.as_str(), &target, change).await
}

/// A change to one of the tenant's inboxes.
pub async fn inbox<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: InboxAction,
    inbox: Uuid,
    change: Change,
) -> super::Result<()> {
    let target = format!("inbox:{inbox}");
    write(exec, actor, Some(tenant), action.as_str(), &target, change).await
}

/// Many of the tenant's inboxes at once; `target` names the batch or the selection.
pub async fn inboxes<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: InboxesAction,
    target: &str,
    change: Change,
) -> super::Result<()> {
    write(exec, actor, Some(tenant), action.as_str(), target, change).await
}

/// The tenant's subscription or payments; `target` names the Stripe object or ledger row.
pub async fn billing<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: BillingAction,
    target: &str,
    change: Change,
) -> super::Result<()> {
    write(exec, actor, Some(tenant), action.as_str(), target, change).await
}

/// A change to the tenant's integrations; `target` names the key, endpoint or tool.
pub async fn integration<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: IntegrationAction,
    target: &str,
    change: Change,
) -> super::Result<()> {
    write(exec, actor, Some(tenant), action.as_str(), target, change).await
}

/// The tenant as a whole; `target` names the tenant, suspension or note.
pub async fn tenant<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: TenantId,
    action: TenantAction,
    target: &str,
    change: Change,
) -> super::Result<()> {
    write(exec, actor, Some(tenant), action.as_str(), target, change).await
}

/// Staff operating the platform, for a tenant or none.
pub async fn ops<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: Option<TenantId>,
    action: OpsAction,
    target: &str,
    change: Change,
) -> super::Result<()> {
    write(exec, actor, tenant, action.as_str(), target, change).await
}

/// A Stripe event applied (or replayed): action `stripe.{type}`, target `event:{id}`.
pub async fn stripe_event<'e>(
    exec: impl PgExecutor<'e>,
    actor: &Actor,
    tenant: Option<TenantId>,
    event_type: &str,
    event_id: &str,
    change: Change,
) -> super::Result<()> {
    let action = format!("stripe.{event_type}");
    let target = format!("event:{event_id}");
    write(exec, actor, tenant, &action, &target, change).await
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
