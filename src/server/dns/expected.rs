//! The records a customer domain needs for InboxGrove to send and receive its mail, and the
//! `[dns]` settings they are built from. Pure: no I/O.

use std::net::IpAddr;

use super::records::{DnsRecord, RecordType};
/// `[dns]` lives in `config` (below this module); re-exported here where it is used.
pub use crate::server::config::dns::{DmarcPolicy, DnsSettings, MxHost};

/// TTL of the records we create: short, so a repair is seen within minutes.
pub const RECORD_TTL: u32 = 300;

/// Why a record exists; each is checked by its own rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RecordPurpose {
    Mx,
    Spf,
    Dkim,
    Dmarc,
    Tracking,
}

impl RecordPurpose {
    /// The name customers know it by.
    pub fn label(self) -> &'static str {
        match self {
            Self::Mx => "MX",
            Self::Spf => "SPF",
            Self::Dkim => "DKIM",
            Self::Dmarc => "DMARC",
            Self::Tracking => "tracking CNAME",
        }
    }

    /// The stable identifier stored with a check result.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mx => "mx",
            Self::Spf => "spf",
            Self::Dkim => "dkim",
            Self::Dmarc => "dmarc",
            Self::Tracking => "tracking",
        }
    }
}

/// One record to create, exactly as the DNS provider will be asked to create it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExpectedRecord {
    pub purpose: RecordPurpose,
    pub record: DnsRecord,
}

impl ExpectedRecord {
    /// How a person would type it into a DNS panel: `MX 10 mx1.inboxgrove.net`,
    /// `TXT "v=spf1 …"`, `CNAME track.inboxgrove.net`.
    pub fn display_value(&self) -> String {
        let r = &self.record;
        match r.kind {
            RecordType::Mx => format!("MX {} {}", r.priority.unwrap_or(10), r.content),
            RecordType::Txt => format!("TXT \"{}\"", r.content),
            RecordType::Cname => format!("CNAME {}", r.content),
            RecordType::A => format!("A {}", r.content),
        }
    }
}

/// The domain as record names use it: lower case, no trailing dot.
pub fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

/// The records `domain` needs: one MX per configured host, SPF at the apex, DKIM at
/// `{selector}._domainkey.{domain}`, DMARC at `_dmarc.{domain}`, and with `tracking` the
/// tracking CNAME (when `tracking_host` is configured).
///
/// `dkim_public_key_b64` is the base64 of the DER public key (what sits between the PEM armour
/// lines of `openssl rsa -pubout`); whitespace in it is ignored.
pub fn expected_records(
    domain: &str,
    dkim_public_key_b64: &str,
    settings: &DnsSettings,
    tracking: bool,
) -> Vec<ExpectedRecord> {
    let domain = normalize_name(domain);
    let record = |kind, name: String, content: String, priority| DnsRecord {
        id: None,
        kind,
        name,
        content,
        priority,
        ttl: RECORD_TTL,
    };
    let mut out: Vec<ExpectedRecord> = settings
        .mx_hosts
        .iter()
        .map(|mx| ExpectedRecord {
            purpose: RecordPurpose::Mx,
            record: record(
                RecordType::Mx,
                domain.clone(),
                normalize_name(&mx.host),
                Some(mx.priority),
            ),
        })
        .collect();
    out.push(ExpectedRecord {
        purpose: RecordPurpose::Spf,
        record: record(RecordType::Txt, domain.clone(), spf_value(settings), None),
    });
    out.push(ExpectedRecord {
        purpose: RecordPurpose::Dkim,
        record: record(
            RecordType::Txt,
            format!("{}._domainkey.{domain}", settings.dkim_selector),
            dkim_value(dkim_public_key_b64),
            None,
        ),
    });
    out.push(ExpectedRecord {
        purpose: RecordPurpose::Dmarc,
        record: record(
            RecordType::Txt,
            format!("_dmarc.{domain}"),
            format!(
                "v=DMARC1; p={}; rua={}",
                settings.dmarc_policy.as_str(),
                settings.dmarc_rua
            ),
            None,
        ),
    });
    if let (true, Some(target)) = (tracking, settings.tracking_target()) {
        out.push(ExpectedRecord {
            purpose: RecordPurpose::Tracking,
            record: record(
                RecordType::Cname,
                format!("{}.{domain}", settings.tracking_label),
                normalize_name(target),
                None,
            ),
        });
    }
    out
}

/// `v=spf1 include:_spf.inboxgrove.net ip4:… ip6:… -all`
pub fn spf_value(settings: &DnsSettings) -> String {
    let mut value = format!("v=spf1 include:{}", normalize_name(&settings.spf_include));
    for term in relay_ip_terms(settings) {
        value.push(' ');
        value.push_str(&term);
    }
    value.push_str(" -all");
    value
}

/// `ip4:203.0.113.7` / `ip6:2001:db8::7` for each relay IP.
pub fn relay_ip_terms(settings: &DnsSettings) -> Vec<String> {
    settings
        .relay_ips
        .iter()
        .map(|ip| match ip {
            IpAddr::V4(v4) => format!("ip4:{v4}"),
            IpAddr::V6(v6) => format!("ip6:{v6}"),
        })
        .collect()
}

/// `v=DKIM1; k=rsa; p=…`
pub fn dkim_value(public_key_b64: &str) -> String {
    format!("v=DKIM1; k=rsa; p={}", strip_whitespace(public_key_b64))
}

pub(crate) fn strip_whitespace(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

/// A DKIM or DMARC tag list (`v=DMARC1; p=none; rua=…`) as (lower-case tag, trimmed value)
/// pairs, in order. Empty segments (a trailing `;`) are skipped.
pub fn parse_tags(value: &str) -> Vec<(String, String)> {
    value
        .split(';')
        .filter_map(|part| {
            let part = part.trim();
            if part.is_empty() {
                return None;
            }
            let (tag, val) = part.split_once('=').unwrap_or((part, ""));
            Some((tag.trim().to_ascii_lowercase(), val.trim().to_string()))
        })
        .collect()
}

/// True when a TXT value is an SPF record (`v=spf1` followed by a space or nothing).
/// Byte-wise: a TXT record found in a zone is any bytes (non-ASCII text included), so no
/// slicing at an offset that may fall inside a character.
pub fn is_spf(txt: &str) -> bool {
    let t = txt.trim_start().as_bytes();
    t.get(..6)
        .is_some_and(|v| v.eq_ignore_ascii_case(b"v=spf1"))
        && matches!(t.get(6), None | Some(b' '))
}

/// True when a TXT value is a DMARC record (its first tag is `v=DMARC1`).
pub fn is_dmarc(txt: &str) -> bool {
    parse_tags(txt)
        .first()
        .is_some_and(|(tag, val)| tag == "v" && val.eq_ignore_ascii_case("DMARC1"))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::server::config::dns::{default_sandbox_nameservers, is_hostname};

    proptest::proptest! {
        /// TXT data from a zone is anything: the parsers answer, never panic.
        #[test]
        fn txt_parsers_never_panic_on_arbitrary_text(s in proptest::prelude::any::<String>()) {
            let _ = is_spf(&s);
            let _ = is_dmarc(&s);
            let _ = parse_tags(&s);
            let _ = normalize_name(&s);
            let _ = strip_whitespace(&s);
            let _ = is_hostname(&s);
        }
    }

    #[test]
    fn a_txt_record_with_non_ascii_text_is_not_spf_and_does_not_panic() {
        assert!(!is_spf("v=spf\u{e9}1"));
        assert!(!is_spf("ééééé"));
        assert!(!is_spf("v=spf1é"));
        assert!(is_spf("V=SPF1 -all"));
        assert!(is_spf("v=spf1"));
    }

    pub(crate) fn settings() -> DnsSettings {
        DnsSettings {
            mx_hosts: vec![
                MxHost {
                    priority: 10,
                    host: "mx1.inboxgrove.net".into(),
                },
                MxHost {
                    priority: 20,
                    host: "mx2.inboxgrove.net".into(),
                },
            ],
            spf_include: "_spf.inboxgrove.net".into(),
            relay_ips: vec!["203.0.113.7".parse().unwrap()],
            dkim_selector: "ig1".into(),
            dmarc_policy: DmarcPolicy::None,
            dmarc_rua: "mailto:dmarc@inboxgrove.net".into(),
            tracking_host: Some("track.inboxgrove.net".into()),
            tracking_label: "track".into(),
            resolver: "127.0.0.1:5354".parse().unwrap(),
            resolver_timeout_ms: 2000,
            check_interval_secs: 3600,
            sandbox_nameservers: default_sandbox_nameservers(),
        }
    }

    fn find(records: &[ExpectedRecord], purpose: RecordPurpose) -> Vec<&DnsRecord> {
        records
            .iter()
            .filter(|r| r.purpose == purpose)
            .map(|r| &r.record)
            .collect()
    }

    #[test]
    fn a_domain_gets_one_mx_per_host_spf_dkim_and_dmarc_at_their_names() {
        let records = expected_records("Example.COM.", "MIIBIjAN Bg==\n", &settings(), false);
        let mx = find(&records, RecordPurpose::Mx);
        assert_eq!(mx.len(), 2);
        assert_eq!(
            (mx[0].name.as_str(), mx[0].content.as_str(), mx[0].priority),
            ("example.com", "mx1.inboxgrove.net", Some(10))
        );
        assert_eq!(mx[1].priority, Some(20));

        let spf = find(&records, RecordPurpose::Spf)[0];
        assert_eq!(
            (spf.kind, spf.name.as_str()),
            (RecordType::Txt, "example.com")
        );
        assert_eq!(
            spf.content,
            "v=spf1 include:_spf.inboxgrove.net ip4:203.0.113.7 -all"
        );

        let dkim = find(&records, RecordPurpose::Dkim)[0];
        assert_eq!(dkim.name, "ig1._domainkey.example.com");
        assert_eq!(dkim.content, "v=DKIM1; k=rsa; p=MIIBIjANBg==");

        let dmarc = find(&records, RecordPurpose::Dmarc)[0];
        assert_eq!(dmarc.name, "_dmarc.example.com");
        assert_eq!(
            dmarc.content,
            "v=DMARC1; p=none; rua=mailto:dmarc@inboxgrove.net"
        );
        assert!(find(&records, RecordPurpose::Tracking).is_empty());
        assert!(records.iter().all(|r| r.record.id.is_none()));
    }

    #[test]
    fn tracking_adds_a_cname_only_when_a_tracking_host_is_configured() {
        let records = expected_records("example.com", "AAAA", &settings(), true);
        let cname = find(&records, RecordPurpose::Tracking)[0];
        assert_eq!(
            (cname.kind, cname.name.as_str(), cname.content.as_str()),
            (
                RecordType::Cname,
                "track.example.com",
                "track.inboxgrove.net"
            )
        );

        let mut no_host = settings();
        no_host.tracking_host = Some(" ".into());
        let records = expected_records("example.com", "AAAA", &no_host, true);
        assert!(find(&records, RecordPurpose::Tracking).is_empty());
    }

    #[test]
    fn spf_lists_ipv6_relays_as_ip6_and_no_ips_when_there_are_none() {
        let mut s = settings();
        s.relay_ips = vec!["2001:db8::7".parse().unwrap()];
        assert_eq!(
            spf_value(&s),
            "v=spf1 include:_spf.inboxgrove.net ip6:2001:db8::7 -all"
        );
        s.relay_ips.clear();
        assert_eq!(spf_value(&s), "v=spf1 include:_spf.inboxgrove.net -all");
    }

    #[test]
    fn tag_lists_parse_with_spaces_and_a_trailing_semicolon() {
        assert_eq!(
            parse_tags(" v=DMARC1 ;P=Reject; rua = mailto:a@b.c ;"),
            [
                ("v".to_string(), "DMARC1".to_string()),
                ("p".to_string(), "Reject".to_string()),
                ("rua".to_string(), "mailto:a@b.c".to_string()),
            ]
        );
    }

    #[test]
    fn only_v_spf1_followed_by_a_space_or_nothing_is_spf() {
        assert!(is_spf("v=spf1 -all"));
        assert!(is_spf("V=SPF1"));
        assert!(!is_spf("v=spf10 -all"));
        assert!(!is_spf("google-site-verification=abc"));
        assert!(is_dmarc("v=DMARC1; p=none"));
        assert!(!is_dmarc("p=none; v=DMARC1"));
    }

    #[test]
    fn the_shipped_dns_section_loads_and_the_environment_can_point_it_elsewhere() {
        let path = format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR"));
        let s = crate::server::config::Settings::load_from(
            &path,
            [
                (
                    "INBOXGROVE_DNS__RESOLVER".to_string(),
                    "10.0.0.53:53".to_string(),
                ),
                (
                    "INBOXGROVE_DNS__TRACKING_HOST".to_string(),
                    "t.inboxgrove.net".to_string(),
                ),
            ],
        )
        .unwrap();
        assert_eq!(s.dns.resolver, "10.0.0.53:53".parse().unwrap());
        assert_eq!(s.dns.tracking_target(), Some("t.inboxgrove.net"));
        assert_eq!(s.dns.dkim_selector, "ig1");
        assert_eq!(s.dns.dmarc_policy, DmarcPolicy::None);
        assert_eq!(
            s.dns.mx_hosts[0],
            MxHost {
                priority: 10,
                host: "mx1.inboxgrove.net".into()
            }
        );
    }

    #[test]
    fn settings_with_a_bad_selector_or_no_mx_hosts_are_refused() {
        let mut s = settings();
        s.dkim_selector = "ig1.x".into();
        assert!(
            s.validate()
                .unwrap_err()
                .to_string()
                .contains("dkim_selector")
        );
        let mut s = settings();
        s.mx_hosts.clear();
        assert!(s.validate().unwrap_err().to_string().contains("mx_hosts"));
        assert!(settings().validate().is_ok());
    }
}
