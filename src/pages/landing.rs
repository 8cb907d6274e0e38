use leptos::prelude::*;

use crate::api::public::list_plans;
use crate::components::PublicHeader;
use crate::domain::{PlanView, format_count, plural};

#[component]
pub fn Landing() -> impl IntoView {
    let plans = Resource::new(|| (), |_| list_plans());
    view! {
        <PublicHeader />
        <main>
            <section class="mx-auto max-w-5xl px-4 py-12 sm:py-20">
                <h1 class="text-3xl font-bold tracking-tight sm:text-5xl">
                    "Cold-email inboxes in seconds, not days."
                </h1>
                <p class="mt-4 max-w-2xl text-lg text-stone-700">
                    "InboxGrove buys or connects your sending domains, sets MX, SPF, DKIM and DMARC for you and checks every record, then creates dozens of SMTP inboxes in one click, ready to import into Instantly, Smartlead or Salesforge."
                </p>
                <div class="mt-8 flex flex-col gap-3 sm:flex-row">
                    <a
                        href="/signup"
                        class="rounded bg-emerald-700 px-5 py-3 text-center font-semibold text-white hover:bg-emerald-800"
                    >
                        <Suspense fallback=|| "Start your free trial">
                            {move || Suspend::new(async move {
                                match plans.await {
                                    Ok((_, days)) => format!("Start your {days}-day free trial"),
                                    Err(_) => "Start your free trial".to_string(),
                                }
                            })}
                        </Suspense>
                    </a>
                    <a
                        href="/login"
                        class="rounded border border-stone-300 px-5 py-3 text-center font-semibold hover:bg-stone-100"
                    >
                        "Log in"
                    </a>
                </div>
                <ul class="mt-12 grid grid-cols-1 gap-4 md:grid-cols-3">
                    <Point
                        title="Under a second"
                        text="Others take 6 to 48 hours to hand over inboxes. Ours exist before you let go of the button."
                    />
                    <Point
                        title="DNS checked, not guessed"
                        text="Every record is looked up and shown as OK, missing or invalid, with a plain fix."
                    />
                    <Point
                        title="Plain billing"
                        text="Monthly plans, invoices you can download, refunds when we fail to deliver."
                    />
                </ul>
            </section>
            <section class="border-t border-stone-200 bg-white">
                <div class="mx-auto max-w-5xl px-4 py-12">
                    <h2 class="text-2xl font-bold">"Plans"</h2>
                    <Suspense fallback=|| view! { <p class="mt-4 text-stone-500">"Loading plans…"</p> }>
                        {move || Suspend::new(async move {
                            match plans.await {
                                Ok((plans, _)) => {
                                    view! {
                                        <div class="mt-6 grid grid-cols-1 gap-4 md:grid-cols-3">
                                            {plans.into_iter().map(|p| view! { <PlanCard plan=p /> }).collect_view()}
                                        </div>
                                    }
                                        .into_any()
                                }
                                Err(e) => view! { <p class="mt-4 text-red-700">{e.to_string()}</p> }.into_any(),
                            }
                        })}
                    </Suspense>
                </div>
            </section>
        </main>
    }
}

#[component]
fn Point(title: &'static str, text: &'static str) -> impl IntoView {
    view! {
        <li class="rounded-lg border border-stone-200 bg-white p-5">
            <h3 class="font-semibold">{title}</h3>
            <p class="mt-1 text-sm text-stone-600">{text}</p>
        </li>
    }
}

#[component]
fn PlanCard(plan: PlanView) -> impl IntoView {
    let price = plan.price_label();
    view! {
        <div class="rounded-lg border border-stone-200 p-5" data-testid="plan">
            <h3 class="text-lg font-semibold">{plan.name.clone()}</h3>
            <p class="mt-2">
                <span class="text-3xl font-bold">{price}</span>
                <span class="text-stone-500">" / month"</span>
            </p>
            <ul class="mt-4 space-y-1 text-sm text-stone-700">
                <li>{plural(plan.max_domains, "domain", "domains")}</li>
                <li>{plural(plan.max_inboxes, "inbox", "inboxes")}</li>
                <li>{format!("{} API calls / month", format_count(plan.api_calls_per_month))}</li>
            </ul>
        </div>
    }
}
