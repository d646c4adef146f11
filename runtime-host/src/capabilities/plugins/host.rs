use super::PluginsState;
use crate::bindings::plugins::runner::battlescope::ruleset_filter::runner::{Host, Outcome};
use crate::bindings::plugins::runner::battlescope::ruleset_filter::types::{self, KillmailSummary};

impl types::Host for PluginsState {}

impl Host for PluginsState {
    /// Plugins run synchronously (fuel, no async support needed), so off the async workers:
    /// a slow plugin must not hold up the requests and messages sharing a worker thread.
    async fn evaluate(&mut self, killmail: KillmailSummary) -> wasmtime::Result<Outcome> {
        let plugins = self.plugins.clone();
        tokio::task::spawn_blocking(move || plugins.evaluate(&killmail))
            .await
            .map_err(|e| wasmtime::format_err!("the plugin runner's thread failed: {e}"))
    }
}
