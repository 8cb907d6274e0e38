//! Domain names, parsed the same way in the browser (as you type) and on the server.

use serde::{Deserialize, Serialize};
use std::fmt;

/// A registrable domain name in its ASCII (punycode) form, lower case, without a trailing dot.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct DomainName(String);

const MAX_NAME: usize = 253;
const MAX_LABEL: usize = 63;

fn check_label(label: &str) -> Result<(), String> {
    if label.is_empty() {
        return Err("A domain cannot contain an empty part (two dots in a row).".into());
    }
    if label.len() > MAX_LABEL {
        return Err(format!(
            "“{label}” is {} characters long; each part of a domain can have at most 63.",
            label.len()
        ));
    }
    if !label
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(format!(
            "“{label}” may contain only letters, digits and hyphens."
        ));
    }
    if label.starts_with('-') || label.ends_with('-') {
        return Err(format!("“{label}” cannot start or end with a hyphen."));
    }
    Ok(())
}

impl DomainName {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim().trim_end_matches('.');
        if trimmed.is_empty() {
            return Err("Enter a domain name, like example.com.".into());
        }
        if trimmed.contains("://") || trimmed.contains('/') || trimmed.contains('@') {
            return Err("Enter just the domain, like example.com (no http:// or path).".into());
        }
        if trimmed.chars().any(char::is_whitespace) {
            return Err("A domain cannot contain spaces.".into());
        }
        let lower = trimmed.to_lowercase();
        // ASCII input is checked first, so the message names the rule that failed.
        if lower.is_ascii() {
            Self::check_shape(&lower, trimmed)?;
        }
        let ascii = idna::domain_to_ascii_strict(&lower)
            .map_err(|_| format!("“{trimmed}” is not a valid domain name."))?;
        let labels = Self::check_shape(&ascii, trimmed)?;
        let tld = labels[labels.len() - 1];
        if !(tld.starts_with("xn--") || tld.bytes().all(|b| b.is_ascii_lowercase())) {
            return Err(format!("“.{tld}” is not a valid extension."));
        }
        Ok(Self(ascii))
    }

    /// Length and label rules on an ASCII name; returns its labels.
    fn check_shape<'a>(ascii: &'a str, typed: &str) -> Result<Vec<&'a str>, String> {
        if ascii.len() > MAX_NAME {
            return Err(format!(
                "That domain is {} characters long; the limit is 253.",
                ascii.len()
            ));
        }
        let labels: Vec<&str> = ascii.split('.').collect();
        if labels.len() < 2 {
            return Err(format!(
                "“{typed}” has no extension; add one, like {typed}.com."
            ));
        }
        for label in &labels {
            check_label(label)?;
        }
        Ok(labels)
    }

    /// The ASCII (punycode) form used with registrars and DNS.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form people read (Unicode for internationalized names).
    pub fn display(&self) -> String {
        let (unicode, result) = idna::domain_to_unicode(&self.0);
        if result.is_ok() {
            unicode
        } else {
            self.0.clone()
        }
    }

    /// The first label ("example" in "example.co.uk").
    pub fn sld(&self) -> &str {
        self.0.split('.').next().unwrap_or(&self.0)
    }

    /// Everything after the first label ("co.uk" in "example.co.uk").
    pub fn tld(&self) -> &str {
        self.0.split_once('.').map(|(_, t)| t).unwrap_or("")
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What someone typed into the domain search: a full name, or a keyword to try with each of
/// the configured extensions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DomainSearch {
    Name(DomainName),
    Keyword(String),
}

impl DomainSearch {
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim().trim_end_matches('.');
        if trimmed.contains('.') {
            return DomainName::parse(trimmed).map(Self::Name);
        }
        if trimmed.is_empty() {
            return Err("Type a name or a keyword, like acme or acme.com.".into());
        }
        // A keyword becomes the first label: the same rules, checked on a test name.
        let name = DomainName::parse(&format!("{trimmed}.com"))?;
        Ok(Self::Keyword(name.sld().to_string()))
    }

    /// The names to look up: the name itself, or the keyword with each extension.
    pub fn candidates(&self, tlds: &[String]) -> Vec<DomainName> {
        match self {
            Self::Name(n) => vec![n.clone()],
            Self::Keyword(k) => tlds
                .iter()
                .filter_map(|t| {
                    DomainName::parse(&format!("{k}.{}", t.trim_start_matches('.'))).ok()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        #[test]
        fn domain_parsers_never_panic(s in proptest::prelude::any::<String>()) {
            let _ = DomainName::parse(&s);
            let _ = DomainSearch::parse(&s);
        }

        #[test]
        fn domain_parsers_never_panic_on_dotted_unicode(s in "[a-zA-Z0-9\\-\\.\\p{L}\\p{M} ]{0,300}") {
            let _ = DomainName::parse(&s);
            let _ = DomainSearch::parse(&s);
        }
    }

    #[test]
    fn a_plain_name_is_lowercased_and_loses_a_trailing_dot() {
        assert_eq!(
            DomainName::parse(" Example.COM. ").unwrap().as_str(),
            "example.com"
        );
    }

    #[test]
    fn an_internationalized_name_becomes_punycode_and_displays_as_unicode() {
        let d = DomainName::parse("bücher.de").unwrap();
        assert_eq!(d.as_str(), "xn--bcher-kva.de");
        assert_eq!(d.display(), "bücher.de");
    }

    #[test]
    fn a_label_longer_than_63_chars_is_rejected() {
        let err = DomainName::parse(&format!("{}.com", "a".repeat(64))).unwrap_err();
        assert!(err.contains("at most 63"), "{err}");
    }

    #[test]
    fn a_name_longer_than_253_chars_is_rejected() {
        let label = "a".repeat(60);
        let long = format!("{label}.{label}.{label}.{label}.{label}.com");
        assert!(DomainName::parse(&long).unwrap_err().contains("253"));
    }

    #[test]
    fn hyphens_at_the_edges_underscores_and_spaces_are_rejected() {
        assert!(DomainName::parse("-acme.com").is_err());
        assert!(DomainName::parse("acme-.com").is_err());
        assert!(DomainName::parse("ac_me.com").is_err());
        assert!(
            DomainName::parse("ac me.com")
                .unwrap_err()
                .contains("spaces")
        );
    }

    #[test]
    fn urls_and_names_without_an_extension_get_a_helpful_message() {
        assert!(
            DomainName::parse("https://acme.com/x")
                .unwrap_err()
                .contains("no http://")
        );
        assert!(DomainName::parse("acme").unwrap_err().contains("acme.com"));
        assert!(
            DomainName::parse("acme.c0m")
                .unwrap_err()
                .contains("extension")
        );
    }

    #[test]
    fn sld_and_tld_split_at_the_first_dot() {
        let d = DomainName::parse("acme.co.uk").unwrap();
        assert_eq!((d.sld(), d.tld()), ("acme", "co.uk"));
    }

    #[test]
    fn a_keyword_is_tried_with_each_extension() {
        let s = DomainSearch::parse("AcmeMail").unwrap();
        assert_eq!(s, DomainSearch::Keyword("acmemail".into()));
        let names: Vec<String> = s
            .candidates(&["com".into(), ".io".into()])
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(names, ["acmemail.com", "acmemail.io"]);
        assert_eq!(
            DomainSearch::parse("acme.io").unwrap().candidates(&[]),
            vec![DomainName::parse("acme.io").unwrap()]
        );
        assert!(DomainSearch::parse("bad_word").is_err());
    }
}
