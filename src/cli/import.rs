//! `docpush templates import`: invoice2data templates into an account, each
//! file reported as created or refused with the constructs that stopped it.

use docpush::config::Settings;
use docpush::startup::Services;
use docpush::templates::TemplateError;

pub async fn run(
    settings: Settings,
    account: &str,
    files: &[std::path::PathBuf],
) -> anyhow::Result<()> {
    let services = Services::build(settings).await?;
    let account = services.accounts.find(account).await?;
    let (mut created, mut refused) = (0, 0);
    for file in files {
        let outcome = match std::fs::read(file) {
            Ok(body) => {
                services
                    .templates
                    .import(&account.id, &body, &docpush::types::Actor::System)
                    .await
            }
            Err(e) => Err(TemplateError::Invalid(format!("cannot be read: {e}"))),
        };
        match outcome {
            Ok(t) => {
                created += 1;
                println!("created  {}  {}  ({})", t.id, t.name, file.display());
            }
            Err(e) => {
                refused += 1;
                println!("refused  {}", file.display());
                let message = e.to_string();
                let reasons = message
                    .split_once(": ")
                    .filter(|(head, _)| head.contains("cannot import"))
                    .map_or(message.as_str(), |(_, rest)| rest);
                for reason in reasons.split("; ") {
                    println!("         - {reason}");
                }
            }
        }
    }
    println!("{created} created, {refused} refused");
    Ok(())
}
