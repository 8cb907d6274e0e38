//! `AppError`: the one error type that crosses the wire. Users get a short message and the
//! right status code; internal causes are logged on the server and never leave it.

use serde::{Deserialize, Serialize};
use server_fn::codec::JsonEncoding;
use server_fn::error::{FromServerFnError, ServerFnErrorErr};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &str, message: impl Into<String>) -> Self {
        Self {
            field: field.to_string(),
            message: message.into(),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum AppError {
    /// One or more inputs are invalid (422).
    #[error("Please correct the highlighted fields.")]
    Invalid(Vec<FieldError>),
    /// The input conflicts with existing data, e.g. an email already registered (409).
    #[error("{}", .0.message)]
    Conflict(FieldError),
    /// Wrong email or password; deliberately one message for both (401).
    #[error("Email or password is incorrect.")]
    InvalidCredentials,
    /// Not signed in, or the session has ended (401).
    #[error("Please sign in to continue.")]
    Unauthorized,
    /// Signed in but not allowed (403).
    #[error("{0}")]
    Forbidden(String),
    /// Not found, or not yours (404).
    #[error("Not found.")]
    NotFound,
    /// Too many attempts (429); the client should wait `retry_after_secs`.
    #[error("Too many attempts. Try again in {}.", wait_label(*.retry_after_secs))]
    RateLimited { retry_after_secs: u64 },
    /// Something failed on our side (500). The cause is in the server log.
    #[error("Something went wrong on our side. Please try again.")]
    Internal,
    /// A provider (Stripe, registrar, …) refused or failed; the message says what to do (502).
    #[error("{0}")]
    Upstream(String),
    /// The request could not be sent or understood (transport, encoding).
    #[error("Could not reach InboxGrove: {0}")]
    Transport(String),
}

fn wait_label(secs: u64) -> String {
    if secs <= 60 {
        format!("{secs} seconds")
    } else {
        format!("{} minutes", secs.div_ceil(60))
    }
}

impl AppError {
    pub fn status_code(&self) -> u16 {
        match self {
            AppError::Invalid(_) => 422,
            AppError::Conflict(_) => 409,
            AppError::InvalidCredentials | AppError::Unauthorized => 401,
            AppError::Forbidden(_) => 403,
            AppError::NotFound => 404,
            AppError::RateLimited { .. } => 429,
            AppError::Internal => 500,
            AppError::Upstream(_) => 502,
            AppError::Transport(_) => 400,
        }
    }

    /// The message to show next to `field`, if this error is about it.
    pub fn field_message(&self, field: &str) -> Option<String> {
        match self {
            AppError::Invalid(errors) => errors
                .iter()
                .find(|e| e.field == field)
                .map(|e| e.message.clone()),
            AppError::Conflict(e) if e.field == field => Some(e.message.clone()),
            _ => None,
        }
    }

    /// A message for the top of a form when the error is not about one field.
    pub fn form_message(&self) -> Option<String> {
        match self {
            AppError::Invalid(_) | AppError::Conflict(_) => None,
            other => Some(other.to_string()),
        }
    }
}

impl FromServerFnError for AppError {
    type Encoder = JsonEncoding;

    fn from_server_fn_error(value: ServerFnErrorErr) -> Self {
        match value {
            ServerFnErrorErr::Request(e) | ServerFnErrorErr::Response(e) => AppError::Transport(e),
            ServerFnErrorErr::Args(e)
            | ServerFnErrorErr::Deserialization(e)
            | ServerFnErrorErr::Serialization(e) => AppError::Transport(e),
            ServerFnErrorErr::MissingArg(e) => {
                AppError::Invalid(vec![FieldError::new(&e, "This field is required.")])
            }
            other => AppError::Transport(other.to_string()),
        }
    }
}

/// Logs the whole cause chain and returns the opaque `Internal` error: the one way an
/// unexpected server-side failure becomes an `AppError` (the guard and the server functions).
#[cfg(feature = "ssr")]
pub fn internal(e: impl Into<anyhow::Error>) -> AppError {
    let e = e.into();
    tracing::error!(error = ?e, "unexpected error");
    AppError::Internal
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_maps_to_its_status_code() {
        assert_eq!(AppError::Invalid(vec![]).status_code(), 422);
        assert_eq!(
            AppError::Conflict(FieldError::new("email", "x")).status_code(),
            409
        );
        assert_eq!(AppError::InvalidCredentials.status_code(), 401);
        assert_eq!(AppError::Forbidden("no".into()).status_code(), 403);
        assert_eq!(
            AppError::RateLimited {
                retry_after_secs: 5
            }
            .status_code(),
            429
        );
        assert_eq!(AppError::Internal.status_code(), 500);
    }

    #[test]
    fn a_field_message_is_found_only_for_its_field() {
        let e = AppError::Invalid(vec![FieldError::new("email", "bad email")]);
        assert_eq!(e.field_message("email").as_deref(), Some("bad email"));
        assert_eq!(e.field_message("password"), None);
        assert_eq!(e.form_message(), None);
    }

    #[test]
    fn rate_limit_message_says_how_long_to_wait() {
        let e = AppError::RateLimited {
            retry_after_secs: 600,
        };
        assert_eq!(e.to_string(), "Too many attempts. Try again in 10 minutes.");
    }
}
