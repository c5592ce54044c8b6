//! `docpush-bench`: the service measured end to end on this machine, beside
//! the raw tools on the same input, so that ratios hold on a noisy machine.
//! Not part of the service binary.

mod accuracy_bench;
mod auto_bench;
mod bench;
mod corpus;
mod delivery_bench;
mod fanout_bench;
mod hostile_bench;
mod ocr_reference;

use clap::Parser;

/// Benchmarks of docpush against the raw tools, on one machine in one run.
/// Without an option: text PDFs end to end against `pdftotext`.
#[derive(Parser, Debug)]
#[command(version)]
pub struct Args {
    /// Documents to submit (two-page text PDFs, or one-page scans with --ocr).
    #[arg(long, default_value_t = 200)]
    pub documents: usize,
    /// Scanned pages (200 DPI PNGs) instead of text PDFs; the reference is the
    /// tesseract command, and a 20-page scanned PDF is timed on its own.
    #[arg(long)]
    pub ocr: bool,
    /// Submissions in flight at once.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Measure delivery instead: --events events to two webhook destinations,
    /// one of them answering 500 half of the time.
    #[arg(long)]
    pub delivery: bool,
    /// Events for --delivery.
    #[arg(long, default_value_t = 10_000)]
    pub events: usize,
    /// Events per second emitted for --delivery (0: as fast as they can be
    /// stored; with --destinations the default is 1,000).
    #[arg(long)]
    pub rate: Option<u32>,
    /// With --delivery: N tenants with a destination each (Outpost's shape:
    /// one receiver in ten answers 500 a third of the time), events offered
    /// at --rate for --seconds; prints lost, duplicates and the latency added
    /// before each event's first attempt.
    #[arg(long)]
    pub destinations: Option<usize>,
    /// Seconds of offered load for --delivery --destinations.
    #[arg(long, default_value_t = 60)]
    pub seconds: u64,
    /// Measure the server's peak memory under hostile inputs instead (huge
    /// bodies, huge pages, page floods, an inflating ZIP), one fresh server each.
    #[arg(long)]
    pub hostile: bool,
    /// With --hostile: only the inputs whose description contains this text
    /// (e.g. "Statement" for the long tables).
    #[arg(long, value_name = "TEXT")]
    pub only: Option<String>,
    /// Measure field accuracy instead: the corpus of six real-world layouts,
    /// as text PDFs and as degraded scans, against their true values.
    #[arg(long)]
    pub accuracy: bool,
    /// Measure what `"template_id": "auto"` costs per document with 500
    /// templates with keywords in the account, beside naming the template.
    #[arg(long)]
    pub auto: bool,
    /// Documents of each layout for --accuracy and --auto (each as a text PDF and a scan).
    #[arg(long, default_value_t = 10)]
    pub per_layout: usize,
    /// Write the accuracy corpus into DIR instead: six layouts as text PDFs
    /// and degraded scans, a template per layout and truth.json.
    #[arg(long, value_name = "DIR")]
    pub write_corpus: Option<std::path::PathBuf>,
}

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    // Tesseract's OpenMP runtime is limited before it loads: the service's
    // OCR threads are the parallelism, as in the service binary.
    if std::env::var_os("OMP_THREAD_LIMIT").is_none() {
        restart_with_single_threaded_openmp();
    }
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run(args))
}

async fn run(args: Args) -> anyhow::Result<()> {
    // The service's own log lines, when asked for (`RUST_LOG=docpush::extraction=debug`).
    if std::env::var_os("RUST_LOG").is_some() {
        docpush::telemetry::init(false);
    }
    if let Some(dir) = &args.write_corpus {
        return corpus::write(dir, args.per_layout).await;
    }
    if args.delivery {
        let shape = match args.destinations {
            Some(destinations) => delivery_bench::Shape::Tenants {
                destinations,
                rate: args.rate.unwrap_or(1000),
                seconds: args.seconds,
            },
            None => delivery_bench::Shape::TwoDestinations {
                events: args.events,
                rate: args.rate.unwrap_or(0),
            },
        };
        return delivery_bench::run(shape).await;
    }
    if args.hostile {
        return hostile_bench::run(args.only.as_deref()).await;
    }
    if args.auto {
        return auto_bench::run(args.per_layout, args.concurrency).await;
    }
    if args.accuracy {
        return accuracy_bench::run(args.per_layout, args.concurrency).await;
    }
    bench::run(&args).await
}

#[cfg(unix)]
fn restart_with_single_threaded_openmp() {
    use std::os::unix::process::CommandExt;
    if let Ok(exe) = std::env::current_exe() {
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .exec();
        eprintln!("docpush-bench: could not restart with OMP_THREAD_LIMIT=1 ({err})");
    }
}

#[cfg(not(unix))]
fn restart_with_single_threaded_openmp() {}
