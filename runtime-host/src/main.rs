//! `battlescope`: runs BattleScope's Spin application on wasmtime with the triggers and
//! capabilities Spin lacks. `up` serves the app, `migrate` prepares the service databases,
//! `check` validates a manifest without serving, `deploy` writes deployment files from it.

mod backfill;
mod bindings;
mod capabilities;
mod cli;
mod component;
mod databases;
mod deploy;
mod engine;
mod kafka_client;
mod manifest;
mod metrics;
mod migrate;
mod outbox;
mod plugin_test;
mod readiness;
mod runtime_config;
mod state;
mod telemetry;
mod trace;
mod triggers;
mod up;

use clap::Parser;

/// glibc's allocator was about a quarter of the host's own (not wasm) CPU samples during a
/// backfill (`_int_malloc`, `malloc_consolidate`, `unlink_chunk` in `perf`): messages, rows and
/// component arguments are allocated and freed by the thousand from many threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    let cli = cli::Cli::parse();
    cli::init_logging(cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("battlescope: cannot start the async runtime: {e}");
            return std::process::ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %format!("{e:#}"), "battlescope failed");
            eprintln!("battlescope: error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Run one subcommand.
async fn run(command: cli::Command) -> anyhow::Result<()> {
    match command {
        cli::Command::Up(args) => crate::up::up(args).await,
        cli::Command::Check(args) => crate::up::check(&args).await.map(|_| ()),
        cli::Command::Backfill(args) => crate::backfill::run(args).await,
        cli::Command::Deploy(target) => crate::deploy::run(target),
        cli::Command::Plugin(cli::PluginCommand::Test(args)) => crate::plugin_test::run(args),
        cli::Command::Migrate(args) => {
            let manifest = crate::manifest::load(&args.manifest)?;
            let server = args.database.server();
            let applied = crate::migrate::run(&server, &server.databases(&manifest)?).await?;
            tracing::info!(applied, "migrations done");
            println!("battlescope: {applied} migration(s) applied");
            Ok(())
        }
    }
}
