//! "Send to Instantly" / "Send to Smartlead": the selected inboxes (SMTP and IMAP logins)
//! added to the customer's account in that tool, through its API, with the customer's key for
//! it (stored sealed, shown again only as its last four characters). One result per inbox:
//! added, already there, or refused with the tool's message.

use futures_util::StreamExt;
use sqlx::PgConnection;
use std::time::Duration;
use uuid::Uuid;

use super::{IntegrationError, invalid, manager};
use crate::domain::api::{PushItem, ToolView};
use crate::server::auth::TenantCtx;
use crate::server::db::audit::{Actor, Change, IntegrationAction};
use crate::server::db::{self};
use crate::server::providers::timed;
use crate::server::providers::tools::{self, Account, Pushed, Tool};
use crate::server::services::inboxes::open_password;
use crate::server::state::AppState;

/// At most this many inboxes per push (a page of the list, or a batch).
pub const MAX_PUSH: usize = 500;

fn aad(tenant: Uuid, tool: Tool) -> Vec<u8> {
    format!("tool:{tenant}:{}", tool.as_str()).into_bytes()
}

fn tool_of(raw: &str) -> Result<Tool, IntegrationError> {
    Tool::parse(raw).ok_or_else(|| invalid("tool", "Choose Instantly or Smartlead."))
}

pub async fn tools(
    conn: &mut PgConnection,
    ctx: &TenantCtx,
) -> Result<Vec<ToolView>, IntegrationError> {
    let stored = db::webhooks::tool_hints(conn, ctx.tenant_id()).await?;
    Ok([Tool::Instantly, Tool::Smartlead]
        .into_iter()
        .map(|t| ToolView {
            tool: t.as_str().into(),
            label: t.label().into(),
            key_hint: stored
                .iter()
                .find(|(name, _)| name == t.as_str())
                .map(|(_, hint)| hint.clone()),
        })
        .collect())
}

/// Stores (or replaces) the workspace's key for `tool`; an empty key removes it.
pub async fn connect(
    state: &AppState,
    ctx: &TenantCtx,
    tool: &str,
    key: &str,
    actor: &Actor,
) -> Result<(), IntegrationError> {
    manager(ctx)?;
    let tool = tool_of(tool)?;
    let key = key.trim();
    if key.len() > 500 || key.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return Err(invalid(
            "key",
            "Paste the API key exactly as the tool shows it.",
        ));
    }
    let mut tx = ctx.begin(state).await?;
    // The last four characters, for the page to say which key is stored.
    let hint: String = key
        .chars()
        .skip(key.chars().count().saturating_sub(4))
        .collect();
    let sealed = state
        .secrets
        .encrypt(key.as_bytes(), &aad(ctx.tenant_id().0, tool));
    let stored = (!key.is_empty()).then_some((sealed.as_slice(), hint.as_str()));
    db::webhooks::set_tool_key(&mut tx, ctx.tenant_id(), tool.as_str(), stored).await?;
    super::record(
        tx,
        ctx,
        actor,
        IntegrationAction::ToolConnect,
        &format!("tool:{}", tool.as_str()),
        Change::after(serde_json::json!({ "stored": !key.is_empty() })),
    )
    .await?;
    Ok(())
}

async fn add_one(
    client: std::sync::Arc<dyn tools::ToolClient>,
    key: std::sync::Arc<zeroize::Zeroizing<String>>,
    accounts: std::sync::Arc<Vec<Account>>,
    i: usize,
) -> Pushed {
    client.add(key.as_str(), &accounts[i]).await
}

/// Pushes the inboxes named by `ids` (comma-separated) to `tool`.
pub async fn push(
    state: &AppState,
    ctx: &TenantCtx,
    tool: &str,
    ids: &str,
    actor: &Actor,
) -> Result<Vec<PushItem>, IntegrationError> {
    manager(ctx)?;
    let tool = tool_of(tool)?;
    let ids: Vec<Uuid> = ids
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| Uuid::parse_str(s).map_err(|_| invalid("ids", "An inbox id is not valid.")))
        .collect::<Result<_, _>>()?;
    if ids.is_empty() {
        return Err(invalid("ids", "Select the inboxes to send."));
    }
    if ids.len() > MAX_PUSH {
        return Err(invalid(
            "ids",
            format!("Send at most {MAX_PUSH} inboxes at a time."),
        ));
    }
    let mut tx = ctx.begin(state).await?;
    let sealed = db::webhooks::tool_key(&mut tx, ctx.tenant_id(), tool.as_str()).await?;
    let Some(sealed) = sealed else {
        return Err(invalid(
            "tool",
            format!("Add your {} API key on Settings → API first.", tool.label()),
        ));
    };
    let key = state
        .secrets
        .decrypt(&sealed, &aad(ctx.tenant_id().0, tool))
        .map_err(|e| anyhow::anyhow!("opening the tool's key: {e}"))?;
    let key = String::from_utf8(key.to_vec()).map_err(anyhow::Error::from)?;
    let filter = db::inboxes::Filter {
        ids: Some(ids),
        ..Default::default()
    };
    let rows = db::inboxes::credentials(&mut *tx, ctx.tenant_id(), &filter).await?;
    // No transaction stays open while the tools answer.
    crate::server::auth::end_read(tx);
    if rows.is_empty() {
        return Err(IntegrationError::NotFound);
    }
    let relay = &state.settings.relay;
    let mut accounts = Vec::with_capacity(rows.len());
    for r in &rows {
        let i = &r.inbox;
        accounts.push(Account {
            email: i.address(),
            first_name: i.first_name.clone(),
            last_name: i.last_name.clone(),
            display_name: i.display_name.clone(),
            password: open_password(state, r)?,
            smtp_host: relay.smtp_host.clone(),
            smtp_port: relay.smtp_port,
            imap_host: relay.imap_host.clone(),
            imap_port: relay.imap_port,
            daily_limit: i.daily_cap,
        });
    }
    let api = &state.settings.api;
    let base = match tool {
        Tool::Instantly => &api.instantly_base_url,
        Tool::Smartlead => &api.smartlead_base_url,
    };
    let client = tools::client(
        tool,
        base,
        Duration::from_millis(api.push_timeout_ms),
        &state.tool_sandbox,
    )?;
    let client = timed::tool(client, tool, base == "sandbox", &state.provider_stats);
    // A few at a time: the tools rate-limit their APIs.
    let accounts = std::sync::Arc::new(accounts);
    let key = std::sync::Arc::new(zeroize::Zeroizing::new(key));
    let results: Vec<Pushed> = futures_util::stream::iter(0..accounts.len())
        .map(|i| add_one(client.clone(), key.clone(), accounts.clone(), i))
        .buffered(4)
        .collect()
        .await;
    let items: Vec<PushItem> = accounts
        .iter()
        .zip(results)
        .map(|(a, p)| {
            let (outcome, message) = match p {
                Pushed::Added => ("added", None),
                Pushed::AlreadyThere => ("exists", None),
                Pushed::Refused(m) => ("refused", Some(m)),
            };
            PushItem {
                address: a.email.clone(),
                outcome: outcome.into(),
                message,
            }
        })
        .collect();
    let count = |o: &str| items.iter().filter(|i| i.outcome == o).count();
    let tx = ctx.begin(state).await?;
    super::record(
        tx,
        ctx,
        actor,
        IntegrationAction::ToolPush,
        &format!("tool:{}", tool.as_str()),
        Change::after(serde_json::json!({
            "added": count("added"), "exists": count("exists"), "refused": count("refused"),
        })),
    )
    .await?;
    Ok(items)
}
