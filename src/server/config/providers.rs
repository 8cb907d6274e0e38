//! Provider settings (`[registrar.*]`, `[cloudflare]`): plain data read from `Leptos.toml`.
//! Owned by `config` so settings never import `providers`; each provider re-exports its own.

use serde::Deserialize;
use std::collections::BTreeMap;

/// `[registrar.sandbox]` in `Leptos.toml`.
#[derive(Clone, Debug, Deserialize)]
pub struct SandboxRegistrarSettings {
    /// Our cost per TLD for one year, in cents.
    pub prices: BTreeMap<String, i64>,
    pub currency: String,
    /// Names that are always taken (as if registered by someone else).
    #[serde(default)]
    pub taken: Vec<String>,
}

/// Who the domain is registered to (all four Namecheap contact roles get the same one).
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct Contact {
    pub first_name: String,
    pub last_name: String,
    pub organization: String,
    pub address1: String,
    pub city: String,
    pub state_province: String,
    pub postal_code: String,
    /// ISO 3166-1 alpha-2, e.g. "US".
    pub country: String,
    /// "+1.5555555555"
    pub phone: String,
    pub email: String,
}

/// Where and as whom the client calls Namecheap. The API key is passed apart, as a secret.
#[derive(Clone, Debug, Deserialize)]
pub struct NamecheapSettings {
    /// `https://api.namecheap.com/xml.response`, or
    /// `https://api.sandbox.namecheap.com/xml.response` for the sandbox.
    pub api_base: String,
    pub api_user: String,
    /// The account commands act on; usually the same as `api_user`.
    pub user_name: String,
    /// The IPv4 address our calls come from; Namecheap only answers whitelisted ones.
    pub client_ip: String,
}

/// Cloudflare's v4 API.
pub const CLOUDFLARE_API_BASE: &str = "https://api.cloudflare.com/client/v4";

/// `[cloudflare]`: the DNS account used when `CLOUDFLARE_API_TOKEN` is set.
#[derive(Clone, Debug, Deserialize)]
pub struct CloudflareSettings {
    /// `https://api.cloudflare.com/client/v4` (a local fake in tests); no trailing `/` needed.
    #[serde(default = "default_api_base")]
    pub api_base: String,
    /// The account new zones are created in, and the only one zones are looked up in.
    pub account_id: String,
}

fn default_api_base() -> String {
    CLOUDFLARE_API_BASE.to_owned()
}
