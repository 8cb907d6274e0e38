//! Staff's provider page (`/admin/providers`): each external provider's calls, error rate
//! and latency over the last hour, as this process saw them (`server::providers::stats`).

use serde::{Deserialize, Serialize};

/// How far back the page looks, in minutes.
pub const WINDOW_MINUTES: u32 = 60;

/// One provider over the window. Latencies are in milliseconds; the percentiles are read from
/// a histogram, so they are the upper edge of the bucket the call fell in (never above the
/// slowest call seen).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProviderHealth {
    /// Area and implementation: `registrar:namecheap`, `dns:sandbox`.
    pub provider: String,
    pub calls: u64,
    pub errors: u64,
    /// `errors / calls`; `None` without calls.
    pub error_rate: Option<f64>,
    pub mean_ms: Option<f64>,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub max_ms: Option<f64>,
    /// When the last failed call ended ("2026-12-06 10:04:12 UTC"), however long ago.
    pub last_error: Option<String>,
}

/// Calls and errors of every provider in one minute.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MinuteTotals {
    /// "10:04" (UTC).
    pub minute: String,
    pub calls: u64,
    pub errors: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProvidersView {
    pub as_of: String,
    pub window_minutes: u32,
    pub providers: Vec<ProviderHealth>,
    /// The window minute by minute, oldest first.
    pub minutes: Vec<MinuteTotals>,
}

/// "0.3 ms", "12 ms", "1.3 s", "—".
pub fn millis(ms: Option<f64>) -> String {
    match ms {
        None => "—".into(),
        Some(ms) if ms < 10.0 => format!("{ms:.1} ms"),
        Some(ms) if ms < 1000.0 => format!("{ms:.0} ms"),
        Some(ms) => format!("{:.1} s", ms / 1000.0),
    }
}

#[cfg(test)]
mod tests {
    use super::millis;

    #[test]
    fn latencies_read_in_the_unit_that_suits_them() {
        assert_eq!(millis(None), "—");
        assert_eq!(millis(Some(0.26)), "0.3 ms");
        assert_eq!(millis(Some(12.4)), "12 ms");
        assert_eq!(millis(Some(1260.0)), "1.3 s");
    }
}
