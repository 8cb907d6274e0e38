//! The sandbox's invoice PDFs (what Stripe links as `invoice_pdf`): the invoice's rows loaded
//! into a plain [`InvoiceDocument`], and [`render`], a pure function that lays it out on one
//! A4 page in the standard Helvetica fonts (WinAnsiEncoding, nothing embedded).
//!
//! Customer names and emails are user input: every string goes through [`winansi`], which
//! keeps only characters the font's encoding has (others become `?`, control characters a
//! space), and is then written as an escaped PDF string by pdf-writer, so no input can
//! reach the PDF syntax.

use anyhow::Context;
use chrono::{DateTime, Utc};
use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};

use super::SandboxStripe;
use super::events::invoice_number;

/// Everything an invoice PDF shows; amounts in minor units of `currency`.
#[derive(Clone, Debug)]
pub struct InvoiceDocument {
    pub number: String,
    /// Stripe's invoice status: `paid`, `open`, `void`, `uncollectible`.
    pub status: String,
    pub created: DateTime<Utc>,
    pub period_start: DateTime<Utc>,
    pub period_end: DateTime<Utc>,
    pub paid_at: Option<DateTime<Utc>>,
    pub customer_name: String,
    pub customer_email: String,
    pub lines: Vec<InvoiceLine>,
    pub amount_paid: i64,
    pub currency: String,
    pub payment: Option<InvoicePayment>,
}

#[derive(Clone, Debug)]
pub struct InvoiceLine {
    pub description: String,
    pub quantity: i64,
    pub amount: i64,
}

/// The charge that paid the invoice.
#[derive(Clone, Debug)]
pub struct InvoicePayment {
    pub id: String,
    pub card_last4: Option<String>,
    pub refunded: i64,
}

impl InvoiceDocument {
    pub fn total(&self) -> i64 {
        self.lines.iter().map(|l| l.amount).sum()
    }

    /// `SBX-000001.pdf`: the number is ours (letters, digits, `-`), never user input.
    pub fn file_name(&self) -> String {
        format!("{}.pdf", self.number)
    }
}

#[derive(sqlx::FromRow)]
struct PdfRow {
    seq: i64,
    status: String,
    amount_due: i64,
    amount_paid: i64,
    currency: String,
    billing_reason: String,
    period_start: DateTime<Utc>,
    period_end: DateTime<Utc>,
    created: DateTime<Utc>,
    paid_at: Option<DateTime<Utc>>,
    name: String,
    email: String,
    card_last4: Option<String>,
    price_id: Option<String>,
    payment_id: Option<String>,
    amount_refunded: Option<i64>,
    overage_quantity: i64,
    overage_unit_amount: i64,
}

impl SandboxStripe {
    /// The invoice `id` as its PDF shows it; `None` when there is no such invoice.
    pub async fn invoice_document(&self, id: &str) -> anyhow::Result<Option<InvoiceDocument>> {
        let row: Option<PdfRow> = sqlx::query_as(
            "SELECT i.seq, i.status, i.amount_due, i.amount_paid, i.currency, i.billing_reason,
                    i.period_start, i.period_end, i.created, i.paid_at,
                    c.name, c.email, c.card_last4, s.price_id,
                    p.id AS payment_id, p.amount_refunded, i.overage_quantity, i.overage_unit_amount
               FROM sandbox_stripe_invoices i
               JOIN sandbox_stripe_customers c ON c.id = i.customer_id
               LEFT JOIN sandbox_stripe_subscriptions s ON s.id = i.subscription_id
               LEFT JOIN LATERAL (
                    SELECT id, amount_refunded FROM sandbox_stripe_payments
                     WHERE invoice_id = i.id AND status = 'succeeded'
                     ORDER BY created DESC LIMIT 1) p ON true
              WHERE i.id = $1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .context("loading the invoice for its PDF")?;
        let Some(r) = row else {
            return Ok(None);
        };
        let plan = r
            .price_id
            .as_deref()
            .and_then(|p| self.settings.plan_by_price(p))
            .map(|(_, plan)| plan.name.clone());
        let mut description = match plan {
            Some(name) => format!("InboxGrove {name} (monthly)"),
            None => "InboxGrove subscription".to_string(),
        };
        if r.billing_reason == "subscription_create" && r.amount_due == 0 {
            description.push_str(", free trial");
        }
        let overage = r.overage_quantity.saturating_mul(r.overage_unit_amount);
        let mut lines = vec![InvoiceLine {
            description,
            quantity: 1,
            amount: r.amount_due - overage,
        }];
        if r.overage_quantity > 0 {
            lines.push(InvoiceLine {
                description: format!("Extra inboxes × {}", r.overage_quantity),
                quantity: r.overage_quantity,
                amount: overage,
            });
        }
        Ok(Some(InvoiceDocument {
            number: invoice_number(r.seq),
            status: r.status,
            created: r.created,
            period_start: r.period_start,
            period_end: r.period_end,
            paid_at: r.paid_at,
            customer_name: r.name,
            customer_email: r.email,
            lines,
            amount_paid: r.amount_paid,
            currency: r.currency,
            payment: r.payment_id.map(|id| InvoicePayment {
                id,
                card_last4: r.card_last4,
                refunded: r.amount_refunded.unwrap_or(0),
            }),
        }))
    }
}

const REGULAR: Name = Name(b"F1");
const BOLD: Name = Name(b"F2");
const PAGE_W: f32 = 595.0;
const PAGE_H: f32 = 842.0;
const LEFT: f32 = 50.0;
const RIGHT: f32 = PAGE_W - 50.0;

/// Renders `doc` as a one-page PDF.
pub fn render(doc: &InvoiceDocument) -> Vec<u8> {
    let (catalog, tree, page_id, regular, bold, contents, info) = (
        Ref::new(1),
        Ref::new(2),
        Ref::new(3),
        Ref::new(4),
        Ref::new(5),
        Ref::new(6),
        Ref::new(7),
    );
    let mut pdf = Pdf::new();
    pdf.catalog(catalog).pages(tree);
    pdf.pages(tree).kids([page_id]).count(1);
    let mut page = pdf.page(page_id);
    page.media_box(Rect::new(0.0, 0.0, PAGE_W, PAGE_H));
    page.parent(tree);
    page.contents(contents);
    page.resources()
        .fonts()
        .pair(REGULAR, regular)
        .pair(BOLD, bold);
    page.finish();
    for (id, font) in [(regular, "Helvetica"), (bold, "Helvetica-Bold")] {
        pdf.type1_font(id)
            .base_font(Name(font.as_bytes()))
            .encoding_predefined(Name(b"WinAnsiEncoding"));
    }
    let title = format!("Invoice {}", doc.number);
    pdf.document_info(info)
        .title(TextStr(&title))
        .producer(TextStr("InboxGrove sandbox Stripe"));
    let content = page_content(doc);
    pdf.stream(contents, &content);
    pdf.finish()
}

fn page_content(doc: &InvoiceDocument) -> Vec<u8> {
    let money = |cents: i64| money(cents, &doc.currency);
    let total = doc.total();
    let due = total - doc.amount_paid;
    let mut c = Page(Content::new());

    c.text(BOLD, 22.0, LEFT, 780.0, "Invoice");
    c.right(BOLD, 14.0, RIGHT, 784.0, "InboxGrove");
    c.gray(0.45);
    c.right(REGULAR, 9.0, RIGHT, 770.0, "Sandbox Stripe - test mode");
    c.gray(0.0);

    let mut y = 740.0;
    let status = status_line(doc);
    for (label, value) in [
        ("Invoice number", doc.number.clone()),
        ("Date of issue", long_date(doc.created)),
        (
            "Service period",
            format!(
                "{} - {}",
                short_date(doc.period_start),
                short_date(doc.period_end)
            ),
        ),
        ("Status", status),
    ] {
        c.text(REGULAR, 10.0, LEFT, y, label);
        c.text(REGULAR, 10.0, LEFT + 100.0, y, &value);
        y -= 15.0;
    }

    y -= 15.0;
    c.text(BOLD, 10.0, LEFT, y, "InboxGrove");
    c.text(BOLD, 10.0, 320.0, y, "Bill to");
    y -= 14.0;
    c.text(REGULAR, 10.0, LEFT, y, "Cold email infrastructure");
    c.fit(REGULAR, 10.0, 320.0, y, RIGHT - 320.0, &doc.customer_name);
    y -= 14.0;
    c.fit(REGULAR, 10.0, 320.0, y, RIGHT - 320.0, &doc.customer_email);

    y -= 40.0;
    let headline = match (doc.status.as_str(), doc.paid_at) {
        ("paid", Some(at)) => format!("{} paid on {}", money(doc.amount_paid), long_date(at)),
        ("paid", None) => format!("{} paid", money(doc.amount_paid)),
        _ => format!("{} due", money(due)),
    };
    c.text(BOLD, 16.0, LEFT, y, &headline);

    y -= 35.0;
    c.text(REGULAR, 9.0, LEFT, y, "Description");
    c.right(REGULAR, 9.0, 400.0, y, "Qty");
    c.right(REGULAR, 9.0, 470.0, y, "Unit price");
    c.right(REGULAR, 9.0, RIGHT, y, "Amount");
    y -= 6.0;
    c.rule(y);
    for line in &doc.lines {
        y -= 16.0;
        c.fit(REGULAR, 10.0, LEFT, y, 300.0, &line.description);
        c.right(REGULAR, 10.0, 400.0, y, &line.quantity.to_string());
        let unit = if line.quantity == 0 {
            0
        } else {
            line.amount / line.quantity
        };
        c.right(REGULAR, 10.0, 470.0, y, &money(unit));
        c.right(REGULAR, 10.0, RIGHT, y, &money(line.amount));
        y -= 12.0;
        c.gray(0.45);
        c.text(
            REGULAR,
            9.0,
            LEFT,
            y,
            &format!(
                "{} - {}",
                short_date(doc.period_start),
                short_date(doc.period_end)
            ),
        );
        c.gray(0.0);
    }
    y -= 8.0;
    c.rule(y);

    for (font, label, amount) in [
        (REGULAR, "Subtotal", total),
        (REGULAR, "Total", total),
        (REGULAR, "Amount paid", doc.amount_paid),
        (BOLD, "Amount due", due),
    ] {
        y -= 16.0;
        c.text(font, 10.0, 320.0, y, label);
        c.right(font, 10.0, RIGHT, y, &money(amount));
    }

    y -= 40.0;
    c.text(BOLD, 10.0, LEFT, y, "Payment");
    y -= 15.0;
    let payment = match &doc.payment {
        Some(p) => {
            let card = match &p.card_last4 {
                Some(l) => format!("Card ending {l}"),
                None => "Card".to_string(),
            };
            format!("{card}, {} - {}", money(doc.amount_paid), p.id)
        }
        None if total == 0 => "No payment needed".to_string(),
        None => "Not paid yet".to_string(),
    };
    c.fit(REGULAR, 10.0, LEFT, y, RIGHT - LEFT, &payment);
    if let Some(p) = doc.payment.as_ref().filter(|p| p.refunded > 0) {
        y -= 15.0;
        c.text(
            REGULAR,
            10.0,
            LEFT,
            y,
            &format!("Refunded {}", money(p.refunded)),
        );
    }

    c.gray(0.45);
    c.text(
        REGULAR,
        8.0,
        LEFT,
        50.0,
        "Issued by the InboxGrove sandbox in test mode: no real card was charged.",
    );
    c.0.finish().into_vec()
}

fn status_line(doc: &InvoiceDocument) -> String {
    match (doc.status.as_str(), doc.paid_at) {
        ("paid", Some(at)) => format!("Paid on {}", long_date(at)),
        ("paid", None) => "Paid".into(),
        ("open", _) => "Open".into(),
        ("void", _) => "Void".into(),
        ("uncollectible", _) => "Uncollectible".into(),
        ("draft", _) => "Draft".into(),
        (other, _) => other.to_string(),
    }
}

fn long_date(t: DateTime<Utc>) -> String {
    t.format("%B %-d, %Y").to_string()
}

fn short_date(t: DateTime<Utc>) -> String {
    t.format("%b %-d, %Y").to_string()
}

/// An invoice amount with its cents and thousands separators: "$1,234.50", "€49.00",
/// "-$5.00", "49.00 CHF".
pub fn money(cents: i64, currency: &str) -> String {
    let sign = if cents < 0 { "-" } else { "" };
    let abs = cents.unsigned_abs();
    let units = (abs / 100).to_string();
    let mut grouped = String::new();
    for (i, d) in units.chars().enumerate() {
        if i > 0 && (units.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(d);
    }
    let amount = format!("{grouped}.{:02}", abs % 100);
    match currency.to_ascii_lowercase().as_str() {
        "usd" => format!("{sign}${amount}"),
        "eur" => format!("{sign}\u{20ac}{amount}"),
        "gbp" => format!("{sign}\u{a3}{amount}"),
        other => format!("{sign}{amount} {}", other.to_ascii_uppercase()),
    }
}

/// `s` in WinAnsiEncoding (the standard fonts' encoding): ASCII and Latin-1 as they are, the
/// few extra characters it has (€, dashes, quotes…) mapped, control characters as a space,
/// anything else as `?`.
pub fn winansi(s: &str) -> Vec<u8> {
    s.chars()
        .map(|c| match c {
            ' '..='~' => c as u8,
            '\u{a0}'..='\u{ff}' => c as u32 as u8,
            c if c.is_control() => b' ',
            '€' => 0x80,
            '‚' => 0x82,
            'ƒ' => 0x83,
            '„' => 0x84,
            '…' => 0x85,
            '†' => 0x86,
            '‡' => 0x87,
            'ˆ' => 0x88,
            '‰' => 0x89,
            'Š' => 0x8a,
            '‹' => 0x8b,
            'Œ' => 0x8c,
            'Ž' => 0x8e,
            '‘' => 0x91,
            '’' => 0x92,
            '“' => 0x93,
            '”' => 0x94,
            '•' => 0x95,
            '–' => 0x96,
            '—' => 0x97,
            '˜' => 0x98,
            '™' => 0x99,
            'š' => 0x9a,
            '›' => 0x9b,
            'œ' => 0x9c,
            'ž' => 0x9e,
            'Ÿ' => 0x9f,
            _ => b'?',
        })
        .collect()
}

/// Advance widths (per 1000 units of the font size) of ASCII 32..=126 in Helvetica and
/// Helvetica-Bold, from their AFM files.
#[rustfmt::skip]
const HELVETICA: [[u16; 95]; 2] = [
    [
        278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, // ' '../
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, // 0..?
        1015, 667, 667, 722, 722, 667, 611, 778, 722, 278, 500, 667, 556, 833, 722, 778, // @..O
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 278, 278, 278, 469, 556, // P.._
        333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500, 222, 833, 556, 556, // `..o
        556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,      // p..~
    ],
    [
        278, 333, 474, 556, 556, 889, 722, 238, 333, 333, 389, 584, 278, 333, 278, 278,
        556, 556, 556, 556, 556, 556, 556, 556, 556, 556, 333, 333, 584, 584, 584, 611,
        975, 722, 722, 722, 722, 667, 611, 778, 722, 278, 556, 722, 611, 833, 722, 778,
        667, 778, 722, 667, 611, 722, 667, 944, 667, 667, 611, 333, 278, 333, 584, 556,
        333, 556, 611, 556, 611, 556, 333, 611, 611, 278, 278, 556, 278, 889, 611, 611,
        611, 611, 389, 556, 333, 611, 556, 778, 556, 556, 500, 389, 280, 389, 584,
    ],
];

/// The width of WinAnsi `text` in points (non-ASCII letters counted as an average 556).
fn width(font: Name, text: &[u8], size: f32) -> f32 {
    let table = &HELVETICA[usize::from(font == BOLD)];
    let units: u32 = text
        .iter()
        .map(|&b| match b {
            32..=126 => u32::from(table[usize::from(b - 32)]),
            _ => 556,
        })
        .sum();
    units as f32 * size / 1000.0
}

/// A page's content stream, one text object per string (so extracted text keeps its lines).
struct Page(Content);

impl Page {
    fn show(&mut self, font: Name, size: f32, x: f32, y: f32, text: &[u8]) {
        self.0
            .begin_text()
            .set_font(font, size)
            .next_line(x, y)
            .show(Str(text))
            .end_text();
    }

    fn text(&mut self, font: Name, size: f32, x: f32, y: f32, text: &str) {
        self.show(font, size, x, y, &winansi(text));
    }

    /// Right-aligned at `right`.
    fn right(&mut self, font: Name, size: f32, right: f32, y: f32, text: &str) {
        let text = winansi(text);
        self.show(font, size, right - width(font, &text, size), y, &text);
    }

    /// Cut with "..." to fit in `max` points.
    fn fit(&mut self, font: Name, size: f32, x: f32, y: f32, max: f32, text: &str) {
        let mut text = winansi(text);
        if width(font, &text, size) > max {
            let ellipsis = width(font, b"...", size);
            while !text.is_empty() && width(font, &text, size) + ellipsis > max {
                text.pop();
            }
            text.extend_from_slice(b"...");
        }
        self.show(font, size, x, y, &text);
    }

    fn gray(&mut self, level: f32) {
        self.0.set_fill_gray(level);
    }

    fn rule(&mut self, y: f32) {
        self.0
            .set_line_width(0.5)
            .set_stroke_gray(0.7)
            .move_to(LEFT, y)
            .line_to(RIGHT, y)
            .stroke();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn doc(name: &str) -> InvoiceDocument {
        let day = |d| Utc.with_ymd_and_hms(2026, 12, d, 9, 30, 0).unwrap();
        InvoiceDocument {
            number: "SBX-000042".into(),
            status: "paid".into(),
            created: day(1),
            period_start: day(1),
            period_end: Utc.with_ymd_and_hms(2027, 1, 1, 9, 30, 0).unwrap(),
            paid_at: Some(day(2)),
            customer_name: name.into(),
            customer_email: "billing@acme.io".into(),
            lines: vec![InvoiceLine {
                description: "InboxGrove Growth (monthly)".into(),
                quantity: 1,
                amount: 14_900,
            }],
            amount_paid: 14_900,
            currency: "usd".into(),
            payment: Some(InvoicePayment {
                id: "pi_sbx123".into(),
                card_last4: Some("4242".into()),
                refunded: 0,
            }),
        }
    }

    fn text_of(pdf: &[u8]) -> String {
        let parsed = lopdf::Document::load_mem(pdf).expect("a parseable PDF");
        assert_eq!(parsed.get_pages().len(), 1);
        parsed.extract_text(&[1]).expect("text")
    }

    #[test]
    fn the_pdf_shows_the_seller_number_line_totals_and_payment() {
        let text = text_of(&render(&doc("Acme Outreach")));
        for expected in [
            "InboxGrove",
            "SBX-000042",
            "December 1, 2026",
            "Dec 1, 2026 - Jan 1, 2027",
            "Paid on December 2, 2026",
            "Acme Outreach",
            "billing@acme.io",
            "InboxGrove Growth (monthly)",
            "$149.00 paid on December 2, 2026",
            "Card ending 4242, $149.00 - pi_sbx123",
        ] {
            assert!(
                text.contains(expected),
                "{expected:?} missing from:\n{text}"
            );
        }
        assert!(text.contains("Amount due\n$0.00"), "{text}");
    }

    #[test]
    fn an_open_invoice_shows_what_is_due_and_no_payment() {
        let mut d = doc("Acme");
        d.status = "open".into();
        d.paid_at = None;
        d.amount_paid = 0;
        d.payment = None;
        let text = text_of(&render(&d));
        assert!(text.contains("$149.00 due"), "{text}");
        assert!(text.contains("Not paid yet"), "{text}");
        assert!(text.contains("Amount due\n$149.00"), "{text}");
    }

    #[test]
    fn a_name_that_looks_like_pdf_syntax_stays_text_and_other_scripts_become_question_marks() {
        let name = "Evil) Tj ET (\\ /F1 Tf Ünï Корп 株式\n€";
        let text = text_of(&render(&doc(name)));
        assert!(
            text.contains("Evil) Tj ET (\\ /F1 Tf Ünï ???? ?? €"),
            "{text}"
        );
        assert!(text.contains("$149.00 paid"), "{text}");
    }

    #[test]
    fn a_very_long_name_is_cut_to_fit() {
        let text = text_of(&render(&doc(&"W".repeat(200))));
        assert!(text.contains("WWW..."), "{text}");
        assert!(!text.contains(&"W".repeat(40)), "{text}");
    }

    #[test]
    fn amounts_have_cents_separators_and_their_currency() {
        assert_eq!(money(4_900, "usd"), "$49.00");
        assert_eq!(money(123_456_789, "usd"), "$1,234,567.89");
        assert_eq!(money(-500, "usd"), "-$5.00");
        assert_eq!(money(1_050, "eur"), "€10.50");
        assert_eq!(money(99_900, "chf"), "999.00 CHF");
        assert_eq!(winansi(&money(1, "gbp")), b"\xa30.01");
    }

    #[test]
    fn winansi_keeps_latin_1_maps_its_extras_and_replaces_the_rest() {
        assert_eq!(winansi("Aé€—\t字"), b"A\xe9\x80\x97 ?");
    }
}
