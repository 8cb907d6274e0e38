//! Real DNS lookups of a domain's records, each judged OK / Missing / Invalid with a fix a
//! person can follow.
//!
//! The checker asks exactly one configured nameserver (UDP, falling back to TCP for large
//! answers), never the system's resolv.conf, and keeps no cache, so "Re-check now" sees a
//! change the moment the nameserver does. A nameserver that does not answer is an error, not a
//! Missing record: a flaky resolver must not mark records broken.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use hickory_resolver::TokioResolver;
use hickory_resolver::config::{
    ConnectionConfig, NameServerConfig, ResolveHosts, ResolverConfig, ResolverOpts,
};
use hickory_resolver::net::NetError;
use hickory_resolver::net::runtime::TokioRuntimeProvider;
use hickory_resolver::proto::rr::{Name, RData, RecordType as WireType};

use super::expected::{
    DnsSettings, ExpectedRecord, RecordPurpose, is_dmarc, is_spf, normalize_name, parse_tags,
    strip_whitespace,
};
use crate::server::dns::records::{DnsRecord, RecordType};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum CheckStatus {
    Ok,
    Missing,
    Invalid,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Missing => "missing",
            Self::Invalid => "invalid",
        }
    }
}

/// The verdict on one expected record.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordCheck {
    pub purpose: RecordPurpose,
    pub expected: DnsRecord,
    pub status: CheckStatus,
    /// What the nameserver returned at that name and type, as a person would read it
    /// (`10 mx.other.net`, the whole TXT text with its 255-byte strings joined, a CNAME target).
    pub found: Vec<String>,
    /// One plain-language sentence saying what to change; `None` when the record is OK.
    pub fix: Option<String>,
}

/// The check could not be completed; no record's status is known. Retry later.
#[derive(Debug, thiserror::Error)]
pub enum DnsCheckError {
    #[error("the nameserver {server} did not answer {kind} {name} in time")]
    Timeout {
        server: SocketAddr,
        name: String,
        kind: &'static str,
    },
    #[error("the nameserver {server} could not answer {kind} {name}: {reason}")]
    Lookup {
        server: SocketAddr,
        name: String,
        kind: &'static str,
        reason: String,
    },
}

impl DnsCheckError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Timeout { .. })
    }
}

/// What one lookup returned: empty for NXDOMAIN and for a name without records of that type.
#[derive(Clone, Debug, Default)]
struct Answer {
    mx: Vec<(u16, String)>,
    txt: Vec<String>,
    cname: Vec<String>,
    a: Vec<std::net::Ipv4Addr>,
}

/// Checks records against one nameserver. Cheap to clone; build one per process.
#[derive(Clone)]
pub struct DnsChecker {
    resolver: TokioResolver,
    server: SocketAddr,
}

impl std::fmt::Debug for DnsChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DnsChecker")
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl DnsChecker {
    /// A checker asking `settings.resolver`.
    pub fn new(settings: &DnsSettings) -> anyhow::Result<Self> {
        Self::with_nameserver(
            settings.resolver,
            Duration::from_millis(settings.resolver_timeout_ms),
        )
    }

    /// A checker asking the nameserver at `server` over UDP and TCP, giving up on a question
    /// after `timeout` (one try per transport).
    pub fn with_nameserver(server: SocketAddr, timeout: Duration) -> anyhow::Result<Self> {
        let mut udp = ConnectionConfig::udp();
        udp.port = server.port();
        let mut tcp = ConnectionConfig::tcp();
        tcp.port = server.port();
        let config = ResolverConfig::from_name_servers(vec![NameServerConfig::new(
            server.ip(),
            true,
            vec![udp, tcp],
        )]);

        let mut opts = ResolverOpts::default();
        opts.timeout = timeout;
        opts.attempts = 1;
        // No cache: every check asks the nameserver again.
        opts.cache_size = 0;
        opts.positive_max_ttl = Some(Duration::ZERO);
        opts.negative_max_ttl = Some(Duration::ZERO);
        opts.use_hosts_file = ResolveHosts::Never;
        opts.num_concurrent_reqs = 1;
        opts.try_tcp_on_error = true;
        opts.edns0 = true;

        let resolver = TokioResolver::builder_with_config(config, TokioRuntimeProvider::default())
            .with_options(opts)
            .build()
            .map_err(|e| anyhow::anyhow!("building the DNS resolver for {server}: {e}"))?;
        Ok(Self { resolver, server })
    }

    /// The nameserver this checker asks.
    pub fn nameserver(&self) -> SocketAddr {
        self.server
    }

    /// Looks up every name and type `expected` needs (in parallel, once each) and judges each
    /// expected record. Results come back in the order of `expected`.
    #[tracing::instrument(skip(self, expected), fields(nameserver = %self.server))]
    pub async fn check(
        &self,
        domain: &str,
        expected: &[ExpectedRecord],
    ) -> Result<Vec<RecordCheck>, DnsCheckError> {
        let mut questions: Vec<(String, RecordType)> = expected
            .iter()
            .map(|e| (normalize_name(&e.record.name), e.record.kind))
            .collect();
        questions.sort_by(|a, b| (&a.0, a.1.as_str()).cmp(&(&b.0, b.1.as_str())));
        questions.dedup();

        let mut tasks = tokio::task::JoinSet::new();
        for (name, kind) in questions {
            let this = self.clone();
            tasks.spawn(async move {
                let answer = this.lookup(&name, kind).await;
                ((name, kind), answer)
            });
        }
        let mut answers: HashMap<(String, RecordType), Answer> = HashMap::new();
        while let Some(joined) = tasks.join_next().await {
            let (key, answer) = joined.map_err(|e| DnsCheckError::Lookup {
                server: self.server,
                name: domain.to_string(),
                kind: "any",
                reason: format!("lookup task failed: {e}"),
            })?;
            answers.insert(key, answer?);
        }

        let answer_for = |e: &ExpectedRecord| {
            answers
                .get(&(normalize_name(&e.record.name), e.record.kind))
                .cloned()
                .unwrap_or_default()
        };
        let mx_expected: Vec<&ExpectedRecord> = expected
            .iter()
            .filter(|e| e.purpose == RecordPurpose::Mx)
            .collect();
        Ok(expected
            .iter()
            .map(|e| {
                let answer = answer_for(e);
                match e.purpose {
                    RecordPurpose::Mx => judge_mx(e, &mx_expected, &answer.mx),
                    RecordPurpose::Spf => judge_spf(e, &answer.txt),
                    RecordPurpose::Dkim => judge_dkim(e, &answer.txt),
                    RecordPurpose::Dmarc => judge_dmarc(e, &answer.txt),
                    RecordPurpose::Tracking => judge_cname(e, &answer.cname),
                }
            })
            .collect())
    }

    /// The IPv4 addresses `name` has (empty for no such name or no A record), asked fresh.
    pub async fn lookup_a(&self, name: &str) -> Result<Vec<std::net::Ipv4Addr>, DnsCheckError> {
        Ok(self.lookup(name, RecordType::A).await?.a)
    }

    async fn lookup(&self, name: &str, kind: RecordType) -> Result<Answer, DnsCheckError> {
        let wire = match kind {
            RecordType::A => WireType::A,
            RecordType::Cname => WireType::CNAME,
            RecordType::Mx => WireType::MX,
            RecordType::Txt => WireType::TXT,
        };
        let fqdn = Name::from_ascii(format!("{name}.")).map_err(|e| DnsCheckError::Lookup {
            server: self.server,
            name: name.to_string(),
            kind: kind.as_str(),
            reason: format!("not a valid name: {e}"),
        })?;
        let lookup = match self.resolver.lookup(fqdn, wire).await {
            Ok(lookup) => lookup,
            Err(e) if e.is_no_records_found() => return Ok(Answer::default()),
            Err(NetError::Timeout) => {
                return Err(DnsCheckError::Timeout {
                    server: self.server,
                    name: name.to_string(),
                    kind: kind.as_str(),
                });
            }
            Err(e) => {
                return Err(DnsCheckError::Lookup {
                    server: self.server,
                    name: name.to_string(),
                    kind: kind.as_str(),
                    reason: e.to_string(),
                });
            }
        };
        let mut answer = Answer::default();
        for record in lookup.answers() {
            match &record.data {
                RData::MX(mx) if wire == WireType::MX => answer
                    .mx
                    .push((mx.preference, normalize_name(&mx.exchange.to_ascii()))),
                RData::TXT(txt) if wire == WireType::TXT => answer
                    .txt
                    .push(join_txt(txt.txt_data.iter().map(|s| s.as_ref()))),
                RData::A(a) if wire == WireType::A => answer.a.push(a.0),
                RData::CNAME(target) if wire == WireType::CNAME => {
                    answer.cname.push(normalize_name(&target.0.to_ascii()))
                }
                _ => {}
            }
        }
        answer.mx.sort();
        Ok(answer)
    }
}

/// One TXT record's character-strings (each at most 255 bytes) joined into its value, as
/// SPF (RFC 7208 §3.3), DKIM and DMARC read it.
pub fn join_txt<'a>(strings: impl IntoIterator<Item = &'a [u8]>) -> String {
    let bytes: Vec<u8> = strings.into_iter().flatten().copied().collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

fn verdict(
    e: &ExpectedRecord,
    found: Vec<String>,
    status: CheckStatus,
    fix: Option<String>,
) -> RecordCheck {
    RecordCheck {
        purpose: e.purpose,
        expected: e.record.clone(),
        status,
        found,
        fix,
    }
}

fn ok(e: &ExpectedRecord, found: Vec<String>) -> RecordCheck {
    verdict(e, found, CheckStatus::Ok, None)
}

fn missing(e: &ExpectedRecord, found: Vec<String>, fix: String) -> RecordCheck {
    verdict(e, found, CheckStatus::Missing, Some(fix))
}

fn invalid(e: &ExpectedRecord, found: Vec<String>, fix: String) -> RecordCheck {
    verdict(e, found, CheckStatus::Invalid, Some(fix))
}

/// Each expected MX host must be there with its priority. Hosts of others are tolerated only
/// as backups: one preferred at least as much as our primary would take the replies.
fn judge_mx(
    e: &ExpectedRecord,
    all_expected: &[&ExpectedRecord],
    found: &[(u16, String)],
) -> RecordCheck {
    let shown: Vec<String> = found.iter().map(|(p, h)| format!("{p} {h}")).collect();
    let domain = &e.record.name;
    let host = normalize_name(&e.record.content);
    let priority = e.record.priority.unwrap_or(10);
    let add = e.display_value();
    if found.is_empty() {
        return missing(e, shown, format!("No MX record for {domain}: add {add}."));
    }
    let mut sentences = Vec::new();
    match found.iter().find(|(_, h)| *h == host) {
        None => sentences.push(format!(
            "There is no MX record for {host} at {domain} (found MX {}): add {add}.",
            shown.join(", MX ")
        )),
        Some((p, _)) if *p != priority => sentences.push(format!(
            "The MX record for {host} has priority {p}, expected {priority}: change it to {add}."
        )),
        Some(_) => {}
    }
    let ours: Vec<String> = all_expected
        .iter()
        .map(|x| normalize_name(&x.record.content))
        .collect();
    let primary = all_expected
        .iter()
        .filter_map(|x| x.record.priority)
        .min()
        .unwrap_or(priority);
    let rivals: Vec<String> = found
        .iter()
        .filter(|(p, h)| !ours.contains(h) && *p <= primary)
        .map(|(p, h)| format!("MX {p} {h}"))
        .collect();
    if !rivals.is_empty() {
        sentences.push(format!(
            "{} would receive replies instead of InboxGrove: remove {}.",
            rivals.join(" and "),
            if rivals.len() == 1 { "it" } else { "them" }
        ));
    }
    if sentences.is_empty() {
        ok(e, shown)
    } else {
        invalid(e, shown, sentences.join(" "))
    }
}

/// Exactly one `v=spf1` TXT at the apex, containing every include and IP of ours and ending in
/// `-all` or `~all`.
fn judge_spf(e: &ExpectedRecord, txt: &[String]) -> RecordCheck {
    let name = &e.record.name;
    let spf: Vec<&String> = txt.iter().filter(|t| is_spf(t)).collect();
    let found: Vec<String> = spf.iter().map(|s| s.to_string()).collect();
    let add = e.display_value();
    match spf.as_slice() {
        [] => missing(e, found, format!("No SPF record at {name}: add {add}.")),
        [one] => {
            let absent = spf_absent(&e.record.content, one);
            let ending = spf_terms(one).into_iter().find(|t| is_all(t));
            let mut problems = Vec::new();
            if !absent.is_empty() {
                let what: Vec<String> = absent
                    .iter()
                    .map(|t| match t.split_once(':') {
                        Some(("include", host)) => format!("include {host}"),
                        _ => format!("list {t}"),
                    })
                    .collect();
                problems.push(format!("does not {}", what.join(" or ")));
            }
            match ending {
                Some(all)
                    if all.eq_ignore_ascii_case("-all") || all.eq_ignore_ascii_case("~all") => {}
                Some(all) => problems.push(format!(
                    "ends in {all}, which lets any server send as {name}"
                )),
                None => problems.push("does not end in -all".to_string()),
            }
            if problems.is_empty() {
                return ok(e, found);
            }
            invalid(
                e,
                found,
                format!(
                    "An SPF record exists but {}: replace it with TXT \"{}\".",
                    problems.join(" and "),
                    merge_spf(one, &absent, ending)
                ),
            )
        }
        many => {
            let merged = merge_spf(many[0], &spf_absent(&e.record.content, many[0]), None);
            invalid(
                e,
                found,
                format!(
                    "{} SPF records found at {name}, expected 1 (receivers treat more than one as \
                     an error): replace them with one TXT \"{merged}\".",
                    many.len()
                ),
            )
        }
    }
}

/// Our terms (includes and IPs) that `theirs` does not authorise.
fn spf_absent<'a>(ours: &'a str, theirs: &str) -> Vec<&'a str> {
    let present = spf_terms(theirs);
    spf_terms(ours)
        .into_iter()
        .filter(|t| !is_all(t))
        .filter(|req| !present.iter().any(|have| spf_term_covers(have, req)))
        .collect()
}

/// The mechanisms and modifiers after `v=spf1`.
fn spf_terms(value: &str) -> Vec<&str> {
    value.split_whitespace().skip(1).collect()
}

fn is_all(term: &str) -> bool {
    let t = term.trim_start_matches(['+', '-', '~', '?']);
    t.eq_ignore_ascii_case("all")
}

/// True when `have` authorises what `required` does: the same include host, or an ip4/ip6
/// network containing the address. Only a pass qualifier (none or `+`) counts.
fn spf_term_covers(have: &str, required: &str) -> bool {
    let have = match have.strip_prefix('+') {
        Some(rest) => rest,
        None if have.starts_with(['-', '~', '?']) => return false,
        None => have,
    };
    let (Some((hm, hv)), Some((rm, rv))) = (have.split_once(':'), required.split_once(':')) else {
        return have.eq_ignore_ascii_case(required);
    };
    if !hm.eq_ignore_ascii_case(rm) {
        return false;
    }
    match rm.to_ascii_lowercase().as_str() {
        "ip4" | "ip6" => {
            let Ok(want) = rv.parse::<IpAddr>() else {
                return false;
            };
            let (net, len) = hv.split_once('/').unwrap_or((hv, ""));
            let Ok(net) = net.parse::<IpAddr>() else {
                return false;
            };
            match (net, want) {
                (IpAddr::V4(n), IpAddr::V4(w)) => {
                    let len = len.parse::<u32>().unwrap_or(32).min(32);
                    let mask = u32::MAX.checked_shl(32 - len).unwrap_or(0);
                    u32::from(n) & mask == u32::from(w) & mask
                }
                (IpAddr::V6(n), IpAddr::V6(w)) => {
                    let len = len.parse::<u32>().unwrap_or(128).min(128);
                    let mask = u128::MAX.checked_shl(128 - len).unwrap_or(0);
                    u128::from(n) & mask == u128::from(w) & mask
                }
                _ => false,
            }
        }
        _ => normalize_name(hv) == normalize_name(rv),
    }
}

/// The customer's SPF with our missing terms added and a strict ending (their `~all` is kept).
fn merge_spf(theirs: &str, add: &[&str], ending: Option<&str>) -> String {
    let mut terms: Vec<&str> = vec!["v=spf1"];
    terms.extend(spf_terms(theirs).into_iter().filter(|t| !is_all(t)));
    terms.extend(add.iter().copied());
    let end = match ending {
        Some(all) if all.eq_ignore_ascii_case("~all") => "~all",
        _ => "-all",
    };
    terms.push(end);
    terms.join(" ")
}

/// Exactly one TXT at `{selector}._domainkey`, whose key (`p=`) is ours.
fn judge_dkim(e: &ExpectedRecord, txt: &[String]) -> RecordCheck {
    let name = &e.record.name;
    let found = txt.to_vec();
    let add = e.display_value();
    match txt {
        [] => missing(e, found, format!("No DKIM record at {name}: add {add}.")),
        [one] => {
            let want = tag(&e.record.content, "p").map(|p| strip_whitespace(&p));
            let tags = parse_tags(one);
            let get = |t: &str| tags.iter().find(|(k, _)| k == t).map(|(_, v)| v.as_str());
            let mut problems = Vec::new();
            if let Some(v) = get("v")
                && !v.eq_ignore_ascii_case("DKIM1")
            {
                problems.push(format!("has version {v}, expected DKIM1"));
            }
            if let Some(k) = get("k")
                && !k.eq_ignore_ascii_case("rsa")
            {
                problems.push(format!("has key type {k}, expected rsa"));
            }
            match get("p").map(strip_whitespace) {
                None => problems.push("has no public key (p=)".to_string()),
                Some(p) if p.is_empty() => {
                    problems.push("has an empty public key, which revokes it".to_string())
                }
                Some(p) if Some(&p) != want.as_ref() => problems.push(
                    "has a different public key from the one InboxGrove signs with".to_string(),
                ),
                Some(_) => {}
            }
            if problems.is_empty() {
                ok(e, found)
            } else {
                invalid(
                    e,
                    found,
                    format!(
                        "The DKIM record at {name} {}: replace it with {add}.",
                        problems.join(" and ")
                    ),
                )
            }
        }
        many => invalid(
            e,
            found,
            format!(
                "{} DKIM records found at {name}, expected 1: keep only {add}.",
                many.len()
            ),
        ),
    }
}

/// Exactly one `v=DMARC1` TXT at `_dmarc`, with our policy and our report address in `rua`.
fn judge_dmarc(e: &ExpectedRecord, txt: &[String]) -> RecordCheck {
    let name = &e.record.name;
    let dmarc: Vec<String> = txt.iter().filter(|t| is_dmarc(t)).cloned().collect();
    let add = e.display_value();
    match dmarc.as_slice() {
        [] => missing(e, dmarc, format!("No DMARC record at {name}: add {add}.")),
        [one] => {
            let want_p = tag(&e.record.content, "p").unwrap_or_default();
            let want_rua = tag(&e.record.content, "rua").unwrap_or_default();
            let mut problems = Vec::new();
            match tag(one, "p") {
                None => problems.push("The DMARC record has no policy (p=)".to_string()),
                Some(p) if !p.eq_ignore_ascii_case(&want_p) => {
                    problems.push(format!("DMARC policy is {p}, expected {want_p}"))
                }
                Some(_) => {}
            }
            let sends_to_us = tag(one, "rua").is_some_and(|rua| {
                rua.split(',').any(|uri| {
                    let uri = uri.trim();
                    let uri = uri.split_once('!').map_or(uri, |(u, _)| u);
                    uri.eq_ignore_ascii_case(&want_rua)
                })
            });
            if !want_rua.is_empty() && !sends_to_us {
                problems.push(format!("aggregate reports do not go to {want_rua}"));
            }
            if problems.is_empty() {
                ok(e, dmarc)
            } else {
                let fix = format!(
                    "{}: replace it with {add}.",
                    capitalize(&problems.join(" and "))
                );
                invalid(e, dmarc, fix)
            }
        }
        many => invalid(
            e,
            dmarc.clone(),
            format!(
                "{} DMARC records found at {name}, expected 1 (receivers ignore DMARC when there \
                 are more): keep only {add}.",
                many.len()
            ),
        ),
    }
}

/// Exactly one CNAME pointing at our tracking host.
fn judge_cname(e: &ExpectedRecord, targets: &[String]) -> RecordCheck {
    let name = &e.record.name;
    let want = normalize_name(&e.record.content);
    let found = targets.to_vec();
    let label = e.purpose.label();
    match targets {
        [] => missing(
            e,
            found,
            format!("No {label} at {name}: add CNAME {name} pointing to {want}."),
        ),
        [one] if *one == want => ok(e, found),
        _ => {
            let now = targets.join(" and ");
            invalid(
                e,
                found,
                format!("{name} points to {now}, expected {want}: change the CNAME to {want}."),
            )
        }
    }
}

/// The value of `tag` in a tag list, if present.
fn tag(value: &str, tag: &str) -> Option<String> {
    parse_tags(value)
        .into_iter()
        .find(|(k, _)| k == tag)
        .map(|(_, v)| v)
}

fn capitalize(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever a zone holds, every check gives a verdict.
        #[test]
        fn the_record_checks_never_panic_on_arbitrary_answers(
            txt in proptest::collection::vec(proptest::prelude::any::<String>(), 0..4),
            raw in proptest::collection::vec(proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300), 0..3),
        ) {
            let joined = join_txt(raw.iter().map(Vec::as_slice));
            let mut all = txt.clone();
            all.push(joined);
            for purpose in [RecordPurpose::Spf, RecordPurpose::Dkim, RecordPurpose::Dmarc] {
                let e = expected(purpose);
                let _ = match purpose {
                    RecordPurpose::Spf => judge_spf(&e, &all),
                    RecordPurpose::Dkim => judge_dkim(&e, &all),
                    _ => judge_dmarc(&e, &all),
                };
            }
            for t in &all {
                let _ = spf_terms(t);
                let _ = spf_absent("v=spf1 include:_spf.example.com -all", t);
                let _ = merge_spf(t, &["include:x.example"], Some("-all"));
                let _ = tag(t, "p");
                let _ = capitalize(t);
            }
        }
    }

    use crate::server::dns::expected::{expected_records, tests::settings};

    fn expected(purpose: RecordPurpose) -> ExpectedRecord {
        expected_records("example.com", "KEY", &settings(), true)
            .into_iter()
            .find(|e| e.purpose == purpose)
            .unwrap()
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn an_spf_record_with_our_include_inside_a_wider_ip4_network_and_softfail_is_ok() {
        let e = expected(RecordPurpose::Spf);
        let c = judge_spf(
            &e,
            &strings(&[
                "google-site-verification=x",
                "v=spf1 include:_spf.google.com +include:_SPF.inboxgrove.net. ip4:203.0.113.0/24 ~all",
            ]),
        );
        assert_eq!(c.status, CheckStatus::Ok, "{:?}", c.fix);
        assert_eq!(c.found.len(), 1);
    }

    #[test]
    fn an_spf_record_without_our_include_is_invalid_and_the_fix_keeps_their_terms() {
        let e = expected(RecordPurpose::Spf);
        let c = judge_spf(
            &e,
            &strings(&["v=spf1 include:_spf.google.com ip4:203.0.113.7 ~all"]),
        );
        assert_eq!(c.status, CheckStatus::Invalid);
        assert_eq!(
            c.fix.unwrap(),
            "An SPF record exists but does not include _spf.inboxgrove.net: replace it with \
             TXT \"v=spf1 include:_spf.google.com ip4:203.0.113.7 include:_spf.inboxgrove.net ~all\"."
        );
    }

    #[test]
    fn an_spf_record_ending_in_plus_all_is_invalid() {
        let e = expected(RecordPurpose::Spf);
        let c = judge_spf(
            &e,
            &strings(&["v=spf1 include:_spf.inboxgrove.net ip4:203.0.113.7 +all"]),
        );
        assert_eq!(c.status, CheckStatus::Invalid);
        assert!(c.fix.unwrap().contains("ends in +all"));
    }

    #[test]
    fn a_failing_qualifier_does_not_count_as_including_us() {
        assert!(!spf_term_covers(
            "-include:_spf.inboxgrove.net",
            "include:_spf.inboxgrove.net"
        ));
        assert!(spf_term_covers("ip6:2001:db8::/32", "ip6:2001:db8::7"));
        assert!(!spf_term_covers("ip4:203.0.114.0/24", "ip4:203.0.113.7"));
    }

    #[test]
    fn a_backup_mx_of_someone_else_is_tolerated_but_a_preferred_one_is_not() {
        let all = expected_records("example.com", "KEY", &settings(), false);
        let mx: Vec<&ExpectedRecord> = all
            .iter()
            .filter(|e| e.purpose == RecordPurpose::Mx)
            .collect();
        let found = vec![
            (10, "mx1.inboxgrove.net".to_string()),
            (20, "mx2.inboxgrove.net".to_string()),
            (50, "backup.other.net".to_string()),
        ];
        assert_eq!(judge_mx(mx[0], &mx, &found).status, CheckStatus::Ok);

        let mut found = found;
        found.push((5, "mx.other.net".to_string()));
        let c = judge_mx(mx[0], &mx, &found);
        assert_eq!(c.status, CheckStatus::Invalid);
        assert_eq!(
            c.fix.unwrap(),
            "MX 5 mx.other.net would receive replies instead of InboxGrove: remove it."
        );
    }

    #[test]
    fn an_mx_with_the_wrong_priority_is_invalid() {
        let all = expected_records("example.com", "KEY", &settings(), false);
        let mx: Vec<&ExpectedRecord> = all
            .iter()
            .filter(|e| e.purpose == RecordPurpose::Mx)
            .collect();
        let found = vec![
            (30, "mx1.inboxgrove.net".to_string()),
            (20, "mx2.inboxgrove.net".to_string()),
        ];
        let c = judge_mx(mx[0], &mx, &found);
        assert_eq!(c.status, CheckStatus::Invalid);
        assert_eq!(
            c.fix.unwrap(),
            "The MX record for mx1.inboxgrove.net has priority 30, expected 10: change it to \
             MX 10 mx1.inboxgrove.net."
        );
    }

    #[test]
    fn a_dkim_record_with_a_revoked_key_or_another_type_is_invalid() {
        let e = expected(RecordPurpose::Dkim);
        let c = judge_dkim(&e, &strings(&["v=DKIM1; k=rsa; p="]));
        assert!(c.fix.unwrap().contains("empty public key"));
        let c = judge_dkim(&e, &strings(&["v=DKIM1; k=ed25519; p=KEY"]));
        assert_eq!(c.status, CheckStatus::Invalid);
        assert!(c.fix.unwrap().contains("key type ed25519, expected rsa"));
        let c = judge_dkim(&e, &strings(&["v=DKIM1; k=rsa; h=sha256; p=K E Y"]));
        assert_eq!(c.status, CheckStatus::Ok);
    }

    #[test]
    fn a_dmarc_record_reporting_elsewhere_is_invalid_but_an_extra_rua_with_a_size_is_fine() {
        let e = expected(RecordPurpose::Dmarc);
        let c = judge_dmarc(&e, &strings(&["v=DMARC1; p=none; rua=mailto:x@other.net"]));
        assert_eq!(
            c.fix.unwrap(),
            "Aggregate reports do not go to mailto:dmarc@inboxgrove.net: replace it with \
             TXT \"v=DMARC1; p=none; rua=mailto:dmarc@inboxgrove.net\"."
        );
        let c = judge_dmarc(
            &e,
            &strings(&["v=DMARC1; p=None; rua=mailto:x@other.net,mailto:DMARC@inboxgrove.net!10m"]),
        );
        assert_eq!(c.status, CheckStatus::Ok);
    }
}
