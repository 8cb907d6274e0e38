//! Invoices as PDFs: the sandbox Stripe links each invoice's PDF (`invoice_pdf`), the mirror
//! keeps the link, the billing page lists it, and the PDF itself is read back by lopdf.

use serde_json::Value;
use sqlx::PgPool;

use crate::helpers::{Signup, TestApp, local, pay, spawn_app};

/// Signs up as `company`, chooses Starter and pays on the sandbox Checkout (a trial).
async fn subscribed(app: &TestApp, email: &str, company: &str) {
    let signup = Signup {
        company,
        ..Signup::valid(email)
    };
    assert!(app.signup(&signup).await.status().is_success());
    let res = app
        .client
        .post(app.url("/api/billing/plan"))
        .header("accept", "text/html")
        .form(&[("plan", "starter")])
        .send()
        .await
        .unwrap();
    let checkout = res.headers()["location"].to_str().unwrap().to_string();
    assert_eq!(pay(app, &checkout, "4242424242424242").await.status(), 303);
}

/// The invoices as the billing page gets them, newest first.
async fn invoices(app: &TestApp) -> Vec<Value> {
    let res = app
        .client
        .post(app.url("/api/billing"))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let view: Value = res.json().await.unwrap();
    view["invoices"].as_array().unwrap().clone()
}

/// Fetches a PDF and returns its headers' filename and its text, as lopdf extracts it.
async fn pdf_text(app: &TestApp, url: &str) -> (String, String) {
    let res = app.client.get(local(app, url)).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["content-type"], "application/pdf");
    let disposition = res.headers()["content-disposition"]
        .to_str()
        .unwrap()
        .to_string();
    let bytes = res.bytes().await.unwrap();
    assert!(bytes.starts_with(b"%PDF-"), "not a PDF");
    let doc = lopdf::Document::load_mem(&bytes).expect("a parseable PDF");
    let pages: Vec<u32> = doc.get_pages().keys().copied().collect();
    assert_eq!(pages, [1]);
    (disposition, doc.extract_text(&pages).unwrap())
}

#[sqlx::test]
async fn a_paid_invoice_links_a_pdf_with_its_number_amount_and_payment(pool: PgPool) {
    let app = spawn_app(pool).await;
    subscribed(&app, "pdf@acme.io", "Acme Outreach").await;
    // The trial ends: Starter's first $49 charge.
    let sandbox = app.state.stripe_sandbox.clone().unwrap();
    sandbox.advance(8).await.unwrap();

    let listed = invoices(&app).await;
    let paid = listed
        .iter()
        .find(|i| i["amount"] == "$49" && i["status"] == "Paid")
        .unwrap_or_else(|| panic!("no paid $49 invoice in {listed:?}"));
    let number = paid["number"].as_str().unwrap();
    assert!(number.starts_with("SBX-"), "{number}");
    let url = paid["pdf"].as_str().unwrap();
    let id = paid["id"].as_str().unwrap();
    assert!(
        url.ends_with(&format!("/sandbox/stripe/invoices/{id}/pdf")),
        "{url}"
    );
    // The link is what the mirror stored from the webhook's `invoice_pdf`.
    let stored: Option<String> =
        sqlx::query_scalar("SELECT invoice_pdf FROM billing_invoices WHERE id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    assert_eq!(stored.as_deref(), Some(url));

    let (disposition, text) = pdf_text(&app, url).await;
    assert_eq!(disposition, format!("inline; filename=\"{number}.pdf\""));
    let payment: String =
        sqlx::query_scalar("SELECT p.id FROM sandbox_stripe_payments p WHERE p.invoice_id = $1")
            .bind(id)
            .fetch_one(&app.pool)
            .await
            .unwrap();
    for expected in [
        "InboxGrove",
        number,
        "InboxGrove Starter (monthly)",
        "$49.00 paid on",
        "Paid on",
        "Acme Outreach",
        "pdf@acme.io",
        &format!("Card ending 4242, $49.00 - {payment}"),
    ] {
        assert!(
            text.contains(expected),
            "{expected:?} missing from:\n{text}"
        );
    }
    assert!(text.contains("Total\n$49.00"), "{text}");
    assert!(text.contains("Amount paid\n$49.00"), "{text}");
    assert!(text.contains("Amount due\n$0.00"), "{text}");

    // The trial's own invoice has its PDF too: nothing charged.
    let trial = listed.iter().find(|i| i["amount"] == "$0").unwrap();
    let (_, text) = pdf_text(&app, trial["pdf"].as_str().unwrap()).await;
    assert!(
        text.contains("$0.00 paid on") && text.contains("No payment needed"),
        "{text}"
    );
}

#[sqlx::test]
async fn a_forged_invoice_id_is_404_and_a_hostile_customer_name_stays_text(pool: PgPool) {
    let app = spawn_app(pool).await;
    for forged in [
        "in_sbx00000000000000000000000000000000",
        "in_sbx'%20OR%20'1'='1",
        "..%2F..%2Fetc%2Fpasswd",
    ] {
        let res = app
            .client
            .get(app.url(&format!("/sandbox/stripe/invoices/{forged}/pdf")))
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 404, "{forged}");
        assert_ne!(
            res.headers().get("content-type").map(|v| v.as_bytes()),
            Some(&b"application/pdf"[..])
        );
    }

    let company = "Evil) Tj ET (\\ Корпорация Ünï";
    subscribed(&app, "hostile@acme.io", company).await;
    let listed = invoices(&app).await;
    let url = listed[0]["pdf"].as_str().unwrap();
    let (_, text) = pdf_text(&app, url).await;
    assert!(
        text.contains("Evil) Tj ET (\\ ?????????? Ünï"),
        "the name, as text: {text}"
    );
    assert!(text.contains("hostile@acme.io"), "{text}");
    assert!(text.contains("Amount due\n$0.00"), "{text}");
}
