//! DNS blocklists (DNSBL / URIBL): the question for a domain or IPv4 address on a list, and
//! what the answer means. A list answers an A record from 127.0.0.0/8 for a listed name and
//! NXDOMAIN otherwise; some answers mean the list refused the question (over its free quota,
//! asked through a public resolver), which is *not* a listing (`errors` in the settings).
//! Any other failure (REFUSED, SERVFAIL, a timeout) leaves the result unknown.

use std::net::Ipv4Addr;

use super::checker::{DnsCheckError, DnsChecker};
use super::expected::normalize_name;
use crate::domain::deliverability::Prefix;
use crate::server::config::{BlocklistKind, BlocklistSettings};

/// The name to ask about `subject` on `list`: `example.com.dbl.spamhaus.org` for a domain,
/// `7.113.0.203.zen.spamhaus.org` for 203.0.113.7. `None` when the subject is not of the
/// list's kind (an IPv6 address on an IPv4 list, say).
pub fn question(list: &BlocklistSettings, subject: &str) -> Option<String> {
    let zone = normalize_name(&list.zone);
    match list.kind {
        BlocklistKind::Domain => {
            let name = normalize_name(subject);
            (!name.is_empty() && name.parse::<Ipv4Addr>().is_err())
                .then(|| format!("{name}.{zone}"))
        }
        BlocklistKind::Ip => {
            let ip: Ipv4Addr = subject.trim().parse().ok()?;
            let [a, b, c, d] = ip.octets();
            Some(format!("{d}.{c}.{b}.{a}.{zone}"))
        }
    }
}

/// What one list said about one subject.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Clean,
    /// Listed, with the answer that says so.
    Listed(String),
    /// Not known: the list refused, was over quota, answered oddly or not at all.
    Unknown(String),
}

/// Judges the A answers for a question (`None`: no such name, i.e. not listed).
pub fn judge(list: &BlocklistSettings, answers: Option<&[Ipv4Addr]>) -> Verdict {
    let Some(answers) = answers.filter(|a| !a.is_empty()) else {
        return Verdict::Clean;
    };
    let matches = |set: &[String], ip: Ipv4Addr| {
        set.iter()
            .filter_map(|p| Prefix::parse(p).ok())
            .any(|p| p.contains(ip))
    };
    if let Some(ip) = answers.iter().find(|ip| matches(&list.errors, **ip)) {
        return Verdict::Unknown(format!(
            "{} refused the question (answer {ip}: over quota or a public resolver)",
            list.name
        ));
    }
    if let Some(ip) = answers.iter().find(|ip| matches(&list.listed, **ip)) {
        return Verdict::Listed(ip.to_string());
    }
    Verdict::Unknown(format!(
        "{} answered {}, which its settings do not call a listing",
        list.name,
        answers
            .iter()
            .map(|a| a.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    ))
}

/// Asks `list` about `subject` through `checker`'s resolver.
pub async fn check(checker: &DnsChecker, list: &BlocklistSettings, subject: &str) -> Verdict {
    let Some(name) = question(list, subject) else {
        return Verdict::Clean;
    };
    match checker.lookup_a(&name).await {
        Ok(answers) => judge(list, Some(&answers)),
        Err(DnsCheckError::Timeout { .. }) => {
            Verdict::Unknown(format!("{} did not answer in time", list.name))
        }
        Err(e) => Verdict::Unknown(format!("{} could not be asked: {e}", list.name)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(kind: BlocklistKind) -> BlocklistSettings {
        BlocklistSettings {
            name: "Spamhaus".into(),
            zone: "zen.spamhaus.org".into(),
            kind,
            listed: vec![
                "127.0.0.2/31".into(),
                "127.0.0.10".into(),
                "127.0.1.0/24".into(),
            ],
            errors: vec!["127.255.255.0/24".into()],
        }
    }

    #[test]
    fn questions_reverse_ip_octets_and_append_domains() {
        assert_eq!(
            question(&list(BlocklistKind::Ip), "203.0.113.7").as_deref(),
            Some("7.113.0.203.zen.spamhaus.org")
        );
        assert_eq!(
            question(&list(BlocklistKind::Domain), "Example.COM.").as_deref(),
            Some("example.com.zen.spamhaus.org")
        );
        assert_eq!(question(&list(BlocklistKind::Ip), "2001:db8::1"), None);
        assert_eq!(question(&list(BlocklistKind::Domain), "203.0.113.7"), None);
    }

    #[test]
    fn listed_clean_and_refused_answers_are_told_apart() {
        let l = list(BlocklistKind::Domain);
        let ip = |s: &str| s.parse::<Ipv4Addr>().unwrap();
        assert_eq!(judge(&l, None), Verdict::Clean);
        assert_eq!(judge(&l, Some(&[])), Verdict::Clean);
        assert_eq!(
            judge(&l, Some(&[ip("127.0.0.2")])),
            Verdict::Listed("127.0.0.2".into())
        );
        assert_eq!(
            judge(&l, Some(&[ip("127.0.1.105")])),
            Verdict::Listed("127.0.1.105".into())
        );
        assert!(matches!(
            judge(&l, Some(&[ip("127.255.255.254")])),
            Verdict::Unknown(why) if why.contains("over quota")
        ));
        // The refusal wins over a listing in the same answer: it says nothing about the name.
        assert!(matches!(
            judge(&l, Some(&[ip("127.0.0.2"), ip("127.255.255.252")])),
            Verdict::Unknown(_)
        ));
        assert!(matches!(
            judge(&l, Some(&[ip("127.0.0.4")])),
            Verdict::Unknown(why) if why.contains("127.0.0.4")
        ));
    }

    #[test]
    fn prefixes_parse_strictly() {
        assert!(
            Prefix::parse("127.0.0.0/8")
                .unwrap()
                .contains(Ipv4Addr::new(127, 9, 9, 9))
        );
        assert!(
            !Prefix::parse("127.0.0.2")
                .unwrap()
                .contains(Ipv4Addr::new(127, 0, 0, 3))
        );
        assert!(
            Prefix::parse("0.0.0.0/0")
                .unwrap()
                .contains(Ipv4Addr::new(1, 2, 3, 4))
        );
        assert!(Prefix::parse("127.0.0.0/33").is_err());
        assert!(Prefix::parse("localhost").is_err());
        assert!(
            BlocklistSettings {
                listed: vec![],
                ..list(BlocklistKind::Ip)
            }
            .validate()
            .is_err()
        );
    }
}
