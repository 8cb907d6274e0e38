use reqwest::StatusCode;
use sqlx::PgPool;

use crate::helpers::*;

#[sqlx::test]
async fn the_dashboard_redirects_to_login_with_next_when_signed_out(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.get("/dashboard").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()["location"], "/login?next=%2Fdashboard");
}

#[sqlx::test]
async fn the_landing_page_shows_the_plans_from_settings(pool: PgPool) {
    let app = spawn_app_with(pool, &[("INBOXGROVE_PLANS__GROWTH__PRICE_CENTS", "12345")]).await;
    let html = app.get("/").await.text().await.unwrap();
    assert!(html.contains("Starter") && html.contains("Growth") && html.contains("Scale"));
    assert!(html.contains("$123.45"), "price read from settings");
    assert!(html.contains(">$49<"), "Starter at its configured $49");
}

#[sqlx::test]
async fn signup_and_login_pages_label_every_input(pool: PgPool) {
    let app = spawn_app(pool).await;
    let signup = app.get("/signup").await.text().await.unwrap();
    for (id, label) in [
        ("company", "Company name"),
        ("email", "Email"),
        ("password", "Password"),
    ] {
        let labelled = format!(
            "<label for=\"{id}\" class=\"block text-sm font-medium text-stone-800\">{label}</label>"
        );
        assert!(signup.contains(&labelled), "label {label:?} for {id}");
    }
    let login = app.get("/login").await.text().await.unwrap();
    assert!(login.contains("<label for=\"email\"") && login.contains("<label for=\"password\""));
}

#[sqlx::test]
async fn an_unknown_page_is_404(pool: PgPool) {
    let app = spawn_app(pool).await;
    assert_eq!(
        app.get("/no-such-page").await.status(),
        StatusCode::NOT_FOUND
    );
}

#[sqlx::test]
async fn health_is_ok_and_ready_when_postgres_answers(pool: PgPool) {
    let app = spawn_app(pool).await;
    let res = app.get("/health").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["status"], "ok");
    assert_eq!(app.get("/health/ready").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn ready_is_503_when_the_database_is_unreachable() {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .acquire_timeout(std::time::Duration::from_millis(500))
        .connect_lazy("postgres://postgres@127.0.0.1:1/nowhere")
        .unwrap();
    let app = spawn_on(pool, settings(&[])).await;
    let res = app.get("/health/ready").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(
        app.get("/health").await.status(),
        StatusCode::OK,
        "liveness unaffected"
    );
}

#[sqlx::test]
async fn the_staff_summary_is_for_staff_only(pool: PgPool) {
    use inboxgrove::server::{seed, state::AppState};
    let app = spawn_app(pool).await;
    seed::seed_demo(&AppState::new(settings(&[]), app.pool.clone()).unwrap())
        .await
        .unwrap();
    let summary = "/api/staff/summary";

    let anonymous = app.call(&browser(), summary).await;
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let customer = browser();
    let res = app
        .login_with(&customer, seed::DEMO_EMAIL, seed::DEMO_PASSWORD)
        .await;
    assert_eq!(res.headers()["location"], "/dashboard");
    let res = app.call(&customer, summary).await;
    assert_eq!(
        res.status(),
        StatusCode::NOT_FOUND,
        "never data for non-staff"
    );

    let staff = browser();
    let res = app
        .login_with(&staff, seed::STAFF_EMAIL, seed::STAFF_PASSWORD)
        .await;
    assert_eq!(res.headers()["location"], "/staff");
    let body = json(app.call(&staff, summary).await).await;
    assert_eq!(body, serde_json::json!([seed::STAFF_EMAIL, 1]));
}

#[test]
fn the_route_table_lists_exactly_the_pages_app_rs_routes() {
    let router = leptos_axum::generate_route_list(inboxgrove::app::App);
    assert_eq!(
        inboxgrove::routes::check_router(router.iter().map(|r| r.path())),
        Ok(())
    );
}

/// Every page the table marks as needing a signed-in user sends a visitor to the login page
/// at the door, with the page as `next` (parameters filled with a fresh id).
#[sqlx::test]
async fn a_visitor_is_sent_to_login_from_every_signed_in_page(pool: PgPool) {
    use inboxgrove::routes::PAGES;
    let app = spawn_app(pool).await;
    let id = uuid::Uuid::new_v4().to_string();
    for page in PAGES.iter().filter(|p| p.access.needs_sign_in()) {
        let path = page
            .path
            .split('/')
            .map(|seg| {
                if seg.starts_with(':') {
                    id.as_str()
                } else {
                    seg
                }
            })
            .collect::<Vec<_>>()
            .join("/");
        let res = app.get(&path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        let next = serde_urlencoded::to_string([("next", &path)]).unwrap();
        assert_eq!(
            res.headers()["location"],
            format!("/login?{next}"),
            "{path}"
        );
    }
}
