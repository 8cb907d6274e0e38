-- Cards in the app: the sandbox Stripe keeps a customer's saved cards (PaymentMethods) and
-- which one is the default, like Stripe's invoice_settings.default_payment_method. The
-- customer's `card` / `card_last4` stay as the default card's behaviour and digits (what
-- charging reads); checkouts may now be in setup mode (add a card, charge nothing).
CREATE TABLE sandbox_stripe_payment_methods (
    id          text PRIMARY KEY,
    customer_id text NOT NULL REFERENCES sandbox_stripe_customers (id),
    brand       text NOT NULL,
    last4       text NOT NULL CHECK (last4 ~ '^[0-9]{4}$'),
    exp_month   int NOT NULL CHECK (exp_month BETWEEN 1 AND 12),
    exp_year    int NOT NULL,
    behavior    text NOT NULL CHECK (behavior IN ('succeeds', 'fails_charges')),
    created     timestamptz NOT NULL,
    detached_at timestamptz
);
CREATE INDEX sandbox_stripe_payment_methods_customer_idx
    ON sandbox_stripe_payment_methods (customer_id, created) WHERE detached_at IS NULL;

ALTER TABLE sandbox_stripe_customers ADD COLUMN default_payment_method text;

-- Cards saved before this: one PaymentMethod each, the default.
INSERT INTO sandbox_stripe_payment_methods (id, customer_id, brand, last4, exp_month, exp_year, behavior, created)
SELECT 'pm_sbx' || substr(md5(id), 1, 24), id, 'visa', coalesce(card_last4, '4242'), 12,
       extract(year FROM created)::int + 3, card, created
  FROM sandbox_stripe_customers WHERE card <> 'none';
UPDATE sandbox_stripe_customers SET default_payment_method = 'pm_sbx' || substr(md5(id), 1, 24)
 WHERE card <> 'none';

ALTER TABLE billing_checkouts DROP CONSTRAINT billing_checkouts_mode_check;
ALTER TABLE billing_checkouts ADD CONSTRAINT billing_checkouts_mode_check
    CHECK (mode IN ('subscription', 'payment', 'setup'));
