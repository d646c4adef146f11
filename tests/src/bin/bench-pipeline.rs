//! `make bench` (whole pipeline): `battlescope backfill` of a real day (2021-11-28, 17,047
//! killmails, the Jorund fight included) through the running application: ingestion →
//! enrichment (ESI replay) → battles, with notifications and search consuming beside them, until
//! the last killmail is in its battle. First with cold name caches, then again with the names
//! cached (the cold run is the baseline). Printed for each run: when each stage had the whole
//! day (its rate), how far the battle stage was when enrichment finished and how fast it did
//! the rest, the CPU the machine (every process, the bench's probes too) and the host spent
//! until the last battle (per killmail: what a faster pipeline must lower), when every
//! consumer group had caught up (search and notifications may lag and do their work after
//! the battles are in), each consumer group's calls (how many, how big, how long) and each
//! component's time in Postgres statements and its instances with their mean linear memory
//! from the host's metrics, the `/universe/names/`
//! calls made, the host's peak RSS, and how long one live killmail, released on the R2Z2 feed
//! once the battle stage has half the day, took to reach its battle.
//! The live killmails are the day's own, held back from the backfill: each shares a pilot with
//! a kill of the day's first quarter (same system, 30 minutes), so it joins a battle as soon as
//! the battle stage has it. The baseline beside each run is the pure clustering module over
//! the same day, measured just before it (the core's speed at that time), so that runs from
//! different hours compare.

use battle::clustering::Kill;
use battlescope_tests::app::{App, Options, TOKEN};
use battlescope_tests::battles::{clustering_kills, pure_module_rate, settle};
use battlescope_tests::cpu_time::CpuSample;
use battlescope_tests::metrics_text::sum_by;
use battlescope_tests::replay::{data, Replay, ReplayData};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

const DAY: &str = "2021-11-28";
/// Longest a run may take before the bench gives up.
const RUN_LIMIT: Duration = Duration::from_secs(1800);
/// How often the bench counts enriched killmails (the stage's time is known to within it).
const ENRICHED_PROBE: Duration = Duration::from_millis(250);
/// How often the bench asks the broker whether every consumer has caught up (once the battles
/// are stored).
const CAUGHT_UP_PROBE: Duration = Duration::from_millis(250);

/// One backfill of the day, as the stages finished it.
struct Run {
    /// Since the backfill started: ingestion decided, enrichment stored, battles stored the
    /// day's last killmail.
    ingested: Duration,
    enriched: Duration,
    battled: Duration,
    /// Killmails the battle stage had stored when enrichment had the whole day: how far the
    /// last stage lagged while the stages shared the machine (the rest it did alone).
    battled_when_enriched: i64,
    /// CPU spent from the start to the last battle: the machine's and the host's.
    cpu: CpuSample,
    /// Since the backfill started: every consumer group (search and notifications too) had
    /// committed every message; work a lagging consumer left for later is counted here.
    caught_up: Duration,
    /// The last consumer seen behind before all had caught up (which one a slow "every
    /// consumer" waited for), if any was.
    last_behind: Option<String>,
    names_calls: u64,
    peak_rss_mib: f64,
    /// Feed release of the live killmail → its battle row.
    live: Duration,
    /// The host's metrics when the backfill started, and once every consumer had caught up.
    metrics_before: String,
    metrics_after: String,
}

/// How much series `name` grew, by label `by`, between two scrapes (only those that grew).
fn growth(before: &str, after: &str, name: &str, by: &str) -> BTreeMap<String, f64> {
    let before = sum_by(before, name, by);
    sum_by(after, name, by)
        .into_iter()
        .map(|(key, value)| {
            let grew = value - before.get(&key).copied().unwrap_or(0.0);
            (key, grew)
        })
        .filter(|(_, grew)| *grew > 0.0)
        .collect()
}

/// The host's peak RSS so far, then reset it so the next run measures its own (Linux
/// `clear_refs` 5 resets `VmHWM`).
fn take_peak_rss_mib(app: &App) -> f64 {
    let peak = app.host.peak_rss_kib().map(|k| k as f64 / 1024.0).unwrap_or(f64::NAN);
    if let Some(pid) = app.host.pid() {
        let _ = std::fs::write(format!("/proc/{pid}/clear_refs"), "5");
    }
    peak
}

async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).get(0)
}

/// Backfill the day file and watch the stages; `live_sequence` is released on the feed once
/// the battle stage has half the day.
async fn backfill(app: &App, replay: &Replay, host: &Path, file: &Path, total: i64, live_sequence: usize, live_id: i64) -> Run {
    let names_before = replay.counts().esi_names;
    let metrics_before = app.host.metrics().await;
    let cpu_before = CpuSample::now(app.host.pid());
    let started = Instant::now();
    let mut cli = tokio::process::Command::new(host)
        .arg("backfill")
        .arg(file)
        .args(["--url", &app.host.url(""), "--token", TOKEN])
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start battlescope backfill");
    let (mut ingested, mut enriched, mut battled, mut released, mut live) = (None, None, None, None, None);
    let mut enriched_probe = Instant::now();
    let (mut stored, mut battled_when_enriched, mut cpu) = (0, None, CpuSample::default());
    while battled.is_none() || live.is_none() {
        assert!(started.elapsed() < RUN_LIMIT, "the backfill took longer than {RUN_LIMIT:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
        let now = started.elapsed();
        // Each count reads a table the run is writing: asked only until its stage is done, so
        // that watching takes little from what it measures.
        if ingested.is_none()
            && count(&app.db, "SELECT count(*) FROM killmail_decisions WHERE source = 'backfill'").await >= total
        {
            ingested = Some(now);
        }
        let not_live = format!("WHERE killmail_id <> {live_id}");
        // Counting enriched killmails reads the whole table of documents (about 18 ms of
        // Postgres's CPU once the day is in): asked only once ingestion is done, and every
        // ENRICHED_PROBE.
        if enriched.is_none() && ingested.is_some() && enriched_probe.elapsed() >= ENRICHED_PROBE {
            enriched_probe = Instant::now();
            if count(&app.enrichment_db, &format!("SELECT count(*) FROM enriched_killmails {not_live}")).await >= total {
                enriched = Some(now);
                battled_when_enriched = Some(stored);
            }
        }
        if battled.is_none() {
            stored = count(&app.battles_db, &format!("SELECT count(*) FROM battle_kills {not_live}")).await;
            if released.is_none() && stored >= total / 2 {
                replay.set_window(live_sequence, live_sequence);
                released = Some(Instant::now());
            }
            if stored >= total {
                battled = Some(now);
                cpu = CpuSample::now(app.host.pid()).since(&cpu_before);
            }
        }
        if let (Some(at), None) = (released, live) {
            let sql = format!("SELECT count(*) FROM battle_killmails WHERE killmail_id = {live_id}");
            if count(&app.battles_db, &sql).await == 1 {
                live = Some(at.elapsed());
            }
        }
    }
    let status = cli.wait().await.expect("battlescope backfill");
    assert!(status.success(), "battlescope backfill failed: {status}");
    let (caught_up, last_behind) = caught_up(app, started).await;
    Run {
        ingested: ingested.unwrap(),
        enriched: enriched.unwrap(),
        battled: battled.unwrap(),
        battled_when_enriched: battled_when_enriched.unwrap(),
        cpu,
        caught_up,
        last_behind,
        names_calls: replay.counts().esi_names - names_before,
        peak_rss_mib: take_peak_rss_mib(app),
        live: live.unwrap(),
        metrics_before,
        metrics_after: app.host.metrics().await,
    }
}

/// When every consumer group of the application had no message left to commit, since `started`,
/// and the last one seen behind before that.
async fn caught_up(app: &App, started: Instant) -> (Duration, Option<String>) {
    let mut last_behind = None;
    while let Err(behind) = app.consumers_caught_up().await {
        assert!(started.elapsed() < RUN_LIMIT, "the consumers did not catch up within {RUN_LIMIT:?}: {behind}");
        last_behind = Some(behind);
        tokio::time::sleep(CAUGHT_UP_PROBE).await;
    }
    (started.elapsed(), last_behind)
}

/// `gauge`: the pure module's rate measured just before the run.
fn print(label: &str, run: &Run, total: i64, gauge: f64) {
    let rate = |d: Duration| total as f64 / d.as_secs_f64();
    println!(
        "{label:<12} {:>7.0} killmails/s end to end ({:.1} s, {:.5}x the pure module's {gauge:.0}/s)   stages done at: ingestion {:.1} s ({:.0}/s), \
         enrichment {:.1} s ({:.0}/s), battles {:.1} s, every consumer {:.1} s   {} /universe/names/ calls   host peak RSS {:.0} MiB   \
         live killmail → battle {:.2} s",
        rate(run.battled),
        run.battled.as_secs_f64(),
        rate(run.battled) / gauge,
        run.ingested.as_secs_f64(),
        rate(run.ingested),
        run.enriched.as_secs_f64(),
        rate(run.enriched),
        run.battled.as_secs_f64(),
        run.caught_up.as_secs_f64(),
        run.names_calls,
        run.peak_rss_mib,
        run.live.as_secs_f64(),
    );
    let (shared, alone) = (run.enriched, run.battled.saturating_sub(run.enriched));
    println!(
        "{:<12} battle stage: {} of {total} killmails stored when enrichment finished ({:.0}/s beside the other stages), the rest in {:.1} s ({:.0}/s)",
        "",
        run.battled_when_enriched,
        run.battled_when_enriched as f64 / shared.as_secs_f64(),
        alone.as_secs_f64(),
        (total - run.battled_when_enriched) as f64 / alone.as_secs_f64().max(0.001),
    );
    let per_killmail_ms = |seconds: f64| seconds * 1000.0 / total as f64;
    println!(
        "{:<12} CPU to the last battle: machine {:.1} s ({:.2} ms a killmail), host {:.1} s ({:.2} ms a killmail), host minor page faults {:.0}k",
        "",
        run.cpu.machine_busy,
        per_killmail_ms(run.cpu.machine_busy),
        run.cpu.process,
        per_killmail_ms(run.cpu.process),
        run.cpu.process_minor_faults as f64 / 1000.0,
    );
    if let Some(behind) = &run.last_behind {
        println!("{:<12} last consumer to catch up: {behind}", "");
    }
    let (before, after) = (&run.metrics_before, &run.metrics_after);
    let calls = growth(before, after, "kafka_call_duration_seconds_count", "group");
    let messages = growth(before, after, "kafka_call_messages_total", "group");
    let seconds = growth(before, after, "kafka_call_duration_seconds_sum", "group");
    let groups: Vec<String> = calls
        .iter()
        .map(|(group, n)| {
            let consumer = group.rsplit('.').next().unwrap_or(group);
            let mean = messages.get(group).copied().unwrap_or(0.0) / n;
            format!("{consumer} {n:.0} × {mean:.0} messages, {:.1} s", seconds.get(group).copied().unwrap_or(0.0))
        })
        .collect();
    println!("{:<12} calls by consumer group: {}", "", groups.join("; "));
    let statements: Vec<String> = growth(before, after, "database_query_duration_seconds_sum", "component")
        .iter()
        .map(|(component, s)| format!("{component} {s:.1} s"))
        .collect();
    println!("{:<12} Postgres statements by component: {}", "", statements.join(", "));
    // Each call runs in a fresh instance whose linear memory the kernel hands out zeroed.
    let instances = growth(before, after, "component_instances_created_total", "component");
    let memory: Vec<String> = growth(before, after, "component_memory_bytes_total", "component")
        .iter()
        .map(|(component, bytes)| {
            let n = instances.get(component).copied().unwrap_or(f64::NAN);
            format!("{component} {n:.0} × {:.1} MiB", bytes / n / (1024.0 * 1024.0))
        })
        .collect();
    println!("{:<12} instances by component, with their mean linear memory: {}", "", memory.join(", "));
}

/// Empty what the day left in every stage, keeping the name caches (Redis, `esi_cache`) and
/// the feed's cursor.
async fn forget_the_day(app: &App) {
    app.db.batch_execute("TRUNCATE killmail_decisions, killmail_events").await.unwrap();
    app.enrichment_db.batch_execute("DELETE FROM enriched_killmails").await.unwrap();
    app.battles_db
        .batch_execute("TRUNCATE battle_kills, battles, battle_killmails, battle_participants, battle_statistics")
        .await
        .unwrap();
}

/// Two killmails from just after the day's first quarter (the archive is in time order) that
/// each share a pilot with a kill of the first quarter, in the same system within 30 minutes:
/// held back from the backfill, each joins a battle as soon as the battle stage has it.
fn live_killmails(kills: &[Kill]) -> Vec<i64> {
    let (first_quarter, rest) = kills.split_at(kills.len() / 4);
    let linked = |k: &Kill| {
        first_quarter.iter().any(|early| {
            early.system == k.system
                && (early.time - k.time).abs() <= 30 * 60
                && early.pilots.iter().any(|p| k.pilots.contains(p))
        })
    };
    let chosen: Vec<i64> = rest.iter().filter(|k| linked(k)).take(2).map(|k| k.id as i64).collect();
    assert_eq!(chosen.len(), 2, "{DAY} has no two killmails linked to its first quarter");
    chosen
}

#[tokio::main]
async fn main() {
    let host = std::env::args().skip_while(|a| a != "--host").nth(1).expect("--host <release battlescope binary>");
    std::env::set_var("BATTLESCOPE_BIN", &host);
    let day = data::load_day(&data::day_file(DAY)).unwrap();
    let kills = clustering_kills(&day);
    let live_ids = live_killmails(&kills);
    let (live, mut killmails): (Vec<Value>, Vec<Value>) =
        day.into_iter().partition(|k| live_ids.contains(&k["killmail_id"].as_i64().unwrap()));
    let total = killmails.len() as i64;
    let dir = tempfile::tempdir().unwrap();
    let backfill_file = dir.path().join(format!("killmails-{DAY}-without-live.jsonl"));
    let lines: Vec<String> = killmails.iter().map(Value::to_string).collect();
    std::fs::write(&backfill_file, lines.join("\n")).unwrap();
    // The live killmails follow the day on the feed's sequence, hidden until released.
    killmails.extend(live);
    let first_live = total as usize + 1;
    let replay = Replay::start(ReplayData::new(killmails).unwrap(), 0).await.unwrap();
    replay.set_window(first_live, first_live - 1);
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        start_sequence: Some(first_live as i64),
        ..Options::default()
    };
    let app = App::start(dir.path(), "bench_pipeline", options).await.unwrap();
    // Let the consumers join their groups before the clock starts.
    tokio::time::sleep(Duration::from_secs(5)).await;
    take_peak_rss_mib(&app);

    println!(
        "Pipeline: `battlescope backfill` of {DAY} ({total} killmails) → ingestion → enrichment (ESI replay) → battles, \
         notifications and search consuming too; one live killmail released on the R2Z2 feed halfway"
    );
    let gauge_cold = pure_module_rate(&kills).0;
    let cold = backfill(&app, &replay, Path::new(&host), &backfill_file, total, first_live, live_ids[0]).await;
    print("cold caches", &cold, total, gauge_cold);
    settle(&app).await;
    forget_the_day(&app).await;
    let gauge_warm = pure_module_rate(&kills).0;
    let warm = backfill(&app, &replay, Path::new(&host), &backfill_file, total, first_live + 1, live_ids[1]).await;
    print("warm caches", &warm, total, gauge_warm);
    println!(
        "warm / cold  ratio {:.2}x end to end ({:.2}x with each run over its gauge)",
        cold.battled.as_secs_f64() / warm.battled.as_secs_f64(),
        (cold.battled.as_secs_f64() * gauge_cold) / (warm.battled.as_secs_f64() * gauge_warm)
    );
    app.stop().await;
}
