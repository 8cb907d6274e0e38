//! What every server function needs from its request: state, session, client IP, origin, the
//! tenant context and the staff actor. Errors become `AppError`s through `fn_errors`.

use leptos::prelude::*;
use std::net::IpAddr;

use crate::error::AppError;
use crate::server::auth::{TenantCtx, TypedSession, guard};
use crate::server::fn_errors::internal;
use crate::server::http::middleware::ClientIp;
use crate::server::state::AppState;

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal(anyhow::anyhow!("AppState not provided")))
}

/// Reads one thing from the request's extensions without cloning the request's head.
fn from_request<T: Clone + Send + Sync + 'static>() -> Option<T> {
    with_context::<axum::http::request::Parts, _>(|p| p.extensions.get::<T>().cloned()).flatten()
}

pub async fn session() -> Result<TypedSession, AppError> {
    from_request::<tower_sessions::Session>()
        .map(TypedSession)
        .ok_or_else(|| internal(anyhow::anyhow!("session layer missing")))
}

pub async fn client_ip() -> Result<IpAddr, AppError> {
    leptos_axum::extract::<axum::Extension<ClientIp>>()
        .await
        .map(|axum::Extension(ClientIp(ip))| ip)
        .map_err(|e| internal(anyhow::anyhow!("client ip middleware missing: {e}")))
}

/// The signed-in staff user's email; a customer gets "not found" (never data), a visitor 401.
pub async fn require_staff(state: &AppState) -> Result<String, AppError> {
    Ok(staff_actor(state).await?.label)
}

/// The signed-in staff user as the audit log's actor (same refusals as [`require_staff`]).
pub async fn staff_actor(state: &AppState) -> Result<crate::server::db::audit::Actor, AppError> {
    let auth = session()
        .await?
        .auth()
        .await
        .map_err(internal)?
        .ok_or(AppError::Unauthorized)?;
    let email = crate::server::db::accounts::staff_email(
        &state.pool,
        crate::domain::UserId(auth.user_id),
        auth.sid,
        crate::server::services::two_factor::staff_must(state),
    )
    .await
    .map_err(internal)?
    .ok_or(AppError::NotFound)?;
    let origin = origin().await;
    Ok(crate::server::db::audit::Actor {
        kind: crate::domain::ActorKind::Staff,
        id: Some(auth.user_id),
        label: email,
        ip: origin.ip,
        user_agent: origin.user_agent,
    })
}

/// The caller's IP and user agent, for the audit log.
pub async fn origin() -> crate::server::db::audit::Origin {
    let headers = leptos_axum::extract::<axum::http::HeaderMap>().await.ok();
    let user_agent = headers
        .as_ref()
        .and_then(|h| h.get(axum::http::header::USER_AGENT))
        .and_then(|v| v.to_str().ok());
    crate::server::db::audit::Origin::new(client_ip().await.ok(), user_agent)
}

/// The signed-in user's tenant context: the door's admission of this request when it made
/// one (`http::middleware::kill_switch`), otherwise asked now.
pub async fn tenant_ctx(state: &AppState) -> Result<TenantCtx, AppError> {
    let admitted = from_request::<guard::Admission>();
    guard::require_tenant(state, &session().await?, admitted.as_ref()).await
}

/// Signs this browser in: a `user_sessions` row for it, then a fresh session id naming it.
pub async fn sign_in(
    state: &AppState,
    who: &crate::server::services::accounts::SignedIn,
    origin: &crate::server::db::audit::Origin,
) -> Result<(), AppError> {
    let sid = crate::server::services::accounts::start_session(state, who.user_id, origin)
        .await
        .map_err(internal)?;
    session()
        .await?
        .sign_in(who.user_id, who.tenant_id, sid)
        .await
        .map_err(internal)
}

/// The browser's signed-in user, if its session is live (its `user_sessions` row exists).
pub async fn signed_in_user() -> Result<Option<crate::domain::UserId>, AppError> {
    let Some(auth) = session().await?.auth().await.map_err(internal)? else {
        return Ok(None);
    };
    let user = crate::domain::UserId(auth.user_id);
    let live = crate::server::db::sessions::is_live(&state()?.pool, auth.sid, user)
        .await
        .map_err(internal)?;
    Ok(live.then_some(user))
}

/// The browser works in `tenant` from now on (the caller checked the membership; the door
/// checks it on every request) and goes to its dashboard.
pub async fn work_in(tenant: crate::domain::TenantId) -> Result<(), AppError> {
    let session = session().await?;
    let auth = session
        .auth()
        .await
        .map_err(internal)?
        .ok_or(AppError::Unauthorized)?;
    session
        .switch_tenant(auth, tenant)
        .await
        .map_err(internal)?;
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// After leaving or closing `left`: the browser moves to another of the user's workspaces, or
/// is signed out when there is none.
pub async fn move_on(
    state: &AppState,
    user: crate::domain::UserId,
    left: crate::domain::TenantId,
) -> Result<(), AppError> {
    match crate::server::services::team::other_workspace(state, user, left).await? {
        Some(next) => work_in(next).await,
        None => {
            session().await?.sign_out().await.map_err(internal)?;
            leptos_axum::redirect("/login");
            Ok(())
        }
    }
}

/// The signed-in browser's session row (`user_sessions`), or `Unauthorized`.
pub async fn current_sid() -> Result<uuid::Uuid, AppError> {
    session()
        .await?
        .auth()
        .await
        .map_err(internal)?
        .map(|a| a.sid)
        .ok_or(AppError::Unauthorized)
}

/// A `next` target is honoured only when it is plainly a path on this site: it starts with
/// one `/`, and has no backslash, whitespace or control character (browsers strip tabs and
/// newlines, so `/\t/evil.example` would otherwise become `//evil.example`).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n)
            if n.starts_with('/')
                && !n.starts_with("//")
                && !n
                    .chars()
                    .any(|c| c == '\\' || c.is_whitespace() || c.is_control()) =>
        {
            n
        }
        _ => "/dashboard",
    }
}

/// Sends a plain-HTML form post (no JavaScript) on to `url` with a redirect. Hydrated pages
/// get the URL as the result instead and load it themselves: the client router would treat a
/// same-origin URL (the sandbox Checkout) as one of its own routes.
pub async fn redirect_form_post(url: &str) {
    let accepts_html = leptos_axum::extract::<axum::http::HeaderMap>()
        .await
        .ok()
        .and_then(|h| {
            h.get(axum::http::header::ACCEPT)
                .and_then(|v| v.to_str().ok())
                .map(|v| v.contains("text/html"))
        })
        .unwrap_or(false);
    if accepts_html {
        leptos_axum::redirect(url);
    }
}

/// Who is asking, for the audit log: the user, their IP and user agent.
pub async fn actor(ctx: &TenantCtx) -> crate::server::db::audit::Actor {
    crate::server::db::audit::Actor::user(ctx.user_id().0, "", &origin().await)
}

#[cfg(test)]
mod tests {
    use super::safe_next;

    #[test]
    fn next_accepts_local_paths_only() {
        assert_eq!(safe_next(Some("/dashboard?x=1")), "/dashboard?x=1");
        assert_eq!(safe_next(Some("//evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("https://evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/\\evil.example")), "/dashboard");
        assert_eq!(safe_next(None), "/dashboard");
    }

    #[test]
    fn next_with_a_tab_newline_or_space_is_refused() {
        assert_eq!(safe_next(Some("/\t/evil.example")), "/dashboard");
        assert_eq!(safe_next(Some("/x\r\nSet-Cookie: a=b")), "/dashboard");
        assert_eq!(safe_next(Some("/ /evil.example")), "/dashboard");
    }
}
