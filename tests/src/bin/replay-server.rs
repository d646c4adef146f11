//! Serve recorded killmails as zKillboard's R2Z2 / RedisQ and ESI would, for offline demos:
//! `replay-server [--port 8090] [--file data/killmails/killmails-2021-11-30.jsonl.gz]`.
//! Point ingestion at it with `make run REPLAY=1`.

use anyhow::Context;
use battlescope_tests::replay::{data, Replay, ReplayData};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut port = 8090u16;
    let mut file = data::day_file("2021-11-30");
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--port" => port = args.next().context("--port needs a value")?.parse().context("--port: not a port number")?,
            "--file" => file = args.next().context("--file needs a path")?.into(),
            other => anyhow::bail!("unknown argument {other:?}; use --port N and --file PATH"),
        }
    }
    let killmails = data::load_day(&file)?;
    let replay = Replay::start(ReplayData::new(killmails)?, port).await?;
    println!(
        "replay-server: {} killmails from {} on {} (R2Z2 /ephemeral/, RedisQ /listen.php, ESI /latest/)",
        replay.len(),
        file.display(),
        replay.base_url
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
