//! `GET /dev/outbox`: the sandbox mail outbox, newest first. It holds every tenant's mail, so
//! only staff see it, and only while mail is sandboxed: anyone else, and everyone once mail
//! goes out over SMTP, gets a plain 404 (the page does not exist for them).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use std::fmt::Write;

use tower_sessions::Session;

use crate::domain::UserId;
use crate::server::auth::TypedSession;
use crate::server::db;
use crate::server::providers::mail::MailTransport;
use crate::server::services::two_factor::staff_must;
use crate::server::state::AppState;

const SHOWN: i64 = 200;

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    if state.mailer.transport() != MailTransport::Sandbox {
        return not_found();
    }
    let staff = match TypedSession(session).auth().await.ok().flatten() {
        Some(auth) => {
            match db::accounts::staff_email(
                &state.pool,
                UserId(auth.user_id),
                auth.sid,
                staff_must(&state),
            )
            .await
            {
                Ok(email) => email.is_some(),
                Err(e) => {
                    tracing::error!(
                        error = format!("{e:#}"),
                        "checking staff for the outbox failed"
                    );
                    return StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
            }
        }
        None => false,
    };
    if !staff {
        return not_found();
    }
    match db::mail::recent(&state.pool, SHOWN).await {
        Ok(rows) => Html(render(&rows)).into_response(),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "listing the outbox failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /dev/outbox/signup`: with sandbox mail, the one message the last signup from this
/// browser sent (the verification link, or the note to an existing account's owner), so
/// `make run` stays clickable offline. Any other browser, and everyone once mail goes out
/// over SMTP, gets the plain 404; the rest of the outbox stays staff-only.
pub async fn signup_message(State(state): State<AppState>, session: Session) -> Response {
    if state.mailer.transport() != MailTransport::Sandbox {
        return not_found();
    }
    let Some(sent) = TypedSession(session).signup_sent().await.ok().flatten() else {
        return not_found();
    };
    if sent.mail_key.is_empty() {
        return not_found();
    }
    match db::mail::by_key(&state.pool, &sent.mail_key).await {
        Ok(Some(row)) => Html(render_one(&row)).into_response(),
        // Sent from a task after the response: it may be a moment behind.
        Ok(None) => Html(
            "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
             <title>Outbox · InboxGrove sandbox</title></head><body>\
             <p>The message is on its way. Reload this page in a moment.</p></body></html>",
        )
        .into_response(),
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "loading the signup message failed"
            );
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

fn render_one(r: &db::mail::OutboxRow) -> String {
    format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>{subject} · InboxGrove sandbox</title></head><body>\
         <p>Sandbox mail: this is the message InboxGrove just sent. Nothing left this machine.</p>\
         <h1>{subject}</h1><p>To: {to}</p><pre data-testid=\"mail-body\">{body}</pre>\
         <p><a href=\"/dev/outbox/signup/html\">See it as HTML</a></p></body></html>",
        subject = escape(&r.subject),
        to = escape(&r.to_addr),
        body = linkify(&escape(&r.body_text)),
    )
}

/// Makes each `http(s)://…` word of already-escaped text a link.
fn linkify(escaped: &str) -> String {
    let mut out = String::with_capacity(escaped.len());
    for (i, line) in escaped.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let words: Vec<String> = line
            .split(' ')
            .map(|w| {
                if w.starts_with("http://") || w.starts_with("https://") {
                    format!("<a href=\"{w}\">{w}</a>")
                } else {
                    w.to_string()
                }
            })
            .collect();
        out.push_str(&words.join(" "));
    }
    out
}

/// The CSP of a mail's HTML part shown here: its inline styles, nothing that runs or loads.
const MAIL_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; \
    frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

fn html_part(row: &db::mail::OutboxRow) -> Response {
    match &row.body_html {
        Some(html) => (
            [(axum::http::header::CONTENT_SECURITY_POLICY, MAIL_CSP)],
            Html(html.clone()),
        )
            .into_response(),
        None => not_found(),
    }
}

/// `GET /dev/outbox/{id}/html`: one message's HTML part, for staff, while mail is sandboxed.
pub async fn message_html(
    State(state): State<AppState>,
    session: Session,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    if state.mailer.transport() != MailTransport::Sandbox {
        return not_found();
    }
    let staff = match TypedSession(session).auth().await.ok().flatten() {
        Some(auth) => db::accounts::staff_email(
            &state.pool,
            UserId(auth.user_id),
            auth.sid,
            staff_must(&state),
        )
        .await
        .ok()
        .flatten()
        .is_some(),
        None => false,
    };
    let Ok(id) = uuid::Uuid::parse_str(&id) else {
        return not_found();
    };
    if !staff {
        return not_found();
    }
    match db::mail::by_id(&state.pool, id).await {
        Ok(Some(row)) => html_part(&row),
        Ok(None) => not_found(),
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "loading a message failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// `GET /dev/outbox/signup/html`: the HTML part of the signup message, for the browser that
/// signed up (as `/dev/outbox/signup`).
pub async fn signup_html(State(state): State<AppState>, session: Session) -> Response {
    if state.mailer.transport() != MailTransport::Sandbox {
        return not_found();
    }
    let Some(sent) = TypedSession(session).signup_sent().await.ok().flatten() else {
        return not_found();
    };
    match db::mail::by_key(&state.pool, &sent.mail_key).await {
        Ok(Some(row)) if !sent.mail_key.is_empty() => html_part(&row),
        Ok(_) => not_found(),
        Err(e) => {
            tracing::error!(
                error = format!("{e:#}"),
                "loading the signup message failed"
            );
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

/// The same plain answer for "no such page" whoever asks, so nothing tells the outbox exists.
fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Page not found.").into_response()
}

fn render(rows: &[db::mail::OutboxRow]) -> String {
    let mut html = String::from(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Outbox · InboxGrove sandbox</title></head><body>\
         <h1>Sandbox outbox</h1>\
         <p>Every email the app sent while mail is sandboxed, newest first.</p>",
    );
    if rows.is_empty() {
        html.push_str("<p>No email yet.</p>");
    } else {
        html.push_str(
            "<table><thead><tr><th>To</th><th>Subject</th><th>Created</th><th>Status</th>\
             <th>Text part</th><th>HTML part</th></tr></thead><tbody>",
        );
        for r in rows {
            let status = match &r.last_error {
                Some(e) => format!("{} ({})", r.status, e),
                None => r.status.clone(),
            };
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td><time datetime=\"{}\">{}</time></td><td>{}</td>\
                 <td><pre>{}</pre></td><td>{}</td></tr>",
                escape(&r.to_addr),
                escape(&r.subject),
                r.created_at.to_rfc3339(),
                r.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                escape(&status),
                escape(&r.body_text),
                if r.body_html.is_some() {
                    format!("<a href=\"/dev/outbox/{}/html\">View</a>", r.id)
                } else {
                    "—".to_string()
                },
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</body></html>");
    html
}

use crate::domain::escape_html as escape;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_in_a_message_open_and_markup_stays_text() {
        let body = escape("Open http://x.test/verify-email?token=abc now\n<b>\"https://y\"</b>");
        let html = linkify(&body);
        assert!(
            html.contains("<a href=\"http://x.test/verify-email?token=abc\">"),
            "{html}"
        );
        assert!(
            html.contains("&lt;b&gt;&quot;https://y&quot;&lt;/b&gt;"),
            "{html}"
        );
    }

    #[test]
    fn markup_in_an_email_is_shown_as_text() {
        assert_eq!(
            escape("<b>\"Tom\" & 'Jerry'</b>"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
    }
}
