//! The sandbox DNS provider: the default without Cloudflare credentials. Zones and records
//! live in Postgres (`sandbox_dns_*`) and are served by the app's local authoritative
//! listener (`dns::authority`), so the same checker that asks real DNS in production asks
//! real DNS here too. It is also the `ZoneSource` for that listener.

use anyhow::Context;
use async_trait::async_trait;
use sqlx::PgPool;

use super::{DnsError, DnsProvider, DnsRecord, RecordType, Zone};
use crate::server::dns::authority::ZoneSource;

pub struct SandboxDns {
    pool: PgPool,
    nameservers: Vec<String>,
    /// Blocklist zones it answers for as the list would: (zone, the answer meaning listed).
    blocklists: Vec<(String, String)>,
}

impl SandboxDns {
    pub fn new(pool: PgPool, nameservers: Vec<String>) -> Self {
        Self {
            pool,
            nameservers,
            blocklists: Vec::new(),
        }
    }

    /// Also answer for these blocklist zones (zone, listed answer): a name with a label
    /// containing `blocklisted` is listed, any other is not (NXDOMAIN), and records stored in
    /// the sandbox tables under the zone are served as they are (tests list names that way).
    pub fn with_blocklists(mut self, lists: Vec<(String, String)>) -> Self {
        self.blocklists = lists
            .into_iter()
            .map(|(z, a)| (z.trim_end_matches('.').to_ascii_lowercase(), a))
            .collect();
        self
    }

    /// The blocklist zone `name` is at or below, and its listed answer.
    fn blocklist_of(&self, name: &str) -> Option<(&str, &str)> {
        self.blocklists
            .iter()
            .find(|(z, _)| name == z || name.ends_with(&format!(".{z}")))
            .map(|(z, a)| (z.as_str(), a.as_str()))
    }

    /// The made-up listing of a name under a blocklist zone.
    fn made_up(&self, name: &str) -> Option<DnsRecord> {
        let (zone, answer) = self.blocklist_of(name)?;
        let subject = name.strip_suffix(zone)?.trim_end_matches('.');
        subject.contains("blocklisted").then(|| DnsRecord {
            id: None,
            kind: RecordType::A,
            name: name.to_string(),
            content: answer.to_string(),
            priority: None,
            ttl: 60,
        })
    }
}

fn kind_of(s: &str) -> Option<RecordType> {
    match s {
        "A" => Some(RecordType::A),
        "CNAME" => Some(RecordType::Cname),
        "MX" => Some(RecordType::Mx),
        "TXT" => Some(RecordType::Txt),
        _ => None,
    }
}

#[derive(sqlx::FromRow)]
struct RecordRow {
    id: String,
    kind: String,
    name: String,
    content: String,
    priority: Option<i32>,
    ttl: i32,
}

impl RecordRow {
    fn into_record(self) -> Option<DnsRecord> {
        Some(DnsRecord {
            id: Some(self.id),
            kind: kind_of(&self.kind)?,
            name: self.name,
            content: self.content,
            priority: self.priority.map(|p| p as u16),
            ttl: self.ttl as u32,
        })
    }
}

#[derive(sqlx::FromRow)]
struct ZoneRow {
    id: String,
    name: String,
    nameservers: Vec<String>,
    status: String,
}

impl From<ZoneRow> for Zone {
    fn from(z: ZoneRow) -> Self {
        Zone {
            id: z.id,
            name: z.name,
            nameservers: z.nameservers,
            status: z.status,
        }
    }
}

/// The leading tag of a TXT value (`v=spf1`, `v=DMARC1`, `v=DKIM1`), which identifies the
/// record an upsert replaces.
fn txt_tag(content: &str) -> Option<&str> {
    let first = content.split([';', ' ']).next()?.trim();
    first.starts_with("v=").then_some(first)
}

/// Does `existing` stand for the same record as `wanted` (so an upsert updates it)?
fn same_slot(existing: &DnsRecord, wanted: &DnsRecord) -> bool {
    if existing.kind != wanted.kind || !existing.name.eq_ignore_ascii_case(&wanted.name) {
        return false;
    }
    match wanted.kind {
        RecordType::Mx => existing.priority == wanted.priority,
        RecordType::Txt => match (txt_tag(&existing.content), txt_tag(&wanted.content)) {
            (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
            _ => existing.content == wanted.content,
        },
        RecordType::A | RecordType::Cname => true,
    }
}

#[async_trait]
impl DnsProvider for SandboxDns {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn create_zone(&self, name: &str) -> Result<Zone, DnsError> {
        let name = name.to_ascii_lowercase();
        sqlx::query(
            "INSERT INTO sandbox_dns_zones (id, name, nameservers) VALUES ($1, $2, $3)
             ON CONFLICT (name) DO NOTHING",
        )
        .bind(format!("zone-{}", uuid::Uuid::new_v4().simple()))
        .bind(&name)
        .bind(&self.nameservers)
        .execute(&self.pool)
        .await
        .context("creating the sandbox zone")?;
        self.find_zone(&name)
            .await?
            .ok_or_else(|| DnsError::Unexpected(anyhow::anyhow!("zone {name} vanished")))
    }

    async fn find_zone(&self, name: &str) -> Result<Option<Zone>, DnsError> {
        let row: Option<ZoneRow> = sqlx::query_as(
            "SELECT id, name, nameservers, status FROM sandbox_dns_zones WHERE name = $1",
        )
        .bind(name.to_ascii_lowercase())
        .fetch_optional(&self.pool)
        .await
        .context("finding the sandbox zone")?;
        Ok(row.map(Into::into))
    }

    async fn list_records(&self, zone_id: &str) -> Result<Vec<DnsRecord>, DnsError> {
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT id, kind, name, content, priority, ttl FROM sandbox_dns_records
              WHERE zone_id = $1 ORDER BY name, kind, priority, id",
        )
        .bind(zone_id)
        .fetch_all(&self.pool)
        .await
        .context("listing sandbox records")?;
        Ok(rows
            .into_iter()
            .filter_map(RecordRow::into_record)
            .collect())
    }

    async fn upsert_record(
        &self,
        zone_id: &str,
        record: &DnsRecord,
    ) -> Result<DnsRecord, DnsError> {
        let mut tx = self.pool.begin().await.context("starting")?;
        let zone: Option<String> =
            sqlx::query_scalar("SELECT name FROM sandbox_dns_zones WHERE id = $1 FOR UPDATE")
                .bind(zone_id)
                .fetch_optional(&mut *tx)
                .await
                .context("locking the sandbox zone")?;
        let Some(zone) = zone else {
            return Err(DnsError::Refused {
                code: Some(7003),
                message: format!("No zone {zone_id}"),
            });
        };
        let name = record.name.to_ascii_lowercase();
        if name != zone && !name.ends_with(&format!(".{zone}")) {
            return Err(DnsError::Refused {
                code: Some(9007),
                message: format!("{name} is not in zone {zone}"),
            });
        }
        let existing: Vec<RecordRow> = sqlx::query_as(
            "SELECT id, kind, name, content, priority, ttl FROM sandbox_dns_records
              WHERE zone_id = $1 AND name = $2 AND kind = $3",
        )
        .bind(zone_id)
        .bind(&name)
        .bind(record.kind.as_str())
        .fetch_all(&mut *tx)
        .await
        .context("reading sandbox records")?;
        let slot = existing
            .into_iter()
            .filter_map(RecordRow::into_record)
            .find(|e| same_slot(e, record));
        let id = match slot {
            Some(e) => {
                let id = e.id.expect("stored records have ids");
                sqlx::query("UPDATE sandbox_dns_records SET content = $2, priority = $3, ttl = $4 WHERE id = $1")
                    .bind(&id)
                    .bind(&record.content)
                    .bind(record.priority.map(i32::from))
                    .bind(record.ttl as i32)
                    .execute(&mut *tx)
                    .await
                    .context("updating the sandbox record")?;
                id
            }
            None => {
                let id = format!("rec-{}", uuid::Uuid::new_v4().simple());
                sqlx::query(
                    "INSERT INTO sandbox_dns_records (id, zone_id, kind, name, content, priority, ttl)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(&id)
                .bind(zone_id)
                .bind(record.kind.as_str())
                .bind(&name)
                .bind(&record.content)
                .bind(record.priority.map(i32::from))
                .bind(record.ttl as i32)
                .execute(&mut *tx)
                .await
                .context("creating the sandbox record")?;
                id
            }
        };
        tx.commit().await.context("committing")?;
        Ok(DnsRecord {
            id: Some(id),
            name,
            ..record.clone()
        })
    }

    async fn delete_record(&self, zone_id: &str, record_id: &str) -> Result<(), DnsError> {
        sqlx::query("DELETE FROM sandbox_dns_records WHERE zone_id = $1 AND id = $2")
            .bind(zone_id)
            .bind(record_id)
            .execute(&self.pool)
            .await
            .context("deleting the sandbox record")?;
        Ok(())
    }
}

#[async_trait]
impl ZoneSource for SandboxDns {
    async fn is_authoritative(&self, name: &str) -> anyhow::Result<bool> {
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if self.blocklist_of(&name).is_some() {
            return Ok(true);
        }
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sandbox_dns_zones
                             WHERE $1 = name OR $1 LIKE '%.' || name)",
        )
        .bind(&name)
        .fetch_one(&self.pool)
        .await
        .context("looking up sandbox zones")
    }

    async fn records(&self, name: &str, kind: RecordType) -> anyhow::Result<Vec<DnsRecord>> {
        let rows: Vec<RecordRow> = sqlx::query_as(
            "SELECT id, kind, name, content, priority, ttl FROM sandbox_dns_records
              WHERE name = $1 AND kind = $2 ORDER BY priority, id",
        )
        .bind(name.trim_end_matches('.').to_ascii_lowercase())
        .bind(kind.as_str())
        .fetch_all(&self.pool)
        .await
        .context("reading sandbox records")?;
        let mut records: Vec<DnsRecord> = rows
            .into_iter()
            .filter_map(RecordRow::into_record)
            .collect();
        if kind == RecordType::A && records.is_empty() {
            records.extend(self.made_up(&name.trim_end_matches('.').to_ascii_lowercase()));
        }
        Ok(records)
    }

    async fn name_exists(&self, name: &str) -> anyhow::Result<bool> {
        // Empty non-terminals (`_domainkey.example.com`) exist when a name below them does.
        let name = name.trim_end_matches('.').to_ascii_lowercase();
        if self.made_up(&name).is_some() {
            return Ok(true);
        }
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM sandbox_dns_records WHERE name = $1 OR name LIKE '%.' || $1)",
        )
        .bind(&name)
        .fetch_one(&self.pool)
        .await
        .context("looking up sandbox names")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn txt(name: &str, content: &str) -> DnsRecord {
        DnsRecord {
            id: None,
            kind: RecordType::Txt,
            name: name.into(),
            content: content.into(),
            priority: None,
            ttl: 300,
        }
    }

    #[test]
    fn a_txt_record_is_replaced_by_one_with_the_same_tag() {
        assert!(same_slot(
            &txt("a.com", "v=spf1 include:x -all"),
            &txt("a.com", "v=spf1 -all")
        ));
        assert!(!same_slot(
            &txt("a.com", "v=spf1 -all"),
            &txt("a.com", "v=DMARC1; p=none")
        ));
        assert!(!same_slot(
            &txt("a.com", "google-site-verification=1"),
            &txt("a.com", "v=spf1 -all")
        ));
    }

    #[test]
    fn mx_records_are_matched_by_priority() {
        let mx = |p| DnsRecord {
            id: None,
            kind: RecordType::Mx,
            name: "a.com".into(),
            content: "mx.x".into(),
            priority: Some(p),
            ttl: 300,
        };
        assert!(same_slot(&mx(10), &mx(10)));
        assert!(!same_slot(&mx(10), &mx(20)));
    }
}
