//! The checker against the local authoritative listener over real UDP/TCP on 127.0.0.1: an
//! in-memory zone for example.com, broken one way per test.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hickory_server::proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_server::proto::rr::{Name, RData, RecordType as WireType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::JoinHandle;

use super::authority::{self, MemoryZones};
use super::checker::{CheckStatus, DnsChecker, RecordCheck};
use super::expected::{ExpectedRecord, RecordPurpose, expected_records, tests::settings};
use crate::server::dns::records::{DnsRecord, RecordType};

const DOMAIN: &str = "example.com";

/// The size of a real 2048-bit RSA SubjectPublicKeyInfo in base64 (294 DER bytes → 392
/// characters), so the DKIM TXT is 410 bytes and must travel as two character-strings.
fn dkim_key_2048() -> String {
    let head = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA";
    let body: String = (0..392 - head.len() - 8)
        .map(|i| (b'A' + (i % 26) as u8) as char)
        .collect();
    format!("{head}{body}IDAQAB==")
}

struct Fixture {
    zones: Arc<MemoryZones>,
    checker: DnsChecker,
    expected: Vec<ExpectedRecord>,
    addr: SocketAddr,
    server: JoinHandle<anyhow::Result<()>>,
}

impl Drop for Fixture {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Fixture {
    /// example.com served with exactly the records InboxGrove asks for (tracking included).
    async fn correct() -> Self {
        let fixture = Self::empty().await;
        for e in &fixture.expected {
            fixture.zones.add(e.record.clone());
        }
        fixture
    }

    /// example.com served, with no records in it.
    async fn empty() -> Self {
        let zones = Arc::new(MemoryZones::new());
        zones.add_zone(DOMAIN);
        let (addr, server) = authority::spawn("127.0.0.1:0".parse().unwrap(), zones.clone())
            .await
            .expect("bind the listener");
        let checker = DnsChecker::with_nameserver(addr, Duration::from_secs(2)).unwrap();
        let expected = expected_records(DOMAIN, &dkim_key_2048(), &settings(), true);
        Self {
            zones,
            checker,
            expected,
            addr,
            server,
        }
    }

    fn expected(&self, purpose: RecordPurpose) -> &DnsRecord {
        &self
            .expected
            .iter()
            .find(|e| e.purpose == purpose)
            .unwrap()
            .record
    }

    /// Replaces every record of `kind` at `name` with TXT/MX/CNAME records of `contents`.
    fn set(&self, name: &str, kind: RecordType, contents: &[(&str, Option<u16>)]) {
        self.zones.remove(name, kind);
        for (content, priority) in contents {
            self.zones.add(DnsRecord {
                id: None,
                kind,
                name: name.into(),
                content: content.to_string(),
                priority: *priority,
                ttl: 300,
            });
        }
    }

    async fn check(&self) -> Vec<RecordCheck> {
        self.checker
            .check(DOMAIN, &self.expected)
            .await
            .expect("the nameserver answers")
    }

    async fn check_one(&self, purpose: RecordPurpose) -> RecordCheck {
        self.check()
            .await
            .into_iter()
            .find(|c| c.purpose == purpose)
            .unwrap()
    }
}

fn statuses(checks: &[RecordCheck]) -> Vec<(RecordPurpose, CheckStatus)> {
    checks.iter().map(|c| (c.purpose, c.status)).collect()
}

#[tokio::test]
async fn every_record_as_expected_checks_ok_one_by_one() {
    let f = Fixture::correct().await;
    let checks = f.check().await;
    assert_eq!(
        statuses(&checks),
        [
            (RecordPurpose::Mx, CheckStatus::Ok),
            (RecordPurpose::Mx, CheckStatus::Ok),
            (RecordPurpose::Spf, CheckStatus::Ok),
            (RecordPurpose::Dkim, CheckStatus::Ok),
            (RecordPurpose::Dmarc, CheckStatus::Ok),
            (RecordPurpose::Tracking, CheckStatus::Ok),
        ]
    );
    assert!(checks.iter().all(|c| c.fix.is_none()));
    assert_eq!(
        checks[0].found,
        ["10 mx1.inboxgrove.net", "20 mx2.inboxgrove.net"]
    );
}

#[tokio::test]
async fn a_2048_bit_dkim_key_split_into_255_byte_strings_is_read_back_whole() {
    let f = Fixture::correct().await;
    let expected = f.expected(RecordPurpose::Dkim).content.clone();
    assert!(expected.len() > 255, "the record must need splitting");

    let dkim = f.check_one(RecordPurpose::Dkim).await;
    assert_eq!(dkim.status, CheckStatus::Ok);
    assert_eq!(dkim.found, [expected]);

    // On the wire it really is two character-strings.
    let reply = ask_udp(f.addr, "ig1._domainkey.example.com", WireType::TXT, true).await;
    let RData::TXT(txt) = &reply.answers[0].data else {
        panic!("not TXT: {reply:?}")
    };
    assert_eq!(
        txt.txt_data.iter().map(|s| s.len()).collect::<Vec<_>>(),
        [255, 410 - 255]
    );
}

#[tokio::test]
async fn an_empty_zone_has_every_record_missing_with_what_to_add() {
    let f = Fixture::empty().await;
    let checks = f.check().await;
    assert!(checks.iter().all(|c| c.status == CheckStatus::Missing));
    let fix = |i: usize| checks[i].fix.clone().unwrap();
    assert_eq!(
        fix(0),
        "No MX record for example.com: add MX 10 mx1.inboxgrove.net."
    );
    assert_eq!(
        fix(1),
        "No MX record for example.com: add MX 20 mx2.inboxgrove.net."
    );
    assert_eq!(
        fix(2),
        "No SPF record at example.com: add TXT \"v=spf1 include:_spf.inboxgrove.net \
         ip4:203.0.113.7 -all\"."
    );
    assert!(fix(3).starts_with(
        "No DKIM record at ig1._domainkey.example.com: add TXT \"v=DKIM1; k=rsa; p=MIIBIjAN"
    ));
    assert_eq!(
        fix(4),
        "No DMARC record at _dmarc.example.com: add TXT \"v=DMARC1; p=none; \
         rua=mailto:dmarc@inboxgrove.net\"."
    );
    assert_eq!(
        fix(5),
        "No tracking CNAME at track.example.com: add CNAME track.example.com pointing to \
         track.inboxgrove.net."
    );
}

#[tokio::test]
async fn each_record_removed_alone_is_missing_and_the_others_stay_ok() {
    let f = Fixture::correct().await;
    for (purpose, name, kind) in [
        (RecordPurpose::Mx, "example.com", RecordType::Mx),
        (
            RecordPurpose::Dkim,
            "ig1._domainkey.example.com",
            RecordType::Txt,
        ),
        (RecordPurpose::Dmarc, "_dmarc.example.com", RecordType::Txt),
        (
            RecordPurpose::Tracking,
            "track.example.com",
            RecordType::Cname,
        ),
    ] {
        let saved: Vec<DnsRecord> = f
            .expected
            .iter()
            .filter(|e| e.purpose == purpose)
            .map(|e| e.record.clone())
            .collect();
        f.zones.remove(name, kind);
        let checks = f.check().await;
        for c in &checks {
            let want = if c.purpose == purpose {
                CheckStatus::Missing
            } else {
                CheckStatus::Ok
            };
            assert_eq!(
                c.status, want,
                "{purpose:?} removed, {:?} was {:?}",
                c.purpose, c.fix
            );
        }
        for r in saved {
            f.zones.add(r);
        }
    }
    // SPF shares the apex TXT set with other TXT records; only the SPF one goes.
    f.set(
        "example.com",
        RecordType::Txt,
        &[("google-site-verification=abc", None)],
    );
    let spf = f.check_one(RecordPurpose::Spf).await;
    assert_eq!(spf.status, CheckStatus::Missing);
    assert!(spf.found.is_empty());
}

#[tokio::test]
async fn an_mx_pointing_at_another_host_is_invalid() {
    let f = Fixture::correct().await;
    f.set(
        "example.com",
        RecordType::Mx,
        &[("mx.other.net", Some(10)), ("mx2.inboxgrove.net", Some(20))],
    );
    let checks = f.check().await;
    assert_eq!(checks[0].status, CheckStatus::Invalid);
    assert_eq!(
        checks[0].fix.as_deref().unwrap(),
        "There is no MX record for mx1.inboxgrove.net at example.com (found MX 10 mx.other.net, \
         MX 20 mx2.inboxgrove.net): add MX 10 mx1.inboxgrove.net. MX 10 mx.other.net would \
         receive replies instead of InboxGrove: remove it."
    );
    assert_eq!(
        checks[0].found,
        ["10 mx.other.net", "20 mx2.inboxgrove.net"]
    );
}

#[tokio::test]
async fn an_spf_record_without_our_include_is_invalid() {
    let f = Fixture::correct().await;
    f.set(
        "example.com",
        RecordType::Txt,
        &[("v=spf1 ip4:203.0.113.7 -all", None)],
    );
    let spf = f.check_one(RecordPurpose::Spf).await;
    assert_eq!(spf.status, CheckStatus::Invalid);
    assert_eq!(
        spf.fix.unwrap(),
        "An SPF record exists but does not include _spf.inboxgrove.net: replace it with \
         TXT \"v=spf1 ip4:203.0.113.7 include:_spf.inboxgrove.net -all\"."
    );
}

#[tokio::test]
async fn two_spf_records_are_invalid_even_if_one_is_ours() {
    let f = Fixture::correct().await;
    let ours = f.expected(RecordPurpose::Spf).content.clone();
    f.set(
        "example.com",
        RecordType::Txt,
        &[(&ours, None), ("v=spf1 include:_spf.google.com ~all", None)],
    );
    let spf = f.check_one(RecordPurpose::Spf).await;
    assert_eq!(spf.status, CheckStatus::Invalid);
    assert_eq!(spf.found.len(), 2);
    assert!(
        spf.fix
            .unwrap()
            .starts_with("2 SPF records found at example.com, expected 1"),
    );
}

#[tokio::test]
async fn a_dkim_record_with_another_key_is_invalid() {
    let f = Fixture::correct().await;
    f.set(
        "ig1._domainkey.example.com",
        RecordType::Txt,
        &[(
            "v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQC",
            None,
        )],
    );
    let dkim = f.check_one(RecordPurpose::Dkim).await;
    assert_eq!(dkim.status, CheckStatus::Invalid);
    assert!(dkim.fix.unwrap().starts_with(
        "The DKIM record at ig1._domainkey.example.com has a different public key from the one \
         InboxGrove signs with: replace it with TXT \"v=DKIM1; k=rsa; p=MIIBIjAN"
    ));
}

#[tokio::test]
async fn two_dkim_records_are_invalid_and_say_how_many_were_found() {
    let f = Fixture::correct().await;
    let name = "ig1._domainkey.example.com";
    f.zones.add(DnsRecord {
        id: None,
        kind: RecordType::Txt,
        name: name.into(),
        content: "v=DKIM1; k=rsa; p=OLDKEY".into(),
        priority: None,
        ttl: 300,
    });
    let dkim = f.check_one(RecordPurpose::Dkim).await;
    assert_eq!(dkim.status, CheckStatus::Invalid);
    assert_eq!(dkim.found.len(), 2);
    assert!(dkim.fix.unwrap().starts_with(
        "2 DKIM records found at ig1._domainkey.example.com, expected 1: keep only TXT"
    ),);
}

#[tokio::test]
async fn a_dmarc_record_with_another_policy_is_invalid() {
    let f = Fixture::correct().await;
    f.set(
        "_dmarc.example.com",
        RecordType::Txt,
        &[(
            "v=DMARC1; p=quarantine; rua=mailto:dmarc@inboxgrove.net",
            None,
        )],
    );
    let dmarc = f.check_one(RecordPurpose::Dmarc).await;
    assert_eq!(dmarc.status, CheckStatus::Invalid);
    assert_eq!(
        dmarc.fix.unwrap(),
        "DMARC policy is quarantine, expected none: replace it with TXT \"v=DMARC1; p=none; \
         rua=mailto:dmarc@inboxgrove.net\"."
    );
}

#[tokio::test]
async fn a_tracking_cname_pointing_elsewhere_is_invalid() {
    let f = Fixture::correct().await;
    f.set(
        "track.example.com",
        RecordType::Cname,
        &[("links.other.net", None)],
    );
    let tracking = f.check_one(RecordPurpose::Tracking).await;
    assert_eq!(tracking.status, CheckStatus::Invalid);
    assert_eq!(
        tracking.fix.unwrap(),
        "track.example.com points to links.other.net, expected track.inboxgrove.net: change the \
         CNAME to track.inboxgrove.net."
    );
}

#[tokio::test]
async fn a_repaired_record_is_seen_by_the_very_next_check() {
    let f = Fixture::correct().await;
    let dmarc = f.expected(RecordPurpose::Dmarc).content.clone();
    f.set(
        "_dmarc.example.com",
        RecordType::Txt,
        &[("v=DMARC1; p=reject", None)],
    );
    assert_eq!(
        f.check_one(RecordPurpose::Dmarc).await.status,
        CheckStatus::Invalid
    );
    f.set("_dmarc.example.com", RecordType::Txt, &[(&dmarc, None)]);
    assert_eq!(
        f.check_one(RecordPurpose::Dmarc).await.status,
        CheckStatus::Ok
    );
    f.zones.remove("_dmarc.example.com", RecordType::Txt);
    assert_eq!(
        f.check_one(RecordPurpose::Dmarc).await.status,
        CheckStatus::Missing
    );
}

#[tokio::test]
async fn an_answer_too_big_for_udp_is_fetched_over_tcp() {
    let f = Fixture::empty().await;
    // A 3000-byte key: the TXT outgrows the resolver's 1232-byte EDNS buffer.
    let key = "K".repeat(3000);
    let expected = expected_records(DOMAIN, &key, &settings(), false);
    for e in &expected {
        f.zones.add(e.record.clone());
    }
    let udp = ask_udp(f.addr, "ig1._domainkey.example.com", WireType::TXT, true).await;
    assert!(udp.metadata.truncation, "UDP answer should be truncated");

    let checks = f.checker.check(DOMAIN, &expected).await.unwrap();
    let dkim = checks
        .iter()
        .find(|c| c.purpose == RecordPurpose::Dkim)
        .unwrap();
    assert_eq!(dkim.status, CheckStatus::Ok, "{:?}", dkim.fix);
    assert_eq!(dkim.found[0].len(), "v=DKIM1; k=rsa; p=".len() + 3000);
}

#[tokio::test]
async fn a_nameserver_that_never_answers_is_an_error_not_a_missing_record() {
    // Bound but silent: UDP is never read, TCP connections are never accepted.
    let udp = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = udp.local_addr().unwrap();
    let _tcp = tokio::net::TcpListener::bind(addr).await.ok();
    let checker = DnsChecker::with_nameserver(addr, Duration::from_millis(300)).unwrap();
    let expected = expected_records(DOMAIN, "KEY", &settings(), false);

    let started = std::time::Instant::now();
    let err = checker.check(DOMAIN, &expected).await.unwrap_err();
    assert!(err.is_timeout(), "{err}");
    assert!(started.elapsed() < Duration::from_secs(5));
}

#[tokio::test]
async fn the_listener_answers_nxdomain_nodata_and_refused_as_an_authority_should() {
    let f = Fixture::correct().await;

    let nxdomain = ask_udp(f.addr, "nope.example.com", WireType::TXT, false).await;
    assert_eq!(nxdomain.metadata.response_code, ResponseCode::NXDomain);
    assert!(nxdomain.metadata.authoritative);
    assert!(matches!(nxdomain.authorities[0].data, RData::SOA(_)));

    // The apex exists (MX, TXT) but has no A record: NODATA.
    let nodata = ask_udp(f.addr, "example.com", WireType::A, false).await;
    assert_eq!(nodata.metadata.response_code, ResponseCode::NoError);
    assert!(nodata.answers.is_empty());
    assert!(matches!(nodata.authorities[0].data, RData::SOA(_)));

    // An empty non-terminal exists too.
    let ent = ask_udp(f.addr, "_domainkey.example.com", WireType::TXT, false).await;
    assert_eq!(ent.metadata.response_code, ResponseCode::NoError);

    let refused = ask_udp(f.addr, "example.org", WireType::MX, false).await;
    assert_eq!(refused.metadata.response_code, ResponseCode::Refused);
    assert!(!refused.metadata.authoritative);

    // A TXT question at an alias gets the alias.
    let alias = ask_udp(f.addr, "track.example.com", WireType::TXT, false).await;
    assert!(
        matches!(&alias.answers[0].data, RData::CNAME(c) if c.0.to_ascii() == "track.inboxgrove.net.")
    );

    let over_tcp = ask_tcp(f.addr, "example.com", WireType::MX).await;
    assert_eq!(over_tcp.answers.len(), 2);
    assert!(over_tcp.metadata.authoritative);
}

fn query(name: &str, kind: WireType, edns: bool) -> Vec<u8> {
    let mut msg = Message::new(4321, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(Name::from_ascii(name).unwrap(), kind));
    if edns {
        let mut e = Edns::new();
        e.set_max_payload(1232);
        msg.set_edns(e);
    }
    msg.to_vec().unwrap()
}

async fn ask_udp(addr: SocketAddr, name: &str, kind: WireType, edns: bool) -> Message {
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&query(name, kind, edns), addr)
        .await
        .unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), socket.recv_from(&mut buf))
        .await
        .expect("an answer over UDP")
        .unwrap();
    Message::from_vec(&buf[..n]).unwrap()
}

async fn ask_tcp(addr: SocketAddr, name: &str, kind: WireType) -> Message {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let q = query(name, kind, false);
    stream
        .write_all(&(q.len() as u16).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&q).await.unwrap();
    let len = stream.read_u16().await.unwrap() as usize;
    let mut buf = vec![0u8; len];
    stream.read_exact(&mut buf).await.unwrap();
    Message::from_vec(&buf).unwrap()
}
