//! The binary itself: help, subcommands, the start-up log line, signals.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TestDb, names_in_file_alone, titanic_csv};

const BIN: &str = env!("CARGO_BIN_EXE_passenger-api");

fn run(args: &[&str], database_url: &str) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .env("DATABASE_URL", database_url)
        .env("LOG_FORMAT", "json")
        .output()
        .expect("run passenger-api")
}

#[test]
fn help_documents_every_option_with_its_environment_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    for env in ["DATABASE_URL", "BIND", "NO_MIGRATE", "LOG_LEVEL", "LOG_FORMAT", "MAX_PAGE_SIZE", "BODY_LIMIT_BYTES"] {
        assert!(help.contains(&format!("[env: {env}")), "--help lacks {env}:\n{help}");
    }
    for command in ["serve", "migrate", "schema", "seed"] {
        assert!(help.contains(command), "--help lacks the {command} subcommand");
    }
}

#[test]
fn schema_prints_the_committed_sdl() {
    let out = Command::new(BIN).arg("schema").output().unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(String::from_utf8(out.stdout).unwrap(), committed);
}

#[tokio::test]
async fn migrate_then_seed_from_the_command_line_fill_the_database() {
    let test_db = TestDb::new().await;
    let out = run(&["migrate"], &test_db.url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let csv = titanic_csv();
    let out = run(&["seed", csv.to_str().unwrap()], &test_db.url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = run(&["seed", "--if-empty", csv.to_str().unwrap()], &test_db.url);
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing seeded"));
    let db = test_db.connect().await;
    assert_eq!(passenger_api::service::passenger::count(&db).await.unwrap(), 887);
}

#[tokio::test]
async fn migrate_down_to_legacy_hands_a_postgres_database_back_and_refuses_sqlite() {
    if let Some(admin) = crate::helpers::postgres_only("migrate_down_to_legacy_hands_a_postgres_database_back") {
        let test_db = TestDb::postgres(admin).await;
        assert!(run(&["migrate"], &test_db.url).status.success());
        assert!(run(&["seed"], &test_db.url).status.success());
        let out = run(&["migrate", "--down-to-legacy"], &test_db.url);
        let log = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success() && log.contains("adoption undone"), "{log}");
        use sea_orm::ConnectionTrait;
        let db = test_db.connect().await;
        let row = db
            .query_one_raw(sea_orm::Statement::from_string(
                sea_orm::DatabaseBackend::Postgres,
                "SELECT count(*) AS n, (SELECT count(*) FROM pg_class WHERE relname = 'passengers') AS p, \
                 (SELECT count(*) FROM information_schema.columns WHERE table_name = 'titanic') AS c FROM titanic",
            ))
            .await
            .unwrap()
            .unwrap();
        let counts: (i64, i64, i64) =
            (row.try_get("", "n").unwrap(), row.try_get("", "p").unwrap(), row.try_get("", "c").unwrap());
        assert_eq!(counts, (887, 0, 9), "rows kept, no `passengers`, the nine legacy columns");
        let again = run(&["migrate", "--down-to-legacy"], &test_db.url);
        assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to undo"));
    }
    let sqlite = TestDb::sqlite();
    let out = run(&["migrate", "--down-to-legacy"], &sqlite.url);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("only a PostgreSQL database"));
}

#[tokio::test]
async fn seed_without_a_file_loads_the_bundled_passengers_and_if_empty_then_writes_nothing() {
    let test_db = TestDb::new().await;
    let out = run(&["seed"], &test_db.url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("the bundled historical passengers"));
    let db = test_db.connect().await;
    use sea_orm::{EntityTrait, QueryOrder};
    let rows = entity::passenger::Entity::find().order_by_asc(entity::passenger::Column::Seq).all(&db).await.unwrap();
    assert_eq!(rows.len(), 887);
    assert_eq!(rows[0].name.as_deref(), Some("Mr. Owen Harris Braund"));
    assert_eq!(rows[886].name.as_deref(), Some("Mr. Patrick Dooley"));
    let out = run(&["seed", "--if-empty"], &test_db.url);
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing seeded"));
    assert_eq!(passenger_api::service::passenger::count(&db).await.unwrap(), 887);
}

/// `seed` and `migrate` leave an SQLite database whole in its file: a copy of the file alone
/// (a backup made by `cp`) holds every passenger.
#[test]
fn seed_and_migrate_leave_the_sqlite_file_whole_without_its_log() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("copied.db");
    let url = format!("sqlite://{}", path.display());
    let out = run(&["migrate"], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let runtime = tokio::runtime::Runtime::new().unwrap();
    assert!(runtime.block_on(names_in_file_alone(&path)).is_empty());
    let out = run(&["seed"], &url);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let names = runtime.block_on(names_in_file_alone(&path));
    assert_eq!(names.len(), 887);
    assert_eq!(names[0], "Mr. Owen Harris Braund");
}

#[test]
fn the_default_command_in_an_empty_directory_serves_the_historical_passengers() {
    // What a newcomer does: `cargo run --release` in the checkout, then curl the list.
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["--bind", "127.0.0.1:0"])
        .current_dir(dir.path())
        .env_remove("DATABASE_URL")
        .env_remove("NO_SEED")
        .env("LOG_FORMAT", "json")
        .env("PLAYGROUND_ASSETS_DIR", "/nonexistent")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut log = String::new();
    let mut lines = std::io::BufReader::new(child.stderr.take().unwrap());
    let address = loop {
        use std::io::BufRead;
        let mut line = String::new();
        assert!(lines.read_line(&mut line).unwrap() > 0, "server exited:\n{log}");
        log.push_str(&line);
        if let Some(at) = line.find("listening on http://") {
            let rest = &line[at + "listening on http://".len()..];
            break rest[..rest.find(|c: char| c == '"' || c.is_whitespace()).unwrap()].to_owned();
        }
    };
    assert!(log.contains("loaded the bundled historical passengers"), "{log}");
    assert!(dir.path().join("passenger-api.db").is_file());
    let body = http_get(&address, "/passengerlist");
    let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
    let _ = child.wait();
    let (head, json) = body.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let list: serde_json::Value = serde_json::from_str(json).unwrap();
    let list = list.as_array().unwrap();
    assert_eq!(list.len(), 887);
    assert_eq!(list[0]["name"], "Mr. Owen Harris Braund");
    assert_eq!(list[886]["name"], "Mr. Patrick Dooley");
}

/// A plain HTTP/1.1 GET with `Connection: close`; the raw answer.
fn http_get(address: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(address).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\r\n").unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer
}

#[tokio::test]
async fn seed_with_a_bad_file_exits_non_zero_naming_the_line() {
    let test_db = TestDb::new().await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.csv");
    std::fs::write(
        &path,
        "Survived,Pclass,Name,Sex,Age,Siblings_Spouses_Aboard,Parents_Children_Aboard,Fare\n0,3,A,male,old,0,0,1\n",
    )
    .unwrap();
    let out = run(&["seed", path.to_str().unwrap()], &test_db.url);
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("line 2: Age: expected a number, got \\\"old\\\"")
            || stderr.contains("line 2: Age: expected a number, got \"old\""),
        "{stderr}"
    );
    let db = test_db.migrated().await;
    assert_eq!(passenger_api::service::passenger::count(&db).await.unwrap(), 0);
}

#[test]
fn serve_logs_where_it_listens_and_the_database_without_its_password_and_stops_on_sigterm() {
    let child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--no-migrate"])
        .env("DATABASE_URL", "postgres://app:hunter2-secret@127.0.0.1:1/passengers")
        .env("LOG_FORMAT", "json")
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(700));
    let kill = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(kill.success());
    let started = Instant::now();
    let out = child.wait_with_output().unwrap();
    assert!(started.elapsed() < Duration::from_secs(5), "did not stop promptly on SIGTERM");
    assert!(out.status.success(), "exit status {:?}", out.status);
    let log = String::from_utf8(out.stderr).unwrap();
    assert!(log.contains("listening on http://127.0.0.1:"), "{log}");
    assert!(log.contains("postgres://app:***@127.0.0.1:1/passengers"), "{log}");
    assert!(!log.contains("hunter2-secret"), "password leaked: {log}");
    assert!(log.contains("shutdown requested"), "{log}");
}
