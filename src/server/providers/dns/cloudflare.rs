//! The real Cloudflare v4 client (zones and DNS records), on reqwest.
//!
//! Every call is one HTTP attempt; the caller retries after `RateLimited`/`Unavailable`, and
//! every operation is safe to repeat: creating a zone that exists returns it, an upsert
//! updates the record it would otherwise duplicate, deleting a record that is gone succeeds.
//!
//! The API token is only ever inside a sensitive default header of the HTTP client: it is in
//! no field, error or log line of ours.

use std::fmt;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderValue, RETRY_AFTER};
use reqwest::{Method, StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{DnsError, DnsProvider, DnsRecord, RecordType, Zone};

/// Per-request budget.
const TIMEOUT: Duration = Duration::from_secs(20);

pub use crate::server::config::providers::CLOUDFLARE_API_BASE as DEFAULT_API_BASE;

/// Records per page when listing (Cloudflare's default is 100 for DNS records, 20 for zones).
const PER_PAGE: u32 = 100;

/// A guard against a server that keeps announcing more pages.
const MAX_PAGES: u32 = 500;

/// `POST /zones` for a name already on Cloudflare: "example.com already exists."
const ZONE_EXISTS: i64 = 1061;
/// `POST .../dns_records`: "The record already exists." / "An identical record already exists."
const RECORD_EXISTS: [i64; 2] = [81057, 81058];
/// `DELETE .../dns_records/{id}` (HTTP 404): "Record does not exist."
const RECORD_MISSING: i64 = 81044;
/// A malformed `Authorization` header comes back as HTTP 400 "Invalid request headers"
/// (with 6111 "Invalid format for Authorization header" in its `error_chain`), not 401/403.
const INVALID_REQUEST_HEADERS: i64 = 6003;

/// The TXT character-string limit (RFC 1035 §3.3): longer text is sent as several strings.
const TXT_STRING_MAX: usize = 255;

pub use crate::server::config::providers::CloudflareSettings;

pub struct CloudflareClient {
    http: reqwest::Client,
    api_base: Url,
    account_id: String,
}

/// Never prints the token (the inner client, which holds it, is left out).
impl fmt::Debug for CloudflareClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CloudflareClient")
            .field("api_base", &self.api_base.as_str())
            .field("account_id", &self.account_id)
            .finish_non_exhaustive()
    }
}

impl CloudflareClient {
    pub fn new(settings: CloudflareSettings, api_token: &SecretString) -> anyhow::Result<Self> {
        let api_base = Url::parse(&settings.api_base)
            .with_context(|| format!("the Cloudflare API base {:?}", settings.api_base))?;
        anyhow::ensure!(
            matches!(api_base.scheme(), "https" | "http") && !api_base.cannot_be_a_base(),
            "the Cloudflare API base must be an http(s) URL (got {:?})",
            settings.api_base
        );
        anyhow::ensure!(
            !settings.account_id.trim().is_empty(),
            "the Cloudflare account id is empty"
        );
        anyhow::ensure!(
            !api_token.expose_secret().trim().is_empty(),
            "the Cloudflare API token is empty"
        );

        let mut bearer = HeaderValue::from_str(&format!("Bearer {}", api_token.expose_secret()))
            // The error names the problem, never the token.
            .map_err(|_| {
                anyhow!("the Cloudflare API token has characters not allowed in a header")
            })?;
        bearer.set_sensitive(true);
        let mut headers = HeaderMap::new();
        headers.insert(AUTHORIZATION, bearer);

        let http = reqwest::Client::builder()
            .default_headers(headers)
            .timeout(TIMEOUT)
            .user_agent(concat!("inboxgrove/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|err| anyhow!("building the Cloudflare client: {err}"))?;
        Ok(Self {
            http,
            api_base,
            account_id: settings.account_id,
        })
    }

    /// The API base plus these path segments, each percent-encoded.
    fn url(&self, segments: &[&str]) -> Url {
        let mut url = self.api_base.clone();
        url.path_segments_mut()
            .expect("checked in new: the base can be a base")
            .pop_if_empty()
            .extend(segments);
        url
    }

    /// One request; the envelope's `result` as `T`, and its `result_info` for lists.
    async fn call<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        method: Method,
        url: Url,
        query: &[(&str, String)],
        body: Option<&Value>,
    ) -> Result<(T, Option<ResultInfo>), DnsError> {
        let mut request = self.http.request(method, url).query(query);
        if let Some(body) = body {
            request = request.json(body);
        }
        let result = match request.send().await {
            Ok(response) => read_response(response).await,
            Err(err) => Err(transport_error(err)),
        };
        match result {
            Ok(envelope) => {
                let info = envelope.result_info;
                let value = envelope.result.unwrap_or(Value::Null);
                let parsed = serde_json::from_value(value).map_err(|err| {
                    log_failure(
                        operation,
                        DnsError::Unexpected(anyhow!("unreadable Cloudflare result: {err}")),
                    )
                })?;
                Ok((parsed, info))
            }
            Err(err) => Err(log_failure(operation, err)),
        }
    }

    /// Every page of a list (`page`/`per_page`, until `result_info.total_pages`).
    async fn list_all<T: DeserializeOwned>(
        &self,
        operation: &'static str,
        url: Url,
        filters: &[(&str, String)],
    ) -> Result<Vec<T>, DnsError> {
        let mut all = Vec::new();
        for page in 1..=MAX_PAGES {
            let mut query = filters.to_vec();
            query.push(("page", page.to_string()));
            query.push(("per_page", PER_PAGE.to_string()));
            let (items, info): (Vec<T>, _) = self
                .call(operation, Method::GET, url.clone(), &query, None)
                .await?;
            let received = items.len();
            all.extend(items);
            let more = match info {
                Some(ResultInfo {
                    total_pages: Some(total),
                    ..
                }) => page < total,
                // No page count: a full page may have a successor.
                Some(ResultInfo { per_page, .. }) => {
                    received > 0 && received >= per_page.unwrap_or(PER_PAGE) as usize
                }
                None => false,
            };
            if !more {
                return Ok(all);
            }
        }
        Err(log_failure(
            operation,
            DnsError::Unexpected(anyhow!("Cloudflare announced more than {MAX_PAGES} pages")),
        ))
    }

    async fn records_named(
        &self,
        zone_id: &str,
        kind: RecordType,
        name: &str,
    ) -> Result<Vec<DnsRecord>, DnsError> {
        let raw: Vec<RawRecord> = self
            .list_all(
                "list_records",
                self.url(&["zones", zone_id, "dns_records"]),
                &[
                    ("type", kind.as_str().to_owned()),
                    ("name", name.to_owned()),
                ],
            )
            .await?;
        // Filtered again here: the match rules must not depend on the server's filtering.
        Ok(raw
            .into_iter()
            .filter_map(RawRecord::into_record)
            .filter(|r| r.kind == kind && same_name(&r.name, name))
            .collect())
    }

    async fn write_record(
        &self,
        zone_id: &str,
        existing_id: Option<&str>,
        record: &DnsRecord,
    ) -> Result<DnsRecord, DnsError> {
        let body = record_body(record);
        let (method, url) = match existing_id {
            Some(id) => (
                Method::PUT,
                self.url(&["zones", zone_id, "dns_records", id]),
            ),
            None => (Method::POST, self.url(&["zones", zone_id, "dns_records"])),
        };
        let (raw, _): (RawRecord, _) = self
            .call("upsert_record", method, url, &[], Some(&body))
            .await?;
        let kind = raw.kind.clone();
        raw.into_record().ok_or_else(|| {
            DnsError::Unexpected(anyhow!(
                "Cloudflare answered a {} upsert with a {kind} record",
                record.kind.as_str()
            ))
        })
    }
}

#[async_trait]
impl DnsProvider for CloudflareClient {
    fn name(&self) -> &'static str {
        "cloudflare"
    }

    async fn create_zone(&self, name: &str) -> Result<Zone, DnsError> {
        let name = normalize_name(name);
        let body = json!({
            "account": { "id": self.account_id },
            "name": name,
            "type": "full",
        });
        let created: Result<(RawZone, _), _> = self
            .call(
                "create_zone",
                Method::POST,
                self.url(&["zones"]),
                &[],
                Some(&body),
            )
            .await;
        match created {
            Ok((zone, _)) => Ok(zone.into()),
            Err(DnsError::Refused {
                code: Some(ZONE_EXISTS),
                message,
            }) => match self.find_zone(&name).await? {
                Some(zone) => Ok(zone),
                // It exists, but not in our account: nothing of ours to return.
                None => Err(DnsError::Refused {
                    code: Some(ZONE_EXISTS),
                    message,
                }),
            },
            Err(err) => Err(err),
        }
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>, DnsError> {
        let name = normalize_name(name);
        let zones: Vec<RawZone> = self
            .list_all(
                "find_zone",
                self.url(&["zones"]),
                &[
                    ("name", name.clone()),
                    ("account.id", self.account_id.clone()),
                ],
            )
            .await?;
        Ok(zones
            .into_iter()
            .find(|zone| same_name(&zone.name, &name))
            .map(Zone::from))
    }

    async fn list_records(&self, zone_id: &str) -> Result<Vec<DnsRecord>, DnsError> {
        let raw: Vec<RawRecord> = self
            .list_all(
                "list_records",
                self.url(&["zones", zone_id, "dns_records"]),
                &[],
            )
            .await?;
        // Types the trait cannot express (NS, AAAA, SRV, CAA…) are left out.
        Ok(raw.into_iter().filter_map(RawRecord::into_record).collect())
    }

    async fn upsert_record(
        &self,
        zone_id: &str,
        record: &DnsRecord,
    ) -> Result<DnsRecord, DnsError> {
        if record.kind == RecordType::Mx && record.priority.is_none() {
            return Err(DnsError::Unexpected(anyhow!(
                "an MX record for {} needs a priority",
                record.name
            )));
        }
        let existing = self
            .records_named(zone_id, record.kind, &record.name)
            .await?;
        if let Some(current) = existing.iter().find(|r| same_slot(r, record)) {
            if same_value(current, record) {
                return Ok(current.clone());
            }
            let id = current.id.as_deref().unwrap_or_default();
            return self.write_record(zone_id, Some(id), record).await;
        }

        match self.write_record(zone_id, None, record).await {
            // Someone created it between our list and our create: update that one instead.
            Err(DnsError::Refused {
                code: Some(code),
                message,
            }) if RECORD_EXISTS.contains(&code) => {
                let existing = self
                    .records_named(zone_id, record.kind, &record.name)
                    .await?;
                match existing.iter().find(|r| same_slot(r, record)) {
                    Some(current) if same_value(current, record) => Ok(current.clone()),
                    Some(current) => {
                        let id = current.id.as_deref().unwrap_or_default();
                        self.write_record(zone_id, Some(id), record).await
                    }
                    // It clashes with a record our rules don't count as the same one.
                    None => Err(DnsError::Refused {
                        code: Some(code),
                        message,
                    }),
                }
            }
            other => other,
        }
    }

    async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<(), DnsError> {
        let deleted: Result<(Value, _), _> = self
            .call(
                "delete_record",
                Method::DELETE,
                self.url(&["zones", zone_id, "dns_records", record_id]),
                &[],
                None,
            )
            .await;
        match deleted {
            // Already gone, e.g. a retry after our first DELETE's answer was lost.
            Ok(_)
            | Err(DnsError::Refused {
                code: Some(RECORD_MISSING),
                ..
            }) => Ok(()),
            Err(err) => Err(err),
        }
    }
}

// ---- wire types ----------------------------------------------------------------------------

/// `{"success", "errors", "messages", "result", "result_info"}`; `result` is read later, as
/// the caller's type, so a failure's `errors` are read whatever its `result` holds.
#[derive(Debug, Deserialize)]
struct Envelope {
    success: bool,
    #[serde(default)]
    errors: Vec<ApiMessage>,
    /// Notices (e.g. deprecations) next to a result: read, not acted on.
    #[serde(default)]
    #[expect(dead_code, reason = "typed for completeness; nothing acts on notices")]
    messages: Vec<ApiMessage>,
    #[serde(default)]
    result: Option<Value>,
    #[serde(default)]
    result_info: Option<ResultInfo>,
}

#[derive(Debug, Deserialize)]
struct ApiMessage {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: String,
}

#[derive(Clone, Copy, Debug, Deserialize)]
struct ResultInfo {
    #[serde(default)]
    per_page: Option<u32>,
    #[serde(default)]
    total_pages: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct RawZone {
    id: String,
    name: String,
    #[serde(default)]
    name_servers: Vec<String>,
    status: String,
}

impl From<RawZone> for Zone {
    fn from(zone: RawZone) -> Self {
        Self {
            id: zone.id,
            name: normalize_name(&zone.name),
            nameservers: zone.name_servers,
            status: zone.status,
        }
    }
}

#[derive(Debug, Deserialize)]
struct RawRecord {
    id: String,
    #[serde(rename = "type")]
    kind: String,
    name: String,
    #[serde(default)]
    content: String,
    #[serde(default)]
    priority: Option<u16>,
    ttl: u32,
}

impl RawRecord {
    /// `None` for a type the trait has no variant for.
    fn into_record(self) -> Option<DnsRecord> {
        let kind = match self.kind.as_str() {
            "A" => RecordType::A,
            "CNAME" => RecordType::Cname,
            "MX" => RecordType::Mx,
            "TXT" => RecordType::Txt,
            _ => return None,
        };
        let content = if kind == RecordType::Txt {
            unquote_txt(&self.content)
        } else {
            self.content
        };
        Some(DnsRecord {
            id: Some(self.id),
            kind,
            name: self.name,
            content,
            priority: if kind == RecordType::Mx {
                self.priority
            } else {
                None
            },
            ttl: self.ttl,
        })
    }
}

#[derive(Serialize)]
struct RecordBody<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    name: &'a str,
    content: String,
    ttl: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    priority: Option<u16>,
    /// Only A/AAAA/CNAME can be proxied; mail-related names must resolve to us, not to
    /// Cloudflare's edge.
    #[serde(skip_serializing_if = "Option::is_none")]
    proxied: Option<bool>,
}

fn record_body(record: &DnsRecord) -> Value {
    let body = RecordBody {
        kind: record.kind.as_str(),
        name: &record.name,
        content: match record.kind {
            RecordType::Txt => quote_txt(&record.content),
            _ => record.content.clone(),
        },
        ttl: record.ttl,
        priority: match record.kind {
            RecordType::Mx => record.priority,
            _ => None,
        },
        proxied: match record.kind {
            RecordType::A | RecordType::Cname => Some(false),
            _ => None,
        },
    };
    serde_json::to_value(body).expect("a record body is plain JSON")
}

// ---- responses and errors ------------------------------------------------------------------

async fn read_response(response: reqwest::Response) -> Result<Envelope, DnsError> {
    let status = response.status();
    if status == StatusCode::TOO_MANY_REQUESTS {
        let retry_after_secs = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        return Err(DnsError::RateLimited { retry_after_secs });
    }
    let body = response.bytes().await.map_err(transport_error)?;
    let envelope = serde_json::from_slice::<Envelope>(&body).ok();
    let cloudflare_says = envelope
        .as_ref()
        .map(|e| joined(&e.errors))
        .filter(|m| !m.is_empty())
        .unwrap_or_else(|| "no Cloudflare error in the body".to_owned());
    let summary = || anyhow!("Cloudflare answered {status}: {cloudflare_says}");

    if status.is_server_error() {
        return Err(DnsError::Unavailable(summary()));
    }
    let Some(envelope) = envelope else {
        return Err(DnsError::Unexpected(if status.is_success() {
            anyhow!("Cloudflare answered {status} with a body that is not its envelope")
        } else {
            summary()
        }));
    };
    // A bad, revoked or under-privileged token: our misconfiguration, not the customer's.
    if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN)
        || envelope
            .errors
            .iter()
            .any(|e| e.code == Some(INVALID_REQUEST_HEADERS))
    {
        return Err(DnsError::Unexpected(summary()));
    }
    if envelope.success && status.is_success() {
        return Ok(envelope);
    }
    // (A 2xx here is a `success: false` envelope.)
    if !envelope.success && (status.is_client_error() || status.is_success()) {
        let message = joined(&envelope.errors);
        return Err(DnsError::Refused {
            code: envelope.errors.iter().find_map(|e| e.code),
            message: if message.is_empty() {
                format!("Cloudflare refused the request ({status})")
            } else {
                message
            },
        });
    }
    Err(DnsError::Unexpected(summary()))
}

/// Cloudflare's messages, joined when there are several.
fn joined(errors: &[ApiMessage]) -> String {
    errors
        .iter()
        .map(|e| e.message.trim())
        .filter(|m| !m.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

fn transport_error(err: reqwest::Error) -> DnsError {
    if err.is_builder() {
        DnsError::Unexpected(anyhow!("building the Cloudflare request: {err}"))
    } else if err.is_timeout() {
        DnsError::Unavailable(anyhow!("Cloudflare did not answer within {TIMEOUT:?}"))
    } else {
        // reqwest's message names the URL (no secret in it), never the headers.
        DnsError::Unavailable(anyhow!("communicating with Cloudflare: {err}"))
    }
}

fn log_failure(operation: &'static str, err: DnsError) -> DnsError {
    match &err {
        DnsError::Refused { code, message } => {
            tracing::info!(operation, code = *code, %message, "cloudflare refused the request");
        }
        DnsError::RateLimited { retry_after_secs } => {
            tracing::warn!(
                operation,
                retry_after_secs = *retry_after_secs,
                "cloudflare is rate limiting us"
            );
        }
        other => tracing::warn!(operation, error = %format!("{other:#}"), "cloudflare call failed"),
    }
    err
}

// ---- names and record matching -------------------------------------------------------------

fn normalize_name(name: &str) -> String {
    name.trim().trim_end_matches('.').to_ascii_lowercase()
}

fn same_name(a: &str, b: &str) -> bool {
    a.trim_end_matches('.')
        .eq_ignore_ascii_case(b.trim_end_matches('.'))
}

/// The record `wanted` replaces: same type and name (checked by the caller), and for MX the
/// same priority, for TXT the same leading tag (`v=spf1`, `v=DMARC1`, `v=DKIM1`) or, for
/// untagged text, the same text.
fn same_slot(existing: &DnsRecord, wanted: &DnsRecord) -> bool {
    if existing.kind != wanted.kind || !same_name(&existing.name, &wanted.name) {
        return false;
    }
    match wanted.kind {
        RecordType::Mx => existing.priority == wanted.priority,
        RecordType::Txt => match txt_tag(&wanted.content) {
            Some(tag) => txt_tag(&existing.content).is_some_and(|t| t.eq_ignore_ascii_case(tag)),
            None => existing.content == wanted.content,
        },
        RecordType::A | RecordType::Cname => true,
    }
}

/// Nothing to write: Cloudflare already has exactly this.
fn same_value(existing: &DnsRecord, wanted: &DnsRecord) -> bool {
    let content = match wanted.kind {
        RecordType::Txt => existing.content == wanted.content,
        // Host names and addresses compare without case or a trailing dot.
        _ => same_name(&existing.content, &wanted.content),
    };
    content && existing.ttl == wanted.ttl && existing.priority == wanted.priority
}

/// `v=spf1` in `v=spf1 include:… ~all`, `v=DMARC1` in `v=DMARC1; p=none`.
fn txt_tag(text: &str) -> Option<&str> {
    let first = text
        .trim_start()
        .split(|c: char| c == ';' || c.is_whitespace())
        .next()?;
    let is_version =
        first.len() > 2 && first.get(..2).is_some_and(|p| p.eq_ignore_ascii_case("v="));
    is_version.then_some(first)
}

// ---- TXT quoting ---------------------------------------------------------------------------

/// Cloudflare wants TXT content as quoted RFC 1035 character strings of at most 255 bytes
/// each (`"v=DKIM1; k=rsa; p=…" "…rest"`); it stores and returns them quoted. It would split
/// unquoted long text itself, but then where it splits is its choice, not ours.
fn quote_txt(text: &str) -> String {
    let mut strings = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if current.len() + c.len_utf8() > TXT_STRING_MAX {
            strings.push(std::mem::take(&mut current));
        }
        current.push(c);
    }
    if !current.is_empty() || strings.is_empty() {
        strings.push(current);
    }
    strings
        .iter()
        .map(|s| {
            let escaped = s.replace('\\', "\\\\").replace('"', "\\\"");
            format!("\"{escaped}\"")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The text of quoted character strings, joined (`"a" "b"` → `ab`, with `\"`, `\\` and
/// `\DDD` unescaped). Content that is not quoted (records from before Cloudflare quoted
/// everything) is returned as it is.
fn unquote_txt(content: &str) -> String {
    let trimmed = content.trim();
    if !trimmed.starts_with('"') {
        return content.to_owned();
    }
    let bytes = trimmed.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b' ' | b'\t' => i += 1,
            b'"' => {
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => return content.to_owned(),
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let digits = bytes
                                .get(i + 1..i + 4)
                                .filter(|d| d.iter().all(u8::is_ascii_digit));
                            if let Some(value) = digits
                                .and_then(|d| std::str::from_utf8(d).ok())
                                .and_then(|d| d.parse::<u8>().ok())
                            {
                                out.push(value);
                                i += 4;
                            } else if let Some(&escaped) = bytes.get(i + 1) {
                                out.push(escaped);
                                i += 2;
                            } else {
                                return content.to_owned();
                            }
                        }
                        Some(&byte) => {
                            out.push(byte);
                            i += 1;
                        }
                    }
                }
            }
            // Text outside quotes: not a list of character strings after all.
            _ => return content.to_owned(),
        }
    }
    String::from_utf8(out).unwrap_or_else(|_| content.to_owned())
}
