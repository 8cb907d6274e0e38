//! The sandbox registrar: the default without Namecheap credentials. Stateful in Postgres
//! (`sandbox_registrar_domains` is "our registrar account"): a registered name is no longer
//! available, prices come per TLD from settings, some names are reserved as taken, and any
//! name containing `fail-register` is refused at registration so the saga's compensation
//! (refund) can be seen in the demo and tested; likewise `fail-renew` is refused at renewal.

use anyhow::Context;
use async_trait::async_trait;
use chrono::{Duration, Utc};
use sqlx::PgPool;

use super::{
    Availability, DomainInfo, RegisterRequest, Registrar, RegistrarError, Registration, Renewal,
};
use crate::domain::Cents;

pub use crate::server::config::providers::SandboxRegistrarSettings;

pub const FAIL_MARKER: &str = "fail-register";
pub const FAIL_RENEW_MARKER: &str = "fail-renew";

pub struct SandboxRegistrar {
    pool: PgPool,
    settings: SandboxRegistrarSettings,
}

impl SandboxRegistrar {
    pub fn new(pool: PgPool, settings: SandboxRegistrarSettings) -> Self {
        Self { pool, settings }
    }

    fn tld_price(&self, name: &str) -> Option<i64> {
        let tld = name.split_once('.').map(|(_, t)| t)?;
        self.settings.prices.get(tld).copied()
    }

    fn taken_elsewhere(&self, name: &str) -> bool {
        self.settings
            .taken
            .iter()
            .any(|t| t.eq_ignore_ascii_case(name))
    }
}

#[derive(sqlx::FromRow)]
struct Row {
    name: String,
    nameservers: Vec<String>,
    expires: chrono::DateTime<Utc>,
}

impl From<Row> for DomainInfo {
    fn from(r: Row) -> Self {
        DomainInfo {
            name: r.name,
            expires: Some(r.expires),
            nameservers: r.nameservers,
            ours: true,
        }
    }
}

#[async_trait]
impl Registrar for SandboxRegistrar {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn check(&self, names: &[String]) -> Result<Vec<Availability>, RegistrarError> {
        if names.len() > 50 {
            return Err(RegistrarError::Refused {
                code: Some("2011169".into()),
                message: "Only 50 domains allowed in a single check command".into(),
            });
        }
        let lower: Vec<String> = names.iter().map(|n| n.to_ascii_lowercase()).collect();
        let ours: Vec<String> =
            sqlx::query_scalar("SELECT name FROM sandbox_registrar_domains WHERE name = ANY($1)")
                .bind(&lower)
                .fetch_all(&self.pool)
                .await
                .context("checking the sandbox registry")?;
        Ok(lower
            .into_iter()
            .map(|name| {
                let price = self.tld_price(&name);
                let available =
                    price.is_some() && !ours.contains(&name) && !self.taken_elsewhere(&name);
                Availability {
                    available,
                    premium: false,
                    cost_cents: price.map(Cents),
                    currency: self.settings.currency.clone(),
                    name,
                }
            })
            .collect())
    }

    async fn register(&self, r: &RegisterRequest) -> Result<Registration, RegistrarError> {
        let name = r.name.to_ascii_lowercase();
        if name.contains(FAIL_MARKER) {
            return Err(RegistrarError::Refused {
                code: Some("3028166".into()),
                message: format!("{name} could not be registered: the registry refused it"),
            });
        }
        let Some(price) = self.tld_price(&name) else {
            return Err(RegistrarError::Refused {
                code: Some("2030280".into()),
                message: format!("The extension of {name} is not supported"),
            });
        };
        if self.taken_elsewhere(&name) {
            return Err(RegistrarError::Refused {
                code: Some("2030166".into()),
                message: format!("{name} is already registered"),
            });
        }
        let id = format!("sbx-{}", uuid::Uuid::new_v4().simple());
        let inserted = sqlx::query(
            "INSERT INTO sandbox_registrar_domains (name, registrar_id, years, contact, nameservers, charged, expires)
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (name) DO NOTHING",
        )
        .bind(&name)
        .bind(&id)
        .bind(r.years as i32)
        .bind(serde_json::json!({
            "first_name": r.contact.first_name, "last_name": r.contact.last_name,
            "organization": r.contact.organization, "email": r.contact.email,
            "country": r.contact.country,
        }))
        .bind(&r.nameservers)
        .bind(price * r.years as i64)
        .bind(Utc::now() + Duration::days(365 * r.years as i64))
        .execute(&self.pool)
        .await
        .context("registering in the sandbox")?;
        if inserted.rows_affected() == 0 {
            // Registered already (by us, or someone was faster): the registry says taken.
            return Err(RegistrarError::Refused {
                code: Some("2030166".into()),
                message: format!("{name} is already registered"),
            });
        }
        Ok(Registration {
            name,
            registrar_id: id,
            charged_cents: Some(Cents(price * r.years as i64)),
        })
    }

    async fn set_nameservers(
        &self,
        name: &str,
        nameservers: &[String],
    ) -> Result<(), RegistrarError> {
        let done =
            sqlx::query("UPDATE sandbox_registrar_domains SET nameservers = $2 WHERE name = $1")
                .bind(name.to_ascii_lowercase())
                .bind(nameservers)
                .execute(&self.pool)
                .await
                .context("setting sandbox nameservers")?;
        if done.rows_affected() == 0 {
            return Err(RegistrarError::Refused {
                code: Some("2019166".into()),
                message: format!("Domain {name} not found in this account"),
            });
        }
        Ok(())
    }

    async fn renew(&self, name: &str, years: u32) -> Result<Renewal, RegistrarError> {
        let name = name.to_ascii_lowercase();
        if name.contains(FAIL_RENEW_MARKER) {
            return Err(RegistrarError::Refused {
                code: Some("2020166".into()),
                message: format!("{name} could not be renewed: the registry refused it"),
            });
        }
        if !(1..=10).contains(&years) {
            return Err(RegistrarError::Refused {
                code: Some("2011170".into()),
                message: "A renewal lasts 1 to 10 years".into(),
            });
        }
        let price = self.tld_price(&name).unwrap_or(0) * i64::from(years);
        // Like a registry: the new term runs on from the old expiry, not from today.
        let expires: Option<chrono::DateTime<Utc>> = sqlx::query_scalar(
            "UPDATE sandbox_registrar_domains
                SET expires = expires + make_interval(days => 365 * $2), years = years + $2,
                    charged = coalesce(charged, 0) + $3
              WHERE name = $1 RETURNING expires",
        )
        .bind(&name)
        .bind(years as i32)
        .bind(price)
        .fetch_optional(&self.pool)
        .await
        .context("renewing in the sandbox")?;
        match expires {
            Some(expires) => Ok(Renewal {
                name,
                expires: Some(expires),
                charged_cents: Some(Cents(price)),
            }),
            None => Err(RegistrarError::Refused {
                code: Some("2019166".into()),
                message: format!("Domain {name} not found in this account"),
            }),
        }
    }

    async fn info(&self, name: &str) -> Result<Option<DomainInfo>, RegistrarError> {
        let row: Option<Row> = sqlx::query_as(
            "SELECT name, nameservers, expires FROM sandbox_registrar_domains WHERE name = $1",
        )
        .bind(name.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await
        .context("reading the sandbox registry")?;
        Ok(row.map(Into::into))
    }

    async fn list(&self) -> Result<Vec<DomainInfo>, RegistrarError> {
        let rows: Vec<Row> = sqlx::query_as(
            "SELECT name, nameservers, expires FROM sandbox_registrar_domains ORDER BY name",
        )
        .fetch_all(&self.pool)
        .await
        .context("listing the sandbox registry")?;
        Ok(rows.into_iter().map(Into::into).collect())
    }
}
