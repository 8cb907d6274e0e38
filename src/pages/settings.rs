//! `/settings/security`: the signed-in browsers (end one, or all others) and the password.

use leptos::prelude::*;
use server_fn::ServerFn;

use crate::api::account::{ChangePassword, EndOtherSessions, EndSession, get_sessions};
use crate::components::{Alert, Field, FieldKind, PageLoader, error_of};
use crate::domain::Password;
use crate::domain::security::SessionView;
use crate::pages::dashboard::AppHeader;

fn password_rule(s: &str) -> Option<String> {
    Password::parse(s).err()
}
fn required_rule(s: &str) -> Option<String> {
    s.is_empty()
        .then(|| "Enter your current password.".to_string())
}

#[component]
pub fn SecuritySettings() -> impl IntoView {
    let end_one = ServerAction::<EndSession>::new();
    let end_others = ServerAction::<EndOtherSessions>::new();
    let change = ServerAction::<ChangePassword>::new();
    let data = Resource::new(
        move || {
            (
                end_one.version().get(),
                end_others.version().get(),
                change.version().get(),
            )
        },
        |_| get_sessions(),
    );
    view! {
        <AppHeader subtitle="Security" />
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            <h1 class="text-2xl font-bold">"Security"</h1>
            <section aria-labelledby="sessions-h" class="space-y-3">
                <h2 id="sessions-h" class="text-lg font-semibold">"Where you are signed in"</h2>
                <Alert message=error_of(end_one) />
                <Alert message=error_of(end_others) />
                <PageLoader
                    data
                    login="/settings/security"
                    keep_while_reloading=true
                    body=move |sessions| view! { <SessionList sessions end_one end_others /> }
                />
            </section>
            <PasswordForm change />
        </main>
    }
}

#[component]
fn SessionList(
    sessions: Vec<SessionView>,
    end_one: ServerAction<EndSession>,
    end_others: ServerAction<EndOtherSessions>,
) -> impl IntoView {
    let others = sessions.iter().filter(|s| !s.current).count();
    view! {
        <ul class="divide-y divide-stone-200 rounded-lg border border-stone-200 bg-white" data-testid="sessions">
            {sessions.into_iter().map(|s| {
                let id = s.id.clone();
                view! {
                    <li class="flex flex-wrap items-center justify-between gap-3 px-4 py-3" data-testid="session">
                        <div class="min-w-0">
                            <p class="font-medium">
                                {s.browser.clone()}
                                {s.current.then(|| view! {
                                    <span class="ml-2 rounded-full bg-emerald-100 px-2 py-0.5 text-xs text-emerald-900">"This browser"</span>
                                })}
                            </p>
                            <p class="text-sm text-stone-600">
                                {format!("{} · signed in {} · last seen {}", s.ip, day(&s.created_at), day(&s.last_seen_at))}
                            </p>
                        </div>
                        {(!s.current).then(|| view! {
                            <button
                                type="button"
                                class="rounded border border-stone-300 px-3 py-1.5 text-sm hover:bg-stone-100"
                                on:click=move |_| { end_one.dispatch(EndSession { id: id.clone() }); }
                            >
                                "Sign out"
                            </button>
                        })}
                    </li>
                }
            }).collect_view()}
        </ul>
        {(others > 0).then(|| view! {
            <button
                type="button"
                data-testid="end-others"
                class="rounded border border-red-300 px-3 py-2 text-sm text-red-800 hover:bg-red-50"
                on:click=move |_| { end_others.dispatch(EndOtherSessions {}); }
            >
                {format!("Sign out everywhere else ({others})")}
            </button>
        })}
    }
}

/// `2026-11-30T10:00:00+00:00` → `2026-11-30 10:00 UTC`.
fn day(rfc3339: &str) -> String {
    match (rfc3339.get(..10), rfc3339.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t} UTC"),
        _ => rfc3339.to_string(),
    }
}

#[component]
fn PasswordForm(change: ServerAction<ChangePassword>) -> impl IntoView {
    let current = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    let done = Signal::derive(move || matches!(change.value().get(), Some(Ok(()))));
    Effect::new(move |_| {
        if change.value().get().is_some() {
            current.set(String::new());
            password.set(String::new());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if required_rule(&current.get_untracked()).is_none()
            && password_rule(&password.get_untracked()).is_none()
        {
            change.dispatch(ChangePassword {
                current: current.get_untracked(),
                password: password.get_untracked(),
            });
        }
    };
    view! {
        <section aria-labelledby="password-h" class="max-w-md space-y-3">
            <h2 id="password-h" class="text-lg font-semibold">"Change your password"</h2>
            <form method="post" action=ChangePassword::url() on:submit=on_submit class="space-y-3" novalidate>
                <Alert message=Signal::derive(move || error.get().and_then(|e| e.form_message())) />
                <Show when=move || done.get()>
                    <p role="status" class="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
                        "Password changed. Every other browser was signed out."
                    </p>
                </Show>
                <Field name="current" label="Current password" kind=FieldKind::CurrentPassword value=current validate=required_rule force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("current"))) autocomplete="current-password" />
                <Field name="password" label="New password" kind=FieldKind::NewPassword value=password validate=password_rule force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("password"))) autocomplete="new-password" />
                <button type="submit" class="rounded bg-emerald-700 px-4 py-2 font-semibold text-white hover:bg-emerald-800 disabled:opacity-60" disabled=move || change.pending().get()>
                    "Change password"
                </button>
            </form>
        </section>
    }
}
