//! Signup and login forms. Controlled inputs keep what the user typed when the server says
//! no (the password is cleared); without JavaScript they still POST to the same endpoints.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;
use server_fn::ServerFn;

use crate::api::auth::{
    ForgotPassword as ForgotFn, Login as LoginFn, ResetPassword as ResetFn, Signup as SignupFn,
    VerifyEmail as VerifyFn, signup_sent,
};
use crate::api::team::{AcceptInvitation as AcceptFn, get_invitation};
use crate::api::two_factor::LoginCode as LoginCodeFn;
use crate::components::{Alert, Field, FieldKind, PageLoader, PublicHeader};
use crate::domain::team::InvitationInfo;
use crate::domain::{CompanyName, EmailAddress, Password, Website};
use crate::error::AppError;

fn company_rule(s: &str) -> Option<String> {
    CompanyName::parse(s).err()
}
fn email_rule(s: &str) -> Option<String> {
    EmailAddress::parse(s).err()
}
fn password_rule(s: &str) -> Option<String> {
    Password::parse(s).err()
}
fn website_rule(s: &str) -> Option<String> {
    Website::parse_optional(s).err()
}
fn required_rule(s: &str) -> Option<String> {
    s.is_empty().then(|| "Enter your password.".to_string())
}

/// What the server said about the last submission of a form. When it refused, the password
/// the user typed is cleared; everything else they typed stays.
#[derive(Clone, Copy)]
struct FormErrors(Signal<Option<AppError>>);

impl FormErrors {
    fn watch<I, O>(action: ServerAction<I>, password: RwSignal<String>) -> Self
    where
        I: ServerFn<Output = O, Error = AppError> + Clone + Send + Sync + 'static,
        O: Clone + Send + Sync + 'static,
    {
        let error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
        Effect::new(move |_| {
            if error.get().is_some() {
                password.set(String::new());
            }
        });
        Self(error)
    }

    /// The message for one field.
    fn field(self, name: &'static str) -> Signal<Option<String>> {
        Signal::derive(move || self.0.get().and_then(|e| e.field_message(name)))
    }

    /// The message for the whole form (not about one field).
    fn form(self) -> Signal<Option<String>> {
        Signal::derive(move || self.0.get().and_then(|e| e.form_message()))
    }
}

#[component]
fn AuthCard(title: &'static str, children: Children) -> impl IntoView {
    view! {
        <PublicHeader />
        <main class="mx-auto w-full max-w-md px-4 py-10">
            <h1 class="text-2xl font-bold">{title}</h1>
            {children()}
        </main>
    }
}

#[component]
pub fn Signup() -> impl IntoView {
    let action = ServerAction::<SignupFn>::new();
    let company = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let website = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let errors = FormErrors::watch(action, password);

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        let ok = company_rule(&company.get_untracked()).is_none()
            && email_rule(&email.get_untracked()).is_none()
            && password_rule(&password.get_untracked()).is_none()
            && website_rule(&website.get_untracked()).is_none();
        if ok {
            action.dispatch(SignupFn {
                company: company.get_untracked(),
                email: email.get_untracked(),
                password: password.get_untracked(),
                website: website.get_untracked(),
            });
        }
    };

    view! {
        <AuthCard title="Start your free trial">
            <p class="mt-1 text-stone-600">"The whole product, free for the trial. Nothing is bought or created until you ask."</p>
            <form method="post" action=SignupFn::url() on:submit=on_submit class="mt-6 space-y-3" novalidate>
                <Alert message=errors.form() />
                <Field name="company" label="Company name" kind=FieldKind::Text value=company validate=company_rule force=attempted server_error=errors.field("company") autocomplete="organization" />
                <Field name="email" label="Email" kind=FieldKind::Email value=email validate=email_rule force=attempted server_error=errors.field("email") autocomplete="email" hint="Your work email; you will log in with it." />
                <Field name="password" label="Password" kind=FieldKind::NewPassword value=password validate=password_rule force=attempted server_error=errors.field("password") autocomplete="new-password" />
                <Field name="website" label="Website (optional)" kind=FieldKind::Url value=website validate=website_rule force=attempted server_error=errors.field("website") autocomplete="url" />
                <button
                    type="submit"
                    class="w-full rounded bg-emerald-700 px-4 py-3 font-semibold text-white hover:bg-emerald-800 disabled:opacity-60"
                    disabled=move || action.pending().get()
                >
                    {move || if action.pending().get() { "Sending…" } else { "Create account" }}
                </button>
            </form>
            <p class="mt-6 text-sm text-stone-600">
                "Already have an account? " <a href="/login" class="text-emerald-800 underline">"Log in"</a>
            </p>
        </AuthCard>
    }
}

#[component]
pub fn Login() -> impl IntoView {
    let action = ServerAction::<LoginFn>::new();
    let query = use_query_map();
    let next = Signal::derive(move || query.read().get("next").unwrap_or_default());
    let email = RwSignal::new(String::new());
    let password = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let errors = FormErrors::watch(action, password);
    let reset_done = Signal::derive(move || {
        (query.read().get("reset").as_deref() == Some("done")).then(|| {
            "Your password was changed and every browser signed out. Log in with the new one."
                .to_string()
        })
    });
    // Once the server asks for the mailed code, the field stays for the next tries.
    let code_error = errors.field("code");
    let asks_code = RwSignal::new(false);
    Effect::new(move |_| {
        if code_error.get().is_some() {
            asks_code.set(true);
        }
    });

    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if email_rule(&email.get_untracked()).is_none()
            && required_rule(&password.get_untracked()).is_none()
        {
            let code = code.get_untracked();
            action.dispatch(LoginFn {
                email: email.get_untracked(),
                password: password.get_untracked(),
                code: (!code.trim().is_empty()).then_some(code),
                next: Some(next.get_untracked()),
            });
        }
    };

    view! {
        <AuthCard title="Log in">
            <form method="post" action=LoginFn::url() on:submit=on_submit class="mt-6 space-y-3" novalidate>
                <Notice message=reset_done />
                <Alert message=errors.form() />
                <input type="hidden" name="next" value=next />
                <Field name="email" label="Email" kind=FieldKind::Email value=email validate=email_rule force=attempted server_error=errors.field("email") autocomplete="username" />
                <Field name="password" label="Password" kind=FieldKind::CurrentPassword value=password validate=required_rule force=attempted server_error=errors.field("password") autocomplete="current-password" />
                <Show when=move || asks_code.get() || code_error.get().is_some()>
                    <Field name="code" label="One-time code from your email" kind=FieldKind::Text value=code force=attempted server_error=code_error autocomplete="one-time-code" />
                </Show>
                <button
                    type="submit"
                    class="w-full rounded bg-emerald-700 px-4 py-3 font-semibold text-white hover:bg-emerald-800 disabled:opacity-60"
                    disabled=move || action.pending().get()
                >
                    {move || if action.pending().get() { "Logging in…" } else { "Log in" }}
                </button>
            </form>
            <p class="mt-6 text-sm text-stone-600">
                <a href="/forgot-password" class="text-emerald-800 underline">"Forgot your password?"</a>
            </p>
            <p class="mt-2 text-sm text-stone-600">
                "New to InboxGrove? " <a href="/signup" class="text-emerald-800 underline">"Start a free trial"</a>
            </p>
        </AuthCard>
    }
}

/// A good-news line at the top of a form.
#[component]
fn Notice(#[prop(into)] message: Signal<Option<String>>) -> impl IntoView {
    view! {
        <Show when=move || message.get().is_some()>
            <p role="status" class="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
                {move || message.get()}
            </p>
        </Show>
    }
}

const BUTTON: &str = "w-full rounded bg-emerald-700 px-4 py-3 font-semibold text-white hover:bg-emerald-800 disabled:opacity-60";

/// After a signup: "we sent a link to …", the same whether the address was new or not. With
/// sandbox mail, a link opens the message (for this browser only).
#[component]
pub fn CheckEmail() -> impl IntoView {
    let data = Resource::new(|| (), |_| signup_sent());
    view! {
        <AuthCard title="Check your inbox">
            <PageLoader
                data
                not_found=|| view! {
                    <p class="mt-4 text-stone-700">
                        "Nothing was sent from this browser yet. "
                        <a href="/signup" class="text-emerald-800 underline">"Start a free trial"</a>
                    </p>
                }
                body=|sent| view! {
                    <p class="mt-4 text-stone-700" data-testid="sent-to">
                        "We sent a link to " <strong>{sent.email.clone()}</strong> "."
                    </p>
                    <p class="mt-2 text-stone-700">
                        "Open it to confirm the address and sign in. It works once, for 24 hours. \
                         No message? Check the spam folder, or sign up again in a few minutes."
                    </p>
                    {sent.sandbox_link.map(|href| view! {
                        <p class="mt-6 rounded border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900">
                            "Mail is sandboxed on this server, so nothing left it. "
                            <a href=href rel="external" class="font-semibold underline" data-testid="sandbox-mail">
                                "Open the message we sent"
                            </a>
                        </p>
                    })}
                }
            />
        </AuthCard>
    }
}

/// The page a verification link opens: one button confirms (a mail scanner that merely
/// fetches the link uses nothing up).
#[component]
pub fn VerifyEmail() -> impl IntoView {
    let action = ServerAction::<VerifyFn>::new();
    let query = use_query_map();
    let token = Signal::derive(move || query.read().get("token").unwrap_or_default());
    let error = Signal::derive(move || {
        action
            .value()
            .get()
            .and_then(|r| r.err())
            .map(|e| e.field_message("token").unwrap_or_else(|| e.to_string()))
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        action.dispatch(VerifyFn {
            token: token.get_untracked(),
        });
    };
    view! {
        <AuthCard title="Confirm your email">
            <form method="post" action=VerifyFn::url() on:submit=on_submit class="mt-6 space-y-3">
                <Alert message=error />
                <input type="hidden" name="token" value=token />
                <p class="text-stone-700">"One click confirms that this address is yours and signs you in."</p>
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Confirming…" } else { "Confirm my email" }}
                </button>
            </form>
            <p class="mt-6 text-sm text-stone-600">
                "Link expired? " <a href="/login" class="text-emerald-800 underline">"Log in"</a>
                " and send a new one from the dashboard."
            </p>
        </AuthCard>
    }
}

/// "Forgot password": the same answer for every address.
#[component]
pub fn ForgotPassword() -> impl IntoView {
    let action = ServerAction::<ForgotFn>::new();
    let email = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let error = Signal::derive(move || action.value().get().and_then(|r| r.err()));
    let sent = Signal::derive(move || {
        action.value().get().and_then(|r| r.ok()).map(|to| {
            format!("If {to} has an InboxGrove account, we sent it a link to choose a new password. It works once, for one hour.")
        })
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if email_rule(&email.get_untracked()).is_none() {
            action.dispatch(ForgotFn {
                email: email.get_untracked(),
            });
        }
    };
    view! {
        <AuthCard title="Forgot your password?">
            <p class="mt-1 text-stone-600">"Enter your email and we will send you a link to choose a new one."</p>
            <form method="post" action=ForgotFn::url() on:submit=on_submit class="mt-6 space-y-3" novalidate>
                <Notice message=sent />
                <Alert message=Signal::derive(move || error.get().and_then(|e| e.form_message())) />
                <Field name="email" label="Email" kind=FieldKind::Email value=email validate=email_rule force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("email"))) autocomplete="email" />
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Sending…" } else { "Send the link" }}
                </button>
            </form>
            <p class="mt-6 text-sm text-stone-600">
                <a href="/login" class="text-emerald-800 underline">"Back to log in"</a>
            </p>
        </AuthCard>
    }
}

/// The page a reset link opens: a new password, then log in with it.
#[component]
pub fn ResetPassword() -> impl IntoView {
    let action = ServerAction::<ResetFn>::new();
    let query = use_query_map();
    let token = Signal::derive(move || query.read().get("token").unwrap_or_default());
    let password = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let errors = FormErrors::watch(action, password);
    let link_error = Signal::derive(move || {
        errors
            .0
            .get()
            .and_then(|e| e.field_message("token").or_else(|| e.form_message()))
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if password_rule(&password.get_untracked()).is_none() {
            action.dispatch(ResetFn {
                token: token.get_untracked(),
                password: password.get_untracked(),
            });
        }
    };
    view! {
        <AuthCard title="Choose a new password">
            <form method="post" action=ResetFn::url() on:submit=on_submit class="mt-6 space-y-3" novalidate>
                <Alert message=link_error />
                <input type="hidden" name="token" value=token />
                <Field name="password" label="New password" kind=FieldKind::NewPassword value=password validate=password_rule force=attempted server_error=errors.field("password") autocomplete="new-password" />
                <p class="text-sm text-stone-600">"Every browser signed in to your account will be signed out."</p>
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Saving…" } else { "Set the new password" }}
                </button>
            </form>
            <p class="mt-6 text-sm text-stone-600">
                "Link expired? " <a href="/forgot-password" class="text-emerald-800 underline">"Ask for a new one"</a>
            </p>
        </AuthCard>
    }
}

/// The page an invitation link opens: join with one click when signed in as the invited
/// address, make an account (a password) when the address has none, or log in first.
#[component]
pub fn Invite() -> impl IntoView {
    let query = use_query_map();
    let token = Signal::derive(move || query.read().get("token").unwrap_or_default());
    let data = Resource::new(move || token.get(), get_invitation);
    view! {
        <AuthCard title="Join a workspace">
            <PageLoader
                data
                body=move |info| view! { <InviteBody info token /> }
            />
        </AuthCard>
    }
}

#[component]
fn InviteBody(info: InvitationInfo, token: Signal<String>) -> impl IntoView {
    let action = ServerAction::<AcceptFn>::new();
    let logout = ServerAction::<crate::api::auth::Logout>::new();
    let password = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let errors = FormErrors::watch(action, password);
    let needs_password = !info.has_account && !info.signed_in_as_other;
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if !needs_password || password_rule(&password.get_untracked()).is_none() {
            action.dispatch(AcceptFn {
                token: token.get_untracked(),
                password: password.get_untracked(),
            });
        }
    };
    let role = match info.role {
        crate::domain::Role::Admin => "an admin",
        _ => "a member",
    };
    let next = format!(
        "/login?next={}",
        crate::components::url_encode(&format!("/invite?token={}", token.get_untracked()))
    );
    view! {
        <p class="mt-4 text-stone-700" data-testid="invite-summary">
            {format!("{} invited {} to join as {role}.", info.workspace, info.email)}
        </p>
        {if info.signed_in_as_other {
            view! {
                <p class="mt-4 text-stone-700">"You are signed in as someone else. Log out, then open the link again."</p>
                <ActionForm action=logout>
                    <button type="submit" class="mt-3 rounded border border-stone-300 px-3 py-2 text-sm">"Log out"</button>
                </ActionForm>
            }.into_any()
        } else if info.has_account && !info.signed_in_as_invitee {
            view! {
                <p class="mt-4"><a href=next class="font-semibold text-emerald-800 underline">{format!("Log in as {} to accept", info.email)}</a></p>
            }.into_any()
        } else {
            view! {
                <form method="post" action=AcceptFn::url() on:submit=on_submit class="mt-6 space-y-3" novalidate>
                    <Alert message=Signal::derive(move || errors.0.get().and_then(|e| e.field_message("token").or_else(|| e.form_message()))) />
                    <input type="hidden" name="token" value=token />
                    {needs_password.then(|| view! {
                        <Field name="password" label="Choose a password" kind=FieldKind::NewPassword value=password validate=password_rule force=attempted server_error=errors.field("password") autocomplete="new-password" />
                    })}
                    <button type="submit" class=BUTTON disabled=move || action.pending().get()>
                        {format!("Join {}", info.workspace)}
                    </button>
                </form>
            }.into_any()
        }}
    }
}

/// The second step of signing in: the code from the authenticator app, or a recovery code.
#[component]
pub fn LoginCode() -> impl IntoView {
    let action = ServerAction::<LoginCodeFn>::new();
    let query = use_query_map();
    let next = Signal::derive(move || query.read().get("next").unwrap_or_default());
    let code = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let errors = FormErrors::watch(action, code);
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        action.dispatch(LoginCodeFn {
            code: code.get_untracked(),
            next: Some(next.get_untracked()),
        });
    };
    view! {
        <AuthCard title="Two-factor sign-in">
            <p class="mt-1 text-stone-600">"Enter the 6-digit code from your authenticator app, or one of your recovery codes."</p>
            <form method="post" action=LoginCodeFn::url() on:submit=on_submit class="mt-6 space-y-3" novalidate>
                <Alert message=errors.form() />
                <input type="hidden" name="next" value=next />
                <Field name="code" label="Code" kind=FieldKind::Text value=code force=attempted server_error=errors.field("code") autocomplete="one-time-code" />
                <button type="submit" class=BUTTON disabled=move || action.pending().get()>
                    {move || if action.pending().get() { "Checking…" } else { "Continue" }}
                </button>
            </form>
            <p class="mt-6 text-sm text-stone-600">
                <a href="/login" class="text-emerald-800 underline">"Start again"</a>
            </p>
        </AuthCard>
    }
}
