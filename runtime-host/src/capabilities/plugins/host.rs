use super::PluginsState;
use crate::bindings::plugins::runner::battlescope::ruleset_filter::runner::{Host, Outcome};
use crate::bindings::plugins::runner::battlescope::ruleset_filter::types::{self, KillmailSummary};

impl types::Host for PluginsState {}

impl Host for PluginsState {
    /// Plugins run synchronously (fuel, no async support needed), so off the async workers:
    /// a slow plugin must not hold up the requests and messages sharing a worker thread.
    async fn evaluate(&mut self, killmail: KillmailSummary) -> wasmtime::Result<Outcome> {
        let plugins = self.plugins.clone();
        let killmail_id = killmail.killmail_id;
        let span = self.calls.open("ruleset-filter evaluate", crate::telemetry::Kind::Internal).map(|mut span| {
            span.attribute("battlescope.killmail_id", killmail_id as i64);
            span
        });
        let outcome = tokio::task::spawn_blocking(move || plugins.evaluate(&killmail))
            .await
            .map_err(|e| wasmtime::format_err!("the plugin runner's thread failed: {e}"));
        let span = match (span, &outcome) {
            (Some(mut span), Ok(o)) => {
                span.attribute(
                    "battlescope.plugin.rejected_by",
                    o.rejection.as_ref().map(|r| r.plugin.clone()).unwrap_or_default(),
                );
                span.attribute("battlescope.plugin.failures", o.failures.len() as i64);
                Some(span)
            }
            (span, _) => span,
        };
        let failed = outcome.as_ref().ok().and_then(|o| o.failures.first()).map(|f| format!("plugin {}: {}", f.plugin, f.error));
        self.calls.close(span, failed.as_deref());
        outcome
    }
}
