//! Deliverability (`/deliverability`, `/deliverability/domains/:id`,
//! `/deliverability/inboxes/:id`): what happened to the mail, per day over 7, 30 or 90 days,
//! with totals and the change against the period before, health scores with their reasons,
//! and blocklist listings. Charts are SVG drawn on the server.

use leptos::prelude::*;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::api::deliverability::{CheckBlocklists, get_deliverability};
use crate::components::chart::{LineChart, Series};
use crate::components::style::BUTTON_SECONDARY;
use crate::components::{Alert, PageLoader, error_of};
use crate::domain::deliverability::{
    DeliverabilityView, Figures, HealthLevel, ListingView, PERIODS, Score, Subject, SubjectHealth,
    change, percent, rate_change,
};
use crate::pages::dashboard::AppHeader;

#[component]
pub fn DeliverabilityPage() -> impl IntoView {
    view! { <Loader scope="workspace" /> }
}

#[component]
pub fn DomainDeliverabilityPage() -> impl IntoView {
    view! { <Loader scope="domain" /> }
}

#[component]
pub fn InboxDeliverabilityPage() -> impl IntoView {
    view! { <Loader scope="inbox" /> }
}

#[component]
fn Loader(scope: &'static str) -> impl IntoView {
    let params = use_params_map();
    let query = use_query_map();
    let check = ServerAction::<CheckBlocklists>::new();
    let data = Resource::new(
        move || {
            (
                params.read().get("id").unwrap_or_default(),
                query.read().get("days").unwrap_or_default(),
                check.version().get(),
            )
        },
        move |(id, days, _)| get_deliverability(scope.to_string(), id, days),
    );
    view! {
        <AppHeader subtitle="Deliverability" />
        <main class="mx-auto max-w-5xl space-y-6 px-4 py-8">
            <Alert message=error_of(check) />
            <PageLoader
                data
                login="/deliverability"
                loading="Loading the figures…"
                body=move |view| view! { <Body view check /> }
            />
        </main>
    }
}

fn base_path(subject: &Subject) -> String {
    match subject {
        Subject::Workspace => "/deliverability".into(),
        Subject::Domain { id, .. } => format!("/deliverability/domains/{id}"),
        Subject::Inbox { id, .. } => format!("/deliverability/inboxes/{id}"),
    }
}

#[component]
fn Body(view: DeliverabilityView, check: ServerAction<CheckBlocklists>) -> AnyView {
    let days = view.days;
    let base = base_path(&view.subject);
    let crumbs = match &view.subject {
        Subject::Workspace => None,
        Subject::Domain { id, name } => Some(view! {
            <nav class="text-sm" aria-label="Breadcrumb">
                <a href="/deliverability" class="text-emerald-800 underline">"Workspace"</a>
                " › " {name.clone()} " · "
                <a href=format!("/domains/{id}") class="text-emerald-800 underline">"DNS records"</a>
            </nav>
        }.into_any()),
        Subject::Inbox { id, address, domain_id, domain_name } => Some(view! {
            <nav class="text-sm" aria-label="Breadcrumb">
                <a href="/deliverability" class="text-emerald-800 underline">"Workspace"</a>
                " › "
                <a href=format!("/deliverability/domains/{domain_id}") class="text-emerald-800 underline">{domain_name.clone()}</a>
                " › " {address.clone()} " · "
                <a href=format!("/inboxes/{id}") class="text-emerald-800 underline">"Inbox details"</a>
            </nav>
        }.into_any()),
    };
    let periods = PERIODS
        .iter()
        .map(|p| {
            let here = *p == days;
            view! {
                <a
                    href=format!("{base}?days={p}")
                    aria-current=here.then_some("page")
                    class=if here { "rounded bg-emerald-700 px-3 py-1.5 text-white" } else { "rounded border border-stone-300 px-3 py-1.5 hover:bg-stone-100" }
                >
                    {format!("{p} days")}
                </a>
            }
        })
        .collect_view();
    let sandbox = (view.sandbox_records > 0).then(|| {
        view! {
            <p class="rounded border border-sky-300 bg-sky-50 px-3 py-2 text-sm text-sky-950" data-testid="sandbox-data">
                <strong>"Sample data. "</strong>
                {format!(
                    "{} of these records were made up by the sandbox relay so this page has something to show; \
                     mail sent through a real relay is never marked so.",
                    crate::domain::format_count(view.sandbox_records)
                )}
            </p>
        }
    });
    let labels: Vec<String> = view.series.iter().map(|d| d.day.clone()).collect();
    let col = |f: fn(&Figures) -> f64| {
        view.series
            .iter()
            .map(|d| f(&d.figures))
            .collect::<Vec<f64>>()
    };
    let t = view.totals;
    let peak = view
        .series
        .iter()
        .max_by_key(|d| d.figures.sent())
        .filter(|d| d.figures.sent() > 0)
        .map(|d| {
            format!(
                " The busiest day was {} with {} sent.",
                d.day,
                d.figures.sent()
            )
        })
        .unwrap_or_default();
    let volume_summary = format!(
        "{} sent in the last {days} days ({} against the {days} days before), {} delivered, {} hard bounces, {} soft bounces, {} complaints.{peak}",
        t.sent(),
        change(t.sent(), view.previous.sent()),
        t.delivered,
        t.hard_bounces,
        t.soft_bounces,
        t.complaints
    );
    let rate_summary = format!(
        "Bounce rate {} and complaint rate {} over the last {days} days.",
        percent(t.bounce_rate()),
        percent(t.complaint_rate())
    );
    let volume = vec![
        Series {
            name: "Sent",
            color: "#0f766e",
            swatch: "bg-teal-700",
            values: col(|f| f.sent() as f64),
        },
        Series {
            name: "Delivered",
            color: "#65a30d",
            swatch: "bg-lime-600",
            values: col(|f| f.delivered as f64),
        },
        Series {
            name: "Hard bounces",
            color: "#dc2626",
            swatch: "bg-red-600",
            values: col(|f| f.hard_bounces as f64),
        },
        Series {
            name: "Soft bounces",
            color: "#d97706",
            swatch: "bg-amber-600",
            values: col(|f| f.soft_bounces as f64),
        },
        Series {
            name: "Complaints",
            color: "#7c3aed",
            swatch: "bg-violet-600",
            values: col(|f| f.complaints as f64),
        },
    ];
    let rates = vec![
        Series {
            name: "Bounce rate",
            color: "#dc2626",
            swatch: "bg-red-600",
            values: col(Figures::bounce_rate),
        },
        Series {
            name: "Complaint rate",
            color: "#7c3aed",
            swatch: "bg-violet-600",
            values: col(Figures::complaint_rate),
        },
    ];
    let domain_id = match &view.subject {
        Subject::Domain { id, .. } => Some(id.clone()),
        _ => None,
    };
    let head = view! {
        {crumbs}
        <div class="flex flex-col gap-3 sm:flex-row sm:items-end sm:justify-between">
            <h1 class="text-2xl font-bold break-words" data-testid="deliverability-title">{view.title.clone()}</h1>
            <nav class="flex gap-2 text-sm" aria-label="Period">{periods}</nav>
        </div>
        {sandbox}
    }
    .into_any();
    let health = view
        .health
        .clone()
        .map(|s| view! { <Health score=s computed=view.health_computed.clone() /> }.into_any());
    let figures = view! {
        <Totals now=view.totals before=view.previous days />
        {health}
        <div class="grid gap-4 lg:grid-cols-2">
            <LineChart id="volume" title=format!("Messages per day, last {days} days") summary=volume_summary labels=labels.clone() series=volume />
            <LineChart id="rates" title=format!("Bounce and complaint rate per day, last {days} days") summary=rate_summary labels series=rates percent=true />
        </div>
    }
    .into_any();
    let blocklist = view.blocklist.clone().map(|b| {
        let id = domain_id.clone().unwrap_or_default();
        view! {
            <section class="rounded-lg border border-stone-200 bg-white p-4" aria-labelledby="bl-h" data-testid="blocklist">
                <h2 id="bl-h" class="text-lg font-semibold">"Blocklists"</h2>
                <p class="text-sm" data-testid="blocklist-status">
                    <strong>{b.label()}</strong>
                    {b.checked.clone().map(|c| format!(" · checked {c}")).unwrap_or_default()}
                </p>
                {b.note.clone().map(|n| view! { <p class="text-sm text-stone-600">{n}</p> })}
                {view.can_check.then(|| view! {
                    <ActionForm action=check attr:class="mt-2">
                        <input type="hidden" name="id" value=id.clone() />
                        <button type="submit" class=BUTTON_SECONDARY data-testid="check-blocklists">"Check now"</button>
                    </ActionForm>
                })}
            </section>
        }
        .into_any()
    });
    let children = (!view.children.is_empty()).then(|| {
        let (title, kind) = match view.subject {
            Subject::Workspace => ("Domains", "domains"),
            _ => ("Inboxes, worst first", "inboxes"),
        };
        view! { <HealthTable title kind rows=view.children.clone() testid="children" /> }.into_any()
    });
    let worst = (!view.worst_inboxes.is_empty()).then(|| {
        view! { <HealthTable title="Worst inboxes" kind="inboxes" rows=view.worst_inboxes.clone() testid="worst-inboxes" /> }
            .into_any()
    });
    let lists = view! {
        {blocklist}
        <Listings listings=view.listings.clone() />
        {children}
        {worst}
    }
    .into_any();
    view! { {head} {figures} {lists} }.into_any()
}

#[component]
fn Totals(now: Figures, before: Figures, days: u32) -> impl IntoView {
    let item = |label: &'static str, key: &'static str, value: String, delta: String| {
        view! {
            <div class="rounded-lg border border-stone-200 bg-white p-3" data-testid=format!("total-{key}")>
                <dt class="text-xs uppercase tracking-wide text-stone-500">{label}</dt>
                <dd class="text-xl font-semibold tabular-nums" data-testid=format!("value-{key}")>{value}</dd>
                <dd class="text-xs text-stone-600">{delta}</dd>
            </div>
        }
    };
    let vs = format!(" vs previous {days} days");
    view! {
        <section aria-labelledby="totals-h">
            <h2 id="totals-h" class="sr-only">"Totals"</h2>
            <dl class="grid grid-cols-2 gap-3 sm:grid-cols-4 lg:grid-cols-7">
                {item("Sent", "sent", now.sent().to_string(), format!("{}{vs}", change(now.sent(), before.sent())))}
                {item("Delivered", "delivered", now.delivered.to_string(), format!("{}{vs}", change(now.delivered, before.delivered)))}
                {item("Hard bounces", "hard", now.hard_bounces.to_string(), format!("{}{vs}", change(now.hard_bounces, before.hard_bounces)))}
                {item("Soft bounces", "soft", now.soft_bounces.to_string(), format!("{}{vs}", change(now.soft_bounces, before.soft_bounces)))}
                {item("Complaints", "complaints", now.complaints.to_string(), format!("{}{vs}", change(now.complaints, before.complaints)))}
                {item("Bounce rate", "bounce-rate", percent(now.bounce_rate()), format!("{}{vs}", rate_change(now.bounce_rate(), before.bounce_rate())))}
                {item("Complaint rate", "complaint-rate", percent(now.complaint_rate()), format!("{}{vs}", rate_change(now.complaint_rate(), before.complaint_rate())))}
            </dl>
        </section>
    }
}

/// A score's colour classes.
pub fn level_class(level: HealthLevel) -> &'static str {
    match level {
        HealthLevel::Good => "bg-emerald-100 text-emerald-900",
        HealthLevel::Watch => "bg-amber-100 text-amber-900",
        HealthLevel::AtRisk => "bg-red-100 text-red-900",
    }
}

#[component]
fn Health(score: Score, computed: Option<String>) -> impl IntoView {
    let reasons = score
        .reasons
        .iter()
        .map(|r| {
            let lost = (r.points > 0).then(|| format!("−{} ", r.points));
            let class = if r.points > 0 {
                "text-stone-900"
            } else {
                "text-stone-600"
            };
            view! {
                <li class=class>
                    <span class="font-semibold tabular-nums">{lost}</span>{r.text.clone()}
                </li>
            }
        })
        .collect_view();
    view! {
        <section class="rounded-lg border border-stone-200 bg-white p-4" aria-labelledby="health-h" data-testid="health">
            <h2 id="health-h" class="text-lg font-semibold">"Health"</h2>
            <p class="mt-1 flex items-center gap-2">
                <span class="text-3xl font-bold tabular-nums" data-testid="health-score">{score.score}</span>
                <span class="text-stone-500">"/ 100"</span>
                <span class=format!("rounded-full px-2.5 py-0.5 text-sm font-medium {}", level_class(score.level)) data-testid="health-level">{score.level.label()}</span>
            </p>
            <ul class="mt-2 list-disc space-y-1 pl-5 text-sm" data-testid="health-reasons">{reasons}</ul>
            {computed.map(|c| view! { <p class="mt-2 text-xs text-stone-500">{format!("Computed {c}")}</p> })}
        </section>
    }
}

#[component]
fn Listings(listings: Vec<ListingView>) -> impl IntoView {
    if listings.is_empty() {
        return ().into_any();
    }
    let rows = listings
        .into_iter()
        .map(|l| view! {
            <li><strong>{l.subject}</strong>{format!(" is listed on {} ({}, answer {}) since {}", l.list_name, l.zone, l.answer, l.since)}</li>
        })
        .collect_view();
    view! {
        <section class="rounded-lg border border-red-300 bg-red-50 p-4 text-red-950" role="alert" data-testid="listings">
            <h2 class="font-semibold">"On a blocklist"</h2>
            <ul class="mt-1 list-disc pl-5 text-sm">{rows}</ul>
        </section>
    }
    .into_any()
}

#[component]
pub fn HealthTable(
    title: &'static str,
    /// `domains` or `inboxes`: where the rows link.
    kind: &'static str,
    rows: Vec<SubjectHealth>,
    testid: &'static str,
) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|r| {
            view! {
                <tr class="border-t border-stone-100">
                    <td class="px-2 py-1.5 break-all"><a href=format!("/deliverability/{kind}/{}", r.id) class="text-emerald-800 underline">{r.name.clone()}</a></td>
                    <td class="px-2 py-1.5"><span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", level_class(r.level))>{format!("{} · {}", r.score, r.level.label())}</span></td>
                    <td class="px-2 py-1.5 text-right tabular-nums">{r.sent}</td>
                    <td class="px-2 py-1.5 text-right tabular-nums">{percent(r.bounce_rate)}</td>
                    <td class="px-2 py-1.5 text-right tabular-nums">{percent(r.complaint_rate)}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <section class="rounded-lg border border-stone-200 bg-white p-4" data-testid=testid>
            <h2 class="text-lg font-semibold">{title}</h2>
            <div class="mt-2 overflow-x-auto">
                <table class="w-full text-sm">
                    <thead class="text-left text-stone-500">
                        <tr>
                            <th scope="col" class="px-2 py-1 font-medium">"Name"</th>
                            <th scope="col" class="px-2 py-1 font-medium">"Score"</th>
                            <th scope="col" class="px-2 py-1 text-right font-medium">"Sent (score window)"</th>
                            <th scope="col" class="px-2 py-1 text-right font-medium">"Bounce rate"</th>
                            <th scope="col" class="px-2 py-1 text-right font-medium">"Complaint rate"</th>
                        </tr>
                    </thead>
                    <tbody>{rows}</tbody>
                </table>
            </div>
        </section>
    }
}
