//! "The day before the trial ends the owner gets an email, sent once."
//!
//! A periodic scan (a durable job, see `startup::app_registry`) enqueues one `trial_reminder` job
//! per (tenant, trial end) whose dedupe key makes it exist once, however often or in however
//! many processes the scan runs. The reminder job re-checks the trial end (the tenant may have
//! subscribed meanwhile) and sends through the `Mailer` with the same key, so even a retried
//! job does not email twice.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use crate::domain::{EmailAddress, TenantId};
use crate::server::db;
use crate::server::jobs::{Enqueued, JobError, NewJob};
use crate::server::providers::mail::{MailError, OutgoingMail};
use crate::server::state::AppState;

pub const SCAN_KIND: &str = "trial_reminder_scan";
pub const REMINDER_KIND: &str = "trial_reminder";

/// How long before the trial end the reminder goes out.
pub fn lead_time() -> Duration {
    Duration::hours(24)
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrialReminder {
    pub tenant_id: TenantId,
    pub trial_end: DateTime<Utc>,
}

impl TrialReminder {
    /// One reminder per tenant and trial end: a trial that is extended gets a new one.
    pub fn key(&self) -> String {
        format!(
            "{REMINDER_KIND}:{}:{}",
            self.tenant_id.0,
            self.trial_end.timestamp()
        )
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TrialReminderError {
    #[error("the tenant has no owner to remind")]
    NoOwner,
    #[error("the owner's email address {0:?} is not valid")]
    BadAddress(String),
    #[error(transparent)]
    Mail(#[from] MailError),
    #[error(transparent)]
    Unexpected(#[from] anyhow::Error),
}

crate::server::db::unexpected_from_db!(TrialReminderError);

impl TrialReminderError {
    pub fn into_job_error(self) -> JobError {
        match self {
            Self::NoOwner | Self::BadAddress(_) | Self::Mail(MailError::Rejected(_)) => {
                JobError::Fatal(self.into())
            }
            other => JobError::Retry(other.into()),
        }
    }
}

/// Enqueues a reminder for every trial ending within the lead time. Returns how many were new.
pub async fn scan(state: &AppState) -> anyhow::Result<usize> {
    let now = Utc::now();
    let due = db::trials::ending_between(&state.pool, now, now + lead_time()).await?;
    let mut created = 0;
    for (tenant_id, trial_end) in due {
        let reminder = TrialReminder {
            tenant_id,
            trial_end,
        };
        let job = NewJob::new(REMINDER_KIND, &reminder)
            .tenant(tenant_id)
            .dedupe(reminder.key());
        if let Enqueued::Created(_) = state.jobs.enqueue(job).await? {
            created += 1;
        }
    }
    if created > 0 {
        tracing::info!(created, "trial reminders enqueued");
    }
    Ok(created)
}

#[derive(Debug, PartialEq, Eq)]
pub enum Sent {
    Sent,
    /// The trial end changed (subscribed, extended) since the scan: nothing to say.
    NoLongerDue,
}

pub async fn send_reminder(
    state: &AppState,
    reminder: &TrialReminder,
) -> Result<Sent, TrialReminderError> {
    let current = db::trials::trial_end(&state.pool, reminder.tenant_id).await?;
    if current != Some(reminder.trial_end) {
        return Ok(Sent::NoLongerDue);
    }
    let (tenant_name, email) = db::trials::owner_contact(&state.pool, reminder.tenant_id)
        .await?
        .ok_or(TrialReminderError::NoOwner)?;
    let to = EmailAddress::parse(&email).map_err(|_| TrialReminderError::BadAddress(email))?;
    let mail = reminder_mail(
        reminder,
        to,
        &tenant_name,
        &state.settings.server.public_url,
    );
    crate::server::services::outbox::send(state, &mail).await?;
    Ok(Sent::Sent)
}

/// The email itself.
pub fn reminder_mail(
    reminder: &TrialReminder,
    to: EmailAddress,
    tenant_name: &str,
    public_url: &str,
) -> OutgoingMail {
    let when = reminder
        .trial_end
        .format("%A %-d %B %Y at %H:%M UTC")
        .to_string();
    let billing = format!("{}/billing", public_url.trim_end_matches('/'));
    OutgoingMail {
        to,
        subject: "Your InboxGrove trial ends tomorrow".into(),
        body: format!(
            "Hello,\n\n\
             The InboxGrove trial for {tenant_name} ends on {when}.\n\n\
             To keep your domains and inboxes running without a break, choose a plan before \
             then:\n\n{billing}\n\n\
             If you have any questions, just reply to this email.\n\n\
             The InboxGrove team\n"
        ),
        tenant_id: Some(reminder.tenant_id),
        idempotency_key: Some(reminder.key()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use uuid::Uuid;

    fn reminder() -> TrialReminder {
        TrialReminder {
            tenant_id: TenantId(Uuid::from_u128(7)),
            trial_end: Utc.with_ymd_and_hms(2026, 11, 24, 14, 30, 0).unwrap(),
        }
    }

    #[test]
    fn the_reminder_names_the_end_date_and_links_to_billing() {
        let to = EmailAddress::parse("owner@acme.io").unwrap();
        let mail = reminder_mail(
            &reminder(),
            to,
            "Acme Outreach",
            "https://app.inboxgrove.com/",
        );
        assert_eq!(mail.subject, "Your InboxGrove trial ends tomorrow");
        assert_eq!(mail.to.as_str(), "owner@acme.io");
        assert!(mail.body.contains("Acme Outreach"));
        assert!(
            mail.body.contains("Tuesday 24 November 2026 at 14:30 UTC"),
            "{}",
            mail.body
        );
        assert!(mail.body.contains("https://app.inboxgrove.com/billing\n"));
        assert_eq!(mail.idempotency_key, Some(reminder().key()));
    }

    #[test]
    fn the_key_is_per_tenant_and_trial_end() {
        let a = reminder();
        let mut later = reminder();
        later.trial_end += Duration::days(7);
        let mut other = reminder();
        other.tenant_id = TenantId(Uuid::from_u128(8));
        assert_eq!(a.key(), reminder().key());
        assert_ne!(a.key(), later.key());
        assert_ne!(a.key(), other.key());
    }

    #[test]
    fn a_refused_address_fails_the_job_but_an_outage_retries_it() {
        assert!(matches!(
            TrialReminderError::Mail(MailError::Rejected("550".into())).into_job_error(),
            JobError::Fatal(_)
        ));
        assert!(matches!(
            TrialReminderError::Mail(MailError::Unavailable(anyhow::anyhow!("refused")))
                .into_job_error(),
            JobError::Retry(_)
        ));
        assert!(matches!(
            TrialReminderError::NoOwner.into_job_error(),
            JobError::Fatal(_)
        ));
    }
}
