//! Settings read from `DOCPUSH_*` (and `DATABASE_URL`) variables over the
//! defaults, each checked as it is read so that a bad value stops the start
//! with the variable's name.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use ipnet::IpNet;

use super::{DatabaseUrl, Secret, Settings};

impl Settings {
    /// Defaults overridden by the process environment.
    pub fn from_env() -> anyhow::Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Defaults overridden by whatever `get` returns for each variable name.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let mut s = Settings::default();
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());
        if let Some(v) = var("DOCPUSH_PUBLIC_URL") {
            if !(v.starts_with("http://") || v.starts_with("https://")) {
                bail!("DOCPUSH_PUBLIC_URL must start with http:// or https://, not {v:?}");
            }
            s.public_url = Some(v);
        }
        if let Some(v) = var("DOCPUSH_BIND") {
            s.bind = v;
        }
        if let Some(v) = var("DOCPUSH_DATA_DIR") {
            s.data_dir = PathBuf::from(v);
        }
        s.database_url = var("DATABASE_URL").map(DatabaseUrl);
        if let Some(v) = var("DOCPUSH_SQLITE_CONNECTIONS") {
            s.sqlite_connections = parse_num(&v, "DOCPUSH_SQLITE_CONNECTIONS")?;
        }
        if let Some(v) = var("DOCPUSH_DB_CONNECTIONS") {
            s.db_connections = parse_num(&v, "DOCPUSH_DB_CONNECTIONS")?;
            if s.db_connections < 2 {
                bail!("DOCPUSH_DB_CONNECTIONS must be at least 2 (one listens for wake-ups)");
            }
        }
        s.blob_store = var("DOCPUSH_BLOB_STORE");
        if let Some(v) = var("DOCPUSH_WORKERS") {
            s.workers = parse_num(&v, "DOCPUSH_WORKERS")?;
            if s.workers == 0 {
                bail!("DOCPUSH_WORKERS must be at least 1");
            }
        }
        if let Some(v) = var("DOCPUSH_ALLOWED_NETWORKS") {
            s.delivery.allowed_networks = parse_networks(&v)?;
        }
        if let Some(v) = var("DOCPUSH_JOB_LEASE") {
            s.job_lease = parse_duration(&v).context("DOCPUSH_JOB_LEASE")?;
        }
        if let Some(v) = var("DOCPUSH_MAX_JSON_BYTES") {
            s.limits.max_json_bytes = parse_num(&v, "DOCPUSH_MAX_JSON_BYTES")?;
        }
        if let Some(v) = var("DOCPUSH_MAX_UPLOAD_BYTES") {
            s.limits.max_upload_bytes = parse_num(&v, "DOCPUSH_MAX_UPLOAD_BYTES")?;
        }
        if let Some(v) = var("DOCPUSH_ZIP_MAX_ENTRIES") {
            s.limits.zip_max_entries = parse_num(&v, "DOCPUSH_ZIP_MAX_ENTRIES")?;
        }
        if let Some(v) = var("DOCPUSH_ZIP_MAX_TOTAL_BYTES") {
            s.limits.zip_max_total_bytes = parse_num(&v, "DOCPUSH_ZIP_MAX_TOTAL_BYTES")?;
        }
        if let Some(v) = var("DOCPUSH_ZIP_MAX_RATIO") {
            s.limits.zip_max_ratio = parse_num(&v, "DOCPUSH_ZIP_MAX_RATIO")?;
        }
        if let Some(v) = var("DOCPUSH_OCR_THREADS") {
            s.ocr_threads = parse_num(&v, "DOCPUSH_OCR_THREADS")?;
            if s.ocr_threads == 0 {
                bail!("DOCPUSH_OCR_THREADS must be at least 1");
            }
        }
        if let Some(v) = var("DOCPUSH_MAX_IMAGE_PIXELS") {
            s.limits.max_image_pixels = parse_num(&v, "DOCPUSH_MAX_IMAGE_PIXELS")?;
        }
        if let Some(v) = var("DOCPUSH_MAX_PAGES") {
            s.limits.max_pages = parse_num(&v, "DOCPUSH_MAX_PAGES")?;
        }
        if let Some(v) = var("DOCPUSH_MAX_QUEUED_DOCUMENTS") {
            s.limits.max_queued_documents = parse_num(&v, "DOCPUSH_MAX_QUEUED_DOCUMENTS")?;
        }
        if let Some(v) = var("DOCPUSH_REVIEW_LOCK") {
            s.limits.review_lock = parse_duration(&v).context("DOCPUSH_REVIEW_LOCK")?;
        }
        if let Some(v) = var("DOCPUSH_MIN_FREE_BYTES") {
            s.limits.min_free_bytes = Some(parse_num(&v, "DOCPUSH_MIN_FREE_BYTES")?);
        }
        if let Some(v) = var("DOCPUSH_RETRY_SCHEDULE") {
            s.delivery.retry_schedule = v
                .split(',')
                .map(parse_duration)
                .collect::<anyhow::Result<_>>()
                .context("DOCPUSH_RETRY_SCHEDULE")?;
        }
        if let Some(v) = var("DOCPUSH_DELIVERY_TIMEOUT") {
            s.delivery.timeout = parse_duration(&v).context("DOCPUSH_DELIVERY_TIMEOUT")?;
        }
        if let Some(v) = var("DOCPUSH_DELIVERY_CONCURRENCY") {
            s.delivery.concurrency = parse_num(&v, "DOCPUSH_DELIVERY_CONCURRENCY")?;
        }
        if let Some(v) = var("DOCPUSH_DELIVERY_PER_DESTINATION") {
            s.delivery.per_destination = parse_num(&v, "DOCPUSH_DELIVERY_PER_DESTINATION")?;
            if s.delivery.per_destination == 0 {
                bail!("DOCPUSH_DELIVERY_PER_DESTINATION must be at least 1");
            }
        }
        if let Some(v) = var("DOCPUSH_HTTPS_ONLY") {
            s.delivery.https_only = parse_bool(&v, "DOCPUSH_HTTPS_ONLY")?;
        }
        if let Some(v) = var("DOCPUSH_SECRET_ROTATION_GRACE") {
            s.delivery.secret_rotation_grace =
                parse_duration(&v).context("DOCPUSH_SECRET_ROTATION_GRACE")?;
        }
        if let Some(v) = var("DOCPUSH_DESTINATION_DISABLE_AFTER") {
            s.delivery.disable_after =
                parse_duration(&v).context("DOCPUSH_DESTINATION_DISABLE_AFTER")?;
        }
        if let Some(v) = var("DOCPUSH_RETENTION") {
            s.retention = parse_duration(&v).context("DOCPUSH_RETENTION")?;
        }
        if let Some(v) = var("DOCPUSH_RETENTION_INTERVAL") {
            s.retention_interval = parse_duration(&v).context("DOCPUSH_RETENTION_INTERVAL")?;
        }
        s.secret_key = var("DOCPUSH_SECRET_KEY").map(Secret);
        s.metrics.token = var("DOCPUSH_METRICS_TOKEN").map(Secret);
        if let Some(v) = var("DOCPUSH_METRICS_PUBLIC") {
            s.metrics.public = parse_bool(&v, "DOCPUSH_METRICS_PUBLIC")?;
        }
        if let Some(v) = var("DOCPUSH_SIGN_IN_MAX_FAILURES") {
            s.sign_in.max_failures = parse_num(&v, "DOCPUSH_SIGN_IN_MAX_FAILURES")?;
        }
        if let Some(v) = var("DOCPUSH_TRUSTED_PROXIES") {
            s.sign_in.trusted_proxies = parse_networks(&v)?;
        }
        if let Some(v) = var("DOCPUSH_SIGN_IN_WINDOW") {
            s.sign_in.window = parse_duration(&v).context("DOCPUSH_SIGN_IN_WINDOW")?;
        }
        if let Some(v) = var("DOCPUSH_DEV_ACCOUNT") {
            s.dev_account = parse_bool(&v, "DOCPUSH_DEV_ACCOUNT")?;
        }
        if let Some(v) = var("DOCPUSH_LOG_FORMAT") {
            s.log_json = match v.as_str() {
                "json" => true,
                "pretty" | "text" => false,
                other => bail!("DOCPUSH_LOG_FORMAT must be json or text, not {other:?}"),
            };
        }
        Ok(s)
    }
}

fn parse_num<T: std::str::FromStr>(v: &str, name: &str) -> anyhow::Result<T> {
    v.trim()
        .replace('_', "")
        .parse()
        .map_err(|_| anyhow::anyhow!("{name} must be a whole number, not {v:?}"))
}

fn parse_bool(v: &str, name: &str) -> anyhow::Result<bool> {
    match v.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" | "on" => Ok(true),
        "0" | "false" | "no" | "off" => Ok(false),
        _ => bail!("{name} must be true or false, not {v:?}"),
    }
}

/// Parses `250ms`, `5s`, `2m`, `3h`, `1d` or a bare number of seconds.
pub fn parse_duration(v: &str) -> anyhow::Result<Duration> {
    let v = v.trim();
    let split = v.find(|c: char| !c.is_ascii_digit()).unwrap_or(v.len());
    let (num, unit) = v.split_at(split);
    let n: u64 = num
        .parse()
        .map_err(|_| anyhow::anyhow!("{v:?} is not a duration such as 250ms, 5s, 2m, 3h"))?;
    Ok(match unit.trim() {
        "ms" => Duration::from_millis(n),
        "" | "s" => Duration::from_secs(n),
        "m" => Duration::from_secs(n * 60),
        "h" => Duration::from_secs(n * 3600),
        "d" => Duration::from_secs(n * 86400),
        other => bail!("unknown duration unit {other:?} in {v:?}"),
    })
}

/// Parses a comma-separated list of CIDRs or bare addresses.
pub fn parse_networks(v: &str) -> anyhow::Result<Vec<IpNet>> {
    v.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| anyhow::anyhow!("{p:?} is not a CIDR such as 127.0.0.0/8"))
        })
        .collect()
}
