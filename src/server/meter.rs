//! Metered API calls: each workspace's calls this calendar month (UTC) against its plan's
//! `api_calls_per_month`. A call costs no database write: it is counted in this process's
//! memory and flushed every `api.meter_flush_secs` in one statement for every workspace
//! (`db::api::add_usage`), which also reads back the month's total from every replica. A
//! crash loses at most one flush interval's counts; a clean shutdown flushes.
//!
//! A workspace's month total and allowance are read from the database on its first call, and
//! again after `api.meter_refresh_secs` (a plan change, other replicas' calls).

use chrono::{Datelike, NaiveDate, Utc};
use sqlx::PgPool;
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};
use uuid::Uuid;

use crate::domain::TenantId;
use crate::server::config::Settings;
use crate::server::db;

struct Entry {
    month: NaiveDate,
    /// The month's total in the database when last read or flushed.
    stored: i64,
    /// Counted here since, not yet flushed.
    pending: i64,
    allowed: i64,
    read_at: Instant,
}

/// What the meter says about one call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reading {
    pub allowed: i64,
    /// Calls left this month after this one (0 when refused).
    pub remaining: i64,
    /// Seconds until the allowance renews (the next month, UTC).
    pub reset_secs: i64,
    /// False when the month's allowance was already spent: the call is refused, not counted.
    pub admitted: bool,
}

#[derive(Default)]
pub struct ApiMeter {
    entries: Mutex<HashMap<Uuid, Entry>>,
}

fn month_start(today: NaiveDate) -> NaiveDate {
    today.with_day(1).expect("day 1 exists")
}

fn secs_to_next_month() -> i64 {
    let now = Utc::now();
    let first = month_start(now.date_naive());
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("a next month");
    (next.and_hms_opt(0, 0, 0).expect("midnight").and_utc() - now)
        .num_seconds()
        .max(1)
}

impl ApiMeter {
    pub fn new() -> Self {
        Self::default()
    }

    /// Counts one call of `tenant`, or refuses it when the month's allowance is spent.
    pub async fn count(
        &self,
        pool: &PgPool,
        settings: &Settings,
        tenant: TenantId,
    ) -> anyhow::Result<Reading> {
        let month = month_start(Utc::now().date_naive());
        let refresh = Duration::from_secs(settings.api.meter_refresh_secs);
        if let Some(r) = self.try_count(tenant, month, refresh) {
            return Ok(r);
        }
        let (stored, allowed) = db::api::month_usage(pool, settings, tenant, month).await?;
        {
            let mut entries = self.entries.lock().expect("meter lock");
            let e = entries.entry(tenant.0).or_insert(Entry {
                month,
                stored,
                pending: 0,
                allowed,
                read_at: Instant::now(),
            });
            if e.month != month {
                // A new month: last month's unflushed calls are dropped with it.
                e.month = month;
                e.pending = 0;
            }
            e.stored = stored;
            e.allowed = allowed;
            e.read_at = Instant::now();
        }
        Ok(self
            .try_count(tenant, month, Duration::MAX)
            .expect("just read"))
    }

    fn try_count(&self, tenant: TenantId, month: NaiveDate, fresh: Duration) -> Option<Reading> {
        let mut entries = self.entries.lock().expect("meter lock");
        let e = entries.get_mut(&tenant.0)?;
        if e.month != month || e.read_at.elapsed() > fresh {
            return None;
        }
        let used = e.stored + e.pending;
        let admitted = used < e.allowed;
        if admitted {
            e.pending += 1;
        }
        Some(Reading {
            allowed: e.allowed,
            remaining: (e.allowed - used - i64::from(admitted)).max(0),
            reset_secs: secs_to_next_month(),
            admitted,
        })
    }

    /// Calls counted here and not yet flushed, for `tenant` (the billing page adds them).
    pub fn pending(&self, tenant: TenantId) -> i64 {
        let entries = self.entries.lock().expect("meter lock");
        entries.get(&tenant.0).map_or(0, |e| e.pending)
    }

    /// Writes every pending count in one statement; on failure they stay pending for the next
    /// flush. Returns how many calls were written.
    pub async fn flush(&self, pool: &PgPool) -> anyhow::Result<i64> {
        let batch: Vec<(Uuid, NaiveDate, i64)> = {
            let mut entries = self.entries.lock().expect("meter lock");
            entries
                .iter_mut()
                .filter(|(_, e)| e.pending > 0)
                .map(|(id, e)| {
                    let n = std::mem::take(&mut e.pending);
                    e.stored += n;
                    (*id, e.month, n)
                })
                .collect()
        };
        if batch.is_empty() {
            return Ok(0);
        }
        let written: i64 = batch.iter().map(|b| b.2).sum();
        match db::api::add_usage(pool, &batch).await {
            Ok(totals) => {
                let mut entries = self.entries.lock().expect("meter lock");
                for (id, month, total) in totals {
                    if let Some(e) = entries.get_mut(&id)
                        && e.month == month
                    {
                        // Every replica's calls, as the database now has them.
                        e.stored = total;
                    }
                }
                Ok(written)
            }
            Err(e) => {
                let mut entries = self.entries.lock().expect("meter lock");
                for (id, month, n) in batch {
                    if let Some(e) = entries.get_mut(&id)
                        && e.month == month
                    {
                        e.stored -= n;
                        e.pending += n;
                    }
                }
                Err(e.into())
            }
        }
    }

    /// Forgets workspaces with nothing pending that were not read for an hour (bounded memory).
    pub fn shrink(&self) {
        let mut entries = self.entries.lock().expect("meter lock");
        entries.retain(|_, e| e.pending > 0 || e.read_at.elapsed() < Duration::from_secs(3600));
    }
}
