use leptos::prelude::*;

use crate::api::account::{ResendVerification, SwitchWorkspace};
use crate::api::auth::Logout;
use crate::api::dashboard::get_dashboard;
use crate::components::{Alert, LoadStyle, PageLoader, UsageSection, error_of};
use crate::domain::DashboardView;

/// Every customer page's navigation: (path, label). A page is marked current when the
/// location is its path or below it.
pub const NAV: [(&str, &str); 8] = [
    ("/dashboard", "Dashboard"),
    ("/domains", "Domains"),
    ("/inboxes", "Inboxes"),
    ("/deliverability", "Deliverability"),
    ("/billing", "Billing"),
    ("/activity", "Activity"),
    ("/settings/team", "Team"),
    ("/settings/security", "Settings"),
];

/// The link of `NAV` the location falls under (`/domains/42` → `/domains`).
pub fn current_nav(path: &str) -> Option<&'static str> {
    NAV.iter()
        .map(|(href, _)| *href)
        .find(|href| path == *href || path.strip_prefix(href).is_some_and(|r| r.starts_with('/')))
}

/// The header inside the signed-in app: the logo, the navigation (collapsed into a menu on a
/// phone), and log out. Staff pages (`/admin`, `/staff`) get no customer navigation.
#[component]
pub fn AppHeader(#[prop(into)] subtitle: String) -> AnyView {
    let logout = ServerAction::<Logout>::new();
    let location = leptos_router::hooks::use_location();
    let path = location.pathname.get_untracked();
    let staff = path.starts_with("/admin") || path.starts_with("/staff");
    let current = current_nav(&path);
    let links = move |class: &'static str| {
        NAV.iter()
            .map(|(href, label)| {
                let here = current == Some(*href);
                view! {
                    <a
                        href=*href
                        class=format!("{class} {}", if here { "bg-emerald-50 font-semibold text-emerald-900" } else { "text-stone-700 hover:bg-stone-100" })
                        aria-current=here.then_some("page")
                    >
                        {*label}
                    </a>
                }
            })
            .collect_view()
    };
    view! {
        <header class="border-b border-stone-200 bg-white">
            <div class="mx-auto flex max-w-5xl items-center justify-between gap-3 px-4 py-3">
                <div class="min-w-0 flex-1">
                    <a href=if staff { "/admin" } else { "/dashboard" } class="text-lg font-bold text-emerald-800">"InboxGrove"</a>
                    <p class="truncate text-sm text-stone-500" title=subtitle.clone()>{subtitle.clone()}</p>
                </div>
                {(!staff).then(|| view! {
                    <AccountControls />
                    <nav aria-label="Main" class="hidden items-center gap-1 text-sm md:flex" data-testid="main-nav">
                        {links("rounded px-2.5 py-2")}
                    </nav>
                    <details class="relative md:hidden" data-testid="nav-menu">
                        <summary class="cursor-pointer list-none rounded border border-stone-300 px-3 py-2 text-sm">"Menu"</summary>
                        <nav aria-label="Main" class="absolute right-0 z-10 mt-2 flex w-48 flex-col rounded border border-stone-200 bg-white p-1 text-sm shadow">
                            {links("rounded px-3 py-2")}
                        </nav>
                    </details>
                })}
                <ActionForm action=logout>
                    <button type="submit" class="rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100">
                        "Log out"
                    </button>
                </ActionForm>
            </div>
        </header>
    }
    // Type-erased: every signed-in page nests this header, and its full type made rustc's
    // query depth overflow in some builds.
    .into_any()
}

/// The workspace switcher (for a user in more than one workspace) and the user menu. Asked
/// for in the browser once the page has hydrated (an effect runs only there), so the server
/// renders nothing for them and a signed-in page's render pays nothing.
#[component]
fn AccountControls() -> AnyView {
    let me = RwSignal::new(None::<crate::domain::team::MeView>);
    Effect::new(move |_| {
        leptos::task::spawn_local(async move {
            if let Ok(view) = crate::api::account::me().await {
                me.set(Some(view));
            }
        });
    });
    let switch = ServerAction::<SwitchWorkspace>::new();
    let switcher = move || {
        me.get().filter(|m| m.workspaces.len() > 1).map(|m| {
            let current = m.workspace.map(|w| w.id).unwrap_or_default();
            view! {
                <select
                    aria-label="Workspace"
                    data-testid="workspace-switcher"
                    class="max-w-40 rounded border border-stone-300 px-2 py-2 text-sm"
                    on:change=move |ev| {
                        switch.dispatch(SwitchWorkspace { id: event_target_value(&ev) });
                    }
                >
                    {m.workspaces.into_iter().map(|w| {
                        let selected = w.id == current;
                        view! { <option value=w.id.clone() selected=selected>{w.name}</option> }
                    }).collect_view()}
                </select>
            }
        })
    };
    // The user menu: who is signed in, in which workspace and role, and their own settings.
    let user_menu = move || {
        me.get().map(|m| {
            let role = m.workspace.as_ref().map(|w| w.role.as_str());
            view! {
                <details class="relative" data-testid="user-menu">
                    <summary class="cursor-pointer list-none rounded border border-stone-300 px-3 py-2 text-sm" title=m.email.clone()>
                        "Account"
                    </summary>
                    <div class="absolute right-0 z-10 mt-2 w-64 rounded border border-stone-200 bg-white p-3 text-sm shadow">
                        <p class="break-all font-medium">{m.email.clone()}</p>
                        {m.workspace.map(|w| view! {
                            <p class="text-stone-600">{format!("{} · {}", w.name, role.unwrap_or_default())}</p>
                        })}
                        <a href="/settings/security" class="mt-2 block rounded px-2 py-1 hover:bg-stone-100">"Security and password"</a>
                        <a href="/settings/team" class="block rounded px-2 py-1 hover:bg-stone-100">"Team and workspaces"</a>
                        <a href="/settings/api" class="block rounded px-2 py-1 hover:bg-stone-100" data-testid="menu-api">"API and integrations"</a>
                    </div>
                </details>
            }
        })
    };
    // Staff viewing a workspace as its owner: said on every page, with the way out.
    let stop = ServerAction::<crate::api::admin::StopViewAs>::new();
    Effect::new(move |_| {
        if matches!(stop.value().get(), Some(Ok(_))) {
            crate::components::go_to("/admin");
        }
    });
    let viewing = move || {
        me.get().and_then(|m| m.viewing_as).map(|name| view! {
            <div role="status" data-testid="view-as-banner" class="flex items-center gap-2 rounded border border-amber-400 bg-amber-100 px-3 py-1.5 text-sm text-amber-900">
                <span>{format!("Viewing {name} as its owner — read-only")}</span>
                <ActionForm action=stop>
                    <button type="submit" class="underline" data-testid="stop-view-as">"Stop"</button>
                </ActionForm>
            </div>
        })
    };
    view! { {viewing} {switcher} {user_menu} }.into_any()
}

#[component]
pub fn Dashboard() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_dashboard());
    view! {
        <PageLoader
            data
            login="/dashboard"
            loading="Loading your workspace…"
            style=LoadStyle::Page
            body=|view| view! { <DashboardBody view /> }
        />
    }
}

#[component]
fn DashboardBody(view: DashboardView) -> impl IntoView {
    let trial = view.trial_label();
    let subtitle = format!("{} · {}", view.tenant_name, view.user_email);
    let can_manage = view.role.can_manage();
    view! {
        <AppHeader subtitle />
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            {(!view.email_verified).then(|| view! { <VerifyBanner email=view.user_email.clone() /> })}
            <div class="flex flex-col gap-2 sm:flex-row sm:items-end sm:justify-between">
                <div>
                    <h1 class="text-2xl font-bold break-words" data-testid="tenant-name">{view.tenant_name.clone()}</h1>
                    <p class="text-stone-600">
                        {format!("Plan: {} · ", view.plan_name)}
                        <a href="/billing" class="text-emerald-800 underline" data-testid="billing-link">"Billing"</a>
                        " · "
                        <a href="/domains" class="text-emerald-800 underline" data-testid="domains-link">"Domains"</a>
                        " · "
                        <a href="/inboxes" class="text-emerald-800 underline" data-testid="inboxes-link">"Inboxes"</a>
                        " · "
                        <a href="/activity" class="text-emerald-800 underline" data-testid="activity-link">"Activity"</a>
                    </p>
                </div>
                {trial.map(|t| view! {
                    <p class="self-start rounded-full bg-amber-100 px-3 py-1 text-sm font-medium text-amber-900" data-testid="trial">
                        {t}
                    </p>
                })}
            </div>
            <UsageSection domains=view.domains inboxes=view.inboxes />
            <SendingBox d=view.deliverability.clone() />
            <section aria-labelledby="next-h">
                <h2 id="next-h" class="text-lg font-semibold">"Next steps"</h2>
                <ol class="mt-3 list-decimal space-y-2 pl-5 text-stone-700">
                    <li class=done_class(view.domains.used)>
                        <a href="/domains" class="underline">"Buy or connect a sending domain"</a>
                        " — we set MX, SPF, DKIM and DMARC and check each record."
                    </li>
                    <li class=done_class(view.inboxes.used)>
                        <a href="/inboxes/new" class="underline">"Press the magic button"</a>
                        " to create your inboxes on it."
                    </li>
                    <li>"Export the credentials file to Instantly, Smartlead or Salesforge."</li>
                </ol>
                {(!can_manage).then(|| view! {
                    <p class="mt-3 text-sm text-stone-500">"You are a member: an owner or admin makes purchases."</p>
                })}
            </section>
        </main>
    }
}

/// Sent this month against what the plan's inboxes may send, and the three worst inboxes.
#[component]
fn SendingBox(d: crate::domain::deliverability::DashboardDeliverability) -> impl IntoView {
    use crate::domain::deliverability::percent;
    let worst = if d.worst_inboxes.is_empty() {
        view! { <p class="text-sm text-stone-600">"No scores yet: they appear once your inboxes are live."</p> }.into_any()
    } else {
        view! {
            <ol class="space-y-1 text-sm" data-testid="worst-inboxes">
                {d.worst_inboxes.into_iter().map(|w| view! {
                    <li class="flex flex-wrap items-center gap-2">
                        <span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", crate::pages::deliverability::level_class(w.level))>{w.score}</span>
                        <a href=format!("/deliverability/inboxes/{}", w.id) class="break-all text-emerald-800 underline">{w.name}</a>
                        <span class="text-stone-500">{format!("bounces {} · complaints {}", percent(w.bounce_rate), percent(w.complaint_rate))}</span>
                    </li>
                }).collect_view()}
            </ol>
        }
        .into_any()
    };
    view! {
        <section aria-labelledby="sending-h" class="rounded-lg border border-stone-200 bg-white p-4" data-testid="sending">
            <div class="flex items-baseline justify-between gap-2">
                <h2 id="sending-h" class="text-lg font-semibold">"Sending this month"</h2>
                <a href="/deliverability" class="text-sm text-emerald-800 underline">"Deliverability"</a>
            </div>
            <p class="mt-1 text-sm" data-testid="sent-this-month">
                {format!(
                    "{} sent of {} your plan's inboxes can send this month{}",
                    crate::domain::format_count(d.sent_this_month),
                    crate::domain::format_count(d.plan_allowance),
                    if d.sandbox { " (includes sandbox sample data)" } else { "" }
                )}
            </p>
            <progress
                class="mt-2 h-2 w-full overflow-hidden rounded [&::-webkit-progress-bar]:bg-stone-200 [&::-webkit-progress-value]:bg-emerald-600 [&::-moz-progress-bar]:bg-emerald-600"
                max=d.plan_allowance.max(1)
                value=d.sent_this_month.min(d.plan_allowance.max(1))
                aria-label="Sent this month of what the plan can send"
            ></progress>
            <h3 class="mt-3 text-sm font-semibold">"Worst inboxes"</h3>
            {worst}
        </section>
    }
}

/// Until the address is confirmed: why buying and creating are closed, and "send again".
#[component]
fn VerifyBanner(email: String) -> impl IntoView {
    let resend = ServerAction::<ResendVerification>::new();
    let sent = Signal::derive(move || matches!(resend.value().get(), Some(Ok(()))));
    view! {
        <section class="rounded-lg border border-amber-300 bg-amber-50 p-4 text-amber-950" data-testid="verify-banner">
            <p class="font-semibold">"Confirm your email address"</p>
            <p class="mt-1 text-sm">
                {format!("We sent a link to {email}. Until you open it you can look around, but not buy or connect domains or create inboxes.")}
            </p>
            <div class="mt-3 flex flex-wrap items-center gap-3">
                <button
                    type="button"
                    class="rounded border border-amber-400 bg-white px-3 py-1.5 text-sm hover:bg-amber-100 disabled:opacity-60"
                    disabled=move || resend.pending().get()
                    on:click=move |_| { resend.dispatch(ResendVerification {}); }
                >
                    "Send it again"
                </button>
                <Show when=move || sent.get()>
                    <span role="status" class="text-sm">"Sent. Check your inbox."</span>
                </Show>
                <Alert message=error_of(resend) />
            </div>
        </section>
    }
}

fn done_class(used: i64) -> &'static str {
    if used > 0 {
        "text-stone-400 line-through"
    } else {
        ""
    }
}
