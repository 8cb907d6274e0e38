//! Signup and login, and the links mailed to an account: verify the address, reset the
//! password.

use chrono::{Duration, Utc};
use std::net::{IpAddr, Ipv6Addr};

use crate::domain::{ActorKind, CompanyName, EmailAddress, Password, TenantId, UserId, Website};
use crate::error::FieldError;
use crate::server::auth::TenantCtx;
use crate::server::auth::password::MAX_LOGIN_PASSWORD_CHARS;
use crate::server::crypto;
use crate::server::db::Constraint;
use crate::server::db::account_tokens::Purpose;
use crate::server::db::accounts::LoginRow;
use crate::server::db::audit::{AccountAction, Actor, Change, Origin};
use crate::server::db::auth_failures::{Bound, Keys, Kind};
use crate::server::db::{self};
use crate::server::providers::mail::OutgoingMail;
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
    #[error("too many failed signups; retry after {0}s")]
    Throttled(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(SignupError);

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("too many failed logins; retry after {0}s")]
    Throttled(u64),
    /// Too many failed logins for this email from everywhere: password plus the one-time
    /// code mailed to the address (said the same way whether the account exists or not).
    #[error("a one-time code is required")]
    CodeRequired,
    /// The password or the code was wrong (or the code expired / was used up).
    #[error("wrong password or one-time code")]
    CodeRejected,
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(LoginError);

pub struct SignedIn {
    pub user_id: UserId,
    /// `None` only for staff without a customer workspace: nobody else can sign in without one.
    pub tenant_id: Option<TenantId>,
}

/// What a signup answers, the same whether the address was new or already had an account:
/// the address a message went to, and that message's outbox key.
pub struct SignupReceipt {
    pub email: EmailAddress,
    pub mail_key: String,
}

/// How long a verification link works.
const VERIFY_TTL_SECS: i64 = 24 * 3600;
/// How long a password-reset link works.
const RESET_TTL_SECS: i64 = 3600;
/// "Send again" waits this long after the last verification link.
pub const RESEND_AFTER_SECS: i64 = 60;

/// Parses every field (all errors at once). A new address gets tenant + owner + trial,
/// atomically, unverified, and a link to verify it; an address that already has an account
/// gets a note that someone tried (with sign-in and reset links). Either way the answer is
/// "we sent a link to …", so signup does not tell who is a customer.
pub async fn signup(
    state: &AppState,
    form: SignupForm,
    ip: IpAddr,
    origin: &Origin,
) -> Result<SignupReceipt, SignupError> {
    let email_key = throttle_key(&form.email);
    let (attempt, gate) = enter(state, Kind::Signup, ip, &email_key).await?;
    let result = match gate {
        Gate::Wait(secs) => Err(SignupError::Throttled(secs)),
        Gate::Open | Gate::CodeRequired => create(state, &form, origin).await,
    };
    let outcome = match &result {
        Err(SignupError::Invalid(_)) => Outcome::Failed,
        _ => Outcome::NotCounted,
    };
    leave(state, &attempt, outcome).await?;
    result
}

/// What the recorded failures allow for one attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Gate {
    Open,
    /// The (email, address) pair or the address is over its bound: 429 for this long.
    Wait(u64),
    /// The email is over its bound (guesses from many addresses): the password alone is not
    /// enough, a mailed one-time code is needed too.
    CodeRequired,
}

/// How an attempt ended, for the throttle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Outcome {
    /// Counts against every bound.
    Failed,
    /// Neither success nor a guess (throttled, or our own error): forgotten.
    NotCounted,
    /// Forgotten, and the same email's earlier failures from the same address forgiven.
    Succeeded,
}

/// One attempt, recorded as a failure until `leave` says otherwise.
pub(super) struct Attempt {
    id: i64,
    kind: Kind,
    address: String,
    email: [u8; 32],
    /// This attempt, if it fails, fills the email's bound (the owner is then told).
    fills_email_bound: bool,
}

impl Attempt {
    fn keys(&self) -> Keys<'_> {
        Keys {
            kind: self.kind,
            address: &self.address,
            email: &self.email,
        }
    }
}

/// The purpose of the keyed hash that stands for an email in `auth_failures`.
const EMAIL_KEY_PURPOSE: &str = "auth-failures email v1";
/// The purpose of the keyed hash that stores a one-time sign-in code.
const LOGIN_CODE_PURPOSE: &str = "login code v1";

/// The key an address is counted under: an IPv4 address as it is (IPv4-mapped IPv6 too), an
/// IPv6 address by its /64, which one host or household usually holds whole.
pub fn address_key(ip: IpAddr) -> String {
    match ip {
        IpAddr::V4(v4) => v4.to_string(),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => {
                let s = v6.segments();
                format!("{}/64", Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

/// The email as the throttle (and the trail) key it: trimmed, lower case, without control
/// characters — a typed value may hold a NUL byte, which Postgres text cannot store, and
/// no address with control characters exists anyway.
pub(super) fn throttle_key(raw_email: &str) -> String {
    raw_email
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| !c.is_control())
        .collect()
}

/// A password or code check behind the login throttle of `email` from `ip` (changing the
/// password or the email, a 2FA code): a throttled attempt gets `Throttled` without `guess`
/// running; an error `counts` says was a wrong guess is a failed login, anything else is
/// forgotten, and success clears the pair's failures.
pub(super) async fn throttled_guess<T, Fut>(
    state: &AppState,
    ip: IpAddr,
    email: &str,
    guess: impl FnOnce() -> Fut,
    counts: impl Fn(&AccountError) -> bool,
) -> Result<T, AccountError>
where
    Fut: std::future::Future<Output = Result<T, AccountError>>,
{
    let (attempt, gate) = enter(state, Kind::Login, ip, email).await?;
    let result = match gate {
        Gate::Wait(secs) => Err(AccountError::Throttled(secs)),
        Gate::Open | Gate::CodeRequired => guess().await,
    };
    let outcome = match &result {
        Ok(_) => Outcome::Succeeded,
        Err(e) if counts(e) => Outcome::Failed,
        Err(_) => Outcome::NotCounted,
    };
    leave(state, &attempt, outcome).await?;
    result
}

/// The throttle protocol for logins and signups, in one place. The attempt is recorded as a
/// failure *first*, so attempts sent in parallel see each other and cannot outrun a bound;
/// then the failures before it decide the gate. `leave` forgets it again unless it failed.
pub(super) async fn enter(
    state: &AppState,
    kind: Kind,
    ip: IpAddr,
    email_key: &str,
) -> anyhow::Result<(Attempt, Gate)> {
    let limits = &state.settings.rate_limits;
    let address = address_key(ip);
    let email = state
        .settings
        .secret_key
        .keyed_hash(EMAIL_KEY_PURPOSE, email_key.as_bytes())?;
    let keys = Keys {
        kind,
        address: &address,
        email: &email,
    };
    let id = db::auth_failures::begin(&state.pool, keys).await?;
    let counts = db::auth_failures::counts(
        &state.pool,
        keys,
        id,
        Bound {
            max_failures: limits.auth_max_failures,
            window_secs: limits.auth_window_secs,
        },
        Bound {
            max_failures: limits.auth_ip_max_failures,
            window_secs: limits.auth_ip_window_secs,
        },
        limits.auth_email_window_secs,
    )
    .await?;
    let email_bound = kind == Kind::Login;
    let gate = match counts.pair_wait.max(counts.address_wait) {
        Some(secs) => Gate::Wait(secs),
        None if email_bound && counts.email_failures >= limits.auth_email_max_failures => {
            Gate::CodeRequired
        }
        None => Gate::Open,
    };
    let attempt = Attempt {
        id,
        kind,
        address,
        email,
        fills_email_bound: email_bound
            && counts.email_failures + 1 == limits.auth_email_max_failures,
    };
    Ok((attempt, gate))
}

pub(super) async fn leave(
    state: &AppState,
    attempt: &Attempt,
    outcome: Outcome,
) -> anyhow::Result<()> {
    match outcome {
        Outcome::Failed => Ok(()),
        Outcome::NotCounted => Ok(db::auth_failures::forget(&state.pool, attempt.id).await?),
        Outcome::Succeeded => {
            db::auth_failures::forget(&state.pool, attempt.id).await?;
            Ok(db::auth_failures::clear_pair(&state.pool, attempt.keys()).await?)
        }
    }
}

/// Deletes throttle rows older than every window and expired sign-in codes (hourly, from
/// the cleanup loop).
pub async fn prune_auth_records(state: &AppState) -> anyhow::Result<()> {
    let l = &state.settings.rate_limits;
    let oldest = l
        .auth_window_secs
        .max(l.auth_ip_window_secs)
        .max(l.auth_email_window_secs);
    db::auth_failures::prune(&state.pool, oldest).await?;
    db::login_codes::prune(&state.pool).await?;
    db::account_tokens::prune(&state.pool).await?;
    db::exports::prune(&state.pool).await?;
    Ok(())
}

async fn create(
    state: &AppState,
    form: &SignupForm,
    origin: &Origin,
) -> Result<SignupReceipt, SignupError> {
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
    let created = db::accounts::create_signup(
        &state.pool,
        db::accounts::NewSignup {
            company: &company,
            website: website.as_ref(),
            email: &email,
            password_hash: &hash,
            trial_ends_at,
        },
    )
    .await;
    let (tenant_id, user_id) = match created {
        Ok(ids) => ids,
        Err(e) if e.violated(&Constraint::UsersEmail) => {
            let mail_key = someone_tried(state, &email).await?;
            return Ok(SignupReceipt { email, mail_key });
        }
        Err(e) => return Err(SignupError::Unexpected(e.into())),
    };
    tracing::info!(tenant_id = %tenant_id.0, user_id = %user_id.0, "signup created tenant");
    db::audit::account(
        &state.pool,
        &Actor::user(user_id.0, email.as_str(), origin),
        Some(tenant_id),
        db::audit::AccountAction::Signup,
        user_id,
        Change::after(serde_json::json!({
            "company": company.as_str(),
            "email": email.as_str(),
            "trial_ends_at": trial_ends_at,
        })),
    )
    .await?;
    let mail = verification_mail(state, user_id, &email, Some(tenant_id)).await?;
    let mail_key = mail.idempotency_key.clone().unwrap_or_default();
    send_later(state, mail);
    Ok(SignupReceipt { email, mail_key })
}

/// `{public_url}{path}`.
pub(super) fn link(state: &AppState, path: &str) -> String {
    format!(
        "{}{path}",
        state.settings.server.public_url.trim_end_matches('/')
    )
}

/// A new verification link for `email` (earlier ones stop working) and the message that
/// carries it.
async fn verification_mail(
    state: &AppState,
    user: UserId,
    email: &EmailAddress,
    tenant: Option<TenantId>,
) -> anyhow::Result<OutgoingMail> {
    let token = crypto::url_token();
    let hash = crypto::token_hash(&token);
    db::account_tokens::issue(
        &state.pool,
        &hash,
        user,
        Purpose::VerifyEmail,
        email.as_str(),
        VERIFY_TTL_SECS,
    )
    .await?;
    Ok(OutgoingMail {
        to: email.clone(),
        subject: "Confirm your email for InboxGrove".into(),
        body: format!(
            "Welcome to InboxGrove.\n\n\
             Open this link to confirm that {} is yours and sign in:\n\n{}\n\n\
             It works once, for 24 hours. Until you confirm, you can look around your \
             workspace but not buy or connect domains or create inboxes.\n\n\
             If you did not sign up, ignore this message: nothing happens without the link.\n",
            email.as_str(),
            link(state, &format!("/verify-email?token={}", token.as_str())),
        ),
        tenant_id: tenant,
        idempotency_key: Some(format!("verify:{}", hex::encode(&hash[..12]))),
    })
}

/// Tells the owner of an address that already has an account that someone tried to sign up
/// with it (at most once an hour); returns the message's outbox key.
async fn someone_tried(state: &AppState, email: &EmailAddress) -> anyhow::Result<String> {
    let Some(row) = db::accounts::find_login(&state.pool, email).await? else {
        // Deleted between the insert and now: nothing to tell anyone.
        return Ok(String::new());
    };
    let hour = Utc::now().timestamp() / 3600;
    let key = format!("signup-exists:{}:{hour}", row.user_id.0);
    send_later(
        state,
        OutgoingMail {
            to: email.clone(),
            subject: "Someone tried to sign up with your email".into(),
            body: format!(
                "Someone (perhaps you) tried to create an InboxGrove account with {}, which \
                 already has one. Nothing was changed.\n\n\
                 Sign in: {}\n\
                 Forgot your password? Choose a new one: {}\n\n\
                 If it was not you, you can ignore this message.\n",
                email.as_str(),
                link(state, "/login"),
                link(state, "/forgot-password"),
            ),
            tenant_id: row.tenant_id,
            idempotency_key: Some(key.clone()),
        },
    );
    Ok(key)
}

/// What the account's own actions (mailed links, sessions, password) refuse.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    /// A mailed link did not work: it never existed, expired, was used, or was for an address
    /// the account no longer has. One answer for all.
    #[error("the link is expired or used")]
    Expired,
    /// No live session.
    #[error("signed out")]
    SignedOut,
    /// No such session, member or invitation here.
    #[error("not found")]
    NotFound,
    /// Not allowed, and why (the last owner leaving, an admin touching an owner).
    #[error("{0}")]
    Refused(String),
    /// The input conflicts with what exists (an address already a member).
    #[error("{}", .0.message)]
    Conflict(FieldError),
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    #[error("too many requests; retry after {0}s")]
    Throttled(u64),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(AccountError);

/// Opens a verification link: the address is verified and the browser signed in.
pub async fn verify_email(
    state: &AppState,
    token: &str,
    origin: &Origin,
) -> Result<SignedIn, AccountError> {
    let hash = crypto::token_hash(token);
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    let (user, email, action, old) = if let Some((user, email)) =
        db::account_tokens::consume(&mut *tx, &hash, Purpose::VerifyEmail).await?
    {
        if !db::accounts::mark_verified(&mut *tx, user, &email).await? {
            return Err(AccountError::Expired);
        }
        (user, email, AccountAction::VerifyEmail, None)
    } else if let Some((user, email)) =
        db::account_tokens::consume(&mut *tx, &hash, Purpose::ChangeEmail).await?
    {
        let old = db::accounts::user_email(&state.pool, user).await?;
        db::accounts::set_email(&mut *tx, user, &email)
            .await
            .map_err(|e| {
                if e.violated(&Constraint::UsersEmail) {
                    AccountError::Conflict(FieldError::new(
                        "token",
                        "Another account uses this address now, so it cannot be yours too.",
                    ))
                } else {
                    AccountError::Unexpected(e.into())
                }
            })?;
        (user, email, AccountAction::EmailChange, Some(old))
    } else {
        return Err(AccountError::Expired);
    };
    tx.commit().await.map_err(anyhow::Error::from)?;
    let tenant = db::accounts::first_tenant(&state.pool, user).await?;
    db::audit::account(
        &state.pool,
        &Actor::user(user.0, &email, origin),
        tenant,
        action,
        user,
        match &old {
            Some(old) => Change::from_to(
                serde_json::json!({ "email": old }),
                serde_json::json!({ "email": email }),
            ),
            None => Change::after(serde_json::json!({ "email": email })),
        },
    )
    .await?;
    if let Some(Ok(old)) = old.as_deref().map(EmailAddress::parse) {
        send_later(
            state,
            OutgoingMail {
                to: old,
                subject: "Your InboxGrove email was changed".into(),
                body: format!(
                    "The email of your InboxGrove account is now {email}: you sign in with it \
                     from now on.\n\nIf this was not you, reply to this message at once.\n"
                ),
                tenant_id: tenant,
                idempotency_key: None,
            },
        );
    }
    Ok(SignedIn {
        user_id: user,
        tenant_id: tenant,
    })
}

/// "Send again": a new verification link to the signed-in user's address, at most one a
/// minute. Nothing to do for a verified address.
pub async fn resend_verification(state: &AppState, ctx: &TenantCtx) -> Result<(), AccountError> {
    if ctx.email_verified() {
        return Ok(());
    }
    let user = ctx.user_id();
    if let Some(age) =
        db::account_tokens::newest_age_secs(&state.pool, user, Purpose::VerifyEmail).await?
        && age < RESEND_AFTER_SECS
    {
        return Err(AccountError::Throttled((RESEND_AFTER_SECS - age) as u64));
    }
    let email = db::accounts::user_email(&state.pool, user).await?;
    let email = EmailAddress::parse(&email).map_err(anyhow::Error::msg)?;
    let mail = verification_mail(state, user, &email, Some(ctx.tenant_id())).await?;
    crate::server::services::outbox::send(state, &mail)
        .await
        .map_err(anyhow::Error::from)?;
    Ok(())
}

/// Asks to change the account's email: the current password is required (a wrong one counts
/// as a failed login), and the new address gets a link; only opening it makes the change.
pub async fn request_email_change(
    state: &AppState,
    ctx: &TenantCtx,
    raw_email: &str,
    password: &str,
    ip: IpAddr,
) -> Result<EmailAddress, AccountError> {
    let new = EmailAddress::parse(raw_email)
        .map_err(|m| AccountError::Invalid(vec![FieldError::new("email", m)]))?;
    let user = ctx.user_id();
    let (current, hash) = db::accounts::credentials(&state.pool, user).await?;
    if new.as_str() == current {
        return Err(AccountError::Invalid(vec![FieldError::new(
            "email",
            "That is already your email.",
        )]));
    }
    throttled_guess(
        state,
        ip,
        &current,
        || async {
            if state.passwords.verify(password, Some(hash)).await? {
                Ok(())
            } else {
                Err(AccountError::Invalid(vec![FieldError::new(
                    "current",
                    "That is not your current password.",
                )]))
            }
        },
        |e| matches!(e, AccountError::Invalid(_)),
    )
    .await?;
    if db::accounts::find_login(&state.pool, &new).await?.is_some() {
        return Err(AccountError::Conflict(FieldError::new(
            "email",
            "Another account uses this address.",
        )));
    }
    let token = crypto::url_token();
    let token_hash = crypto::token_hash(&token);
    db::account_tokens::issue(
        &state.pool,
        &token_hash,
        user,
        Purpose::ChangeEmail,
        new.as_str(),
        VERIFY_TTL_SECS,
    )
    .await?;
    crate::server::services::outbox::send(
        state,
        &OutgoingMail {
            to: new.clone(),
            subject: "Confirm your new email for InboxGrove".into(),
            body: format!(
                "Open this link to make {} the email of your InboxGrove account:\n\n{}\n\n\
                 It works once, for 24 hours. Until then your account keeps {current}.\n",
                new.as_str(),
                link(state, &format!("/verify-email?token={}", token.as_str())),
            ),
            tenant_id: Some(ctx.tenant_id()),
            idempotency_key: Some(format!("email-change:{}", hex::encode(&token_hash[..12]))),
        },
    )
    .await
    .map_err(anyhow::Error::from)?;
    Ok(new)
}

/// "Forgot password": mails a reset link if the address has an account, and answers the same
/// either way. Throttled like logins; every request counts (each one may mail).
pub async fn forgot_password(
    state: &AppState,
    raw_email: &str,
    ip: IpAddr,
) -> Result<EmailAddress, AccountError> {
    let email = EmailAddress::parse(raw_email)
        .map_err(|m| AccountError::Invalid(vec![FieldError::new("email", m)]))?;
    let (_attempt, gate) = enter(state, Kind::Reset, ip, email.as_str()).await?;
    if let Gate::Wait(secs) = gate {
        return Err(AccountError::Throttled(secs));
    }
    // The attempt stays recorded: it counts against the bound whatever the address.
    if let Some((email, row)) = find_account(state, email.as_str()).await? {
        let token = crypto::url_token();
        let hash = crypto::token_hash(&token);
        db::account_tokens::issue(
            &state.pool,
            &hash,
            row.user_id,
            Purpose::ResetPassword,
            email.as_str(),
            RESET_TTL_SECS,
        )
        .await?;
        send_later(
            state,
            OutgoingMail {
                to: email.clone(),
                subject: "Reset your InboxGrove password".into(),
                body: format!(
                    "Someone (we hope you) asked to reset the password of {}.\n\n\
                     Choose a new password here:\n\n{}\n\n\
                     The link works once, for one hour. Setting a new password signs out \
                     every browser signed in to this account.\n\n\
                     If you did not ask, ignore this message: your password stays as it is.\n",
                    email.as_str(),
                    link(state, &format!("/reset-password?token={}", token.as_str())),
                ),
                tenant_id: row.tenant_id,
                idempotency_key: Some(format!("reset:{}", hex::encode(&hash[..12]))),
            },
        );
    }
    Ok(email)
}

/// Opens a reset link: sets the new password, verifies the address (the link reached it),
/// ends every session of the user and records it. The browser then signs in anew.
pub async fn reset_password(
    state: &AppState,
    token: &str,
    new_password: &str,
    origin: &Origin,
) -> Result<(), AccountError> {
    let password = Password::parse(new_password)
        .map_err(|m| AccountError::Invalid(vec![FieldError::new("password", m)]))?;
    let hash = state.passwords.hash(&password).await?;
    let token_hash = crypto::token_hash(token);
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    let Some((user, email)) =
        db::account_tokens::consume(&mut *tx, &token_hash, Purpose::ResetPassword).await?
    else {
        return Err(AccountError::Expired);
    };
    if !db::accounts::set_password(&mut *tx, user, &email, &hash).await? {
        return Err(AccountError::Expired);
    }
    let ended = db::sessions::end_all(&mut *tx, user, None).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    let tenant = db::accounts::first_tenant(&state.pool, user).await?;
    db::audit::account(
        &state.pool,
        &Actor::user(user.0, &email, origin),
        tenant,
        AccountAction::PasswordReset,
        user,
        Change::after(serde_json::json!({ "sessions_ended": ended })),
    )
    .await?;
    if let Ok(to) = EmailAddress::parse(&email) {
        send_later(
            state,
            OutgoingMail {
                to,
                subject: "Your InboxGrove password was changed".into(),
                body: format!(
                    "The password of {email} was just changed with a reset link, and every \
                     browser signed in to the account was signed out.\n\n\
                     If this was not you, reset it again now: {}\n",
                    link(state, "/forgot-password"),
                ),
                tenant_id: tenant,
                idempotency_key: None,
            },
        );
    }
    Ok(())
}

/// Checks the credentials. Unknown email and wrong password fail the same way, in the same
/// time (a dummy hash is verified for unknown emails). Once the email's bound is full, the
/// password alone is not enough: `code` must be the one-time code mailed to the address.
pub async fn login(
    state: &AppState,
    raw_email: &str,
    password: &str,
    code: Option<&str>,
    ip: IpAddr,
    origin: &Origin,
) -> Result<SignedIn, LoginError> {
    let email_key = throttle_key(raw_email);
    let (attempt, gate) = enter(state, Kind::Login, ip, &email_key).await?;
    let result = match gate {
        Gate::Wait(secs) => Err(LoginError::Throttled(secs)),
        Gate::Open => check_credentials(state, raw_email, password).await,
        Gate::CodeRequired => with_code(state, raw_email, password, code).await,
    };
    let outcome = match &result {
        Ok(_) => Outcome::Succeeded,
        Err(
            LoginError::InvalidCredentials | LoginError::CodeRequired | LoginError::CodeRejected,
        ) => Outcome::Failed,
        Err(LoginError::Throttled(_) | LoginError::Unexpected(_)) => Outcome::NotCounted,
    };
    leave(state, &attempt, outcome).await?;
    if outcome == Outcome::Failed && attempt.fills_email_bound {
        warn_owner(state, raw_email).await?;
    }
    let signed_in = result?;
    let (user, tenant) = (signed_in.user_id, signed_in.tenant_id);
    session_audit(
        state,
        AccountAction::Login,
        user,
        &email_key,
        tenant,
        origin,
    )
    .await?;
    Ok(signed_in)
}

/// Records a signed-in browser (see `db::sessions`): its id goes into the cookie's session,
/// which lives while the row does.
pub async fn start_session(
    state: &AppState,
    user: UserId,
    origin: &Origin,
) -> anyhow::Result<uuid::Uuid> {
    let agent = origin.user_agent.as_deref().unwrap_or("");
    let ip = origin.ip.as_deref().unwrap_or("");
    Ok(db::sessions::start(&state.pool, user, agent, ip).await?)
}

/// Ends the browser's session row and records the sign-out (the cookie's session itself is
/// ended by the caller).
pub async fn logout(
    state: &AppState,
    user: UserId,
    tenant: Option<TenantId>,
    sid: uuid::Uuid,
    origin: &Origin,
) -> anyhow::Result<()> {
    db::sessions::end(&state.pool, user, sid).await?;
    session_audit(state, AccountAction::Logout, user, "", tenant, origin).await
}

/// The audit row of a sign-in or sign-out: a user without a workspace is staff.
async fn session_audit(
    state: &AppState,
    action: AccountAction,
    user: UserId,
    label: &str,
    tenant: Option<TenantId>,
    origin: &Origin,
) -> anyhow::Result<()> {
    let mut actor = Actor::user(user.0, label, origin);
    if tenant.is_none() {
        actor.kind = ActorKind::Staff;
    }
    Ok(db::audit::account(&state.pool, &actor, tenant, action, user, Change::none()).await?)
}

/// The account behind a typed email, if it may sign in (a customer, or staff).
async fn find_account(
    state: &AppState,
    raw_email: &str,
) -> anyhow::Result<Option<(EmailAddress, LoginRow)>> {
    let Ok(email) = EmailAddress::parse(raw_email) else {
        return Ok(None);
    };
    let row = db::accounts::find_login(&state.pool, &email).await?;
    Ok(row
        .filter(|r| r.tenant_id.is_some() || r.is_staff)
        .map(|r| (email, r)))
}

/// True when `password` is the account's (a dummy hash is verified when there is none).
async fn password_matches(
    state: &AppState,
    account: Option<&(EmailAddress, LoginRow)>,
    password: &str,
) -> anyhow::Result<bool> {
    let hash = account.map(|(_, r)| r.password_hash.clone());
    let too_long = password.chars().count() > MAX_LOGIN_PASSWORD_CHARS;
    Ok(state.passwords.verify(password, hash).await? && !too_long && account.is_some())
}

async fn check_credentials(
    state: &AppState,
    raw_email: &str,
    password: &str,
) -> Result<SignedIn, LoginError> {
    let account = find_account(state, raw_email).await?;
    let ok = password_matches(state, account.as_ref(), password).await?;
    match account {
        Some((_, r)) if ok => Ok(SignedIn {
            user_id: r.user_id,
            tenant_id: r.tenant_id,
        }),
        _ => Err(LoginError::InvalidCredentials),
    }
}

/// The login once the email's bound is full. Without a code: a code is mailed (if the
/// account exists and has no live one) and the password is not even checked, so guesses
/// beyond the bound learn nothing. With a code: both must be right; a wrong code counts
/// against the code only when the password was right (a stranger cannot void the owner's).
async fn with_code(
    state: &AppState,
    raw_email: &str,
    password: &str,
    code: Option<&str>,
) -> Result<SignedIn, LoginError> {
    let account = find_account(state, raw_email).await?;
    let Some(code) = code.map(str::trim).filter(|c| !c.is_empty()) else {
        if let Some((email, row)) = &account {
            offer_code(state, email, row).await?;
        }
        return Err(LoginError::CodeRequired);
    };
    let password_ok = password_matches(state, account.as_ref(), password).await?;
    let Some((email, row)) = &account else {
        return Err(LoginError::CodeRejected);
    };
    if password_ok {
        let limits = &state.settings.rate_limits;
        let mac = code_mac(state, row.user_id, code)?;
        if db::login_codes::consume(
            &state.pool,
            row.user_id,
            &mac,
            limits.login_code_max_attempts,
        )
        .await?
        {
            return Ok(SignedIn {
                user_id: row.user_id,
                tenant_id: row.tenant_id,
            });
        }
    }
    // A new code if the last one expired or was used up.
    offer_code(state, email, row).await?;
    Err(LoginError::CodeRejected)
}

/// The stored form of a code: bound to the user, meaningless without the master key.
fn code_mac(state: &AppState, user: UserId, code: &str) -> anyhow::Result<[u8; 32]> {
    let mut data = user.0.as_bytes().to_vec();
    data.extend_from_slice(code.as_bytes());
    state
        .settings
        .secret_key
        .keyed_hash(LOGIN_CODE_PURPOSE, &data)
}

/// Mails the user a new sign-in code unless they have a live one (at most one mail per code
/// lifetime, however often strangers try).
async fn offer_code(state: &AppState, email: &EmailAddress, row: &LoginRow) -> anyhow::Result<()> {
    let limits = &state.settings.rate_limits;
    let code = crypto::one_time_code();
    let mac = code_mac(state, row.user_id, &code)?;
    let stored = db::login_codes::issue_unless_live(
        &state.pool,
        row.user_id,
        &mac,
        limits.login_code_ttl_secs,
        limits.login_code_max_attempts,
    )
    .await?;
    if stored {
        let minutes = (limits.login_code_ttl_secs + 59) / 60;
        send_later(
            state,
            OutgoingMail {
                to: email.clone(),
                subject: "Your InboxGrove sign-in code".into(),
                body: format!(
                    "Your one-time sign-in code is {}\n\n\
                     Enter it with your password on the login page. It works once, for \
                     {minutes} minutes.\n\n\
                     We ask for it because of many failed sign-ins for {} (see our other \
                     email). If you did not try to sign in just now, someone else knows or is \
                     guessing your password: change it after signing in.\n",
                    code.as_str(),
                    email.as_str()
                ),
                tenant_id: row.tenant_id,
                idempotency_key: None,
            },
        );
    }
    Ok(())
}

/// Tells the owner that their email's bound just filled (once per email window).
async fn warn_owner(state: &AppState, raw_email: &str) -> anyhow::Result<()> {
    let Some((email, row)) = find_account(state, raw_email).await? else {
        return Ok(());
    };
    let limits = &state.settings.rate_limits;
    let window = Utc::now().timestamp() / limits.auth_email_window_secs;
    let minutes = (limits.auth_email_window_secs + 59) / 60;
    send_later(
        state,
        OutgoingMail {
            to: email.clone(),
            subject: "Failed sign-ins to your InboxGrove account".into(),
            body: format!(
                "There were {} failed sign-ins for {} within {minutes} minutes.\n\n\
                 Your account is not locked: from now on, while the failures continue, \
                 signing in takes your password plus a one-time code we email to you when \
                 you sign in. A password alone (yours or a guess) is not enough.\n\n\
                 If these were not you, someone may be guessing your password: choose a \
                 long, unique one.\n",
                limits.auth_email_max_failures,
                email.as_str()
            ),
            tenant_id: row.tenant_id,
            idempotency_key: Some(format!("login-guard:{}:{window}", row.user_id.0)),
        },
    );
    Ok(())
}

/// Sends after the response: a slow mail server neither delays the login nor tells a
/// stranger, by the time it takes, that the account exists.
pub(super) fn send_later(state: &AppState, mail: OutgoingMail) {
    let (pool, mailer) = (state.pool.clone(), state.mailer.clone());
    tokio::spawn(async move {
        if let Err(e) =
            crate::server::services::outbox::send_with(&pool, mailer.as_ref(), &mail).await
        {
            tracing::warn!(error = %e, subject = %mail.subject, "sign-in mail not sent");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str) -> String {
        address_key(ip.parse().unwrap())
    }

    #[test]
    fn ipv6_addresses_in_one_slash_64_share_a_key() {
        assert_eq!(key("2001:db8:1:2::1"), "2001:db8:1:2::/64");
        assert_eq!(
            key("2001:db8:1:2:ffff:ffff:ffff:ffff"),
            key("2001:db8:1:2::1")
        );
        assert_ne!(key("2001:db8:1:3::1"), key("2001:db8:1:2::1"));
    }

    #[test]
    fn ipv4_addresses_count_alone_also_when_mapped_into_ipv6() {
        assert_eq!(key("203.0.113.7"), "203.0.113.7");
        assert_eq!(key("::ffff:203.0.113.7"), "203.0.113.7");
        assert_ne!(key("203.0.113.8"), key("203.0.113.7"));
    }
}
