//! The database boundary's one error type. Every `db` function returns [`Result`]; a refused
//! write arrives as [`Error::Conflict`] naming the [`Constraint`], mapped here and nowhere
//! else, so no caller ever searches an error's text for a constraint name.

use std::borrow::Cow;

/// A constraint the code reacts to by name. Names are the ones in `migrations/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Constraint {
    /// `users_email_key`: an account with this email exists.
    UsersEmail,
    /// `domains_live_name_key`: another live domain (any tenant's) has this name.
    DomainsLiveName,
    /// `inboxes_live_address_key`: another live inbox has this address.
    InboxesLiveAddress,
    /// Any other constraint, by its name.
    Other(String),
}

impl Constraint {
    fn from_name(name: &str) -> Self {
        match name {
            "users_email_key" => Self::UsersEmail,
            "domains_live_name_key" => Self::DomainsLiveName,
            "inboxes_live_address_key" => Self::InboxesLiveAddress,
            other => Self::Other(other.to_owned()),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A constraint refused the write. Shows the step; the source names the constraint.
    #[error("{context}")]
    Conflict {
        constraint: Constraint,
        context: Cow<'static, str>,
        #[source]
        source: sqlx::Error,
    },
    /// Any other failure of a query (connection, decoding, SQL).
    #[error("{context}")]
    Query {
        context: Cow<'static, str>,
        #[source]
        source: sqlx::Error,
    },
    /// A stored value this code cannot read (e.g. a role it does not know).
    #[error("{0}")]
    Corrupt(String),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The one place a `sqlx::Error` becomes a typed error.
    fn classify(source: sqlx::Error, context: Cow<'static, str>) -> Self {
        let constraint = match &source {
            sqlx::Error::Database(e) => e.constraint().map(Constraint::from_name),
            _ => None,
        };
        match constraint {
            Some(constraint) => Self::Conflict {
                constraint,
                context,
                source,
            },
            None => Self::Query { context, source },
        }
    }

    /// The constraint this error violated, if it is a refused write.
    pub fn constraint(&self) -> Option<&Constraint> {
        match self {
            Self::Conflict { constraint, .. } => Some(constraint),
            _ => None,
        }
    }

    /// True when `constraint` refused the write.
    pub fn violated(&self, constraint: &Constraint) -> bool {
        self.constraint() == Some(constraint)
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        Self::classify(e, Cow::Borrowed("database query"))
    }
}

/// `.context("…")` on a sqlx result, as `anyhow::Context` reads, into a typed [`Error`].
pub trait Context<T> {
    fn context(self, context: &'static str) -> Result<T>;
    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T>;
}

impl<T> Context<T> for std::result::Result<T, sqlx::Error> {
    fn context(self, context: &'static str) -> Result<T> {
        self.map_err(|e| Error::classify(e, Cow::Borrowed(context)))
    }

    fn with_context<F: FnOnce() -> String>(self, f: F) -> Result<T> {
        self.map_err(|e| Error::classify(e, Cow::Owned(f())))
    }
}

/// `impl From<db::Error> for $error`, into its `Unexpected(anyhow::Error)` variant: how a service
/// error carries a database failure it has no case for (the cause chain is kept for the log).
macro_rules! unexpected_from_db {
    ($error:ty) => {
        impl From<$crate::server::db::Error> for $error {
            fn from(e: $crate::server::db::Error) -> Self {
                Self::Unexpected(e.into())
            }
        }
    };
}
pub(crate) use unexpected_from_db;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_known_constraint_name_maps_to_its_variant_and_others_keep_their_name() {
        assert_eq!(
            Constraint::from_name("inboxes_live_address_key"),
            Constraint::InboxesLiveAddress
        );
        assert_eq!(
            Constraint::from_name("jobs_dedupe_key"),
            Constraint::Other("jobs_dedupe_key".into())
        );
    }

    #[test]
    fn an_error_without_a_constraint_is_a_query_error_showing_its_step() {
        let e: Result<()> = Err(sqlx::Error::RowNotFound).context("loading a job");
        let e = e.unwrap_err();
        assert!(e.constraint().is_none());
        assert_eq!(e.to_string(), "loading a job");
    }
}
