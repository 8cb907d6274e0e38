//! Credential files in the formats cold-email tools import, with the exact headers of
//! `providers.md` §6, written by the `csv` crate (quoting, escaping). SMTP host, port and
//! security, and IMAP host, port and security, come from `[relay]`; the IMAP username and
//! password are the SMTP ones (one record serves both).
//! Every cell goes through [`neutralise`], so a spreadsheet never runs a customer-typed
//! value (a display name such as `=HYPERLINK(…)`) as a formula.

use anyhow::Context;
use zeroize::Zeroizing;

use crate::domain::inboxes::ExportFormat;
use crate::server::config::Settings;
use crate::server::db::inboxes::InboxRow;

pub const GENERIC: &[&str] = &[
    "Email",
    "Display Name",
    "First Name",
    "Last Name",
    "SMTP Host",
    "SMTP Port",
    "SMTP Username",
    "SMTP Password",
    "SMTP Security",
    "IMAP Host",
    "IMAP Port",
    "IMAP Security",
    "IMAP Username",
    "IMAP Password",
    "Daily Limit",
    "Status",
];

/// Instantly's account import (the core 11 columns).
pub const INSTANTLY: &[&str] = &[
    "Email",
    "First Name",
    "Last Name",
    "IMAP Username",
    "IMAP Password",
    "IMAP Host",
    "IMAP Port",
    "SMTP Username",
    "SMTP Password",
    "SMTP Host",
    "SMTP Port",
];

/// Smartlead's full 19-column template.
pub const SMARTLEAD: &[&str] = &[
    "from_name",
    "from_email",
    "user_name",
    "password",
    "smtp_host",
    "smtp_port",
    "imap_host",
    "imap_port",
    "max_email_per_day",
    "custom_tracking_url",
    "warmup_enabled",
    "total_warmup_per_day",
    "daily_rampup",
    "reply_rate_percentage",
    "bcc",
    "signature",
    "different_reply_to_address",
    "imap_user_name",
    "imap_password",
];

/// Salesforge / Primeforge mailbox import.
pub const SALESFORGE: &[&str] = &[
    "address",
    "firstName",
    "lastName",
    "imapHost",
    "imapUsername",
    "imapPassword",
    "imapPort",
    "smtpHost",
    "smtpUsername",
    "smtpPassword",
    "smtpPort",
    "Signature",
    "trackingDomain",
];

pub fn header(format: ExportFormat) -> &'static [&'static str] {
    match format {
        ExportFormat::Generic => GENERIC,
        ExportFormat::Instantly => INSTANTLY,
        ExportFormat::Smartlead => SMARTLEAD,
        ExportFormat::Salesforge => SALESFORGE,
    }
}

pub struct Credential<'a> {
    pub row: &'a InboxRow,
    pub password: Zeroizing<String>,
}

/// OWASP's CSV-injection advice: a cell that starts with `=`, `+`, `-`, `@`, a tab or a
/// carriage return is prefixed with `'`, so spreadsheets show it as text instead of
/// evaluating it. Passwords are alphanumeric and never change.
pub fn neutralise(cell: &str) -> std::borrow::Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}").into(),
        _ => cell.into(),
    }
}

pub fn write(
    format: ExportFormat,
    settings: &Settings,
    creds: &[Credential<'_>],
) -> anyhow::Result<Vec<u8>> {
    let relay = &settings.relay;
    let w = &settings.inboxes;
    let smtp_port = relay.smtp_port.to_string();
    let imap_host = relay.imap_host.as_str();
    let imap_port = relay.imap_port.to_string();
    // Smartlead's own warm-up bounds: 1–50 a day, ramp 5–20.
    let warm = w.warmup_max.clamp(1, 50).to_string();
    let ramp = w.warmup_step.clamp(5, 20).to_string();
    let mut out = csv::Writer::from_writer(Vec::with_capacity(creds.len() * 200 + 200));
    out.write_record(header(format))
        .context("writing the header")?;
    for c in creds {
        let r = c.row;
        let email = r.address();
        let password = c.password.as_str();
        let (imap_user, imap_password) = (email.as_str(), password);
        let cap = r.daily_cap.to_string();
        let record: Vec<&str> = match format {
            ExportFormat::Generic => vec![
                &email,
                &r.display_name,
                &r.first_name,
                &r.last_name,
                &relay.smtp_host,
                &smtp_port,
                &email,
                password,
                &relay.smtp_security,
                imap_host,
                &imap_port,
                &relay.imap_security,
                imap_user,
                imap_password,
                &cap,
                r.status.as_str(),
            ],
            ExportFormat::Instantly => vec![
                &email,
                &r.first_name,
                &r.last_name,
                imap_user,
                imap_password,
                imap_host,
                &imap_port,
                &email,
                password,
                &relay.smtp_host,
                &smtp_port,
            ],
            ExportFormat::Smartlead => vec![
                &r.display_name,
                &email,
                &email,
                password,
                &relay.smtp_host,
                &smtp_port,
                imap_host,
                &imap_port,
                &cap,
                "",
                "TRUE",
                &warm,
                &ramp,
                "30",
                "",
                "",
                "",
                imap_user,
                imap_password,
            ],
            ExportFormat::Salesforge => vec![
                &email,
                &r.first_name,
                &r.last_name,
                imap_host,
                imap_user,
                imap_password,
                &imap_port,
                &relay.smtp_host,
                &email,
                password,
                &smtp_port,
                "",
                "",
            ],
        };
        out.write_record(record.into_iter().map(|c| neutralise(c).into_owned()))
            .context("writing a row")?;
    }
    out.into_inner().context("finishing the CSV")
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn cells_that_a_spreadsheet_would_evaluate_are_prefixed_with_a_quote() {
        for c in [
            "=HYPERLINK(\"http://x\")",
            "+1",
            "-2+3",
            "@SUM(A1)",
            "\tx",
            "\rx",
        ] {
            assert_eq!(neutralise(c), format!("'{c}"), "{c:?}");
        }
        for c in ["", "Jane Doe", "a=b", "smtp.example.com", "587", "AbC123"] {
            assert_eq!(neutralise(c), c, "{c:?}");
        }
    }
}
