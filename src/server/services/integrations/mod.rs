//! `/settings/api`: the workspace's API keys (made by owners and admins, shown once, stored as
//! a SHA-256, revocable at once), its metered calls, its webhook endpoints (`webhooks`) and
//! its connections to the cold-email tools (`push`).

pub mod push;
pub mod webhooks;

use chrono::{DateTime, Datelike, Duration, Utc};
use uuid::Uuid;

use crate::domain::api::{
    ApiKeyView, ApiSettingsView, CreatedKey, Scope, WEBHOOK_EVENTS, parse_scopes, role_may_hold,
};
use crate::server::auth::{TenantCtx, end_read, guard};
use crate::server::crypto;
use crate::server::db::audit::{Actor, Change, IntegrationAction};
use crate::server::db::{self};
use crate::server::state::AppState;

#[derive(Debug, thiserror::Error)]
pub enum IntegrationError {
    /// Bad input: (field, message) pairs.
    #[error("{}", .0.first().map(|(_, m)| m.as_str()).unwrap_or("Invalid input."))]
    Invalid(Vec<(&'static str, String)>),
    #[error("{0}")]
    Forbidden(String),
    #[error("Not found.")]
    NotFound,
    /// A tool or endpoint refused or failed; the message says what to do.
    #[error("{0}")]
    Upstream(String),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(IntegrationError);

fn invalid(field: &'static str, message: impl Into<String>) -> IntegrationError {
    IntegrationError::Invalid(vec![(field, message.into())])
}

pub(crate) fn when(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

pub(crate) fn parse_id(raw: &str) -> Result<Uuid, IntegrationError> {
    Uuid::parse_str(raw.trim()).map_err(|_| IntegrationError::NotFound)
}

fn manager(ctx: &TenantCtx) -> Result<(), IntegrationError> {
    ctx.require_manager()
        .map_err(|e| IntegrationError::Forbidden(e.to_string()))
}

/// Writes the audit row of a change to the workspace's integrations and commits the change
/// with it: both or neither.
pub(crate) async fn record(
    mut tx: sqlx::Transaction<'static, sqlx::Postgres>,
    ctx: &TenantCtx,
    actor: &Actor,
    action: IntegrationAction,
    target: &str,
    change: Change,
) -> Result<(), IntegrationError> {
    db::audit::integration(&mut *tx, actor, ctx.tenant_id(), action, target, change).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// The first day of this month (UTC): the metering period.
pub fn this_month() -> chrono::NaiveDate {
    Utc::now().date_naive().with_day(1).expect("day 1")
}

/// Everything `/settings/api` shows.
pub async fn view(state: &AppState, ctx: &TenantCtx) -> Result<ApiSettingsView, IntegrationError> {
    let mut tx = ctx.begin(state).await?;
    let keys = db::api::keys(&mut tx, ctx).await?;
    let stored = db::api::calls_in(&mut tx, ctx, this_month()).await?;
    let endpoints = webhooks::list(&mut tx, ctx).await?;
    let tools = push::tools(&mut tx, ctx).await?;
    end_read(tx);
    let (_, allowed) =
        db::api::month_usage(&state.pool, &state.settings, ctx.tenant_id(), this_month()).await?;
    let now = Utc::now();
    Ok(ApiSettingsView {
        keys: keys
            .into_iter()
            .map(|k| ApiKeyView {
                id: k.id.to_string(),
                name: k.name,
                prefix: k.prefix,
                scopes: k.scopes,
                created: when(k.created_at),
                created_by: k.created_by_email,
                expires: k.expires_at.map(when),
                last_used: k.last_used_at.map(when),
                last_used_ip: k.last_used_ip,
                state: if k.revoked_at.is_some() {
                    "revoked"
                } else if k.expires_at.is_some_and(|e| e <= now) {
                    "expired"
                } else {
                    "active"
                }
                .into(),
            })
            .collect(),
        can_manage: ctx.role().can_manage(),
        owner: ctx.role() == crate::domain::Role::Owner,
        calls_this_month: stored + state.api_meter.pending(ctx.tenant_id()),
        calls_allowed: allowed,
        endpoints,
        events: WEBHOOK_EVENTS.iter().map(|e| e.to_string()).collect(),
        tools,
    })
}

/// The secret part of a new key: 32 random bytes, base64url (43 characters).
fn new_key() -> (String, String) {
    let id: String = crypto::random_bytes(4)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let prefix = format!("igk_{id}");
    let secret = format!("{prefix}_{}", crypto::url_token().as_str());
    (prefix, secret)
}

/// Makes a key for the workspace with `scopes` (comma-separated) and an optional expiry in
/// days (1–3650; empty for none). Owners and admins only; the secret is returned once.
pub async fn create_key(
    state: &AppState,
    ctx: &TenantCtx,
    name: &str,
    scopes: &str,
    expires_days: &str,
    actor: &Actor,
) -> Result<CreatedKey, IntegrationError> {
    manager(ctx)?;
    let name = name.trim();
    let mut errors = Vec::new();
    if name.is_empty() || name.chars().count() > 80 {
        errors.push((
            "name",
            "Name the key (up to 80 characters), e.g. “Zapier”.".to_string(),
        ));
    } else if name.chars().any(char::is_control) {
        errors.push((
            "name",
            "The name cannot contain control characters.".to_string(),
        ));
    }
    let scopes = match parse_scopes(scopes) {
        Ok(s) => s,
        Err(m) => {
            errors.push(("scopes", m));
            Vec::new()
        }
    };
    let expires_at = match expires_days.trim() {
        "" | "never" => None,
        days => match days.parse::<i64>() {
            Ok(d) if (1..=3650).contains(&d) => Some(Utc::now() + Duration::days(d)),
            _ => {
                errors.push((
                    "expires_days",
                    "Give the expiry in days, from 1 to 3650, or leave it empty for none."
                        .to_string(),
                ));
                None
            }
        },
    };
    if !errors.is_empty() {
        return Err(IntegrationError::Invalid(errors));
    }
    if !role_may_hold(ctx.role(), &scopes) {
        return Err(IntegrationError::Forbidden(
            "Your role cannot hold these scopes.".into(),
        ));
    }
    let (prefix, secret) = new_key();
    let id = Uuid::new_v4();
    let scope_names: Vec<String> = scopes.iter().map(|s| s.as_str().to_string()).collect();
    let mut tx = ctx.begin(state).await?;
    db::api::insert_key(
        &mut tx,
        ctx,
        &db::api::NewKey {
            id,
            name,
            prefix: &prefix,
            secret_hash: &guard::key_hash(&secret),
            scopes: scope_names.clone(),
            expires_at,
        },
    )
    .await?;
    record(
        tx,
        ctx,
        actor,
        IntegrationAction::ApiKeyCreate,
        &format!("api_key:{id}"),
        Change::after(serde_json::json!({
            "name": name, "prefix": prefix, "scopes": scope_names,
            "expires_at": expires_at.map(|e| e.to_rfc3339()),
        })),
    )
    .await?;
    Ok(CreatedKey {
        id: id.to_string(),
        prefix,
        secret,
    })
}

/// Revokes a key: the next request with it fails (the door asks the database every time).
pub async fn revoke_key(
    state: &AppState,
    ctx: &TenantCtx,
    id: &str,
    actor: &Actor,
) -> Result<(), IntegrationError> {
    manager(ctx)?;
    let id = parse_id(id)?;
    let mut tx = ctx.begin(state).await?;
    let Some((name, prefix)) = db::api::revoke_key(&mut tx, ctx, id).await? else {
        return Err(IntegrationError::NotFound);
    };
    record(
        tx,
        ctx,
        actor,
        IntegrationAction::ApiKeyRevoke,
        &format!("api_key:{id}"),
        Change::after(serde_json::json!({ "name": name, "prefix": prefix })),
    )
    .await?;
    Ok(())
}

/// The scopes every key may name, for the page.
pub fn scope_names() -> Vec<(&'static str, &'static str)> {
    Scope::ALL.iter().map(|s| (s.as_str(), s.label())).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_new_key_has_the_visible_prefix_the_door_reads() {
        let (prefix, secret) = new_key();
        assert_eq!(guard::key_prefix(&secret), Some(prefix.as_str()));
        assert_eq!(secret.len(), 12 + 1 + 43);
        let (_, other) = new_key();
        assert_ne!(secret, other);
    }
}
