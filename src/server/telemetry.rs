use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing_subscriber::{EnvFilter, fmt, prelude::*};

use crate::server::config::LogSettings;

/// What `init` set up that must outlive the process's work: dropping it (the end of `main`)
/// flushes the spans the OTLP exporter still holds.
#[must_use = "dropping it at once would stop the trace export"]
pub struct Telemetry {
    otlp: Option<SdkTracerProvider>,
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        if let Some(provider) = self.otlp.take()
            && let Err(e) = provider.shutdown()
        {
            eprintln!("flushing OTLP traces failed: {e}");
        }
    }
}

/// Structured logs; `RUST_LOG` overrides the configured filter. With `log.otlp_endpoint` set,
/// the same spans (each request, job and provider call, under that filter) also go to an
/// OpenTelemetry collector over OTLP/HTTP, batched off the request path.
pub fn init(settings: &LogSettings) -> anyhow::Result<Telemetry> {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(settings.filter.clone()));
    let otlp = if settings.otlp_endpoint.is_empty() {
        None
    } else {
        let exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_endpoint(settings.otlp_endpoint.clone())
            .with_timeout(std::time::Duration::from_secs(10))
            .build()?;
        Some(
            SdkTracerProvider::builder()
                .with_batch_exporter(exporter)
                .with_resource(
                    Resource::builder()
                        .with_service_name(settings.otlp_service.clone())
                        .build(),
                )
                .build(),
        )
    };
    let traces = otlp
        .as_ref()
        .map(|p| tracing_opentelemetry::layer().with_tracer(p.tracer("inboxgrove")));
    let registry = tracing_subscriber::registry().with(filter).with(traces);
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
    Ok(Telemetry { otlp })
}
