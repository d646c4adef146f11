//! `killmail.ingested` → `killmail.enriched`, a batch at a time: one lookup of which killmails
//! are done already, one name resolution for every id of the batch (Redis → `esi_cache` →
//! ESI, up to 1,000 ids a request), and one statement for the writes.

use super::battlescope::kafka::types::{Error as KafkaError, Message};
use super::exports::battlescope::kafka::batch_handler::Guest;
use super::Enrichment;
use enrichment::config::Config;
use enrichment::ingested::Ingested;
use enrichment::wasm::counters::Counters;
use enrichment::wasm::esi::{Esi, EsiError};
use enrichment::wasm::store::{Store, ToSave};
use enrichment::wasm::{config, resolve};
use enrichment::{enrich, ingested, names};
use std::collections::{BTreeMap, BTreeSet};

/// One result per event of a batch.
type Outcomes = Vec<Result<(), KafkaError>>;

impl Guest for Enrichment {
    /// Idempotent: an already-enriched killmail is acknowledged without fetching or
    /// publishing again. ESI outages and database trouble are retryable (the killmail waits);
    /// a malformed event or body is fatal (dead-lettered with the reason), for that message
    /// alone.
    fn handle_batch(messages: Vec<Message>) -> Outcomes {
        let parsed: Vec<Result<Ingested, KafkaError>> =
            messages.iter().map(|m| ingested::parse(&m.data).map_err(KafkaError::Fatal)).collect();
        let (events, traces): (Vec<&Ingested>, Vec<Option<String>>) = parsed
            .iter()
            .zip(&messages)
            .filter_map(|(p, m)| p.as_ref().ok().map(|e| (e, guest::trace::of_message(&m.headers))))
            .unzip();
        let mut outcomes = enrich_events(&events, &traces).into_iter();
        parsed
            .iter()
            .map(|p| p.as_ref().map_err(Clone::clone).and_then(|_| outcomes.next().expect("one outcome per event")))
            .collect()
    }
}

/// `traces[i]` is the trace `events[i]` came in; its `killmail.enriched` continues it.
fn enrich_events(events: &[&Ingested], traces: &[Option<String>]) -> Outcomes {
    if events.is_empty() {
        return Vec::new();
    }
    let everyone = |e: KafkaError| vec![Err(e); events.len()];
    let config = match config() {
        Ok(c) => c,
        Err(e) => return everyone(KafkaError::Fatal(e)),
    };
    let store = match Store::open(&config) {
        Ok(s) => s,
        Err(e) => return everyone(KafkaError::Retryable(e)),
    };
    let mut counters = Counters::default();
    // The batch could not go on as a whole (the database, Redis or ESI is out): every event
    // waits, and the host tries each alone.
    let outcomes = enrich_new(&config, &store, events, traces, &mut counters)
        .unwrap_or_else(|why| vec![Err(KafkaError::Retryable(why)); events.len()]);
    if let Err(e) = store.count(&counters) {
        eprintln!("enrichment: {e}");
    }
    outcomes
}

/// Enrich the events not enriched yet; a killmail that cannot be (a refused or malformed body)
/// fails alone, through its own outcome.
fn enrich_new(
    config: &Config,
    store: &Store,
    events: &[&Ingested],
    traces: &[Option<String>],
    counters: &mut Counters,
) -> Result<Outcomes, String> {
    let done = store.enriched_among(&events.iter().map(|e| e.killmail_id).collect())?;
    let mut esi = Esi::open(config, counters);
    let mut out: Outcomes = vec![Ok(()); events.len()];
    // The first event of each killmail not done yet, with its body; later copies share its fate.
    let mut first_of: BTreeMap<u64, usize> = BTreeMap::new();
    let mut bodies: Vec<(usize, serde_json::Value)> = Vec::new();
    for (i, event) in events.iter().enumerate() {
        let id = event.killmail_id;
        if done.contains(&id) || first_of.contains_key(&id) {
            esi.counters.add("redelivered", 1);
            continue;
        }
        first_of.insert(id, i);
        match &event.esi {
            Some(body) => bodies.push((i, body.clone())),
            None => match esi.killmail(store, id, &event.hash) {
                Ok(body) => {
                    esi.counters.add("bodies_from_esi", 1);
                    bodies.push((i, body));
                }
                Err(EsiError::Unavailable(why)) => out[i] = Err(KafkaError::Retryable(format!("killmail {id}: {why}"))),
                Err(e @ EsiError::Refused(..)) => out[i] = Err(KafkaError::Fatal(format!("killmail {id}: {e}"))),
            },
        }
    }
    let ids: BTreeSet<u64> = bodies.iter().flat_map(|(_, body)| names::ids(body)).collect();
    let found = resolve::resolve(&mut esi, store, &ids, false)?;
    let mut enriched = Vec::new();
    for (i, body) in &bodies {
        let event = events[*i];
        match enrich::enrich(body, &event.hash, event.source, event.zkb.as_ref(), &found, 1) {
            Ok(e) => enriched.push((*i, e, body)),
            Err(e) => out[*i] = Err(KafkaError::Fatal(format!("killmail {}: {e}", event.killmail_id))),
        }
    }
    let to_save: Vec<ToSave> = enriched
        .iter()
        .map(|(i, e, body)| ToSave { enriched: e, esi: body, zkb: events[*i].zkb.as_ref(), trace: traces[*i].as_deref() })
        .collect();
    let saved = store.save_all(&to_save)?;
    for ((_, e, _), saved) in enriched.iter().zip(saved) {
        esi.counters.add(if saved { "enriched" } else { "redelivered" }, 1);
        if !e.unresolved.is_empty() {
            esi.counters.add("published_without_some_names", 1);
        }
    }
    for (i, event) in events.iter().enumerate() {
        if let Some(&first) = first_of.get(&event.killmail_id).filter(|first| **first != i) {
            out[i] = out[first].clone();
        }
    }
    Ok(out)
}
