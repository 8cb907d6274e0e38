//! Account inputs: parse, don't validate. The same `parse` gives inline feedback in the
//! browser and decides on the server.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A trimmed, lower-cased, syntactically valid email address.
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EmailAddress(String);

impl EmailAddress {
    pub const INVALID: &'static str = "Enter a valid email address, like name@company.com.";

    pub fn parse(raw: &str) -> Result<Self, String> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err("Enter your email address.".into());
        }
        if email.chars().count() > 254 {
            return Err("That email address is too long (254 characters at most).".into());
        }
        let (local, domain) = email
            .rsplit_once('@')
            .ok_or_else(|| Self::INVALID.to_string())?;
        if !valid_local_part(local) || !valid_mail_domain(domain) {
            return Err(Self::INVALID.into());
        }
        Ok(Self(email))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.0)
    }
}

fn valid_local_part(local: &str) -> bool {
    const SPECIALS: &str = ".!#$%&'*+/=?^_`{|}~-";
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || SPECIALS.contains(c))
}

/// A host name with at least two labels and an alphabetic top-level label.
fn valid_mail_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    domain.len() <= 253
        && labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && labels
            .last()
            .is_some_and(|tld| tld.len() >= 2 && tld.chars().all(|c| c.is_ascii_alphabetic()))
}

/// A new password: 12 to 128 characters, counted as characters, not bytes. Never printed.
#[derive(Clone)]
pub struct Password(String);

impl Password {
    pub const MIN_CHARS: usize = 12;
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, String> {
        let n = raw.chars().count();
        if n == 0 {
            return Err("Choose a password.".into());
        }
        if n < Self::MIN_CHARS {
            return Err(format!(
                "Use at least {} characters ({} so far).",
                Self::MIN_CHARS,
                n
            ));
        }
        if n > Self::MAX_CHARS {
            return Err(format!("Use at most {} characters.", Self::MAX_CHARS));
        }
        Ok(Self(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// How strong a password looks, for feedback while typing only; the server enforces `parse`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    TooShort,
    Weak,
    Fair,
    Strong,
}

impl Strength {
    pub fn of(raw: &str) -> Self {
        let n = raw.chars().count();
        if n < Password::MIN_CHARS {
            return Strength::TooShort;
        }
        let classes = [
            raw.chars().any(|c| c.is_lowercase()),
            raw.chars().any(|c| c.is_uppercase()),
            raw.chars().any(|c| c.is_numeric()),
            raw.chars().any(|c| !c.is_alphanumeric()),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        let distinct = {
            let mut cs: Vec<char> = raw.chars().collect();
            cs.sort_unstable();
            cs.dedup();
            cs.len()
        };
        if distinct < 5 {
            Strength::Weak
        } else if n >= 16 && classes >= 3 || n >= 20 && classes >= 2 {
            Strength::Strong
        } else if classes >= 2 || n >= 16 {
            Strength::Fair
        } else {
            Strength::Weak
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Strength::TooShort => "Too short",
            Strength::Weak => "Weak",
            Strength::Fair => "Fair",
            Strength::Strong => "Strong",
        }
    }

    /// 0..=3, for a meter.
    pub fn score(self) -> u8 {
        self as u8
    }
}

/// True when `s` holds a control character (C0, DEL, C1) or a bidirectional override or
/// isolate (which make a name display as something other than what it is). Names that end
/// up in headers, exports and staff pages refuse them.
pub fn has_control_chars(s: &str) -> bool {
    s.chars()
        .any(|c| c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'))
}

/// The organisation's display name: trimmed, 2 to 100 characters, no control characters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CompanyName(String);

impl CompanyName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let name = raw.trim();
        let n = name.chars().count();
        if n == 0 {
            return Err("Enter your company name.".into());
        }
        if n < 2 {
            return Err("Use at least 2 characters.".into());
        }
        if n > 100 {
            return Err(format!("Use at most 100 characters ({n} now)."));
        }
        if has_control_chars(name) {
            return Err("Remove line breaks and control characters.".into());
        }
        Ok(Self(name.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An optional company website: a host name or an http(s) URL; stored with a scheme.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Website(String);

impl Website {
    /// Empty input is `Ok(None)`: the field is optional.
    pub fn parse_optional(raw: &str) -> Result<Option<Self>, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Ok(None);
        }
        const INVALID: &str = "Enter a website like company.com or https://company.com.";
        if raw.len() > 200 {
            return Err("Use at most 200 characters.".into());
        }
        let lower = raw.to_lowercase();
        let rest = lower
            .strip_prefix("https://")
            .or_else(|| lower.strip_prefix("http://"))
            .unwrap_or(&lower);
        let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
        let host = host.split(':').next().unwrap_or_default();
        if raw.chars().any(char::is_whitespace) || !valid_mail_domain(host) {
            return Err(INVALID.into());
        }
        let with_scheme = if lower.starts_with("http://") || lower.starts_with("https://") {
            raw.to_string()
        } else {
            format!("https://{raw}")
        };
        Ok(Some(Self(with_scheme)))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_trimmed_and_lower_cased() {
        let e = EmailAddress::parse("  Jane.Doe@Example.COM ").unwrap();
        assert_eq!(e.as_str(), "jane.doe@example.com");
    }

    #[test]
    fn an_empty_email_asks_for_one() {
        assert_eq!(
            EmailAddress::parse("   ").unwrap_err(),
            "Enter your email address."
        );
    }

    #[test]
    fn an_email_without_an_at_sign_is_rejected() {
        assert_eq!(
            EmailAddress::parse("jane.example.com").unwrap_err(),
            EmailAddress::INVALID
        );
    }

    #[test]
    fn an_email_without_a_dot_in_the_domain_is_rejected() {
        assert!(EmailAddress::parse("jane@localhost").is_err());
    }

    #[test]
    fn an_email_with_a_numeric_tld_is_rejected() {
        assert!(EmailAddress::parse("jane@example.123").is_err());
    }

    #[test]
    fn an_email_with_two_consecutive_dots_in_the_local_part_is_rejected() {
        assert!(EmailAddress::parse("jane..doe@example.com").is_err());
    }

    #[test]
    fn an_email_with_a_space_inside_is_rejected() {
        assert!(EmailAddress::parse("jane doe@example.com").is_err());
    }

    #[test]
    fn an_email_with_a_local_part_longer_than_64_chars_is_rejected() {
        let local = "a".repeat(65);
        assert!(EmailAddress::parse(&format!("{local}@example.com")).is_err());
        let local = "a".repeat(64);
        assert!(EmailAddress::parse(&format!("{local}@example.com")).is_ok());
    }

    #[test]
    fn an_email_with_a_plus_tag_is_accepted() {
        assert!(EmailAddress::parse("jane+growth@mail.example.co").is_ok());
    }

    #[test]
    fn a_domain_label_starting_with_a_hyphen_is_rejected() {
        assert!(EmailAddress::parse("jane@-example.com").is_err());
    }

    #[test]
    fn an_email_longer_than_254_chars_is_rejected() {
        let domain = format!("{}.com", vec!["a".repeat(60); 5].join("."));
        let e = format!("jane@{domain}");
        assert!(e.len() > 254);
        assert!(EmailAddress::parse(&e).unwrap_err().contains("too long"));
    }

    #[test]
    fn a_password_of_11_chars_is_too_short_and_12_is_enough() {
        assert!(
            Password::parse("abcdefghijk")
                .unwrap_err()
                .contains("at least 12")
        );
        assert!(Password::parse("abcdefghijkl").is_ok());
    }

    #[test]
    fn a_password_is_counted_in_characters_not_bytes() {
        // 12 characters, 24 bytes.
        assert!(Password::parse("éééééééééééé").is_ok());
    }

    #[test]
    fn a_password_of_129_chars_is_too_long_and_128_is_allowed() {
        assert!(Password::parse(&"x".repeat(129)).is_err());
        assert!(Password::parse(&"x".repeat(128)).is_ok());
    }

    #[test]
    fn a_password_never_shows_in_debug_output() {
        let p = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn password_strength_grows_with_length_and_variety() {
        assert_eq!(Strength::of("short"), Strength::TooShort);
        assert_eq!(Strength::of("aaaaaaaaaaaaaaaa"), Strength::Weak);
        assert_eq!(Strength::of("abcdefghijkl"), Strength::Weak);
        assert_eq!(Strength::of("abcdefghijk1"), Strength::Fair);
        assert_eq!(Strength::of("Correct-Horse-Battery-9"), Strength::Strong);
    }

    #[test]
    fn a_company_name_is_trimmed() {
        assert_eq!(CompanyName::parse("  Acme  ").unwrap().as_str(), "Acme");
    }

    #[test]
    fn a_company_name_of_one_char_is_rejected_and_two_is_enough() {
        assert!(CompanyName::parse("A").is_err());
        assert!(CompanyName::parse("AB").is_ok());
    }

    #[test]
    fn a_company_name_longer_than_100_chars_is_rejected() {
        assert!(CompanyName::parse(&"a".repeat(101)).is_err());
        assert!(CompanyName::parse(&"a".repeat(100)).is_ok());
    }

    #[test]
    fn a_company_name_with_a_control_or_bidi_character_is_rejected() {
        for bad in [
            "Acme\u{0}Corp",
            "Acme\u{1b}[31m",
            "Acme\u{7f}",
            "Acme\u{202E}proC",
        ] {
            assert!(CompanyName::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_company_name_with_a_line_break_is_rejected() {
        assert!(CompanyName::parse("Acme\nCorp").is_err());
    }

    #[test]
    fn an_empty_website_is_none() {
        assert_eq!(Website::parse_optional("  ").unwrap(), None);
    }

    #[test]
    fn a_bare_website_host_gets_https() {
        let w = Website::parse_optional("acme.io").unwrap().unwrap();
        assert_eq!(w.as_str(), "https://acme.io");
    }

    #[test]
    fn a_website_with_scheme_and_path_is_kept() {
        let w = Website::parse_optional("http://acme.io/about")
            .unwrap()
            .unwrap();
        assert_eq!(w.as_str(), "http://acme.io/about");
    }

    #[test]
    fn a_website_that_is_not_a_host_is_rejected() {
        assert!(Website::parse_optional("not a site").is_err());
        assert!(Website::parse_optional("https://localhost").is_err());
    }
}
