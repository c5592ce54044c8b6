mod cli;

use anyhow::Context;
use clap::{Parser, Subcommand};

use docpush::config::Settings;
use docpush::startup::{self, Application};
use docpush::{db, telemetry};

/// docpush: extract template fields from documents and push the results to webhooks.
#[derive(Parser)]
#[command(version)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Run the API and the workers (the default).
    Serve {
        /// Only the HTTP API; workers run elsewhere.
        #[arg(long, conflicts_with = "worker_only")]
        api_only: bool,
        /// Only the workers; no HTTP API.
        #[arg(long)]
        worker_only: bool,
    },
    /// Apply database migrations and exit.
    Migrate,
    /// Manage accounts.
    Account {
        #[command(subcommand)]
        command: AccountCommand,
    },
    /// Manage API keys.
    Key {
        #[command(subcommand)]
        command: KeyCommand,
    },
    /// Write the quickstart's sample documents (invoice.pdf, batch.zip, template.json) into DIR.
    Samples {
        #[arg(default_value = "samples")]
        dir: std::path::PathBuf,
        /// Write the accuracy corpus instead: six layouts as text PDFs and
        /// degraded scans, a template per layout and truth.json.
        #[arg(long)]
        corpus: bool,
        /// Documents of each layout with --corpus.
        #[arg(long, default_value_t = 10)]
        per_layout: usize,
    },
    /// Run the extraction pipeline on a local file and print the result as JSON.
    Extract {
        /// A PDF, image or ZIP.
        file: std::path::PathBuf,
        /// The template: a JSON file with `fields` (and optional `options`), as sent to the API.
        #[arg(long)]
        template: std::path::PathBuf,
    },
    /// Check the PDF and OCR engines and list the installed OCR languages.
    Doctor,
    /// Benchmark the service end to end (see `docpush bench --help`).
    Bench(cli::bench::BenchArgs),
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Create an account; its API key is the last line printed.
    Create {
        #[arg(long)]
        name: String,
        #[arg(long, default_value_t = 0)]
        credits: i64,
    },
    /// List accounts with their balances.
    List,
    /// Add credits to an account (by name or id).
    Credit {
        #[arg(long)]
        account: String,
        #[arg(long)]
        credits: i64,
    },
}

#[derive(Subcommand)]
enum KeyCommand {
    /// Create another API key for an account (by name or id); printed once.
    Create {
        #[arg(long)]
        account: String,
    },
}

/// Tesseract's OpenMP runtime reads OMP_THREAD_LIMIT when the library loads,
/// before `main`; parallelism comes from our own OCR threads, so the process
/// restarts itself with the limit set when it is missing.
#[cfg(unix)]
fn ensure_single_threaded_openmp() {
    use std::os::unix::process::CommandExt;
    if std::env::var_os("OMP_THREAD_LIMIT").is_some() {
        return;
    }
    if let Ok(exe) = std::env::current_exe() {
        let err = std::process::Command::new(exe)
            .args(std::env::args_os().skip(1))
            .env("OMP_THREAD_LIMIT", "1")
            .exec();
        eprintln!("docpush: could not restart with OMP_THREAD_LIMIT=1 ({err}); OCR will be slower");
    }
}

fn main() -> anyhow::Result<()> {
    #[cfg(unix)]
    ensure_single_threaded_openmp();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(run())
}

async fn run() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let mut settings = Settings::from_env()?;
    telemetry::init(settings.log_json);
    match cli.command.unwrap_or(Command::Serve {
        api_only: false,
        worker_only: false,
    }) {
        Command::Serve {
            api_only,
            worker_only,
        } => {
            settings.api_enabled = !worker_only;
            settings.workers_enabled = !api_only;
            let app = Application::build(settings).await?;
            if app.port() != 0 {
                tracing::info!(port = app.port(), "docpush listening");
            }
            app.run_until_stopped(startup::shutdown_signal()).await
        }
        Command::Migrate => {
            startup::build_state(settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Account { command } => {
            let state = startup::build_state(settings).await?;
            match command {
                AccountCommand::Create { name, credits } => {
                    anyhow::ensure!(credits >= 0, "credits must not be negative");
                    if db::accounts::find_by_name_or_id(&state.db, &name)
                        .await?
                        .is_some()
                    {
                        anyhow::bail!("an account named {name:?} already exists");
                    }
                    let (acc, key) = db::accounts::create(&state.db, &name, credits).await?;
                    println!(
                        "account {} ({}) created with {} credits; API key:",
                        acc.name, acc.id, acc.credits
                    );
                    println!("{key}");
                }
                AccountCommand::List => {
                    println!("{:<38} {:<24} {:>10}", "ID", "NAME", "CREDITS");
                    for a in db::accounts::list(&state.db).await? {
                        println!("{:<38} {:<24} {:>10}", a.id, a.name, a.credits);
                    }
                }
                AccountCommand::Credit { account, credits } => {
                    let acc = db::accounts::find_by_name_or_id(&state.db, &account)
                        .await?
                        .with_context(|| format!("no account {account:?}"))?;
                    let balance = db::accounts::add_credits(&state.db, &acc.id, credits).await?;
                    println!("{} now has {balance} credits", acc.name);
                }
            }
            Ok(())
        }
        Command::Key {
            command: KeyCommand::Create { account },
        } => {
            let state = startup::build_state(settings).await?;
            let key = db::accounts::create_key(&state.db, &account)
                .await?
                .with_context(|| format!("no account {account:?}"))?;
            println!("{key}");
            Ok(())
        }
        Command::Samples {
            dir,
            corpus: true,
            per_layout,
        } => cli::corpus::write(&dir, per_layout).await,
        Command::Samples { dir, .. } => {
            for path in docpush_samples::write_quickstart(&dir)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Extract { file, template } => {
            let result =
                docpush::extraction::cli::extract_file(&settings, &file, &template).await?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(())
        }
        Command::Doctor => {
            docpush::extraction::cli::doctor(&settings).await;
            Ok(())
        }
        Command::Bench(args) => cli::bench::run(args).await,
    }
}
