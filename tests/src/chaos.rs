//! The chaos verifier (issue #16): a recorded day flows through the whole platform while its
//! dependencies are broken at random points, then the checks that nothing was lost.
//!
//! The platform runs against servers of its own: a Postgres and a Redis it restarts, a tansu
//! broker behind a link it cuts (tansu keeps its log in memory, and on S3 it was seen losing
//! acknowledged messages to a restart: a real restart would test tansu, not us), and the
//! replay for zKillboard and ESI. Typesense is its own too, though not among the faults: the
//! long-lived dev one was seen finishing snapshots without answering the request for minutes,
//! which stalls search indexing whenever collections are created.

use crate::app::{App, Options};
use crate::broker::Broker;
use crate::link::Link;
use crate::private::{PrivatePostgres, PrivateRedis};
use crate::replay::{data, Fault as EsiFault, Replay, ReplayData, Route};
use crate::typesense::PrivateTypesense;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// What one run does: which killmails, how fast the feed gives them, and the faults.
#[derive(Debug, Clone)]
pub struct Plan {
    pub seed: u64,
    pub day: &'static str,
    /// The first this many killmails of the day.
    pub killmails: usize,
    /// Feed requests per second: how long the stream lasts, so faults land mid-stream.
    pub feed_rate: u32,
    /// Faults in the order they start, each at its offset from the feed's start.
    pub faults: Vec<(Duration, Fault)>,
}

/// One thing the verifier breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// SIGKILL the host and start it again.
    KillHost,
    /// Every connection to the broker reset and new ones refused, for a while: a broker
    /// restart as its clients see it.
    BrokerOutage,
    /// Postgres stopped as by a crash (immediate shutdown) and started again.
    PostgresRestart,
    /// Redis killed and started empty.
    RedisRestart,
    /// ESI answers late.
    EsiSlow,
    /// ESI answers server errors.
    EsiFailing,
    /// Many clients hammering the read APIs at once.
    HttpFlood,
}

/// Every fault the issue asks for, the host killed twice.
const ALL_FAULTS: [Fault; 8] = [
    Fault::KillHost,
    Fault::KillHost,
    Fault::BrokerOutage,
    Fault::PostgresRestart,
    Fault::RedisRestart,
    Fault::EsiSlow,
    Fault::EsiFailing,
    Fault::HttpFlood,
];

/// How long an outage lasts.
const OUTAGE: Duration = Duration::from_secs(6);
/// How long the flood lasts.
const FLOOD: Duration = Duration::from_secs(12);
/// Concurrent clients of the flood.
/// More than the host's HTTP share of instances (128 by default), so some are shed with 503.
const FLOOD_CLIENTS: usize = 160;
/// The host's memory after the run, at most.
pub const RSS_BOUND_KIB: u64 = 1024 * 1024;

impl Plan {
    /// Every fault, in an order and at offsets drawn from `seed`, within the first four fifths
    /// of the stream.
    pub fn random(seed: u64, day: &'static str, killmails: usize, feed_rate: u32) -> Self {
        let mut rng = SplitMix(seed);
        let stream = killmails as f64 / feed_rate.max(1) as f64;
        let mut faults: Vec<Fault> = ALL_FAULTS.to_vec();
        for i in (1..faults.len()).rev() {
            faults.swap(i, rng.below(i as u64 + 1) as usize);
        }
        let mut offsets: Vec<Duration> =
            faults.iter().map(|_| Duration::from_secs_f64(stream * (0.05 + 0.75 * rng.unit()))).collect();
        offsets.sort();
        Self { seed, day, killmails, feed_rate, faults: offsets.into_iter().zip(faults).collect() }
    }
}

/// A small, seedable generator (SplitMix64): a run is replayed by its seed.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// The platform and the servers the run breaks.
pub struct Rig {
    pub app: App,
    pub replay: Replay,
    pub postgres: PrivatePostgres,
    pub redis: PrivateRedis,
    pub broker_link: Link,
    _broker: Broker,
    _typesense: PrivateTypesense,
    started: Instant,
}

impl Rig {
    /// Start the servers, the replay of the plan's killmails and the platform fed by it.
    pub async fn start(dir: &Path, plan: &Plan) -> anyhow::Result<Self> {
        let killmails: Vec<_> = data::load_day(&data::day_file(plan.day))?.into_iter().take(plan.killmails).collect();
        let replay = Replay::start(ReplayData::new(killmails)?, 0).await?;
        let postgres = PrivatePostgres::start().await?;
        let redis = PrivateRedis::start().await?;
        let broker_port = crate::free_port();
        let broker_link = Link::open(&format!("127.0.0.1:{broker_port}")).await;
        let broker = Broker::start_advertising(broker_port, broker_link.port).await?;
        let typesense = PrivateTypesense::start(dir).await;
        let options = Options {
            feed: "r2z2",
            replay_url: Some(replay.base_url.clone()),
            feed_requests_per_second: plan.feed_rate,
            redis_url: Some(redis.url()),
            postgres_admin_url: Some(postgres.admin_url()),
            kafka_brokers: Some(format!("127.0.0.1:{}", broker_link.port)),
            typesense_url: Some(typesense.url.clone()),
            ..Options::default()
        };
        let app = App::start(dir, "chaos", options).await?;
        Ok(Self { app, replay, postgres, redis, broker_link, _broker: broker, _typesense: typesense, started: Instant::now() })
    }

    /// Print what was done, with when.
    fn note(&self, what: String) {
        println!("chaos: {:>6.1} s  {what}", self.started.elapsed().as_secs_f64());
    }

    /// The plan's faults at their offsets, one after another (a fault whose time came while the
    /// previous one lasted starts when it ends). ESI faults and the flood go on in the background.
    pub async fn run_faults(&mut self, plan: &Plan) -> anyhow::Result<Flood> {
        let flood = Flood::default();
        for (at, fault) in &plan.faults {
            if let Some(wait) = at.checked_sub(self.started.elapsed()) {
                tokio::time::sleep(wait).await;
            }
            let ingested = self.app.count("SELECT count(*) FROM killmail_events").await;
            self.note(format!("{fault:?} ({ingested} killmails ingested so far)"));
            self.apply(*fault, &flood).await?;
        }
        Ok(flood)
    }

    async fn apply(&mut self, fault: Fault, flood: &Flood) -> anyhow::Result<()> {
        match fault {
            Fault::KillHost => {
                self.app.host.kill_in_place().await;
                self.app.relaunch().await?;
                // The new host listens on a port of its own.
                flood.aim(&self.app.host.base_url);
            }
            Fault::BrokerOutage => {
                self.broker_link.cut();
                tokio::time::sleep(OUTAGE).await;
                self.broker_link.restore().await;
            }
            Fault::PostgresRestart => {
                self.postgres.restart(OUTAGE).await?;
                self.app.reconnect().await?;
            }
            Fault::RedisRestart => self.redis.restart(OUTAGE).await?,
            Fault::EsiSlow => {
                self.replay.inject(EsiFault::slow(Route::EsiKillmail, Duration::from_secs(2), 40));
                self.replay.inject(EsiFault::slow(Route::EsiNames, Duration::from_secs(3), 10));
            }
            Fault::EsiFailing => {
                self.replay.inject(EsiFault::status(Route::EsiKillmail, 502, 40));
                self.replay.inject(EsiFault::status(Route::EsiNames, 503, 10));
            }
            Fault::HttpFlood => {
                flood.aim(&self.app.host.base_url);
                flood.start(FLOOD);
            }
        }
        Ok(())
    }
}

/// Slack for catching up after the last fault, beyond what the stream itself takes.
const RECOVERY: Duration = Duration::from_secs(75);

impl Plan {
    /// How long the platform may take after the last fault to have every killmail in battles:
    /// the rest of the feed (or the battle stage's pace, at about 100 killmails a second,
    /// when that is slower) and the slack. A dependency that stays stuck after it came back
    /// (a client waiting minutes to reconnect, say) overruns it.
    fn drain_budget(&self) -> Duration {
        let stream = self.killmails as f64 / self.feed_rate.max(1) as f64;
        Duration::from_secs_f64(stream.max(self.killmails as f64 / 100.0)) + RECOVERY
    }
}

impl Rig {
    /// Wait until the pipeline has drained, then check that nothing was lost or applied twice;
    /// panics naming what differs. Prints the counts.
    pub async fn verify(&self, plan: &Plan, flood: &BTreeMap<u16, u64>) {
        let (app, n) = (&self.app, plan.killmails as i64);
        let deadline = Instant::now() + plan.drain_budget();
        let left = || deadline.saturating_duration_since(Instant::now());
        app.wait_for_count("SELECT count(*) FROM killmail_events", n, left()).await;
        app.wait_for_enriched("SELECT count(*) FROM enriched_killmails", n, left()).await;
        app.wait_for_battles("SELECT count(*) FROM battle_kills", n, left()).await;
        crate::battles::settle(app).await;
        self.note(format!("drained: {n} killmails ingested, enriched and in battles (budget {:?})", plan.drain_budget()));

        let ingested = ids(&app.db, "SELECT killmail_id FROM killmail_events").await;
        let enriched = ids(&app.enrichment_db, "SELECT killmail_id FROM enriched_killmails").await;
        let in_battles = ids(&app.battles_db, "SELECT killmail_id FROM battle_kills").await;
        assert_eq!(ingested.len() as i64, n, "every killmail of the feed is accepted once");
        assert!(ingested == enriched, "enriched killmails differ from those ingested");
        assert!(ingested == in_battles, "the battle service's killmails differ from those ingested");
        crate::battles::assert_stored_equals_recomputed(app).await;

        let dbs = [("ingestion", &app.db), ("enrichment", &app.enrichment_db), ("battles", &app.battles_db)];
        crate::eventually("every outbox row published", Duration::from_secs(60), || async {
            for (service, db) in dbs {
                let row = db
                    .query_one(
                        "SELECT count(*) FILTER (WHERE published_at IS NULL AND failed_at IS NULL),
                                count(*) FILTER (WHERE failed_at IS NOT NULL) FROM outbox",
                        &[],
                    )
                    .await
                    .map_err(|e| format!("{service} outbox: {e}"))?;
                let (pending, parked): (i64, i64) = (row.get(0), row.get(1));
                assert_eq!(parked, 0, "{service}: outbox rows parked as unpublishable");
                if pending > 0 {
                    return Err(format!("{service}: {pending} outbox rows pending"));
                }
            }
            Ok(())
        })
        .await;

        crate::eventually("every consumer group at the end of its partitions", Duration::from_secs(60), || {
            app.consumers_caught_up()
        })
        .await;
        let dead_letter_topics: Vec<String> = app.topics_and_groups().iter().map(|(t, _)| format!("{t}.dlq")).collect();
        let dead_letters = crate::kafka::group_lag(&app.kafka_brokers(), "chaos-reader", &dead_letter_topics)
            .await
            .expect("reading dead-letter topics");
        assert!(dead_letters.iter().all(|l| l.2 == 0), "messages were dead-lettered: {dead_letters:?}");

        let rss = app.host.rss_kib().unwrap_or(0);
        assert!(rss <= RSS_BOUND_KIB, "the host holds {rss} KiB after the run, over {RSS_BOUND_KIB}");
        let battles =
            app.battles_db.query_one("SELECT count(*) FROM battles", &[]).await.expect("counting battles").get::<_, i64>(0);
        let esi = self.replay.counts();
        let server_errors: u64 = flood.iter().filter(|(s, _)| **s >= 500 && **s != 503).map(|(_, n)| n).sum();
        self.note(format!(
            "checked: {n} killmails enriched once and in battles, {battles} battles equal to a clean clustering, \
             outboxes empty, no partition behind, nothing dead-lettered; host RSS {} MiB; \
             ESI: {} killmail and {} names calls, {} faults served; flood answers by status {flood:?}",
            rss / 1024,
            esi.esi_killmail,
            esi.esi_names,
            esi.faults_served
        ));
        assert_eq!(server_errors, 0, "the flood got server errors other than 503: {flood:?}");
        assert!(flood.get(&200).is_some_and(|n| *n > 0), "the flood was never answered: {flood:?}");
    }
}

async fn ids(db: &tokio_postgres::Client, sql: &str) -> Vec<i64> {
    let mut ids: Vec<i64> = db.query(sql, &[]).await.unwrap_or_else(|e| panic!("{sql}: {e}")).iter().map(|r| r.get(0)).collect();
    ids.sort_unstable();
    ids
}

/// The read APIs the flood asks, round robin.
const FLOOD_PATHS: [&str; 5] =
    ["/api/battles?limit=50", "/api/ingestion/stats", "/api/enrichment/stats", "/api/battles/metrics", "/api/ingestion/health"];

/// Answers the flood got, by status (0: no answer in 10 s, or the connection refused while
/// the host was down).
#[derive(Default)]
pub struct Flood {
    /// The running host's base URL.
    target: Arc<Mutex<String>>,
    statuses: Arc<Mutex<BTreeMap<u16, u64>>>,
    clients: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Flood {
    fn aim(&self, base_url: &str) {
        *self.target.lock().unwrap() = base_url.to_string();
    }

    fn start(&self, lasting: Duration) {
        let until = Instant::now() + lasting;
        for client in 0..FLOOD_CLIENTS {
            let (statuses, target) = (self.statuses.clone(), self.target.clone());
            self.clients.lock().unwrap().push(tokio::spawn(async move {
                let mut i = client;
                while Instant::now() < until {
                    let base_url = target.lock().unwrap().clone();
                    let url = format!("{base_url}{}", FLOOD_PATHS[i % FLOOD_PATHS.len()]);
                    let status = match tokio::time::timeout(Duration::from_secs(10), crate::http::get(&url)).await {
                        Ok(Ok(reply)) => reply.status,
                        _ => 0,
                    };
                    *statuses.lock().unwrap().entry(status).or_default() += 1;
                    i += 1;
                }
            }));
        }
    }

    /// Wait until every client of the flood is done; its answers by status.
    pub async fn finish(&self) -> BTreeMap<u16, u64> {
        let clients: Vec<_> = self.clients.lock().unwrap().drain(..).collect();
        futures::future::join_all(clients).await;
        self.statuses.lock().unwrap().clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plan_holds_every_fault_once_in_order_of_time_and_is_the_same_for_a_seed() {
        let plan = Plan::random(7, "2021-11-30", 2000, 40);
        assert_eq!(plan.faults.len(), ALL_FAULTS.len());
        assert_eq!(plan.faults.iter().filter(|(_, f)| *f == Fault::KillHost).count(), 2);
        assert!(plan.faults.windows(2).all(|w| w[0].0 <= w[1].0));
        assert!(plan.faults.iter().all(|(at, _)| *at <= Duration::from_secs(40)));
        assert_eq!(format!("{:?}", plan.faults), format!("{:?}", Plan::random(7, "2021-11-30", 2000, 40).faults));
        assert_ne!(format!("{:?}", plan.faults), format!("{:?}", Plan::random(8, "2021-11-30", 2000, 40).faults));
    }
}
