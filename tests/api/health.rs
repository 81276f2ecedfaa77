//! Liveness and readiness probes.

use passenger_api::config::Config;
use passenger_api::startup::Application;

use crate::helpers::spawn_app;

#[tokio::test]
async fn healthz_and_readyz_are_200_when_the_database_answers() {
    let app = spawn_app().await;
    assert_eq!(app.get("/healthz").await.status(), 200);
    let ready = app.get("/readyz").await;
    assert_eq!(ready.status(), 200);
    assert_eq!(ready.text().await.unwrap(), "ready\n");
}

#[tokio::test]
async fn readyz_is_503_while_the_database_is_unreachable_and_healthz_stays_200() {
    // Nothing listens on port 1; the pool connects lazily, so the server still starts.
    let mut config = Config::with_database_url("postgres://postgres:secret@127.0.0.1:1/nowhere");
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.no_migrate = true;
    config.db_acquire_timeout_secs = 1;
    let app = Application::build(config).await.expect("starts without a database");
    let base = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));

    let ready = reqwest::get(format!("{base}/readyz")).await.unwrap();
    assert_eq!(ready.status(), 503);
    assert_eq!(reqwest::get(format!("{base}/healthz")).await.unwrap().status(), 200);
}
