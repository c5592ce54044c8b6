mod cli;

use clap::Parser;

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
    let command = cli::Cli::parse();
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?
        .block_on(cli::run(command))
}
