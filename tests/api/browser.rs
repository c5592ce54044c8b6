//! Pages checked in a real browser (Chromium through chromedriver), with a
//! screenshot saved for people to look at.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use fantoccini::{Client, ClientBuilder, Locator};
use serde_json::json;

/// Chromium driven through its own chromedriver, stopped with the test.
pub struct Browser {
    pub client: Client,
    _driver: tokio::process::Child,
    _profile: tempfile::TempDir,
}

impl Browser {
    pub async fn start() -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let driver = tokio::process::Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("chromedriver runs (scripts/test-tools installs chromium and chromium-driver)");
        let profile = tempfile::tempdir().unwrap();
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": "/usr/bin/chromium",
                "args": [
                    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                    "--no-first-run", "--disable-background-networking",
                    "--disable-component-update", "--disable-sync",
                    "--window-size=1280,1600",
                    format!("--user-data-dir={}", profile.path().display()),
                ],
            }),
        );
        let connector = hyper_util::client::legacy::connect::HttpConnector::new();
        let url = format!("http://127.0.0.1:{port}");
        // chromedriver takes a moment to listen: retry the session until it does.
        let mut last = None;
        for _ in 0..100 {
            match ClientBuilder::new(connector.clone())
                .capabilities(caps.clone())
                .connect(&url)
                .await
            {
                Ok(client) => {
                    return Self {
                        client,
                        _driver: driver,
                        _profile: profile,
                    }
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no browser session: {last:?}");
    }

    /// Saves a screenshot under `target/screenshots/` and returns its path.
    pub async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/screenshots");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, self.client.screenshot().await.unwrap()).unwrap();
        println!("screenshot: {}", path.display());
        path
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_api_reference_renders_every_operation_offline() {
    let app = crate::helpers::spawn_app().await;
    let browser = Browser::start().await;
    let c = &browser.client;
    c.goto(&format!("{}/docs", app.base)).await.unwrap();
    c.wait()
        .at_most(Duration::from_secs(30))
        .for_element(Locator::Css(".opblock"))
        .await
        .expect("the reference lists operations (its script is served by docpush, not a CDN)");
    let operations = c.find_all(Locator::Css(".opblock")).await.unwrap();
    let doc = app.openapi().await;
    // One block per operation, and one per webhook event.
    let documented: usize = ["paths", "webhooks"]
        .iter()
        .flat_map(|section| doc[section].as_object().unwrap().values())
        .map(|item| item.as_object().unwrap().len())
        .sum();
    assert_eq!(operations.len(), documented);
    let title = c
        .find(Locator::Css(".info .title"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(title.contains("docpush"), "{title}");
    browser.screenshot("docs").await;
    browser.client.clone().close().await.unwrap();
}
