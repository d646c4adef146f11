//! The cron job: ask ESI again for names it could not give, and publish a new version of the
//! killmails that gained names.

use super::fermyon::spin_cron::cron_types::{Error as CronError, Metadata};
use super::{Enrichment, Guest};
use enrichment::config::Config;
use enrichment::wasm::counters::Counters;
use enrichment::wasm::esi::Esi;
use enrichment::wasm::store::{Store, ToSave};
use enrichment::wasm::{config, resolve};
use enrichment::{enrich, names};

impl Guest for Enrichment {
    fn handle_cron_event(_: Metadata) -> Result<(), CronError> {
        let config = config().map_err(CronError::Other)?;
        let store = Store::open(&config).map_err(CronError::Other)?;
        let mut counters = Counters::default();
        let outcome = retry_names(&config, &store, &mut counters);
        if let Err(e) = store.count(&counters) {
            eprintln!("enrichment: {e}");
        }
        outcome.map_err(CronError::Other)
    }
}

fn retry_names(config: &Config, store: &Store, counters: &mut Counters) -> Result<(), String> {
    let mut esi = Esi::open(config, counters);
    let due = store.due_unresolved(names::MAX_IDS_PER_CALL as i64)?;
    if !due.is_empty() {
        resolve::resolve(&mut esi, store, &due, true)?;
    }
    for km in store.incomplete(200)? {
        let ids = names::ids(&km.esi);
        let found = resolve::resolve(&mut esi, store, &ids, false)?;
        let enriched = enrich::enrich(&km.esi, &km.hash, km.source, km.zkb.as_ref(), &found, km.version + 1)
            .map_err(|e| format!("rebuilding killmail {}: {e}", km.killmail_id))?;
        if enriched.unresolved.len() < km.unresolved
            && store.save_all(&[ToSave {
                enriched: &enriched,
                esi: &km.esi,
                zkb: km.zkb.as_ref(),
                trace: guest::trace::current().as_deref(),
            }])?[0]
        {
            esi.counters.add("republished_with_names", 1);
        }
    }
    Ok(())
}
