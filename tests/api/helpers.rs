use inboxgrove::server::config::Settings;
use inboxgrove::server::crypto;
use inboxgrove::server::startup::{self, Application, SESSION_COOKIE};
use reqwest::header::{HeaderMap, SET_COOKIE};
use reqwest::{Client, RequestBuilder, Response, redirect::Policy};
use secrecy::ExposeSecret;
use sqlx::PgPool;

pub struct TestApp {
    pub address: String,
    pub pool: PgPool,
    /// The state the app serves with: its providers, job queue and settings.
    pub state: inboxgrove::server::state::AppState,
    /// A browser-like client: keeps cookies, does not follow redirects.
    pub client: Client,
    /// `http://host:port` of the metrics listener (`/metrics`, no token).
    pub metrics: Option<String>,
}

pub fn settings(extra: &[(&str, &str)]) -> Settings {
    let path = format!("{}/Leptos.toml", env!("CARGO_MANIFEST_DIR"));
    let mut vars: Vec<(String, String)> = vec![
        // Keep OWASP-shaped argon2id but cheaper, so many tests can hash in parallel.
        (
            "INBOXGROVE_SECURITY__ARGON2_MEMORY_KIB".into(),
            "8192".into(),
        ),
        ("INBOXGROVE_SECURITY__ARGON2_ITERATIONS".into(), "1".into()),
        // Each test app answers sandbox DNS on its own free port.
        ("INBOXGROVE_DNS__RESOLVER".into(), "127.0.0.1:0".into()),
        // ... and serves /metrics on its own free port.
        ("INBOXGROVE_METRICS__LISTEN".into(), "127.0.0.1:0".into()),
        // Tests make many requests a minute per tenant; the rate-limit tests set their own.
        (
            "INBOXGROVE_RATE_LIMITS__TENANT_PER_MINUTE".into(),
            "100000".into(),
        ),
        (
            "INBOXGROVE_RATE_LIMITS__IP_AUTH_PER_MINUTE".into(),
            "100000".into(),
        ),
        // Each app writes its relay files into its own directory, not the working dir.
        (
            "INBOXGROVE_RELAY__POLICY_DIR".into(),
            std::env::temp_dir()
                .join(format!("ig-test-relay-{}", uuid::Uuid::new_v4().simple()))
                .to_string_lossy()
                .into_owned(),
        ),
        // Sample traffic would change the counts tests assert; the tests of it turn it on.
        (
            "INBOXGROVE_DELIVERABILITY__SANDBOX_TRAFFIC".into(),
            "false".into(),
        ),
        // Scores follow at once, and "check now" asks every time.
        (
            "INBOXGROVE_DELIVERABILITY__SCORE_DELAY_SECS".into(),
            "0".into(),
        ),
        (
            "INBOXGROVE_DELIVERABILITY__CHECK_NOW_MIN_SECS".into(),
            "0".into(),
        ),
        // Each app its own master key, in memory: nothing is written to the working dir.
        (
            "INBOXGROVE_SECRET_KEY".into(),
            crypto::generate_key_base64().expose_secret().to_string(),
        ),
    ];
    vars.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    Settings::load_from(&path, vars).expect("test settings load")
}

pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, &[]).await
}

pub async fn spawn_app_with(pool: PgPool, extra: &[(&str, &str)]) -> TestApp {
    startup::migrate(&pool).await.expect("migrations");
    spawn_on(pool, settings(extra)).await
}

/// Starts the app without touching the database (for readiness tests).
pub async fn spawn_on(pool: PgPool, settings: Settings) -> TestApp {
    let app = Application::build(settings, pool.clone(), "127.0.0.1:0".parse().unwrap())
        .await
        .expect("app builds");
    let address = format!("http://{}", app.local_addr());
    let state = app.state().clone();
    let metrics = app.metrics_addr().map(|a| format!("http://{a}"));
    tokio::spawn(app.run_until_stopped());
    TestApp {
        address,
        pool,
        state,
        client: browser(),
        metrics,
    }
}

/// A browser-like client: keeps cookies, does not follow redirects, names itself.
pub fn browser() -> Client {
    Client::builder()
        .user_agent("Mozilla/5.0 (InboxGrove tests)")
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .unwrap()
}

pub struct Signup<'a> {
    pub company: &'a str,
    pub email: &'a str,
    pub password: &'a str,
    pub website: &'a str,
}

pub const PASSWORD: &str = "correct-horse-battery";

impl<'a> Signup<'a> {
    pub fn valid(email: &'a str) -> Self {
        Self {
            company: "Acme Outreach",
            email,
            password: PASSWORD,
            website: "acme.io",
        }
    }
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// The signup POST, ready for extra headers.
    pub fn signup_request(&self, client: &Client, s: &Signup<'_>) -> RequestBuilder {
        client.post(self.url("/api/auth/signup")).form(&[
            ("company", s.company),
            ("email", s.email),
            ("password", s.password),
            ("website", s.website),
        ])
    }

    /// Signs up as a new customer does: the signup, then the verification link from the mail
    /// (the client ends signed in, with a verified address, and this is the link's response).
    /// When no link comes (bad input, an address that already has an account), the signup's
    /// own response.
    pub async fn signup_with(&self, client: &Client, s: &Signup<'_>) -> Response {
        let started = chrono::Utc::now();
        let res = self.signup_raw(client, s).await;
        if !(res.status().is_success() || res.status().is_redirection()) {
            return res;
        }
        match self.mailed_token(s.email, "verify:", started).await {
            Some(token) => self.verify_with(client, &token).await,
            None => res,
        }
    }

    /// The signup alone: no link opened.
    pub async fn signup_raw(&self, client: &Client, s: &Signup<'_>) -> Response {
        self.signup_request(client, s).send().await.unwrap()
    }

    /// Opens a verification link's page action with `token`.
    pub async fn verify_with(&self, client: &Client, token: &str) -> Response {
        client
            .post(self.url("/api/auth/verify_email"))
            .form(&[("token", token)])
            .send()
            .await
            .unwrap()
    }

    /// The token of the newest link mailed to `email` since `since` whose outbox key starts
    /// with `kind` (`verify:`, `reset:`), waiting a moment for mail sent after the response.
    pub async fn mailed_token(
        &self,
        email: &str,
        kind: &str,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Option<String> {
        let to = email.trim().to_lowercase();
        for _ in 0..40 {
            let body: Option<String> = sqlx::query_scalar(
                "SELECT body_text FROM mail_outbox
                  WHERE to_addr = $1 AND idempotency_key LIKE $2 || '%' AND created_at >= $3
                  ORDER BY created_at DESC LIMIT 1",
            )
            .bind(&to)
            .bind(kind)
            .bind(since)
            .fetch_optional(&self.pool)
            .await
            .unwrap();
            if let Some(body) = body {
                return Some(token_in(&body));
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        None
    }

    pub async fn signup(&self, s: &Signup<'_>) -> Response {
        self.signup_with(&self.client, s).await
    }

    pub async fn login_with(&self, client: &Client, email: &str, password: &str) -> Response {
        self.login_next(client, email, password, "").await
    }

    pub async fn login_next(
        &self,
        client: &Client,
        email: &str,
        password: &str,
        next: &str,
    ) -> Response {
        client
            .post(self.url("/api/auth/login"))
            .form(&[("email", email), ("password", password), ("next", next)])
            .send()
            .await
            .unwrap()
    }

    /// A GET that carries only the given `Cookie` header, as someone replaying it would.
    pub async fn get_with_cookie(&self, path: &str, cookie: &str) -> Response {
        Client::builder()
            .redirect(Policy::none())
            .build()
            .unwrap()
            .get(self.url(path))
            .header("cookie", cookie)
            .send()
            .await
            .unwrap()
    }

    pub async fn login(&self, email: &str, password: &str) -> Response {
        self.login_with(&self.client, email, password).await
    }

    /// Calls a server function that takes no arguments (a bodiless POST).
    pub async fn call(&self, client: &Client, path: &str) -> Response {
        client.post(self.url(path)).send().await.unwrap()
    }

    pub async fn get(&self, path: &str) -> Response {
        self.client.get(self.url(path)).send().await.unwrap()
    }

    pub async fn count(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT count(*) FROM {table}")).await
    }

    /// One integer from the test database.
    pub async fn scalar(&self, sql: &str) -> i64 {
        sqlx::query_scalar(sql).fetch_one(&self.pool).await.unwrap()
    }
}

/// A form POST as `client`: a server function called with arguments.
pub async fn post(client: &Client, app: &TestApp, path: &str, form: &[(&str, &str)]) -> Response {
    client.post(app.url(path)).form(form).send().await.unwrap()
}

impl TestApp {
    /// `owner` invites `email` as `role`; returns the mailed invitation's token.
    pub async fn invite(&self, owner: &Client, email: &str, role: &str) -> String {
        let since = chrono::Utc::now();
        let res = post(
            owner,
            self,
            "/api/team/invite",
            &[("email", email), ("role", role)],
        )
        .await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        self.mailed_token(email, "invite:", since)
            .await
            .expect("an invitation mail")
    }

    /// A new person accepts an invitation by choosing a password; their signed-in client.
    pub async fn join(&self, token: &str) -> Client {
        let client = browser();
        let form = [("token", token), ("password", "a-new-members-passphrase")];
        let res = post(&client, self, "/api/auth/accept_invitation", &form).await;
        assert!(res.status().is_success(), "{}", res.text().await.unwrap());
        client
    }
}

/// The `token=` value of the link in a mail body.
pub fn token_in(body: &str) -> String {
    let start = body.find("token=").expect("a link with a token") + "token=".len();
    body[start..]
        .split(|c: char| c.is_whitespace())
        .next()
        .unwrap()
        .to_string()
}

/// The full `Set-Cookie` line for the session cookie, if the response sets it.
pub fn session_set_cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|c| c.starts_with(&format!("{SESSION_COOKIE}=")))
        .map(str::to_string)
}

/// `name=value` of the session cookie, to replay by hand.
pub fn session_pair(headers: &HeaderMap) -> String {
    session_set_cookie(headers)
        .expect("session cookie set")
        .split(';')
        .next()
        .unwrap()
        .to_string()
}

pub async fn json(res: Response) -> serde_json::Value {
    res.json().await.expect("json body")
}

/// A sandbox page's URL (built from public_url) on the test app's own address.
pub fn local(app: &TestApp, url: &str) -> String {
    // The sandbox builds URLs from public_url; the test app listens elsewhere.
    let path = url
        .split_once("/sandbox/")
        .map(|(_, p)| format!("/sandbox/{p}"))
        .unwrap();
    app.url(&path)
}

/// Submits a card on a sandbox page (Checkout, or the portal's "Update card").
pub async fn pay(app: &TestApp, checkout: &str, card: &str) -> reqwest::Response {
    Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
        .post(local(app, checkout))
        .header("origin", &app.address)
        .form(&[("card", card)])
        .send()
        .await
        .unwrap()
}
