//! Hot reload: a watcher thread looks at every plugin's file every couple of seconds and swaps
//! in a changed file once it has stopped changing and loads. A new version that does not load
//! is refused with a log line and the version already running keeps running. Calls in flight
//! finish on the version they started with.

use super::{link, PluginSet, Version};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// How often the watcher looks at the plugin files. A changed file is loaded on the look after
/// the one that saw it change, so a copy still being written is not loaded half-way.
pub const POLL: Duration = Duration::from_secs(2);

/// What tells one version of a file from the next without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileStamp {
    modified: SystemTime,
    len: u64,
}

impl FileStamp {
    /// None when the file cannot be looked at (missing, no permission).
    pub fn of(path: &Path) -> Option<Self> {
        let meta = std::fs::metadata(path).ok()?;
        Some(Self { modified: meta.modified().ok()?, len: meta.len() })
    }
}

/// What a look at one plugin's file did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reload {
    Unchanged,
    /// Changed since the last look: loaded on the next look if it stays as it is.
    Settling,
    Loaded,
    Refused(String),
}

impl PluginSet {
    /// Start the watcher thread (no thread when no plugin is configured).
    pub fn watch(self: &Arc<Self>) -> std::io::Result<()> {
        if self.plugins.is_empty() {
            return Ok(());
        }
        let plugins = Arc::downgrade(self);
        std::thread::Builder::new().name("plugin-reload".into()).spawn(move || {
            let mut seen = vec![None; plugins.upgrade().map_or(0, |p| p.plugins.len())];
            loop {
                std::thread::sleep(POLL);
                // The set is gone when the host shuts down.
                let Some(plugins) = plugins.upgrade() else { return };
                plugins.look_for_changes(&mut seen);
            }
        })?;
        Ok(())
    }

    /// One look at every plugin's file. `seen` holds the stamp each file had at the previous
    /// look.
    pub fn look_for_changes(&self, seen: &mut [Option<FileStamp>]) -> Vec<Reload> {
        self.plugins.iter().zip(seen.iter_mut()).map(|(plugin, seen)| self.look_at(plugin, seen)).collect()
    }

    fn look_at(&self, plugin: &super::Plugin, seen: &mut Option<FileStamp>) -> Reload {
        let stamp = FileStamp::of(&plugin.config.source);
        let loaded = plugin.current.read().unwrap_or_else(|poisoned| poisoned.into_inner()).stamp;
        let previous = std::mem::replace(seen, stamp);
        if stamp.is_none() || stamp == loaded {
            return Reload::Unchanged;
        }
        if stamp != previous {
            return Reload::Settling;
        }
        let name = plugin.config.name.as_str();
        let source = plugin.config.source.display();
        let outcome = match link(&self.engine, &plugin.config) {
            Ok(pre) => {
                tracing::info!(plugin = name, source = %source, "ruleset-filter plugin reloaded: calls from now on use the new file");
                *plugin.current.write().unwrap_or_else(|poisoned| poisoned.into_inner()) =
                    Version { linked: Arc::new(Ok(pre)), stamp };
                Reload::Loaded
            }
            Err(reason) => {
                let mut current = plugin.current.write().unwrap_or_else(|poisoned| poisoned.into_inner());
                if current.linked.is_ok() {
                    tracing::error!(plugin = name, source = %source,
                        "ruleset-filter plugin's new file refused, the running version stays: {reason}");
                    current.stamp = stamp;
                } else {
                    tracing::error!(plugin = name, source = %source, "ruleset-filter plugin's new file refused too: {reason}");
                    *current = Version { linked: Arc::new(Err(reason.clone())), stamp };
                }
                Reload::Refused(reason)
            }
        };
        let label = if outcome == Reload::Loaded { "loaded" } else { "refused" };
        self.metrics.count(
            "plugin_reloads_total",
            "Changed plugin files loaded or refused.",
            &[("plugin", name), ("outcome", label)],
            1,
        );
        outcome
    }
}
