//! Two-factor sign-in with TOTP (RFC 6238, via `totp-rs`): enrol by scanning a QR code (drawn
//! here as SVG, via `qrcodegen`) and confirming a code; ten single-use recovery codes, stored
//! as keyed hashes; after the password, signing in asks for a code; turning it off needs a
//! code. A code is accepted once: the step it belongs to is recorded and never accepted again.
//! Wrong codes count as failed logins for the throttle.

use std::fmt::Write;
use std::net::IpAddr;
use subtle::ConstantTimeEq;
use totp_rs::{Algorithm, TOTP};

use crate::domain::UserId;
use crate::domain::security::{TotpSetup, TwoFactorStatus};
use crate::error::FieldError;
use crate::server::crypto;
use crate::server::db::audit::{AccountAction, Actor, Change, Origin};
use crate::server::db::{self};
use crate::server::services::accounts::{AccountError, throttled_guess};
use crate::server::state::AppState;

const ISSUER: &str = "InboxGrove";
const STEP_SECS: u64 = 30;
/// Codes from one step before and after count too (clock drift).
const SKEW: u64 = 1;
const RECOVERY_CODES: usize = 10;
const RECOVERY_PURPOSE: &str = "recovery code v1";
const SECRET_PURPOSE: &[u8] = b"totp:";

fn aad(user: UserId) -> Vec<u8> {
    let mut aad = SECRET_PURPOSE.to_vec();
    aad.extend_from_slice(user.0.as_bytes());
    aad
}

fn totp(secret: Vec<u8>) -> anyhow::Result<TOTP> {
    TOTP::new(Algorithm::SHA1, 6, 0, STEP_SECS, secret).map_err(|e| anyhow::anyhow!("{e}"))
}

/// The step whose code `code` is, within the skew around `now`; `None` when it is none.
fn matching_step(totp: &TOTP, code: &str, now: u64) -> Option<u64> {
    let code = code.trim().replace(' ', "");
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let current = now / STEP_SECS;
    (current.saturating_sub(SKEW)..=current + SKEW).find(|step| {
        bool::from(
            totp.generate(step * STEP_SECS)
                .as_bytes()
                .ct_eq(code.as_bytes()),
        )
    })
}

fn now_secs() -> u64 {
    chrono::Utc::now().timestamp().max(0) as u64
}

/// `otpauth://totp/InboxGrove:jane%40acme.io?secret=…&issuer=InboxGrove…`: what authenticator
/// apps read from the QR code.
fn otpauth_url(email: &str, secret_base32: &str) -> String {
    let label = format!("{ISSUER}:{email}");
    let encoded: String = label
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!(
        "otpauth://totp/{encoded}?secret={secret_base32}&issuer={ISSUER}&algorithm=SHA1&digits=6&period={STEP_SECS}"
    )
}

/// The QR code of `text` as an SVG: one path of dark modules, with the quiet zone.
fn qr_svg(text: &str) -> anyhow::Result<String> {
    let qr = qrcodegen::QrCode::encode_text(text, qrcodegen::QrCodeEcc::Medium)
        .map_err(|e| anyhow::anyhow!("QR code: {e:?}"))?;
    let border = 4;
    let size = qr.size() + 2 * border;
    let mut path = String::new();
    for y in 0..qr.size() {
        for x in 0..qr.size() {
            if qr.get_module(x, y) {
                let _ = write!(path, "M{},{}h1v1h-1z", x + border, y + border);
            }
        }
    }
    Ok(format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {size} {size}\" shape-rendering=\"crispEdges\" role=\"img\" aria-label=\"QR code for your authenticator app\">\
         <rect width=\"100%\" height=\"100%\" fill=\"#fff\"/><path d=\"{path}\" fill=\"#000\"/></svg>"
    ))
}

fn recovery_hash(state: &AppState, user: UserId, code: &str) -> anyhow::Result<[u8; 32]> {
    let normalised: String = code
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect();
    let mut data = user.0.as_bytes().to_vec();
    data.extend_from_slice(normalised.as_bytes());
    state
        .settings
        .secret_key
        .keyed_hash(RECOVERY_PURPOSE, &data)
}

/// A recovery code: ten characters from a–z and 2–7 (50 bits), shown as `abcde-fghij`.
fn new_recovery_code() -> String {
    let bytes = crypto::random_bytes(10);
    let alphabet = b"abcdefghijklmnopqrstuvwxyz234567";
    let chars: String = bytes
        .iter()
        .map(|b| alphabet[(*b & 31) as usize] as char)
        .collect();
    format!("{}-{}", &chars[..5], &chars[5..])
}

/// Staff must sign in with a second factor wherever the app is served over https.
pub fn staff_must(state: &AppState) -> bool {
    state.settings.server.public_url.starts_with("https://")
}

pub async fn status(
    state: &AppState,
    user: UserId,
    tenant: Option<crate::domain::TenantId>,
) -> Result<TwoFactorStatus, AccountError> {
    Ok(TwoFactorStatus {
        enabled: db::two_factor::enabled(&state.pool, user).await?,
        recovery_left: db::two_factor::recovery_left(&state.pool, user).await?,
        required: db::two_factor::required_for(&state.pool, user, tenant, staff_must(state))
            .await?,
    })
}

/// An owner requires (or stops requiring) two-factor sign-in of the whole workspace; only
/// with it on for themselves, so they do not lock themselves out.
pub async fn set_workspace_rule(
    state: &AppState,
    ctx: &crate::server::auth::TenantCtx,
    on: bool,
    actor: &Actor,
) -> Result<(), AccountError> {
    if on && !db::two_factor::enabled(&state.pool, ctx.user_id()).await? {
        return Err(AccountError::Refused(
            "Turn on two-factor sign-in for yourself first (Settings → Security).".into(),
        ));
    }
    let mut tx = ctx.begin(state).await?;
    db::two_factor::set_required(&mut tx, ctx, on).await?;
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        crate::server::db::audit::TeamAction::Require2fa,
        &format!("tenant:{}", ctx.tenant_id().0),
        Change::after(serde_json::json!({ "require_2fa": on })),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// Starts enrolling: a new secret (replacing an unconfirmed one), its QR code and text form.
pub async fn start(state: &AppState, user: UserId) -> Result<TotpSetup, AccountError> {
    let secret = crypto::random_bytes(20);
    let sealed = state.secrets.encrypt(&secret, &aad(user));
    if !db::two_factor::start(&state.pool, user, &sealed).await? {
        return Err(AccountError::Refused(
            "Two-factor sign-in is already on. Turn it off first to enrol a new device.".into(),
        ));
    }
    let totp = totp(secret.to_vec())?;
    let base32 = totp.get_secret_base32();
    let email = db::accounts::user_email(&state.pool, user).await?;
    let url = otpauth_url(&email, &base32);
    Ok(TotpSetup {
        qr_svg: qr_svg(&url)?,
        otpauth_url: url,
        secret: base32,
    })
}

async fn secret_of(state: &AppState, user: UserId) -> anyhow::Result<Option<(TOTP, bool)>> {
    let Some(row) = db::two_factor::get(&state.pool, user).await? else {
        return Ok(None);
    };
    let secret = state
        .secrets
        .decrypt(&row.secret_enc, &aad(user))
        .map_err(|e| anyhow::anyhow!("opening a TOTP secret: {e}"))?;
    Ok(Some((totp(secret.to_vec())?, row.confirmed)))
}

/// Checks a code (or, once enabled, a recovery code) for `user`, throttled like a login.
async fn check(
    state: &AppState,
    user: UserId,
    code: &str,
    ip: IpAddr,
    confirmed_only: bool,
) -> Result<(), AccountError> {
    let email = db::accounts::user_email(&state.pool, user).await?;
    throttled_guess(
        state,
        ip,
        &email,
        || verify(state, user, code, confirmed_only),
        |e| matches!(e, AccountError::Invalid(_)),
    )
    .await
}

fn wrong_code() -> AccountError {
    AccountError::Invalid(vec![FieldError::new(
        "code",
        "That code is not right (or was used already). Enter the current one from your app.",
    )])
}

async fn verify(
    state: &AppState,
    user: UserId,
    code: &str,
    confirmed_only: bool,
) -> Result<(), AccountError> {
    let Some((totp, confirmed)) = secret_of(state, user).await? else {
        return Err(wrong_code());
    };
    if confirmed_only && !confirmed {
        return Err(wrong_code());
    }
    if let Some(step) = matching_step(&totp, code, now_secs()) {
        if db::two_factor::advance_step(&state.pool, user, step as i64).await? {
            return Ok(());
        }
        return Err(wrong_code());
    }
    let looks_like_recovery = code
        .trim()
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .count()
        == 10;
    if confirmed && looks_like_recovery {
        let hash = recovery_hash(state, user, code)?;
        if db::two_factor::use_recovery(&state.pool, user, &hash).await? {
            return Ok(());
        }
    }
    Err(wrong_code())
}

/// Confirms enrolment with a first code; returns the ten recovery codes (shown once).
pub async fn confirm(
    state: &AppState,
    user: UserId,
    code: &str,
    ip: IpAddr,
    origin: &Origin,
) -> Result<Vec<String>, AccountError> {
    match db::two_factor::get(&state.pool, user).await? {
        Some(row) if !row.confirmed => {}
        Some(_) => {
            return Err(AccountError::Refused(
                "Two-factor sign-in is already on.".into(),
            ));
        }
        None => {
            return Err(AccountError::Refused(
                "Start by scanning the QR code.".into(),
            ));
        }
    }
    check(state, user, code, ip, false).await?;
    let codes: Vec<String> = (0..RECOVERY_CODES).map(|_| new_recovery_code()).collect();
    let hashes = codes
        .iter()
        .map(|c| recovery_hash(state, user, c))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    db::two_factor::confirm(&mut tx, user, &hashes).await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    audit(state, user, AccountAction::TwoFactorOn, origin).await?;
    Ok(codes)
}

/// Turns it off: needs a current code or a recovery code.
pub async fn disable(
    state: &AppState,
    user: UserId,
    code: &str,
    ip: IpAddr,
    origin: &Origin,
) -> Result<(), AccountError> {
    if !db::two_factor::enabled(&state.pool, user).await? {
        return Ok(());
    }
    check(state, user, code, ip, true).await?;
    db::two_factor::disable(&state.pool, user).await?;
    audit(state, user, AccountAction::TwoFactorOff, origin).await
}

/// The second step of signing in.
pub async fn sign_in_code(
    state: &AppState,
    user: UserId,
    code: &str,
    ip: IpAddr,
) -> Result<(), AccountError> {
    check(state, user, code, ip, true).await
}

pub async fn enabled(state: &AppState, user: UserId) -> anyhow::Result<bool> {
    Ok(db::two_factor::enabled(&state.pool, user).await?)
}

async fn audit(
    state: &AppState,
    user: UserId,
    action: AccountAction,
    origin: &Origin,
) -> Result<(), AccountError> {
    let tenant = db::accounts::first_tenant(&state.pool, user).await?;
    db::audit::account(
        &state.pool,
        &Actor::user(user.0, "", origin),
        tenant,
        action,
        user,
        Change::none(),
    )
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rfc_totp() -> TOTP {
        // RFC 6238, appendix B: the SHA-1 seed "12345678901234567890".
        TOTP::new(Algorithm::SHA1, 6, 0, 30, b"12345678901234567890".to_vec()).unwrap()
    }

    #[test]
    fn the_rfc_6238_test_vectors_match_within_one_step_of_skew() {
        let t = rfc_totp();
        // 59 s → 94287082 (8 digits): its last six.
        assert_eq!(t.generate(59), "287082");
        assert_eq!(matching_step(&t, "287082", 59), Some(1));
        assert_eq!(
            matching_step(&t, "287 082", 59 + 30),
            Some(1),
            "one step late is fine"
        );
        assert_eq!(
            matching_step(&t, "287082", 59 + 90),
            None,
            "three steps late is not"
        );
        assert_eq!(matching_step(&t, "28708", 59), None);
        assert_eq!(matching_step(&t, "abcdef", 59), None);
    }

    #[test]
    fn the_otpauth_url_names_the_issuer_and_encodes_the_address() {
        let url = otpauth_url("jane+x@acme.io", "ABC234");
        assert_eq!(
            url,
            "otpauth://totp/InboxGrove:jane%2Bx%40acme.io?secret=ABC234&issuer=InboxGrove&algorithm=SHA1&digits=6&period=30"
        );
        let svg = qr_svg(&url).unwrap();
        assert!(
            svg.starts_with("<svg") && svg.contains("<path d=\"M"),
            "{svg}"
        );
    }

    #[test]
    fn recovery_codes_are_ten_base32_characters_and_differ() {
        let a = new_recovery_code();
        assert_eq!(a.len(), 11);
        assert!(
            a.chars()
                .all(|c| c == '-' || c.is_ascii_lowercase() || ('2'..='7').contains(&c))
        );
        assert_ne!(a, new_recovery_code());
    }
}
