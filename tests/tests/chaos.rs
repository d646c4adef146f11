//! The chaos verifier, bounded: the first killmails of a recorded day through the whole
//! platform while the host is SIGKILLed twice, the broker is cut off, Postgres and Redis are
//! restarted, ESI is slow and failing and the read APIs are flooded, each at a random point
//! drawn from a printed seed. Then: every killmail accepted is enriched once and in battles,
//! the battles are those a clean clustering finds, no outbox row or partition is left behind,
//! nothing was dead-lettered and the host's memory is within bounds.
//!
//! `make chaos` runs it at full size (the whole day, faster); the environment sets the size:
//! `BATTLESCOPE_CHAOS_KILLMAILS` (0: the whole day), `BATTLESCOPE_CHAOS_FEED_RATE` (feed
//! requests a second), `BATTLESCOPE_CHAOS_SEED` (to replay a run).

use battlescope_tests::chaos::{Plan, Rig};
use battlescope_tests::replay::data;
use futures::FutureExt;

/// The recorded day replayed (the smallest of the three).
const DAY: &str = "2021-11-30";

fn setting(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name}={v:?} is not a whole number")),
        Err(_) => default,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_day_survives_every_dependency_breaking_mid_stream() {
    let seed = setting("BATTLESCOPE_CHAOS_SEED", chrono::Utc::now().timestamp_micros() as u64);
    let feed_rate = setting("BATTLESCOPE_CHAOS_FEED_RATE", 40) as u32;
    let killmails = match setting("BATTLESCOPE_CHAOS_KILLMAILS", 1500) {
        0 => data::load_day(&data::day_file(DAY)).unwrap().len(),
        n => n as usize,
    };
    let plan = Plan::random(seed, DAY, killmails, feed_rate);
    println!("chaos: seed {seed} (BATTLESCOPE_CHAOS_SEED={seed} replays this run), {killmails} killmails at {feed_rate}/s");
    for (at, fault) in &plan.faults {
        println!("chaos: plan {:>6.1} s  {fault:?}", at.as_secs_f64());
    }
    let dir = tempfile::tempdir().unwrap();
    let mut rig = Rig::start(dir.path(), &plan).await.unwrap();
    let flood = rig.run_faults(&plan).await.unwrap();
    let answers = flood.finish().await;
    let verified = std::panic::AssertUnwindSafe(rig.verify(&plan, &answers)).catch_unwind().await;
    if let Err(failure) = verified {
        let log = std::env::temp_dir().join(format!("chaos-{seed}.log"));
        let _ = std::fs::write(&log, rig.app.host.log_text());
        eprintln!("chaos: the last host's log is in {}", log.display());
        std::panic::resume_unwind(failure);
    }
    rig.app.stop().await;
}
