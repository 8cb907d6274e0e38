use leptos::prelude::*;

use crate::error::AppError;

/// What the "check your inbox" page shows after a signup.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SignupSentView {
    pub email: String,
    /// With sandbox mail: the link that opens the message just sent, for this browser only.
    pub sandbox_link: Option<String>,
}

/// Signs up (or, for an address that has an account, tells its owner someone tried) and goes
/// to "check your inbox": the same answer either way.
#[server(prefix = "/api", endpoint = "auth/signup")]
pub async fn signup(
    company: String,
    email: String,
    password: String,
    #[server(default)] website: String,
) -> Result<(), AppError> {
    use crate::server::auth::session::SignupSent;
    use crate::server::{fn_context as s, fn_errors::internal, services::accounts};
    let state = s::state()?;
    let ip = s::client_ip().await?;
    let session = s::session().await?;
    let form = accounts::SignupForm {
        company,
        email,
        password,
        website,
    };
    let receipt = accounts::signup(&state, form, ip, &s::origin().await).await?;
    session
        .set_signup_sent(SignupSent {
            email: receipt.email.as_str().to_string(),
            mail_key: receipt.mail_key,
        })
        .await
        .map_err(internal)?;
    leptos_axum::redirect("/check-email");
    Ok(())
}

/// The signup this browser just sent; "not found" for a browser that sent none.
#[server(prefix = "/api", endpoint = "auth/signup_sent")]
pub async fn signup_sent() -> Result<SignupSentView, AppError> {
    use crate::server::providers::mail::MailTransport;
    use crate::server::{fn_context as s, fn_errors::internal};
    let state = s::state()?;
    let sent = s::session()
        .await?
        .signup_sent()
        .await
        .map_err(internal)?
        .ok_or(AppError::NotFound)?;
    let sandbox = state.mailer.transport() == MailTransport::Sandbox;
    Ok(SignupSentView {
        email: sent.email,
        sandbox_link: sandbox.then(|| "/dev/outbox/signup".to_string()),
    })
}

/// Opens a verification link: verifies the address, signs in, goes to the dashboard. A browser
/// already signed in as someone else stays who it is: the link confirms that address, but it
/// does not sign that browser in to the link's account (someone could send you their own link
/// to get you working in their account).
#[server(prefix = "/api", endpoint = "auth/verify_email")]
pub async fn verify_email(token: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, services::accounts};
    let state = s::state()?;
    let origin = s::origin().await;
    let current = s::signed_in_user().await?;
    let signed_in = accounts::verify_email(&state, &token, &origin).await?;
    if current.is_none_or(|u| u == signed_in.user_id) {
        s::sign_in(&state, &signed_in, &origin).await?;
    }
    leptos_axum::redirect("/dashboard");
    Ok(())
}

/// "Forgot password": mails a reset link if the address has an account; answers the same
/// (the address) either way.
#[server(prefix = "/api", endpoint = "auth/forgot_password")]
pub async fn forgot_password(email: String) -> Result<String, AppError> {
    use crate::server::{fn_context as s, services::accounts};
    let state = s::state()?;
    let ip = s::client_ip().await?;
    let email = accounts::forgot_password(&state, &email, ip).await?;
    Ok(email.as_str().to_string())
}

/// Opens a reset link: sets the new password and ends every session of the account; the
/// browser then logs in with the new password.
#[server(prefix = "/api", endpoint = "auth/reset_password")]
pub async fn reset_password(token: String, password: String) -> Result<(), AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::accounts};
    let state = s::state()?;
    let origin = s::origin().await;
    accounts::reset_password(&state, &token, &password, &origin).await?;
    // This browser too: it signs in again, with the new password.
    s::session().await?.sign_out().await.map_err(internal)?;
    leptos_axum::redirect("/login?reset=done");
    Ok(())
}

/// Signs in with email and password (plus the mailed one-time `code` when the form asked for
/// it); goes to `next` when it is a path on this site.
#[server(prefix = "/api", endpoint = "auth/login")]
pub async fn login(
    email: String,
    password: String,
    #[server(default)] code: Option<String>,
    #[server(default)] next: Option<String>,
) -> Result<(), AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::accounts};
    let state = s::state()?;
    let ip = s::client_ip().await?;
    let origin = s::origin().await;
    let code = code.as_deref();
    let signed_in = accounts::login(&state, &email, &password, code, ip, &origin).await?;
    let next = next.filter(|n| !n.is_empty());
    if crate::server::services::two_factor::enabled(&state, signed_in.user_id)
        .await
        .map_err(internal)?
    {
        // The password was right; the session signs in only with the code.
        s::session()
            .await?
            .set_pending_2fa(signed_in.user_id, signed_in.tenant_id)
            .await
            .map_err(internal)?;
        let query = serde_urlencoded::to_string([("next", s::safe_next(next.as_deref()))])
            .map_err(internal)?;
        leptos_axum::redirect(&format!("/login/code?{query}"));
        return Ok(());
    }
    s::sign_in(&state, &signed_in, &origin).await?;
    let target = if signed_in.tenant_id.is_none() {
        "/staff"
    } else {
        s::safe_next(next.as_deref())
    };
    leptos_axum::redirect(target);
    Ok(())
}

/// Ends the session on the server (the old cookie stops working) and goes home.
#[server(prefix = "/api", endpoint = "auth/logout")]
pub async fn logout() -> Result<(), AppError> {
    use crate::server::{fn_context as s, fn_errors::internal, services::accounts};
    let state = s::state()?;
    let session = s::session().await?;
    if let Some(auth) = session.auth().await.map_err(internal)? {
        let tenant = auth.tenant_id.map(crate::domain::TenantId);
        accounts::logout(
            &state,
            crate::domain::UserId(auth.user_id),
            tenant,
            auth.sid,
            &s::origin().await,
        )
        .await
        .map_err(internal)?;
    }
    session.sign_out().await.map_err(internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}
