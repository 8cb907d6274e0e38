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
use crate::server::state::AppState;

const SHOWN: i64 = 200;

pub async fn list(State(state): State<AppState>, session: Session) -> Response {
    if state.mailer.transport() != MailTransport::Sandbox {
        return not_found();
    }
    let staff = match TypedSession(session).auth().await.ok().flatten() {
        Some(auth) => match db::accounts::staff_email(&state.pool, UserId(auth.user_id)).await {
            Ok(email) => email.is_some(),
            Err(e) => {
                tracing::error!(
                    error = format!("{e:#}"),
                    "checking staff for the outbox failed"
                );
                return StatusCode::INTERNAL_SERVER_ERROR.into_response();
            }
        },
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
             <th>Body</th></tr></thead><tbody>",
        );
        for r in rows {
            let status = match &r.last_error {
                Some(e) => format!("{} ({})", r.status, e),
                None => r.status.clone(),
            };
            let _ = write!(
                html,
                "<tr><td>{}</td><td>{}</td><td><time datetime=\"{}\">{}</time></td><td>{}</td>\
                 <td><pre>{}</pre></td></tr>",
                escape(&r.to_addr),
                escape(&r.subject),
                r.created_at.to_rfc3339(),
                r.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
                escape(&status),
                escape(&r.body_text),
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</body></html>");
    html
}

fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markup_in_an_email_is_shown_as_text() {
        assert_eq!(
            escape("<b>\"Tom\" & 'Jerry'</b>"),
            "&lt;b&gt;&quot;Tom&quot; &amp; &#39;Jerry&#39;&lt;/b&gt;"
        );
    }
}
