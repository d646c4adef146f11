use super::PluginsState;
use crate::bindings::plugins::runner::battlescope::ruleset_filter::runner::{Host, Outcome};
use crate::bindings::plugins::runner::battlescope::ruleset_filter::types::{self, KillmailSummary};

impl types::Host for PluginsState {}

impl Host for PluginsState {
    async fn evaluate(&mut self, killmail: KillmailSummary) -> wasmtime::Result<Outcome> {
        Ok(self.plugins.evaluate(&killmail))
    }
}
