//! `[[ruleset_filter]]` tables of the runtime config: which plugins run, in which order,
//! under which limits.

use serde::Deserialize;
use std::path::PathBuf;

/// One ruleset-filter plugin.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// Name in logs, metrics and rejection reasons (`plugin:<name>`).
    pub name: String,
    /// The plugin: a component, or a core module built with wit-bindgen for
    /// `wasm32-unknown-unknown` (the host wraps it). Relative to the config file. The host
    /// watches it and swaps in a changed file that loads (docs/plugins.md, "Hot reload").
    pub source: PathBuf,
    /// The language the plugin was written in: it picks the default fuel and memory, since a
    /// Python or JavaScript plugin carries its interpreter into every call.
    #[serde(default)]
    pub language: PluginLanguage,
    /// What a failure (trap, fuel or memory spent, refused at load) counts as.
    #[serde(default)]
    pub on_failure: FailurePolicy,
    /// Instructions' worth of fuel one call may burn; the language's default when absent.
    pub fuel: Option<u64>,
    /// Memory one call's instance may take in total, in MiB; the language's default when absent.
    pub memory_mib: Option<usize>,
    /// Passed to every call as `settings`, sorted by key.
    #[serde(default)]
    pub settings: toml::Table,
}

/// Fail open (keep the killmail) or closed (drop it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailurePolicy {
    #[default]
    Accept,
    Reject,
}

/// A plugin's source language, for its default budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum PluginLanguage {
    /// Or any language compiled straight to WebAssembly (C, Go, Zig, …).
    #[default]
    Rust,
    /// componentize-py: CPython in the component.
    Python,
    /// componentize-js: StarlingMonkey (SpiderMonkey) in the component.
    Javascript,
}

impl PluginLanguage {
    /// Default (fuel, memory MiB) per call: seven to seventeen times the fuel and five to
    /// fifteen times the memory the capital-ships example in that language needed at most on
    /// the recorded days (docs/plugins.md has the figures), so an ordinary filter fits and a
    /// runaway one is stopped well within a second.
    pub const fn default_budget(self) -> (u64, usize) {
        match self {
            PluginLanguage::Rust => (10_000_000, 16),
            PluginLanguage::Python => (200_000_000, 64),
            PluginLanguage::Javascript => (1_000_000_000, 64),
        }
    }
}

/// The most fuel a call may be given: about a second of work, so one plugin call cannot hold
/// a thread without end.
pub const MAX_FUEL: u64 = 2_000_000_000;

impl PluginConfig {
    /// Fuel one call may burn.
    pub fn fuel(&self) -> u64 {
        self.fuel.unwrap_or(self.language.default_budget().0)
    }

    /// Memory one call may take, in MiB.
    pub fn memory_mib(&self) -> usize {
        self.memory_mib.unwrap_or(self.language.default_budget().1)
    }

    /// Settings as the plugin receives them: strings, whatever their TOML type.
    pub fn setting_pairs(&self) -> Vec<(String, String)> {
        self.settings.iter().map(|(k, v)| (k.clone(), v.as_str().map(str::to_string).unwrap_or_else(|| v.to_string()))).collect()
    }

    /// Reject what cannot work before anything is loaded.
    pub fn check(&self) -> Result<(), String> {
        if self.name.is_empty() || !self.name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
            return Err(format!("ruleset_filter name {:?}: use letters, digits, `-` and `_`", self.name));
        }
        if self.fuel() == 0 || self.fuel() > MAX_FUEL {
            return Err(format!("ruleset_filter `{}`: fuel must be 1..={MAX_FUEL}, not {}", self.name, self.fuel()));
        }
        if self.memory_mib() == 0 || self.memory_mib() > 1024 {
            return Err(format!("ruleset_filter `{}`: memory_mib must be 1..=1024, not {}", self.name, self.memory_mib()));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_settings() {
        let c: PluginConfig =
            toml::from_str("name = \"v\"\nsource = \"v.wasm\"\n[settings]\nmin_value = 1e9\nlabel = \"big\"\n").unwrap();
        assert_eq!(c.on_failure, FailurePolicy::Accept);
        assert_eq!((c.fuel(), c.memory_mib()), (10_000_000, 16));
        assert_eq!(c.setting_pairs(), vec![("label".into(), "big".into()), ("min_value".into(), "1000000000.0".into())]);
        assert!(c.check().is_ok());
    }

    #[test]
    fn the_language_picks_the_default_budget_and_explicit_values_win() {
        let c: PluginConfig = toml::from_str("name = \"p\"\nsource = \"p.wasm\"\nlanguage = \"python\"\n").unwrap();
        assert_eq!((c.fuel(), c.memory_mib()), PluginLanguage::Python.default_budget());
        let c: PluginConfig = toml::from_str("name = \"j\"\nsource = \"j.wasm\"\nlanguage = \"javascript\"\nfuel = 5\n").unwrap();
        assert_eq!((c.fuel(), c.memory_mib()), (5, 64));
        let error = toml::from_str::<PluginConfig>("name = \"c\"\nsource = \"c.wasm\"\nlanguage = \"cobol\"\n").unwrap_err();
        assert!(error.to_string().contains("expected one of `rust`, `python`, `javascript`"), "{error}");
    }

    #[test]
    fn bad_entries_are_refused_with_the_reason() {
        assert!(toml::from_str::<PluginConfig>("name = \"v\"\nsource = \"v.wasm\"\nfule = 3\n").is_err());
        assert!(toml::from_str::<PluginConfig>("name = \"v\"\nsource = \"v.wasm\"\non_failure = \"maybe\"\n").is_err());
        let c: PluginConfig = toml::from_str("name = \"a b\"\nsource = \"v.wasm\"\n").unwrap();
        assert!(c.check().unwrap_err().contains("name"));
        let c: PluginConfig = toml::from_str("name = \"v\"\nsource = \"v.wasm\"\nmemory_mib = 0\n").unwrap();
        assert!(c.check().unwrap_err().contains("memory_mib"));
        let c: PluginConfig = toml::from_str("name = \"v\"\nsource = \"v.wasm\"\nfuel = 3000000000\n").unwrap();
        assert!(c.check().unwrap_err().contains("fuel must be 1..=2000000000"));
    }
}
