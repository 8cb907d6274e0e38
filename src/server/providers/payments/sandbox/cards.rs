//! Saved cards (PaymentMethods): added by Checkout (payment, subscription or setup mode) and
//! the portal, listed, made the default, detached. The customer row keeps the default card's
//! behaviour (`card`) and digits, which is what charging reads.

use anyhow::Context;
use chrono::{Datelike, Utc};
use sqlx::PgConnection;

use super::events::new_id;
use super::{Card, SandboxStripe, rejected};
use crate::server::providers::payments::{PaymentsError, SavedCard};

/// Whether a newly saved card becomes the customer's default.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum MakeDefault {
    Always,
    /// Checkout in setup mode, like Stripe: only when the customer has none yet.
    IfNone,
}

/// The last four digits of a card number as typed (spaces and dashes allowed).
pub(super) fn last4(raw: &str) -> String {
    let digits: Vec<char> = raw.chars().filter(char::is_ascii_digit).collect();
    digits[digits.len().saturating_sub(4)..].iter().collect()
}

impl SandboxStripe {
    pub(super) async fn save_card(
        &self,
        tx: &mut PgConnection,
        customer: &str,
        card: &Card,
        digits: &str,
        policy: MakeDefault,
    ) -> anyhow::Result<String> {
        let id = new_id("pm");
        let now = self.now(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO sandbox_stripe_payment_methods
                 (id, customer_id, brand, last4, exp_month, exp_year, behavior, created)
             VALUES ($1, $2, 'visa', $3, $4, $5, $6, $7)",
        )
        .bind(&id)
        .bind(customer)
        .bind(digits)
        .bind(now.month() as i32)
        .bind(now.year() + 3)
        .bind(match card {
            Card::Succeeds => "succeeds",
            Card::FailsCharges => "fails_charges",
        })
        .bind(now)
        .execute(&mut *tx)
        .await
        .context("saving the card")?;
        sqlx::query(
            "UPDATE sandbox_stripe_customers SET default_payment_method = $2
              WHERE id = $1 AND ($3 OR default_payment_method IS NULL)",
        )
        .bind(customer)
        .bind(&id)
        .bind(policy == MakeDefault::Always)
        .execute(&mut *tx)
        .await
        .context("making the card the default")?;
        self.sync_default(tx, customer).await?;
        Ok(id)
    }

    /// The customer's `card` / `card_last4` follow its default card (or `none`).
    async fn sync_default(&self, tx: &mut PgConnection, customer: &str) -> anyhow::Result<()> {
        sqlx::query(
            "UPDATE sandbox_stripe_customers c
                SET card = coalesce((SELECT pm.behavior FROM sandbox_stripe_payment_methods pm
                                      WHERE pm.id = c.default_payment_method
                                        AND pm.detached_at IS NULL), 'none'),
                    card_last4 = (SELECT pm.last4 FROM sandbox_stripe_payment_methods pm
                                   WHERE pm.id = c.default_payment_method
                                     AND pm.detached_at IS NULL)
              WHERE c.id = $1",
        )
        .bind(customer)
        .execute(tx)
        .await
        .context("syncing the default card")?;
        Ok(())
    }

    pub(super) async fn cards_of(&self, customer: &str) -> Result<Vec<SavedCard>, PaymentsError> {
        let rows: Vec<(String, String, String, i32, i32, bool)> = sqlx::query_as(
            "SELECT pm.id, pm.brand, pm.last4, pm.exp_month, pm.exp_year,
                    pm.id IS NOT DISTINCT FROM c.default_payment_method
               FROM sandbox_stripe_payment_methods pm
               JOIN sandbox_stripe_customers c ON c.id = pm.customer_id
              WHERE pm.customer_id = $1 AND pm.detached_at IS NULL
              ORDER BY pm.created DESC, pm.id",
        )
        .bind(customer)
        .fetch_all(&self.pool)
        .await
        .context("listing cards")?;
        Ok(rows
            .into_iter()
            .map(|(id, brand, last4, m, y, is_default)| SavedCard {
                id,
                brand,
                last4,
                exp_month: m.clamp(1, 12) as u32,
                exp_year: y.max(0) as u32,
                is_default,
            })
            .collect())
    }

    /// A card of `customer`, locked; Stripe's 404 otherwise (another customer's card too).
    async fn own_card(
        &self,
        tx: &mut PgConnection,
        customer: &str,
        card: &str,
    ) -> Result<(), PaymentsError> {
        let found: Option<(String,)> = sqlx::query_as(
            "SELECT id FROM sandbox_stripe_payment_methods
              WHERE id = $1 AND customer_id = $2 AND detached_at IS NULL FOR UPDATE",
        )
        .bind(card)
        .bind(customer)
        .fetch_optional(&mut *tx)
        .await
        .context("loading the card")?;
        found.map(drop).ok_or_else(|| {
            rejected(
                "resource_missing",
                format!("No such PaymentMethod: '{card}'"),
            )
        })
    }

    pub(super) async fn set_default(
        &self,
        customer: &str,
        card: &str,
    ) -> Result<(), PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        self.own_card(&mut tx, customer, card).await?;
        sqlx::query(
            "UPDATE sandbox_stripe_customers SET default_payment_method = $2 WHERE id = $1",
        )
        .bind(customer)
        .bind(card)
        .execute(&mut *tx)
        .await
        .context("setting the default card")?;
        self.sync_default(&mut tx, customer).await?;
        tx.commit().await.context("committing")?;
        Ok(())
    }

    pub(super) async fn detach(&self, customer: &str, card: &str) -> Result<(), PaymentsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        self.own_card(&mut tx, customer, card).await?;
        sqlx::query("UPDATE sandbox_stripe_payment_methods SET detached_at = $2 WHERE id = $1")
            .bind(card)
            .bind(Utc::now())
            .execute(&mut *tx)
            .await
            .context("detaching the card")?;
        sqlx::query(
            "UPDATE sandbox_stripe_customers SET default_payment_method = NULL
              WHERE id = $1 AND default_payment_method = $2",
        )
        .bind(customer)
        .bind(card)
        .execute(&mut *tx)
        .await
        .context("clearing the default card")?;
        self.sync_default(&mut tx, customer).await?;
        tx.commit().await.context("committing")?;
        Ok(())
    }
}
