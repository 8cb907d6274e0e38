//! What the per-tenant rate limit costs a request: `RateLimits::tenant` (the minute and hour
//! GCRA buckets of governor) over 1,000 tenants, 1,000,000 checks on each of 2 threads at once
//! (the machine's 2 cores, as under the dashboard load). Prints numbers; asserts nothing.

use std::sync::Arc;
use std::time::Instant;

use inboxgrove::server::config::RateLimitSettings;
use inboxgrove::server::limits::RateLimits;
use uuid::Uuid;

const TENANTS: usize = 1_000;
const CHECKS: usize = 1_000_000;

fn main() {
    let limits = Arc::new(RateLimits::new(&RateLimitSettings {
        auth_max_failures: 5,
        auth_window_secs: 900,
        tenant_per_minute: u32::MAX,
        tenant_per_hour: u32::MAX,
        ip_auth_per_minute: 20,
        // The login throttle's bounds: unused by the per-tenant limiter measured here.
        auth_ip_max_failures: 50,
        auth_ip_window_secs: 3600,
        auth_email_max_failures: 20,
        auth_email_window_secs: 3600,
        login_code_ttl_secs: 900,
        login_code_max_attempts: 5,
    }));
    let tenants: Arc<Vec<Uuid>> = Arc::new((0..TENANTS).map(|_| Uuid::new_v4()).collect());
    let started = Instant::now();
    let threads: Vec<_> = (0..2)
        .map(|t| {
            let (limits, tenants) = (limits.clone(), tenants.clone());
            std::thread::spawn(move || {
                let mut allowed = 0usize;
                for i in 0..CHECKS {
                    if limits.tenant(tenants[(i * 7 + t) % TENANTS]).is_ok() {
                        allowed += 1;
                    }
                }
                allowed
            })
        })
        .collect();
    let allowed: usize = threads.into_iter().map(|h| h.join().unwrap()).sum();
    let elapsed = started.elapsed();
    let per_check_ns = elapsed.as_nanos() as f64 / CHECKS as f64;
    println!("== rate limiter: RateLimits::tenant, {TENANTS} tenants, 2 threads × {CHECKS} checks");
    println!(
        "{allowed} allowed in {:.0} ms: {:.0} ns per check per thread, {:.1} M checks/s",
        elapsed.as_secs_f64() * 1000.0,
        per_check_ns,
        (2 * CHECKS) as f64 / elapsed.as_secs_f64() / 1e6
    );
}
