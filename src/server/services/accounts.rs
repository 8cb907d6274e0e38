//! Signup and login.

use chrono::{Duration, Utc};
use std::net::IpAddr;

use crate::domain::{CompanyName, EmailAddress, Password, TenantId, UserId, Website};
use crate::error::FieldError;
use crate::server::auth::password::MAX_LOGIN_PASSWORD_CHARS;
use crate::server::db::audit::{Actor, Entry, Origin};
use crate::server::db::{self, accounts::CreateSignupError, auth_failures::Kind};
use crate::server::state::AppState;

/// The raw signup form, exactly as typed.
pub struct SignupForm {
    pub company: String,
    pub email: String,
    pub password: String,
    pub website: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SignupError {
    #[error("invalid signup input")]
    Invalid(Vec<FieldError>),
    #[error("email already registered")]
    EmailTaken,
    #[error("too many failed signups; retry after {0}s")]
    Throttled(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed logins; retry after {0}s")]
    Throttled(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

pub struct SignedIn {
    pub user_id: UserId,
    /// `None` only for staff without a customer workspace: nobody else can sign in without one.
    pub tenant_id: Option<TenantId>,
}

/// Parses every field (all errors at once), then creates tenant + owner + trial atomically.
pub async fn signup(
    state: &AppState,
    form: SignupForm,
    ip: IpAddr,
    origin: &Origin,
) -> Result<SignedIn, SignupError> {
    let email_key = throttle_key(&form.email);
    throttled(
        state,
        Kind::Signup,
        ip,
        &email_key,
        SignupError::Throttled,
        |e| matches!(e, SignupError::Invalid(_) | SignupError::EmailTaken),
        create(state, &form, origin),
    )
    .await
}

/// The email as the throttle (and the trail) key it: trimmed, lower case, without control
/// characters — a typed value may hold a NUL byte, which Postgres text cannot store, and
/// no address with control characters exists anyway.
fn throttle_key(raw_email: &str) -> String {
    raw_email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// The throttle protocol for logins and signups, in one place. The attempt is recorded as a
/// failure *first*, so attempts sent in parallel see each other and cannot outrun the limit;
/// it is refused if the failures before it reach the limit; otherwise it runs, and is
/// forgotten again unless `is_failure` says it failed. A successful login also forgives the
/// email's earlier failures.
async fn throttled<T, E: From<anyhow::Error>>(
    state: &AppState,
    kind: Kind,
    ip: IpAddr,
    email_key: &str,
    throttled_error: fn(u64) -> E,
    is_failure: fn(&E) -> bool,
    attempt: impl Future<Output = Result<T, E>>,
) -> Result<T, E> {
    let pool = &state.pool;
    let limits = &state.settings.rate_limits;
    let id = db::auth_failures::begin(pool, kind, ip, email_key).await?;
    let wait = db::auth_failures::retry_after(
        pool,
        kind,
        ip,
        email_key,
        limits.auth_max_failures,
        limits.auth_window_secs,
        id,
    )
    .await?;
    let result = match wait {
        Some(secs) => Err(throttled_error(secs)),
        None => attempt.await,
    };
    match &result {
        Err(e) if is_failure(e) => {}
        _ => db::auth_failures::forget(pool, id).await?,
    }
    if result.is_ok() && kind == Kind::Login {
        db::auth_failures::clear_email(pool, kind, email_key).await?;
    }
    result
}

async fn create(
    state: &AppState,
    form: &SignupForm,
    origin: &Origin,
) -> Result<SignedIn, SignupError> {
    let mut errors = Vec::new();
    let company = CompanyName::parse(&form.company)
        .map_err(|m| errors.push(FieldError::new("company", m)))
        .ok();
    let email = EmailAddress::parse(&form.email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let password = Password::parse(&form.password)
        .map_err(|m| errors.push(FieldError::new("password", m)))
        .ok();
    let website = Website::parse_optional(&form.website)
        .map_err(|m| errors.push(FieldError::new("website", m)))
        .ok();
    let (Some(company), Some(email), Some(password), Some(website)) =
        (company, email, password, website)
    else {
        return Err(SignupError::Invalid(errors));
    };

    let hash = state.passwords.hash(&password).await?;
    let trial_ends_at = Utc::now() + Duration::days(state.settings.trial.days);
    let (tenant_id, user_id) = db::accounts::create_signup(
        &state.pool,
        db::accounts::NewSignup {
            company: &company,
            website: website.as_ref(),
            email: &email,
            password_hash: &hash,
            trial_ends_at,
        },
    )
    .await
    .map_err(|e| match e {
        CreateSignupError::EmailTaken => SignupError::EmailTaken,
        CreateSignupError::Unexpected(e) => SignupError::Unexpected(e),
    })?;
    tracing::info!(tenant_id = %tenant_id.0, user_id = %user_id.0, "signup created tenant");
    db::audit::record(
        &state.pool,
        &Actor::user(user_id.0, email.as_str(), origin),
        Entry {
            tenant: Some(tenant_id),
            action: "account.signup",
            target: &format!("user:{}", user_id.0),
            before: None,
            after: Some(serde_json::json!({
                "company": company.as_str(),
                "email": email.as_str(),
                "trial_ends_at": trial_ends_at,
            })),
        },
    )
    .await?;
    Ok(SignedIn {
        user_id,
        tenant_id: Some(tenant_id),
    })
}

/// Checks the credentials. Unknown email and wrong password fail the same way, in the same
/// time (a dummy hash is verified for unknown emails).
pub async fn login(
    state: &AppState,
    raw_email: &str,
    password: &str,
    ip: IpAddr,
    origin: &Origin,
) -> Result<SignedIn, LoginError> {
    let email_key = throttle_key(raw_email);
    let signed_in = throttled(
        state,
        Kind::Login,
        ip,
        &email_key,
        LoginError::Throttled,
        |e| matches!(e, LoginError::InvalidCredentials),
        check_credentials(state, raw_email, password),
    )
    .await?;
    let (user, tenant) = (signed_in.user_id, signed_in.tenant_id);
    session_audit(state, "account.login", user, &email_key, tenant, origin).await?;
    Ok(signed_in)
}

/// Records the sign-out (the session itself is ended by the caller).
pub async fn logout(
    state: &AppState,
    user: UserId,
    tenant: Option<TenantId>,
    origin: &Origin,
) -> anyhow::Result<()> {
    session_audit(state, "account.logout", user, "", tenant, origin).await
}

/// The audit row of a sign-in or sign-out: a user without a workspace is staff.
async fn session_audit(
    state: &AppState,
    action: &str,
    user: UserId,
    label: &str,
    tenant: Option<TenantId>,
    origin: &Origin,
) -> anyhow::Result<()> {
    let mut actor = Actor::user(user.0, label, origin);
    if tenant.is_none() {
        actor.kind = "staff";
    }
    let target = format!("user:{}", user.0);
    let entry = Entry {
        tenant,
        action,
        target: &target,
        before: None,
        after: None,
    };
    db::audit::record(&state.pool, &actor, entry).await
}

async fn check_credentials(
    state: &AppState,
    raw_email: &str,
    password: &str,
) -> Result<SignedIn, LoginError> {
    let row = match EmailAddress::parse(raw_email) {
        Ok(email) => db::accounts::find_login(&state.pool, &email).await?,
        Err(_) => None,
    };
    let hash = row.as_ref().map(|r| r.password_hash.clone());
    let too_long = password.chars().count() > MAX_LOGIN_PASSWORD_CHARS;
    let ok = state.passwords.verify(password, hash).await? && !too_long;
    match row {
        Some(r) if ok && (r.tenant_id.is_some() || r.is_staff) => Ok(SignedIn {
            user_id: r.user_id,
            tenant_id: r.tenant_id,
        }),
        _ => Err(LoginError::InvalidCredentials),
    }
}
