//! A small authoritative DNS listener (UDP and TCP) answering from a [`ZoneSource`].
//!
//! In sandbox mode the app serves its sandbox zones through it, so the very same
//! [`DnsChecker`](super::DnsChecker) that checks real domains runs offline; tests serve an
//! in-memory zone. It answers A, CNAME, MX and TXT (and the zone's SOA), sets the AA bit,
//! answers NXDOMAIN for names that do not exist and NODATA (NOERROR, no answers) for names
//! without the asked type, both with the SOA for negative caching, and REFUSED outside its zones.
//! Long TXT values go out as 255-byte character-strings.
//!
//! Built on hickory-server's `Server`, which already does the wire work worth not rewriting:
//! UDP and TCP framing, per-connection TCP timeouts, EDNS payload sizes and the TC bit when an
//! answer outgrows a UDP packet (so the resolver retries over TCP).

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::rdata::{A, CNAME, MX, SOA, TXT};
use hickory_server::proto::rr::{Name, RData, Record, RecordType as WireType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use tokio::net::{TcpListener, UdpSocket};
use tokio::task::JoinHandle;

use super::expected::normalize_name;
use crate::server::dns::records::{DnsRecord, RecordType};

/// The SOA minimum, i.e. how long a resolver may remember that a name or record does not
/// exist. Short, so a record added in the sandbox is seen at once by any caching resolver.
pub const NEGATIVE_TTL: u32 = 30;

/// How many CNAMEs in a row are followed inside our zones.
const MAX_CNAME_CHAIN: usize = 8;

/// Where the listener's answers come from. Names are lower case, without the trailing dot.
///
/// Both methods are async and fallible because the sandbox's source is Postgres: an error
/// becomes SERVFAIL, never a false NXDOMAIN (which the checker would report as Missing).
#[async_trait]
pub trait ZoneSource: Send + Sync + 'static {
    /// True when `name` is at or below the apex of a zone this source serves.
    async fn is_authoritative(&self, name: &str) -> anyhow::Result<bool>;

    /// The records of type `kind` at exactly `name`.
    async fn records(&self, name: &str, kind: RecordType) -> anyhow::Result<Vec<DnsRecord>>;

    /// True when `name` has records of any type (NODATA rather than NXDOMAIN). The default asks
    /// for every type; sources that can do better (and know empty non-terminals such as
    /// `_domainkey.example.com`) should.
    async fn name_exists(&self, name: &str) -> anyhow::Result<bool> {
        for kind in [
            RecordType::A,
            RecordType::Cname,
            RecordType::Mx,
            RecordType::Txt,
        ] {
            if !self.records(name, kind).await?.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}

/// Zones held in memory: for tests and for trying the checker by hand.
#[derive(Debug, Default)]
pub struct MemoryZones {
    zones: RwLock<BTreeSet<String>>,
    records: RwLock<Vec<DnsRecord>>,
}

impl MemoryZones {
    pub fn new() -> Self {
        Self::default()
    }

    /// Serve the zone whose apex is `apex` (it starts empty).
    pub fn add_zone(&self, apex: &str) {
        self.zones
            .write()
            .expect("zones lock")
            .insert(normalize_name(apex));
    }

    pub fn add(&self, mut record: DnsRecord) {
        record.name = normalize_name(&record.name);
        self.records.write().expect("records lock").push(record);
    }

    /// Removes every record of `kind` at `name`.
    pub fn remove(&self, name: &str, kind: RecordType) {
        let name = normalize_name(name);
        self.records
            .write()
            .expect("records lock")
            .retain(|r| !(r.name == name && r.kind == kind));
    }
}

#[async_trait]
impl ZoneSource for MemoryZones {
    async fn is_authoritative(&self, name: &str) -> anyhow::Result<bool> {
        let zones = self.zones.read().expect("zones lock");
        Ok(zones.iter().any(|z| is_at_or_below(name, z)))
    }

    async fn records(&self, name: &str, kind: RecordType) -> anyhow::Result<Vec<DnsRecord>> {
        let records = self.records.read().expect("records lock");
        Ok(records
            .iter()
            .filter(|r| r.name == name && r.kind == kind)
            .cloned()
            .collect())
    }

    async fn name_exists(&self, name: &str) -> anyhow::Result<bool> {
        let records = self.records.read().expect("records lock");
        Ok(records.iter().any(|r| is_at_or_below(&r.name, name)))
    }
}

fn is_at_or_below(name: &str, apex: &str) -> bool {
    name == apex
        || name
            .strip_suffix(apex)
            .is_some_and(|rest| rest.ends_with('.'))
}

/// A TXT value as DNS carries it: character-strings of at most 255 bytes (RFC 1035 §3.3),
/// at least one. Readers join them back without separators (RFC 7208 §3.3, RFC 6376 §3.6.2.2).
pub fn txt_strings(value: &str) -> Vec<&[u8]> {
    if value.is_empty() {
        return vec![&[]];
    }
    value.as_bytes().chunks(255).collect()
}

/// Binds `addr` over UDP and TCP (the same port; with port 0 an ephemeral one free for both)
/// and serves `source` until the handle is aborted. Returns the bound address.
pub async fn spawn(
    addr: SocketAddr,
    source: Arc<dyn ZoneSource>,
) -> std::io::Result<(SocketAddr, JoinHandle<anyhow::Result<()>>)> {
    let (udp, tcp) = bind_pair(addr).await?;
    let local = udp.local_addr()?;
    let mut server = Server::new(Authority { source });
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 32);
    let handle = tokio::spawn(async move {
        // Aborting this task drops the server, which stops every listener task it spawned.
        server
            .block_until_done()
            .await
            .map_err(|e| anyhow::anyhow!("the authoritative DNS listener stopped: {e}"))
    });
    tracing::info!(%local, "authoritative DNS listener started");
    Ok((local, handle))
}

async fn bind_pair(addr: SocketAddr) -> std::io::Result<(UdpSocket, TcpListener)> {
    let mut tries = 0;
    loop {
        let udp = UdpSocket::bind(addr).await?;
        let bound = udp.local_addr()?;
        match TcpListener::bind(bound).await {
            Ok(tcp) => return Ok((udp, tcp)),
            // The ephemeral UDP port is taken for TCP: pick another.
            Err(e) if addr.port() == 0 && tries < 10 => {
                tries += 1;
                tracing::debug!(%bound, error = %e, "TCP port taken, trying another");
            }
            Err(e) => return Err(e),
        }
    }
}

struct Authority {
    source: Arc<dyn ZoneSource>,
}

/// What to send back for one question.
#[derive(Debug, Default)]
struct Outcome {
    code: ResponseCode,
    authoritative: bool,
    answers: Vec<Record>,
    authorities: Vec<Record>,
}

#[async_trait]
impl RequestHandler for Authority {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response_handle: R,
    ) -> ResponseInfo {
        let response_edns = request.edns.as_ref().map(|req| {
            let mut edns = Edns::new();
            edns.set_max_payload(req.max_payload().max(512));
            edns.set_version(0);
            edns
        });
        let outcome = if request.metadata.message_type != MessageType::Query {
            refusal(ResponseCode::FormErr)
        } else if request.metadata.op_code != OpCode::Query {
            refusal(ResponseCode::NotImp)
        } else {
            match request.request_info() {
                Err(_) => refusal(ResponseCode::FormErr),
                Ok(info) => {
                    let qname = info.query.original().name().clone();
                    let qtype = info.query.query_type();
                    self.answer(&qname, qtype).await.unwrap_or_else(|e| {
                        tracing::warn!(error = %e, %qname, %qtype, "zone source failed");
                        refusal(ResponseCode::ServFail)
                    })
                }
            }
        };

        let mut metadata = Metadata::response_from_request(&request.metadata);
        metadata.authoritative = outcome.authoritative;
        metadata.response_code = outcome.code;
        let response = MessageResponseBuilder::new(&request.queries, response_edns.as_ref()).build(
            metadata,
            outcome.answers.iter(),
            outcome.authorities.iter(),
            std::iter::empty(),
            std::iter::empty(),
        );
        match response_handle.send_response(response).await {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(error = %e, "could not send a DNS response");
                metadata.response_code = ResponseCode::ServFail;
                ResponseInfo::from(Header {
                    metadata,
                    counts: HeaderCounts::default(),
                })
            }
        }
    }
}

fn refusal(code: ResponseCode) -> Outcome {
    Outcome {
        code,
        ..Outcome::default()
    }
}

impl Authority {
    async fn answer(&self, qname: &Name, qtype: WireType) -> anyhow::Result<Outcome> {
        let name = normalize_name(&qname.to_ascii());
        let Some(apex) = self.apex_of(&name).await? else {
            return Ok(refusal(ResponseCode::Refused));
        };
        let soa = soa_record(&apex)?;
        let mut outcome = Outcome {
            authoritative: true,
            ..Outcome::default()
        };

        if qtype == WireType::SOA && name == apex {
            outcome.answers.push(soa);
            return Ok(outcome);
        }

        let kinds: Vec<RecordType> = match qtype {
            WireType::A => vec![RecordType::A],
            WireType::CNAME => vec![RecordType::Cname],
            WireType::MX => vec![RecordType::Mx],
            WireType::TXT => vec![RecordType::Txt],
            WireType::ANY => vec![
                RecordType::A,
                RecordType::Cname,
                RecordType::Mx,
                RecordType::Txt,
            ],
            _ => vec![],
        };
        for kind in &kinds {
            for r in self.source.records(&name, *kind).await? {
                outcome.answers.extend(to_wire(qname, &r));
            }
        }
        if !outcome.answers.is_empty() {
            return Ok(outcome);
        }

        // An alias answers every type (RFC 1034 §3.6.2); follow it while it stays in our zones.
        if qtype != WireType::CNAME {
            let mut owner = qname.clone();
            let mut current = name.clone();
            for _ in 0..MAX_CNAME_CHAIN {
                let Some(alias) = self
                    .source
                    .records(&current, RecordType::Cname)
                    .await?
                    .into_iter()
                    .next()
                else {
                    break;
                };
                outcome.answers.extend(to_wire(&owner, &alias));
                current = normalize_name(&alias.content);
                owner = fqdn(&current)?;
                if !self.source.is_authoritative(&current).await? {
                    break;
                }
                for kind in &kinds {
                    for r in self.source.records(&current, *kind).await? {
                        outcome.answers.extend(to_wire(&owner, &r));
                    }
                }
            }
            if !outcome.answers.is_empty() {
                return Ok(outcome);
            }
        }

        if name != apex && !self.source.name_exists(&name).await? {
            outcome.code = ResponseCode::NXDomain;
        }
        outcome.authorities.push(soa);
        Ok(outcome)
    }

    /// The apex of the zone `name` is in: the shortest suffix the source is authoritative for.
    async fn apex_of(&self, name: &str) -> anyhow::Result<Option<String>> {
        if !self.source.is_authoritative(name).await? {
            return Ok(None);
        }
        let labels: Vec<&str> = name.split('.').collect();
        for start in (0..labels.len()).rev() {
            let candidate = labels[start..].join(".");
            if self.source.is_authoritative(&candidate).await? {
                return Ok(Some(candidate));
            }
        }
        Ok(Some(name.to_string()))
    }
}

fn fqdn(name: &str) -> anyhow::Result<Name> {
    Name::from_ascii(format!("{}.", normalize_name(name)))
        .map_err(|e| anyhow::anyhow!("{name:?} is not a DNS name: {e}"))
}

fn soa_record(apex: &str) -> anyhow::Result<Record> {
    let serial = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as u32)
        .unwrap_or(1);
    let soa = SOA::new(
        fqdn(&format!("ns.{apex}"))?,
        fqdn(&format!("hostmaster.{apex}"))?,
        serial,
        3600,
        600,
        86400,
        NEGATIVE_TTL,
    );
    Ok(Record::from_rdata(
        fqdn(apex)?,
        NEGATIVE_TTL,
        RData::SOA(soa),
    ))
}

/// One stored record as it goes on the wire, owned by `owner` (the name as asked, to keep its
/// case). A record whose content does not parse is left out and logged.
fn to_wire(owner: &Name, r: &DnsRecord) -> Option<Record> {
    let rdata = match r.kind {
        RecordType::A => r.content.parse().ok().map(|ip| RData::A(A(ip))),
        RecordType::Cname => fqdn(&r.content).ok().map(|n| RData::CNAME(CNAME(n))),
        RecordType::Mx => fqdn(&r.content)
            .ok()
            .map(|n| RData::MX(MX::new(r.priority.unwrap_or(10), n))),
        RecordType::Txt => Some(RData::TXT(TXT::from_bytes(txt_strings(&r.content)))),
    };
    match rdata {
        Some(rdata) => Some(Record::from_rdata(owner.clone(), r.ttl, rdata)),
        None => {
            tracing::warn!(name = %r.name, kind = r.kind.as_str(), content = %r.content, "unservable record skipped");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_long_txt_value_is_split_into_255_byte_strings_that_join_back_whole() {
        let value = "p=".to_string() + &"A".repeat(600);
        let parts = txt_strings(&value);
        assert_eq!(
            parts.iter().map(|p| p.len()).collect::<Vec<_>>(),
            [255, 255, 92]
        );
        assert_eq!(super::super::checker::join_txt(parts), value);
        assert_eq!(txt_strings(""), [b"" as &[u8]]);
    }

    #[test]
    fn a_name_is_inside_a_zone_only_on_a_label_boundary() {
        assert!(is_at_or_below("example.com", "example.com"));
        assert!(is_at_or_below("_dmarc.example.com", "example.com"));
        assert!(!is_at_or_below("badexample.com", "example.com"));
    }
}
