//! Counters gathered during one invocation and written in one statement at its end.

use std::collections::BTreeMap;

#[derive(Default)]
pub struct Counters(BTreeMap<String, i64>);

impl Counters {
    pub fn add(&mut self, name: &str, n: i64) {
        if n != 0 {
            *self.0.entry(name.to_string()).or_default() += n;
        }
    }

    /// `{"name": n, …}` for the store's bulk upsert.
    pub fn to_json(&self) -> String {
        serde_json::to_string(&self.0).expect("counters serialise")
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}
