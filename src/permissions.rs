//! What each role may do, in one table over every customer server function and endpoint. The
//! door (`http::middleware`) refuses a request whose role the table does not allow, before the
//! server function runs; a path missing from the table is refused to everyone (a test proves
//! every server function is in it). Pages are all readable by every member: what a page can
//! *do* goes through the server functions below. Plain data, compiled for both halves, so the
//! pages can hide what a role cannot use.
//!
//! - owner: everything, including billing changes, ownership and closing the workspace;
//! - admin: everything but billing changes and ownership;
//! - member: read-only, and no credential reveal or export.
//!
//! The user's own account (sessions, password, confirming the address, switching or creating a
//! workspace) is open to every role: it is theirs, not the workspace's.

use crate::domain::Role;

/// What a request needs of the member's role.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Need {
    /// Any member: reading, and the user's own account.
    Read,
    /// Owners and admins: buying, connecting, provisioning, revealing, exporting, the team.
    Manage,
    /// Owners: the subscription and payments.
    Billing,
    /// Owners: ownership itself.
    Owner,
}

impl Need {
    pub fn allows(self, role: Role) -> bool {
        match self {
            Need::Read => true,
            Need::Manage => matches!(role, Role::Owner | Role::Admin),
            Need::Billing | Need::Owner => role == Role::Owner,
        }
    }

    /// What a refused member is told.
    pub fn refusal(self) -> &'static str {
        match self {
            Need::Read => "This is not open to your role.",
            Need::Manage => "Only owners and admins can do this.",
            Need::Billing => "Only owners can change billing.",
            Need::Owner => "Only owners can do this.",
        }
    }
}

use Need::{Billing, Manage, Owner, Read};

/// Every customer server function (`/api/…`) and plain endpoint, and what it needs.
pub const ACTIONS: &[(&str, Need)] = &[
    // The workspace, read.
    ("/api/dashboard", Read),
    ("/api/activity", Read),
    ("/api/domains", Read),
    ("/api/domains/detail", Read),
    ("/api/domains/search", Read),
    ("/api/inboxes", Read),
    ("/api/inboxes/detail", Read),
    ("/api/inboxes/wizard", Read),
    ("/api/billing", Read),
    ("/api/billing/checkout-status", Read),
    ("/api/billing/cards", Read),
    ("/api/team", Read),
    ("/api/deliverability", Read),
    ("/api/integrations", Read),
    // Domains and inboxes, changed.
    ("/api/deliverability/check-blocklists", Manage),
    ("/api/domains/buy", Manage),
    ("/api/domains/connect", Manage),
    ("/api/domains/recheck", Manage),
    ("/api/domains/repair", Manage),
    ("/api/domains/auto-renew", Manage),
    ("/api/domains/delete", Manage),
    ("/api/inboxes/provision", Manage),
    ("/api/inboxes/change", Manage),
    ("/api/inboxes/update", Manage),
    // Integrations: API keys, the cold-email tools (and pushing inboxes, with their
    // passwords, to one), webhook endpoints (owners).
    ("/api/integrations/key/create", Manage),
    ("/api/integrations/key/revoke", Manage),
    ("/api/integrations/tool", Manage),
    ("/api/integrations/push", Manage),
    ("/api/integrations/webhook/create", Owner),
    ("/api/integrations/webhook/change", Owner),
    ("/api/integrations/webhook/resend", Owner),
    // Credentials.
    ("/api/inboxes/reveal", Manage),
    ("/inboxes/export", Manage),
    // The team.
    ("/api/team/invite", Manage),
    ("/api/team/revoke", Manage),
    ("/api/team/role", Manage),
    ("/api/team/remove", Manage),
    ("/api/team/leave", Read),
    ("/api/team/transfer", Owner),
    ("/api/team/require_2fa", Owner),
    // The workspace's data, whole.
    ("/api/team/export", Owner),
    ("/settings/export", Owner),
    ("/api/team/close", Owner),
    // Billing.
    ("/api/billing/plan", Billing),
    ("/api/billing/cancel", Billing),
    ("/api/billing/portal", Billing),
    ("/api/billing/cards/add", Billing),
    ("/api/billing/cards/default", Billing),
    ("/api/billing/cards/remove", Billing),
    // The user's own account.
    ("/api/account/sessions", Read),
    ("/api/account/end_session", Read),
    ("/api/account/end_other_sessions", Read),
    ("/api/account/change_password", Read),
    ("/api/account/change_email", Read),
    ("/api/account/resend_verification", Read),
    ("/api/account/switch_workspace", Read),
    ("/api/account/create_workspace", Read),
];

/// The server functions that only read the workspace: all that staff viewing a tenant as
/// its owner may call (everything else, and every endpoint, is refused in that mode).
pub const READS: &[&str] = &[
    "/api/dashboard",
    "/api/activity",
    "/api/domains",
    "/api/domains/detail",
    "/api/domains/search",
    "/api/inboxes",
    "/api/inboxes/detail",
    "/api/inboxes/wizard",
    "/api/billing",
    "/api/billing/checkout-status",
    "/api/billing/cards",
    "/api/team",
    "/api/deliverability",
    "/api/integrations",
];

/// What `path` needs; `None` for a path the table does not list (refused to everyone).
pub fn need_of(path: &str) -> Option<Need> {
    ACTIONS.iter().find(|(p, _)| *p == path).map(|(_, n)| *n)
}

/// Whether `role` may call `path`.
pub fn allowed(path: &str, role: Role) -> bool {
    need_of(path).is_some_and(|n| n.allows(role))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_roles_are_nested_owner_over_admin_over_member() {
        for (path, _) in ACTIONS {
            if allowed(path, Role::Member) {
                assert!(allowed(path, Role::Admin), "{path}");
            }
            if allowed(path, Role::Admin) {
                assert!(allowed(path, Role::Owner), "{path}");
            }
        }
    }

    #[test]
    fn members_read_admins_manage_and_only_owners_touch_billing_and_ownership() {
        assert!(allowed("/api/dashboard", Role::Member));
        assert!(!allowed("/api/inboxes/reveal", Role::Member));
        assert!(!allowed("/inboxes/export", Role::Member));
        assert!(allowed("/inboxes/export", Role::Admin));
        assert!(!allowed("/api/billing/plan", Role::Admin));
        assert!(allowed("/api/billing/plan", Role::Owner));
        assert!(!allowed("/api/team/transfer", Role::Admin));
        assert!(
            !allowed("/api/not-listed", Role::Owner),
            "unlisted: refused"
        );
    }

    #[test]
    fn every_read_is_a_listed_function_any_member_may_call() {
        for path in READS {
            assert_eq!(need_of(path), Some(Need::Read), "{path}");
        }
    }

    #[test]
    fn each_path_is_listed_once() {
        for (i, (p, _)) in ACTIONS.iter().enumerate() {
            assert!(!ACTIONS[i + 1..].iter().any(|(q, _)| q == p), "{p} twice");
        }
    }
}
