//! `/settings/team` and the workspaces a user belongs to: invitations (mailed links, hashed,
//! 7 days, revocable), roles, removal, leaving, ownership transfer; accepting an invitation;
//! switching and creating workspaces. The role table (`permissions`) already let the request
//! through the door; the rules that depend on *whom* it touches (owners, the last owner) are
//! here, checked inside the transaction that changes the rows.

use chrono::{Duration, Utc};
use uuid::Uuid;

use crate::domain::team::{
    InvitationInfo, InvitationView, MeView, MemberView, TeamView, WorkspaceView, assignable_role,
};
use crate::domain::{CompanyName, EmailAddress, Password, Role, TenantId, UserId};
use crate::error::FieldError;
use crate::server::auth::{TenantCtx, end_read};
use crate::server::crypto;
use crate::server::db::audit::{Actor, Change, TeamAction};
use crate::server::db::{self};
use crate::server::providers::mail::OutgoingMail;
use crate::server::services::accounts::{AccountError, SignedIn, link, send_later};
use crate::server::state::AppState;

/// How long an invitation link works.
const INVITE_TTL_SECS: i64 = 7 * 24 * 3600;
/// How many workspaces one user may own (each starts a trial).
pub const MAX_OWNED_WORKSPACES: i64 = 5;

fn parse_user(raw: &str) -> Result<UserId, AccountError> {
    Uuid::parse_str(raw.trim())
        .map(UserId)
        .map_err(|_| AccountError::NotFound)
}

fn role_of(raw: &str) -> anyhow::Result<Role> {
    Role::parse(raw).map_err(anyhow::Error::msg)
}

pub async fn view(state: &AppState, ctx: &TenantCtx) -> Result<TeamView, AccountError> {
    let mut tx = ctx.begin(state).await?;
    let members = db::team::members(&mut tx, ctx).await?;
    let invitations = db::team::invitations(&mut tx, ctx).await?;
    let workspace = db::tenants::name(&mut tx, ctx).await?;
    let require_2fa = db::two_factor::required(&mut tx, ctx).await?;
    end_read(tx);
    Ok(TeamView {
        workspace,
        require_2fa,
        role: ctx.role(),
        members: members
            .into_iter()
            .map(|m| {
                Ok(MemberView {
                    you: m.user_id == ctx.user_id().0,
                    user_id: m.user_id.to_string(),
                    email: m.email,
                    role: role_of(&m.role)?,
                    joined_at: m.created_at.to_rfc3339(),
                })
            })
            .collect::<anyhow::Result<_>>()?,
        invitations: invitations
            .into_iter()
            .map(|i| {
                Ok(InvitationView {
                    id: i.id.to_string(),
                    email: i.email,
                    role: role_of(&i.role)?,
                    expires_at: i.expires_at.to_rfc3339(),
                })
            })
            .collect::<anyhow::Result<_>>()?,
    })
}

/// Invites `email` with `role` (admin or member) and mails the link. Inviting an address again
/// replaces its open invitation.
pub async fn invite(
    state: &AppState,
    ctx: &TenantCtx,
    raw_email: &str,
    raw_role: &str,
    actor: &Actor,
) -> Result<String, AccountError> {
    let mut errors = Vec::new();
    let email = EmailAddress::parse(raw_email)
        .map_err(|m| errors.push(FieldError::new("email", m)))
        .ok();
    let role = assignable_role(raw_role)
        .map_err(|m| errors.push(FieldError::new("role", m)))
        .ok();
    let (Some(email), Some(role)) = (email, role) else {
        return Err(AccountError::Invalid(errors));
    };
    let token = crypto::url_token();
    let hash = crypto::token_hash(&token);
    let mut tx = ctx.begin(state).await?;
    if db::team::is_member_email(&mut tx, ctx, email.as_str()).await? {
        return Err(AccountError::Conflict(FieldError::new(
            "email",
            "This person is already a member of the workspace.",
        )));
    }
    let id = db::team::invite(&mut tx, ctx, email.as_str(), role, &hash, INVITE_TTL_SECS).await?;
    let workspace = db::tenants::name(&mut tx, ctx).await?;
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        TeamAction::Invite,
        &format!("invitation:{id}"),
        Change::after(serde_json::json!({ "email": email.as_str(), "role": role.as_str() })),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    send_later(
        state,
        OutgoingMail {
            to: email.clone(),
            subject: format!("You are invited to {workspace} on InboxGrove"),
            body: format!(
                "You are invited to join {workspace} on InboxGrove as {}.\n\n\
                 Accept here:\n\n{}\n\n\
                 The link works once, for 7 days. If you did not expect it, ignore this \
                 message.\n",
                match role {
                    Role::Admin => "an admin",
                    _ => "a member",
                },
                link(state, &format!("/invite?token={}", token.as_str())),
            ),
            tenant_id: Some(ctx.tenant_id()),
            idempotency_key: Some(format!("invite:{id}")),
        },
    );
    Ok(id.to_string())
}

pub async fn revoke(
    state: &AppState,
    ctx: &TenantCtx,
    raw_id: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let id = Uuid::parse_str(raw_id.trim()).map_err(|_| AccountError::NotFound)?;
    let mut tx = ctx.begin(state).await?;
    if !db::team::revoke(&mut tx, ctx, id).await? {
        return Err(AccountError::NotFound);
    }
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        TeamAction::Revoke,
        &format!("invitation:{id}"),
        Change::none(),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// The member's current role, or "not found"; an owner may only be touched by an owner.
async fn touchable(
    tx: &mut sqlx::PgConnection,
    ctx: &TenantCtx,
    user: UserId,
) -> Result<Role, AccountError> {
    let current = db::team::member_role_for_update(tx, ctx, user)
        .await?
        .ok_or(AccountError::NotFound)?;
    let current = role_of(&current)?;
    if current == Role::Owner && ctx.role() != Role::Owner {
        return Err(AccountError::Refused(
            "Only an owner can change or remove an owner.".into(),
        ));
    }
    Ok(current)
}

/// Refuses to leave the workspace without an owner.
async fn keep_an_owner(tx: &mut sqlx::PgConnection, ctx: &TenantCtx) -> Result<(), AccountError> {
    if db::team::owners_for_update(tx, ctx).await? <= 1 {
        return Err(AccountError::Refused(
            "A workspace needs an owner: make someone else owner first.".into(),
        ));
    }
    Ok(())
}

pub async fn change_role(
    state: &AppState,
    ctx: &TenantCtx,
    raw_user: &str,
    raw_role: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let user = parse_user(raw_user)?;
    let role = assignable_role(raw_role)
        .map_err(|m| AccountError::Invalid(vec![FieldError::new("role", m)]))?;
    let mut tx = ctx.begin(state).await?;
    let before = touchable(&mut tx, ctx, user).await?;
    if before == Role::Owner {
        keep_an_owner(&mut tx, ctx).await?;
    }
    db::team::set_role(&mut tx, ctx, user, role).await?;
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        TeamAction::RoleChange,
        &format!("user:{}", user.0),
        Change::from_to(
            serde_json::json!({ "role": before.as_str() }),
            serde_json::json!({ "role": role.as_str() }),
        ),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// Removes a member: their sessions in this workspace end at once (the door admits by
/// membership on every request).
pub async fn remove(
    state: &AppState,
    ctx: &TenantCtx,
    raw_user: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let user = parse_user(raw_user)?;
    let mut tx = ctx.begin(state).await?;
    let before = touchable(&mut tx, ctx, user).await?;
    if before == Role::Owner {
        keep_an_owner(&mut tx, ctx).await?;
    }
    db::team::remove(&mut tx, ctx, user).await?;
    let action = if user == ctx.user_id() {
        TeamAction::Leave
    } else {
        TeamAction::Remove
    };
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        action,
        &format!("user:{}", user.0),
        Change::from_to(
            serde_json::json!({ "role": before.as_str() }),
            serde_json::Value::Null,
        ),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// Makes another member owner; the current owner stays on as admin.
pub async fn transfer(
    state: &AppState,
    ctx: &TenantCtx,
    raw_user: &str,
    actor: &Actor,
) -> Result<(), AccountError> {
    let user = parse_user(raw_user)?;
    if user == ctx.user_id() || ctx.role() != Role::Owner {
        return Err(AccountError::Refused(
            "Choose another member to hand ownership to.".into(),
        ));
    }
    let mut tx = ctx.begin(state).await?;
    let before = touchable(&mut tx, ctx, user).await?;
    db::team::set_role(&mut tx, ctx, user, Role::Owner).await?;
    db::team::set_role(&mut tx, ctx, ctx.user_id(), Role::Admin).await?;
    db::audit::team(
        &mut *tx,
        actor,
        ctx.tenant_id(),
        TeamAction::Transfer,
        &format!("user:{}", user.0),
        Change::from_to(
            serde_json::json!({ "role": before.as_str() }),
            serde_json::json!({ "role": "owner", "previous_owner": ctx.user_id().0 }),
        ),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(())
}

/// What an invitation link's page shows; `signed_in`: the browser's user, if any.
pub async fn invitation(
    state: &AppState,
    token: &str,
    signed_in: Option<UserId>,
) -> Result<InvitationInfo, AccountError> {
    let inv = db::team::open_by_token(&state.pool, &crypto::token_hash(token))
        .await?
        .ok_or(AccountError::Expired)?;
    let email = EmailAddress::parse(&inv.email).map_err(anyhow::Error::msg)?;
    let account = db::accounts::find_login(&state.pool, &email).await?;
    let me = match signed_in {
        Some(user) => Some(db::accounts::user_email(&state.pool, user).await?),
        None => None,
    };
    Ok(InvitationInfo {
        workspace: inv.tenant_name,
        role: role_of(&inv.role)?,
        has_account: account.is_some(),
        signed_in_as_invitee: me.as_deref() == Some(inv.email.as_str()),
        signed_in_as_other: me.is_some_and(|m| m != inv.email),
        email: inv.email,
    })
}

/// Accepts an invitation. Signed in as the invited address: joins. Not signed in and the
/// address has no account: makes one with `password` (verified: the link reached the
/// address) and joins. Anyone else is told what to do; the invitation stays open.
pub async fn accept(
    state: &AppState,
    token: &str,
    signed_in: Option<UserId>,
    password: &str,
    origin: &crate::server::db::audit::Origin,
) -> Result<SignedIn, AccountError> {
    let inv = db::team::open_by_token(&state.pool, &crypto::token_hash(token))
        .await?
        .ok_or(AccountError::Expired)?;
    let email = EmailAddress::parse(&inv.email).map_err(anyhow::Error::msg)?;
    let existing = db::accounts::find_login(&state.pool, &email).await?;
    let mut tx = state.pool.begin().await.map_err(anyhow::Error::from)?;
    let user = match (signed_in, existing) {
        (Some(me), Some(row)) if row.user_id == me => me,
        (Some(_), _) => {
            return Err(AccountError::Refused(format!(
                "This invitation is for {}. Log out, then open the link again.",
                inv.email
            )));
        }
        (None, Some(_)) => {
            return Err(AccountError::Refused(format!(
                "{} already has an account: log in, then open the link again.",
                inv.email
            )));
        }
        (None, None) => {
            let password = Password::parse(password)
                .map_err(|m| AccountError::Invalid(vec![FieldError::new("password", m)]))?;
            let hash = state.passwords.hash(&password).await?;
            db::accounts::create_invited_user(&mut tx, &email, &hash)
                .await
                .map_err(|e| {
                    if e.violated(&db::Constraint::UsersEmail) {
                        AccountError::Refused(format!(
                            "{} already has an account: log in, then open the link again.",
                            inv.email
                        ))
                    } else {
                        AccountError::Unexpected(e.into())
                    }
                })?
        }
    };
    if !db::team::accept(&mut tx, &inv, user).await? {
        return Err(AccountError::Expired);
    }
    let tenant = TenantId(inv.tenant_id);
    db::audit::team(
        &mut *tx,
        &Actor::user(user.0, &inv.email, origin),
        tenant,
        TeamAction::Join,
        &format!("user:{}", user.0),
        Change::after(serde_json::json!({ "role": inv.role, "invitation": inv.id })),
    )
    .await?;
    tx.commit().await.map_err(anyhow::Error::from)?;
    Ok(SignedIn {
        user_id: user,
        tenant_id: Some(tenant),
    })
}

/// The signed-in user, their current workspace and role, and every workspace they belong to.
pub async fn me(
    state: &AppState,
    user: UserId,
    current: Option<TenantId>,
) -> Result<MeView, AccountError> {
    let email = db::accounts::user_email(&state.pool, user).await?;
    let email_verified = db::accounts::is_verified(&state.pool, user).await?;
    let workspaces = db::team::workspaces_of(&state.pool, user)
        .await?
        .into_iter()
        .map(|(id, name, role)| {
            Ok(WorkspaceView {
                id: id.0.to_string(),
                name,
                role: role_of(&role)?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let workspace =
        current.and_then(|t| workspaces.iter().find(|w| w.id == t.0.to_string()).cloned());
    Ok(MeView {
        user_id: user.0.to_string(),
        email,
        email_verified,
        workspace,
        workspaces,
        viewing_as: None,
    })
}

/// [`me`] for a browser's session; `SignedOut` without a live one.
pub async fn me_of_session(
    state: &AppState,
    auth: Option<crate::server::auth::SessionAuth>,
) -> Result<MeView, AccountError> {
    let Some(auth) = auth else {
        return Err(AccountError::SignedOut);
    };
    let user = UserId(auth.user_id);
    if !db::sessions::is_live(&state.pool, auth.sid, user).await? {
        return Err(AccountError::SignedOut);
    }
    let mut view = me(state, user, auth.tenant_id.map(TenantId)).await?;
    if let Some(viewed) = auth.view_as.filter(|_| auth.tenant_id.is_none()) {
        view.viewing_as = Some(db::tenants::name_of(&state.pool, TenantId(viewed)).await?);
    }
    Ok(view)
}

/// The workspace `raw_id` if the user belongs to it ("not found" otherwise, whoever owns it).
pub async fn member_of(
    state: &AppState,
    user: UserId,
    raw_id: &str,
) -> Result<TenantId, AccountError> {
    let id = Uuid::parse_str(raw_id.trim()).map_err(|_| AccountError::NotFound)?;
    db::team::workspaces_of(&state.pool, user)
        .await?
        .into_iter()
        .map(|(t, _, _)| t)
        .find(|t| t.0 == id)
        .ok_or(AccountError::NotFound)
}

/// One of the user's workspaces other than `except`, if any.
pub async fn other_workspace(
    state: &AppState,
    user: UserId,
    except: TenantId,
) -> Result<Option<TenantId>, AccountError> {
    Ok(db::team::workspaces_of(&state.pool, user)
        .await?
        .into_iter()
        .map(|(t, _, _)| t)
        .find(|t| *t != except))
}

/// Another workspace, owned by the signed-in user, with its own trial.
pub async fn create_workspace(
    state: &AppState,
    ctx: &TenantCtx,
    raw_company: &str,
    origin: &crate::server::db::audit::Origin,
) -> Result<TenantId, AccountError> {
    let company = CompanyName::parse(raw_company)
        .map_err(|m| AccountError::Invalid(vec![FieldError::new("company", m)]))?;
    let user = ctx.user_id();
    if db::accounts::owned_workspaces(&state.pool, user).await? >= MAX_OWNED_WORKSPACES {
        return Err(AccountError::Refused(format!(
            "You own {MAX_OWNED_WORKSPACES} workspaces, the most one person may."
        )));
    }
    let trial_ends_at = Utc::now() + Duration::days(state.settings.trial.days);
    let tenant = db::accounts::create_workspace(&state.pool, user, &company, trial_ends_at).await?;
    db::audit::team(
        &state.pool,
        &Actor::user(user.0, "", origin),
        tenant,
        TeamAction::CreateWorkspace,
        &format!("user:{}", user.0),
        Change::after(serde_json::json!({ "company": company.as_str() })),
    )
    .await?;
    Ok(tenant)
}
