//! What the staff panel shows.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTenantRow {
    pub id: String,
    pub name: String,
    pub owner_email: String,
    pub status: String,
    pub plan: String,
    pub domains: i64,
    pub inboxes: i64,
    pub created: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTenantsView {
    pub tenants: Vec<AdminTenantRow>,
    pub total: i64,
    pub page: i64,
    pub pages: i64,
    pub query: String,
    pub status: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminSuspension {
    pub category: String,
    pub reason: String,
    pub actor: String,
    pub created: String,
    pub lifted: Option<String>,
    pub lifted_by: Option<String>,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminAuditEntry {
    pub at: String,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdminTenantDetail {
    pub tenant: AdminTenantRow,
    pub members: Vec<(String, String)>,
    pub domain_names: Vec<(String, String)>,
    pub suspensions: Vec<AdminSuspension>,
    pub audit: Vec<AdminAuditEntry>,
}

pub const SUSPENSION_CATEGORIES: [&str; 4] = ["abuse", "payment", "terms", "manual"];
