//! What every server function needs: state, session, client IP, and service errors turned
//! into `AppError`s (with the cause logged, never sent). Their HTTP status is set in one place,
//! `http::middleware::server_fn_errors`.

use leptos::prelude::*;
use std::net::IpAddr;

use crate::error::{AppError, FieldError};
use crate::server::auth::{TenantCtx, TypedSession, guard};
use crate::server::http::middleware::ClientIp;
use crate::server::services::accounts::{LoginError, SignupError};
use crate::server::state::AppState;

/// Logs the whole cause chain and returns the opaque `Internal` error.
pub fn internal(e: impl Into<anyhow::Error>) -> AppError {
    let e = e.into();
    tracing::error!(error = ?e, "unexpected error");
    AppError::Internal
}

pub fn state() -> Result<AppState, AppError> {
    use_context::<AppState>().ok_or_else(|| internal(anyhow::anyhow!("AppState not provided")))
}

pub async fn session() -> Result<TypedSession, AppError> {
    leptos_axum::extract::<tower_sessions::Session>()
        .await
        .map(TypedSession)
        .map_err(|e| internal(anyhow::anyhow!("session layer missing: {e}")))
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
    let email =
        crate::server::db::accounts::staff_email(&state.pool, crate::domain::UserId(auth.user_id))
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

/// The signed-in user's tenant context.
pub async fn tenant_ctx(state: &AppState) -> Result<TenantCtx, AppError> {
    guard::require_tenant(state, &session().await?).await
}

impl From<SignupError> for AppError {
    fn from(e: SignupError) -> Self {
        match e {
            SignupError::Invalid(errors) => AppError::Invalid(errors),
            SignupError::EmailTaken => AppError::Conflict(FieldError::new(
                "email",
                "An account with this email already exists. Log in instead?",
            )),
            SignupError::Throttled(secs) => AppError::RateLimited {
                retry_after_secs: secs,
            },
            SignupError::Unexpected(e) => internal(e),
        }
    }
}

/// What the login form says when the email's failure bound is full.
pub const LOGIN_CODE_REQUIRED: &str = "Too many failed sign-ins for this email: we emailed \
    you a one-time code. Enter it with your password.";

impl From<LoginError> for AppError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => AppError::InvalidCredentials,
            LoginError::CodeRequired => {
                AppError::Invalid(vec![FieldError::new("code", LOGIN_CODE_REQUIRED)])
            }
            LoginError::CodeRejected => AppError::Invalid(vec![FieldError::new(
                "code",
                "The password or the code is wrong, or the code has expired. If it expired, \
                 a new one is on its way.",
            )]),
            LoginError::Throttled(secs) => AppError::RateLimited {
                retry_after_secs: secs,
            },
            LoginError::Unexpected(e) => internal(e),
        }
    }
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

impl From<crate::server::services::billing::BillingError> for AppError {
    fn from(e: crate::server::services::billing::BillingError) -> Self {
        use crate::server::providers::payments::PaymentsError;
        use crate::server::services::billing::BillingError;
        match e {
            BillingError::UnknownPlan(_) => {
                AppError::Invalid(vec![FieldError::new("plan", e.to_string())])
            }
            BillingError::Refused(message) => AppError::Conflict(FieldError::new("plan", message)),
            BillingError::NotManager => AppError::Forbidden(e.to_string()),
            BillingError::Provider(PaymentsError::Rejected { message, .. }) => {
                AppError::Upstream(format!("Stripe refused the request: {message}"))
            }
            BillingError::Provider(PaymentsError::RateLimited | PaymentsError::Unavailable(_)) => {
                AppError::Upstream(
                    "Payments are unavailable right now. Please try again in a minute.".into(),
                )
            }
            BillingError::Provider(PaymentsError::Unexpected(e)) | BillingError::Unexpected(e) => {
                internal(e)
            }
        }
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

impl From<crate::server::services::domains::DomainError> for AppError {
    fn from(e: crate::server::services::domains::DomainError) -> Self {
        use crate::server::services::domains::DomainError;
        match e {
            DomainError::Invalid(message) => {
                AppError::Invalid(vec![FieldError::new("name", message)])
            }
            DomainError::NotManager => AppError::Forbidden(e.to_string()),
            DomainError::NotFound => AppError::NotFound,
            DomainError::Refused(message) => AppError::Conflict(FieldError::new("name", message)),
            DomainError::Limit(limit) => {
                AppError::Conflict(FieldError::new("name", limit.to_string()))
            }
            DomainError::Registrar(_) | DomainError::Dns(_) | DomainError::Lookup(_) => {
                tracing::warn!(error = ?e, "domain provider call failed");
                AppError::Upstream(e.to_string())
            }
            DomainError::Billing(e) => e.into(),
            DomainError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::inboxes::InboxError> for AppError {
    fn from(e: crate::server::services::inboxes::InboxError) -> Self {
        use crate::server::services::inboxes::InboxError;
        match e {
            InboxError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|(field, message)| FieldError::new(field, message))
                    .collect(),
            ),
            InboxError::NotManager => AppError::Forbidden(e.to_string()),
            InboxError::NotFound => AppError::NotFound,
            InboxError::Refused(message) => AppError::Conflict(FieldError::new("inboxes", message)),
            InboxError::Unexpected(e) => internal(e),
        }
    }
}

/// Who is asking, for the audit log: the user, their IP and user agent.
pub async fn actor(ctx: &TenantCtx) -> crate::server::db::audit::Actor {
    crate::server::db::audit::Actor::user(ctx.user_id().0, "", &origin().await)
}

impl From<crate::server::services::suspensions::SuspensionError> for AppError {
    fn from(e: crate::server::services::suspensions::SuspensionError) -> Self {
        use crate::server::services::suspensions::SuspensionError;
        match e {
            SuspensionError::Invalid(message) => {
                AppError::Invalid(vec![FieldError::new("reason", message)])
            }
            SuspensionError::NotFound => AppError::NotFound,
            SuspensionError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::admin::AdminError> for AppError {
    fn from(e: crate::server::services::admin::AdminError) -> Self {
        use crate::server::services::admin::AdminError;
        match e {
            AdminError::Invalid(field, message) => {
                AppError::Invalid(vec![FieldError::new(field, message)])
            }
            AdminError::NotFound => AppError::NotFound,
            AdminError::Refused(message) => AppError::Conflict(FieldError::new("action", message)),
            AdminError::Upstream(message) => AppError::Upstream(message),
            AdminError::Unexpected(e) => internal(e),
        }
    }
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
