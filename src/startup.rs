//! Builds the application (tests use the same path with port 0) and runs it
//! until shutdown. Each stage's service is built here with exactly what it
//! uses; the HTTP layer gets the services, the workers get their contexts.

use std::future::Future;
use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::{web, App, HttpServer};
use anyhow::Context;
use sea_orm::DatabaseConnection;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing_actix_web::TracingLogger;

use crate::accounts::Accounts;
use crate::config::{Secret, Settings};
use crate::crypto::SecretBox;
use crate::delivery::{Deliveries, Dispatcher, Metrics, Sender};
use crate::destinations::Destinations;
use crate::extraction::Reader;
use crate::jobs::retention::{self, Retention};
use crate::jobs::{worker, Jobs};
use crate::outbound::links::ResultLinks;
use crate::stages::Stages;
use crate::storage::BlobStore;
use crate::targets::UrlRules;
use crate::tasks::Tasks;
use crate::templates::Templates;
use crate::wake::{self, Wake};
use crate::{api, db, private_fs};

const DEV_ACCOUNT: &str = "development";
const DEV_CREDITS: i64 = 1000;
/// The development key is also written here, so the README's quickstart can read it.
pub const DEV_KEY_FILE: &str = "dev-api-key";

/// Every service of one app, each holding what it uses. Public so that tests
/// and the benchmarks can reach the same services the HTTP layer calls.
#[derive(Clone)]
pub struct Services {
    pub settings: Arc<Settings>,
    pub db: DatabaseConnection,
    pub blobs: BlobStore,
    /// Seals the secrets stored in the database.
    pub secrets: SecretBox,
    /// Time spent per stage of a document's way through this app.
    pub stages: Stages,
    pub accounts: Accounts,
    pub templates: Templates,
    pub destinations: Destinations,
    pub jobs: Jobs,
    pub deliveries: Deliveries,
    /// Background tasks clients follow (`recover`).
    pub tasks: Tasks,
    /// Signs and opens result links.
    pub links: ResultLinks,
    /// What the job workers use.
    pub job_worker: worker::Worker,
    /// What the delivery dispatcher uses.
    pub dispatcher: Dispatcher,
    pub jobs_ready: Wake,
    pub deliveries_ready: Wake,
    pub tasks_ready: Wake,
}

/// Creates the data directory (and the SQLite file, private) and connects,
/// applying pending migrations.
pub async fn connect(settings: &Settings) -> anyhow::Result<DatabaseConnection> {
    private_fs::create_dir(&settings.data_dir).with_context(|| {
        format!(
            "creating the data directory {}",
            settings.data_dir.display()
        )
    })?;
    if settings.database_url.is_none() {
        let file = settings.data_dir.join(crate::config::SQLITE_FILE);
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
    Ok(db)
}

impl Services {
    /// Connects, migrates and builds every service, without starting anything.
    pub async fn build(settings: Settings) -> anyhow::Result<Self> {
        let db = connect(&settings).await?;
        let secrets = SecretBox::load_or_create(
            settings.secret_key.as_ref().map(Secret::expose),
            &settings.data_dir,
        )?;
        let blobs = BlobStore::open(
            settings.blob_store.as_deref(),
            &settings.data_dir.join("blobs"),
        )
        .await?;
        let reader = Reader::start(
            settings.limits.max_pages,
            settings.limits.max_image_pixels,
            settings.ocr_threads,
        );
        let jobs_ready = Wake::new(&db, wake::JOBS);
        let deliveries_ready = Wake::new(&db, wake::DELIVERIES);
        let tasks_ready = Wake::new(&db, wake::TASKS);
        let stages = Stages::default();
        let metrics = Metrics::default();
        let delivery = &settings.delivery;
        let rules = UrlRules {
            allowed_networks: delivery.allowed_networks.clone(),
            https_only: delivery.https_only,
        };
        let public_url = settings.public_url.clone().unwrap_or_else(|| {
            if settings.workers_enabled {
                // A worker-only host, or one bound to every interface, does
                // not know the address receivers reach the API at.
                tracing::warn!(bind = %settings.bind, "DOCPUSH_PUBLIC_URL is not set: result links name the bound address, which receivers may not reach");
            }
            format!("http://{}", settings.bind)
        });
        let links = ResultLinks::new(secrets.clone(), &public_url);
        let sender = Sender::new(db.clone(), blobs.clone(), delivery, links.clone());
        let templates = Templates::new(
            db.clone(),
            secrets.clone(),
            rules.clone(),
            delivery.secret_rotation_grace,
            reader.clone(),
            settings.limits.max_upload_bytes,
        );
        let jobs = Jobs::new(
            db.clone(),
            blobs.clone(),
            templates.clone(),
            reader,
            settings.limits.clone(),
            jobs_ready.clone(),
            deliveries_ready.clone(),
            stages.clone(),
        );
        let tasks = Tasks::new(db.clone(), tasks_ready.clone(), deliveries_ready.clone());
        let dispatcher = Dispatcher::new(
            db.clone(),
            sender.clone(),
            secrets.clone(),
            blobs.clone(),
            delivery.clone(),
            deliveries_ready.clone(),
            metrics.clone(),
            stages.clone(),
        );
        Ok(Self {
            accounts: Accounts::new(db.clone()).with_default_retention(settings.retention),
            destinations: Destinations::new(
                db.clone(),
                secrets.clone(),
                rules,
                delivery.secret_rotation_grace,
                delivery.disable_after,
                tasks.clone(),
            ),
            deliveries: Deliveries::new(db.clone(), sender, deliveries_ready.clone(), metrics),
            job_worker: worker::Worker::new(jobs.clone(), settings.job_lease),
            dispatcher,
            templates,
            jobs,
            stages,
            settings: Arc::new(settings),
            db,
            blobs,
            secrets,
            jobs_ready,
            deliveries_ready,
            tasks_ready,
            tasks,
            links,
        })
    }
}

pub struct Application {
    services: Services,
    listener: Option<TcpListener>,
    port: u16,
    dev_key: Option<String>,
}

impl Application {
    pub async fn build(mut settings: Settings) -> anyhow::Result<Self> {
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
        // Port 0 was a free port: links name the one chosen.
        if let (None, Some(addr)) = (
            &settings.public_url,
            listener.as_ref().and_then(|l| l.local_addr().ok()),
        ) {
            if addr.ip().is_unspecified() {
                tracing::warn!(%addr, "DOCPUSH_PUBLIC_URL is not set: result links name the bound address, which receivers cannot reach");
            }
            settings.public_url = Some(format!("http://{addr}"));
        }
        let services = Services::build(settings).await?;
        let dev_key = ensure_dev_account(&services).await?;
        Ok(Self {
            services,
            listener,
            port,
            dev_key,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn services(&self) -> &Services {
        &self.services
    }

    /// The development key, when this start created the development account.
    pub fn dev_key(&self) -> Option<&str> {
        self.dev_key.as_deref()
    }

    /// Serves the API and runs the workers until `shutdown` completes, then
    /// stops taking work and waits (bounded) for the work in hand.
    pub async fn run_until_stopped(self, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
        let Self {
            services: s,
            listener,
            ..
        } = self;
        let token = CancellationToken::new();
        let tracker = TaskTracker::new();
        if s.settings.workers_enabled {
            start_workers(&s, &token, &tracker);
        }
        let server = match listener {
            Some(listener) => Some(serve(&s, listener)?),
            None => None,
        };
        tracker.spawn(sweep_partial_writes(s.blobs.clone(), token.clone()));
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

fn start_workers(s: &Services, token: &CancellationToken, tracker: &TaskTracker) {
    wake::listen(
        &s.db,
        vec![
            (wake::JOBS, s.jobs_ready.clone()),
            (wake::DELIVERIES, s.deliveries_ready.clone()),
            (wake::TASKS, s.tasks_ready.clone()),
        ],
        token.clone(),
        tracker,
    );
    worker::spawn(
        &s.job_worker,
        s.settings.workers,
        &s.settings.data_dir,
        token,
        tracker,
    );
    tracker.spawn(crate::tasks::run(s.tasks.clone(), token.clone()));
    tracker.spawn(crate::delivery::worker::run(
        s.dispatcher.clone(),
        token.clone(),
        tracker.clone(),
    ));
    let purge = Retention {
        jobs: s.jobs.clone(),
        accounts: s.accounts.clone(),
        deliveries: s.deliveries.clone(),
        keep_for: s.settings.retention,
        every: s.settings.retention_interval,
    };
    tracker.spawn(retention::run(purge, token.clone()));
}

/// Blobs a crash cut off mid-write (a failed write removes its own) would
/// hold their disk space for good: swept a minute after start and hourly,
/// sparing any younger than a minute, which may still be being written.
async fn sweep_partial_writes(blobs: BlobStore, token: CancellationToken) {
    const AGE: Duration = Duration::from_secs(60);
    let mut pause = AGE;
    loop {
        tokio::select! {
            _ = token.cancelled() => return,
            _ = tokio::time::sleep(pause) => {}
        }
        match blobs.remove_leftovers(AGE).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                files = n,
                "removed part-written blobs left by an earlier crash"
            ),
            Err(e) => tracing::warn!(error = %e, "sweeping part-written blobs failed"),
        }
        pause = Duration::from_secs(3600);
    }
}

/// The HTTP server over the services: the API and the dashboard.
fn serve(s: &Services, listener: TcpListener) -> anyhow::Result<actix_web::dev::Server> {
    let settings = &s.settings;
    let http = api::Http {
        db: web::Data::new(s.db.clone()),
        accounts: web::Data::new(s.accounts.clone()),
        templates: web::Data::new(s.templates.clone()),
        destinations: web::Data::new(s.destinations.clone()),
        jobs: web::Data::new(s.jobs.clone()),
        deliveries: web::Data::new(s.deliveries.clone()),
        tasks: web::Data::new(s.tasks.clone()),
        links: web::Data::new(s.links.clone()),
        blobs: web::Data::new(s.blobs.clone()),
        gate: web::Data::new(api::Gate {
            sign_ins: api::SignInGuard::new(settings.sign_in.clone()),
            metrics: settings.metrics.clone(),
            limits: settings.limits.clone(),
        }),
    };
    let json_limit = s.settings.limits.max_json_bytes as usize;
    let server = HttpServer::new(move || {
        App::new()
            .wrap(TracingLogger::default())
            .configure(|cfg| http.register(cfg))
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
    .keep_alive(Duration::from_secs(75))
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}

/// On first start, creates the development account and prints its key.
async fn ensure_dev_account(s: &Services) -> anyhow::Result<Option<String>> {
    if !s.settings.dev_account || s.accounts.count().await? > 0 {
        return Ok(None);
    }
    let created = s.accounts.create(DEV_ACCOUNT, DEV_CREDITS).await?;
    let path = s.settings.data_dir.join(DEV_KEY_FILE);
    private_fs::write(&path, created.key.as_bytes())
        .with_context(|| format!("creating {}", path.display()))?;
    println!(
        "Development account created with {DEV_CREDITS} credits. API key (also in {}):",
        path.display()
    );
    println!("{}", created.key);
    Ok(Some(created.key))
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
