//! The GraphiQL playground, served with its bundles from the service itself.
//!
//! Clusters are often air-gapped, and a GraphiQL page that loads React and GraphiQL from a
//! public CDN stays blank there. The bundles (GraphiQL 4, React 18 UMD builds) come from the
//! npm registry at build or install time (`scripts/fetch-playground-assets.sh`), are read
//! once at start-up from `PLAYGROUND_ASSETS_DIR`, and are served under `/playground/`. Only
//! when they are absent does the page fall back to a CDN, and start-up logs a warning saying so.

use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;

use axum::response::Html;

/// The bundles the page needs, with their content types and CDN fallbacks.
const FILES: [(&str, &str, &str); 4] = [
    ("react.production.min.js", "text/javascript", "https://unpkg.com/react@18.3.1/umd/react.production.min.js"),
    (
        "react-dom.production.min.js",
        "text/javascript",
        "https://unpkg.com/react-dom@18.3.1/umd/react-dom.production.min.js",
    ),
    ("graphiql.min.js", "text/javascript", "https://unpkg.com/graphiql@4.0.3/graphiql.min.js"),
    ("graphiql.min.css", "text/css", "https://unpkg.com/graphiql@4.0.3/graphiql.min.css"),
];

/// The playground page and its bundles, loaded once.
#[derive(Clone, Default)]
pub struct Playground {
    files: Arc<HashMap<&'static str, (&'static str, bytes::Bytes)>>,
    page: Arc<String>,
}

impl Playground {
    /// Loads the bundles from `dir`; falls back to the CDN (with a warning) when any is missing.
    pub fn load(dir: &Path) -> Self {
        let mut files = HashMap::new();
        for (name, content_type, _) in FILES {
            if let Ok(bytes) = std::fs::read(dir.join(name)) {
                files.insert(name, (content_type, bytes::Bytes::from(bytes)));
            }
        }
        let local = files.len() == FILES.len();
        if local {
            tracing::info!(dir = %dir.display(), "playground: serving GraphiQL from local assets");
        } else {
            tracing::warn!(
                dir = %dir.display(),
                "playground assets not found; the playground will load GraphiQL from a CDN and stay blank \
                 without internet access (run scripts/fetch-playground-assets.sh)"
            );
        }
        let url = |i: usize| if local { format!("/playground/{}", FILES[i].0) } else { FILES[i].2.to_owned() };
        let page = PAGE
            .replace("{react}", &url(0))
            .replace("{react_dom}", &url(1))
            .replace("{graphiql_js}", &url(2))
            .replace("{graphiql_css}", &url(3));
        Self { files: Arc::new(if local { files } else { HashMap::new() }), page: Arc::new(page) }
    }

    /// Whether the bundles are served locally.
    pub fn is_local(&self) -> bool {
        !self.files.is_empty()
    }

    /// The HTML page.
    pub fn page(&self) -> Html<String> {
        Html(self.page.as_ref().clone())
    }

    /// A bundle by file name, with its content type.
    pub fn file(&self, name: &str) -> Option<(&'static str, bytes::Bytes)> {
        self.files.get(name).map(|(content_type, bytes)| (*content_type, bytes.clone()))
    }
}

const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>passenger-api playground</title>
  <link rel="stylesheet" href="{graphiql_css}">
  <style>html, body, #graphiql { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="graphiql">Loading the playground…</div>
  <script src="{react}"></script>
  <script src="{react_dom}"></script>
  <script src="{graphiql_js}"></script>
  <script>
    const url = new URL('/graphql', window.location.href).href;
    const fetcher = GraphiQL.createFetcher({ url, subscriptionUrl: url.replace(/^http/, 'ws') });
    const defaultQuery = `# Welcome to passenger-api. Press the run button (or Ctrl-Enter).
{
  passengers(first: 5) {
    totalCount
    nodes { name age survived passengerClass }
  }
}
`;
    ReactDOM.createRoot(document.getElementById('graphiql')).render(
      React.createElement(GraphiQL, { fetcher, defaultQuery, defaultEditorToolsVisibility: true })
    );
  </script>
</body>
</html>
"#;
