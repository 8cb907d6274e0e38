//! "Take your data out": the owner asks, a durable job builds one zip archive (a JSON file per
//! entity: workspace, members, domains and their records, inboxes, subscription, invoices,
//! ledger, audit trail; inbox credentials only in their own file, and only when asked for),
//! and mails a download link that expires. Every request and download is audited.

use std::io::Write;
use uuid::Uuid;

use crate::domain::inboxes::ExportFormat;
use crate::domain::{EmailAddress, TenantId, UserId};
use crate::server::auth::{TenantCtx, tenant_tx};
use crate::server::crypto;
use crate::server::db::audit::{Actor, Change, TeamAction};
use crate::server::db::{self};
use crate::server::jobs::{Job, JobError, NewJob};
use crate::server::providers::mail::OutgoingMail;
use crate::server::services::accounts::{AccountError, link};
use crate::server::state::AppState;

pub const EXPORT_KIND: &str = "workspace_export";
/// How long the download link works.
const LINK_TTL_SECS: i64 = 48 * 3600;

#[derive(serde::Serialize, serde::Deserialize)]
struct Payload {
    export_id: Uuid,
}

/// Records the request and queues the job; returns the export's id.
pub async fn request(
    state: &AppState,
    ctx: &TenantCtx,
    include_credentials: bool,
    actor: &Actor,
) -> Result<Uuid, AccountError> {
    let mut tx = ctx.begin(state).await?;
    let id =
        db::exports::create(&mut tx, ctx.tenant_id(), ctx.user_id(), include_credentials).await?;
    state
        .jobs
        .enqueue_in(
            &mut tx,
            NewJob::new(EXPORT_KIND, &Payload { export_id: id })
                .tenant(ctx.tenant_id())
                .dedupe(format!("{EXPORT_KIND}:{id}")),
        )
        .await?;
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        TeamAction::Export,
        &format!("export:{id}"),
        Change::after(serde_json::json!({ "include_credentials": include_credentials })),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    state.jobs.wake();
    Ok(id)
}

/// The job: builds and stores the archive, then mails the link. Safe to run again: a ready
/// export whose mail went out is done; one whose mail did not gets a new link.
pub async fn run(state: &AppState, job: &Job) -> Result<(), JobError> {
    let Payload { export_id } = job.payload()?;
    let Some(row) = db::exports::get(&state.pool, export_id).await? else {
        return Ok(()); // the workspace is gone, and its export with it
    };
    let mail_key = format!("export:{export_id}");
    if row.status == "ready"
        && db::mail::by_key(&state.pool, &mail_key)
            .await?
            .is_some_and(|m| m.status == "sent")
    {
        return Ok(());
    }
    let tenant = TenantId(row.tenant_id);
    let token = crypto::url_token();
    let hash = crypto::token_hash(&token);
    if row.status == "ready" {
        db::exports::retoken(&state.pool, export_id, &hash).await?;
    } else {
        let archive = build(state, tenant, row.include_credentials).await?;
        db::exports::finish(&state.pool, export_id, &archive, &hash, LINK_TTL_SECS).await?;
    }
    let Some(user) = row.requested_by else {
        return Ok(());
    };
    let to = db::accounts::user_email(&state.pool, UserId(user)).await?;
    let to = EmailAddress::parse(&to).map_err(|e| JobError::Fatal(anyhow::anyhow!(e)))?;
    crate::server::services::outbox::send(
        state,
        &OutgoingMail {
            to,
            subject: "Your InboxGrove export is ready".into(),
            body: format!(
                "The export of your workspace is ready:\n\n{}\n\n\
                 Sign in as the workspace's owner to download it. The link works for 48 hours.{}\n",
                link(
                    state,
                    &format!("/settings/export?id={export_id}&token={}", token.as_str())
                ),
                if row.include_credentials {
                    "\n\nIt holds your inboxes' passwords (credentials.csv): keep it safe."
                } else {
                    ""
                },
            ),
            tenant_id: Some(tenant),
            idempotency_key: Some(mail_key),
        },
    )
    .await
    .map_err(|e| JobError::Retry(e.into()))?;
    Ok(())
}

/// The zip archive of the workspace, read in its own row-level-security transaction.
async fn build(state: &AppState, tenant: TenantId, credentials: bool) -> anyhow::Result<Vec<u8>> {
    let mut tx = tenant_tx(&state.pool, tenant).await?;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    files.push((
        "README.txt".into(),
        b"Your InboxGrove workspace: one JSON file per kind of record. Inbox passwords are \
          only in credentials.csv, when you asked for them.\n"
            .to_vec(),
    ));
    for (name, sql) in db::exports::ENTITIES {
        let json = db::exports::entity(&mut tx, sql, tenant).await?;
        files.push((name.to_string(), serde_json::to_vec_pretty(&json)?));
    }
    if credentials {
        let rows =
            db::inboxes::credentials(&mut *tx, tenant, &db::inboxes::Filter::default()).await?;
        let mut creds = Vec::with_capacity(rows.len());
        for r in &rows {
            creds.push(crate::server::services::inboxes::export::Credential {
                row: &r.inbox,
                password: crate::server::services::inboxes::open_password(state, r)?,
            });
        }
        let csv = crate::server::services::inboxes::export::write(
            ExportFormat::Generic,
            &state.settings,
            &creds,
        )?;
        files.push(("credentials.csv".into(), csv));
    }
    drop(tx);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options =
        zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    for (name, bytes) in files {
        zip.start_file(name, options)?;
        zip.write_all(&bytes)?;
    }
    Ok(zip.finish()?.into_inner())
}

/// The archive behind a mailed link, for the workspace's owner: `(file name, bytes)`.
pub async fn download(
    state: &AppState,
    ctx: &TenantCtx,
    raw_id: &str,
    token: &str,
    actor: &Actor,
) -> Result<(String, Vec<u8>), AccountError> {
    let id = Uuid::parse_str(raw_id.trim()).map_err(|_| AccountError::Expired)?;
    let mut tx = ctx.begin(state).await?;
    let Some((archive, created)) =
        db::exports::download(&mut tx, ctx.tenant_id(), id, &crypto::token_hash(token)).await?
    else {
        return Err(AccountError::Expired);
    };
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        TeamAction::ExportDownload,
        &format!("export:{id}"),
        Change::none(),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok((
        format!("inboxgrove-export-{}.zip", created.format("%Y%m%d-%H%M%S")),
        archive,
    ))
}
