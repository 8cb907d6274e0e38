//! Sending mail: the provider delivers, this service keeps the record. Every message, whichever
//! transport, is written to the `mail_outbox` table with its status, so `/dev/outbox` (sandbox
//! only) and support can see what was sent. A message with an idempotency key is sent at most
//! once: sending it again finds the `sent` row and stops.

use sqlx::PgPool;

use crate::server::db;
use crate::server::providers::mail::{MailError, Mailer, OutgoingMail};
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
    let recorded = db::mail::begin(
        pool,
        &db::mail::NewOutboxMail {
            tenant_id: msg.tenant_id.map(|t| t.0),
            to: msg.to.as_str(),
            from: &from,
            subject: &msg.subject,
            body: &msg.body,
            transport: mailer.transport().as_str(),
            idempotency_key: msg.idempotency_key.as_deref(),
        },
    )
    .await?;
    // Already sent under this idempotency key: nothing to do.
    let Some(id) = recorded else {
        return Ok(());
    };
    let outcome = mailer.deliver(msg).await;
    match &outcome {
        Ok(()) => db::mail::mark_sent(pool, id).await?,
        Err(e) => db::mail::mark_failed(pool, id, &format!("{e:#}")).await?,
    }
    outcome
}
