//! What the host still waits for before it is ready: `/.well-known/battlescope/ready` answers
//! 200 only when every part that started has said it runs, and names the ones that have not,
//! with why (a broker down at boot shows here instead of passing silently).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

#[derive(Debug, Default)]
pub struct Readiness {
    /// Parts not running yet, with what they are waiting on.
    waiting: Mutex<BTreeMap<String, String>>,
}

/// A part's hold on readiness; the host is not ready until it says `running`.
pub struct Pending {
    readiness: Arc<Readiness>,
    part: String,
}

impl Readiness {
    /// Register `part` as not running yet.
    pub fn pending(self: &Arc<Self>, part: &str, why: &str) -> Pending {
        self.waiting.lock().expect("readiness lock").insert(part.to_string(), why.to_string());
        Pending { readiness: self.clone(), part: part.to_string() }
    }

    /// `None` when ready; otherwise one line per waiting part.
    pub fn waiting_for(&self) -> Option<String> {
        let waiting = self.waiting.lock().expect("readiness lock");
        (!waiting.is_empty()).then(|| waiting.iter().map(|(part, why)| format!("{part}: {why}\n")).collect())
    }
}

impl Pending {
    /// Say what the part is waiting on now.
    pub fn waiting_on(&self, why: impl Into<String>) {
        if let Some(entry) = self.readiness.waiting.lock().expect("readiness lock").get_mut(&self.part) {
            *entry = why.into();
        }
    }

    pub fn running(self) {
        self.readiness.waiting.lock().expect("readiness lock").remove(&self.part);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_only_when_every_pending_part_runs() {
        let readiness = Arc::new(Readiness::default());
        assert_eq!(readiness.waiting_for(), None);
        let kafka = readiness.pending("kafka", "starting");
        let http = readiness.pending("http", "binding");
        kafka.waiting_on("creating topics: broker unreachable");
        let waiting = readiness.waiting_for().unwrap();
        assert!(waiting.contains("kafka: creating topics: broker unreachable") && waiting.contains("http: binding"));
        http.running();
        assert_eq!(readiness.waiting_for().as_deref(), Some("kafka: creating topics: broker unreachable\n"));
        kafka.running();
        assert_eq!(readiness.waiting_for(), None);
    }
}
