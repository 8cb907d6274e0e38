use leptos::prelude::*;

use crate::error::AppError;

/// Creates the tenant, owner and trial, signs the user in and goes to the dashboard.
#[server(prefix = "/api", endpoint = "auth/signup")]
pub async fn signup(
    company: String,
    email: String,
    password: String,
    #[server(default)] website: String,
) -> Result<(), AppError> {
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
    let signed_in = accounts::signup(&state, form, ip, &s::origin().await).await?;
    session
        .sign_in(signed_in.user_id, signed_in.tenant_id)
        .await
        .map_err(internal)?;
    leptos_axum::redirect("/dashboard");
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
    let session = s::session().await?;
    let origin = s::origin().await;
    let code = code.as_deref();
    let signed_in = accounts::login(&state, &email, &password, code, ip, &origin).await?;
    session
        .sign_in(signed_in.user_id, signed_in.tenant_id)
        .await
        .map_err(internal)?;
    let target = if signed_in.tenant_id.is_none() {
        "/staff"
    } else {
        s::safe_next(next.as_deref().filter(|n| !n.is_empty()))
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
            &s::origin().await,
        )
        .await
        .map_err(internal)?;
    }
    session.sign_out().await.map_err(internal)?;
    leptos_axum::redirect("/login");
    Ok(())
}
