//! The S3 and SQS servers the destination tests talk to, installed by
//! `scripts/test-tools`: SeaweedFS (S3, checks signatures) and moto (SQS).
//! One of each per test process, shared by the tests, each test using its
//! own bucket or queue; a watchdog shell stops them when the process exits.

use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

pub const ACCESS_KEY: &str = "docpushtest";
pub const SECRET_KEY: &str = "docpushtestsecret";

fn tools_bin() -> PathBuf {
    std::env::var_os("DOCPUSH_TEST_TOOLS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv-test/bin"))
}

/// A program from the test tools, or a clear panic saying how to install them.
pub fn tool(name: &str) -> PathBuf {
    let p = tools_bin().join(name);
    assert!(
        p.exists(),
        "{} is missing: run ./scripts/test-tools (or ./scripts/test)",
        p.display()
    );
    p
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Starts `cmd` under a shell that kills it once this test process is gone.
// The shell is meant to outlive this call and is never waited for: it ends on its own after us.
#[allow(clippy::zombie_processes)]
fn spawn_watched(cmd: &str, log: &std::path::Path) {
    let script = format!(
        "{cmd} >{log} 2>&1 & child=$!; trap 'kill $child 2>/dev/null' EXIT; \
         while kill -0 {pid} 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 0.5; done",
        log = log.display(),
        pid = std::process::id()
    );
    Command::new("sh")
        .arg("-c")
        .arg(script)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("starting a test peer");
}

fn wait_listening(port: u16, what: &str, log: &std::path::Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "{what} did not start: {}",
            std::fs::read_to_string(log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A base port whose five ports and their gRPC twins (+10000) are free and
/// lie below the kernel's range for port 0.
fn quiet_port_base() -> u16 {
    use rand::Rng;
    let ephemeral_start: u16 = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|r| r.split_whitespace().next()?.parse().ok())
        .unwrap_or(32768);
    let top = ephemeral_start.saturating_sub(10_005).max(15_001);
    loop {
        let base = rand::thread_rng().gen_range(15_000..top);
        let free = (0..5)
            .flat_map(|i| [base + i, base + i + 10_000])
            .all(|p| std::net::TcpListener::bind(("127.0.0.1", p)).is_ok());
        if free {
            return base;
        }
    }
}

/// Waits for `port` to listen; `false` when the server gave up on a port it could not bind.
fn wait_listening_or_lost_port(port: u16, log: &std::path::Path) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        let said = std::fs::read_to_string(log).unwrap_or_default();
        if said.contains("Port allocation failed") || Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    true
}

fn peers_dir() -> &'static PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let d = std::env::temp_dir().join(format!("docpush-peers-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    })
}

/// The S3 endpoint of a SeaweedFS server.
pub fn s3_endpoint() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let dir = peers_dir().join("seaweed");
        std::fs::create_dir_all(&dir).unwrap();
        let ids = dir.join("ids.json");
        std::fs::write(
            &ids,
            format!(
                r#"{{"identities":[{{"name":"admin","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        // Every port explicit (gRPC ports are these + 10000), all below the range the
        // kernel hands out for port 0, so that no test's own listener can take one
        // between our check and SeaweedFS's bind; a start that still loses a port is retried.
        let mut attempts = 0;
        let s3 = loop {
            attempts += 1;
            let log = dir.join(format!("log-{attempts}"));
            let base = quiet_port_base();
            let s3 = base + 3;
            spawn_watched(
                &format!(
                    "{} mini -dir={d} -ip=127.0.0.1 -ip.bind=127.0.0.1 -s3.config={ids} -admin.ui=false \
                     -webdav=false -s3.port.iceberg=0 -s3.port.lance=0 -master.port={base} \
                     -volume.port={v} -filer.port={f} -s3.port={s3} -admin.port={a}",
                    tool("weed").display(),
                    d = dir.display(),
                    ids = ids.display(),
                    v = base + 1,
                    f = base + 2,
                    a = base + 4,
                ),
                &log,
            );
            match wait_listening_or_lost_port(s3, &log) {
                true => break s3,
                false if attempts < 5 => continue,
                false => panic!(
                    "SeaweedFS did not start: {}",
                    std::fs::read_to_string(&log).unwrap_or_default()
                ),
            }
        };
        format!("http://127.0.0.1:{s3}")
    })
}

/// A SeaweedFS server of one test's own, which the test may stop and start
/// again on the same ports and data (to show a service riding out an outage).
pub struct OwnSeaweed {
    dir: PathBuf,
    base: u16,
    child: Option<std::process::Child>,
}

impl OwnSeaweed {
    pub fn start(dir: &std::path::Path) -> Self {
        let mut s = Self {
            dir: dir.to_path_buf(),
            base: quiet_port_base(),
            child: None,
        };
        s.restart();
        s
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.base + 3)
    }

    /// Starts it again after [`stop`](Self::stop), with the same ports and data.
    pub fn restart(&mut self) {
        std::fs::create_dir_all(&self.dir).unwrap();
        let ids = self.dir.join("ids.json");
        std::fs::write(
            &ids,
            format!(
                r#"{{"identities":[{{"name":"admin","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
            ),
        )
        .unwrap();
        let log = self.dir.join("log");
        let b = self.base;
        let child = Command::new(tool("weed"))
            .arg("mini")
            .arg(format!("-dir={}", self.dir.join("data").display()))
            .args([
                "-ip=127.0.0.1",
                "-ip.bind=127.0.0.1",
                "-admin.ui=false",
                "-webdav=false",
            ])
            .args(["-s3.port.iceberg=0", "-s3.port.lance=0"])
            .arg(format!("-s3.config={}", ids.display()))
            .arg(format!("-master.port={b}"))
            .arg(format!("-volume.port={}", b + 1))
            .arg(format!("-filer.port={}", b + 2))
            .arg(format!("-s3.port={}", b + 3))
            .arg(format!("-admin.port={}", b + 4))
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(&log).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting SeaweedFS");
        self.child = Some(child);
        wait_listening(b + 3, "SeaweedFS", &log);
    }

    pub fn stop(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().ok();
            c.wait().ok();
        }
    }

    /// An S3 client for this server.
    pub fn client(&self) -> aws_sdk_s3::Client {
        s3_client_for(&self.endpoint())
    }
}

impl Drop for OwnSeaweed {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The endpoint of a moto server (SQS).
pub fn sqs_endpoint() -> &'static str {
    static URL: OnceLock<String> = OnceLock::new();
    URL.get_or_init(|| {
        let port = free_port();
        let log = peers_dir().join("moto.log");
        spawn_watched(
            &format!("{} -H 127.0.0.1 -p {port}", tool("moto_server").display()),
            &log,
        );
        wait_listening(port, "moto", &log);
        format!("http://127.0.0.1:{port}")
    })
}

/// An AWS HTTP client allowed to reach the peers on loopback.
fn loopback_http() -> aws_smithy_runtime_api::client::http::SharedHttpClient {
    docpush::delivery::aws::http_client(std::sync::Arc::new(vec!["127.0.0.0/8".parse().unwrap()]))
}

pub fn s3_client() -> aws_sdk_s3::Client {
    s3_client_for(s3_endpoint())
}

fn s3_client_for(endpoint: &str) -> aws_sdk_s3::Client {
    let config = docpush::targets::S3Config {
        bucket: "unused".into(),
        region: "us-east-1".into(),
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        endpoint_url: Some(endpoint.to_string()),
        receive_files: vec![],
        data_format: "json".into(),
    };
    docpush::delivery::aws::s3_client(&loopback_http(), &config, Duration::from_secs(30))
}

pub fn sqs_client() -> aws_sdk_sqs::Client {
    let config = docpush::targets::SqsConfig {
        queue_url: String::new(),
        region: "us-east-1".into(),
        access_key_id: ACCESS_KEY.into(),
        secret_access_key: SECRET_KEY.into(),
        message_group_id: None,
        endpoint_url: Some(sqs_endpoint().to_string()),
    };
    docpush::delivery::aws::sqs_client(&loopback_http(), &config, Duration::from_secs(30))
}

/// A new bucket with a unique name.
pub async fn new_bucket() -> String {
    new_bucket_in(&s3_client()).await
}

/// A new bucket with a unique name on the server `client` talks to.
pub async fn new_bucket_in(client: &aws_sdk_s3::Client) -> String {
    let name = format!(
        "docpush-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    // The S3 port listens a moment before the filer behind it is ready.
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match client.create_bucket().bucket(&name).send().await {
            Ok(_) => return name,
            Err(e) if Instant::now() < deadline => {
                let _ = e;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            Err(e) => panic!("creating bucket {name}: {e:?}"),
        }
    }
}

/// A new FIFO queue (content-based deduplication off: we send our own ids); returns its URL.
pub async fn new_fifo_queue() -> String {
    let name = format!(
        "docpush-{}.fifo",
        &uuid::Uuid::new_v4().simple().to_string()[..12]
    );
    let out = sqs_client()
        .create_queue()
        .queue_name(name)
        .attributes(aws_sdk_sqs::types::QueueAttributeName::FifoQueue, "true")
        .send()
        .await
        .unwrap();
    out.queue_url().unwrap().to_string()
}
