//! The binary itself: help, subcommands, the start-up log line, signals.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{TestDb, titanic_csv};

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
