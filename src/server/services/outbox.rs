//! Sending mail: the provider delivers, this service keeps the record. Every message, whichever
//! transport, is written to the `mail_outbox` table with its status, so `/dev/outbox` (sandbox
//! only) and support can see what was sent. A message with an idempotency key is sent at most
//! once: sending it again finds the `sent` row and stops.

use sqlx::PgPool;

use crate::server::db;
use crate::server::providers::mail::{MailError, MailParts, Mailer, OutgoingMail};
use crate::server::state::AppState;

/// Records `msg`, sends it through the app's mailer and records the outcome.
pub async fn send(state: &AppState, msg: &OutgoingMail) -> Result<(), MailError> {
    send_with(&state.pool, state.mailer.as_ref(), msg).await
}

/// [`send`] with the pool and mailer given apart (e.g. from a spawned task).
pub async fn send_with(
    pool: &PgPool,
    mailer: &dyn Mailer,
    msg: &OutgoingMail,
) -> Result<(), MailError> {
    let from = mailer.sender();
    let parts = render(&msg.subject, &msg.body)?;
    let recorded = db::mail::begin(
        pool,
        &db::mail::NewOutboxMail {
            tenant_id: msg.tenant_id.map(|t| t.0),
            to: msg.to.as_str(),
            from: &from,
            subject: &msg.subject,
            body: &parts.text,
            html: &parts.html,
            transport: mailer.transport().as_str(),
            idempotency_key: msg.idempotency_key.as_deref(),
        },
    )
    .await?;
    // Already sent under this idempotency key: nothing to do.
    let Some(id) = recorded else {
        return Ok(());
    };
    let outcome = mailer.deliver(msg, &parts).await;
    match &outcome {
        Ok(()) => db::mail::mark_sent(pool, id).await?,
        Err(e) => db::mail::mark_failed(pool, id, &format!("{e:#}")).await?,
    }
    outcome
}

/// The one layout every mail is sent in (`templates/mail/`, rendered with minijinja; the HTML
/// one escapes whatever it is given). Loaded once.
fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: std::sync::OnceLock<minijinja::Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        env.add_template(
            "layout.txt",
            include_str!("../../../templates/mail/layout.txt"),
        )
        .expect("the text mail layout parses");
        env.add_template(
            "layout.html",
            include_str!("../../../templates/mail/layout.html"),
        )
        .expect("the HTML mail layout parses");
        env
    })
}

/// One paragraph of the HTML part: lines of text, or a lone link shown as a button.
#[derive(serde::Serialize)]
struct Paragraph {
    lines: Vec<String>,
    link: Option<String>,
    label: &'static str,
}

/// What a link's button says, from where it leads.
fn link_label(url: &str) -> &'static str {
    [
        ("/verify-email", "Confirm my email"),
        ("/reset-password", "Choose a new password"),
        ("/invite", "Accept the invitation"),
        ("/settings/export", "Download the export"),
        ("/forgot-password", "Reset my password"),
        ("/billing", "Open billing"),
        ("/login", "Sign in"),
    ]
    .iter()
    .find(|(path, _)| url.contains(path))
    .map_or("Open InboxGrove", |(_, label)| label)
}

fn paragraphs(body: &str) -> Vec<Paragraph> {
    body.split("\n\n")
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            let lone_link = !p.contains(char::is_whitespace)
                && (p.starts_with("https://") || p.starts_with("http://"));
            Paragraph {
                lines: p.lines().map(str::to_string).collect(),
                link: lone_link.then(|| p.to_string()),
                label: link_label(p),
            }
        })
        .collect()
}

/// The text and HTML parts of a message, from the layout.
pub fn render(subject: &str, body: &str) -> anyhow::Result<MailParts> {
    let env = templates();
    let text = env
        .get_template("layout.txt")?
        .render(minijinja::context! { subject, body => body.trim_end() })?;
    let html = env
        .get_template("layout.html")?
        .render(minijinja::context! { subject, paragraphs => paragraphs(body) })?;
    Ok(MailParts { text, html })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_parts_come_from_the_layout_and_the_html_escapes_what_it_is_given() {
        let body = "Hello <b>Jane</b> & co.\nSecond line.\n\nhttps://app.test/verify-email?token=abc&x=1\n\nBye.";
        let parts = render("Confirm <now>", body).unwrap();
        assert!(parts.text.starts_with("InboxGrove"), "{}", parts.text);
        assert!(
            parts.text.contains("Hello <b>Jane</b> & co."),
            "text stays as written"
        );
        assert!(
            parts
                .html
                .contains("Hello &lt;b&gt;Jane&lt;&#x2f;b&gt; &amp; co.<br>Second line."),
            "{}",
            parts.html
        );
        assert!(parts.html.contains("<title>Confirm &lt;now&gt;</title>"));
        assert!(
            parts.html.contains(">Confirm my email</a>"),
            "a lone link is a button"
        );
        assert!(
            parts.html.contains(
                "href=\"https:&#x2f;&#x2f;app.test&#x2f;verify-email?token=abc&amp;x=1\""
            ),
            "the link, escaped as an attribute (browsers read it back as written)"
        );
        assert!(!parts.html.contains("<b>"), "no markup from the body");
    }
}
