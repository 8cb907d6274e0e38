//! The only place SQL lives, one file per aggregate.

pub mod accounts;
pub mod admin;
pub mod audit;
pub mod auth_failures;
pub mod billing;
pub mod delivery;
pub mod domains;
pub mod inboxes;
pub mod jobs;
pub mod login_codes;
pub mod mail;
pub mod suspensions;
pub mod tenants;
pub mod trials;

/// The name of the constraint a database error violated, if any.
pub fn violated_constraint(e: &sqlx::Error) -> Option<&str> {
    match e {
        sqlx::Error::Database(db) => db.constraint(),
        _ => None,
    }
}

/// One round trip to the database, for readiness checks.
pub async fn ping(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    sqlx::query("SELECT 1").execute(pool).await.map(drop)
}
