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

/// "12", "12.5", "12.50" (whole units, at most two decimals, no sign or separators) as
/// cents; `None` for anything else or beyond a billion units.
pub fn parse_amount(raw: &str) -> Option<Cents> {
    let raw = raw.trim();
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty()
        || whole.len() > 9
        || !digits(whole)
        || fraction.len() > 2
        || !digits(fraction)
    {
        return None;
    }
    let units: i64 = whole.parse().ok()?;
    let cents: i64 = match fraction.len() {
        0 => 0,
        1 => fraction.parse::<i64>().ok()? * 10,
        _ => fraction.parse().ok()?,
    };
    Some(Cents(units * 100 + cents))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_parse_as_whole_units_with_at_most_two_decimals() {
        assert_eq!(parse_amount("12"), Some(Cents(1200)));
        assert_eq!(parse_amount(" 12.5 "), Some(Cents(1250)));
        assert_eq!(parse_amount("0.07"), Some(Cents(7)));
        for bad in [
            "",
            "-1",
            "1.234",
            "1,50",
            "1e3",
            "$5",
            ".5",
            "9999999999",
            "NaN",
        ] {
            assert_eq!(parse_amount(bad), None, "{bad}");
        }
    }
}
