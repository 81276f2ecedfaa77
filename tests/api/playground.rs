//! The GraphiQL playground: local bundles, CDN fallback, and a real headless Chromium run.

use std::path::PathBuf;

use crate::helpers::spawn_app_with;

fn assets_dir() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/playground"))
}

#[tokio::test]
async fn the_page_uses_local_bundles_when_present_and_a_cdn_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    for name in ["react.production.min.js", "react-dom.production.min.js", "graphiql.min.js", "graphiql.min.css"] {
        std::fs::write(dir.path().join(name), format!("/* {name} */")).unwrap();
    }
    let local = spawn_app_with(|c| c.playground_assets_dir = dir.path().to_owned()).await;
    let page =
        local.client.get(format!("{}/graphql", local.address)).header("accept", "text/html").send().await.unwrap();
    let html = page.text().await.unwrap();
    assert!(html.contains("src=\"/playground/graphiql.min.js\""), "{html}");
    assert!(!html.contains("unpkg.com"), "{html}");
    let asset = local.get("/playground/graphiql.min.css").await;
    assert_eq!(asset.status(), 200);
    assert_eq!(asset.headers()["content-type"], "text/css");
    assert_eq!(asset.text().await.unwrap(), "/* graphiql.min.css */");
    assert_eq!(local.get("/playground/other.js").await.status(), 404);

    let empty = tempfile::tempdir().unwrap();
    let remote = spawn_app_with(|c| c.playground_assets_dir = empty.path().to_owned()).await;
    let html =
        remote.client.get(format!("{}/graphql", remote.address)).header("accept", "text/html").send().await.unwrap();
    assert!(html.text().await.unwrap().contains("https://unpkg.com/graphiql@4.0.3/graphiql.min.js"));
}

/// Needs Chromium, Node.js, `npm ci --prefix tests/browser` and the fetched bundles;
/// `.ci/run` provides them and sets `BROWSER_TESTS=1`.
#[tokio::test]
async fn the_playground_shows_the_docs_completes_and_runs_a_query_a_mutation_and_a_subscription_offline_in_chromium() {
    if std::env::var("BROWSER_TESTS").is_err() {
        eprintln!(
            "NOTE: set BROWSER_TESTS=1 (after scripts/fetch-playground-assets.sh and npm ci --prefix tests/browser) to run the browser test"
        );
        return;
    }
    assert!(assets_dir().join("graphiql.min.js").is_file(), "run scripts/fetch-playground-assets.sh first");
    let app = spawn_app_with(|c| c.playground_assets_dir = assets_dir()).await;
    app.seed_titanic().await;
    let screenshot = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/playground.png"));
    let _ = std::fs::remove_file(&screenshot);
    let output = tokio::process::Command::new("node")
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/browser/playground.mjs"))
        .arg(&app.address)
        .arg(&screenshot)
        .output()
        .await
        .expect("node runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "browser test failed:\n{stdout}\n{stderr}");
    for step in ["docs ok", "autocompletion ok", "query ok", "mutation ok", "subscription ok"] {
        assert!(stdout.contains(step), "{stdout}");
    }
    assert!(screenshot.is_file(), "screenshot saved");
    eprintln!("playground screenshot: {}", screenshot.display());
}
