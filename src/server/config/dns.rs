//! `[dns]`: the records customer domains get and the resolver the health checker asks. Owned
//! by `config` (the bottom of the server) so settings never import the `dns` module.

use std::net::{IpAddr, SocketAddr};

use serde::Deserialize;

/// `[dns]` in `Leptos.toml`.
#[derive(Clone, Debug, Deserialize)]
pub struct DnsSettings {
    /// Our inbound mail hosts, e.g. `{ priority = 10, host = "mx1.inboxgrove.net" }`.
    pub mx_hosts: Vec<MxHost>,
    /// The SPF include that lists the relay's sending IPs, e.g. `_spf.inboxgrove.net`.
    pub spf_include: String,
    /// Sending IPs listed directly in SPF as well (`ip4:` / `ip6:`); may be empty.
    #[serde(default)]
    pub relay_ips: Vec<IpAddr>,
    /// The DKIM selector the relay signs with (KumoMTA `dkim_data.toml` `selector`).
    pub dkim_selector: String,
    pub dmarc_policy: DmarcPolicy,
    /// Where aggregate DMARC reports go, e.g. `mailto:dmarc@inboxgrove.net`.
    pub dmarc_rua: String,
    /// Target of the optional open/click tracking CNAME; unset or empty means no tracking
    /// record.
    #[serde(default)]
    pub tracking_host: Option<String>,
    /// The tracking CNAME's name under the customer domain (`track` → `track.example.com`).
    #[serde(default = "default_tracking_label")]
    pub tracking_label: String,
    /// The nameserver the checker asks (UDP and TCP). In sandbox mode, the local authoritative
    /// listener; in production a recursive resolver you trust.
    pub resolver: SocketAddr,
    /// How long one DNS question may take before the check is abandoned (not failed).
    #[serde(default = "default_resolver_timeout_ms")]
    pub resolver_timeout_ms: u64,
    /// How often each domain's records are checked again.
    pub check_interval_secs: u64,
    /// The nameservers the sandbox DNS provider assigns to its zones.
    #[serde(default = "default_sandbox_nameservers")]
    pub sandbox_nameservers: Vec<String>,
}

pub(crate) fn default_sandbox_nameservers() -> Vec<String> {
    vec![
        "ns1.sandbox.inboxgrove.net".into(),
        "ns2.sandbox.inboxgrove.net".into(),
    ]
}

fn default_tracking_label() -> String {
    "track".into()
}

fn default_resolver_timeout_ms() -> u64 {
    2000
}

#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
pub struct MxHost {
    pub priority: u16,
    pub host: String,
}

#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum DmarcPolicy {
    None,
    Quarantine,
    Reject,
}

impl DmarcPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Quarantine => "quarantine",
            Self::Reject => "reject",
        }
    }
}

impl DnsSettings {
    /// The tracking CNAME target, if tracking is configured at all.
    pub fn tracking_target(&self) -> Option<&str> {
        self.tracking_host
            .as_deref()
            .map(str::trim)
            .filter(|h| !h.is_empty())
    }

    pub fn validate(&self) -> anyhow::Result<()> {
        anyhow::ensure!(!self.mx_hosts.is_empty(), "dns.mx_hosts must not be empty");
        for mx in &self.mx_hosts {
            anyhow::ensure!(
                is_hostname(&mx.host),
                "dns.mx_hosts: {:?} is not a host name",
                mx.host
            );
        }
        anyhow::ensure!(
            is_hostname(&self.spf_include),
            "dns.spf_include must be a host name"
        );
        anyhow::ensure!(
            is_label(&self.dkim_selector),
            "dns.dkim_selector must be one DNS label"
        );
        anyhow::ensure!(
            self.dmarc_rua.starts_with("mailto:") && self.dmarc_rua.len() > "mailto:".len(),
            "dns.dmarc_rua must be a mailto: URI"
        );
        anyhow::ensure!(
            is_label(&self.tracking_label),
            "dns.tracking_label must be one DNS label"
        );
        if let Some(host) = self.tracking_target() {
            anyhow::ensure!(is_hostname(host), "dns.tracking_host must be a host name");
        }
        anyhow::ensure!(
            self.resolver_timeout_ms > 0 && self.check_interval_secs > 0,
            "dns.resolver_timeout_ms and dns.check_interval_secs must be positive"
        );
        Ok(())
    }
}

pub(crate) fn is_label(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

pub(crate) fn is_hostname(s: &str) -> bool {
    let s = s.strip_suffix('.').unwrap_or(s);
    s.len() <= 253 && s.contains('.') && s.split('.').all(is_label)
}
