//! `POST /webhooks/kumomta`: KumoMTA's log hook (see `deploy/kumomta/init.lua`) posts a JSON
//! array of log records (one object is accepted too) with `Authorization: Bearer
//! <KUMOMTA_WEBHOOK_SECRET>`. 401 for a bad token, 400 for a malformed body (KumoMTA then
//! drops the batch: retrying cannot fix it), 200 once every record is stored, 500 (retried)
//! if storing fails; nothing is ever stored partly.

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

use crate::server::services::delivery::{self, IngestError};
use crate::server::state::AppState;

fn authorized(state: &AppState, headers: &HeaderMap) -> bool {
    state
        .settings
        .kumomta_webhook_secret
        .as_ref()
        .is_some_and(|secret| crate::server::http::middleware::bearer_is(headers, secret))
}

pub async fn log_hook(State(state): State<AppState>, headers: HeaderMap, body: Bytes) -> Response {
    if !authorized(&state, &headers) {
        let message = if state.settings.kumomta_webhook_secret.is_none() {
            "KUMOMTA_WEBHOOK_SECRET is not configured on this server"
        } else {
            "missing or wrong bearer token"
        };
        state.metrics.webhook("kumomta", "unauthorized");
        return (StatusCode::UNAUTHORIZED, Json(json!({ "error": message }))).into_response();
    }
    let records = match delivery::parse(&body) {
        Ok(r) => r,
        Err(e) => {
            tracing::warn!(error = %e, "kumomta log batch refused");
            state.metrics.webhook("kumomta", "malformed");
            return (
                StatusCode::BAD_REQUEST,
                Json(json!({ "error": e.to_string() })),
            )
                .into_response();
        }
    };
    match delivery::ingest(&state.pool, &records).await {
        Ok(done) => {
            // Stored: KumoMTA must not resend it even if a trigger check fails now.
            let suspended = match delivery::evaluate_triggers(&state, &done.tenants).await {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(error = ?e, "evaluating the abuse triggers failed");
                    0
                }
            };
            // The scores follow the new figures (one pending job per tenant at most).
            for tenant in &done.tenants {
                if let Err(e) = crate::server::services::deliverability::scores::request_after(
                    &state,
                    crate::domain::TenantId(*tenant),
                    std::time::Duration::from_secs(state.settings.deliverability.score_delay_secs),
                )
                .await
                {
                    tracing::error!(error = ?e, "requesting a score update failed");
                }
            }
            state.metrics.webhook("kumomta", "applied");
            let mut body = json!(done);
            body["suspended"] = json!(suspended);
            (StatusCode::OK, Json(body)).into_response()
        }
        Err(IngestError::Malformed(e)) => {
            state.metrics.webhook("kumomta", "malformed");
            (StatusCode::BAD_REQUEST, Json(json!({ "error": e }))).into_response()
        }
        Err(IngestError::Unexpected(e)) => {
            tracing::error!(error = ?e, "storing kumomta log records failed");
            state.metrics.webhook("kumomta", "failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                Json(json!({ "error": "internal error" })),
            )
                .into_response()
        }
    }
}
