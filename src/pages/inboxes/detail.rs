//! One inbox (`/inboxes/:id`): credentials, settings, suspend / resume / delete.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use super::status_class;
use crate::api::inboxes::{ChangeInbox, RevealInbox, UpdateInbox, get_inbox};
use crate::components::style::{BUTTON, BUTTON_SECONDARY, INPUT};
use crate::components::{Alert, PageLoader, copy_text, error_of};
use crate::domain::inboxes::InboxDetail;
use crate::pages::dashboard::AppHeader;

/// One inbox: credentials, settings, suspend / resume / delete.
#[component]
pub fn InboxPage() -> impl IntoView {
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let change = ServerAction::<ChangeInbox>::new();
    let update = ServerAction::<UpdateInbox>::new();
    let tick = RwSignal::new(0u32);
    let data = Resource::new(
        move || {
            (
                id(),
                change.version().get(),
                update.version().get(),
                tick.get(),
            )
        },
        |(id, _, _, _)| get_inbox(id),
    );
    // While it is being set up (e.g. just resumed), ask again until the mail store accepted
    // its login (browser only).
    Effect::new(move |_| {
        if let Some(Ok(d)) = data.get()
            && d.item.status == "pending_relay"
        {
            set_timeout(
                move || tick.update(|t| *t += 1),
                std::time::Duration::from_millis(1500),
            );
        }
    });
    let action_error =
        Signal::derive(move || error_of(change).get().or_else(|| error_of(update).get()));
    view! {
        <AppHeader subtitle="Inbox" />
        <main class="mx-auto max-w-3xl space-y-6 px-4 py-8">
            <nav class="text-sm"><a href="/inboxes" class="text-emerald-800 underline">"← Inboxes"</a></nav>
            <Alert message=action_error />
            <PageLoader
                data
                login="/inboxes"
                keep_while_reloading=true
                not_found=|| view! { <p class="text-stone-600" data-testid="inbox-missing">"This inbox is not in your account."</p> }
                body=move |d| view! { <InboxBody d change update /> }
            />
        </main>
    }
}

fn allowance_text(allowance: i32, day: i32) -> String {
    match day {
        0 => format!("{allowance} messages (warm-up starts when the inbox is live)"),
        d => format!("{allowance} messages (warm-up day {d})"),
    }
}

#[component]
fn InboxBody(
    d: InboxDetail,
    change: ServerAction<ChangeInbox>,
    update: ServerAction<UpdateInbox>,
) -> impl IntoView {
    let id = d.item.id.clone();
    let reveal = ServerAction::<RevealInbox>::new();
    let status = d.item.status.clone();
    let head = view! {
        <section class="rounded-lg border border-stone-200 bg-white p-5">
            <h1 class="text-2xl font-bold break-all" data-testid="inbox-address">{d.item.address.clone()}</h1>
            <p class="mt-1"><span class=format!("rounded-full px-2 py-0.5 text-xs font-medium {}", status_class(&status))
                data-testid="inbox-status" data-status=status.clone()>{d.item.status_label.clone()}</span></p>
            <p class="mt-2 text-sm text-stone-600" data-testid="warmup">{d.warmup_note.clone()}</p>
            <p class="mt-1 text-sm">
                <a href=format!("/deliverability/inboxes/{}", d.item.id) class="text-emerald-800 underline" data-testid="deliverability-link">"Deliverability: sent, bounces, complaints, health"</a>
            </p>
            <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                <dt>"Today's allowance"</dt>
                <dd data-testid="allowance">{allowance_text(d.allowance_today, d.warmup_day)}</dd>
                <dt>"Messages received"</dt>
                <dd data-testid="messages">{match d.messages {
                    Some(n) => n.to_string(),
                    None => "unavailable right now".to_string(),
                }}</dd>
                <dt>"Login check"</dt>
                <dd data-testid="login-check">{match (&d.login_checked, &d.login_check_error) {
                    (Some(at), _) => format!("The mail store accepted its login at {at}"),
                    (None, Some(e)) => format!("Not yet accepted: {e}"),
                    (None, None) => "Waiting for the mail store to accept its login".to_string(),
                }}</dd>
            </dl>
            <p class="text-sm text-stone-500">{format!("Created {}", d.created)}</p>
        </section>
    }
    .into_any();
    let id_r = id.clone();
    let password = move || reveal.value().get().and_then(Result::ok);
    let creds = view! {
        <section aria-labelledby="smtp-h" class="rounded-lg border border-stone-200 bg-white p-5">
            <h2 id="smtp-h" class="text-lg font-semibold">"Credentials"</h2>
            <p class="text-sm text-stone-600">"One username and password for sending (SMTP) and reading (IMAP)."</p>
            <dl class="mt-2 grid grid-cols-[auto_1fr] gap-x-4 gap-y-1 text-sm">
                <dt>"SMTP"</dt><dd class="font-mono" data-testid="smtp">{format!("{}:{} ({})", d.smtp_host, d.smtp_port, d.smtp_security)}</dd>
                <dt>"IMAP"</dt><dd class="font-mono" data-testid="imap">{format!("{}:{} ({})", d.imap_host, d.imap_port, d.imap_security)}</dd>
                <dt>"Username"</dt><dd class="font-mono break-all">{d.item.address.clone()}</dd>
                <dt>"Password"</dt>
                <dd class="font-mono break-all" data-testid="password">
                    {move || match password() {
                        Some(p) => {
                            let copy = p.clone();
                            view! { <span>{p}</span><button type="button" class="ml-2 rounded border border-stone-300 px-1.5 text-xs" on:click=move |_| copy_text(&copy)>"Copy"</button> }.into_any()
                        }
                        None => view! { <span class="text-stone-500">"••••••••••••"</span> }.into_any(),
                    }}
                </dd>
            </dl>
            <ActionForm action=reveal attr:class="mt-3">
                <input type="hidden" name="id" value=id_r />
                <button type="submit" class=BUTTON_SECONDARY data-testid="reveal">"Reveal password"</button>
            </ActionForm>
            <p class="mt-1 text-xs text-stone-500">"Every reveal is recorded in your account's activity."</p>
            <Alert message=error_of(reveal) />
        </section>
    }
    .into_any();
    let manage = d.can_manage.then(|| {
        let (id1, id2, id3) = (id.clone(), id.clone(), id.clone());
        let suspended = status == "suspended";
        view! {
            <section aria-labelledby="settings-h" class="rounded-lg border border-stone-200 bg-white p-5">
                <h2 id="settings-h" class="text-lg font-semibold">"Settings"</h2>
                <ActionForm action=update attr:class="mt-2 grid gap-3 sm:grid-cols-3 sm:items-end">
                    <input type="hidden" name="id" value=id1 />
                    <label class="text-sm sm:col-span-2">"Display name"
                        <input type="text" name="display_name" class=INPUT value=d.item.display_name.clone() data-testid="display-name" />
                    </label>
                    <label class="text-sm">"Daily cap"
                        <input type="number" name="daily_cap" min="1" max="2000" class=INPUT value=d.item.daily_cap.to_string() data-testid="daily-cap" />
                    </label>
                    <button type="submit" class=BUTTON data-testid="save">"Save"</button>
                </ActionForm>
                <div class="mt-4 flex flex-wrap gap-2">
                    <ActionForm action=change>
                        <input type="hidden" name="id" value=id2 />
                        <input type="hidden" name="action" value=if suspended { "resume" } else { "suspend" } />
                        <button type="submit" class=BUTTON_SECONDARY data-testid="suspend-toggle">{if suspended { "Resume sending" } else { "Suspend sending" }}</button>
                    </ActionForm>
                    <ActionForm action=change>
                        <input type="hidden" name="id" value=id3 />
                        <input type="hidden" name="action" value="delete" />
                        <button type="submit" class="rounded border border-red-300 px-3 py-2 text-sm text-red-800 hover:bg-red-50" data-testid="delete-inbox">"Delete"</button>
                    </ActionForm>
                </div>
            </section>
        }
        .into_any()
    });
    view! { {head} {creds} {manage} }
}
