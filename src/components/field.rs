//! One labelled input with inline feedback. The browser runs the same `parse` the server
//! runs; a server message stays until the user edits the field.

use leptos::prelude::*;

use crate::domain::Strength;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Text,
    Email,
    Url,
    /// A new password: show/hide toggle and a strength meter.
    NewPassword,
    /// The password at login: show/hide toggle only.
    CurrentPassword,
}

impl FieldKind {
    fn is_password(self) -> bool {
        matches!(self, FieldKind::NewPassword | FieldKind::CurrentPassword)
    }
    fn input_type(self) -> &'static str {
        match self {
            FieldKind::Text => "text",
            FieldKind::Email => "email",
            FieldKind::Url => "text",
            FieldKind::NewPassword | FieldKind::CurrentPassword => "password",
        }
    }
}

#[component]
pub fn Field(
    /// The input's name and id (also the server's field name).
    name: &'static str,
    label: &'static str,
    kind: FieldKind,
    value: RwSignal<String>,
    /// The client-side rule (the shared domain `parse`): `Some(message)` when invalid.
    #[prop(optional)]
    validate: Option<fn(&str) -> Option<String>>,
    /// Show client-side messages even before the field lost focus (after a submit attempt).
    #[prop(into)]
    force: Signal<bool>,
    /// The server's message for this field, if any.
    #[prop(into)]
    server_error: Signal<Option<String>>,
    #[prop(optional)] autocomplete: &'static str,
    #[prop(optional)] hint: &'static str,
) -> impl IntoView {
    let touched = RwSignal::new(false);
    let edited_since_server = RwSignal::new(false);
    Effect::new(move |_| {
        server_error.track();
        edited_since_server.set(false);
    });
    let visible = RwSignal::new(false);

    let message = Signal::derive(move || {
        let client = match validate {
            Some(f) if touched.get() || force.get() => f(&value.get()),
            _ => None,
        };
        client.or_else(|| {
            if edited_since_server.get() {
                None
            } else {
                server_error.get()
            }
        })
    });
    let error_id = format!("{name}-error");
    let described = error_id.clone();

    let input_type = move || {
        if kind.is_password() && visible.get() {
            "text"
        } else {
            kind.input_type()
        }
    };

    view! {
        <div class="space-y-1">
            <label for=name class="block text-sm font-medium text-stone-800">
                {label}
            </label>
            <div class="flex gap-2">
                <input
                    id=name
                    name=name
                    type=input_type
                    autocomplete=autocomplete
                    bind:value=value
                    on:input=move |_| edited_since_server.set(true)
                    on:blur=move |_| touched.set(true)
                    aria-invalid=move || message.get().is_some().to_string()
                    aria-describedby=described
                    class=move || {
                        format!(
                            "block w-full min-w-0 rounded border px-3 py-2 text-base focus:outline-none focus:ring-2 focus:ring-emerald-600 {}",
                            if message.get().is_some() { "border-red-500" } else { "border-stone-300" },
                        )
                    }
                />
                <Show when=move || kind.is_password()>
                    <button
                        type="button"
                        data-testid=format!("{name}-toggle")
                        class="shrink-0 rounded border border-stone-300 px-3 text-sm text-stone-700 hover:bg-stone-100"
                        aria-pressed=move || visible.get().to_string()
                        on:click=move |_| visible.update(|v| *v = !*v)
                    >
                        {move || if visible.get() { "Hide" } else { "Show" }}
                    </button>
                </Show>
            </div>
            <Show when=move || kind == FieldKind::NewPassword>
                <StrengthMeter value />
            </Show>
            <Show when=move || !hint.is_empty() && message.get().is_none()>
                <p class="text-xs text-stone-500">{hint}</p>
            </Show>
            <p id=error_id class="min-h-4 text-sm text-red-700" aria-live="polite">
                {move || message.get()}
            </p>
        </div>
    }
}

#[component]
fn StrengthMeter(value: RwSignal<String>) -> impl IntoView {
    let strength = Signal::derive(move || Strength::of(&value.get()));
    let bar = move |step: u8| {
        move || {
            let s = strength.get();
            let colour = match s {
                Strength::TooShort | Strength::Weak => "bg-red-500",
                Strength::Fair => "bg-amber-500",
                Strength::Strong => "bg-emerald-600",
            };
            let on = !value.get().is_empty() && s.score() >= step;
            format!(
                "h-1.5 flex-1 rounded {}",
                if on { colour } else { "bg-stone-200" }
            )
        }
    };
    view! {
        <div class="flex items-center gap-2" aria-live="polite">
            <div class="flex flex-1 gap-1" aria-hidden="true">
                <span class=bar(0)></span>
                <span class=bar(1)></span>
                <span class=bar(2)></span>
                <span class=bar(3)></span>
            </div>
            <span class="w-36 text-right text-xs text-stone-600" data-testid="password-strength">
                {move || {
                    let n = value.get().chars().count();
                    if n == 0 {
                        "12+ characters".to_string()
                    } else {
                        format!("{} · {} chars", strength.get().label(), n)
                    }
                }}
            </span>
        </div>
    }
}
