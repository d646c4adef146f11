//! `search-reindex`: rebuild every search collection from the event topics with no downtime.
//!
//! 1. Note each topic's end, and read everything up to it into fresh collections
//!    (`<alias>_v<schema>_<unix time>`), by the batch (`search::rebuild`).
//! 2. Catch up: what arrived meanwhile is applied into the fresh collections as the live
//!    indexer applies it, pass after pass until a pass is small. Readers still see the old
//!    collections, which the live indexer keeps current.
//! 3. Point the aliases at the fresh collections (readers switch at once) and apply what
//!    arrived during the last pass.
//! 4. Drop the old collections (unless `--keep-old`).
//!
//! Running it beside the live indexer is the point; during the last pass both write to the
//! fresh collections, and an entity both count at the same moment can end one count off
//! (activity ranks; it is not an audit figure). Running two reindexes at once is not supported.

mod topics;
mod transport;

use anyhow::{bail, Context};
use clap::Parser;
use search::collections::{Kind, Names, SCHEMA_VERSION};
use search::index::{IndexError, Indexer};
use search::rebuild::Rebuild;
use search::typesense::{Client, TypesenseError};
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use topics::{Ends, Reader};
use transport::Hyper;

/// Rebuild BattleScope's search collections from the event topics, then swap the aliases.
#[derive(Debug, Parser)]
#[command(name = "search-reindex")]
struct Args {
    /// Typesense's base URL.
    #[arg(long, env = "SPIN_VARIABLE_TYPESENSE_URL", default_value = "http://127.0.0.1:8108")]
    typesense_url: String,
    /// Typesense's admin API key.
    #[arg(long, env = "SPIN_VARIABLE_TYPESENSE_API_KEY", hide_env_values = true)]
    typesense_api_key: String,
    /// Where Typesense copies its state after the fresh collections are made (the indexer's
    /// `typesense_snapshot_dir`).
    #[arg(long, env = "SPIN_VARIABLE_TYPESENSE_SNAPSHOT_DIR", default_value = "/tmp/battlescope-typesense-snapshot")]
    typesense_snapshot_dir: String,
    /// Kafka bootstrap servers.
    #[arg(long, env = "SPIN_VARIABLE_KAFKA_BROKERS", default_value = "127.0.0.1:9092")]
    brokers: String,
    /// The deployment's collection prefix (`collection_prefix` of the search components).
    #[arg(long, default_value = "battlescope_")]
    prefix: String,
    /// The topics the search indexer consumes, comma-separated.
    #[arg(
        long,
        value_delimiter = ',',
        default_value = "battle.created,battle.updated,battle.ended,battle.removed,killmail.enriched,killmail.enriched.backfill"
    )]
    topics: Vec<String>,
    /// Documents per import request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u64).range(1..=10_000))]
    batch: u64,
    /// Keep the collections the aliases pointed at before (to compare, or to swap back).
    #[arg(long)]
    keep_old: bool,
}

/// A Typesense call tried again while Typesense is down or busy, for about two minutes.
fn patiently<T>(what: &str, mut call: impl FnMut() -> Result<T, TypesenseError>) -> anyhow::Result<T> {
    let mut wait = Duration::from_millis(200);
    let started = Instant::now();
    loop {
        match call() {
            Ok(v) => return Ok(v),
            Err(e) if e.is_transient() && started.elapsed() < Duration::from_secs(120) => {
                eprintln!("reindex: {what}: {e}; trying again in {wait:?}");
                std::thread::sleep(wait);
                wait = (wait * 2).min(Duration::from_secs(10));
            }
            Err(e) => return Err(e).with_context(|| what.to_string()),
        }
    }
}

/// A progress line every few seconds, and the last one at the end.
struct Progress {
    started: Instant,
    printed: Instant,
    total: i64,
    /// How many were done, and when that last grew.
    last: (u64, Instant),
    /// Time spent waiting for the topics to be quiet, left out of the rate.
    idle: Duration,
}

impl Progress {
    fn new(total: i64) -> Self {
        Self { started: Instant::now(), printed: Instant::now(), total, last: (0, Instant::now()), idle: Duration::ZERO }
    }

    /// Reading ended: the time since the last event was spent waiting for more.
    fn read_finished(&mut self) {
        self.idle += self.last.1.elapsed();
    }

    fn show(&mut self, phase: &str, done: u64, detail: &str, force: bool) {
        if done > self.last.0 {
            self.last = (done, Instant::now());
        }
        if !force && self.printed.elapsed() < Duration::from_secs(2) {
            return;
        }
        self.printed = Instant::now();
        // Reading goes past the ends the broker reported (`topics::Reader::read`).
        let total = self.total.max(done as i64);
        let rate = done as f64 / self.started.elapsed().saturating_sub(self.idle).as_secs_f64().max(1e-3);
        let share = if total > 0 { format!(" ({:.0}%)", 100.0 * done as f64 / total as f64) } else { String::new() };
        eprintln!("reindex: {phase}: {done} of {total} events{share}, {rate:.0}/s; {detail}");
    }
}

/// Import `docs` by the batch. Documents Typesense refuses are reported and skipped (the live
/// indexer dead-letters their events); they come back as the number refused.
fn import(client: &Client<Hyper>, collection: &str, docs: &[Value], batch: usize) -> anyhow::Result<u64> {
    let mut refused = 0;
    for chunk in docs.chunks(batch) {
        match patiently(&format!("importing {} documents into {collection}", chunk.len()), || client.upsert(collection, chunk)) {
            Ok(()) => {}
            Err(e) => match e.downcast_ref::<TypesenseError>() {
                Some(TypesenseError::Refused { refused: n, .. }) => {
                    eprintln!("reindex: {e:#}");
                    refused += *n as u64;
                }
                _ => return Err(e),
            },
        }
    }
    Ok(refused)
}

/// Events applied one by one into `indexer`'s collections, as the live indexer applies them.
/// Unindexable events are counted and skipped (the live indexer dead-letters them).
struct CatchUp {
    indexer: Indexer<Hyper>,
    applied: u64,
    skipped: u64,
}

impl CatchUp {
    fn pass(&mut self, reader: &Reader, topics: &[String], from: &Ends, phase: &str) -> anyhow::Result<(Ends, u64)> {
        let (_, now) = reader.bounds(topics)?;
        let mut progress = Progress::new(topics::count(from, &now));
        let mut handled = 0;
        let stopped = reader.read(from, &now, |_, payload| {
            let outcome = patiently("applying an event that arrived meanwhile", || match self.indexer.apply(payload) {
                Err(IndexError::Typesense(e)) if e.is_transient() => Err(e),
                other => Ok(other),
            })?;
            match outcome {
                Ok(_) => self.applied += 1,
                Err(e) => {
                    eprintln!("reindex: skipped an event: {e}");
                    self.skipped += 1;
                }
            }
            handled += 1;
            progress.show(phase, handled, "", false);
            Ok(())
        })?;
        progress.read_finished();
        progress.show(phase, handled, "", true);
        Ok((stopped, handled))
    }
}

/// A catch-up pass this small is the last before the swap.
const SMALL_PASS: u64 = 100;
const MAX_PASSES: usize = 5;

fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let batch = args.batch as usize;
    let client = Client::new(Hyper::new()?, &args.typesense_url, &args.typesense_api_key);
    if !patiently("asking Typesense for its health", || client.healthy())? {
        bail!("Typesense at {} says it is not healthy", args.typesense_url);
    }
    let reader = Reader::connect(&args.brokers)?;

    // 1. Everything up to the current ends into fresh collections.
    let stamp = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let fresh = Names::each(|k| format!("{}_v{SCHEMA_VERSION}_{stamp}", k.alias(&args.prefix)));
    for kind in Kind::ALL {
        let collection = fresh.of(kind);
        patiently(&format!("creating {collection}"), || client.create_collection(&kind.schema(collection)))?;
    }
    patiently("snapshotting Typesense after creating the collections", || {
        search::collections::snapshot_after_creating(&client, &args.typesense_snapshot_dir, "the new collections")
    })?;
    let (starts, ends) = reader.bounds(&args.topics)?;
    let mut progress = Progress::new(topics::count(&starts, &ends));
    let mut rebuild = Rebuild::default();
    let mut first_refusal: Option<String> = None;
    let mut refused_documents = 0;
    let stopped = reader.read(&starts, &ends, |(topic, partition), payload| {
        if let Err(e) = rebuild.add(payload) {
            first_refusal.get_or_insert_with(|| format!("{topic}[{partition}]: {e}"));
        }
        let (battles, killmails) = rebuild.take(batch);
        refused_documents += import(&client, fresh.of(Kind::Battles), &battles, batch)?;
        refused_documents += import(&client, fresh.of(Kind::Killmails), &killmails, batch)?;
        let t = rebuild.tally();
        progress.show("rebuilding", t.events, &format!("{} battles, {} killmails", t.battles, t.killmails), false);
        Ok(())
    })?;
    progress.read_finished();
    let (battles, killmails) = rebuild.take(0);
    refused_documents += import(&client, fresh.of(Kind::Battles), &battles, batch)?;
    refused_documents += import(&client, fresh.of(Kind::Killmails), &killmails, batch)?;
    let entities = rebuild.entity_documents();
    refused_documents += import(&client, fresh.of(Kind::Entities), &entities, batch)?;
    let t = rebuild.tally();
    progress.show(
        "rebuilt",
        t.events,
        &format!("{} battles, {} killmails, {} entities", t.battles, t.killmails, entities.len()),
        true,
    );
    if let Some(first) = &first_refusal {
        eprintln!("reindex: {} events were not indexable (the live indexer dead-letters them); the first: {first}", t.refused);
    }
    if refused_documents > 0 {
        eprintln!("reindex: Typesense refused {refused_documents} documents (see above)");
    }

    // 2. What arrived meanwhile, into the fresh collections, until little is left: readers
    // still see the old collections, which the live indexer keeps up to date.
    let mut catch_up = CatchUp { indexer: Indexer::into_collections(client, fresh.clone()), applied: 0, skipped: 0 };
    let mut from = stopped;
    for _ in 0..MAX_PASSES {
        let (stopped, handled) = catch_up.pass(&reader, &args.topics, &from, "catching up")?;
        from = stopped;
        if handled < SMALL_PASS {
            break;
        }
    }

    // 3. The swap, then what arrived during the last pass. From here on the live indexer writes
    // into the fresh collections too.
    let client = catch_up.indexer.client();
    let mut old = Vec::new();
    for kind in Kind::ALL {
        let alias = kind.alias(&args.prefix);
        if let Some(previous) = patiently(&format!("reading the alias {alias}"), || client.alias_target(&alias))? {
            old.push(previous);
        }
    }
    for kind in Kind::ALL {
        let (alias, collection) = (kind.alias(&args.prefix), fresh.of(kind));
        patiently(&format!("pointing {alias} at {collection}"), || client.set_alias(&alias, collection))?;
        eprintln!("reindex: {alias} -> {collection}");
    }
    if let Err(e) = catch_up.pass(&reader, &args.topics, &from, "after the swap") {
        bail!(
            "the last catch-up failed after the aliases moved ({e:#}); the old collections {} are kept: run the reindex again",
            old.join(", ")
        );
    }
    eprintln!("reindex: {} events applied after the rebuild, {} skipped", catch_up.applied, catch_up.skipped);

    // 4. The old collections.
    let client = catch_up.indexer.client();
    for previous in old.iter().filter(|c| !Kind::ALL.iter().any(|k| fresh.of(*k) == c.as_str())) {
        if args.keep_old {
            eprintln!("reindex: kept {previous}");
        } else {
            patiently(&format!("dropping {previous}"), || client.drop_collection(previous))?;
            eprintln!("reindex: dropped {previous}");
        }
    }
    Ok(())
}
