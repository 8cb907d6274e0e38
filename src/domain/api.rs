//! The public API's keys and outbound webhooks, as the settings page shows them. Plain data,
//! compiled for both halves.

use serde::{Deserialize, Serialize};

use super::Role;

/// What a key may do. A key also never does more than its creator's current role allows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Scope {
    /// Read domains, inboxes (without passwords), usage, the audit trail and deliverability.
    Read,
    /// Search, buy, connect, recheck and delete domains.
    DomainsWrite,
    /// Provision, change, suspend, resume and delete inboxes.
    InboxesWrite,
    /// Export inbox credentials (passwords).
    CredentialsRead,
}

impl Scope {
    pub const ALL: [Scope; 4] = [
        Scope::Read,
        Scope::DomainsWrite,
        Scope::InboxesWrite,
        Scope::CredentialsRead,
    ];

    pub const fn as_str(self) -> &'static str {
        match self {
            Scope::Read => "read",
            Scope::DomainsWrite => "domains:write",
            Scope::InboxesWrite => "inboxes:write",
            Scope::CredentialsRead => "credentials:read",
        }
    }

    pub fn parse(s: &str) -> Option<Scope> {
        Scope::ALL.into_iter().find(|x| x.as_str() == s.trim())
    }

    pub const fn label(self) -> &'static str {
        match self {
            Scope::Read => "Read domains, inboxes, usage and the audit trail",
            Scope::DomainsWrite => "Buy, connect, recheck and delete domains",
            Scope::InboxesWrite => "Create, change and delete inboxes",
            Scope::CredentialsRead => "Export inbox passwords",
        }
    }

    /// Scopes that change or reveal things need an owner or admin behind the key.
    pub fn needs_manager(self) -> bool {
        self != Scope::Read
    }
}

/// The scopes a comma-separated list names, each once, in the canonical order; an unknown
/// name is an error that says which.
pub fn parse_scopes(list: &str) -> Result<Vec<Scope>, String> {
    let mut out = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        match Scope::parse(part) {
            Some(s) => {
                if !out.contains(&s) {
                    out.push(s)
                }
            }
            None => {
                return Err(format!(
                    "“{}” is not a scope: choose from read, domains:write, inboxes:write, credentials:read.",
                    part.chars().take(40).collect::<String>()
                ));
            }
        }
    }
    if out.is_empty() {
        return Err("Choose at least one scope.".into());
    }
    out.sort_by_key(|s| Scope::ALL.iter().position(|x| x == s));
    Ok(out)
}

/// Whether `role` may hold a key with `scopes` (members: `read` only).
pub fn role_may_hold(role: Role, scopes: &[Scope]) -> bool {
    role.can_manage() || scopes.iter().all(|s| !s.needs_manager())
}

/// One key as listed (never its secret).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKeyView {
    pub id: String,
    pub name: String,
    /// The visible start of the key, e.g. `igk_3f9a0c1d`.
    pub prefix: String,
    pub scopes: Vec<String>,
    pub created: String,
    pub created_by: String,
    pub expires: Option<String>,
    pub last_used: Option<String>,
    pub last_used_ip: Option<String>,
    /// `active`, `expired` or `revoked`.
    pub state: String,
}

/// The API settings page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiSettingsView {
    pub keys: Vec<ApiKeyView>,
    pub can_manage: bool,
    /// Webhook endpoints are the owners' to change.
    pub owner: bool,
    /// Calls this month and the plan's allowance.
    pub calls_this_month: i64,
    pub calls_allowed: i64,
    pub endpoints: Vec<WebhookView>,
    pub events: Vec<String>,
    pub tools: Vec<ToolView>,
}

/// A key just made: the only time its secret is shown.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CreatedKey {
    pub id: String,
    pub prefix: String,
    pub secret: String,
}

/// The events a webhook endpoint can subscribe to.
pub const WEBHOOK_EVENTS: [&str; 9] = [
    "domain.active",
    "domain.failed",
    "dns.broken",
    "inbox.batch.created",
    "inbox.suspended",
    "workspace.suspended",
    "deliverability.at_risk",
    "deliverability.blocklisted",
    "webhook.test",
];

/// The events a comma-separated list names, each once; an unknown one is an error.
pub fn parse_events(list: &str) -> Result<Vec<String>, String> {
    let mut out: Vec<String> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if !WEBHOOK_EVENTS.contains(&part) {
            return Err(format!(
                "“{}” is not an event we send.",
                part.chars().take(40).collect::<String>()
            ));
        }
        if !out.iter().any(|e| e == part) {
            out.push(part.to_string());
        }
    }
    if out.is_empty() {
        return Err("Choose at least one event.".into());
    }
    Ok(out)
}

/// One webhook endpoint as listed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub failing_since: Option<String>,
    pub deliveries: Vec<DeliveryView>,
}

/// One delivery of an event to an endpoint.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeliveryView {
    pub id: String,
    pub event: String,
    /// `pending`, `delivered`, `failed` (retrying) or `given_up`.
    pub status: String,
    pub attempts: i32,
    pub last_status: Option<i32>,
    pub last_ms: Option<i32>,
    pub last_error: Option<String>,
    pub created: String,
}

/// A cold-email tool's connection (the customer's key for it, never shown again).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ToolView {
    pub tool: String,
    pub label: String,
    /// The last four characters of the stored key, when one is stored.
    pub key_hint: Option<String>,
}

/// What pushing one inbox to a tool did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushItem {
    pub address: String,
    /// `added`, `exists` or `refused`.
    pub outcome: String,
    pub message: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_parse_in_canonical_order_without_repeats() {
        let s = parse_scopes("credentials:read, read,read").unwrap();
        assert_eq!(s, vec![Scope::Read, Scope::CredentialsRead]);
    }

    #[test]
    fn an_unknown_or_empty_scope_list_is_refused() {
        assert!(parse_scopes("admin").unwrap_err().contains("not a scope"));
        assert!(parse_scopes(" , ").is_err());
    }

    #[test]
    fn a_member_may_hold_read_keys_only() {
        assert!(role_may_hold(Role::Member, &[Scope::Read]));
        assert!(!role_may_hold(
            Role::Member,
            &[Scope::Read, Scope::InboxesWrite]
        ));
        assert!(role_may_hold(Role::Admin, &Scope::ALL));
    }

    #[test]
    fn events_must_be_ones_we_send() {
        assert_eq!(
            parse_events("domain.active,domain.active").unwrap(),
            vec!["domain.active"]
        );
        assert!(parse_events("everything").is_err());
    }
}
