//! The `passenger-api` binary: parse the command line, then serve, migrate, seed or print the schema.

use std::process::ExitCode;

use clap::Parser;
use passenger_api::config::{Cli, Command, Config, SeedArgs};
use passenger_api::error::AppError;
use passenger_api::seed::{self, SeedOutcome};
use passenger_api::startup::{Application, shutdown_signal};
use passenger_api::{db, graphql, telemetry};

/// jemalloc: a page of a thousand passengers allocates and frees many small values and a few
/// large buffers per request; glibc's allocator spent over a tenth of the list's CPU time
/// consolidating its free lists. jemalloc served the list about 10% faster in the load test
/// (mimalloc, also tried, was slower than glibc and held twice the memory).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[tokio::main]
async fn main() -> ExitCode {
    let Cli { command, config } = Cli::parse();
    match &command {
        Some(Command::Schema) => {
            print!("{}", graphql::sdl());
            return ExitCode::SUCCESS;
        }
        Some(Command::PersistedQueries { files, include_legacy_routes }) => {
            return persisted_queries(files, *include_legacy_routes);
        }
        _ => {}
    }
    telemetry::init(&config.log_level, config.log_format);
    let result = match command {
        None | Some(Command::Serve) => serve(config).await,
        Some(Command::Migrate { down_to_legacy: false }) => migrate(&config).await,
        Some(Command::Migrate { down_to_legacy: true }) => down_to_legacy(&config).await,
        Some(Command::Seed(args)) => seed(&config, args).await,
        Some(Command::Schema | Command::PersistedQueries { .. }) => Ok(()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            tracing::error!("{err}");
            eprintln!("passenger-api: {err}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), AppError> {
    let shutdown = shutdown_signal();
    let database = db::redact(&config.database_url);
    let app = Application::build(config).await?;
    tracing::info!(address = %app.local_addr(), database = %database, "listening on http://{}", app.local_addr());
    app.run_until_stopped(shutdown).await
}

async fn migrate(config: &Config) -> Result<(), AppError> {
    let db = db::connect(config).await?;
    passenger_api::health::report_migrations(&migration::run(&db).await?);
    db::checkpoint(&db).await;
    Ok(())
}

async fn down_to_legacy(config: &Config) -> Result<(), AppError> {
    let db = db::connect(config).await?;
    let database = db::redact(&config.database_url);
    match migration::down_to_legacy(&db).await? {
        migration::Undone::Reverted(n) => {
            tracing::info!(database = %database, migrations = n, "adoption undone: `titanic` is the legacy table again")
        }
        migration::Undone::NotAdopted => tracing::info!(database = %database, "not adopted; nothing to undo"),
    }
    Ok(())
}

async fn seed(config: &Config, args: SeedArgs) -> Result<(), AppError> {
    let (rows, source) = match (&args.file, args.synthetic) {
        (_, Some(n)) => (seed::synthetic(n, rand_seed()).collect(), format!("{n} synthetic passengers")),
        (Some(path), None) => {
            let file = std::fs::File::open(path)
                .map_err(|source| AppError::SeedFile { path: path.display().to_string(), source })?;
            (seed::parse_csv(std::io::BufReader::new(file))?, path.display().to_string())
        }
        (None, None) => (seed::bundled()?, "the bundled historical passengers".to_owned()),
    };
    let db = db::connect(config).await?;
    migration::run(&db).await?;
    let started = std::time::Instant::now();
    match seed::insert(&db, rows, args.if_empty).await? {
        SeedOutcome::Inserted(n) => tracing::info!(rows = n, elapsed = ?started.elapsed(), source = %source, "seeded"),
        SeedOutcome::SkippedNonEmpty(n) => tracing::info!(existing = n, "table not empty; nothing seeded (--if-empty)"),
    }
    db::checkpoint(&db).await;
    Ok(())
}

fn persisted_queries(files: &[std::path::PathBuf], include_legacy_routes: bool) -> ExitCode {
    let mut documents = Vec::new();
    if include_legacy_routes {
        for operation in passenger_api::rest::operations::all() {
            documents.push((operation.name().to_owned(), operation.source().to_owned()));
        }
    }
    for file in files {
        match std::fs::read_to_string(file) {
            Ok(body) => documents.push((file.file_stem().unwrap_or_default().to_string_lossy().into_owned(), body)),
            Err(e) => {
                eprintln!("passenger-api: cannot read {}: {e}", file.display());
                return ExitCode::FAILURE;
            }
        }
    }
    println!("{:#}", graphql::documents::manifest(&documents));
    ExitCode::SUCCESS
}

fn rand_seed() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64)
}
