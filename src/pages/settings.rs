//! `/settings/security`: the signed-in browsers (end one, or all others) and the password.
//! `/settings/team`: the workspace's people, and the user's workspaces.

use leptos::prelude::*;
use server_fn::ServerFn;

use crate::api::account::{
    ChangeEmail, ChangePassword, CreateWorkspace, EndOtherSessions, EndSession, SwitchWorkspace,
    get_sessions,
};
use crate::api::team::{
    ChangeRole, CloseWorkspace, ExportWorkspace, InviteMember, LeaveWorkspace, RemoveMember,
    RevokeInvitation, TransferOwnership, get_team,
};
use crate::api::two_factor::{
    ConfirmTwoFactor, DisableTwoFactor, RequireTwoFactor, StartTwoFactor, get_two_factor,
};
use crate::components::{Alert, Field, FieldKind, PageLoader, error_of};
use crate::domain::security::SessionView;
use crate::domain::team::TeamView;
use crate::domain::{CompanyName, EmailAddress, Password, Role};
use crate::pages::dashboard::AppHeader;
use crate::permissions::Need;

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
            <TwoFactorPanel />
            <PasswordForm change />
            <EmailForm />
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

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Owner => "Owner",
        Role::Admin => "Admin",
        Role::Member => "Member",
    }
}

/// `/settings/team`: members and their roles, open invitations, inviting, leaving, and the
/// user's other workspaces.
#[component]
pub fn TeamSettings() -> impl IntoView {
    let invite = ServerAction::<InviteMember>::new();
    let revoke = ServerAction::<RevokeInvitation>::new();
    let role = ServerAction::<ChangeRole>::new();
    let remove = ServerAction::<RemoveMember>::new();
    let transfer = ServerAction::<TransferOwnership>::new();
    let leave = ServerAction::<LeaveWorkspace>::new();
    let require = ServerAction::<RequireTwoFactor>::new();
    let data = Resource::new(
        move || {
            (
                require.version().get(),
                invite.version().get(),
                revoke.version().get(),
                role.version().get(),
                remove.version().get(),
                transfer.version().get(),
            )
        },
        |_| get_team(),
    );
    let actions = TeamActions {
        require,
        revoke,
        role,
        remove,
        transfer,
    };
    view! {
        <AppHeader subtitle="Team" />
        <main class="mx-auto max-w-5xl space-y-8 px-4 py-8">
            <h1 class="text-2xl font-bold">"Team"</h1>
            <Alert message=error_of(require) />
            <Alert message=error_of(revoke) />
            <Alert message=error_of(role) />
            <Alert message=error_of(remove) />
            <Alert message=error_of(transfer) />
            <PageLoader
                data
                login="/settings/team"
                keep_while_reloading=true
                body=move |team| view! { <TeamBody team actions invite /> }
            />
            <section class="space-y-2">
                <h2 class="text-lg font-semibold">"Leave this workspace"</h2>
                <Alert message=error_of(leave) />
                <ActionForm action=leave>
                    <button type="submit" data-testid="leave" class="rounded border border-red-300 px-3 py-2 text-sm text-red-800 hover:bg-red-50">
                        "Leave workspace"
                    </button>
                </ActionForm>
            </section>
            <ExportSection />
            <Workspaces />
            <CloseSection />
        </main>
    }
}

#[derive(Clone, Copy)]
struct TeamActions {
    require: ServerAction<RequireTwoFactor>,
    revoke: ServerAction<RevokeInvitation>,
    role: ServerAction<ChangeRole>,
    remove: ServerAction<RemoveMember>,
    transfer: ServerAction<TransferOwnership>,
}

#[component]
fn TeamBody(
    team: TeamView,
    actions: TeamActions,
    invite: ServerAction<InviteMember>,
) -> impl IntoView {
    let me = team.role;
    let manage = Need::Manage.allows(me);
    let require = team.require_2fa;
    view! {
        <p class="text-stone-600">{format!("{} · you are {}", team.workspace, role_label(me).to_lowercase())}</p>
        <p class="text-sm text-stone-700" data-testid="require-2fa-state">
            {if require { "Everyone here signs in with a second factor." } else { "A second factor at sign-in is up to each person." }}
        </p>
        {(me == Role::Owner).then(|| view! {
            <button type="button" data-testid="require-2fa" class="rounded border border-stone-300 px-3 py-2 text-sm hover:bg-stone-100"
                on:click=move |_| { actions.require.dispatch(RequireTwoFactor { on: !require }); }>
                {if require { "Stop requiring two-factor sign-in" } else { "Require two-factor sign-in for everyone" }}
            </button>
        })}
        <section aria-labelledby="members-h" class="space-y-3">
            <h2 id="members-h" class="text-lg font-semibold">"Members"</h2>
            <ul class="divide-y divide-stone-200 rounded-lg border border-stone-200 bg-white" data-testid="members">
                {team.members.into_iter().map(|m| {
                    let touch = manage && !m.you && (m.role != Role::Owner || me == Role::Owner);
                    let (id_role, id_remove, id_transfer) = (m.user_id.clone(), m.user_id.clone(), m.user_id.clone());
                    let next_role = if m.role == Role::Admin { "member" } else { "admin" };
                    view! {
                        <li class="flex flex-wrap items-center justify-between gap-3 px-4 py-3" data-testid="member">
                            <div class="min-w-0">
                                <p class="font-medium break-all">{m.email.clone()} {m.you.then_some(" (you)")}</p>
                                <p class="text-sm text-stone-600" data-testid="member-role">{role_label(m.role)}</p>
                            </div>
                            {touch.then(|| view! {
                                <div class="flex flex-wrap gap-2 text-sm">
                                    <button type="button" class="rounded border border-stone-300 px-3 py-1.5 hover:bg-stone-100"
                                        on:click=move |_| { actions.role.dispatch(ChangeRole { user: id_role.clone(), role: next_role.into() }); }>
                                        {format!("Make {next_role}")}
                                    </button>
                                    {(me == Role::Owner).then(|| view! {
                                        <button type="button" class="rounded border border-stone-300 px-3 py-1.5 hover:bg-stone-100"
                                            on:click=move |_| { actions.transfer.dispatch(TransferOwnership { user: id_transfer.clone() }); }>
                                            "Make owner"
                                        </button>
                                    })}
                                    <button type="button" class="rounded border border-red-300 px-3 py-1.5 text-red-800 hover:bg-red-50"
                                        on:click=move |_| { actions.remove.dispatch(RemoveMember { user: id_remove.clone() }); }>
                                        "Remove"
                                    </button>
                                </div>
                            })}
                        </li>
                    }
                }).collect_view()}
            </ul>
        </section>
        <section aria-labelledby="invites-h" class="space-y-3">
            <h2 id="invites-h" class="text-lg font-semibold">"Invitations"</h2>
            {if team.invitations.is_empty() {
                view! { <p class="text-sm text-stone-600">"No open invitations."</p> }.into_any()
            } else {
                view! {
                    <ul class="divide-y divide-stone-200 rounded-lg border border-stone-200 bg-white" data-testid="invitations">
                        {team.invitations.into_iter().map(|i| {
                            let id = i.id.clone();
                            view! {
                                <li class="flex flex-wrap items-center justify-between gap-3 px-4 py-3" data-testid="invitation">
                                    <div class="min-w-0">
                                        <p class="font-medium break-all">{i.email.clone()}</p>
                                        <p class="text-sm text-stone-600">{format!("{} · expires {}", role_label(i.role), day(&i.expires_at))}</p>
                                    </div>
                                    {manage.then(|| view! {
                                        <button type="button" class="rounded border border-stone-300 px-3 py-1.5 text-sm hover:bg-stone-100"
                                            on:click=move |_| { actions.revoke.dispatch(RevokeInvitation { id: id.clone() }); }>
                                            "Revoke"
                                        </button>
                                    })}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }.into_any()
            }}
            {manage.then(|| view! { <InviteForm invite /> })}
        </section>
    }
}

#[component]
fn InviteForm(invite: ServerAction<InviteMember>) -> impl IntoView {
    let email = RwSignal::new(String::new());
    let role = RwSignal::new("member".to_string());
    let attempted = RwSignal::new(false);
    let error = Signal::derive(move || invite.value().get().and_then(|r| r.err()));
    let sent = Signal::derive(move || matches!(invite.value().get(), Some(Ok(_))));
    Effect::new(move |_| {
        if sent.get() {
            email.set(String::new());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if EmailAddress::parse(&email.get_untracked()).is_ok() {
            invite.dispatch(InviteMember {
                email: email.get_untracked(),
                role: role.get_untracked(),
            });
        }
    };
    view! {
        <form method="post" action=InviteMember::url() on:submit=on_submit class="max-w-md space-y-3" novalidate>
            <h3 class="font-semibold">"Invite someone"</h3>
            <Alert message=Signal::derive(move || error.get().and_then(|e| e.form_message())) />
            <Show when=move || sent.get()>
                <p role="status" class="text-sm text-emerald-800">"Invitation sent."</p>
            </Show>
            <Field name="email" label="Email" kind=FieldKind::Email value=email validate=|s: &str| EmailAddress::parse(s).err() force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("email"))) autocomplete="off" />
            <label class="block text-sm font-medium text-stone-800" for="role">"Role"</label>
            <select id="role" name="role" class="block w-full rounded border border-stone-300 px-3 py-2" on:change=move |ev| role.set(event_target_value(&ev))>
                <option value="member" selected=true>"Member — reads everything, changes nothing"</option>
                <option value="admin">"Admin — everything but billing and ownership"</option>
            </select>
            <button type="submit" class="rounded bg-emerald-700 px-4 py-2 font-semibold text-white hover:bg-emerald-800 disabled:opacity-60" disabled=move || invite.pending().get()>
                "Send invitation"
            </button>
        </form>
    }
}

/// The user's workspaces: switch, or create another.
#[component]
fn Workspaces() -> impl IntoView {
    let switch = ServerAction::<SwitchWorkspace>::new();
    let create = ServerAction::<CreateWorkspace>::new();
    let me = Resource::new(|| (), |_| crate::api::account::me());
    let company = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let error = Signal::derive(move || create.value().get().and_then(|r| r.err()));
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if CompanyName::parse(&company.get_untracked()).is_ok() {
            create.dispatch(CreateWorkspace {
                company: company.get_untracked(),
            });
        }
    };
    view! {
        <section aria-labelledby="workspaces-h" class="max-w-md space-y-3">
            <h2 id="workspaces-h" class="text-lg font-semibold">"Your workspaces"</h2>
            <Alert message=error_of(switch) />
            <PageLoader data=me body=move |me| {
                let current = me.workspace.as_ref().map(|w| w.id.clone()).unwrap_or_default();
                view! {
                    <ul class="divide-y divide-stone-200 rounded-lg border border-stone-200 bg-white" data-testid="workspaces">
                        {me.workspaces.into_iter().map(|w| {
                            let here = w.id == current;
                            let id = w.id.clone();
                            view! {
                                <li class="flex items-center justify-between gap-3 px-4 py-2">
                                    <span class="min-w-0 break-words">{format!("{} · {}", w.name, role_label(w.role).to_lowercase())}</span>
                                    {if here {
                                        view! { <span class="text-sm text-emerald-800">"Current"</span> }.into_any()
                                    } else {
                                        view! {
                                            <button type="button" class="rounded border border-stone-300 px-3 py-1.5 text-sm hover:bg-stone-100"
                                                on:click=move |_| { switch.dispatch(SwitchWorkspace { id: id.clone() }); }>
                                                "Switch"
                                            </button>
                                        }.into_any()
                                    }}
                                </li>
                            }
                        }).collect_view()}
                    </ul>
                }
            } />
            <form method="post" action=CreateWorkspace::url() on:submit=on_submit class="space-y-3" novalidate>
                <Alert message=Signal::derive(move || error.get().and_then(|e| e.form_message())) />
                <Field name="company" label="Create another workspace" kind=FieldKind::Text value=company validate=|s: &str| CompanyName::parse(s).err() force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("company"))) autocomplete="organization" hint="It starts its own free trial; you are its owner." />
                <button type="submit" class="rounded border border-stone-300 px-4 py-2 text-sm font-semibold hover:bg-stone-100" disabled=move || create.pending().get()>
                    "Create workspace"
                </button>
            </form>
        </section>
    }
}

/// Two-factor sign-in: its state, enrolling (QR code, confirm, recovery codes once) and
/// turning it off. On the security page, and for staff on `/staff`.
#[component]
pub fn TwoFactorPanel() -> impl IntoView {
    let start = ServerAction::<StartTwoFactor>::new();
    let confirm = ServerAction::<ConfirmTwoFactor>::new();
    let disable = ServerAction::<DisableTwoFactor>::new();
    let status = Resource::new(
        move || (confirm.version().get(), disable.version().get()),
        |_| get_two_factor(),
    );
    let code = RwSignal::new(String::new());
    let off_code = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let confirm_error = Signal::derive(move || confirm.value().get().and_then(|r| r.err()));
    let disable_error = Signal::derive(move || disable.value().get().and_then(|r| r.err()));
    let codes = Signal::derive(move || confirm.value().get().and_then(|r| r.ok()));
    let setup = Signal::derive(move || start.value().get().and_then(|r| r.ok()));
    view! {
        <section aria-labelledby="twofa-h" class="max-w-xl space-y-3" data-testid="two-factor">
            <h2 id="twofa-h" class="text-lg font-semibold">"Two-factor sign-in"</h2>
            {move || codes.get().map(|codes| view! {
                <div class="rounded-lg border border-emerald-300 bg-emerald-50 p-4">
                    <p class="font-semibold">"Two-factor sign-in is on. Keep these recovery codes somewhere safe:"</p>
                    <p class="text-sm">"Each works once, instead of a code, if you lose your phone. They are not shown again."</p>
                    <ul class="mt-2 grid grid-cols-2 gap-1 font-mono text-sm" data-testid="recovery-codes">
                        {codes.into_iter().map(|c| view! { <li>{c}</li> }).collect_view()}
                    </ul>
                </div>
            })}
            <PageLoader data=status body=move |st| {
                if st.enabled {
                    view! {
                        <p class="text-stone-700" data-testid="two-factor-state">
                            {format!("On. {} recovery codes left.", st.recovery_left)}
                        </p>
                        <form class="space-y-2" on:submit=move |ev: leptos::ev::SubmitEvent| {
                            ev.prevent_default();
                            disable.dispatch(DisableTwoFactor { code: off_code.get_untracked() });
                        }>
                            <Alert message=Signal::derive(move || disable_error.get().and_then(|e| e.form_message())) />
                            <Field name="off-code" label="A code from your app (or a recovery code) to turn it off" kind=FieldKind::Text value=off_code force=attempted server_error=Signal::derive(move || disable_error.get().and_then(|e| e.field_message("code"))) autocomplete="one-time-code" />
                            <button type="submit" class="rounded border border-red-300 px-3 py-2 text-sm text-red-800 hover:bg-red-50">"Turn off"</button>
                        </form>
                    }.into_any()
                } else {
                    view! {
                        <p class="text-stone-700" data-testid="two-factor-state">
                            {if st.required { "Off — and required for you here. Set it up to continue." } else { "Off. Add a code from an authenticator app to your password." }}
                        </p>
                        <Show when=move || setup.get().is_none()>
                            <button type="button" class="rounded bg-emerald-700 px-4 py-2 text-sm font-semibold text-white hover:bg-emerald-800"
                                on:click=move |_| { start.dispatch(StartTwoFactor {}); }>
                                "Set up two-factor sign-in"
                            </button>
                        </Show>
                        <Alert message=error_of(start) />
                        {move || setup.get().map(|s| view! {
                            <div class="space-y-3 rounded-lg border border-stone-200 bg-white p-4">
                                <p class="text-sm">"Scan this with your authenticator app (or type the key), then enter the code it shows."</p>
                                <div class="h-48 w-48" inner_html=s.qr_svg.clone() data-testid="totp-qr"></div>
                                <p class="break-all font-mono text-sm" data-testid="totp-secret">{s.secret.clone()}</p>
                                <form class="space-y-2" on:submit=move |ev: leptos::ev::SubmitEvent| {
                                    ev.prevent_default();
                                    attempted.set(true);
                                    confirm.dispatch(ConfirmTwoFactor { code: code.get_untracked() });
                                }>
                                    <Alert message=Signal::derive(move || confirm_error.get().and_then(|e| e.form_message())) />
                                    <Field name="code" label="Code from the app" kind=FieldKind::Text value=code force=attempted server_error=Signal::derive(move || confirm_error.get().and_then(|e| e.field_message("code"))) autocomplete="one-time-code" />
                                    <button type="submit" class="rounded bg-emerald-700 px-4 py-2 text-sm font-semibold text-white">"Turn on"</button>
                                </form>
                            </div>
                        })}
                    }.into_any()
                }
            } />
        </section>
    }
}

/// Changing the email: the new address is confirmed by a link before it takes effect.
#[component]
fn EmailForm() -> impl IntoView {
    let change = ServerAction::<ChangeEmail>::new();
    let email = RwSignal::new(String::new());
    let current = RwSignal::new(String::new());
    let attempted = RwSignal::new(false);
    let error = Signal::derive(move || change.value().get().and_then(|r| r.err()));
    let sent = Signal::derive(move || change.value().get().and_then(|r| r.ok()));
    Effect::new(move |_| {
        if change.value().get().is_some() {
            current.set(String::new());
        }
    });
    let on_submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        attempted.set(true);
        if EmailAddress::parse(&email.get_untracked()).is_ok()
            && required_rule(&current.get_untracked()).is_none()
        {
            change.dispatch(ChangeEmail {
                email: email.get_untracked(),
                current: current.get_untracked(),
            });
        }
    };
    view! {
        <section aria-labelledby="email-h" class="max-w-md space-y-3">
            <h2 id="email-h" class="text-lg font-semibold">"Change your email"</h2>
            <form method="post" action=ChangeEmail::url() on:submit=on_submit class="space-y-3" novalidate>
                <Alert message=Signal::derive(move || error.get().and_then(|e| e.form_message())) />
                {move || sent.get().map(|to| view! {
                    <p role="status" class="rounded border border-emerald-300 bg-emerald-50 px-3 py-2 text-sm text-emerald-900">
                        {format!("We sent a link to {to}. Your email changes when you open it.")}
                    </p>
                })}
                <Field name="new-email" label="New email" kind=FieldKind::Email value=email validate=|s: &str| EmailAddress::parse(s).err() force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("email"))) autocomplete="email" />
                <Field name="email-current" label="Your password" kind=FieldKind::CurrentPassword value=current validate=required_rule force=attempted server_error=Signal::derive(move || error.get().and_then(|e| e.field_message("current"))) autocomplete="current-password" />
                <button type="submit" class="rounded border border-stone-300 px-4 py-2 text-sm font-semibold hover:bg-stone-100" disabled=move || change.pending().get()>
                    "Send the confirmation link"
                </button>
            </form>
        </section>
    }
}

/// "Take your data out" (owners): a job builds the archive and mails the link.
#[component]
fn ExportSection() -> impl IntoView {
    let export = ServerAction::<ExportWorkspace>::new();
    let credentials = RwSignal::new(false);
    let done = Signal::derive(move || matches!(export.value().get(), Some(Ok(_))));
    view! {
        <section aria-labelledby="export-h" class="max-w-xl space-y-3">
            <h2 id="export-h" class="text-lg font-semibold">"Export the workspace"</h2>
            <p class="text-sm text-stone-600">"One zip file: the workspace, members, domains and their DNS records, inboxes, subscription, invoices, ledger and activity. Owners only; we email you the download link."</p>
            <label class="flex items-center gap-2 text-sm">
                <input type="checkbox" data-testid="export-credentials" on:change=move |ev| credentials.set(event_target_checked(&ev)) />
                "Include the inboxes' passwords (a separate credentials.csv)"
            </label>
            <Alert message=error_of(export) />
            <Show when=move || done.get()>
                <p role="status" class="text-sm text-emerald-800">"We are building your export and will email you the link in a moment."</p>
            </Show>
            <button type="button" data-testid="export" class="rounded border border-stone-300 px-4 py-2 text-sm font-semibold hover:bg-stone-100"
                disabled=move || export.pending().get()
                on:click=move |_| { export.dispatch(ExportWorkspace { include_credentials: credentials.get_untracked() }); }>
                "Export workspace"
            </button>
        </section>
    }
}

/// Closing the workspace (owners): type its name to confirm.
#[component]
fn CloseSection() -> impl IntoView {
    let close = ServerAction::<CloseWorkspace>::new();
    view! {
        <section aria-labelledby="close-h" class="max-w-xl space-y-3 rounded-lg border border-red-200 bg-red-50 p-4">
            <h2 id="close-h" class="text-lg font-semibold text-red-900">"Close the workspace"</h2>
            <p class="text-sm text-red-900">"Cancels the subscription, takes every domain and inbox off our relay and deletes them (bought domains are not renewed), removes its people, and keeps only an anonymous record of what happened. Owners only; it cannot be undone."</p>
            <Alert message=error_of(close) />
            <ActionForm action=close attr:class="flex flex-col gap-2 sm:flex-row sm:items-end">
                <label class="flex-1 text-sm">"Type the workspace's name to confirm"
                    <input type="text" name="confirm" required autocomplete="off" data-testid="close-confirm" class="mt-1 block w-full rounded border border-stone-300 px-3 py-2" />
                </label>
                <button type="submit" data-testid="close-workspace" class="rounded bg-red-700 px-4 py-2 text-sm font-semibold text-white hover:bg-red-800">"Close workspace"</button>
            </ActionForm>
        </section>
    }
}
