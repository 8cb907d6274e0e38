//! The real Namecheap registrar client: its XML API over reqwest, parsed with quick-xml's serde.
//!
//! One URL serves every command (`Command=...`). Every call is a form-encoded POST, so the API
//! key travels in the body and never in a URL that an error message, a proxy or an access log
//! could print. Every call is one HTTP attempt: the caller owns retries after `RateLimited` or
//! `Unavailable` (and, for `register`, asks `info` first whether the name is already ours).
//!
//! Namecheap reports its failures as `Status="ERROR"` with numbered `<Error>`s in an HTTP 200
//! body; HTTP 405 is its rate-limit signal. Booleans come as `true`/`false` or `True`/`False`,
//! prices as decimal strings (`13000.0000`), dates as `MM/DD/YYYY`.

use std::collections::HashSet;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Duration;

use anyhow::{Context, anyhow};
use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use crate::domain::Cents;
use serde::de::DeserializeOwned;

use super::{
    Availability, Contact, DomainInfo, RegisterRequest, Registrar, RegistrarError, Registration,
    Renewal,
};

/// Per-call budget (connect, send and read the whole answer).
const TIMEOUT: Duration = Duration::from_secs(20);

/// `namecheap.domains.check` takes at most this many names (error 2011169 past it).
const MAX_CHECK: usize = 50;

/// `namecheap.domains.getList` pages: 100 is Namecheap's maximum page size.
const PAGE_SIZE: u32 = 100;
/// 100,000 domains; past that something is wrong with the paging, not the account.
const MAX_PAGES: u32 = 1_000;

/// Namecheap's API prices are in US dollars.
const CURRENCY: &str = "USD";

/// `namecheap.domains.create` wants the same contact fields once per role.
const CONTACT_ROLES: [&str; 4] = ["Registrant", "Tech", "Admin", "AuxBilling"];

/// Shown when Namecheap refuses without a message of its own.
const GENERIC_REFUSAL: &str = "The domain registrar refused the request.";

/// Errors that mean our API user, key, whitelisted IP or account is wrong or locked: our
/// misconfiguration, never the customer's doing (global error numbers, plus 2033409 "the order
/// chargeable for the UserName is not found" and 4011103 "access denied").
const OUR_MISCONFIGURATION: &[&str] = &[
    "1010101", "1010102", "1010104", "1010105", "1011102", "1011105", "1011150", "1016103",
    "1017101", "1017103", "1017105", "1017150", "1017410", "1017411", "1019103", "1030408",
    "1050900", "2033409", "4011103",
];

/// Namecheap's "unknown error" and "error from the upstream registry (Enom)" numbers: a fault on
/// their side, worth retrying later (the official Go SDK retries the same set plus 3031510).
const TRANSIENT: &[&str] = &["3031510", "3050900", "5019169", "5050169", "5050900"];

/// `namecheap.domains.getInfo` for a name that is not in our account: "domain (name) not found",
/// "domain is not associated with your account" (and its Enom twin).
const NOT_IN_ACCOUNT: &[&str] = &["2019166", "2016166", "3016166"];

pub use crate::server::config::providers::NamecheapSettings;

pub struct NamecheapClient {
    http: reqwest::Client,
    api_base: reqwest::Url,
    settings: NamecheapSettings,
    api_key: SecretString,
}

/// Never prints the API key.
impl fmt::Debug for NamecheapClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("NamecheapClient")
            .field("api_base", &self.settings.api_base)
            .field("api_user", &self.settings.api_user)
            .field("user_name", &self.settings.user_name)
            .field("client_ip", &self.settings.client_ip)
            .finish_non_exhaustive()
    }
}

impl NamecheapClient {
    pub fn new(settings: NamecheapSettings, api_key: &SecretString) -> anyhow::Result<Self> {
        let api_base = reqwest::Url::parse(&settings.api_base).with_context(|| {
            format!(
                "the Namecheap API base is not a URL (got {:?})",
                settings.api_base
            )
        })?;
        anyhow::ensure!(
            matches!(api_base.scheme(), "https" | "http"),
            "the Namecheap API base must be an http(s) URL (got {:?})",
            settings.api_base
        );
        anyhow::ensure!(
            !settings.api_user.trim().is_empty(),
            "the Namecheap API user is empty"
        );
        anyhow::ensure!(
            !settings.user_name.trim().is_empty(),
            "the Namecheap user name is empty"
        );
        settings.client_ip.parse::<Ipv4Addr>().with_context(|| {
            format!(
                "Namecheap takes only an IPv4 ClientIp (got {:?})",
                settings.client_ip
            )
        })?;
        anyhow::ensure!(
            !api_key.expose_secret().trim().is_empty(),
            "the Namecheap API key is empty"
        );
        let http = reqwest::Client::builder()
            .timeout(TIMEOUT)
            .build()
            .context("building the Namecheap HTTP client")?;
        Ok(Self {
            http,
            api_base,
            settings,
            api_key: api_key.clone(),
        })
    }

    /// POSTs `command` with the global parameters. Transport, HTTP and parse failures are the
    /// outer error (already logged); Namecheap's own `Status="ERROR"` is the inner one, so a
    /// caller can give a number its own meaning before [`refused`] maps it.
    async fn call<T: DeserializeOwned>(
        &self,
        command: &'static str,
        params: Vec<(String, String)>,
    ) -> Result<Result<T, ApiError>, RegistrarError> {
        let mut form: Vec<(&str, &str)> = vec![
            ("ApiUser", &self.settings.api_user),
            ("ApiKey", self.api_key.expose_secret()),
            ("UserName", &self.settings.user_name),
            ("ClientIp", &self.settings.client_ip),
            ("Command", command),
        ];
        form.extend(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));

        let response = self
            .http
            .post(self.api_base.clone())
            .form(&form)
            .send()
            .await
            .map_err(|err| logged(command, transport(command, err)))?;

        let status = response.status();
        if status == StatusCode::METHOD_NOT_ALLOWED || status == StatusCode::TOO_MANY_REQUESTS {
            let retry_after_secs = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok());
            return Err(logged(
                command,
                RegistrarError::RateLimited { retry_after_secs },
            ));
        }
        if status.is_server_error() {
            return Err(logged(
                command,
                RegistrarError::Unavailable(anyhow!("Namecheap answered {command} with {status}")),
            ));
        }
        if !status.is_success() {
            return Err(logged(
                command,
                RegistrarError::Unexpected(anyhow!("Namecheap answered {command} with {status}")),
            ));
        }
        let body = response
            .text()
            .await
            .map_err(|err| logged(command, transport(command, err)))?;
        parse(command, &body).map_err(|err| logged(command, err))
    }

    /// [`Self::call`] for commands whose every `Status="ERROR"` goes through [`refused`].
    async fn run<T: DeserializeOwned>(
        &self,
        command: &'static str,
        params: Vec<(String, String)>,
    ) -> Result<T, RegistrarError> {
        self.call(command, params)
            .await?
            .map_err(|err| refused(command, err))
    }
}

fn transport(command: &'static str, err: reqwest::Error) -> RegistrarError {
    if err.is_builder() {
        RegistrarError::Unexpected(
            anyhow::Error::new(err).context(format!("building the Namecheap {command} request")),
        )
    } else if err.is_timeout() {
        RegistrarError::Unavailable(anyhow!(
            "Namecheap did not answer {command} within {TIMEOUT:?}"
        ))
    } else {
        RegistrarError::Unavailable(
            anyhow::Error::new(err).context(format!("calling Namecheap ({command})")),
        )
    }
}

/// Logs a failure (never with the request's parameters, which carry the key) and returns it.
fn logged(command: &'static str, err: RegistrarError) -> RegistrarError {
    match &err {
        RegistrarError::Refused { code, message } => {
            tracing::info!(command, code = code.as_deref(), %message, "namecheap refused the request");
        }
        RegistrarError::RateLimited { retry_after_secs } => {
            tracing::warn!(command, ?retry_after_secs, "namecheap is rate limiting us");
        }
        other => {
            tracing::warn!(command, error = %format!("{other:#}"), "namecheap call failed");
        }
    }
    err
}

/// Maps one of Namecheap's numbered errors.
fn refused(command: &'static str, err: ApiError) -> RegistrarError {
    let number = err.number.trim();
    let message = err.message.trim();
    let mapped = if OUR_MISCONFIGURATION.contains(&number) {
        RegistrarError::Unexpected(anyhow!(
            "Namecheap refused {command} with error {number}: {message} \
             (check the API user, key, user name and whitelisted ClientIp)"
        ))
    } else if TRANSIENT.contains(&number) {
        RegistrarError::Unavailable(anyhow!(
            "Namecheap failed {command} with error {number}: {message}"
        ))
    } else {
        // Taken, premium, unsupported or invalid TLD, bad contact data, unknown numbers...
        RegistrarError::Refused {
            code: (!number.is_empty()).then(|| number.to_owned()),
            message: if message.is_empty() {
                GENERIC_REFUSAL.to_owned()
            } else {
                message.to_owned()
            },
        }
    };
    logged(command, mapped)
}

/// Reads `<ApiResponse>`: first its status and errors, then (when OK) the `<CommandResponse>`.
fn parse<T: DeserializeOwned>(
    command: &'static str,
    body: &str,
) -> Result<Result<T, ApiError>, RegistrarError> {
    let body = body.trim_start_matches('\u{feff}').trim_start();
    let unreadable = |err: quick_xml::DeError| {
        RegistrarError::Unexpected(anyhow!("unreadable Namecheap answer to {command}: {err}"))
    };
    let envelope: Envelope = quick_xml::de::from_str(body).map_err(unreadable)?;
    if envelope.status.trim().eq_ignore_ascii_case("ERROR") {
        let mut errors = envelope.errors.items.into_iter();
        let first = errors.next().ok_or_else(|| {
            RegistrarError::Unexpected(anyhow!(
                "Namecheap answered {command} with Status=ERROR but no error"
            ))
        })?;
        for other in errors {
            tracing::info!(command, number = %other.number, message = %other.message, "namecheap also reported");
        }
        return Ok(Err(first));
    }
    if !envelope.status.trim().eq_ignore_ascii_case("OK") {
        return Err(RegistrarError::Unexpected(anyhow!(
            "Namecheap answered {command} with Status={:?}",
            envelope.status
        )));
    }
    let response: CommandResponse<T> = quick_xml::de::from_str(body).map_err(unreadable)?;
    Ok(Ok(response.command))
}

/// The ASCII (punycode) lower-case form of a registrable name, or a refusal: Namecheap takes
/// IDNs only as punycode.
fn domain_name(name: &str) -> Result<String, RegistrarError> {
    let name = name.trim().trim_end_matches('.').to_ascii_lowercase();
    if is_hostname(&name) {
        Ok(name)
    } else {
        Err(RegistrarError::Refused {
            code: None,
            message: format!("{name:?} is not a domain name the registrar accepts"),
        })
    }
}

fn is_hostname(name: &str) -> bool {
    name.len() <= 253
        && name.contains('.')
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn nameserver_list(nameservers: &[String]) -> Result<String, RegistrarError> {
    let cleaned: Vec<String> = nameservers
        .iter()
        .map(|ns| ns.trim().trim_end_matches('.').to_ascii_lowercase())
        .collect();
    if let Some(bad) = cleaned.iter().find(|ns| !is_hostname(ns)) {
        return Err(RegistrarError::Unexpected(anyhow!(
            "{bad:?} is not a nameserver host name"
        )));
    }
    Ok(cleaned.join(","))
}

/// Namecheap's booleans: `true`/`false`, sometimes `True`/`False`.
fn flag(value: &str) -> bool {
    value.trim().eq_ignore_ascii_case("true")
}

/// `"13000.0000"` → 1_300_000 cents, rounding half up past the cent; `None` when empty or not a
/// plain non-negative decimal.
fn cents(value: &str) -> Option<i64> {
    let value = value.trim();
    let (whole, fraction) = value.split_once('.').unwrap_or((value, ""));
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if whole.is_empty() || !digits(whole) || !digits(fraction) {
        return None;
    }
    let mut frac = fraction.bytes().map(|b| i64::from(b - b'0'));
    let tenths = frac.next().unwrap_or(0);
    let hundredths = frac.next().unwrap_or(0);
    let round_up = i64::from(frac.next().unwrap_or(0) >= 5);
    whole
        .parse::<i64>()
        .ok()?
        .checked_mul(100)?
        .checked_add(tenths * 10 + hundredths + round_up)
}

/// `MM/DD/YYYY` as midnight UTC; a time after it (`4/30/2021 11:31:13 AM`, in the renewal
/// answer, with no zone) is dropped.
fn date(value: &str) -> Option<DateTime<Utc>> {
    let day = value.split_whitespace().next()?;
    NaiveDate::parse_from_str(day, "%m/%d/%Y")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|dt| dt.and_utc())
}

fn contact_fields(contact: &Contact) -> [(&'static str, &str); 10] {
    [
        ("FirstName", contact.first_name.as_str()),
        ("LastName", contact.last_name.as_str()),
        ("OrganizationName", contact.organization.as_str()),
        ("Address1", contact.address1.as_str()),
        ("City", contact.city.as_str()),
        ("StateProvince", contact.state_province.as_str()),
        ("PostalCode", contact.postal_code.as_str()),
        ("Country", contact.country.as_str()),
        ("Phone", contact.phone.as_str()),
        ("EmailAddress", contact.email.as_str()),
    ]
}

fn param(key: impl Into<String>, value: impl Into<String>) -> (String, String) {
    (key.into(), value.into())
}

#[async_trait]
impl Registrar for NamecheapClient {
    fn name(&self) -> &'static str {
        "namecheap"
    }

    async fn check(&self, names: &[String]) -> Result<Vec<Availability>, RegistrarError> {
        const COMMAND: &str = "namecheap.domains.check";
        if names.is_empty() {
            return Ok(Vec::new());
        }
        if names.len() > MAX_CHECK {
            return Err(logged(
                COMMAND,
                RegistrarError::Unexpected(anyhow!(
                    "Namecheap checks at most {MAX_CHECK} names per call (got {})",
                    names.len()
                )),
            ));
        }
        let names = names
            .iter()
            .map(|name| domain_name(name))
            .collect::<Result<Vec<_>, _>>()?;
        let answer: CheckAnswer = self
            .run(COMMAND, vec![param("DomainList", names.join(","))])
            .await?;

        names
            .into_iter()
            .map(|name| {
                let result = answer
                    .results
                    .iter()
                    .find(|r| r.domain.trim().eq_ignore_ascii_case(&name))
                    .ok_or_else(|| {
                        logged(
                            COMMAND,
                            RegistrarError::Unexpected(anyhow!(
                                "Namecheap's check answer has no result for {name}"
                            )),
                        )
                    })?;
                if !matches!(result.error_no.trim(), "" | "0") {
                    tracing::info!(domain = %name, error_no = %result.error_no, description = %result.description, "namecheap could not check a name");
                }
                let premium = flag(&result.is_premium_name);
                // A premium name costs its own price (plus the early-access fee while one
                // applies); for a regular name the check says nothing about price.
                let cost_cents = if premium {
                    cents(&result.premium_registration_price)
                        .filter(|price| *price > 0)
                        .map(|price| Cents(price + cents(&result.eap_fee).unwrap_or(0)))
                } else {
                    None
                };
                Ok(Availability {
                    available: flag(&result.available),
                    premium,
                    cost_cents,
                    currency: CURRENCY.to_owned(),
                    name,
                })
            })
            .collect()
    }

    async fn register(&self, request: &RegisterRequest) -> Result<Registration, RegistrarError> {
        const COMMAND: &str = "namecheap.domains.create";
        let name = domain_name(&request.name)?;
        if !(1..=10).contains(&request.years) {
            return Err(logged(
                COMMAND,
                RegistrarError::Unexpected(anyhow!(
                    "a registration lasts 1 to 10 years (got {})",
                    request.years
                )),
            ));
        }
        let mut params = vec![
            param("DomainName", name.as_str()),
            param("Years", request.years.to_string()),
        ];
        for role in CONTACT_ROLES {
            for (field, value) in contact_fields(&request.contact) {
                let value = value.trim();
                if !value.is_empty() {
                    params.push(param(format!("{role}{field}"), value));
                }
            }
        }
        if !request.nameservers.is_empty() {
            params.push(param(
                "Nameservers",
                nameserver_list(&request.nameservers).map_err(|err| logged(COMMAND, err))?,
            ));
        }

        let answer: CreateAnswer = self.run(COMMAND, params).await?;
        let result = answer.result;
        if !flag(&result.registered) {
            return Err(logged(
                COMMAND,
                RegistrarError::Refused {
                    code: None,
                    message: format!("The registrar did not register {name}."),
                },
            ));
        }
        // Registered: never fail from here on, or a retry would try to buy it again.
        let registrar_id = [&result.domain_id, &result.order_id]
            .into_iter()
            .map(|id| id.trim())
            .find(|id| !id.is_empty())
            .unwrap_or_else(|| {
                tracing::warn!(domain = %name, "namecheap registered a domain without giving its id");
                ""
            })
            .to_owned();
        Ok(Registration {
            name,
            registrar_id,
            charged_cents: cents(&result.charged_amount).map(Cents),
        })
    }

    async fn set_nameservers(
        &self,
        name: &str,
        nameservers: &[String],
    ) -> Result<(), RegistrarError> {
        const COMMAND: &str = "namecheap.domains.dns.setCustom";
        let name = domain_name(name)?;
        if nameservers.is_empty() {
            return Err(logged(
                COMMAND,
                RegistrarError::Unexpected(anyhow!("custom nameservers for {name}: none given")),
            ));
        }
        let nameservers = nameserver_list(nameservers).map_err(|err| logged(COMMAND, err))?;
        // We only hold registrable names, so the first label is the SLD and the rest the
        // (possibly multi-label) TLD: example.co.uk → SLD "example", TLD "co.uk".
        let (sld, tld) = name.split_once('.').expect("a validated name has a dot");
        let answer: SetCustomAnswer = self
            .run(
                COMMAND,
                vec![
                    param("SLD", sld),
                    param("TLD", tld),
                    param("Nameservers", nameservers),
                ],
            )
            .await?;
        if flag(&answer.result.updated) {
            Ok(())
        } else {
            Err(logged(
                COMMAND,
                RegistrarError::Unexpected(anyhow!(
                    "Namecheap did not update the nameservers of {name}"
                )),
            ))
        }
    }

    async fn renew(&self, name: &str, years: u32) -> Result<Renewal, RegistrarError> {
        const COMMAND: &str = "namecheap.domains.renew";
        let name = domain_name(name)?;
        if !(1..=10).contains(&years) {
            return Err(logged(
                COMMAND,
                RegistrarError::Unexpected(anyhow!("a renewal lasts 1 to 10 years (got {years})")),
            ));
        }
        let answer: RenewAnswer = self
            .run(
                COMMAND,
                vec![
                    param("DomainName", name.as_str()),
                    param("Years", years.to_string()),
                ],
            )
            .await?;
        let result = answer.result;
        if !flag(&result.renew) {
            return Err(logged(
                COMMAND,
                RegistrarError::Refused {
                    code: None,
                    message: format!("The registrar did not renew {name}."),
                },
            ));
        }
        Ok(Renewal {
            name,
            expires: result.details.as_ref().and_then(|d| date(&d.expired_date)),
            charged_cents: cents(&result.charged_amount).map(Cents),
        })
    }

    async fn info(&self, name: &str) -> Result<Option<DomainInfo>, RegistrarError> {
        const COMMAND: &str = "namecheap.domains.getInfo";
        let name = domain_name(name)?;
        let answer: InfoAnswer = match self
            .call(COMMAND, vec![param("DomainName", name.as_str())])
            .await?
        {
            Ok(answer) => answer,
            Err(err) if NOT_IN_ACCOUNT.contains(&err.number.trim()) => {
                tracing::debug!(domain = %name, number = %err.number, "not in our namecheap account");
                return Ok(None);
            }
            Err(err) => return Err(refused(COMMAND, err)),
        };
        let result = answer.result;
        let reported = result.domain_name.trim().to_ascii_lowercase();
        Ok(Some(DomainInfo {
            name: if reported.is_empty() { name } else { reported },
            expires: result.details.as_ref().and_then(|d| date(&d.expired_date)),
            nameservers: result
                .dns
                .map(|dns| {
                    dns.nameservers
                        .iter()
                        .map(|ns| ns.trim().to_ascii_lowercase())
                        .filter(|ns| !ns.is_empty())
                        .collect()
                })
                .unwrap_or_default(),
            // Shared with us but owned by another account: visible, not ours.
            ours: result.is_owner.as_deref().is_none_or(flag),
        }))
    }

    async fn list(&self) -> Result<Vec<DomainInfo>, RegistrarError> {
        const COMMAND: &str = "namecheap.domains.getList";
        let mut seen = HashSet::new();
        let mut domains = Vec::new();
        for page in 1..=MAX_PAGES {
            let answer: ListAnswer = self
                .run(
                    COMMAND,
                    vec![
                        param("ListType", "ALL"),
                        // A fixed order keeps pages from overlapping or skipping.
                        param("SortBy", "NAME"),
                        param("Page", page.to_string()),
                        param("PageSize", PAGE_SIZE.to_string()),
                    ],
                )
                .await?;
            let on_page = answer.result.domains.len();
            for domain in answer.result.domains {
                let name = domain.name.trim().to_ascii_lowercase();
                if !name.is_empty() && seen.insert(name.clone()) {
                    domains.push(DomainInfo {
                        name,
                        expires: date(&domain.expires),
                        // getList does not say; `info` does.
                        nameservers: Vec::new(),
                        ours: true,
                    });
                }
            }
            let total = answer.paging.map_or(0, |p| p.total_items);
            let listed = u64::try_from(domains.len()).unwrap_or(u64::MAX);
            if on_page == 0 || listed >= total {
                return Ok(domains);
            }
        }
        Err(logged(
            COMMAND,
            RegistrarError::Unexpected(anyhow!(
                "Namecheap's domain list did not end within {MAX_PAGES} pages"
            )),
        ))
    }
}

// ---- Wire types. Attributes are `@Name`; whatever is not named here is ignored. ----

#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "@Status")]
    status: String,
    #[serde(rename = "Errors", default)]
    errors: Errors,
}

#[derive(Default, Deserialize)]
struct Errors {
    #[serde(rename = "Error", default)]
    items: Vec<ApiError>,
}

#[derive(Debug, Deserialize)]
struct ApiError {
    #[serde(rename = "@Number", default)]
    number: String,
    #[serde(rename = "$text", default)]
    message: String,
}

#[derive(Deserialize)]
struct CommandResponse<T> {
    #[serde(rename = "CommandResponse")]
    command: T,
}

#[derive(Deserialize)]
struct CheckAnswer {
    #[serde(rename = "DomainCheckResult", default)]
    results: Vec<CheckResult>,
}

#[derive(Deserialize)]
struct CheckResult {
    #[serde(rename = "@Domain")]
    domain: String,
    #[serde(rename = "@Available")]
    available: String,
    #[serde(rename = "@ErrorNo", default)]
    error_no: String,
    #[serde(rename = "@Description", default)]
    description: String,
    #[serde(rename = "@IsPremiumName", default)]
    is_premium_name: String,
    #[serde(rename = "@PremiumRegistrationPrice", default)]
    premium_registration_price: String,
    #[serde(rename = "@EapFee", default)]
    eap_fee: String,
}

#[derive(Deserialize)]
struct CreateAnswer {
    #[serde(rename = "DomainCreateResult")]
    result: CreateResult,
}

#[derive(Deserialize)]
struct CreateResult {
    #[serde(rename = "@Registered")]
    registered: String,
    #[serde(rename = "@ChargedAmount", default)]
    charged_amount: String,
    #[serde(rename = "@DomainID", default)]
    domain_id: String,
    #[serde(rename = "@OrderID", default)]
    order_id: String,
}

#[derive(Deserialize)]
struct SetCustomAnswer {
    #[serde(rename = "DomainDNSSetCustomResult")]
    result: SetCustomResult,
}

#[derive(Deserialize)]
struct SetCustomResult {
    #[serde(rename = "@Updated")]
    updated: String,
}

#[derive(Deserialize)]
struct RenewAnswer {
    #[serde(rename = "DomainRenewResult")]
    result: RenewResult,
}

#[derive(Deserialize)]
struct RenewResult {
    #[serde(rename = "@Renew")]
    renew: String,
    #[serde(rename = "@ChargedAmount", default)]
    charged_amount: String,
    #[serde(rename = "DomainDetails", default)]
    details: Option<InfoDetails>,
}

#[derive(Deserialize)]
struct InfoAnswer {
    #[serde(rename = "DomainGetInfoResult")]
    result: InfoResult,
}

#[derive(Deserialize)]
struct InfoResult {
    #[serde(rename = "@DomainName", default)]
    domain_name: String,
    #[serde(rename = "@IsOwner", default)]
    is_owner: Option<String>,
    #[serde(rename = "DomainDetails", default)]
    details: Option<InfoDetails>,
    #[serde(rename = "DnsDetails", default)]
    dns: Option<InfoDns>,
}

#[derive(Deserialize)]
struct InfoDetails {
    #[serde(rename = "ExpiredDate", default)]
    expired_date: String,
}

#[derive(Deserialize)]
struct InfoDns {
    #[serde(rename = "Nameserver", default)]
    nameservers: Vec<String>,
}

#[derive(Deserialize)]
struct ListAnswer {
    #[serde(rename = "DomainGetListResult", default)]
    result: ListResult,
    #[serde(rename = "Paging", default)]
    paging: Option<Paging>,
}

#[derive(Default, Deserialize)]
struct ListResult {
    #[serde(rename = "Domain", default)]
    domains: Vec<ListedDomain>,
}

#[derive(Deserialize)]
struct ListedDomain {
    #[serde(rename = "@Name")]
    name: String,
    #[serde(rename = "@Expires", default)]
    expires: String,
}

#[derive(Deserialize)]
struct Paging {
    #[serde(rename = "TotalItems")]
    total_items: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    proptest::proptest! {
        /// Whatever Namecheap (or something in between) answers: an error, never a panic.
        #[test]
        fn namecheap_answers_never_panic(s in proptest::prelude::any::<String>()) {
            let _ = parse::<CheckAnswer>("namecheap.domains.check", &s);
            let _ = parse::<CreateAnswer>("namecheap.domains.create", &s);
            let _ = parse::<RenewAnswer>("namecheap.domains.renew", &s);
            let _ = cents(&s);
            let _ = date(&s);
            let _ = flag(&s);
            let _ = domain_name(&s);
        }

        #[test]
        fn namecheap_xml_like_answers_never_panic(s in "<\\??[A-Za-z]{0,12}( [A-Za-z]{1,8}=\"[^\"]{0,12}\")*/?>{0,1}[<>/A-Za-z\"= \\p{L}]{0,200}") {
            let _ = parse::<CheckAnswer>("namecheap.domains.check", &s);
        }
    }

    #[test]
    fn prices_become_cents_without_floating_point() {
        assert_eq!(cents("13000.0000"), Some(1_300_000));
        assert_eq!(cents("10.87"), Some(1087));
        assert_eq!(cents("206.7"), Some(20670));
        assert_eq!(cents("8"), Some(800));
        assert_eq!(cents("0.185"), Some(19));
        assert_eq!(cents(""), None);
        assert_eq!(cents("-1.00"), None);
        assert_eq!(cents("1,000.00"), None);
    }

    #[test]
    fn dates_are_month_day_year() {
        let expected = NaiveDate::from_ymd_opt(2017, 4, 23)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            .and_utc();
        assert_eq!(date("04/23/2017"), Some(expected));
        assert_eq!(date("4/23/2017 11:31:13 AM"), Some(expected));
        assert_eq!(date(""), None);
        assert_eq!(date("0001-01-01T00:00:00"), None);
    }

    #[test]
    fn only_ascii_registrable_names_are_accepted() {
        assert_eq!(domain_name(" Example.COM. ").unwrap(), "example.com");
        assert_eq!(
            domain_name("xn--bcher-kva.co.uk").unwrap(),
            "xn--bcher-kva.co.uk"
        );
        for bad in [
            "bücher.de",
            "com",
            "a..com",
            "-a.com",
            "a,b.com",
            "a b.com",
            "",
        ] {
            assert!(domain_name(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
