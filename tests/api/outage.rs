//! Database outages on a PostgreSQL server of the test's own (initdb + pg_ctl on a free
//! port in a temporary directory), stopped and started while the service runs.

use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use passenger_api::config::Config;
use passenger_api::startup::Application;
use serde_json::{Value, json};

/// A private PostgreSQL cluster.
struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    as_root: bool,
}

impl OwnPostgres {
    /// Creates (but does not start) a cluster, or `None` when PostgreSQL's server binaries
    /// are not installed.
    fn create() -> Option<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path().join("bin"))
            .find(|b| b.join("initdb").is_file())?;
        let dir = tempfile::Builder::new().prefix("passenger-api-pg").tempdir().unwrap();
        let as_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
        if as_root {
            assert!(
                Command::new("chown").args(["-R", "postgres:postgres"]).arg(dir.path()).status().unwrap().success()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let pg = Self { bin, dir, port, as_root };
        let data = pg.data();
        pg.run("initdb", &["-D", &data, "-A", "trust", "-U", "postgres", "--no-sync"]);
        Some(pg)
    }

    fn data(&self) -> String {
        self.dir.path().join("data").display().to_string()
    }

    fn run(&self, tool: &str, args: &[&str]) {
        let program = self.bin.join(tool);
        let mut command = if self.as_root {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&program);
            c
        } else {
            Command::new(&program)
        };
        let output = command.args(args).output().unwrap();
        assert!(output.status.success(), "{tool} failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    fn start(&self) {
        let options =
            format!("-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", self.port, self.dir.path().display());
        let log = self.dir.path().join("log").display().to_string();
        self.run("pg_ctl", &["-D", &self.data(), "-o", &options, "-l", &log, "-w", "start"]);
    }

    fn stop(&self) {
        self.run("pg_ctl", &["-D", &self.data(), "-m", "fast", "-w", "stop"]);
    }

    fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = Command::new(self.bin.join("pg_ctl")).args(["-D", &self.data(), "-m", "immediate", "stop"]).output();
        if self.as_root {
            let _ = Command::new("runuser")
                .args(["-u", "postgres", "--"])
                .arg(self.bin.join("pg_ctl"))
                .args(["-D", &self.data(), "-m", "immediate", "stop"])
                .output();
        }
    }
}

async fn start_app(url: &str) -> String {
    let mut config = Config::with_database_url(url);
    config.bind = "127.0.0.1:0".parse().unwrap();
    config.db_acquire_timeout_secs = 2;
    config.playground_assets_dir = "/nonexistent".into();
    let app = Application::build(config).await.expect("starts whatever the database does");
    let address = format!("http://127.0.0.1:{}", app.port());
    tokio::spawn(app.run_until_stopped(std::future::pending()));
    address
}

/// A private cluster, or `None` (with a note) when PostgreSQL's server binaries are missing.
fn own_postgres() -> Option<OwnPostgres> {
    let pg = OwnPostgres::create();
    if pg.is_none() {
        eprintln!("NOTE: PostgreSQL server binaries not installed; the outage test checks nothing here");
    }
    pg
}

/// A started private cluster and a ready service on it.
async fn running() -> Option<(OwnPostgres, String)> {
    let pg = own_postgres()?;
    pg.start();
    let address = start_app(&pg.url()).await;
    wait_for(&format!("{address}/readyz"), 200, Duration::from_secs(10)).await;
    Some((pg, address))
}

async fn status(url: &str) -> u16 {
    reqwest::get(url).await.unwrap().status().as_u16()
}

async fn wait_for(url: &str, expected: u16, within: Duration) {
    let started = Instant::now();
    while started.elapsed() < within {
        if status(url).await == expected {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{url} did not answer {expected} within {within:?}");
}

async fn graphql(address: &str, query: &str) -> (u16, Value) {
    let response = reqwest::Client::new()
        .post(format!("{address}/graphql"))
        .json(&json!({ "query": query }))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

async fn assert_fast_503(address: &str) {
    let started = Instant::now();
    let (code, body) = graphql(address, "{ passengers { totalCount } }").await;
    assert_eq!(code, 503, "{body}");
    assert_eq!(body["errors"][0]["extensions"]["code"], "SERVICE_UNAVAILABLE");
    let legacy = status(&format!("{address}/passengerlist")).await;
    assert_eq!(legacy, 503);
    assert!(started.elapsed() < Duration::from_millis(1500), "503s must be fast, took {:?}", started.elapsed());
    assert_eq!(status(&format!("{address}/healthz")).await, 200);
    assert_eq!(status(&format!("{address}/hello")).await, 201, "routes without the database keep working");
}

#[tokio::test]
async fn requests_get_a_fast_503_during_an_outage_and_succeed_again_after_it_without_a_restart() {
    let Some((pg, address)) = running().await else { return };
    let (_, created) = graphql(&address, r#"mutation { createPassenger(input: { name: "Survivor" }) { id } }"#).await;
    assert!(created["data"]["createPassenger"]["id"].is_string(), "{created}");

    pg.stop();
    wait_for(&format!("{address}/readyz"), 503, Duration::from_secs(5)).await;
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert_fast_503(&address).await;

    pg.start();
    wait_for(&format!("{address}/readyz"), 200, Duration::from_secs(15)).await;
    let (code, body) =
        graphql(&address, r#"{ passengers(filter: { name: { eq: "Survivor" } }) { totalCount } }"#).await;
    assert_eq!((code, &body["data"]["passengers"]["totalCount"]), (200, &json!(1)), "{body}");
}

#[tokio::test]
async fn a_database_restart_under_load_gives_only_200s_and_503s_and_recovers() {
    let Some((pg, address)) = running().await else { return };
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load: Vec<_> = (0..16)
        .map(|i| {
            let (address, stop) = (address.clone(), stop.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut statuses = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let query = if i % 2 == 0 {
                        json!({ "query": "{ passengers(first: 5) { totalCount nodes { name } } }" })
                    } else {
                        json!({ "query": format!("mutation {{ createPassenger(input: {{ name: \"Load {i}\" }}) {{ id }} }}") })
                    };
                    let response = client.post(format!("{address}/graphql")).json(&query).send().await;
                    let response = response.unwrap_or_else(|e| panic!("request failed outright: {e}"));
                    let status = response.status().as_u16();
                    let body: Value = response.json().await.unwrap_or(Value::Null);
                    let code = body["errors"][0]["extensions"]["code"].as_str().unwrap_or("ok").to_owned();
                    statuses.push((status, code));
                }
                statuses
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(500)).await;
    pg.stop();
    tokio::time::sleep(Duration::from_secs(2)).await;
    pg.start();
    wait_for(&format!("{address}/readyz"), 200, Duration::from_secs(15)).await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut all = Vec::new();
    for task in load {
        all.extend(task.await.unwrap());
    }
    let odd: Vec<_> = all
        .iter()
        .filter(|(status, code)| !matches!((status, code.as_str()), (200, "ok") | (200 | 503, "SERVICE_UNAVAILABLE")))
        .collect();
    assert!(odd.is_empty(), "only successes and SERVICE_UNAVAILABLE expected, got {odd:?}");
    assert!(all.iter().any(|(_, code)| code == "SERVICE_UNAVAILABLE"), "the outage was noticed");
    assert_eq!(
        all.last().map(|(s, c)| (*s, c.as_str())),
        Some((200, "ok")),
        "requests succeed again after the restart"
    );
    let (code, body) = graphql(&address, "{ passengers(first: 1) { totalCount } }").await;
    assert_eq!(code, 200, "{body}");
}

#[tokio::test]
async fn the_service_starts_with_the_database_down_and_recovers_when_it_comes_up() {
    let Some(pg) = own_postgres() else { return };
    let address = start_app(&pg.url()).await;
    assert_eq!(status(&format!("{address}/readyz")).await, 503);
    assert_fast_503(&address).await;

    pg.start();
    wait_for(&format!("{address}/readyz"), 200, Duration::from_secs(15)).await;
    let (code, body) = graphql(&address, r#"mutation { createPassenger(input: { name: "Late" }) { name } }"#).await;
    assert_eq!(code, 200);
    assert_eq!(body["data"]["createPassenger"]["name"], "Late", "migrations ran once the database came up: {body}");
}
