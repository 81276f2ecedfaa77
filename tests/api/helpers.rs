//! Test harness: a fresh database per test, and a real server on a random port.
#![allow(dead_code)]

use std::path::PathBuf;

use passenger_api::config::Config;
use passenger_api::startup::Application;
use sea_orm::{ConnectionTrait, Database, DatabaseConnection};

/// A database of the test's own, dropped (PostgreSQL) or deleted (SQLite) at the end.
pub struct TestDb {
    /// URL of the database.
    pub url: String,
    postgres: Option<(String, String)>,
    _dir: Option<tempfile::TempDir>,
}

impl TestDb {
    /// An empty database on the backend chosen by `TEST_DATABASE_URL`.
    pub async fn new() -> Self {
        match std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty()) {
            Some(admin_url) => Self::postgres(admin_url).await,
            None => Self::sqlite(),
        }
    }

    /// An empty SQLite file in a temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}", dir.path().join("test.db").display());
        Self { url, postgres: None, _dir: Some(dir) }
    }

    /// A new PostgreSQL database on the server of `admin_url`.
    pub async fn postgres(admin_url: String) -> Self {
        let name = format!("passenger_api_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
        admin.execute_unprepared(&format!("CREATE DATABASE {name}")).await.expect("create test database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self { url: url.to_string(), postgres: Some((admin_url, name)), _dir: None }
    }

    /// A new PostgreSQL database that is a copy of this one, page for page (`CREATE DATABASE …
    /// TEMPLATE`): the same rows in the same heap order. Close every pool on this database
    /// first.
    pub async fn copy(&self) -> Self {
        let (admin_url, source) = self.postgres.clone().expect("a PostgreSQL database");
        let name = format!("passenger_api_test_{}", uuid::Uuid::new_v4().simple());
        let admin = Database::connect(&admin_url).await.expect("connect to TEST_DATABASE_URL");
        admin.execute_unprepared(&format!("CREATE DATABASE {name} TEMPLATE {source}")).await.expect("copy database");
        admin.close().await.ok();
        let mut url = url::Url::parse(&admin_url).expect("TEST_DATABASE_URL is a URL");
        url.set_path(&name);
        Self { url: url.to_string(), postgres: Some((admin_url, name)), _dir: None }
    }

    /// Whether this is a PostgreSQL database.
    pub fn is_postgres(&self) -> bool {
        self.postgres.is_some()
    }

    /// A connection pool on this database, with the service's settings.
    pub async fn connect(&self) -> DatabaseConnection {
        passenger_api::db::connect(&Config::with_database_url(&self.url)).await.expect("connect to test database")
    }

    /// A pool on this database with the migrations applied.
    pub async fn migrated(&self) -> DatabaseConnection {
        let db = self.connect().await;
        migration::run(&db).await.expect("migrations");
        db
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((admin_url, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime; do the async cleanup on a thread of its own.
        let _ = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            rt.block_on(async {
                if let Ok(admin) = Database::connect(&admin_url).await {
                    let _ = admin.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)")).await;
                    let _ = admin.close().await;
                }
            });
        })
        .join();
    }
}

/// A PostgreSQL admin URL when the suite runs on PostgreSQL; `None` (and a loud note) otherwise.
pub fn postgres_only(test: &str) -> Option<String> {
    let url = std::env::var("TEST_DATABASE_URL").ok().filter(|u| !u.is_empty());
    if url.is_none() {
        eprintln!("NOTE: {test} needs PostgreSQL; it runs when TEST_DATABASE_URL is set (see .ci/run)");
    }
    url
}

/// Path of the historical dataset shipped in the repository (`data/titanic.csv`).
pub fn titanic_csv() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/data/titanic.csv"))
}

/// The bundled historical passengers, parsed by the service's own importer.
pub fn titanic_rows() -> Vec<passenger_api::service::PassengerData> {
    passenger_api::seed::bundled().expect("the bundled dataset parses")
}

/// The names of the passengers an SQLite database file holds by itself: the file alone is
/// copied (not its `-wal` log) and read, as a backup made by copying it would be. Also
/// asserts the log is gone or empty.
pub async fn names_in_file_alone(path: &std::path::Path) -> Vec<String> {
    let wal = PathBuf::from(format!("{}-wal", path.display()));
    let wal_size = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_size, 0, "{} still holds {wal_size} bytes", wal.display());
    let dir = tempfile::tempdir().expect("temp dir");
    let copy = dir.path().join("copy.db");
    std::fs::copy(path, &copy).expect("copy the database file");
    let db = Database::connect(format!("sqlite://{}?mode=ro", copy.display())).await.expect("open the copy");
    let rows = db
        .query_all_raw(sea_orm::Statement::from_string(
            sea_orm::DatabaseBackend::Sqlite,
            "SELECT name FROM passengers ORDER BY seq",
        ))
        .await
        .expect("read the copy");
    rows.iter().map(|row| row.try_get_by_index::<Option<String>>(0).unwrap().unwrap_or_default()).collect()
}

/// A running server on a random port with its own database.
pub struct TestApp {
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// A pool on the server's database, for arranging and asserting.
    pub db: DatabaseConnection,
    /// HTTP client.
    pub client: reqwest::Client,
    /// The server's configuration.
    pub config: Config,
    _test_db: TestDb,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// Starts the server on a fresh, migrated database with default settings.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the server on a fresh, migrated database, after `configure` adjusted the settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Config)) -> TestApp {
    spawn_app_on(TestDb::new().await, configure).await
}

/// Starts the server on `test_db` (not yet created, for SQLite), after `configure` adjusted
/// the settings.
pub async fn spawn_app_on(test_db: TestDb, configure: impl FnOnce(&mut Config)) -> TestApp {
    let mut config = Config::with_database_url(&test_db.url);
    config.bind = "127.0.0.1:0".parse().expect("addr");
    // Tests arrange their own data; the zero-setup seeding of new files has tests of its own.
    config.no_seed = true;
    configure(&mut config);
    let app = Application::build(config.clone()).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(app.run_until_stopped(async move {
        let _ = stopped.await;
    }));
    let db = test_db.connect().await;
    TestApp { address, db, client: reqwest::Client::new(), config, _test_db: test_db, stop: Some(stop) }
}

/// Starts a second server (another replica) on the database of `app`; returns its address.
pub async fn spawn_replica(app: &TestApp) -> String {
    let mut config = app.config.clone();
    config.bind = "127.0.0.1:0".parse().expect("addr");
    let other = Application::build(config).await.expect("build replica");
    let address = format!("http://127.0.0.1:{}", other.port());
    tokio::spawn(other.run_until_stopped(std::future::pending()));
    address
}

/// A pool on `test_db` that counts the SELECT statements it runs.
pub async fn counting_selects(
    test_db: &TestDb,
) -> (DatabaseConnection, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let mut counted = test_db.connect().await;
    let statements = std::sync::Arc::new(AtomicUsize::new(0));
    let seen = statements.clone();
    counted.set_metric_callback(move |info| {
        if info.statement.sql.trim_start().to_uppercase().starts_with("SELECT") {
            seen.fetch_add(1, Ordering::SeqCst);
        }
    });
    (counted, statements)
}

impl TestApp {
    /// Starts a graceful shutdown, as SIGTERM does.
    pub fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Seeds the legacy CSV through the service's importer.
    pub async fn seed_titanic(&self) {
        passenger_api::seed::insert(&self.db, titanic_rows(), false).await.expect("seed");
    }

    /// `GET path`.
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.client.get(format!("{}{path}", self.address)).send().await.expect("request")
    }
}
