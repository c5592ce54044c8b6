//! Builds the application (tests use the same path with port 0) and runs it until shutdown.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing_actix_web::TracingLogger;

use crate::config::{Secret, Settings};
use crate::crypto::SecretBox;
use crate::extraction::Reader;
use crate::state::AppState;
use crate::storage::BlobStore;
use crate::wake::{self, Wake};
use crate::{api, db, delivery, jobs, private_fs};

const DEV_ACCOUNT: &str = "development";
const DEV_CREDITS: i64 = 1000;
/// The development key is also written here, so the README's quickstart can read it.
pub const DEV_KEY_FILE: &str = "dev-api-key";

pub struct Application {
    state: AppState,
    listener: Option<TcpListener>,
    port: u16,
    dev_key: Option<String>,
}

/// Connects, migrates and builds the shared state, without starting anything.
pub async fn build_state(settings: Settings) -> anyhow::Result<AppState> {
    private_fs::create_dir(&settings.data_dir).with_context(|| {
        format!(
            "creating the data directory {}",
            settings.data_dir.display()
        )
    })?;
    if settings.database_url.is_none() {
        let file = settings.data_dir.join(db::SQLITE_FILE);
        private_fs::touch(&file).with_context(|| format!("creating {}", file.display()))?;
        for side in ["-wal", "-shm"] {
            let mut name = file.clone().into_os_string();
            name.push(side);
            private_fs::restrict_if_present(std::path::Path::new(&name))?;
        }
    }
    let db = db::connect(
        &settings.effective_database_url(),
        settings.pool_connections(),
    )
    .await?;
    db::migrate(&db).await?;
    let secrets = SecretBox::load_or_create(
        settings.secret_key.as_ref().map(Secret::expose),
        &settings.data_dir,
    )?;
    let blobs = BlobStore::open(
        settings.blob_store.as_deref(),
        &settings.data_dir.join("blobs"),
    )
    .await?;
    let allowed = Arc::new(settings.delivery.allowed_networks.clone());
    let http = delivery::webhook::client(settings.delivery.timeout, allowed.clone());
    let aws_http = delivery::aws::http_client(allowed);
    let sign_ins = Arc::new(api::SignInGuard::new(settings.sign_in.clone()));
    let jobs_ready = Wake::new(&db, wake::JOBS);
    let deliveries_ready = Wake::new(&db, wake::DELIVERIES);
    Ok(AppState {
        db,
        reader: Reader::start(
            settings.limits.max_pages,
            settings.limits.max_image_pixels,
            settings.ocr_threads,
        ),
        settings: Arc::new(settings),
        blobs,
        secrets,
        http,
        aws_http,
        sign_ins,
        jobs_ready,
        deliveries_ready,
    })
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let listener = if settings.api_enabled {
            Some(
                TcpListener::bind(&settings.bind)
                    .with_context(|| format!("binding {}", settings.bind))?,
            )
        } else {
            None
        };
        let port = listener
            .as_ref()
            .map_or(0, |l| l.local_addr().map_or(0, |a| a.port()));
        let state = build_state(settings).await?;
        let dev_key = ensure_dev_account(&state).await?;
        Ok(Self {
            state,
            listener,
            port,
            dev_key,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// The development key, when this start created the development account.
    pub fn dev_key(&self) -> Option<&str> {
        self.dev_key.as_deref()
    }

    /// Serves the API and runs the workers until `shutdown` completes, then
    /// stops taking work and waits (bounded) for the work in hand.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            state, listener, ..
        } = self;
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        if state.settings.workers_enabled {
            wake::listen(
                &state.db,
                vec![
                    (wake::JOBS, state.jobs_ready.clone()),
                    (wake::DELIVERIES, state.deliveries_ready.clone()),
                ],
                token.clone(),
                &tracker,
            );
            jobs::worker::spawn(&state, &token, &tracker);
            tracker.spawn(delivery::worker::run(
                state.clone(),
                token.clone(),
                tracker.clone(),
            ));
            tracker.spawn(jobs::retention::run(state.clone(), token.clone()));
        }
        let server = match listener {
            Some(listener) => {
                let data = web::Data::new(state.clone());
                let json_limit = state.settings.limits.max_json_bytes as usize;
                let server = HttpServer::new(move || {
                    App::new()
                        .wrap(TracingLogger::default())
                        .app_data(data.clone())
                        .app_data(api::query_config())
                        .app_data(api::path_config())
                        // Bodies read whole (every JSON body) stop at this size; uploads
                        // stream under their own limit.
                        .app_data(web::PayloadConfig::new(json_limit))
                        .configure(crate::dashboard::configure)
                        .configure(api::configure)
                })
                .workers(
                    std::thread::available_parallelism()
                        .map_or(2, |n| n.get())
                        .clamp(2, 8),
                )
                .disable_signals()
                // A client that reuses a connection just as the server closes it
                // sees its call fail unsent. Actix's 5 s default closes it under
                // a client that paused a few seconds to prepare its next upload;
                // 75 s is nginx's default.
                .keep_alive(std::time::Duration::from_secs(75))
                .shutdown_timeout(10)
                .listen(listener)?
                .run();
                Some(server)
            }
            None => None,
        };
        let handle = server.as_ref().map(|s| s.handle());
        let server_task = server.map(tokio::spawn);
        shutdown.await;
        tracing::info!("shutting down: no new work is taken");
        token.cancel();
        if let Some(h) = handle {
            h.stop(true).await;
        }
        if let Some(t) = server_task {
            t.await.ok();
        }
        tracker.close();
        if tokio::time::timeout(Duration::from_secs(30), tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!("work still in hand after 30 s; its leases will expire and another worker will resume it");
        }
        Ok(())
    }
}

/// On first start, creates the development account and prints its key.
async fn ensure_dev_account(state: &AppState) -> anyhow::Result<Option<String>> {
    if !state.settings.dev_account || db::accounts::count(&state.db).await? > 0 {
        return Ok(None);
    }
    let (_, key) = db::accounts::create(&state.db, DEV_ACCOUNT, DEV_CREDITS).await?;
    let path = state.settings.data_dir.join(DEV_KEY_FILE);
    private_fs::write(&path, key.as_bytes())
        .with_context(|| format!("creating {}", path.display()))?;
    println!(
        "Development account created with {DEV_CREDITS} credits. API key (also in {}):",
        path.display()
    );
    println!("{key}");
    Ok(Some(key))
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        tokio::signal::ctrl_c().await.ok();
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
