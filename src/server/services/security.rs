//! `/settings/security`: the user's signed-in browsers, ending them, and changing the
//! password.

use std::net::IpAddr;
use uuid::Uuid;

use crate::domain::security::{SessionView, browser_label};
use crate::domain::{Password, UserId};
use crate::error::FieldError;
use crate::server::auth::TenantCtx;
use crate::server::db::audit::{AccountAction, Actor, Change, Origin};
use crate::server::db::{self};
use crate::server::services::accounts::{AccountError, throttled_guess};
use crate::server::state::AppState;

/// The user's sessions, the asking browser (`current`) marked.
pub async fn sessions(
    state: &AppState,
    ctx: &TenantCtx,
    current: Uuid,
) -> Result<Vec<SessionView>, AccountError> {
    let rows = db::sessions::list(&state.pool, ctx.user_id()).await?;
    Ok(rows
        .into_iter()
        .map(|r| SessionView {
            id: r.id.to_string(),
            browser: browser_label(&r.user_agent),
            ip: r.ip,
            created_at: r.created_at.to_rfc3339(),
            last_seen_at: r.last_seen_at.to_rfc3339(),
            current: r.id == current,
        })
        .collect())
}

/// Ends one of the user's own sessions (another user's id is "not found").
pub async fn end_session(
    state: &AppState,
    ctx: &TenantCtx,
    id: Uuid,
    origin: &Origin,
) -> Result<(), AccountError> {
    if !db::sessions::end(&state.pool, ctx.user_id(), id).await? {
        return Err(AccountError::NotFound);
    }
    audit_end(state, ctx, origin, serde_json::json!({ "session": id })).await
}

/// "Sign out everywhere else": every session of the user but `current`.
pub async fn end_other_sessions(
    state: &AppState,
    ctx: &TenantCtx,
    current: Uuid,
    origin: &Origin,
) -> Result<u64, AccountError> {
    let ended = db::sessions::end_all(&state.pool, ctx.user_id(), Some(current)).await?;
    audit_end(state, ctx, origin, serde_json::json!({ "ended": ended })).await?;
    Ok(ended)
}

async fn audit_end(
    state: &AppState,
    ctx: &TenantCtx,
    origin: &Origin,
    after: serde_json::Value,
) -> Result<(), AccountError> {
    let user = ctx.user_id();
    db::audit::account(
        &state.pool,
        &Actor::user(user.0, "", origin),
        Some(ctx.tenant_id()),
        AccountAction::SessionEnd,
        user,
        Change::after(after),
    )
    .await?;
    Ok(())
}

/// Changes the password: the current one is required (a wrong one counts as a failed login
/// for the throttle, so a borrowed session cannot guess it), and every other session ends.
pub async fn change_password(
    state: &AppState,
    ctx: &TenantCtx,
    current_sid: Uuid,
    current: &str,
    new_password: &str,
    ip: IpAddr,
    origin: &Origin,
) -> Result<(), AccountError> {
    let user = ctx.user_id();
    let (email, hash) = db::accounts::credentials(&state.pool, user).await?;
    let ended = throttled_guess(
        state,
        ip,
        &email,
        || change(state, user, &hash, current, new_password, current_sid),
        // Only a wrong current password is a guess; a weak new one is not.
        |e| matches!(e, AccountError::Invalid(errors) if errors.iter().any(|e| e.field == "current")),
    )
    .await?;
    db::audit::account(
        &state.pool,
        &Actor::user(user.0, &email, origin),
        Some(ctx.tenant_id()),
        AccountAction::PasswordChange,
        user,
        Change::after(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    Ok(())
}

async fn change(
    state: &AppState,
    user: UserId,
    hash: &crate::server::auth::password::PasswordHash,
    current: &str,
    new_password: &str,
    current_sid: Uuid,
) -> Result<u64, AccountError> {
    if !state.passwords.verify(current, Some(hash.clone())).await? {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "current",
            "That is not your current password.",
        )]));
    }
    let password = Password::parse(new_password)
        .map_err(|m| AccountError::Invalid(vec![FieldError::new("password", m)]))?;
    let new_hash = state.passwords.hash(&password).await?;
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    db::accounts::update_password(&mut *tx, user, &new_hash).await?;
    let ended = db::sessions::end_all(&mut *tx, user, Some(current_sid)).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(ended)
}
