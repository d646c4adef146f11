//! The cron job: ask ESI again for names it could not give, and publish a new version of the
//! killmails that gained names.

use super::counters::Counters;
use super::esi::Esi;
use super::store::Store;
use super::{resolve, var, Enrichment, Guest};
use super::fermyon::spin_cron::cron_types::{Error as CronError, Metadata};
use crate::{enrich, names};

impl Guest for Enrichment {
    fn handle_cron_event(_: Metadata) -> Result<(), CronError> {
        let store = Store::open().map_err(CronError::Other)?;
        let mut counters = Counters::default();
        let outcome = retry_names(&store, &mut counters);
        if let Err(e) = store.count(&counters) {
            eprintln!("enrichment: {e}");
        }
        outcome.map_err(CronError::Other)
    }
}

fn retry_names(store: &Store, counters: &mut Counters) -> Result<(), String> {
    let mut esi = Esi::open(counters)?;
    let due = store.due_unresolved(names::MAX_IDS_PER_CALL as i64)?;
    if !due.is_empty() {
        resolve::resolve(&mut esi, store, &due, true)?;
    }
    let topic = var("enriched_topic", "killmail.enriched");
    for km in store.incomplete(200)? {
        let ids = names::ids(&km.esi);
        let found = resolve::resolve(&mut esi, store, &ids, false)?;
        let enriched = enrich::enrich(&km.esi, &km.hash, &km.source, km.zkb.as_ref(), &found, km.version + 1)
            .map_err(|e| format!("rebuilding killmail {}: {e}", km.killmail_id))?;
        if enriched.unresolved.len() < km.unresolved {
            let payload = enrich::event(&enriched, &uuid::Uuid::new_v4().to_string(), chrono::Utc::now()).to_string();
            if store.save(&enriched, &km.esi, km.zkb.as_ref(), &payload, &topic)? {
                esi.counters.add("republished_with_names", 1);
            }
        }
    }
    Ok(())
}
