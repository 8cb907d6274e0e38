//! Statuses, kinds and actors as enums, not strings: code compares variants, never text.
//! Each is stored as the TEXT its migration's CHECK constraint lists (the spelling in
//! `as_str` is the stored one, unchanged), and crosses the wire in the same spelling.

use serde::{Deserialize, Serialize};

macro_rules! text_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[cfg_attr(feature = "ssr", derive(sqlx::Type))]
        #[cfg_attr(feature = "ssr", sqlx(type_name = "text", rename_all = "snake_case"))]
        #[serde(rename_all = "snake_case")]
        pub enum $name {
            $($(#[$vmeta])* $variant),+
        }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The stored (and wire) spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $text),+
                }
            }

            /// The variant stored as `text`, if any.
            pub fn parse(text: &str) -> Option<Self> {
                match text {
                    $($text => Some(Self::$variant),)+
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

text_enum! {
    /// `domains.status`.
    DomainStatus {
        PendingPayment => "pending_payment",
        Registering => "registering",
        ConfiguringDns => "configuring_dns",
        Verifying => "verifying",
        Active => "active",
        Failed => "failed",
        Suspended => "suspended",
        Deleted => "deleted",
    }
}

text_enum! {
    /// `domains.kind`: bought through us, or brought by the customer.
    DomainKind {
        Purchased => "purchased",
        Byod => "byod",
    }
}

text_enum! {
    /// `domain_saga_steps.status`.
    StepStatus {
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

text_enum! {
    /// `domain_records.status`: what the last DNS check found for a record.
    RecordStatus {
        Unknown => "unknown",
        Ok => "ok",
        Missing => "missing",
        Invalid => "invalid",
    }
}

text_enum! {
    /// `inboxes.status`.
    InboxStatus {
        PendingRelay => "pending_relay",
        Active => "active",
        Suspended => "suspended",
        Deleted => "deleted",
    }
}

text_enum! {
    /// `tenants.status`.
    TenantStatus {
        Active => "active",
        Suspended => "suspended",
        /// Closed by its owner or staff: nobody is admitted; its data is being or was removed.
        Closed => "closed",
    }
}

text_enum! {
    /// `suspensions.category`: why a tenant is suspended.
    SuspensionCategory {
        Abuse => "abuse",
        Payment => "payment",
        Terms => "terms",
        Manual => "manual",
    }
}

text_enum! {
    /// `jobs.status`.
    JobStatus {
        Pending => "pending",
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
}

text_enum! {
    /// `billing_subscriptions.status`: Stripe's subscription status, mirrored.
    SubscriptionStatus {
        Incomplete => "incomplete",
        IncompleteExpired => "incomplete_expired",
        Trialing => "trialing",
        Active => "active",
        PastDue => "past_due",
        Canceled => "canceled",
        Unpaid => "unpaid",
        Paused => "paused",
    }
}

impl SubscriptionStatus {
    /// Ended: plan changes and cancellation no longer apply to it.
    pub const fn is_ended(self) -> bool {
        matches!(self, Self::Canceled | Self::IncompleteExpired)
    }
}

text_enum! {
    /// `billing_invoices.status`: Stripe's invoice status, mirrored.
    InvoiceStatus {
        Draft => "draft",
        Open => "open",
        Paid => "paid",
        Uncollectible => "uncollectible",
        Void => "void",
    }
}

text_enum! {
    /// `billing_checkouts.status`: Stripe's checkout session status, mirrored.
    CheckoutSessionStatus {
        Open => "open",
        Complete => "complete",
        Expired => "expired",
    }
}

text_enum! {
    /// `ledger_entries.kind`.
    LedgerKind {
        SubscriptionPayment => "subscription_payment",
        OneTimeCharge => "one_time_charge",
        Refund => "refund",
    }
}

text_enum! {
    /// `audit_log.actor_kind`: who did it.
    ActorKind {
        User => "user",
        Staff => "staff",
        System => "system",
        Webhook => "webhook",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_reads_back_from_its_stored_spelling_and_serializes_the_same() {
        for s in DomainStatus::ALL {
            assert_eq!(DomainStatus::parse(s.as_str()), Some(*s));
            assert_eq!(
                serde_json::to_string(s).unwrap(),
                format!("\"{}\"", s.as_str())
            );
        }
        assert_eq!(DomainStatus::PendingPayment.as_str(), "pending_payment");
        assert_eq!(InboxStatus::PendingRelay.as_str(), "pending_relay");
        assert_eq!(DomainStatus::parse("gone"), None);
    }
}
