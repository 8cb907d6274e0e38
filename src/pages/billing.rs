use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::api::billing::{
    AddCard, ChoosePlan, OpenPortal, RemoveCard, SetCancel, SetDefaultCard, get_billing, get_cards,
    get_checkout_status,
};
use crate::components::{Alert, LoadStyle, PageLoader, UsageSection, error_of, go_to};
use crate::domain::billing::{
    BillingView, CardView, CheckoutStatus, MonthUsage, PlanAction, PlanCard,
};
use crate::domain::format_count;
use crate::pages::dashboard::AppHeader;

#[component]
pub fn Billing() -> impl IntoView {
    let choose = ServerAction::<ChoosePlan>::new();
    let cancel = ServerAction::<SetCancel>::new();
    let portal = ServerAction::<OpenPortal>::new();
    let data = Resource::new(
        move || (choose.version().get(), cancel.version().get()),
        |_| get_billing(),
    );
    // Checkout and the portal are full page loads (Stripe's own pages, or the sandbox's).
    Effect::new(move |_| {
        let url = match (choose.value().get(), portal.value().get()) {
            (Some(Ok(Some(url))), _) | (_, Some(Ok(url))) => url,
            _ => return,
        };
        go_to(&url);
    });
    view! {
        <AppHeader subtitle="Billing" />
        <PageLoader
            data
            login="/billing"
            loading="Loading billing…"
            style=LoadStyle::Page
            body=move |view| view! { <BillingBody view choose cancel portal /> }
        />
    }
}

#[component]
fn BillingBody(
    view: BillingView,
    choose: ServerAction<ChoosePlan>,
    cancel: ServerAction<SetCancel>,
    portal: ServerAction<OpenPortal>,
) -> impl IntoView {
    let action_error = Signal::derive(move || {
        error_of(choose)
            .get()
            .or_else(|| error_of(cancel).get())
            .or_else(|| error_of(portal).get())
    });
    let can_manage = view.can_manage;
    let subscribed = view.subscribed;
    let cancel_pending = view.cancel_at_period_end;
    let trial = view.trial_days_left.map(|d| match d {
        0 => "Trial ended".to_string(),
        1 => "1 day left in your trial".to_string(),
        n => format!("{n} days left in your trial"),
    });
    view! {
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            <nav class="text-sm"><a href="/dashboard" class="text-emerald-800 underline">"← Dashboard"</a></nav>
            {view.warning.clone().map(|w| view! {
                <p role="status" data-testid="billing-warning" class="rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">{w}</p>
            })}
            {view.blocked.clone().map(|b| view! {
                <p role="alert" data-testid="billing-blocked" class="rounded border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800">{b}</p>
            })}
            <section aria-labelledby="plan-h" class="rounded-lg border border-stone-200 bg-white p-5">
                <div class="flex flex-col gap-3 sm:flex-row sm:items-start sm:justify-between">
                    <div>
                        <h1 id="plan-h" class="text-2xl font-bold">
                            <span data-testid="billing-plan">{view.plan_name.clone()}</span>
                        </h1>
                        <p class="mt-1">
                            <span class="rounded-full bg-emerald-100 px-2 py-0.5 text-sm font-medium text-emerald-900" data-testid="billing-status">
                                {view.status.clone()}
                            </span>
                        </p>
                        {view.period_note.clone().map(|n| view! { <p class="mt-2 text-stone-600" data-testid="billing-period">{n}</p> })}
                        {trial.map(|t| view! { <p class="mt-1 text-sm text-amber-800" data-testid="billing-trial">{t}</p> })}
                    </div>
                    {can_manage.then(|| view! {
                        <div class="flex flex-col gap-2 sm:items-end">
                            <ActionForm action=portal>
                                <button type="submit" class="rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100">
                                    "Manage payment methods"
                                </button>
                            </ActionForm>
                            {subscribed.then(|| view! {
                                <ActionForm action=cancel>
                                    <input type="hidden" name="cancel" value=(!cancel_pending).to_string() />
                                    <button type="submit" data-testid="cancel-toggle"
                                        class="rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100">
                                        {if cancel_pending { "Reactivate subscription" } else { "Cancel at period end" }}
                                    </button>
                                </ActionForm>
                            })}
                        </div>
                    })}
                </div>
            </section>
            <Alert message=action_error />
            <CardsSection can_manage />
            <section aria-labelledby="plans-h">
                <h2 id="plans-h" class="text-lg font-semibold">"Plans"</h2>
                <div class="mt-3 grid grid-cols-1 gap-4 md:grid-cols-3">
                    {view.plans.clone().into_iter().map(|card| view! { <PlanCardView card choose can_manage /> }).collect_view()}
                </div>
            </section>
            <UsageSection domains=view.domains inboxes=view.inboxes api_calls=view.api_calls />
            <ThisMonth usage=view.this_month.clone() />
            <section aria-labelledby="invoices-h">
                <h2 id="invoices-h" class="text-lg font-semibold">"Invoices"</h2>
                {if view.invoices.is_empty() {
                    view! { <p class="mt-2 text-stone-500">"No invoices yet."</p> }.into_any()
                } else {
                    view! {
                        <div class="mt-3 overflow-x-auto">
                        <table class="w-full text-left text-sm" data-testid="invoices">
                            <thead class="text-stone-500"><tr>
                                <th class="py-2 pr-4">"Number"</th><th class="py-2 pr-4">"Date"</th>
                                <th class="py-2 pr-4">"Amount"</th><th class="py-2 pr-4">"Status"</th><th class="py-2"></th>
                            </tr></thead>
                            <tbody>
                                {view.invoices.clone().into_iter().map(|i| view! {
                                    <tr class="border-t border-stone-200">
                                        <td class="py-2 pr-4 font-mono">{i.number}</td>
                                        <td class="py-2 pr-4">{i.date}</td>
                                        <td class="py-2 pr-4">{i.amount}</td>
                                        <td class="py-2 pr-4">{i.status}</td>
                                        <td class="py-2 space-x-3">
                                            {i.url.map(|u| view! { <a class="text-emerald-800 underline" href=u target="_blank" rel="noopener">"View"</a> })}
                                            {i.pdf.map(|u| view! { <a class="text-emerald-800 underline" href=u target="_blank" rel="noopener" data-testid="invoice-pdf">"PDF"</a> })}
                                        </td>
                                    </tr>
                                }).collect_view()}
                            </tbody>
                        </table>
                        </div>
                    }.into_any()
                }}
            </section>
            <section aria-labelledby="ledger-h">
                <h2 id="ledger-h" class="text-lg font-semibold">"Payment history"</h2>
                {if view.ledger.is_empty() {
                    view! { <p class="mt-2 text-stone-500">"No payments yet."</p> }.into_any()
                } else {
                    view! {
                        <ul class="mt-3 divide-y divide-stone-200 text-sm" data-testid="ledger">
                            {view.ledger.clone().into_iter().map(|l| view! {
                                <li class="flex justify-between gap-4 py-2">
                                    <span>{l.date}" · "{l.kind}" · "{l.description}</span>
                                    <span class="font-mono">{l.amount}</span>
                                </li>
                            }).collect_view()}
                        </ul>
                    }.into_any()
                }}
            </section>
        </main>
    }
}

#[component]
fn PlanCardView(
    card: PlanCard,
    choose: ServerAction<ChoosePlan>,
    can_manage: bool,
) -> impl IntoView {
    let PlanCard { plan, action } = card;
    let current = action == PlanAction::Current;
    let id = plan.id.clone();
    view! {
        <div class=if current { "rounded-lg border-2 border-emerald-600 bg-white p-5" } else { "rounded-lg border border-stone-200 bg-white p-5" }
            data-testid=format!("plan-{}", plan.id)>
            <h3 class="text-lg font-semibold">{plan.name.clone()}</h3>
            <p class="mt-1 text-2xl font-bold">{plan.price_label()}<span class="text-sm font-normal text-stone-500">" / month"</span></p>
            <ul class="mt-3 space-y-1 text-sm text-stone-600">
                <li>{format!("{} domains", format_count(plan.max_domains))}</li>
                <li>{format!("{} inboxes", format_count(plan.max_inboxes))}</li>
                <li>{format!("{} API calls / month", format_count(plan.api_calls_per_month))}</li>
                {plan.overage_cents_per_inbox.map(|c| view! {
                    <li data-testid="plan-overage">{format!("then {} per extra inbox / month", c.format(&plan.currency))}</li>
                })}
            </ul>
            {if current || !can_manage {
                view! {
                    <p class="mt-4 text-sm font-medium text-emerald-800">{if current { action.label() } else { "" }}</p>
                }.into_any()
            } else {
                view! {
                    <ActionForm action=choose>
                        <input type="hidden" name="plan" value=id />
                        <button type="submit" class="mt-4 w-full rounded bg-emerald-700 px-3 py-2 font-medium text-white hover:bg-emerald-800 disabled:opacity-50"
                            disabled=move || choose.pending().get()>
                            {action.label()}
                        </button>
                    </ActionForm>
                }.into_any()
            }}
        </div>
    }
}

/// "This month": the usage recorded so far (hourly, on the billing clock) and the next invoice
/// as expected now, with how it is made up and whether the plan allows extra inboxes.
#[component]
fn ThisMonth(usage: MonthUsage) -> impl IntoView {
    let overage = match &usage.overage_price {
        Some(price) => format!(
            "Your plan allows inboxes past its limit on an active subscription: {price} per extra inbox a month (the most at once in the period, on the next invoice)."
        ),
        None => "Your plan's inbox limit is firm: choose a bigger plan to add more.".to_string(),
    };
    view! {
        <section aria-labelledby="month-h" class="rounded-lg border border-stone-200 bg-white p-5" data-testid="this-month">
            <h2 id="month-h" class="text-lg font-semibold">
                "This month"
                <span class="ml-2 text-sm font-normal text-stone-500">{usage.month.clone()}" · updated hourly"</span>
            </h2>
            <dl class="mt-3 grid grid-cols-1 gap-4 sm:grid-cols-3">
                <div>
                    <dt class="text-sm text-stone-500">"Inbox-days"</dt>
                    <dd class="text-xl font-semibold" data-testid="month-inbox-days">{format_count(usage.inbox_days)}</dd>
                </div>
                <div>
                    <dt class="text-sm text-stone-500">"Emails sent"</dt>
                    <dd class="text-xl font-semibold" data-testid="month-emails-sent">{format_count(usage.emails_sent)}</dd>
                </div>
                <div>
                    <dt class="text-sm text-stone-500">"API calls"</dt>
                    <dd class="text-xl font-semibold" data-testid="month-api-calls">{format_count(usage.api_calls)}</dd>
                </div>
            </dl>
            {usage.expected_bill.clone().map(|bill| view! {
                <p class="mt-4">
                    "Expected next invoice: "
                    <span class="font-semibold" data-testid="expected-bill">{bill}</span>
                </p>
            })}
            {usage.bill_note.clone().map(|note| view! {
                <p class="mt-1 text-sm text-stone-600" data-testid="bill-note">{note}</p>
            })}
            <p class="mt-2 text-sm text-stone-600" data-testid="overage-policy">{overage}</p>
        </section>
    }
}

/// Back from Checkout: shows what the database says, polling until the webhook has landed.
#[component]
pub fn CheckoutSuccess() -> impl IntoView {
    let query = use_query_map();
    let session = move || query.read().get("session_id").unwrap_or_default();
    let tick = RwSignal::new(0u32);
    let status = Resource::new(
        move || (session(), tick.get()),
        |(id, _)| get_checkout_status(id),
    );
    view! {
        <AppHeader subtitle="Billing" />
        <main class="mx-auto max-w-xl px-4 py-12">
            <PageLoader
                data=status
                login="/billing"
                loading="Checking your payment…"
                body=move |status| checkout_result(status, tick)
            />
        </main>
    }
}

#[component]
pub fn CheckoutCanceled() -> impl IntoView {
    view! {
        <AppHeader subtitle="Billing" />
        <main class="mx-auto max-w-xl px-4 py-12">
            <h1 class="text-2xl font-bold" data-testid="checkout-canceled">"Checkout canceled"</h1>
            <p class="mt-2 text-stone-600">"Nothing was charged and nothing changed."</p>
            <a href="/billing" class="mt-6 inline-block text-emerald-800 underline">"Back to billing"</a>
        </main>
    }
}

/// What the database says about the checkout; `Confirming` asks again in a second.
fn checkout_result(status: CheckoutStatus, tick: RwSignal<u32>) -> AnyView {
    match status {
        CheckoutStatus::Complete { plan_name, status } => view! {
            <h1 class="text-2xl font-bold">"You're all set"</h1>
            <p class="mt-2 text-stone-700" data-testid="checkout-result">
                {format!("{plan_name} — {status}")}
            </p>
            <a href="/billing" class="mt-6 inline-block rounded bg-emerald-700 px-4 py-2 font-medium text-white">"Go to billing"</a>
        }.into_any(),
        CheckoutStatus::Confirming => {
            // Ask again in a second (browser only); without JS the meta refresh does it.
            Effect::new(move |_| {
                set_timeout(move || tick.update(|t| *t += 1), std::time::Duration::from_secs(1));
            });
            view! {
                <meta http-equiv="refresh" content="2" />
                <h1 class="text-2xl font-bold">"Confirming payment…"</h1>
                <p class="mt-2 text-stone-600" data-testid="checkout-result">
                    "Stripe has sent you back; we are waiting for its confirmation. This page updates by itself."
                </p>
            }.into_any()
        }
        CheckoutStatus::Unknown => view! {
            <h1 class="text-2xl font-bold">"Checkout not found"</h1>
            <p class="mt-2 text-stone-600" data-testid="checkout-result">"We have no checkout with that id for your account."</p>
            <a href="/billing" class="mt-6 inline-block text-emerald-800 underline">"Back to billing"</a>
        }.into_any(),
    }
}

/// The saved cards: brand, last 4, expiry, which one is charged; make default, remove, and add
/// one through Checkout in setup mode (the portal above stays as an alternative).
#[component]
fn CardsSection(can_manage: bool) -> impl IntoView {
    let add = ServerAction::<AddCard>::new();
    let make_default = ServerAction::<SetDefaultCard>::new();
    let remove = ServerAction::<RemoveCard>::new();
    let cards = Resource::new(
        move || (make_default.version().get(), remove.version().get()),
        |_| get_cards(),
    );
    Effect::new(move |_| {
        if let Some(Ok(url)) = add.value().get() {
            go_to(&url);
        }
    });
    let error = Signal::derive(move || {
        error_of(add)
            .get()
            .or_else(|| error_of(make_default).get())
            .or_else(|| error_of(remove).get())
    });
    view! {
        <section aria-labelledby="cards-h" class="rounded-lg border border-stone-200 bg-white p-5" data-testid="cards">
            <div class="flex items-center justify-between gap-3">
                <h2 id="cards-h" class="text-lg font-semibold">"Cards"</h2>
                {can_manage.then(|| view! {
                    <ActionForm action=add>
                        <button type="submit" class="rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100" data-testid="add-card">"Add a card"</button>
                    </ActionForm>
                })}
            </div>
            <p class="mt-1 text-sm text-stone-600">"The default card pays your plan and renews your domains."</p>
            <Alert message=error />
            <Transition fallback=|| view! { <p class="mt-3 text-stone-500">"Loading cards…"</p> }>
                {move || Suspend::new(async move {
                    match cards.await {
                        Ok(list) if list.is_empty() => view! {
                            <p class="mt-3 text-stone-500" data-testid="no-cards">"No card on file yet."</p>
                        }.into_any(),
                        Ok(list) => view! {
                            <ul class="mt-3 divide-y divide-stone-200">
                                {list.into_iter().map(|c| view! { <CardLine c can_manage make_default remove /> }).collect_view()}
                            </ul>
                        }.into_any(),
                        Err(e) => view! { <p role="alert" class="mt-3 text-red-700">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

#[component]
fn CardLine(
    c: CardView,
    can_manage: bool,
    make_default: ServerAction<SetDefaultCard>,
    remove: ServerAction<RemoveCard>,
) -> impl IntoView {
    let (id1, id2) = (c.id.clone(), c.id.clone());
    view! {
        <li class="flex flex-wrap items-center justify-between gap-2 py-2" data-testid="card" data-last4=c.last4.clone() data-default=c.is_default.to_string()>
            <span>
                {c.label.clone()}
                {c.is_default.then(|| view! { <span class="ml-2 rounded-full bg-emerald-100 px-2 py-0.5 text-xs font-medium text-emerald-900">"Default"</span> })}
            </span>
            {(can_manage && !c.is_default).then(|| view! {
                <span class="flex gap-2">
                    <ActionForm action=make_default>
                        <input type="hidden" name="card" value=id1.clone() />
                        <button type="submit" class="rounded border border-stone-300 px-2 py-1 text-xs hover:bg-stone-100" data-testid="card-default">"Make default"</button>
                    </ActionForm>
                    <ActionForm action=remove>
                        <input type="hidden" name="card" value=id2.clone() />
                        <button type="submit" class="rounded border border-red-300 px-2 py-1 text-xs text-red-800 hover:bg-red-50" data-testid="card-remove">"Remove"</button>
                    </ActionForm>
                </span>
            })}
        </li>
    }
}
