//! The cold-email tools inboxes are pushed to, with the customer's own API key for each:
//! Instantly (API v2, `POST /api/v2/accounts`, bearer key) and Smartlead (`POST
//! /api/v1/email-accounts/save?api_key=…`). Each has a real client (base URL from settings,
//! tested against local fakes speaking their format) and a sandbox account that keeps what
//! was added (a second push of an address answers "already there").

use async_trait::async_trait;
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;
use zeroize::Zeroizing;

/// One inbox, as the tools take it.
pub struct Account {
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub display_name: String,
    pub password: Zeroizing<String>,
    pub smtp_host: String,
    pub smtp_port: u16,
    pub imap_host: String,
    pub imap_port: u16,
    pub daily_limit: i32,
}

/// What the tool said to one account.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pushed {
    Added,
    AlreadyThere,
    /// The tool refused it; its message.
    Refused(String),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tool {
    Instantly,
    Smartlead,
}

impl Tool {
    pub fn parse(s: &str) -> Option<Tool> {
        match s.trim() {
            "instantly" => Some(Tool::Instantly),
            "smartlead" => Some(Tool::Smartlead),
            _ => None,
        }
    }
    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Instantly => "instantly",
            Tool::Smartlead => "smartlead",
        }
    }
    pub fn label(self) -> &'static str {
        match self {
            Tool::Instantly => "Instantly",
            Tool::Smartlead => "Smartlead",
        }
    }
}

#[async_trait]
pub trait ToolClient: Send + Sync {
    async fn add(&self, key: &str, account: &Account) -> Pushed;
}

/// The client for `tool` at `base` (`sandbox` for the embedded one).
pub fn client(
    tool: Tool,
    base: &str,
    timeout: Duration,
    sandbox: &std::sync::Arc<SandboxTools>,
) -> anyhow::Result<std::sync::Arc<dyn ToolClient>> {
    if base == "sandbox" {
        return Ok(std::sync::Arc::new(SandboxClient {
            tool,
            accounts: sandbox.clone(),
        }));
    }
    let http = reqwest::Client::builder()
        .timeout(timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let base = base.trim_end_matches('/').to_string();
    Ok(match tool {
        Tool::Instantly => std::sync::Arc::new(Instantly { http, base }),
        Tool::Smartlead => std::sync::Arc::new(Smartlead { http, base }),
    })
}

/// The tool's own words from an error body: `message` (a string or a list), else `error`.
fn message_of(body: &Value) -> Option<String> {
    let m = body.get("message").or_else(|| body.get("error"))?;
    let text = match m {
        Value::String(s) => s.clone(),
        Value::Array(items) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join("; "),
        other => other.to_string(),
    };
    Some(text.chars().take(300).collect())
}

fn says_exists(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("already exist") || m.contains("already added") || m.contains("already connected")
}

async fn answer(res: Result<reqwest::Response, reqwest::Error>, ok_field: bool) -> Pushed {
    let res = match res {
        Ok(r) => r,
        Err(e) if e.is_timeout() => {
            return Pushed::Refused("The tool did not answer in time.".into());
        }
        Err(_) => return Pushed::Refused("Could not reach the tool.".into()),
    };
    let status = res.status();
    let body: Value = res.json().await.unwrap_or(Value::Null);
    let message = message_of(&body);
    if status == reqwest::StatusCode::CONFLICT || message.as_deref().is_some_and(says_exists) {
        return Pushed::AlreadyThere;
    }
    let accepted = status.is_success()
        && (!ok_field || body.get("ok").and_then(Value::as_bool).unwrap_or(true));
    if accepted {
        return Pushed::Added;
    }
    Pushed::Refused(match (status.as_u16(), message) {
        (401 | 403, _) => "The tool refused the API key: check it on the API settings page.".into(),
        (_, Some(m)) => m,
        (s, None) => format!("The tool answered {s}."),
    })
}

struct Instantly {
    http: reqwest::Client,
    base: String,
}

#[async_trait]
impl ToolClient for Instantly {
    async fn add(&self, key: &str, a: &Account) -> Pushed {
        let body = json!({
            "email": a.email,
            "first_name": a.first_name,
            "last_name": a.last_name,
            "provider_code": 1,
            "imap_username": a.email,
            "imap_password": a.password.as_str(),
            "imap_host": a.imap_host,
            "imap_port": a.imap_port,
            "smtp_username": a.email,
            "smtp_password": a.password.as_str(),
            "smtp_host": a.smtp_host,
            "smtp_port": a.smtp_port,
            "daily_limit": a.daily_limit,
        });
        let res = self
            .http
            .post(format!("{}/api/v2/accounts", self.base))
            .bearer_auth(key)
            .json(&body)
            .send()
            .await;
        answer(res, false).await
    }
}

struct Smartlead {
    http: reqwest::Client,
    base: String,
}

#[async_trait]
impl ToolClient for Smartlead {
    async fn add(&self, key: &str, a: &Account) -> Pushed {
        let body = json!({
            "from_name": a.display_name,
            "from_email": a.email,
            "user_name": a.email,
            "password": a.password.as_str(),
            "smtp_host": a.smtp_host,
            "smtp_port": a.smtp_port,
            "imap_host": a.imap_host,
            "imap_port": a.imap_port,
            "max_email_per_day": a.daily_limit,
            "warmup_enabled": false,
            "type": "SMTP",
        });
        let res = self
            .http
            .post(format!("{}/api/v1/email-accounts/save", self.base))
            .query(&[("api_key", key)])
            .json(&body)
            .send()
            .await
            // The key rides in the query string: keep it out of any error text.
            .map_err(reqwest::Error::without_url);
        answer(res, true).await
    }
}

/// The embedded tools' accounts: which addresses each (tool, key) holds, for this process.
#[derive(Default)]
pub struct SandboxTools {
    added: Mutex<HashSet<(&'static str, String, String)>>,
}

impl SandboxTools {
    pub fn new() -> Self {
        Self::default()
    }
}

struct SandboxClient {
    tool: Tool,
    accounts: std::sync::Arc<SandboxTools>,
}

#[async_trait]
impl ToolClient for SandboxClient {
    async fn add(&self, key: &str, a: &Account) -> Pushed {
        if key.trim().len() < 8 {
            return Pushed::Refused(
                "The tool refused the API key: check it on the API settings page.".into(),
            );
        }
        if a.password.is_empty() {
            return Pushed::Refused("The SMTP and IMAP logins failed.".into());
        }
        let mut added = self.accounts.added.lock().expect("sandbox lock");
        let fresh = added.insert((
            self.tool.as_str(),
            key.to_string(),
            a.email.to_ascii_lowercase(),
        ));
        if fresh {
            Pushed::Added
        } else {
            Pushed::AlreadyThere
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_tools_own_words_are_kept_whether_a_string_or_a_list() {
        assert_eq!(
            message_of(&json!({"message": "bad host"})).as_deref(),
            Some("bad host")
        );
        assert_eq!(
            message_of(&json!({"message": ["a", "b"]})).as_deref(),
            Some("a; b")
        );
        assert!(says_exists("Email account already exists"));
        assert!(!says_exists("Invalid IMAP credentials"));
    }
}
