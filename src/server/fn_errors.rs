//! Service errors turned into `AppError`s for server functions (with the cause logged, never
//! sent). Their HTTP status is set in one place, `server_fn_errors` in `http::middleware::door`.

pub use crate::error::internal;
use crate::error::{AppError, FieldError};
use crate::server::services::accounts::{AccountError, LoginError, SignupError};

impl From<SignupError> for AppError {
    fn from(e: SignupError) -> Self {
        match e {
            SignupError::Invalid(errors) => AppError::Invalid(errors),
            SignupError::Throttled(secs) => AppError::RateLimited {
                retry_after_secs: secs,
            },
            SignupError::Unexpected(e) => internal(e),
        }
    }
}

/// What a page with a mailed link says when the link does not work.
pub const LINK_EXPIRED: &str = "This link has expired or was already used. Ask for a new one.";

impl From<AccountError> for AppError {
    fn from(e: AccountError) -> Self {
        match e {
            AccountError::Expired => {
                AppError::Invalid(vec![FieldError::new("token", LINK_EXPIRED)])
            }
            AccountError::NotFound => AppError::NotFound,
            AccountError::SignedOut => AppError::Unauthorized,
            AccountError::Refused(message) => AppError::Forbidden(message),
            AccountError::Conflict(field) => AppError::Conflict(field),
            AccountError::Invalid(errors) => AppError::Invalid(errors),
            AccountError::Throttled(secs) => AppError::RateLimited {
                retry_after_secs: secs,
            },
            AccountError::Unexpected(e) => internal(e),
        }
    }
}

/// What the login form says when the email's failure bound is full.
pub const LOGIN_CODE_REQUIRED: &str = "Too many failed sign-ins for this email: we emailed \
    you a one-time code. Enter it with your password.";

impl From<LoginError> for AppError {
    fn from(e: LoginError) -> Self {
        match e {
            LoginError::InvalidCredentials => AppError::InvalidCredentials,
            LoginError::CodeRequired => {
                AppError::Invalid(vec![FieldError::new("code", LOGIN_CODE_REQUIRED)])
            }
            LoginError::CodeRejected => AppError::Invalid(vec![FieldError::new(
                "code",
                "The password or the code is wrong, or the code has expired. If it expired, \
                 a new one is on its way.",
            )]),
            LoginError::Throttled(secs) => AppError::RateLimited {
                retry_after_secs: secs,
            },
            LoginError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::billing::BillingError> for AppError {
    fn from(e: crate::server::services::billing::BillingError) -> Self {
        use crate::server::providers::payments::PaymentsError;
        use crate::server::services::billing::BillingError;
        match e {
            BillingError::UnknownPlan(_) => {
                AppError::Invalid(vec![FieldError::new("plan", e.to_string())])
            }
            BillingError::Refused(message) => AppError::Conflict(FieldError::new("plan", message)),
            BillingError::NotManager => AppError::Forbidden(e.to_string()),
            BillingError::NotFound => AppError::NotFound,
            BillingError::Invalid(field, message) => {
                AppError::Invalid(vec![FieldError::new(field, message)])
            }
            BillingError::Provider(PaymentsError::Rejected { message, .. }) => {
                AppError::Upstream(format!("Stripe refused the request: {message}"))
            }
            BillingError::Provider(PaymentsError::RateLimited | PaymentsError::Unavailable(_)) => {
                AppError::Upstream(
                    "Payments are unavailable right now. Please try again in a minute.".into(),
                )
            }
            BillingError::Provider(PaymentsError::Unexpected(e)) | BillingError::Unexpected(e) => {
                internal(e)
            }
        }
    }
}

impl From<crate::server::services::domains::DomainError> for AppError {
    fn from(e: crate::server::services::domains::DomainError) -> Self {
        use crate::server::services::domains::DomainError;
        match e {
            DomainError::Invalid(message) => {
                AppError::Invalid(vec![FieldError::new("name", message)])
            }
            DomainError::NotManager => AppError::Forbidden(e.to_string()),
            DomainError::NotFound => AppError::NotFound,
            DomainError::Refused(message) => AppError::Conflict(FieldError::new("name", message)),
            DomainError::Limit(limit) => {
                AppError::Conflict(FieldError::new("name", limit.to_string()))
            }
            DomainError::Registrar(_) | DomainError::Dns(_) | DomainError::Lookup(_) => {
                tracing::warn!(error = ?e, "domain provider call failed");
                AppError::Upstream(e.to_string())
            }
            DomainError::Billing(e) => e.into(),
            DomainError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::inboxes::InboxError> for AppError {
    fn from(e: crate::server::services::inboxes::InboxError) -> Self {
        use crate::server::services::inboxes::InboxError;
        match e {
            InboxError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|(field, message)| FieldError::new(field, message))
                    .collect(),
            ),
            InboxError::NotManager => AppError::Forbidden(e.to_string()),
            InboxError::NotFound => AppError::NotFound,
            InboxError::Refused(message) => AppError::Conflict(FieldError::new("inboxes", message)),
            InboxError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::suspensions::SuspensionError> for AppError {
    fn from(e: crate::server::services::suspensions::SuspensionError) -> Self {
        use crate::server::services::suspensions::SuspensionError;
        match e {
            SuspensionError::Invalid(message) => {
                AppError::Invalid(vec![FieldError::new("reason", message)])
            }
            SuspensionError::NotFound => AppError::NotFound,
            SuspensionError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::admin::AdminError> for AppError {
    fn from(e: crate::server::services::admin::AdminError) -> Self {
        use crate::server::services::admin::AdminError;
        match e {
            AdminError::Invalid(field, message) => {
                AppError::Invalid(vec![FieldError::new(field, message)])
            }
            AdminError::NotFound => AppError::NotFound,
            AdminError::Refused(message) => AppError::Conflict(FieldError::new("action", message)),
            AdminError::Upstream(message) => AppError::Upstream(message),
            AdminError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::deliverability::DeliverabilityError> for AppError {
    fn from(e: crate::server::services::deliverability::DeliverabilityError) -> Self {
        use crate::server::services::deliverability::DeliverabilityError;
        match e {
            DeliverabilityError::NotFound => AppError::NotFound,
            DeliverabilityError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::deliverability::blocklists::BlocklistError> for AppError {
    fn from(e: crate::server::services::deliverability::blocklists::BlocklistError) -> Self {
        use crate::server::services::deliverability::blocklists::BlocklistError;
        match e {
            BlocklistError::NotFound => AppError::NotFound,
            BlocklistError::NotActive => {
                AppError::Conflict(FieldError::new("domain", e.to_string()))
            }
            BlocklistError::Unexpected(e) => internal(e),
        }
    }
}

impl From<crate::server::services::integrations::IntegrationError> for AppError {
    fn from(e: crate::server::services::integrations::IntegrationError) -> Self {
        use crate::server::services::integrations::IntegrationError;
        match e {
            IntegrationError::Invalid(errors) => AppError::Invalid(
                errors
                    .into_iter()
                    .map(|(field, message)| FieldError::new(field, message))
                    .collect(),
            ),
            IntegrationError::Forbidden(message) => AppError::Forbidden(message),
            IntegrationError::NotFound => AppError::NotFound,
            IntegrationError::Upstream(message) => AppError::Upstream(message),
            IntegrationError::Unexpected(e) => internal(e),
        }
    }
}
