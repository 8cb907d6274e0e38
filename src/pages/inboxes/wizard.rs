//! The magic button (`/inboxes/new`): domains → how many and how named → preview → Provision.

use leptos::prelude::*;
use leptos_router::hooks::use_navigate;

use crate::api::inboxes::{ProvisionInboxes, get_wizard};
use crate::components::style::{BUTTON, BUTTON_SECONDARY, INPUT};
use crate::components::{Alert, PageLoader, error_of};
use crate::domain::inboxes::{BatchForm, Convention, DisplayStyle, TargetDomain, WizardView, plan};
use crate::pages::dashboard::AppHeader;

/// The magic button: domains → how many and how named → preview → Provision.
#[component]
pub fn NewInboxes() -> impl IntoView {
    let data = Resource::new(|| (), |_| get_wizard());
    view! {
        <AppHeader subtitle="Create inboxes" />
        <main class="mx-auto max-w-3xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/inboxes" class="text-emerald-800 underline">"← Inboxes"</a></nav>
            <PageLoader data login="/inboxes/new" body=|view| view! { <Wizard view /> } />
        </main>
    }
}

#[component]
fn Wizard(view: WizardView) -> impl IntoView {
    let view = StoredValue::new(view);
    let headroom = view.with_value(WizardView::headroom);
    let step = RwSignal::new(1u8);
    let chosen = RwSignal::new(Vec::<String>::new());
    let initial = view.with_value(|v| {
        let per = headroom.min(i64::from(v.max_per_domain)).clamp(1, 50);
        per.to_string()
    });
    let per_domain = RwSignal::new(initial);
    let convention = RwSignal::new(Convention::FirstDotLast.key().to_string());
    let personas = RwSignal::new(String::new());
    let display = RwSignal::new(DisplayStyle::FullName.key().to_string());
    let company = RwSignal::new(String::new());
    // One key per wizard: a double click, or a retry after a lost answer, makes one batch.
    let key = StoredValue::new(uuid::Uuid::new_v4().to_string());
    let form = move || BatchForm {
        domains: chosen.get().join(","),
        per_domain: per_domain.get(),
        convention: convention.get(),
        personas: personas.get(),
        display: display.get(),
        company: company.get(),
    };
    let max = view.with_value(|v| v.max_per_domain);
    let field_errors = Memo::new(move |_| form().parse(max).err().unwrap_or_default());
    let error_for = move |field: &'static str| {
        move || {
            field_errors
                .get()
                .into_iter()
                .find(|(f, _)| *f == field)
                .map(|(_, m)| m)
        }
    };
    let total =
        move || per_domain.get().trim().parse::<i64>().unwrap_or(0) * chosen.get().len() as i64;
    let over = move || {
        let t = total();
        (t > headroom).then(|| {
            format!(
                "That is {t} inboxes, and your plan has room for {headroom} more. Choose fewer, or a bigger plan on the Billing page."
            )
        })
    };
    // The exact addresses, computed here with the same rules the server uses.
    let preview = Memo::new(move |_| {
        let spec = form()
            .parse(max)
            .map_err(|e| e.into_iter().map(|(_, m)| m).collect::<Vec<_>>().join(" "))?;
        let ids = chosen.get();
        let targets: Vec<TargetDomain> = view.with_value(|v| {
            ids.iter()
                .filter_map(|id| v.domains.iter().find(|d| &d.id == id))
                .map(|d| TargetDomain {
                    id: d.id.clone(),
                    name: d.name.clone(),
                    taken: d.taken.clone(),
                })
                .collect()
        });
        plan(&spec, &targets)
    });
    let provision = ServerAction::<ProvisionInboxes>::new();
    let navigate = use_navigate();
    Effect::new(move |_| {
        if let Some(Ok(done)) = provision.value().get() {
            navigate(
                &format!("/inboxes?batch={}", done.batch_id),
                Default::default(),
            );
        }
    });
    let blocked = view.with_value(|v| v.blocked.clone());
    let can_manage = view.with_value(|v| v.can_manage);
    let no_domains = view.with_value(|v| v.domains.is_empty());
    let usage = view.with_value(|v| match &v.overage_price {
        Some(price) => format!(
            "{} plan: {} of {} inboxes included used — each one past that adds {price} a month.",
            v.plan_name, v.used, v.limit
        ),
        None => format!(
            "{} plan: {} of {} inboxes used — room for {} more.",
            v.plan_name, v.used, v.limit, headroom
        ),
    });
    if let Some(reason) = blocked {
        return view! { <p role="alert" data-testid="wizard-blocked" class="rounded border border-red-300 bg-red-50 px-3 py-2">{reason}</p> }.into_any();
    }
    if !can_manage {
        return view! { <p class="text-stone-600">"Only owners and admins can create inboxes."</p> }.into_any();
    }
    if no_domains {
        return view! {
            <p class="text-stone-600" data-testid="wizard-no-domains">"You need an active domain first. "
                <a class="text-emerald-800 underline" href="/domains">"Buy or connect one"</a>"."</p>
        }
        .into_any();
    }
    let step_one = move || {
        view! {
            <fieldset class="space-y-2" data-testid="step-domains">
                <legend class="font-semibold">"1. Domains"</legend>
                {view.with_value(|v| v.domains.clone()).into_iter().map(|d| {
                    let id = d.id.clone();
                    let id2 = d.id.clone();
                    view! {
                        <label class="flex items-center gap-2 rounded border border-stone-200 bg-white px-3 py-2">
                            <input type="checkbox" value=d.id.clone() data-testid="domain-choice"
                                prop:checked=move || chosen.get().contains(&id)
                                on:change=move |ev| {
                                    let on = event_target_checked(&ev);
                                    chosen.update(|c| {
                                        c.retain(|x| x != &id2);
                                        if on { c.push(id2.clone()); }
                                    });
                                } />
                            <span class="font-medium">{d.name.clone()}</span>
                            <span class="text-sm text-stone-500">{format!("{} inboxes", d.taken.len())}</span>
                        </label>
                    }
                }).collect_view()}
                <div class="pt-2">
                    <button type="button" class=BUTTON data-testid="next-1"
                        disabled=move || chosen.get().is_empty()
                        on:click=move |_| step.set(2)>"Next"</button>
                </div>
            </fieldset>
        }
        .into_any()
    };
    let step_two = move || {
        view! {
            <fieldset class="space-y-4" data-testid="step-naming">
                <legend class="font-semibold">"2. How many, and their names"</legend>
                <label class="block text-sm">"Inboxes per domain"
                    <input type="number" min="1" max=max.to_string() class=INPUT data-testid="per-domain"
                        prop:value=move || per_domain.get()
                        on:input=move |ev| per_domain.set(event_target_value(&ev)) />
                </label>
                <p class="text-sm text-red-700" data-testid="per-domain-error">{error_for("per_domain")}</p>
                <label class="block text-sm">"Naming convention"
                    <select class=INPUT data-testid="convention"
                        on:change=move |ev| convention.set(event_target_value(&ev))>
                        {Convention::ALL.into_iter().map(|c| view! {
                            <option value=c.key() selected=move || convention.get() == c.key()>{c.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || convention.get() == Convention::Personas.key()>
                    <label class="block text-sm">"Personas, one “First Last” per line"
                        <textarea rows="5" class=INPUT data-testid="personas"
                            prop:value=move || personas.get()
                            on:input=move |ev| personas.set(event_target_value(&ev))></textarea>
                    </label>
                    <p class="text-sm text-red-700" data-testid="personas-error">{error_for("personas")}</p>
                </Show>
                <label class="block text-sm">"Display names"
                    <select class=INPUT data-testid="display"
                        on:change=move |ev| display.set(event_target_value(&ev))>
                        {DisplayStyle::ALL.into_iter().map(|d| view! {
                            <option value=d.key() selected=move || display.get() == d.key()>{d.label()}</option>
                        }).collect_view()}
                    </select>
                </label>
                <Show when=move || display.get() == DisplayStyle::FirstAtCompany.key()>
                    <label class="block text-sm">"Company"
                        <input type="text" class=INPUT data-testid="company"
                            prop:value=move || company.get()
                            on:input=move |ev| company.set(event_target_value(&ev)) />
                    </label>
                    <p class="text-sm text-red-700">{error_for("company")}</p>
                </Show>
                <p class="text-sm text-red-700" data-testid="over-limit">{over}</p>
                <p class="text-sm text-red-700" data-testid="plan-error">
                    {move || if field_errors.get().is_empty() { preview.get().err() } else { None }}
                </p>
                <div class="flex gap-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| step.set(1)>"Back"</button>
                    <button type="button" class=BUTTON data-testid="next-2"
                        disabled=move || preview.get().is_err() || over().is_some()
                        on:click=move |_| step.set(3)>"Preview"</button>
                </div>
            </fieldset>
        }
        .into_any()
    };
    let step_three = move || {
        let addresses = preview.get().unwrap_or_default();
        let n = addresses.len();
        view! {
            <section class="space-y-3" data-testid="step-preview">
                <h2 class="font-semibold">{format!("3. Preview: {n} inboxes")}</h2>
                <ol class="max-h-80 overflow-y-auto rounded border border-stone-200 bg-white p-3 font-mono text-sm" data-testid="preview">
                    {addresses.into_iter().map(|p| view! {
                        <li data-testid="preview-address"><span>{p.address}</span>" "<span class="text-stone-500">{format!("“{}”", p.display_name)}</span></li>
                    }).collect_view()}
                </ol>
                <p class="text-sm text-stone-600">"Each gets a strong random password, stored encrypted; the relay learns them at once and warm-up starts."</p>
                <Alert message=error_of(provision) />
                <div class="flex gap-2">
                    <button type="button" class=BUTTON_SECONDARY on:click=move |_| step.set(2)>"Back"</button>
                    <button type="button" class=BUTTON data-testid="provision"
                        disabled=move || provision.pending().get() || over().is_some()
                        on:click=move |_| {
                            let f = form();
                            provision.dispatch(ProvisionInboxes {
                                domains: f.domains,
                                per_domain: f.per_domain,
                                convention: f.convention,
                                personas: f.personas,
                                display: f.display,
                                company: f.company,
                                idempotency_key: key.get_value(),
                            });
                        }>
                        {move || if provision.pending().get() { "Provisioning…".to_string() } else { format!("Provision {n} inboxes") }}
                    </button>
                </div>
            </section>
        }
        .into_any()
    };
    view! {
        <h1 class="text-2xl font-bold">"Create inboxes"</h1>
        <p class="text-sm text-stone-600" data-testid="headroom">{usage}</p>
        {move || match step.get() {
            1 => step_one(),
            2 => step_two(),
            _ => step_three(),
        }}
    }
    .into_any()
}
