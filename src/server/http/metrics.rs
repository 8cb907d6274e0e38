//! `/metrics` for Prometheus, two ways: a separate listener (`metrics.listen`, private, no
//! token) and, when `METRICS_TOKEN` is set, the main address with `Authorization: Bearer`.
//! Without a token the main address answers 404, as for any unknown path.

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::time::Duration;

use crate::server::db;
use crate::server::metrics::CONTENT_TYPE;
use crate::server::state::AppState;

/// A scrape waits at most this long for the database's gauges, then answers without fresh ones.
const DB_READ_TIMEOUT: Duration = Duration::from_secs(2);

/// The metrics listener's router: `/metrics` only.
pub fn listener_router(state: AppState) -> Router {
    Router::new().route("/metrics", get(open)).with_state(state)
}

async fn open(State(state): State<AppState>) -> Response {
    scrape(&state).await
}

/// `/metrics` on the main address: the bearer token or nothing.
pub async fn guarded(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let Some(token) = state.settings.metrics_token.as_ref() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    if !crate::server::http::middleware::bearer_is(&headers, token) {
        return (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, "Bearer")],
            "a valid metrics token is required",
        )
            .into_response();
    }
    scrape(&state).await
}

/// Reads the pool and the database's gauges, then encodes every series.
pub async fn scrape(state: &AppState) -> Response {
    let m = &state.metrics;
    m.pool(
        state.pool.size(),
        state.pool.num_idle(),
        state.settings.server.db_max_connections,
    );
    let read = async {
        let queue = db::ops::queue_by_kind(&state.pool).await?;
        let work = db::ops::open_work(&state.pool).await?;
        Ok::<_, db::Error>((queue, work))
    };
    match tokio::time::timeout(DB_READ_TIMEOUT, read).await {
        Ok(Ok((queue, work))) => {
            m.queue(&queue);
            m.open_work(&work);
        }
        Ok(Err(e)) => {
            m.scrape_failed();
            tracing::warn!(error = ?e, "metrics: reading the database gauges failed");
        }
        Err(_) => {
            m.scrape_failed();
            tracing::warn!("metrics: reading the database gauges timed out");
        }
    }
    let mut res = m.encode().into_response();
    let h = res.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
