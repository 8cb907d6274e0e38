//! The HTML shell, `<App/>` and the route table. No logic lives here.

use leptos::prelude::*;
use leptos_meta::{MetaTags, Stylesheet, Title, provide_meta_context};
use leptos_router::components::{Route, Router, Routes};
use leptos_router::{SsrMode, path};

use crate::pages::{
    activity::Activity,
    admin::{
        AdminAudit, AdminDeliverability, AdminEvents, AdminJobs, AdminPlatform, AdminProviders,
        AdminRevenue, AdminTenantPage, AdminTenants,
    },
    auth::{
        CheckEmail, ForgotPassword, Invite, Login, LoginCode, ResetPassword, Signup, VerifyEmail,
    },
    billing::{Billing, CheckoutCanceled, CheckoutSuccess},
    dashboard::Dashboard,
    deliverability::{DeliverabilityPage, DomainDeliverabilityPage, InboxDeliverabilityPage},
    domains::{DomainPage, Domains},
    inboxes::{InboxPage, Inboxes, NewInboxes},
    landing::Landing,
    not_found::NotFound,
    settings::{SecuritySettings, TeamSettings},
    settings_api::ApiSettings,
    staff::StaffHome,
};

pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    set_page_csp();
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <AutoReload options=options.clone() />
                <HydrationScripts options />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <MetaTags />
            </head>
            <body class="min-h-screen bg-stone-50 text-stone-900 antialiased">
                <App />
            </body>
        </html>
    }
}

/// Pages get a CSP whose script-src names this response's nonce.
#[cfg(feature = "ssr")]
fn set_page_csp() {
    use axum::http::{HeaderValue, header};
    if let (Some(nonce), Some(res)) = (
        leptos::nonce::use_nonce(),
        use_context::<leptos_axum::ResponseOptions>(),
    ) {
        let csp = crate::server::http::middleware::page_csp(nonce.as_inner());
        if let Ok(v) = HeaderValue::from_str(&csp) {
            res.insert_header(header::CONTENT_SECURITY_POLICY, v);
        }
    }
}

/// Signed-in pages render whole once their data is loaded (one response, in order), rather than
/// streaming a "Loading…" shell and then the data out of order: the data is one fast query
/// away, and the streamed form cost a second render, a swap script and more writes per page.
const SIGNED_IN: SsrMode = SsrMode::Async;

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: this flips to "true" once hydration has happened.
    let hydrated = RwSignal::new(false);
    Effect::new(move |_| hydrated.set(true));
    view! {
        <Stylesheet id="leptos" href="/pkg/inboxgrove.css" />
        <Title text="InboxGrove — cold-email inboxes in seconds" />
        <div id="app" data-hydrated=move || hydrated.get().to_string()>
        <Router>
            <Routes fallback=|| view! { <NotFound /> }>
                <Route path=path!("") view=Landing />
                <Route path=path!("/signup") view=Signup />
                <Route path=path!("/login") view=Login />
                <Route path=path!("/login/code") view=LoginCode />
                <Route path=path!("/check-email") view=CheckEmail />
                <Route path=path!("/verify-email") view=VerifyEmail />
                <Route path=path!("/forgot-password") view=ForgotPassword />
                <Route path=path!("/reset-password") view=ResetPassword />
                <Route path=path!("/dashboard") view=Dashboard ssr=SIGNED_IN />
                <Route path=path!("/billing") view=Billing ssr=SIGNED_IN />
                <Route path=path!("/domains") view=Domains ssr=SIGNED_IN />
                <Route path=path!("/domains/:id") view=DomainPage ssr=SIGNED_IN />
                <Route path=path!("/inboxes") view=Inboxes ssr=SIGNED_IN />
                <Route path=path!("/inboxes/new") view=NewInboxes ssr=SIGNED_IN />
                <Route path=path!("/inboxes/:id") view=InboxPage ssr=SIGNED_IN />
                <Route path=path!("/billing/success") view=CheckoutSuccess />
                <Route path=path!("/billing/cancel") view=CheckoutCanceled />
                <Route path=path!("/staff") view=StaffHome ssr=SIGNED_IN />
                <Route path=path!("/admin") view=AdminTenants ssr=SIGNED_IN />
                <Route path=path!("/admin/tenants/:id") view=AdminTenantPage ssr=SIGNED_IN />
                <Route path=path!("/admin/audit") view=AdminAudit ssr=SIGNED_IN />
                <Route path=path!("/admin/events") view=AdminEvents ssr=SIGNED_IN />
                <Route path=path!("/admin/jobs") view=AdminJobs ssr=SIGNED_IN />
                <Route path=path!("/admin/platform") view=AdminPlatform ssr=SIGNED_IN />
                <Route path=path!("/activity") view=Activity ssr=SIGNED_IN />
                <Route path=path!("/deliverability") view=DeliverabilityPage ssr=SIGNED_IN />
                <Route path=path!("/deliverability/domains/:id") view=DomainDeliverabilityPage ssr=SIGNED_IN />
                <Route path=path!("/deliverability/inboxes/:id") view=InboxDeliverabilityPage ssr=SIGNED_IN />
                <Route path=path!("/admin/deliverability") view=AdminDeliverability ssr=SIGNED_IN />
                <Route path=path!("/admin/revenue") view=AdminRevenue ssr=SIGNED_IN />
                <Route path=path!("/admin/providers") view=AdminProviders ssr=SIGNED_IN />
                <Route path=path!("/settings/security") view=SecuritySettings ssr=SIGNED_IN />
                <Route path=path!("/settings/team") view=TeamSettings ssr=SIGNED_IN />
                <Route path=path!("/settings/api") view=ApiSettings ssr=SIGNED_IN />
                <Route path=path!("/invite") view=Invite />
            </Routes>
        </Router>
        </div>
    }
}
