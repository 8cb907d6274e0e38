use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::Cents;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct TenantId(pub Uuid);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct UserId(pub Uuid);

/// A member's role inside one tenant. Members cannot buy or delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    pub fn parse(raw: &str) -> Result<Self, String> {
        match raw {
            "owner" => Ok(Role::Owner),
            "admin" => Ok(Role::Admin),
            "member" => Ok(Role::Member),
            other => Err(format!("unknown role {other:?}")),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Owners and admins may buy, delete and change billing.
    pub fn can_manage(self) -> bool {
        matches!(self, Role::Owner | Role::Admin)
    }
}

/// A plan as shown to customers (from settings, never from code).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PlanView {
    pub id: String,
    pub name: String,
    pub price_cents: Cents,
    pub currency: String,
    pub max_domains: i64,
    pub max_inboxes: i64,
    pub api_calls_per_month: i64,
    /// Inboxes past `max_inboxes` cost this much each a month; `None`: the limit is hard.
    #[serde(default)]
    pub overage_cents_per_inbox: Option<Cents>,
}

impl PlanView {
    /// "$49" or "$49.50"; whole units when there are no cents.
    pub fn price_label(&self) -> String {
        format_money(self.price_cents, &self.currency)
    }
}

/// 1000000 → "1,000,000".
pub fn format_count(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 { format!("-{out}") } else { out }
}

/// "1 tenant", "2 tenants".
pub fn plural(n: i64, one: &str, many: &str) -> String {
    format!("{} {}", format_count(n), if n == 1 { one } else { many })
}

/// `cents` of `currency` for display: see [`Cents::format`].
pub fn format_money(cents: impl Into<Cents>, currency: &str) -> String {
    cents.into().format(currency)
}

/// Used vs allowed for one resource.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    pub used: i64,
    pub limit: i64,
}

impl Usage {
    /// Whole percent of the limit used, capped at 100.
    pub fn percent(&self) -> i64 {
        if self.limit <= 0 {
            return 100;
        }
        (self.used * 100 / self.limit).clamp(0, 100)
    }
}

/// Everything the dashboard shows, computed on the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DashboardView {
    pub tenant_name: String,
    pub user_email: String,
    /// The user opened the link mailed to their address (until then: no domains, no inboxes).
    #[serde(default)]
    pub email_verified: bool,
    pub role: Role,
    /// `Some(days)` while on the trial (0 once it has ended), `None` on a paid plan.
    pub trial_days_left: Option<i64>,
    pub plan_name: String,
    pub domains: Usage,
    pub inboxes: Usage,
    /// Sent this month against the plan, and the worst inboxes.
    #[serde(default)]
    pub deliverability: crate::domain::deliverability::DashboardDeliverability,
}

impl DashboardView {
    pub fn trial_label(&self) -> Option<String> {
        self.trial_days_left.map(|d| match d {
            0 => "Trial ended".to_string(),
            1 => "Trial — 1 day left".to_string(),
            n => format!("Trial — {n} days left"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_role_round_trips_through_its_name() {
        for r in [Role::Owner, Role::Admin, Role::Member] {
            assert_eq!(Role::parse(r.as_str()).unwrap(), r);
        }
        assert!(Role::parse("root").is_err());
    }

    #[test]
    fn only_owners_and_admins_can_manage() {
        assert!(Role::Owner.can_manage());
        assert!(Role::Admin.can_manage());
        assert!(!Role::Member.can_manage());
    }

    #[test]
    fn money_shows_whole_units_without_cents() {
        assert_eq!(format_money(4900, "usd"), "$49");
        assert_eq!(format_money(4950, "usd"), "$49.50");
        assert_eq!(format_money(1205, "chf"), "12.05 CHF");
    }

    #[test]
    fn counts_get_thousands_separators() {
        assert_eq!(format_count(0), "0");
        assert_eq!(format_count(999), "999");
        assert_eq!(format_count(1000), "1,000");
        assert_eq!(format_count(1000000), "1,000,000");
        assert_eq!(format_count(-12345), "-12,345");
    }

    #[test]
    fn plural_picks_the_word_for_one_and_for_many() {
        assert_eq!(plural(1, "tenant", "tenants"), "1 tenant");
        assert_eq!(plural(0, "tenant", "tenants"), "0 tenants");
        assert_eq!(plural(2500, "inbox", "inboxes"), "2,500 inboxes");
    }

    #[test]
    fn usage_percent_is_capped_and_safe_with_a_zero_limit() {
        assert_eq!(Usage { used: 1, limit: 4 }.percent(), 25);
        assert_eq!(Usage { used: 9, limit: 4 }.percent(), 100);
        assert_eq!(Usage { used: 0, limit: 0 }.percent(), 100);
    }

    fn view(days: Option<i64>) -> DashboardView {
        DashboardView {
            tenant_name: "Acme".into(),
            user_email: "a@acme.io".into(),
            email_verified: true,
            role: Role::Owner,
            trial_days_left: days,
            plan_name: "Trial".into(),
            domains: Usage { used: 0, limit: 2 },
            inboxes: Usage { used: 0, limit: 50 },
            deliverability: Default::default(),
        }
    }

    #[test]
    fn the_trial_label_counts_days_and_says_when_it_ended() {
        assert_eq!(view(Some(7)).trial_label().unwrap(), "Trial — 7 days left");
        assert_eq!(view(Some(1)).trial_label().unwrap(), "Trial — 1 day left");
        assert_eq!(view(Some(0)).trial_label().unwrap(), "Trial ended");
        assert_eq!(view(None).trial_label(), None);
    }
}
