//! The sandbox Stripe's hosted pages: Checkout (line items, total, test cards, Pay, cancel
//! link back to `cancel_url`), the customer portal (change card, cancel / keep), and hosted
//! invoices. Plain server-rendered HTML like Stripe's own pages — no app session involved:
//! the unguessable session id in the URL is the credential, as on Stripe.

use axum::Form;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Redirect, Response};
use leptos::prelude::*;
use serde::Deserialize;

use crate::domain::tenant::format_money;
use crate::domain::{CheckoutSessionStatus, SubscriptionStatus};
use crate::server::providers::payments::sandbox::{
    CARD_DECLINED, CARD_FAILS_LATER, CARD_NO_FUNDS, CARD_OK, PayError, render_invoice_pdf,
};
use crate::server::state::AppState;

fn not_found() -> Response {
    (StatusCode::NOT_FOUND, "Not found").into_response()
}

/// A sandbox object for a page: 404 when missing, 500 (logged) when loading failed.
fn loaded<T>(what: &str, r: anyhow::Result<Option<T>>) -> Result<T, Box<Response>> {
    match r {
        Ok(Some(v)) => Ok(v),
        Ok(None) => Err(Box::new(
            (StatusCode::NOT_FOUND, format!("No such {what}")).into_response(),
        )),
        Err(e) => {
            tracing::error!(error = ?e, "loading sandbox {what}");
            Err(Box::new(StatusCode::INTERNAL_SERVER_ERROR.into_response()))
        }
    }
}

/// 402 when the page shows a card error, like Stripe's hosted pages.
fn page_status(error: &Option<String>) -> StatusCode {
    if error.is_some() {
        StatusCode::PAYMENT_REQUIRED
    } else {
        StatusCode::OK
    }
}

fn page(state: &AppState, title: &str, body: AnyView) -> Html<String> {
    let css = format!(
        "/{}/{}.css",
        state.settings.server.site_pkg_dir, state.settings.server.output_name
    );
    let title = title.to_string();
    let html = view! {
        <html lang="en">
            <head>
                <meta charset="utf-8"/>
                <meta name="viewport" content="width=device-width, initial-scale=1"/>
                <title>{title}</title>
                <link rel="stylesheet" href=css/>
            </head>
            <body class="min-h-screen bg-slate-100 text-slate-900">
                <div class="bg-amber-100 px-4 py-2 text-center text-sm text-amber-900">
                    "Sandbox Stripe — test mode. No real card is charged."
                </div>
                <main class="mx-auto max-w-lg px-4 py-10">{body}</main>
            </body>
        </html>
    }
    .to_html();
    Html(format!("<!DOCTYPE html>{html}"))
}

fn test_cards() -> AnyView {
    view! {
        <details class="mt-6 rounded-md bg-slate-50 p-3 text-sm text-slate-600">
            <summary class="cursor-pointer font-medium">"Test cards"</summary>
            <ul class="mt-2 space-y-1 font-mono">
                <li>{CARD_OK}" — pays"</li>
                <li>{CARD_FAILS_LATER}" — accepted, later charges fail"</li>
                <li>{CARD_DECLINED}" — declined"</li>
                <li>{CARD_NO_FUNDS}" — insufficient funds"</li>
            </ul>
        </details>
    }
    .into_any()
}

fn error_box(error: Option<String>) -> impl IntoView {
    error.map(|e| {
        view! {
            <p role="alert" data-testid="card-error" class="mt-4 rounded-md bg-red-50 px-3 py-2 text-sm text-red-700">
                {e}
            </p>
        }
    })
}

#[derive(Deserialize)]
pub struct CardForm {
    #[serde(default)]
    card: String,
}

pub async fn checkout_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    render_checkout(&state, &id, None).await
}

async fn render_checkout(state: &AppState, id: &str, error: Option<String>) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    let c = match loaded("checkout session", sandbox.checkout(id).await) {
        Ok(v) => v,
        Err(res) => return *res,
    };
    let status = page_status(&error);
    let price = format_money(c.amount, &c.currency);
    let due_today = match c.trial_period_days {
        Some(_) => format_money(0, &c.currency),
        None => price.clone(),
    };
    let terms = match (c.mode.as_str(), c.trial_period_days) {
        ("subscription", Some(days)) => format!("{days} days free, then {price} per month"),
        ("subscription", None) => format!("{price} per month"),
        ("setup", _) => "Save a card for future payments. Nothing is charged now.".to_string(),
        _ => "One-time payment".to_string(),
    };
    let open = CheckoutSessionStatus::parse(&c.status) == Some(CheckoutSessionStatus::Open);
    let body = view! {
        <div class="rounded-lg bg-white p-6 shadow">
            <p class="text-sm text-slate-500">"InboxGrove"</p>
            <h1 class="mt-1 text-2xl font-semibold">{c.product_name.clone()}</h1>
            <p class="text-slate-600">{terms}</p>
            <table class="mt-6 w-full text-sm">
                <tbody>
                    <tr class="border-b">
                        <td class="py-2">{c.product_name.clone()}" × 1"</td>
                        <td class="py-2 text-right">{price.clone()}</td>
                    </tr>
                    <tr>
                        <td class="py-2 font-semibold">"Total due today"</td>
                        <td class="py-2 text-right font-semibold" data-testid="total">{due_today}</td>
                    </tr>
                </tbody>
            </table>
            {if open {
                view! {
                    <form method="post" class="mt-6 space-y-3">
                        <label class="block text-sm font-medium">"Email"
                            <input class="mt-1 w-full rounded-md border border-slate-300 bg-slate-50 px-3 py-2"
                                value=c.customer_email.clone() disabled/>
                        </label>
                        <label class="block text-sm font-medium">"Card number"
                            <input name="card" inputmode="numeric" autocomplete="cc-number" required
                                placeholder="4242 4242 4242 4242"
                                class="mt-1 w-full rounded-md border border-slate-300 px-3 py-2"/>
                        </label>
                        {error_box(error)}
                        <button type="submit" class="w-full rounded-md bg-indigo-600 px-4 py-2 font-semibold text-white hover:bg-indigo-700">
                            {match (c.mode.as_str(), c.trial_period_days) {
                                ("setup", _) => "Save card",
                                (_, Some(_)) => "Start trial",
                                _ => "Pay",
                            }}
                        </button>
                    </form>
                    <a href=c.cancel_url.clone() class="mt-4 inline-block text-sm text-slate-600 underline">
                        "← Cancel and return to InboxGrove"
                    </a>
                    {test_cards()}
                }
                .into_any()
            } else {
                view! {
                    <p class="mt-6 text-slate-700">"This checkout session is complete."</p>
                    <a class="mt-2 inline-block text-indigo-700 underline"
                        href=c.success_url.replace("{CHECKOUT_SESSION_ID}", &c.id)>"Return to InboxGrove"</a>
                }
                .into_any()
            }}
        </div>
    }
    .into_any();
    (status, page(state, "Checkout — InboxGrove (sandbox)", body)).into_response()
}

pub async fn checkout_pay(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CardForm>,
) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    match sandbox.pay(&id, &form.card).await {
        Ok(success) | Err(PayError::NotOpen(success)) => Redirect::to(&success).into_response(),
        Err(PayError::NotFound) => {
            (StatusCode::NOT_FOUND, "No such checkout session").into_response()
        }
        Err(PayError::Card(e)) => render_checkout(&state, &id, Some(e.to_string())).await,
        Err(PayError::Rejected(m)) => render_checkout(&state, &id, Some(m)).await,
        Err(PayError::Unexpected(e)) => {
            tracing::error!(error = ?e, "sandbox payment failed");
            StatusCode::INTERNAL_SERVER_ERROR.into_response()
        }
    }
}

pub async fn portal_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    render_portal(&state, &id, None).await
}

async fn render_portal(state: &AppState, id: &str, error: Option<String>) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    let v = match loaded("portal session", sandbox.portal(id).await) {
        Ok(v) => v,
        Err(res) => return *res,
    };
    let status = page_status(&error);
    let card = match (v.card.as_str(), &v.card_last4) {
        ("none", _) | (_, None) => "No card on file".to_string(),
        ("fails_charges", Some(l)) => format!("Card ending {l} (charges will fail)"),
        (_, Some(l)) => format!("Card ending {l}"),
    };
    let base = format!("/sandbox/stripe/portal/{id}");
    let (keep_url, cancel_url, card_url) = (
        format!("{base}/keep"),
        format!("{base}/cancel"),
        format!("{base}/card"),
    );
    let plan = v.subscription.as_ref().map(|s| {
        let name = state
            .settings
            .plan_by_price(&s.price_id)
            .map(|(_, p)| p.name.clone())
            .unwrap_or_else(|| s.price_id.clone());
        let when = s.current_period_end.format("%Y-%m-%d").to_string();
        let status = SubscriptionStatus::parse(&s.status);
        let line = match (status, s.cancel_at_period_end) {
            (Some(SubscriptionStatus::Canceled), _) => format!("{name} — canceled"),
            (_, true) => format!("{name} — cancels on {when}"),
            (Some(SubscriptionStatus::Trialing), _) => {
                format!("{name} — trial, first charge on {when}")
            }
            (_, _) => format!("{name} — {}, renews on {when}", s.status),
        };
        let live = status != Some(SubscriptionStatus::Canceled);
        let cancel_pending = s.cancel_at_period_end;
        view! {
            <section class="mt-6">
                <h2 class="font-semibold">"Subscription"</h2>
                <p class="text-slate-700" data-testid="portal-plan">{line}</p>
                {live.then(|| if cancel_pending {
                    view! {
                        <form method="post" action=keep_url.clone()>
                            <button class="mt-2 rounded-md border px-3 py-1 text-sm">"Don't cancel"</button>
                        </form>
                    }.into_any()
                } else {
                    view! {
                        <form method="post" action=cancel_url.clone()>
                            <button class="mt-2 rounded-md border border-red-300 px-3 py-1 text-sm text-red-700">"Cancel subscription"</button>
                        </form>
                    }.into_any()
                })}
            </section>
        }
    });
    let body = view! {
        <div class="rounded-lg bg-white p-6 shadow">
            <p class="text-sm text-slate-500">"InboxGrove — billing portal"</p>
            {plan}
            <section class="mt-6">
                <h2 class="font-semibold">"Payment method"</h2>
                <p class="text-slate-700" data-testid="portal-card">{card}</p>
                <form method="post" action=card_url class="mt-2 flex gap-2">
                    <input name="card" inputmode="numeric" required placeholder="4242 4242 4242 4242"
                        class="flex-1 rounded-md border border-slate-300 px-3 py-2"/>
                    <button class="rounded-md bg-indigo-600 px-3 py-2 text-sm font-semibold text-white">"Update card"</button>
                </form>
                <p class="mt-1 text-xs text-slate-500">"A new card that pays also retries any unpaid invoice now."</p>
                {error_box(error)}
            </section>
            <a href=v.return_url class="mt-6 inline-block text-sm text-slate-600 underline">"← Return to InboxGrove"</a>
            {test_cards()}
        </div>
    }
    .into_any();
    (
        status,
        page(state, "Billing portal — InboxGrove (sandbox)", body),
    )
        .into_response()
}

fn portal_result(
    state: &AppState,
    id: &str,
    r: Result<(), PayError>,
) -> Result<Response, Option<String>> {
    let _ = state;
    match r {
        Ok(()) => Ok(Redirect::to(&format!("/sandbox/stripe/portal/{id}")).into_response()),
        Err(PayError::NotFound) => {
            Ok((StatusCode::NOT_FOUND, "No such portal session").into_response())
        }
        Err(PayError::Card(e)) => Err(Some(e.to_string())),
        Err(PayError::Rejected(m)) => Err(Some(m)),
        Err(e) => {
            tracing::error!(error = ?e, "sandbox portal action failed");
            Ok(StatusCode::INTERNAL_SERVER_ERROR.into_response())
        }
    }
}

pub async fn portal_card(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Form(form): Form<CardForm>,
) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    let r = sandbox.update_card(&id, &form.card).await;
    match portal_result(&state, &id, r) {
        Ok(res) => res,
        Err(msg) => render_portal(&state, &id, msg).await,
    }
}

async fn portal_set_cancel(state: AppState, id: String, cancel: bool) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    let r = sandbox.portal_set_cancel(&id, cancel).await;
    match portal_result(&state, &id, r) {
        Ok(res) => res,
        Err(msg) => render_portal(&state, &id, msg).await,
    }
}

pub async fn portal_cancel(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    portal_set_cancel(state, id, true).await
}

pub async fn portal_keep(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    portal_set_cancel(state, id, false).await
}

pub async fn invoice_page(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    let inv = match loaded("invoice", sandbox.invoice_page(&id).await) {
        Ok(v) => v,
        Err(res) => return *res,
    };
    let s = |k: &str| inv[k].as_str().unwrap_or_default().to_string();
    let n = |k: &str| inv[k].as_i64().unwrap_or_default();
    let currency = s("currency");
    let body = view! {
        <div class="rounded-lg bg-white p-6 shadow">
            <p class="text-sm text-slate-500">"InboxGrove — invoice"</p>
            <h1 class="mt-1 text-2xl font-semibold">{s("number")}</h1>
            <dl class="mt-4 grid grid-cols-2 gap-2 text-sm">
                <dt class="text-slate-500">"Status"</dt><dd>{s("status")}</dd>
                <dt class="text-slate-500">"Amount due"</dt><dd>{format_money(n("amount_due"), &currency)}</dd>
                <dt class="text-slate-500">"Amount paid"</dt><dd>{format_money(n("amount_paid"), &currency)}</dd>
                <dt class="text-slate-500">"Attempts"</dt><dd>{n("attempt_count")}</dd>
            </dl>
        </div>
    }
    .into_any();
    let mut res = page(&state, "Invoice — InboxGrove (sandbox)", body).into_response();
    res.headers_mut().insert(
        header::CACHE_CONTROL,
        "no-store".parse().expect("static header"),
    );
    res
}

/// The invoice as a PDF (Stripe's `invoice_pdf`); like the hosted page, the unguessable
/// invoice id in the URL is the credential.
pub async fn invoice_pdf(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let Some(sandbox) = state.stripe_sandbox.clone() else {
        return not_found();
    };
    let doc = match loaded("invoice", sandbox.invoice_document(&id).await) {
        Ok(v) => v,
        Err(res) => return *res,
    };
    let disposition = format!("inline; filename=\"{}\"", doc.file_name());
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "no-store".to_string()),
        ],
        render_invoice_pdf(&doc),
    )
        .into_response()
}
