//! `/settings/api`: API keys (made by owners and admins, shown once), this month's metered
//! calls, webhook endpoints (owners) with their delivery log, and the keys for the cold-email
//! tools inboxes are pushed to.

use leptos::prelude::*;
use server_fn::ServerFn;

use crate::api::integrations::{
    ChangeWebhook, ConnectTool, CreateApiKey, CreateWebhook, ResendDelivery, RevokeApiKey,
    get_integrations,
};
use crate::components::style::{BUTTON, BUTTON_SECONDARY, CARD, INPUT};
use crate::components::{Alert, PageLoader, error_of};
use crate::domain::api::{ApiKeyView, ApiSettingsView, Scope, ToolView, WebhookView};
use crate::domain::format_count;
use crate::pages::dashboard::AppHeader;

#[derive(Clone, Copy)]
struct Actions {
    create: ServerAction<CreateApiKey>,
    revoke: ServerAction<RevokeApiKey>,
    hook: ServerAction<CreateWebhook>,
    change: ServerAction<ChangeWebhook>,
    resend: ServerAction<ResendDelivery>,
    tool: ServerAction<ConnectTool>,
}

#[component]
pub fn ApiSettings() -> impl IntoView {
    let a = Actions {
        create: ServerAction::new(),
        revoke: ServerAction::new(),
        hook: ServerAction::new(),
        change: ServerAction::new(),
        resend: ServerAction::new(),
        tool: ServerAction::new(),
    };
    let data = Resource::new(
        move || {
            (
                a.create.version().get(),
                a.revoke.version().get(),
                a.hook.version().get(),
                a.change.version().get(),
                a.resend.version().get(),
                a.tool.version().get(),
            )
        },
        |_| get_integrations(),
    );
    view! {
        <AppHeader subtitle="API" />
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            <div class="flex flex-wrap items-baseline justify-between gap-2">
                <h1 class="text-2xl font-bold">"API and integrations"</h1>
                <a class="text-emerald-800 underline" href="/docs/api" rel="external">"API reference"</a>
            </div>
            <Alert message=error_of(a.revoke) />
            <Alert message=error_of(a.change) />
            <Alert message=error_of(a.resend) />
            <PageLoader
                data
                login="/settings/api"
                keep_while_reloading=true
                body=move |view| view! { <Body view a /> }
            />
        </main>
    }
}

#[component]
fn Body(view: ApiSettingsView, a: Actions) -> impl IntoView {
    let usage = format!(
        "{} of {} API calls used this month.",
        format_count(view.calls_this_month),
        format_count(view.calls_allowed)
    );
    let manage = view.can_manage;
    let owner = view.owner;
    let keys = view.keys;
    let endpoints = view.endpoints;
    let events = view.events;
    let tools = view.tools;
    view! {
        <p class="text-stone-700" data-testid="api-usage">{usage}</p>
        <section aria-labelledby="keys-h" class="space-y-3">
            <h2 id="keys-h" class="text-lg font-semibold">"API keys"</h2>
            <KeyList keys manage revoke=a.revoke />
            {manage.then(|| view! { <NewKey create=a.create /> })}
        </section>
        <section aria-labelledby="hooks-h" class="space-y-3">
            <h2 id="hooks-h" class="text-lg font-semibold">"Webhooks"</h2>
            <p class="text-sm text-stone-600">"We POST each event, signed per the Standard Webhooks spec, and retry failures for three days."</p>
            <Hooks endpoints owner a />
            {owner.then(|| view! { <NewHook events hook=a.hook /> })}
        </section>
        <section aria-labelledby="tools-h" class="space-y-3">
            <h2 id="tools-h" class="text-lg font-semibold">"Cold-email tools"</h2>
            <p class="text-sm text-stone-600">"With your key for a tool stored here, the inbox list sends selected inboxes straight into it."</p>
            <Alert message=error_of(a.tool) />
            {tools.into_iter().map(|t| view! { <ToolRow t manage tool=a.tool /> }).collect_view()}
        </section>
    }
}

#[component]
fn KeyList(
    keys: Vec<ApiKeyView>,
    manage: bool,
    revoke: ServerAction<RevokeApiKey>,
) -> impl IntoView {
    if keys.is_empty() {
        return view! { <p class="text-sm text-stone-600" data-testid="no-keys">"No keys yet."</p> }.into_any();
    }
    view! {
        <ul class="divide-y divide-stone-200 rounded-lg border border-stone-200 bg-white" data-testid="api-keys">
            {keys.into_iter().map(|k| {
                let id = k.id.clone();
                let live = k.state == "active";
                let used = match (&k.last_used, &k.last_used_ip) {
                    (Some(at), Some(ip)) => format!("last used {at} from {ip}"),
                    (Some(at), None) => format!("last used {at}"),
                    _ => "never used".to_string(),
                };
                let expires = k.expires.clone().map(|e| format!(" · expires {e}")).unwrap_or_default();
                view! {
                    <li class="flex flex-wrap items-center justify-between gap-3 px-4 py-3" data-testid="api-key" data-state=k.state.clone()>
                        <div class="min-w-0">
                            <p class="font-medium break-all">{k.name.clone()} " " <code class="text-sm text-stone-600">{format!("{}…", k.prefix)}</code></p>
                            <p class="text-sm text-stone-600">{format!("{} · made {} by {}{expires}", k.scopes.join(", "), k.created, k.created_by)}</p>
                            <p class="text-sm text-stone-600">{format!("{} · {}", k.state, used)}</p>
                        </div>
                        {(manage && live).then(|| view! {
                            <button type="button" class=BUTTON_SECONDARY data-testid="revoke-key"
                                on:click=move |_| { revoke.dispatch(RevokeApiKey { id: id.clone() }); }>"Revoke"</button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn NewKey(create: ServerAction<CreateApiKey>) -> impl IntoView {
    let name = RwSignal::new(String::new());
    let expires = RwSignal::new(String::new());
    let chosen: Vec<(Scope, RwSignal<bool>)> = Scope::ALL
        .iter()
        .map(|s| (*s, RwSignal::new(*s == Scope::Read)))
        .collect();
    let picked = chosen.clone();
    let scopes = move || {
        picked
            .iter()
            .filter(|(_, on)| on.get())
            .map(|(s, _)| s.as_str())
            .collect::<Vec<_>>()
            .join(",")
    };
    let secret = Signal::derive(move || create.value().get().and_then(|r| r.ok()));
    let error = error_of(create);
    let submit_scopes = scopes.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        create.dispatch(CreateApiKey {
            name: name.get_untracked(),
            scopes: submit_scopes(),
            expires_days: expires.get_untracked(),
        });
    };
    view! {
        <form method="post" action=CreateApiKey::url() on:submit=on_submit class=format!("{CARD} max-w-xl space-y-3") data-testid="new-key-form">
            <h3 class="font-semibold">"Make a key"</h3>
            <Alert message=error />
            <Show when=move || secret.get().is_some()>
                <div role="status" class="space-y-1 rounded border border-emerald-300 bg-emerald-50 p-3">
                    <p class="text-sm font-semibold">"Copy this key now: it is not shown again."</p>
                    <code class="block break-all text-sm" data-testid="new-key-secret">{move || secret.get().map(|k| k.secret).unwrap_or_default()}</code>
                </div>
            </Show>
            <label class="block text-sm font-medium">"Name"
                <input class=INPUT name="name" required maxlength="80" placeholder="e.g. Zapier" data-testid="key-name"
                    prop:value=move || name.get() on:input=move |ev| name.set(event_target_value(&ev)) />
            </label>
            <fieldset class="space-y-1">
                <legend class="text-sm font-medium">"Scopes"</legend>
                {chosen.into_iter().map(|(s, on)| view! {
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" data-testid=format!("scope-{}", s.as_str()) prop:checked=move || on.get()
                            on:change=move |ev| on.set(event_target_checked(&ev)) />
                        <code>{s.as_str()}</code> " — " {s.label()}
                    </label>
                }).collect_view()}
                <input type="hidden" name="scopes" prop:value=scopes />
            </fieldset>
            <label class="block text-sm font-medium">"Expires after (days, empty for never)"
                <input class=INPUT name="expires_days" inputmode="numeric" data-testid="key-expires"
                    prop:value=move || expires.get() on:input=move |ev| expires.set(event_target_value(&ev)) />
            </label>
            <button type="submit" class=BUTTON data-testid="create-key" disabled=move || create.pending().get()>"Make key"</button>
        </form>
    }
}

#[component]
fn Hooks(endpoints: Vec<WebhookView>, owner: bool, a: Actions) -> impl IntoView {
    if endpoints.is_empty() {
        return view! { <p class="text-sm text-stone-600">"No endpoints yet."</p> }.into_any();
    }
    let rotated = Signal::derive(move || a.change.value().get().and_then(|r| r.ok()).flatten());
    view! {
        <Show when=move || rotated.get().is_some()>
            <p role="status" class="rounded border border-emerald-300 bg-emerald-50 p-3 text-sm">
                "New signing secret (the old one keeps signing for a day): "
                <code class="break-all" data-testid="rotated-secret">{move || rotated.get().unwrap_or_default()}</code>
            </p>
        </Show>
        <ul class="space-y-3" data-testid="webhooks">
            {endpoints.into_iter().map(|e| {
                let (id1, id2, id3, id4) = (e.id.clone(), e.id.clone(), e.id.clone(), e.id.clone());
                let state = if e.enabled { "enabled" } else { "disabled" };
                view! {
                    <li class=CARD data-testid="webhook" data-state=state>
                        <p class="font-mono text-sm break-all">{e.url.clone()}</p>
                        <p class="text-sm text-stone-600">{e.events.join(", ")}</p>
                        {e.disabled_reason.clone().map(|r| view! { <p class="text-sm text-red-800">{r}</p> })}
                        {e.failing_since.clone().map(|f| view! { <p class="text-sm text-amber-800">{format!("Failing since {f}")}</p> })}
                        {owner.then(|| view! {
                            <div class="mt-2 flex flex-wrap gap-2">
                                <button type="button" class=BUTTON_SECONDARY data-testid="webhook-test"
                                    on:click=move |_| { a.change.dispatch(ChangeWebhook { id: id1.clone(), action: "test".into() }); }>"Send a test event"</button>
                                <button type="button" class=BUTTON_SECONDARY
                                    on:click=move |_| { a.change.dispatch(ChangeWebhook { id: id2.clone(), action: "rotate".into() }); }>"Rotate secret"</button>
                                {(!e.enabled).then(|| view! {
                                    <button type="button" class=BUTTON_SECONDARY
                                        on:click=move |_| { a.change.dispatch(ChangeWebhook { id: id3.clone(), action: "enable".into() }); }>"Turn back on"</button>
                                })}
                                <button type="button" class=BUTTON_SECONDARY
                                    on:click=move |_| { a.change.dispatch(ChangeWebhook { id: id4.clone(), action: "delete".into() }); }>"Remove"</button>
                            </div>
                        })}
                        <table class="mt-3 w-full text-left text-sm" data-testid="deliveries">
                            <thead class="text-stone-500"><tr><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last answer"</th><th></th></tr></thead>
                            <tbody>
                                {e.deliveries.into_iter().map(|d| {
                                    let id = d.id.clone();
                                    let answer = match (d.last_status, d.last_ms, d.last_error.clone()) {
                                        (Some(s), Some(ms), _) => format!("{s} in {ms} ms"),
                                        (None, _, Some(err)) => err,
                                        _ => "—".into(),
                                    };
                                    view! {
                                        <tr class="border-t border-stone-200" data-testid="delivery" data-status=d.status.clone()>
                                            <td class="py-1 pr-2 font-mono">{d.event.clone()}</td>
                                            <td class="py-1 pr-2">{d.status.clone()}</td>
                                            <td class="py-1 pr-2">{d.attempts}</td>
                                            <td class="py-1 pr-2">{answer}</td>
                                            <td class="py-1">{owner.then(|| view! {
                                                <button type="button" class="text-emerald-800 underline" data-testid="resend"
                                                    on:click=move |_| { a.resend.dispatch(ResendDelivery { id: id.clone() }); }>"Re-send"</button>
                                            })}</td>
                                        </tr>
                                    }
                                }).collect_view()}
                            </tbody>
                        </table>
                    </li>
                }
            }).collect_view()}
        </ul>
    }
    .into_any()
}

#[component]
fn NewHook(events: Vec<String>, hook: ServerAction<CreateWebhook>) -> impl IntoView {
    let url = RwSignal::new(String::new());
    let chosen: Vec<(String, RwSignal<bool>)> = events
        .into_iter()
        .map(|e| (e, RwSignal::new(false)))
        .collect();
    let picked = chosen.clone();
    let joined = move || {
        picked
            .iter()
            .filter(|(_, on)| on.get())
            .map(|(e, _)| e.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    let secret = Signal::derive(move || hook.value().get().and_then(|r| r.ok()));
    let submit_events = joined.clone();
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        hook.dispatch(CreateWebhook {
            url: url.get_untracked(),
            events: submit_events(),
        });
    };
    view! {
        <form method="post" action=CreateWebhook::url() on:submit=on_submit class=format!("{CARD} max-w-xl space-y-3")>
            <h3 class="font-semibold">"Add an endpoint"</h3>
            <Alert message=error_of(hook) />
            <Show when=move || secret.get().is_some()>
                <p role="status" class="rounded border border-emerald-300 bg-emerald-50 p-3 text-sm">
                    "Signing secret (shown once): " <code class="break-all" data-testid="webhook-secret">{move || secret.get().unwrap_or_default()}</code>
                </p>
            </Show>
            <label class="block text-sm font-medium">"URL"
                <input class=INPUT name="url" type="url" placeholder="https://example.com/hooks/inboxgrove" data-testid="webhook-url"
                    prop:value=move || url.get() on:input=move |ev| url.set(event_target_value(&ev)) />
            </label>
            <fieldset class="grid grid-cols-1 gap-1 sm:grid-cols-2">
                <legend class="text-sm font-medium">"Events"</legend>
                {chosen.into_iter().map(|(e, on)| view! {
                    <label class="flex items-center gap-2 text-sm">
                        <input type="checkbox" data-testid=format!("event-{e}") prop:checked=move || on.get()
                            on:change=move |ev| on.set(event_target_checked(&ev)) />
                        <code>{e.clone()}</code>
                    </label>
                }).collect_view()}
                <input type="hidden" name="events" prop:value=joined />
            </fieldset>
            <button type="submit" class=BUTTON data-testid="create-webhook" disabled=move || hook.pending().get()>"Add endpoint"</button>
        </form>
    }
}

#[component]
fn ToolRow(t: ToolView, manage: bool, tool: ServerAction<ConnectTool>) -> impl IntoView {
    let key = RwSignal::new(String::new());
    let name = t.tool.clone();
    let stored = match &t.key_hint {
        Some(hint) => format!("Key stored (ends in {hint})."),
        None => "No key stored.".to_string(),
    };
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        tool.dispatch(ConnectTool {
            tool: name.clone(),
            key: key.get_untracked(),
        });
        key.set(String::new());
    };
    view! {
        <form method="post" action=ConnectTool::url() on:submit=on_submit class=format!("{CARD} flex flex-wrap items-end gap-3") data-testid=format!("tool-{}", t.tool)>
            <div class="min-w-0 flex-1">
                <p class="font-medium">{t.label.clone()}</p>
                <p class="text-sm text-stone-600" data-testid="tool-state">{stored}</p>
                <input type="hidden" name="tool" value=t.tool.clone() />
                {manage.then(|| view! {
                    <label class="mt-2 block text-sm">{format!("{} API key (empty to remove)", t.label)}
                        <input class=INPUT name="key" type="password" autocomplete="off" data-testid="tool-key"
                            prop:value=move || key.get() on:input=move |ev| key.set(event_target_value(&ev)) />
                    </label>
                })}
            </div>
            {manage.then(|| view! { <button type="submit" class=BUTTON_SECONDARY data-testid="save-tool">"Save"</button> })}
        </form>
    }
}
