//! The test clock: the sandbox's "now", and advancing it to play out trial endings,
//! renewals, retries and payment failures.

use anyhow::Context;
use chrono::{DateTime, Duration, Months, Utc};
use sqlx::PgConnection;

use super::store::{InvoiceRow, SubRow, load_subscription};
use super::{Card, SandboxStripe};

/// Days between automatic retries of a failed invoice, and the attempts before giving up.
pub(super) const RETRY_DAYS: i64 = 3;
pub(super) const MAX_ATTEMPTS: i32 = 4;

impl SandboxStripe {
    /// The sandbox's "now": wall clock plus however far staff advanced the clock.
    pub async fn now(&self, conn: &mut PgConnection) -> anyhow::Result<DateTime<Utc>> {
        let offset: i64 = sqlx::query_scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .fetch_one(conn)
            .await
            .context("reading the sandbox clock")?;
        Ok(Utc::now() + Duration::seconds(offset))
    }

    pub async fn clock_offset_days(&self) -> anyhow::Result<f64> {
        let offset: i64 = sqlx::query_scalar("SELECT offset_secs FROM sandbox_stripe_clock")
            .fetch_one(&self.pool)
            .await
            .context("reading the sandbox clock")?;
        Ok(offset as f64 / 86_400.0)
    }

    // ---- idempotency --------------------------------------------------------------------

    /// Moves the sandbox clock forward and plays out everything that became due, in time
    /// order per subscription: trial-ending notices (3 days before), renewals, failed
    /// payments and their retries, cancellations at period end.
    pub async fn advance(&self, days: i64) -> anyhow::Result<usize> {
        let mut tx = self.pool.begin().await.context("starting")?;
        self.advance_in(&mut tx, days).await?;
        tx.commit().await.context("committing the clock")?;
        self.deliver().await
    }

    /// [`advance`](Self::advance) inside the caller's transaction (so its audit row commits
    /// with it, or neither does); the caller commits, then calls [`deliver`](Self::deliver).
    /// The new clock time.
    pub async fn advance_in(
        &self,
        tx: &mut PgConnection,
        days: i64,
    ) -> anyhow::Result<DateTime<Utc>> {
        anyhow::ensure!((1..=400).contains(&days), "advance between 1 and 400 days");
        sqlx::query("UPDATE sandbox_stripe_clock SET offset_secs = offset_secs + $1")
            .bind(days * 86_400)
            .execute(&mut *tx)
            .await
            .context("advancing the clock")?;
        let now = self.now(&mut *tx).await?;
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT id FROM sandbox_stripe_subscriptions WHERE status NOT IN ('canceled', 'incomplete_expired')
              ORDER BY created FOR UPDATE",
        )
        .fetch_all(&mut *tx)
        .await
        .context("listing sandbox subscriptions")?;
        for id in ids {
            self.play_out(&mut *tx, &id, now).await?;
        }
        Ok(now)
    }

    pub(super) async fn play_out(
        &self,
        tx: &mut PgConnection,
        id: &str,
        now: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let mut sub = load_subscription(tx, id).await?;
        for _ in 0..1000 {
            let open: Option<InvoiceRow> = sqlx::query_as(
                "SELECT id, seq, customer_id, subscription_id, status, billing_reason, amount_due, amount_paid,
                        currency, attempt_count, next_attempt_at, period_start, period_end, created, paid_at,
                        overage_quantity, overage_unit_amount
                   FROM sandbox_stripe_invoices
                  WHERE subscription_id = $1 AND status = 'open' AND next_attempt_at IS NOT NULL
                  ORDER BY next_attempt_at LIMIT 1",
            )
            .bind(&sub.id)
            .fetch_optional(&mut *tx)
            .await
            .context("finding invoices to retry")?;
            let notice_at = sub
                .trial_end
                .filter(|_| sub.status == "trialing" && !sub.trial_will_end_sent)
                .map(|t| (t - Duration::days(3)).max(sub.created));
            let renew_at = (!matches!(sub.status.as_str(), "canceled" | "unpaid"))
                .then_some(sub.current_period_end);
            let retry_at = open.as_ref().and_then(|i| i.next_attempt_at);
            let next = [notice_at, retry_at, renew_at]
                .into_iter()
                .flatten()
                .filter(|t| *t <= now)
                .min();
            let Some(at) = next else { return Ok(()) };

            if Some(at) == notice_at {
                sub.trial_will_end_sent = true;
                self.save_subscription(tx, &sub).await?;
                self.emit(
                    tx,
                    "customer.subscription.trial_will_end",
                    self.subscription_json(&sub, None),
                    at,
                )
                .await?;
            } else if Some(at) == retry_at {
                let inv = open.expect("retry implies an open invoice");
                let card = self
                    .customer_card(tx, &sub.customer_id)
                    .await?
                    .unwrap_or(Card::FailsCharges);
                let (inv, _) = self.collect(tx, inv, card, at).await?;
                let status = if inv.status == "paid" {
                    "active"
                } else if inv.next_attempt_at.is_none() {
                    "unpaid"
                } else {
                    "past_due"
                };
                if sub.status != status {
                    sub.status = status.into();
                    self.save_subscription(tx, &sub).await?;
                    self.emit(
                        tx,
                        "customer.subscription.updated",
                        self.subscription_json(&sub, Some(&inv.id)),
                        at,
                    )
                    .await?;
                }
            } else {
                self.renew(tx, &mut sub, at).await?;
            }
        }
        anyhow::bail!("subscription {id}: too many clock steps")
    }

    pub(super) async fn renew(
        &self,
        tx: &mut PgConnection,
        sub: &mut SubRow,
        at: DateTime<Utc>,
    ) -> anyhow::Result<()> {
        let card = self.customer_card(tx, &sub.customer_id).await?;
        let no_card_after_trial = sub.status == "trialing" && card.is_none();
        if sub.cancel_at_period_end || no_card_after_trial {
            sub.status = "canceled".into();
            sub.canceled_at = Some(at);
            sub.ended_at = Some(at);
            self.save_subscription(tx, sub).await?;
            self.emit(
                tx,
                "customer.subscription.deleted",
                self.subscription_json(sub, None),
                at,
            )
            .await?;
            return Ok(());
        }
        // The period that just ended owes its extra inboxes (the overage meter's last value).
        let overage = self
            .overage_for(tx, sub, sub.current_period_start, sub.current_period_end)
            .await?;
        let start = sub.current_period_end;
        let end = start
            .checked_add_months(Months::new(1))
            .context("period end overflow")?;
        sub.current_period_start = start;
        sub.current_period_end = end;
        let amount = sub.amount.saturating_add(overage.amount());
        let mut inv = self
            .new_invoice(tx, sub, "subscription_cycle", amount, start, end, at)
            .await?;
        if overage.quantity > 0 {
            self.set_invoice_overage(tx, &mut inv, overage).await?;
        }
        let (inv, _) = self
            .collect(tx, inv, card.unwrap_or(Card::FailsCharges), at)
            .await?;
        sub.status = if inv.status == "paid" {
            "active"
        } else {
            "past_due"
        }
        .into();
        self.save_subscription(tx, sub).await?;
        self.emit(
            tx,
            "customer.subscription.updated",
            self.subscription_json(sub, Some(&inv.id)),
            at,
        )
        .await?;
        Ok(())
    }

    // ---- the portal -----------------------------------------------------------------------
}
