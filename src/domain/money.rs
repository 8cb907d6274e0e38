//! Money as whole cents of its currency: a `Cents` is never mistaken for a count or an id.
//! Crosses the wire and the database as the bare integer (Stripe's `amount` unit).

use serde::{Deserialize, Serialize};

#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "ssr", derive(sqlx::Type), sqlx(transparent))]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Self = Self(0);

    /// "$49", "$12.50", "€3", "12 CHF".
    pub fn format(self, currency: &str) -> String {
        let symbol = match currency.to_ascii_lowercase().as_str() {
            "usd" => "$",
            "eur" => "€",
            "gbp" => "£",
            _ => "",
        };
        let amount = self.to_string();
        if symbol.is_empty() {
            format!("{amount} {}", currency.to_uppercase())
        } else {
            format!("{symbol}{amount}")
        }
    }
}

/// The amount in whole units, with cents only when there are any: "49", "12.50", "-3.05".
impl std::fmt::Display for Cents {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let units = self.0 / 100;
        let rest = (self.0 % 100).abs();
        if rest == 0 {
            write!(f, "{units}")
        } else {
            write!(f, "{units}.{rest:02}")
        }
    }
}

impl From<i64> for Cents {
    fn from(cents: i64) -> Self {
        Self(cents)
    }
}

impl std::ops::Add for Cents {
    type Output = Self;
    fn add(self, other: Self) -> Self {
        Self(self.0 + other.0)
    }
}

impl std::ops::Sub for Cents {
    type Output = Self;
    fn sub(self, other: Self) -> Self {
        Self(self.0 - other.0)
    }
}

impl std::ops::Neg for Cents {
    type Output = Self;
    fn neg(self) -> Self {
        Self(-self.0)
    }
}
