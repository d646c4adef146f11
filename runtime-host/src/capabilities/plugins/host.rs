use super::PluginsState;
use crate::bindings::plugins::runner::battlescope::ruleset_filter::runner::{Failure, Host, Outcome, Rejection};
use crate::bindings::plugins::runner::battlescope::ruleset_filter::types::{self, KillmailSummary};

impl types::Host for PluginsState {}

impl Host for PluginsState {
    async fn evaluate(&mut self, killmail: KillmailSummary) -> wasmtime::Result<Outcome> {
        let (rejection, failures) = self.plugins.evaluate(&killmail);
        Ok(Outcome {
            rejection: rejection.map(|(plugin, reason)| Rejection { plugin, reason }),
            failures: failures.into_iter().map(|(plugin, error)| Failure { plugin, error }).collect(),
        })
    }
}
