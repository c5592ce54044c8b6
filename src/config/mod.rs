//! Settings: one typed struct, built from defaults and `DOCPUSH_*` environment variables.
//!
//! The names fixed by the product contract (`DOCPUSH_BIND`, `DOCPUSH_DATA_DIR`,
//! `DATABASE_URL`, `DOCPUSH_ALLOWED_NETWORKS`, `DOCPUSH_WORKERS`) are read here and
//! nowhere else; every other setting is listed with its default in `.env.example`.

use std::path::PathBuf;
use std::time::Duration;

use ipnet::IpNet;

mod env;

pub use env::{parse_duration, parse_networks};

/// Everything the service can be told at start-up.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Address the HTTP API listens on; port 0 picks a free port.
    pub bind: String,
    /// The service's address as receivers reach it (result links); defaults
    /// to `http://` and the address the API listens on.
    pub public_url: Option<String>,
    /// Directory of the embedded SQLite file, the blobs and the generated key.
    pub data_dir: PathBuf,
    /// Database URL; `None` means the SQLite file `docpush.db` in `data_dir`.
    pub database_url: Option<DatabaseUrl>,
    /// Connections in the SQLite pool (readers run in parallel; writers take turns).
    pub sqlite_connections: u32,
    /// Connections in the PostgreSQL pool of this process.
    pub db_connections: u32,
    /// `file://DIR` or `s3://BUCKET/PREFIX`; `None` keeps blobs under `data_dir`.
    pub blob_store: Option<String>,
    /// Run the HTTP API in this process.
    pub api_enabled: bool,
    /// Run the job and delivery workers in this process.
    pub workers_enabled: bool,
    /// Number of concurrent job workers; defaults to twice the number of cores.
    pub workers: usize,
    /// OCR engines (one thread each); defaults to the number of cores.
    pub ocr_threads: usize,
    /// How long a claimed job stays with its worker without a heartbeat.
    pub job_lease: Duration,
    /// Upload, archive and decoding limits.
    pub limits: Limits,
    /// Outbound delivery settings.
    pub delivery: DeliverySettings,
    /// How long results and files are kept after a job finishes.
    pub retention: Duration,
    /// How often the retention purge runs.
    pub retention_interval: Duration,
    /// 32-byte key (base64) that encrypts secrets at rest; generated into the data dir when unset.
    pub secret_key: Option<Secret>,
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
    /// Failed sign-ins tolerated from one client address before it is refused for a while.
    pub sign_in: SignInThrottle,
    /// Create the development account on first start.
    pub dev_account: bool,
    /// Log as JSON lines instead of human-readable text.
    pub log_json: bool,
}

/// The embedded database's file name in the data directory.
pub const SQLITE_FILE: &str = "docpush.db";

/// The URL with any password replaced, for logs and errors.
pub fn mask_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:****{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A value kept out of logs: `Debug` shows only that it is set.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// A database URL whose `Debug` hides the password.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl From<String> for DatabaseUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DatabaseUrl({})", mask_url(&self.0))
    }
}

/// `/metrics` shows every account's totals, so it is closed unless the operator opens it.
#[derive(Clone, Debug, Default)]
pub struct MetricsAccess {
    /// Scrapers send `Authorization: Bearer <token>`.
    pub token: Option<Secret>,
    /// Anyone may read it (for a listener that only the scraper can reach).
    pub public: bool,
}

/// Repeated failed sign-ins from one client address are refused for the rest of a window.
#[derive(Clone, Debug)]
pub struct SignInThrottle {
    /// Failures allowed per window; the next request from that address answers 429.
    pub max_failures: u32,
    /// Length of the window that failures are counted in.
    pub window: Duration,
    /// Reverse proxies whose `X-Forwarded-For` names the client.
    pub trusted_proxies: Vec<IpNet>,
}

/// Limits on what a client may send.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Largest JSON request body, in bytes (uploads have their own limit).
    pub max_json_bytes: u64,
    /// Largest decoded document or archive, in bytes.
    pub max_upload_bytes: u64,
    /// Most entries a ZIP may hold.
    pub zip_max_entries: usize,
    /// Largest total uncompressed size of a ZIP, in bytes.
    pub zip_max_total_bytes: u64,
    /// Largest compression ratio of one ZIP entry.
    pub zip_max_ratio: u64,
    /// Most pages one PDF may have.
    pub max_pages: u32,
    /// Largest image, in pixels, decoded or rendered for OCR: bigger images are refused
    /// before decoding, bigger PDF pages are rendered at a lower resolution.
    pub max_image_pixels: u64,
    /// Documents one account may have waiting or being read; past it, uploads
    /// answer 429 (0: no limit).
    pub max_queued_documents: u64,
    /// Free space the blob store's disk keeps: an upload that would leave
    /// less answers 503. `None`: the smaller of 1 GiB and a tenth of the
    /// disk; 0 turns the check off.
    pub min_free_bytes: Option<u64>,
    /// How long a review lock lasts without being renewed (SPEC §3: 30 minutes).
    pub review_lock: Duration,
}

impl Limits {
    /// The free space to keep on a disk of `total` bytes.
    pub fn free_space_watermark(&self, total: u64) -> u64 {
        self.min_free_bytes
            .unwrap_or_else(|| (total / 10).min(1024 * 1024 * 1024))
    }
}

/// Outbound delivery settings.
#[derive(Clone, Debug)]
pub struct DeliverySettings {
    /// Delays before each retry; after the last one a delivery is dead-lettered.
    pub retry_schedule: Vec<Duration>,
    /// Timeout of one HTTP attempt.
    pub timeout: Duration,
    /// Concurrent delivery attempts in this process.
    pub concurrency: usize,
    /// Concurrent attempts to one destination in this process, so a slow one cannot take every slot.
    pub per_destination: usize,
    /// Networks exempt from the SSRF guard.
    pub allowed_networks: Vec<IpNet>,
    /// Refuse destination URLs that are not https.
    pub https_only: bool,
    /// How long the replaced secret keeps signing after a rotation.
    pub secret_rotation_grace: Duration,
    /// A destination failing without a success for this long is disabled.
    pub disable_after: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            bind: "127.0.0.1:8080".into(),
            public_url: None,
            data_dir: PathBuf::from("./data"),
            database_url: None,
            sqlite_connections: 1,
            db_connections: 16,
            blob_store: None,
            api_enabled: true,
            workers_enabled: true,
            // A job spends much of its time waiting on the database and the
            // blob store; its CPU work runs on the pdfium thread and the OCR
            // threads, which bound it. (On SQLite, two per core carried 11 %
            // more text PDFs per second than one in `docpush-bench`.)
            workers: 2 * cores(),
            ocr_threads: cores(),
            job_lease: Duration::from_secs(60),
            limits: Limits {
                max_json_bytes: 1024 * 1024,
                max_upload_bytes: 50 * 1024 * 1024,
                zip_max_entries: 1000,
                zip_max_total_bytes: 1024 * 1024 * 1024,
                zip_max_ratio: 200,
                max_pages: 2000,
                max_image_pixels: 50_000_000,
                // About a minute of text PDFs for two cores, or a few of scans:
                // enough to keep every worker busy, not enough for one account
                // to bury the others' documents or the disk.
                max_queued_documents: 500,
                min_free_bytes: None,
                review_lock: Duration::from_secs(30 * 60),
            },
            delivery: DeliverySettings {
                retry_schedule: default_schedule(),
                timeout: Duration::from_secs(15),
                concurrency: 32,
                per_destination: 4,
                allowed_networks: Vec::new(),
                https_only: false,
                secret_rotation_grace: Duration::from_secs(24 * 3600),
                disable_after: Duration::from_secs(5 * 24 * 3600),
            },
            retention: Duration::from_secs(24 * 3600),
            retention_interval: Duration::from_secs(60),
            secret_key: None,
            metrics: MetricsAccess::default(),
            sign_in: SignInThrottle {
                // Wrong keys only (a valid key is never refused): plenty for a
                // client with a stale key or a harness probing every
                // operation's auth, nothing for guessing a 256-bit key.
                max_failures: 100,
                window: Duration::from_secs(300),
                trusted_proxies: Vec::new(),
            },
            dev_account: true,
            log_json: false,
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

/// SPEC §4: 5 s, 30 s, 2 min, 10 min, 30 min, 1 h, 3 h, 6 h, then every 6 h up to 24 h.
pub fn default_schedule() -> Vec<Duration> {
    let mut s: Vec<Duration> = [5, 30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600]
        .into_iter()
        .map(Duration::from_secs)
        .collect();
    let mut elapsed: u64 = s.iter().map(Duration::as_secs).sum();
    while elapsed + 6 * 3600 <= 24 * 3600 {
        s.push(Duration::from_secs(6 * 3600));
        elapsed += 6 * 3600;
    }
    s
}

impl Settings {
    /// The size of this process's database pool: SQLite's or PostgreSQL's setting.
    pub fn pool_connections(&self) -> u32 {
        if self.effective_database_url().starts_with("sqlite:") {
            self.sqlite_connections
        } else {
            self.db_connections
        }
    }

    /// The database URL in effect: the configured one or the embedded SQLite file.
    pub fn effective_database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.expose().to_string(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join(SQLITE_FILE).display()
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_masked() {
        assert_eq!(
            mask_url("postgres://u:secret@h:5432/db"),
            "postgres://u:****@h:5432/db"
        );
        assert_eq!(mask_url("sqlite://x.db"), "sqlite://x.db");
    }

    #[test]
    fn default_schedule_follows_the_spec() {
        let s = default_schedule();
        assert_eq!(s[0], Duration::from_secs(5));
        assert_eq!(s[7], Duration::from_secs(6 * 3600));
        let total: u64 = s.iter().map(Duration::as_secs).sum();
        assert!(total <= 24 * 3600, "{total}");
        assert!(total + 6 * 3600 > 24 * 3600);
    }

    #[test]
    fn durations_and_networks_parse() {
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("2m").unwrap(), Duration::from_secs(120));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("soon").is_err());
        let n = parse_networks("127.0.0.0/8, ::1").unwrap();
        assert_eq!(n.len(), 2);
        assert!(parse_networks("nope").is_err());
    }

    #[test]
    fn environment_overrides_defaults() {
        let s = Settings::from_lookup(|k| match k {
            "DOCPUSH_WORKERS" => Some("3".into()),
            "DOCPUSH_RETRY_SCHEDULE" => Some("10ms,20ms".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.workers, 3);
        assert_eq!(s.delivery.retry_schedule.len(), 2);
        assert!(Settings::from_lookup(|k| (k == "DOCPUSH_WORKERS").then(|| "0".into())).is_err());
    }

    #[test]
    fn each_process_sizes_its_own_pool_and_names_its_blob_store() {
        let s = Settings::from_lookup(|k| match k {
            "DATABASE_URL" => Some("postgres://db/docpush".into()),
            "DOCPUSH_DB_CONNECTIONS" => Some("5".into()),
            "DOCPUSH_BLOB_STORE" => Some("s3://bucket/prefix".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(s.pool_connections(), 5);
        assert_eq!(s.blob_store.as_deref(), Some("s3://bucket/prefix"));
        let embedded = Settings::from_lookup(|_| None).unwrap();
        assert_eq!(embedded.pool_connections(), embedded.sqlite_connections);
        assert_eq!(embedded.blob_store, None);
        let one = |k: &str| (k == "DOCPUSH_DB_CONNECTIONS").then(|| "1".to_string());
        assert!(Settings::from_lookup(one).is_err());
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = Settings::from_lookup(|k| match k {
            "DOCPUSH_SECRET_KEY" => Some("c2VjcmV0LWtleS1tYXRlcmlhbA==".into()),
            "DOCPUSH_METRICS_TOKEN" => Some("scrape-token-42".into()),
            "DATABASE_URL" => Some("postgres://app:hunter2@db:5432/docpush".into()),
            _ => None,
        })
        .unwrap();
        let shown = format!("{s:?}");
        for secret in ["c2VjcmV0LWtleS1tYXRlcmlhbA", "scrape-token-42", "hunter2"] {
            assert!(!shown.contains(secret), "{secret} leaks: {shown}");
        }
        assert!(
            shown.contains("postgres://app:****@db:5432/docpush"),
            "{shown}"
        );
        assert_eq!(
            s.secret_key.unwrap().expose(),
            "c2VjcmV0LWtleS1tYXRlcmlhbA=="
        );
    }
}
