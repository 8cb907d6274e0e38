//! The one list of the app's pages and who may open each. Plain data on std alone, compiled
//! for both halves: `app.rs` declares the same paths in its `<Routes>` (`path!` needs
//! literals), the server's guards derive their path lists from here, and startup refuses to
//! serve when the two disagree (`check_router`), so a new page cannot miss its guard.
//!
//! Guards work on *areas*: a page's first path segment (`/domains/:id` → `/domains`). Every
//! page of an area has the same access (a test below proves it), so a prefix guard covers the
//! area's pages and nothing else's.

/// Who may open a page.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Any signed-in user (staff too); a visitor is sent to `/login?next=…`. Not covered by
    /// the kill switch.
    SignedIn,
    /// A tenant's own pages: a visitor is sent to `/login?next=…`, a suspended tenant gets
    /// the suspension notice (the kill switch).
    Customer,
    /// Staff only: anyone else gets a plain 404.
    Staff,
}

impl Access {
    /// Whether a visitor is sent to the login page before the page renders.
    pub fn needs_sign_in(self) -> bool {
        matches!(self, Access::SignedIn | Access::Customer)
    }
}

/// One page: its path as `app.rs` writes it (`:id` for a parameter) and its access.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub path: &'static str,
    pub access: Access,
}

const fn page(path: &'static str, access: Access) -> Page {
    Page { path, access }
}

/// Every page of the app, in `app.rs`'s order.
pub const PAGES: &[Page] = &[
    page("/", Access::Public),
    page("/signup", Access::Public),
    page("/login", Access::Public),
    page("/login/code", Access::Public),
    page("/check-email", Access::Public),
    page("/verify-email", Access::Public),
    page("/forgot-password", Access::Public),
    page("/reset-password", Access::Public),
    page("/dashboard", Access::Customer),
    page("/billing", Access::Customer),
    page("/domains", Access::Customer),
    page("/domains/:id", Access::Customer),
    page("/inboxes", Access::Customer),
    page("/inboxes/new", Access::Customer),
    page("/inboxes/:id", Access::Customer),
    page("/billing/success", Access::Customer),
    page("/billing/cancel", Access::Customer),
    page("/staff", Access::SignedIn),
    page("/admin", Access::Staff),
    page("/admin/tenants/:id", Access::Staff),
    page("/admin/audit", Access::Staff),
    page("/admin/events", Access::Staff),
    page("/admin/jobs", Access::Staff),
    page("/admin/platform", Access::Staff),
    page("/activity", Access::Customer),
    page("/deliverability", Access::Customer),
    page("/deliverability/domains/:id", Access::Customer),
    page("/deliverability/inboxes/:id", Access::Customer),
    page("/admin/deliverability", Access::Staff),
    page("/admin/revenue", Access::Staff),
    page("/admin/providers", Access::Staff),
    page("/settings/security", Access::Customer),
    page("/settings/team", Access::Customer),
    page("/settings/api", Access::Customer),
    page("/invite", Access::Public),
];

/// Plain HTTP GET endpoints (not pages) that sit inside a page area. They answer a visitor
/// with their own 401 rather than the login redirect; the kill switch still covers them as
/// part of their area.
pub const AREA_ENDPOINTS: &[&str] = &["/inboxes/export", "/settings/export"];

/// Server functions open to a suspended tenant: signing in and out, public data, staff's
/// own. Every other `/api/` path is a customer request (kill switch, rate limits).
pub const OPEN_API: &[&str] = &["/api/auth/", "/api/plans", "/api/staff/", "/api/admin/"];

/// A page's area: its first path segment (`/domains/:id` → `/domains`; `/` for the root).
pub fn area(path: &str) -> &str {
    let rest = path.strip_prefix('/').unwrap_or(path);
    let end = rest.find('/').map_or(path.len(), |i| i + 1);
    if end <= 1 { "/" } else { &path[..end] }
}

/// The areas whose pages have this access, each once, in table order (never `/`).
pub fn areas(access: impl Fn(Access) -> bool) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for p in PAGES.iter().filter(|p| access(p.access)) {
        let a = area(p.path);
        if a != "/" && !out.contains(&a) {
            out.push(a);
        }
    }
    out
}

/// `path` lies in the area of a page whose access passes `access` (the guards' test).
pub fn in_area(path: &str, access: impl Fn(Access) -> bool) -> bool {
    PAGES
        .iter()
        .any(|p| access(p.access) && area(p.path) != "/" && under(path, area(p.path)))
}

/// `path` is `prefix` or below it (`/billing` covers `/billing/success`, not `/billings`); a
/// prefix ending in `/` covers whatever starts with it.
pub fn under(path: &str, prefix: &str) -> bool {
    if prefix.ends_with('/') {
        return path.starts_with(prefix);
    }
    path.strip_prefix(prefix)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// The router's paths (as `leptos_axum::generate_route_list` gives them: `{id}` for a
/// parameter, `""` for the root) against [`PAGES`]: `Err` names each path only one of them
/// has.
pub fn check_router<'a>(router: impl IntoIterator<Item = &'a str>) -> Result<(), String> {
    let router: Vec<String> = router.into_iter().map(normalise).collect();
    let mut problems = Vec::new();
    for r in &router {
        if !PAGES.iter().any(|p| p.path == r) {
            problems.push(format!(
                "{r} is routed in app.rs but missing from routes::PAGES"
            ));
        }
    }
    for p in PAGES {
        if !router.iter().any(|r| r == p.path) {
            problems.push(format!(
                "{} is in routes::PAGES but not routed in app.rs",
                p.path
            ));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems.join("; "))
    }
}

/// `/domains/{id}` → `/domains/:id`, `""` → `/`.
fn normalise(path: &str) -> String {
    if path.is_empty() {
        return "/".to_string();
    }
    path.split('/')
        .map(
            |seg| match seg.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => seg.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_page_of_an_area_has_the_same_access() {
        for p in PAGES {
            for q in PAGES.iter().filter(|q| area(q.path) == area(p.path)) {
                assert_eq!(
                    p.access, q.access,
                    "{} and {} share an area",
                    p.path, q.path
                );
            }
        }
    }

    #[test]
    fn areas_are_first_segments() {
        assert_eq!(area("/domains/:id"), "/domains");
        assert_eq!(area("/billing"), "/billing");
        assert_eq!(area("/"), "/");
        assert_eq!(area("/admin/tenants/:id"), "/admin");
    }

    #[test]
    fn the_guarded_areas_are_the_ones_the_middleware_always_had() {
        assert_eq!(
            areas(|a| a == Access::Customer),
            [
                "/dashboard",
                "/billing",
                "/domains",
                "/inboxes",
                "/activity",
                "/deliverability",
                "/settings"
            ]
        );
        assert_eq!(areas(|a| a == Access::Staff), ["/admin"]);
        assert_eq!(areas(|a| a == Access::SignedIn), ["/staff"]);
        assert!(in_area("/inboxes/export", |a| a == Access::Customer));
        assert!(in_area("/billing/success", Access::needs_sign_in));
        assert!(!in_area("/billings", Access::needs_sign_in));
        assert!(!in_area("/", |_| true));
        assert!(!in_area("/login", Access::needs_sign_in));
    }

    #[test]
    fn no_page_is_listed_twice() {
        for (i, p) in PAGES.iter().enumerate() {
            assert!(
                !PAGES[i + 1..].iter().any(|q| q.path == p.path),
                "{}",
                p.path
            );
        }
    }

    #[test]
    fn a_router_path_missing_from_the_table_is_named() {
        let mut router: Vec<&str> = PAGES.iter().map(|p| p.path).collect();
        assert_eq!(check_router(router.iter().copied()), Ok(()));
        router.push("/settings");
        let err = check_router(router.iter().copied()).unwrap_err();
        assert!(err.contains("/settings is routed"), "{err}");
        router.retain(|p| *p != "/activity" && *p != "/settings");
        let err = check_router(router.iter().copied()).unwrap_err();
        assert!(err.contains("/activity is in routes::PAGES"), "{err}");
    }

    #[test]
    fn router_parameters_and_the_root_are_read_in_either_spelling() {
        assert_eq!(normalise("/domains/{id}"), "/domains/:id");
        assert_eq!(normalise(""), "/");
    }
}
