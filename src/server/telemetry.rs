use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::server::config::LogSettings;

/// Structured logs; `RUST_LOG` overrides the configured filter.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let registry = tracing_subscriber::registry().with(filter);
    if settings.format == "text" {
        registry.with(fmt::layer().compact()).init();
    } else {
        registry
            .with(
                fmt::layer()
                    .json()
                    .flatten_event(true)
                    .with_current_span(true),
            )
            .init();
    }
}
