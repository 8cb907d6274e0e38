//! The sandbox's billing meter: meter events kept by identifier (a repeat is accepted and
//! changes nothing, as on Stripe), and what a renewal bills for the period that just ended —
//! the meter's `last` value in it × the plan's `overage_cents_per_inbox`.

use anyhow::Context;
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

use super::store::{InvoiceRow, SubRow};
use super::{SandboxStripe, rejected};
use crate::server::providers::payments::{MeterEvent, PaymentsError};

/// The overage a renewal invoice adds: `quantity` extra inboxes at `unit_amount` each.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct Overage {
    pub(super) quantity: i64,
    pub(super) unit_amount: i64,
}

impl Overage {
    pub(super) fn amount(self) -> i64 {
        self.quantity.saturating_mul(self.unit_amount)
    }
}

impl SandboxStripe {
    pub(super) async fn report_usage_in(&self, e: &MeterEvent) -> Result<(), PaymentsError> {
        if e.event_name.is_empty() || e.event_name.len() > 100 {
            return Err(rejected(
                "parameter_invalid_string",
                "event_name must be 1 to 100 characters.".into(),
            ));
        }
        if e.identifier.is_empty() || e.identifier.len() > 100 {
            return Err(rejected(
                "parameter_invalid_string",
                "identifier must be 1 to 100 characters.".into(),
            ));
        }
        if e.value < 0 {
            return Err(rejected(
                "parameter_invalid_integer",
                "payload[value] must be a non-negative whole number.".into(),
            ));
        }
        let mut tx = self.pool.begin().await.context("starting")?;
        // Real Stripe checks the customer after answering; the sandbox says so at once.
        let known: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sandbox_stripe_customers WHERE id = $1)",
        )
        .bind(&e.customer_id)
        .fetch_one(&mut *tx)
        .await
        .context("loading the customer")?;
        if !known {
            return Err(rejected(
                "resource_missing",
                format!("No such customer: '{}'", e.customer_id),
            ));
        }
        let now = self.now(&mut tx).await?;
        sqlx::query(
            "INSERT INTO sandbox_stripe_meter_events (identifier, event_name, customer_id, value, timestamp, created)
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (identifier) DO NOTHING",
        )
        .bind(&e.identifier)
        .bind(&e.event_name)
        .bind(&e.customer_id)
        .bind(e.value)
        .bind(e.timestamp)
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("recording the meter event")?;
        tx.commit().await.context("committing the meter event")?;
        Ok(())
    }

    /// What the period `[start, end)` of `sub` that is being renewed owes for extra inboxes: the
    /// last value reported to the overage meter in it (aggregation `last`), at the plan's
    /// price. Nothing for a trial period or a plan without an overage price.
    pub(super) async fn overage_for(
        &self,
        tx: &mut PgConnection,
        sub: &SubRow,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
    ) -> anyhow::Result<Overage> {
        let Some(unit_amount) = self
            .settings
            .plan_by_price(&sub.price_id)
            .and_then(|(_, p)| p.overage_cents_per_inbox)
        else {
            return Ok(Overage::default());
        };
        if sub.status == "trialing" {
            return Ok(Overage::default());
        }
        let last: Option<i64> = sqlx::query_scalar(
            "SELECT value FROM sandbox_stripe_meter_events
              WHERE customer_id = $1 AND event_name = $2 AND timestamp >= $3 AND timestamp < $4
              ORDER BY timestamp DESC, seq DESC LIMIT 1",
        )
        .bind(&sub.customer_id)
        .bind(&self.settings.billing.overage_meter_event)
        .bind(start)
        .bind(end)
        .fetch_optional(tx)
        .await
        .context("reading the overage meter")?;
        Ok(Overage {
            quantity: last.unwrap_or(0),
            unit_amount,
        })
    }

    /// Records on a new invoice the overage line its `amount_due` already includes.
    pub(super) async fn set_invoice_overage(
        &self,
        tx: &mut PgConnection,
        inv: &mut InvoiceRow,
        overage: Overage,
    ) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sandbox_stripe_invoices SET overage_quantity = $2, overage_unit_amount = $3
              WHERE id = $1",
        )
        .bind(&inv.id)
        .bind(overage.quantity)
        .bind(overage.unit_amount)
        .execute(tx)
        .await
        .context("adding the overage line")?;
        inv.overage_quantity = overage.quantity;
        inv.overage_unit_amount = overage.unit_amount;
        Ok(())
    }
}
