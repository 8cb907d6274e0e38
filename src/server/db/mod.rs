//! The only place SQL lives, one file per aggregate.

pub mod accounts;
pub mod auth_failures;
pub mod tenants;

/// The name of the constraint a database error violated, if any.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}
