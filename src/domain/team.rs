//! What the team page, the invitation page and the workspace switcher show.

use serde::{Deserialize, Serialize};

use super::Role;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    pub user_id: String,
    pub email: String,
    pub role: Role,
    /// RFC 3339.
    pub joined_at: String,
    /// The signed-in user.
    pub you: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationView {
    pub id: String,
    pub email: String,
    pub role: Role,
    pub expires_at: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamView {
    pub workspace: String,
    /// The signed-in user's role here.
    pub role: Role,
    pub members: Vec<MemberView>,
    pub invitations: Vec<InvitationView>,
    /// Everyone here must sign in with a second factor.
    pub require_2fa: bool,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkspaceView {
    pub id: String,
    pub name: String,
    pub role: Role,
}

/// `GET /api/auth/me`: the user, the current workspace and role, and every workspace.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MeView {
    pub user_id: String,
    pub email: String,
    pub email_verified: bool,
    /// `None` for staff without a customer workspace.
    pub workspace: Option<WorkspaceView>,
    pub workspaces: Vec<WorkspaceView>,
    /// Staff viewing a workspace as its owner (read-only): its name.
    #[serde(default)]
    pub viewing_as: Option<String>,
}

/// What an invitation link's page shows before it is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InvitationInfo {
    pub workspace: String,
    pub role: Role,
    pub email: String,
    /// The address already has an account: log in (as it) to accept.
    pub has_account: bool,
    /// The browser is signed in as the invited address: one click accepts.
    pub signed_in_as_invitee: bool,
    /// The browser is signed in as someone else.
    pub signed_in_as_other: bool,
}

/// The roles an invitation or a role change may give (ownership moves by transfer only).
pub fn assignable_role(raw: &str) -> Result<Role, String> {
    match raw.trim() {
        "admin" => Ok(Role::Admin),
        "member" => Ok(Role::Member),
        _ => Err("Choose admin or member.".into()),
    }
}
