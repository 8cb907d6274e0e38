//! `POST /webhooks/stripe`: the signature is checked on the raw body before anything is
//! parsed; a bad or missing one is a 400 and nothing is stored. Then the event is stored and
//! applied in one transaction (see `services::billing::events`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde_json::json;

use crate::server::providers::payments::signature;
use crate::server::services::billing::events::{self, Applied, EventError};
use crate::server::state::AppState;

pub async fn stripe(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    let header = headers
        .get("stripe-signature")
        .and_then(|v| v.to_str().ok());
    if let Err(e) = signature::verify(
        header,
        &body,
        state.webhook_secret.expose_secret(),
        chrono::Utc::now().timestamp(),
        state.settings.billing.webhook_tolerance_secs,
    ) {
        tracing::warn!(error = %e, "stripe webhook refused");
        state.metrics.webhook("stripe", "bad_signature");
        return (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": e.to_string()})),
        )
            .into_response();
    }
    match events::apply(&state.pool, &state.settings, &body).await {
        Ok(outcome) => {
            // An event may have enqueued work (a paid domain's saga): start it now.
            if outcome == Applied::Applied {
                state.jobs.wake();
            }
            let outcome = match outcome {
                Applied::Applied => "applied",
                Applied::Stale => "stale",
                Applied::Ignored => "ignored",
                Applied::Duplicate => "duplicate",
            };
            state.metrics.webhook("stripe", outcome);
            (
                StatusCode::OK,
                Json(json!({"received": true, "outcome": outcome})),
            )
                .into_response()
        }
        Err(EventError::Malformed(msg)) => {
            state.metrics.webhook("stripe", "malformed");
            (
                StatusCode::BAD_REQUEST,
                Json(json!({"error": format!("not a Stripe event: {msg}")})),
            )
                .into_response()
        }
        Err(EventError::Unexpected(e)) => {
            // 500 makes Stripe retry later; the transaction rolled back, so nothing is half-applied.
            tracing::error!(error = ?e, "applying a stripe event failed");
            state.metrics.webhook("stripe", "failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({"error": "internal error"})),
            )
                .into_response()
        }
    }
}
