//! No input makes a 5xx: every server function (from the app's own registry) and every HTTP
//! endpoint and page (from its route lists) gets malformed values — empty, huge, non-UTF-8,
//! wrong types, unicode — as a visitor and as a signed-in customer. Each answers below 500,
//! and a 4xx carries a message.

use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{Signup, browser, spawn_app_with};

/// Every argument name the server functions take, so a form reaches past argument decoding
/// into the functions' own parsing.
const NAMES: &[&str] = &[
    "id",
    "tenant",
    "name",
    "email",
    "password",
    "company",
    "website",
    "next",
    "domains",
    "domain",
    "per_domain",
    "convention",
    "personas",
    "display",
    "display_name",
    "daily_cap",
    "idempotency_key",
    "status",
    "batch",
    "page",
    "format",
    "ids",
    "plan",
    "session_id",
    "days",
    "q",
    "category",
    "reason",
    "confirm",
    "body",
    "actor",
    "action",
    "kind",
    "selected",
    "entry",
    "before",
    "query",
    "token",
    "amount",
    "label",
];

struct Case {
    what: &'static str,
    content_type: &'static str,
    body: Vec<u8>,
}

fn form(value: &str) -> Vec<u8> {
    serde_urlencoded::to_string(NAMES.iter().map(|n| (*n, value)).collect::<Vec<_>>())
        .unwrap()
        .into_bytes()
}

fn cases() -> Vec<Case> {
    // 40 fields of 20,000 characters: within the body limit, so the values reach parsing.
    let huge = "A".repeat(20_000);
    let mut non_utf8 = b"id=%FF%FE&name=".to_vec();
    non_utf8.extend_from_slice(&[0xff, 0xfe, 0xc3, 0x28, b'&', b'x', b'=', 0x80]);
    vec![
        Case {
            what: "empty",
            content_type: "application/x-www-form-urlencoded",
            body: Vec::new(),
        },
        Case {
            what: "empty values",
            content_type: "application/x-www-form-urlencoded",
            body: form(""),
        },
        Case {
            what: "huge",
            content_type: "application/x-www-form-urlencoded",
            body: form(&huge),
        },
        Case {
            what: "non-UTF-8",
            content_type: "application/x-www-form-urlencoded",
            body: non_utf8,
        },
        Case {
            what: "wrong types",
            content_type: "application/x-www-form-urlencoded",
            body: form("-99999999999999999999999"),
        },
        Case {
            what: "unicode",
            content_type: "application/x-www-form-urlencoded",
            body: form("𝕏\u{202E}é\u{0}\u{FFFD}'\"<script>"),
        },
        Case {
            what: "JSON of the wrong shape",
            content_type: "application/json",
            body: br#"{"id":[1,{"a":null}],"days":"x"}"#.to_vec(),
        },
        Case {
            what: "garbage",
            content_type: "text/plain",
            body: vec![0, 159, 146, 150, 255],
        },
    ]
}

async fn check(who: &str, req: reqwest::RequestBuilder, label: String, failures: &mut Vec<String>) {
    // A request that hangs is a failure with its name, not a suite that never ends.
    let res = match req.timeout(std::time::Duration::from_secs(30)).send().await {
        Ok(r) => r,
        Err(e) => {
            failures.push(format!("{who} {label}: no answer ({e})"));
            return;
        }
    };
    let status = res.status();
    let body = res.bytes().await.unwrap_or_default();
    if status.is_server_error() {
        failures.push(format!(
            "{who} {label}: {status} {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ));
    } else if status.is_client_error() && body.is_empty() {
        failures.push(format!("{who} {label}: {status} without a message"));
    }
}

/// Page paths with their parameters filled by `value`.
fn pages(value: &str) -> Vec<String> {
    leptos_axum::generate_route_list(inboxgrove::app::App)
        .into_iter()
        .map(|r| {
            r.path()
                .split('/')
                .map(|seg| {
                    if seg.starts_with(':') || seg.starts_with('{') {
                        value.to_string()
                    } else {
                        seg.to_string()
                    }
                })
                .collect::<Vec<_>>()
                .join("/")
        })
        .map(|p| if p.is_empty() { "/".to_string() } else { p })
        .collect()
}

const ENDPOINTS: &[&str] = &[
    "/webhooks/stripe",
    "/webhooks/kumomta",
    "/sandbox/stripe/checkout/{id}",
    "/sandbox/stripe/portal/{id}/card",
    "/sandbox/stripe/portal/{id}/cancel",
    "/sandbox/stripe/portal/{id}/keep",
];

const GET_ENDPOINTS: &[&str] = &[
    "/health",
    "/dev/outbox",
    "/inboxes/export?format={id}&batch={id}&ids={id}",
    "/sandbox/stripe/checkout/{id}",
    "/sandbox/stripe/portal/{id}",
    "/sandbox/stripe/invoices/{id}",
];

#[sqlx::test]
async fn malformed_input_to_every_function_endpoint_and_page_never_answers_5xx(pool: PgPool) {
    let app = spawn_app_with(
        pool,
        &[
            ("INBOXGROVE_JOBS__WORKERS", "0"),
            ("KUMOMTA_WEBHOOK_SECRET", "sweep-hook-secret"),
        ],
    )
    .await;
    let visitor = browser();
    let customer = browser();
    let res = app
        .signup_with(&customer, &Signup::valid("sweep@acme.test"))
        .await;
    assert!(res.status().is_success(), "{}", res.status());

    let functions: Vec<String> = leptos::server_fn::axum::server_fn_paths()
        .map(|(p, _)| p.to_string())
        .collect();
    assert!(functions.len() > 20, "{functions:?}");
    let cases = cases();
    let nines = "9".repeat(5000);
    let odd_segments: [&str; 4] = ["%FF%FE", "𝕏%E2%80%AE", nines.as_str(), "..%2F..%2Fetc"];
    let mut failures = Vec::new();
    let mut requests = 0;
    for (who, client) in [("visitor", &visitor), ("customer", &customer)] {
        for f in &functions {
            // Signing out mid-sweep would leave the rest to the visitor's checks.
            if who == "customer" && f.contains("logout") {
                continue;
            }
            for c in &cases {
                let req = client
                    .post(app.url(f))
                    .header("content-type", c.content_type)
                    .body(c.body.clone());
                check(who, req, format!("{f} ({})", c.what), &mut failures).await;
                requests += 1;
            }
        }
        for e in ENDPOINTS {
            for seg in odd_segments {
                for c in &cases {
                    let url = app.url(&e.replace("{id}", seg));
                    let mut req = client
                        .post(url)
                        .header("content-type", c.content_type)
                        .header("stripe-signature", "t=-9223372036854775808,v1=zz")
                        .body(c.body.clone());
                    if *e == "/webhooks/kumomta" {
                        req = req.bearer_auth("sweep-hook-secret");
                    }
                    check(
                        who,
                        req,
                        format!("POST {e} [{seg:.20}] ({})", c.what),
                        &mut failures,
                    )
                    .await;
                    requests += 1;
                }
            }
        }
        for seg in odd_segments {
            for e in GET_ENDPOINTS {
                let req = client.get(app.url(&e.replace("{id}", seg)));
                check(who, req, format!("GET {e} [{seg:.20}]"), &mut failures).await;
                requests += 1;
            }
            for p in pages(seg) {
                if p.contains("logout") {
                    continue;
                }
                let req = client.get(app.url(&p));
                check(who, req, format!("GET page {p:.60}"), &mut failures).await;
                requests += 1;
            }
        }
    }
    // A few valid-looking ids that name nothing.
    let nobody = Uuid::new_v4().to_string();
    for p in pages(&nobody) {
        let req = customer.get(app.url(&p));
        check("customer", req, format!("GET page {p}"), &mut failures).await;
        requests += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {requests} requests failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
