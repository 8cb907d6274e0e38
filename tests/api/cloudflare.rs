//! The real Cloudflare v4 client against a local fake Cloudflare (wiremock).
//!
//! Bodies are Cloudflare's own shapes (docs/providers.md §2): the `success`/`errors`/
//! `messages`/`result`/`result_info` envelope around a zone (`fixtures/cloudflare/zone.json`,
//! a freshly created, still pending full zone) or a DNS record (`dns_record.json`), with
//! fields overridden per test. Request bodies are parsed and compared as JSON.

use std::collections::BTreeMap;

use inboxgrove::server::providers::dns::cloudflare::{CloudflareClient, CloudflareSettings};
use inboxgrove::server::providers::dns::{DnsError, DnsProvider, DnsRecord, RecordType, Zone};
use serde_json::{Value, json};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const ZONE: &str = include_str!("fixtures/cloudflare/zone.json");
const RECORD: &str = include_str!("fixtures/cloudflare/dns_record.json");

const TOKEN: &str = "cf-test-token-5oV2kQ";
const ACCOUNT_ID: &str = "01a7362d577a6c3019a474fd6f485823";
const ZONE_ID: &str = "023e105f4ecef8ad9ca31a8372d0c353";
/// The fake is mounted under the real API's path prefix, so a client that drops it fails.
const BASE: &str = "/client/v4";

fn with(template: &str, overrides: Value) -> Value {
    let mut object: Value = serde_json::from_str(template).expect("fixtures are JSON");
    for (key, value) in overrides.as_object().expect("overrides are an object") {
        object[key] = value.clone();
    }
    object
}

fn zone(overrides: Value) -> Value {
    with(ZONE, overrides)
}

fn record(id: &str, kind: &str, name: &str, content: &str, overrides: Value) -> Value {
    let mut object = with(
        RECORD,
        json!({ "id": id, "type": kind, "name": name, "content": content }),
    );
    if kind != "A" && kind != "CNAME" {
        object["proxiable"] = json!(false);
    }
    for (key, value) in overrides.as_object().expect("overrides are an object") {
        object[key] = value.clone();
    }
    object
}

fn txt(id: &str, name: &str, quoted_content: &str) -> Value {
    record(id, "TXT", name, quoted_content, json!({}))
}

fn ok(result: Value) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "success": true, "errors": [], "messages": [], "result": result,
    }))
}

fn page(results: Vec<Value>, page: u32, total_pages: u32, total_count: usize) -> ResponseTemplate {
    let count = results.len();
    ResponseTemplate::new(200).set_body_json(json!({
        "success": true, "errors": [], "messages": [], "result": results,
        "result_info": {
            "page": page, "per_page": 100, "total_pages": total_pages,
            "count": count, "total_count": total_count,
        },
    }))
}

fn only_page(results: Vec<Value>) -> ResponseTemplate {
    let total = results.len();
    page(results, 1, 1, total)
}

fn failure(status: u16, errors: &[(i64, &str)]) -> ResponseTemplate {
    let errors: Vec<Value> = errors
        .iter()
        .map(|(code, message)| json!({ "code": code, "message": message }))
        .collect();
    ResponseTemplate::new(status).set_body_json(json!({
        "success": false, "errors": errors, "messages": [], "result": null,
    }))
}

fn client_for(api_base: String) -> CloudflareClient {
    CloudflareClient::new(
        CloudflareSettings {
            api_base,
            account_id: ACCOUNT_ID.into(),
        },
        &TOKEN.into(),
    )
    .expect("client builds")
}

async fn fake_cloudflare() -> (MockServer, CloudflareClient) {
    let server = MockServer::start().await;
    let client = client_for(format!("{}{BASE}", server.uri()));
    (server, client)
}

/// Answers `verb route` exactly once (checked when the server drops).
async fn stub(server: &MockServer, verb: &str, route: &str, response: ResponseTemplate) {
    Mock::given(method(verb))
        .and(path(format!("{BASE}{route}")))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// Answers the list of `kind` records named `name` exactly once.
async fn stub_records_named(
    server: &MockServer,
    kind: &str,
    name: &str,
    response: ResponseTemplate,
) {
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/zones/{ZONE_ID}/dns_records")))
        .and(query_param("type", kind))
        .and(query_param("name", name))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording is on")
}

fn json_body(request: &Request) -> Value {
    serde_json::from_slice(&request.body).expect("the body is JSON")
}

fn query(request: &Request) -> BTreeMap<String, String> {
    request.url.query_pairs().into_owned().collect()
}

fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

fn writes(requests: &[Request]) -> Vec<(String, String)> {
    requests
        .iter()
        .filter(|r| r.method.as_str() != "GET")
        .map(|r| (r.method.to_string(), r.url.path().to_owned()))
        .collect()
}

fn wanted(kind: RecordType, name: &str, content: &str, priority: Option<u16>) -> DnsRecord {
    DnsRecord {
        id: None,
        kind,
        name: name.into(),
        content: content.into(),
        priority,
        ttl: 1,
    }
}

// ---- zones ---------------------------------------------------------------------------------

#[tokio::test]
async fn creating_a_zone_sends_our_account_the_name_and_full_type_and_returns_the_pending_zone_with_its_nameservers()
 {
    let (server, client) = fake_cloudflare().await;
    stub(&server, "POST", "/zones", ok(zone(json!({})))).await;

    let created = client
        .create_zone("Example.com")
        .await
        .expect("zone created");

    assert_eq!(
        created,
        Zone {
            id: ZONE_ID.into(),
            name: "example.com".into(),
            nameservers: vec![
                "tony.ns.cloudflare.com".into(),
                "woz.ns.cloudflare.com".into()
            ],
            status: "pending".into(),
        }
    );
    let requests = requests(&server).await;
    assert_eq!(requests.len(), 1);
    let request = &requests[0];
    let bearer = format!("Bearer {TOKEN}");
    assert_eq!(header(request, "authorization"), Some(bearer.as_str()));
    assert_eq!(header(request, "content-type"), Some("application/json"));
    assert_eq!(
        json_body(request),
        json!({ "account": { "id": ACCOUNT_ID }, "name": "example.com", "type": "full" })
    );
}

#[tokio::test]
async fn creating_a_zone_that_already_exists_returns_the_existing_zone_of_our_account() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "POST",
        "/zones",
        failure(400, &[(1061, "example.com already exists.")]),
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/zones")))
        .and(query_param("name", "example.com"))
        .and(query_param("account.id", ACCOUNT_ID))
        .respond_with(only_page(vec![zone(json!({
            "status": "active",
            "activated_on": "2014-01-02T00:01:00.12345Z",
        }))]))
        .expect(1)
        .mount(&server)
        .await;

    let zone = client
        .create_zone("example.com")
        .await
        .expect("the existing zone is returned");

    assert_eq!(zone.id, ZONE_ID);
    assert_eq!(zone.status, "active");
    assert_eq!(
        zone.nameservers,
        ["tony.ns.cloudflare.com", "woz.ns.cloudflare.com"]
    );
}

#[tokio::test]
async fn a_zone_that_exists_in_another_account_stays_refused() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "POST",
        "/zones",
        failure(400, &[(1061, "example.com already exists.")]),
    )
    .await;
    stub(&server, "GET", "/zones", only_page(vec![])).await;

    let err = client.create_zone("example.com").await.unwrap_err();

    let DnsError::Refused { code, message } = err else {
        panic!("expected Refused, got {err:?}");
    };
    assert_eq!(code, Some(1061));
    assert_eq!(message, "example.com already exists.");
}

#[tokio::test]
async fn finding_a_zone_reads_it_from_the_envelope_and_only_looks_in_our_account() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "GET",
        "/zones",
        only_page(vec![zone(json!({ "name": "example.com" }))]),
    )
    .await;

    let found = client.find_zone("example.com").await.expect("listed");

    assert_eq!(found.map(|z| z.id), Some(ZONE_ID.to_owned()));
    let requests = requests(&server).await;
    let query = query(&requests[0]);
    assert_eq!(query.get("name").map(String::as_str), Some("example.com"));
    assert_eq!(
        query.get("account.id").map(String::as_str),
        Some(ACCOUNT_ID)
    );
}

#[tokio::test]
async fn finding_a_zone_cloudflare_does_not_have_returns_none() {
    let (server, client) = fake_cloudflare().await;
    stub(&server, "GET", "/zones", only_page(vec![])).await;

    let found = client.find_zone("unknown.example").await.expect("listed");

    assert_eq!(found, None);
}

// ---- errors --------------------------------------------------------------------------------

#[tokio::test]
async fn a_refusal_carries_cloudflares_code_and_message() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "POST",
        "/zones",
        failure(
            400,
            &[(
                1049,
                "inboxgrove-unregistered.com is not a registered domain",
            )],
        ),
    )
    .await;

    let err = client
        .create_zone("inboxgrove-unregistered.com")
        .await
        .unwrap_err();

    let DnsError::Refused { code, message } = err else {
        panic!("expected Refused, got {err:?}");
    };
    assert_eq!(code, Some(1049));
    assert_eq!(
        message,
        "inboxgrove-unregistered.com is not a registered domain"
    );
}

#[tokio::test]
async fn several_errors_are_joined_into_one_message_with_the_first_code() {
    let (server, client) = fake_cloudflare().await;
    stub_records_named(&server, "MX", "example.com", only_page(vec![])).await;
    stub(
        &server,
        "POST",
        &format!("/zones/{ZONE_ID}/dns_records"),
        failure(
            400,
            &[
                (9000, "DNS name is invalid."),
                (
                    9021,
                    "Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic.",
                ),
            ],
        ),
    )
    .await;

    let err = client
        .upsert_record(
            ZONE_ID,
            &wanted(RecordType::Mx, "example.com", "mx.inboxgrove.net", Some(10)),
        )
        .await
        .unwrap_err();

    let DnsError::Refused { code, message } = err else {
        panic!("expected Refused, got {err:?}");
    };
    assert_eq!(code, Some(9000));
    assert_eq!(
        message,
        "DNS name is invalid.; Invalid TTL. Must be between 60 and 86400 seconds, or 1 for Automatic."
    );
}

#[tokio::test]
async fn a_429_is_rate_limited_for_as_long_as_retry_after_says() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "GET",
        "/zones",
        failure(
            429,
            &[(
                971,
                "Please wait and consider throttling your request speed",
            )],
        )
        .insert_header("retry-after", "42"),
    )
    .await;

    let err = client.find_zone("example.com").await.unwrap_err();

    assert!(
        matches!(
            err,
            DnsError::RateLimited {
                retry_after_secs: Some(42)
            }
        ),
        "got {err:?}"
    );
}

#[tokio::test]
async fn a_429_without_retry_after_is_rate_limited_for_an_unknown_time() {
    let (server, client) = fake_cloudflare().await;
    stub(&server, "GET", "/zones", ResponseTemplate::new(429)).await;

    let err = client.find_zone("example.com").await.unwrap_err();

    assert!(
        matches!(
            err,
            DnsError::RateLimited {
                retry_after_secs: None
            }
        ),
        "got {err:?}"
    );
}

#[tokio::test]
async fn a_server_error_page_means_cloudflare_is_unavailable() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "GET",
        "/zones",
        ResponseTemplate::new(502).set_body_string("<html><body>502 Bad Gateway</body></html>"),
    )
    .await;

    let err = client.find_zone("example.com").await.unwrap_err();

    assert!(matches!(err, DnsError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn a_connection_that_fails_means_cloudflare_is_unavailable() {
    // A port that was just free: nothing listens on it.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("address");
    drop(listener);
    let client = client_for(format!("http://{address}{BASE}"));

    let err = client.find_zone("example.com").await.unwrap_err();

    assert!(matches!(err, DnsError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn a_rejected_token_is_our_misconfiguration_and_never_shows_the_token() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "POST",
        "/zones",
        failure(403, &[(10000, "Authentication error")]),
    )
    .await;

    let err = client.create_zone("example.com").await.unwrap_err();

    assert!(matches!(err, DnsError::Unexpected(_)), "got {err:?}");
    assert!(format!("{err:#}").contains("Authentication error"));
    assert!(!format!("{err:#} {err:?}").contains(TOKEN));
    assert!(!format!("{client:?}").contains(TOKEN));
}

#[tokio::test]
async fn a_malformed_authorization_header_is_our_misconfiguration_although_cloudflare_says_400() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "GET",
        "/zones",
        failure(400, &[(6003, "Invalid request headers")]),
    )
    .await;

    let err = client.find_zone("example.com").await.unwrap_err();

    assert!(matches!(err, DnsError::Unexpected(_)), "got {err:?}");
}

// ---- records -------------------------------------------------------------------------------

#[tokio::test]
async fn upserting_updates_the_existing_spf_record_and_creates_the_missing_dmarc_record() {
    let (server, client) = fake_cloudflare().await;
    let spf_id = "5f1b4a3c2d1e0f9a8b7c6d5e4f3a2b1c";
    let verification_id = "a1b2c3d4e5f60718293a4b5c6d7e8f90";
    stub_records_named(
        &server,
        "TXT",
        "example.com",
        only_page(vec![
            txt(
                verification_id,
                "example.com",
                "\"google-site-verification=rXOxyZounnZasA8Z7oaD3c14JdjS9aKSWvsR1EbUSIQ\"",
            ),
            txt(
                spf_id,
                "example.com",
                "\"v=spf1 include:_spf.oldhost.example ~all\"",
            ),
        ]),
    )
    .await;
    stub(
        &server,
        "PUT",
        &format!("/zones/{ZONE_ID}/dns_records/{spf_id}"),
        ok(txt(
            spf_id,
            "example.com",
            "\"v=spf1 include:spf.inboxgrove.net ~all\"",
        )),
    )
    .await;
    stub_records_named(&server, "TXT", "_dmarc.example.com", only_page(vec![])).await;
    stub(
        &server,
        "POST",
        &format!("/zones/{ZONE_ID}/dns_records"),
        ok(txt(
            "d4a7c0e1b2f3a4b5c6d7e8f9a0b1c2d3",
            "_dmarc.example.com",
            "\"v=DMARC1; p=none; rua=mailto:dmarc@example.com\"",
        )),
    )
    .await;

    let spf = client
        .upsert_record(
            ZONE_ID,
            &wanted(
                RecordType::Txt,
                "example.com",
                "v=spf1 include:spf.inboxgrove.net ~all",
                None,
            ),
        )
        .await
        .expect("SPF updated");
    let dmarc = client
        .upsert_record(
            ZONE_ID,
            &wanted(
                RecordType::Txt,
                "_dmarc.example.com",
                "v=DMARC1; p=none; rua=mailto:dmarc@example.com",
                None,
            ),
        )
        .await
        .expect("DMARC created");

    assert_eq!(spf.id.as_deref(), Some(spf_id));
    assert_eq!(spf.content, "v=spf1 include:spf.inboxgrove.net ~all");
    assert_eq!(
        dmarc.id.as_deref(),
        Some("d4a7c0e1b2f3a4b5c6d7e8f9a0b1c2d3")
    );
    assert_eq!(dmarc.name, "_dmarc.example.com");
    assert_eq!(
        dmarc.content,
        "v=DMARC1; p=none; rua=mailto:dmarc@example.com"
    );

    let requests = requests(&server).await;
    let put = requests
        .iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(
        json_body(put),
        json!({
            "type": "TXT",
            "name": "example.com",
            "content": "\"v=spf1 include:spf.inboxgrove.net ~all\"",
            "ttl": 1,
        })
    );
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    assert_eq!(
        json_body(post),
        json!({
            "type": "TXT",
            "name": "_dmarc.example.com",
            "content": "\"v=DMARC1; p=none; rua=mailto:dmarc@example.com\"",
            "ttl": 1,
        })
    );
    // The verification record (no tag, other text) is left alone.
    assert_eq!(writes(&requests).len(), 2);
}

#[tokio::test]
async fn an_mx_upsert_replaces_the_record_with_the_same_priority() {
    let (server, client) = fake_cloudflare().await;
    let primary = "10aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    let backup = "20bbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    stub_records_named(
        &server,
        "MX",
        "example.com",
        only_page(vec![
            record(
                primary,
                "MX",
                "example.com",
                "mx1.oldhost.example",
                json!({ "priority": 10 }),
            ),
            record(
                backup,
                "MX",
                "example.com",
                "mx2.oldhost.example",
                json!({ "priority": 20 }),
            ),
        ]),
    )
    .await;
    stub(
        &server,
        "PUT",
        &format!("/zones/{ZONE_ID}/dns_records/{backup}"),
        ok(record(
            backup,
            "MX",
            "example.com",
            "mx2.inboxgrove.net",
            json!({ "priority": 20 }),
        )),
    )
    .await;

    let mx = client
        .upsert_record(
            ZONE_ID,
            &wanted(
                RecordType::Mx,
                "example.com",
                "mx2.inboxgrove.net",
                Some(20),
            ),
        )
        .await
        .expect("MX updated");

    assert_eq!(mx.id.as_deref(), Some(backup));
    assert_eq!(mx.priority, Some(20));
    let requests = requests(&server).await;
    let put = requests
        .iter()
        .find(|r| r.method.as_str() == "PUT")
        .unwrap();
    assert_eq!(
        json_body(put),
        json!({
            "type": "MX",
            "name": "example.com",
            "content": "mx2.inboxgrove.net",
            "priority": 20,
            "ttl": 1,
        })
    );
}

#[tokio::test]
async fn an_unchanged_record_is_not_written_again() {
    let (server, client) = fake_cloudflare().await;
    stub_records_named(
        &server,
        "TXT",
        "example.com",
        only_page(vec![txt(
            "5f1b4a3c2d1e0f9a8b7c6d5e4f3a2b1c",
            "example.com",
            "\"v=spf1 include:spf.inboxgrove.net ~all\"",
        )]),
    )
    .await;

    let spf = client
        .upsert_record(
            ZONE_ID,
            &wanted(
                RecordType::Txt,
                "example.com",
                "v=spf1 include:spf.inboxgrove.net ~all",
                None,
            ),
        )
        .await
        .expect("already there");

    assert_eq!(spf.id.as_deref(), Some("5f1b4a3c2d1e0f9a8b7c6d5e4f3a2b1c"));
    assert_eq!(writes(&requests(&server).await), vec![]);
}

#[tokio::test]
async fn a_create_that_loses_a_race_to_an_identical_record_returns_that_record() {
    let (server, client) = fake_cloudflare().await;
    let dmarc = txt(
        "d4a7c0e1b2f3a4b5c6d7e8f9a0b1c2d3",
        "_dmarc.example.com",
        "\"v=DMARC1; p=none\"",
    );
    // First list: nothing yet; after the refused create: the record someone else made.
    Mock::given(method("GET"))
        .and(path(format!("{BASE}/zones/{ZONE_ID}/dns_records")))
        .respond_with(only_page(vec![]))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    stub_records_named(&server, "TXT", "_dmarc.example.com", only_page(vec![dmarc])).await;
    stub(
        &server,
        "POST",
        &format!("/zones/{ZONE_ID}/dns_records"),
        failure(400, &[(81058, "An identical record already exists.")]),
    )
    .await;

    let record = client
        .upsert_record(
            ZONE_ID,
            &wanted(
                RecordType::Txt,
                "_dmarc.example.com",
                "v=DMARC1; p=none",
                None,
            ),
        )
        .await
        .expect("the existing record is returned");

    assert_eq!(
        record.id.as_deref(),
        Some("d4a7c0e1b2f3a4b5c6d7e8f9a0b1c2d3")
    );
    assert_eq!(writes(&requests(&server).await).len(), 1, "only the POST");
}

#[tokio::test]
async fn a_long_dkim_key_is_sent_as_quoted_strings_of_at_most_255_bytes_and_read_back_whole() {
    let (server, client) = fake_cloudflare().await;
    let key: String = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA"
        .chars()
        .cycle()
        .take(392)
        .collect();
    let value = format!("v=DKIM1; k=rsa; p={key}");
    let quoted = format!("\"{}\" \"{}\"", &value[..255], &value[255..]);
    let name = "s1._domainkey.example.com";
    stub_records_named(&server, "TXT", name, only_page(vec![])).await;
    stub(
        &server,
        "POST",
        &format!("/zones/{ZONE_ID}/dns_records"),
        ok(txt("0dk1m0000000000000000000000000000", name, &quoted)),
    )
    .await;

    let dkim = client
        .upsert_record(ZONE_ID, &wanted(RecordType::Txt, name, &value, None))
        .await
        .expect("DKIM created");

    assert_eq!(dkim.content, value);
    let requests = requests(&server).await;
    let post = requests
        .iter()
        .find(|r| r.method.as_str() == "POST")
        .unwrap();
    assert_eq!(json_body(post)["content"], json!(quoted));
}

#[tokio::test]
async fn listing_records_follows_result_info_across_both_pages() {
    let (server, client) = fake_cloudflare().await;
    let route = format!("{BASE}/zones/{ZONE_ID}/dns_records");
    Mock::given(method("GET"))
        .and(path(route.clone()))
        .and(query_param("page", "1"))
        .respond_with(page(
            vec![
                record(
                    "r1",
                    "MX",
                    "example.com",
                    "mx.inboxgrove.net",
                    json!({ "priority": 10 }),
                ),
                // Not expressible in the trait: left out.
                record(
                    "r2",
                    "NS",
                    "sub.example.com",
                    "ns1.elsewhere.example",
                    json!({}),
                ),
            ],
            1,
            2,
            3,
        ))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(route))
        .and(query_param("page", "2"))
        .respond_with(page(
            vec![txt(
                "r3",
                "example.com",
                "\"v=spf1 include:spf.inboxgrove.net ~all\"",
            )],
            2,
            2,
            3,
        ))
        .expect(1)
        .mount(&server)
        .await;

    let records = client.list_records(ZONE_ID).await.expect("listed");

    assert_eq!(
        records,
        vec![
            DnsRecord {
                id: Some("r1".into()),
                kind: RecordType::Mx,
                name: "example.com".into(),
                content: "mx.inboxgrove.net".into(),
                priority: Some(10),
                ttl: 1,
            },
            DnsRecord {
                id: Some("r3".into()),
                kind: RecordType::Txt,
                name: "example.com".into(),
                content: "v=spf1 include:spf.inboxgrove.net ~all".into(),
                priority: None,
                ttl: 1,
            },
        ]
    );
}

#[tokio::test]
async fn deleting_a_record_sends_delete_for_its_id() {
    let (server, client) = fake_cloudflare().await;
    let id = "372e67954025e0ba6aaa6d586b9e0b59";
    stub(
        &server,
        "DELETE",
        &format!("/zones/{ZONE_ID}/dns_records/{id}"),
        ok(json!({ "id": id })),
    )
    .await;

    client.delete_record(ZONE_ID, id).await.expect("deleted");
}

#[tokio::test]
async fn deleting_a_record_that_is_already_gone_succeeds() {
    let (server, client) = fake_cloudflare().await;
    let id = "372e67954025e0ba6aaa6d586b9e0b59";
    stub(
        &server,
        "DELETE",
        &format!("/zones/{ZONE_ID}/dns_records/{id}"),
        failure(404, &[(81044, "Record does not exist.")]),
    )
    .await;

    client
        .delete_record(ZONE_ID, id)
        .await
        .expect("nothing left to delete");
}

#[tokio::test]
async fn deleting_in_a_zone_that_is_not_ours_is_refused() {
    let (server, client) = fake_cloudflare().await;
    stub(
        &server,
        "DELETE",
        &format!("/zones/{ZONE_ID}/dns_records/r1"),
        failure(404, &[(7003, "Could not route to /zones/023e105f4ecef8ad9ca31a8372d0c353/dns_records/r1, perhaps your object identifier is invalid?")]),
    )
    .await;

    let err = client.delete_record(ZONE_ID, "r1").await.unwrap_err();

    assert!(
        matches!(
            err,
            DnsError::Refused {
                code: Some(7003),
                ..
            }
        ),
        "got {err:?}"
    );
}
