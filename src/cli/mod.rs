//! The commands of the binary: the service, migrations, the operator's
//! account commands, and the tools for template authors.

mod extract;
mod import;
mod samples;

use clap::{Parser, Subcommand};

use docpush::accounts::Accounts;
use docpush::config::Settings;
use docpush::startup::{self, Application};
use docpush::telemetry;

/// docpush: extract template fields from documents and push the results to webhooks.
#[derive(Parser)]
#[command(version)]
pub struct Cli {
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
    /// Manage templates.
    Templates {
        #[command(subcommand)]
        command: TemplateCommand,
    },
    /// Write the quickstart's sample documents (invoice.pdf, batch.zip, template.json) into DIR.
    Samples {
        #[arg(default_value = "samples")]
        dir: std::path::PathBuf,
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
enum TemplateCommand {
    /// Import invoice2data templates (YAML or JSON files) into an account,
    /// printing what was created and what was refused, construct by construct.
    Import {
        /// The account (by name or id).
        #[arg(long)]
        account: String,
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
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

pub async fn run(cli: Cli) -> anyhow::Result<()> {
    let mut settings = Settings::from_env()?;
    telemetry::init(settings.log_json);
    let command = cli.command.unwrap_or(Command::Serve {
        api_only: false,
        worker_only: false,
    });
    match command {
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
            startup::connect(&settings).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Account { command } => {
            let accounts = Accounts::new(startup::connect(&settings).await?);
            account(&accounts, command).await
        }
        Command::Key {
            command: KeyCommand::Create { account },
        } => {
            let accounts = Accounts::new(startup::connect(&settings).await?);
            println!("{}", accounts.create_key_for(&account).await?);
            Ok(())
        }
        Command::Templates {
            command: TemplateCommand::Import { account, files },
        } => import::run(settings, &account, &files).await,
        Command::Samples { dir } => {
            for path in samples::write_quickstart(&dir)? {
                println!("{}", path.display());
            }
            Ok(())
        }
        Command::Extract { file, template } => {
            let result = extract::extract_file(&settings, &file, &template).await?;
            println!("{}", serde_json::to_string_pretty(&result)?);
            Ok(())
        }
        Command::Doctor => {
            extract::doctor(&settings).await;
            Ok(())
        }
    }
}

async fn account(accounts: &Accounts, command: AccountCommand) -> anyhow::Result<()> {
    match command {
        AccountCommand::Create { name, credits } => {
            let created = accounts.create(&name, credits).await?;
            let acc = created.account;
            println!(
                "account {} ({}) created with {} credits; API key:",
                acc.name, acc.id, acc.credits
            );
            println!("{}", created.key);
        }
        AccountCommand::List => {
            println!("{:<38} {:<24} {:>10}", "ID", "NAME", "CREDITS");
            for a in accounts.all().await? {
                println!("{:<38} {:<24} {:>10}", a.id, a.name, a.credits);
            }
        }
        AccountCommand::Credit { account, credits } => {
            let (acc, balance) = accounts.credit(&account, credits).await?;
            println!("{} now has {balance} credits", acc.name);
        }
    }
    Ok(())
}
