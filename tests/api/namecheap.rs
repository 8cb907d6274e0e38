//! The real Namecheap client against a local fake Namecheap (wiremock).
//!
//! Response bodies (`fixtures/namecheap/`) are Namecheap's documented samples and the official
//! Go SDK's fixtures, as collected in shared/docs/providers.md §1 (getInfo: the documented
//! example as the SDK tests carry it); refusals use the captured error envelope with other
//! numbers. Requests are parsed as form pairs, never compared as raw strings.

use chrono::{NaiveDate, TimeZone, Utc};
use inboxgrove::domain::Cents;
use inboxgrove::server::providers::registrar::namecheap::{NamecheapClient, NamecheapSettings};
use inboxgrove::server::providers::registrar::{
    Availability, Contact, DomainInfo, RegisterRequest, Registrar, RegistrarError, Registration,
    Renewal,
};
use wiremock::matchers::{method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const API_KEY: &str = "52b4c87ef7fd49cb96a915c0db68124";
const ENDPOINT: &str = "/xml.response";

fn fixture(name: &str) -> String {
    let file = format!(
        "{}/tests/api/fixtures/namecheap/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&file).unwrap_or_else(|err| panic!("reading {file}: {err}"))
}

fn xml(name: &str) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(fixture(name), "text/xml; charset=utf-8")
}

fn settings(api_base: String) -> NamecheapSettings {
    NamecheapSettings {
        api_base,
        api_user: "apiexample".into(),
        user_name: "inboxgrove".into(),
        client_ip: "192.168.1.109".into(),
    }
}

async fn fake_namecheap() -> (MockServer, NamecheapClient) {
    let server = MockServer::start().await;
    let client = NamecheapClient::new(
        settings(format!("{}{ENDPOINT}", server.uri())),
        &API_KEY.into(),
    )
    .expect("client builds");
    (server, client)
}

/// Answers one POST of `command` exactly once (checked when the server drops).
async fn stub(server: &MockServer, command: &str, response: ResponseTemplate) {
    stub_where(server, FormHas("Command", command.into()), response).await;
}

async fn stub_where(server: &MockServer, matcher: FormHas, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(ENDPOINT))
        .and(matcher)
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// Matches a form-encoded body carrying `key=value`.
struct FormHas(&'static str, String);

impl Match for FormHas {
    fn matches(&self, request: &Request) -> bool {
        serde_urlencoded::from_bytes::<Vec<(String, String)>>(&request.body)
            .is_ok_and(|pairs| pairs.iter().any(|(k, v)| k == self.0 && *v == self.1))
    }
}

async fn requests(server: &MockServer) -> Vec<Request> {
    server.received_requests().await.expect("recording is on")
}

async fn only_request(server: &MockServer) -> Request {
    let mut requests = requests(server).await;
    assert_eq!(requests.len(), 1, "exactly one request reaches Namecheap");
    requests.remove(0)
}

/// The request's form pairs, sorted.
fn form(request: &Request) -> Vec<(String, String)> {
    let content_type = request
        .headers
        .get("content-type")
        .map(|v| v.to_str().unwrap());
    assert_eq!(content_type, Some("application/x-www-form-urlencoded"));
    assert!(
        request.url.query().is_none(),
        "nothing travels in the URL, least of all the key: {}",
        request.url
    );
    let mut pairs: Vec<(String, String)> =
        serde_urlencoded::from_bytes(&request.body).expect("the body is form-encoded");
    pairs.sort();
    pairs
}

/// `expected` plus the global parameters every call carries, sorted.
fn with_globals(command: &str, expected: &[(&str, &str)]) -> Vec<(String, String)> {
    let globals = [
        ("ApiUser", "apiexample"),
        ("ApiKey", API_KEY),
        ("UserName", "inboxgrove"),
        ("ClientIp", "192.168.1.109"),
        ("Command", command),
    ];
    let mut pairs: Vec<(String, String)> = globals
        .iter()
        .chain(expected)
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

fn names(list: &[&str]) -> Vec<String> {
    list.iter().map(|n| n.to_string()).collect()
}

fn contact() -> Contact {
    Contact {
        first_name: "Jane".into(),
        last_name: "Doe".into(),
        organization: "Acme Outreach LLC".into(),
        address1: "8939 S. Cross Blvd".into(),
        city: "Los Angeles".into(),
        state_province: "CA".into(),
        postal_code: "90045".into(),
        country: "US".into(),
        phone: "+1.6613102107".into(),
        email: "domains@acme.io".into(),
    }
}

fn register_request() -> RegisterRequest {
    RegisterRequest {
        name: "example.com".into(),
        years: 1,
        contact: contact(),
        nameservers: names(&["ada.ns.cloudflare.com", "bob.ns.cloudflare.com"]),
    }
}

fn midnight_utc(year: i32, month: u32, day: u32) -> chrono::DateTime<Utc> {
    Utc.from_utc_datetime(
        &NaiveDate::from_ymd_opt(year, month, day)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap(),
    )
}

async fn check_error(response: ResponseTemplate) -> RegistrarError {
    let (server, client) = fake_namecheap().await;
    stub(&server, "namecheap.domains.check", response).await;
    client
        .check(&names(&["example.com"]))
        .await
        .expect_err("the check failed")
}

#[tokio::test]
async fn checking_a_taken_name_says_unavailable_and_sends_the_global_parameters() {
    let (server, client) = fake_namecheap().await;
    stub(&server, "namecheap.domains.check", xml("check_taken.xml")).await;

    let result = client
        .check(&names(&["TestAPI.xyz"]))
        .await
        .expect("checked");

    assert_eq!(
        result,
        vec![Availability {
            name: "testapi.xyz".into(),
            available: false,
            premium: false,
            cost_cents: None,
            currency: "USD".into(),
        }]
    );
    assert_eq!(
        form(&only_request(&server).await),
        with_globals("namecheap.domains.check", &[("DomainList", "testapi.xyz")])
    );
}

#[tokio::test]
async fn checking_a_premium_name_reports_it_available_at_its_premium_price_in_cents() {
    let (server, client) = fake_namecheap().await;
    stub(&server, "namecheap.domains.check", xml("check_premium.xml")).await;

    let result = client.check(&names(&["us.xyz"])).await.expect("checked");

    assert_eq!(
        result,
        vec![Availability {
            name: "us.xyz".into(),
            available: true,
            premium: true,
            cost_cents: Some(Cents(1_300_000)),
            currency: "USD".into(),
        }]
    );
}

#[tokio::test]
async fn checking_several_names_sends_one_list_and_answers_in_the_order_asked() {
    let (server, client) = fake_namecheap().await;
    // Namecheap answers example.com first; we asked for example.net first.
    stub(&server, "namecheap.domains.check", xml("check_two.xml")).await;

    let result = client
        .check(&names(&["example.net", "example.com"]))
        .await
        .expect("checked");

    let summary: Vec<(&str, bool, bool, Option<Cents>)> = result
        .iter()
        .map(|a| (a.name.as_str(), a.available, a.premium, a.cost_cents))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("example.net", false, false, None),
            ("example.com", true, false, None),
        ]
    );
    assert!(
        form(&only_request(&server).await)
            .contains(&("DomainList".into(), "example.net,example.com".into()))
    );
}

#[tokio::test]
async fn checking_more_than_fifty_names_fails_before_anything_reaches_namecheap() {
    let (server, client) = fake_namecheap().await;
    let many: Vec<String> = (0..51).map(|i| format!("name{i}.com")).collect();

    let err = client.check(&many).await.expect_err("too many names");

    assert!(matches!(err, RegistrarError::Unexpected(_)), "got {err:?}");
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn a_name_that_is_not_ascii_is_refused_without_asking_namecheap() {
    let (server, client) = fake_namecheap().await;

    let err = client
        .check(&names(&["bücher.de"]))
        .await
        .expect_err("IDNs go as punycode");

    assert!(
        matches!(err, RegistrarError::Refused { code: None, .. }),
        "got {err:?}"
    );
    assert!(requests(&server).await.is_empty());
}

#[tokio::test]
async fn registering_posts_every_contact_role_and_the_nameservers_and_returns_id_and_charge() {
    let (server, client) = fake_namecheap().await;
    stub(&server, "namecheap.domains.create", xml("create_ok.xml")).await;

    let registration = client
        .register(&register_request())
        .await
        .expect("registered");

    assert_eq!(
        registration,
        Registration {
            name: "example.com".into(),
            registrar_id: "1234567".into(),
            charged_cents: Some(Cents(1087)),
        }
    );
    let c = contact();
    let fields = [
        ("FirstName", c.first_name.as_str()),
        ("LastName", &c.last_name),
        ("OrganizationName", &c.organization),
        ("Address1", &c.address1),
        ("City", &c.city),
        ("StateProvince", &c.state_province),
        ("PostalCode", &c.postal_code),
        ("Country", &c.country),
        ("Phone", &c.phone),
        ("EmailAddress", &c.email),
    ];
    let contact_pairs: Vec<(String, &str)> = ["Registrant", "Tech", "Admin", "AuxBilling"]
        .into_iter()
        .flat_map(|role| fields.map(|(field, value)| (format!("{role}{field}"), value)))
        .collect();
    let mut expected = vec![
        ("DomainName", "example.com"),
        ("Years", "1"),
        ("Nameservers", "ada.ns.cloudflare.com,bob.ns.cloudflare.com"),
    ];
    expected.extend(contact_pairs.iter().map(|(k, v)| (k.as_str(), *v)));
    assert_eq!(contact_pairs.len(), 40);
    assert_eq!(
        form(&only_request(&server).await),
        with_globals("namecheap.domains.create", &expected)
    );
}

#[tokio::test]
async fn registering_without_nameservers_leaves_them_to_namecheap() {
    let (server, client) = fake_namecheap().await;
    stub(&server, "namecheap.domains.create", xml("create_ok.xml")).await;

    client
        .register(&RegisterRequest {
            nameservers: Vec::new(),
            ..register_request()
        })
        .await
        .expect("registered");

    let sent = form(&only_request(&server).await);
    assert!(sent.iter().all(|(k, _)| k != "Nameservers"), "{sent:?}");
}

#[tokio::test]
async fn a_registration_namecheap_refuses_carries_its_error_number_and_message() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.create",
        xml("create_tld_not_supported.xml"),
    )
    .await;

    let err = client
        .register(&register_request())
        .await
        .expect_err("refused");

    match err {
        RegistrarError::Refused { code, message } => {
            assert_eq!(code.as_deref(), Some("2030280"));
            assert_eq!(message, "TLD is not supported in API");
        }
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[tokio::test]
async fn a_registration_namecheap_says_it_did_not_complete_is_refused() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.create",
        xml("create_not_registered.xml"),
    )
    .await;

    let err = client
        .register(&register_request())
        .await
        .expect_err("not registered");

    assert!(matches!(err, RegistrarError::Refused { .. }), "got {err:?}");
}

#[tokio::test]
async fn an_invalid_api_key_is_our_misconfiguration_not_a_refusal_to_show_the_customer() {
    let err = check_error(xml("error_invalid_api_key.xml")).await;

    assert!(matches!(err, RegistrarError::Unexpected(_)), "got {err:?}");
    assert!(format!("{err:#}").contains("1011102"), "{err:#}");
}

#[tokio::test]
async fn an_unknown_exception_on_namecheaps_side_means_unavailable() {
    let err = check_error(xml("error_unknown_exception.xml")).await;

    assert!(matches!(err, RegistrarError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn http_405_means_namecheap_is_rate_limiting_us() {
    let err = check_error(ResponseTemplate::new(405).insert_header("Retry-After", "60")).await;

    assert!(
        matches!(
            err,
            RegistrarError::RateLimited {
                retry_after_secs: Some(60)
            }
        ),
        "got {err:?}"
    );
}

#[tokio::test]
async fn a_500_means_namecheap_is_unavailable_and_the_client_does_not_retry() {
    // `stub` expects exactly one request: the caller owns retries.
    let err = check_error(
        ResponseTemplate::new(500).set_body_raw("<html>Internal Server Error</html>", "text/html"),
    )
    .await;

    assert!(matches!(err, RegistrarError::Unavailable(_)), "got {err:?}");
}

#[tokio::test]
async fn an_unreachable_namecheap_means_unavailable() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}{ENDPOINT}", closed.local_addr().unwrap());
    drop(closed);
    let client = NamecheapClient::new(settings(base), &API_KEY.into()).unwrap();

    let err = client
        .info("example.com")
        .await
        .expect_err("nothing listens there");

    assert!(matches!(err, RegistrarError::Unavailable(_)), "got {err:?}");
    assert!(!format!("{err:#}").contains(API_KEY));
}

#[tokio::test]
async fn a_200_that_is_not_namecheap_xml_is_unexpected() {
    let err = check_error(
        ResponseTemplate::new(200)
            .set_body_raw("<html><body>Maintenance</body></html>", "text/html"),
    )
    .await;

    assert!(matches!(err, RegistrarError::Unexpected(_)), "got {err:?}");
}

#[tokio::test]
async fn setting_nameservers_splits_a_multi_label_tld_and_sends_them_comma_separated() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.dns.setCustom",
        xml("setcustom_ok.xml"),
    )
    .await;

    client
        .set_nameservers(
            "acme-mail.co.uk",
            &names(&["Ada.NS.Cloudflare.com", "bob.ns.cloudflare.com"]),
        )
        .await
        .expect("nameservers set");

    assert_eq!(
        form(&only_request(&server).await),
        with_globals(
            "namecheap.domains.dns.setCustom",
            &[
                ("SLD", "acme-mail"),
                ("TLD", "co.uk"),
                ("Nameservers", "ada.ns.cloudflare.com,bob.ns.cloudflare.com"),
            ]
        )
    );
}

#[tokio::test]
async fn info_on_our_domain_reads_its_expiry_and_nameservers() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.getInfo",
        xml("getinfo_ours.xml"),
    )
    .await;

    let info = client.info("domain1.com").await.expect("answered");

    assert_eq!(
        info,
        Some(DomainInfo {
            name: "domain1.com".into(),
            expires: Some(midnight_utc(2017, 4, 23)),
            nameservers: names(&["dns1.name-servers.com", "dns2.name-servers.com"]),
            ours: true,
        })
    );
    assert_eq!(
        form(&only_request(&server).await),
        with_globals(
            "namecheap.domains.getInfo",
            &[("DomainName", "domain1.com")]
        )
    );
}

#[tokio::test]
async fn info_on_a_domain_another_account_shares_with_us_says_it_is_not_ours() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.getInfo",
        xml("getinfo_shared.xml"),
    )
    .await;

    let info = client
        .info("horse-family.com.ua")
        .await
        .expect("answered")
        .expect("visible to us");

    assert!(!info.ours);
    assert_eq!(info.expires, None, "this answer has no ExpiredDate");
    assert_eq!(info.nameservers.len(), 5);
}

#[tokio::test]
async fn info_on_a_domain_not_in_our_account_is_none() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.getInfo",
        xml("getinfo_not_found.xml"),
    )
    .await;

    let info = client.info("someone-else.com").await.expect("answered");

    assert_eq!(info, None);
}

#[tokio::test]
async fn listing_pages_through_every_domain_in_the_account() {
    let (server, client) = fake_namecheap().await;
    stub_where(
        &server,
        FormHas("Page", "1".into()),
        xml("getlist_page1.xml"),
    )
    .await;
    stub_where(
        &server,
        FormHas("Page", "2".into()),
        xml("getlist_page2.xml"),
    )
    .await;

    let domains = client.list().await.expect("listed");

    let summary: Vec<(&str, Option<chrono::DateTime<Utc>>, bool)> = domains
        .iter()
        .map(|d| (d.name.as_str(), d.expires, d.ours))
        .collect();
    assert_eq!(
        summary,
        vec![
            ("domain.com", Some(midnight_utc(2022, 6, 2)), true),
            ("domain2.net", Some(midnight_utc(2022, 6, 2)), true),
            ("domain3.co.uk", Some(midnight_utc(2027, 1, 15)), true),
        ]
    );
    let sent = requests(&server).await;
    assert_eq!(sent.len(), 2, "stops once TotalItems are listed");
    let first = form(&sent[0]);
    for pair in [
        ("Command", "namecheap.domains.getList"),
        ("ListType", "ALL"),
        ("PageSize", "100"),
    ] {
        assert!(
            first.contains(&(pair.0.into(), pair.1.into())),
            "{pair:?} in {first:?}"
        );
    }
}

#[tokio::test]
async fn the_client_refuses_bad_settings_and_never_prints_its_key() {
    let good = || settings("https://api.sandbox.namecheap.com/xml.response".into());
    for bad in [
        NamecheapSettings {
            api_base: "api.namecheap.com".into(),
            ..good()
        },
        NamecheapSettings {
            client_ip: "2001:db8::1".into(),
            ..good()
        },
        NamecheapSettings {
            api_user: " ".into(),
            ..good()
        },
    ] {
        assert!(
            NamecheapClient::new(bad.clone(), &API_KEY.into()).is_err(),
            "{bad:?}"
        );
    }
    assert!(NamecheapClient::new(good(), &"".into()).is_err());

    let client = NamecheapClient::new(good(), &API_KEY.into()).unwrap();
    assert_eq!(client.name(), "namecheap");
    assert!(!format!("{client:?}").contains(API_KEY));
}

#[tokio::test]
async fn renewing_posts_the_name_and_years_and_reads_the_new_expiry_and_charge() {
    let (server, client) = fake_namecheap().await;
    stub(&server, "namecheap.domains.renew", xml("renew_ok.xml")).await;

    let renewal = client.renew("Models.TV", 1).await.expect("renewed");

    assert_eq!(
        renewal,
        Renewal {
            name: "models.tv".into(),
            expires: Some(Utc.with_ymd_and_hms(2021, 4, 30, 0, 0, 0).unwrap()),
            charged_cents: Some(Cents(65_000)),
        }
    );
    assert_eq!(
        form(&only_request(&server).await),
        with_globals(
            "namecheap.domains.renew",
            &[("DomainName", "models.tv"), ("Years", "1")]
        )
    );
}

#[tokio::test]
async fn a_renewal_namecheap_does_not_carry_out_is_refused_and_odd_terms_never_leave() {
    let (server, client) = fake_namecheap().await;
    stub(
        &server,
        "namecheap.domains.renew",
        xml("renew_ok.xml").set_body_raw(
            fixture("renew_ok.xml").replace("Renew=\"true\"", "Renew=\"false\""),
            "text/xml",
        ),
    )
    .await;
    let err = client.renew("models.tv", 1).await.expect_err("not renewed");
    assert!(matches!(err, RegistrarError::Refused { .. }), "got {err:?}");

    for years in [0, 11] {
        assert!(client.renew("models.tv", years).await.is_err());
    }
    assert_eq!(requests(&server).await.len(), 1, "bad terms are not sent");
}
