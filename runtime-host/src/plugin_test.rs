//! `battlescope plugin test`: a plugin author's quick loop. Runs one ruleset-filter plugin over
//! recorded days of killmails, as the host would run it (fresh instance per call, fuel and
//! memory limits), without Postgres, Kafka or a feed, and reports what it decided, how fast,
//! how much fuel it burnt and where it failed.

use crate::bindings::plugins::types::{KillmailSummary, Participant as WitParticipant, SecurityBand as WitBand};
use crate::capabilities::plugins::config::{FailurePolicy, PluginConfig, PluginLanguage};
use crate::capabilities::plugins::{CallCost, PluginAnswer, PluginSet};
use anyhow::{bail, Context};
use clap::Args;
use ingestion::killmail::Killmail;
use std::collections::BTreeMap;
use std::io::BufRead;
use std::path::PathBuf;
use std::time::{Duration, Instant};

#[derive(Debug, Args)]
pub struct PluginTestArgs {
    /// The plugin: a component, or a core module built with wit-bindgen for
    /// `wasm32-unknown-unknown`.
    pub plugin: PathBuf,
    /// Recorded days: one ESI killmail (with its `killmail_hash`) per line, `.jsonl` or
    /// `.jsonl.gz`, as `battlescope backfill` reads them.
    #[arg(required = true)]
    pub days: Vec<PathBuf>,
    /// A TOML file whose keys are the plugin's settings (as `[ruleset_filter.settings]`).
    #[arg(long)]
    pub settings: Option<PathBuf>,
    /// The language the plugin was written in; picks the default fuel and memory, as the
    /// `language` key of `[[ruleset_filter]]` does.
    #[arg(long, value_enum, default_value_t)]
    pub language: PluginLanguage,
    /// Fuel one call may burn (default: the language's).
    #[arg(long)]
    pub fuel: Option<u64>,
    /// Memory one call may take, in MiB (default: the language's).
    #[arg(long)]
    pub memory_mib: Option<usize>,
}

/// Lines, errors and calls to list at most.
const SHOWN: usize = 5;

/// What one plugin did to the killmails of all days.
#[derive(Default)]
struct Report {
    accepted: u64,
    rejected: BTreeMap<String, u64>,
    failed: BTreeMap<String, u64>,
    unreadable: Vec<String>,
    first_errors: Vec<(u64, String)>,
    /// (duration, killmail id) of every call, for percentiles and the slowest.
    calls: Vec<(Duration, u64)>,
    costs: Vec<CallCost>,
}

impl Report {
    fn record(&mut self, killmail_id: u64, answer: PluginAnswer, took: Duration, cost: CallCost) {
        self.calls.push((took, killmail_id));
        self.costs.push(cost);
        match answer {
            PluginAnswer::Accept => self.accepted += 1,
            PluginAnswer::Reject(reason) => *self.rejected.entry(reason).or_default() += 1,
            PluginAnswer::Failed(error) => {
                if self.first_errors.len() < SHOWN {
                    self.first_errors.push((killmail_id, error.clone()));
                }
                *self.failed.entry(error).or_default() += 1;
            }
        }
    }

    fn print(&mut self, config: &PluginConfig) {
        let name = &config.name;
        let rejected: u64 = self.rejected.values().sum();
        let failed: u64 = self.failed.values().sum();
        println!("plugin {name}: {} killmails", self.calls.len());
        println!("  accepted    {:>8}", self.accepted);
        println!("  rejected    {rejected:>8}");
        for (reason, n) in top(&self.rejected) {
            println!("    {n:>8}  {reason}");
        }
        println!("  failed      {failed:>8}");
        for (error, n) in top(&self.failed) {
            println!("    {n:>8}  {error}");
        }
        if !self.unreadable.is_empty() {
            println!("  unreadable lines (not given to the plugin): {}", self.unreadable.len());
            for line in self.unreadable.iter().take(SHOWN) {
                println!("    {line}");
            }
        }
        self.calls.sort();
        if let Some((slowest, _)) = self.calls.last() {
            let total: Duration = self.calls.iter().map(|(d, _)| *d).sum();
            let p99 = self.calls[(self.calls.len() * 99 / 100).min(self.calls.len() - 1)].0;
            println!(
                "calls (fresh instance + call): mean {:.1?}, p99 {p99:.1?}, slowest {slowest:.1?}",
                total / self.calls.len() as u32
            );
            let slowest: Vec<String> =
                self.calls.iter().rev().take(SHOWN).map(|(d, id)| format!("killmail {id} {d:.1?}")).collect();
            println!("  slowest: {}", slowest.join(", "));
            let fuel: Vec<u64> = self.costs.iter().map(|c| c.fuel).collect();
            let most = fuel.iter().max().copied().unwrap_or(0);
            println!("fuel: mean {}, most {most} of {} per call", fuel.iter().sum::<u64>() / fuel.len() as u64, config.fuel());
            let mib = |bytes: usize| bytes as f64 / f64::from(1 << 20);
            let memory: Vec<usize> = self.costs.iter().map(|c| c.memory_bytes).collect();
            println!(
                "memory: mean {:.1} MiB, most {:.1} MiB of {} MiB per call",
                mib(memory.iter().sum::<usize>() / memory.len()),
                mib(memory.iter().max().copied().unwrap_or(0)),
                config.memory_mib()
            );
        }
        if !self.first_errors.is_empty() {
            println!("first failures:");
            for (id, error) in &self.first_errors {
                println!("  killmail {id}: {error}");
            }
        }
    }
}

/// The most frequent entries, most first.
fn top(counts: &BTreeMap<String, u64>) -> Vec<(&String, u64)> {
    let mut sorted: Vec<(&String, u64)> = counts.iter().map(|(k, n)| (k, *n)).collect();
    sorted.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    sorted.truncate(SHOWN);
    sorted
}

pub fn run(args: PluginTestArgs) -> anyhow::Result<()> {
    let settings = match &args.settings {
        None => toml::Table::new(),
        Some(path) => {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading settings {}", path.display()))?;
            text.parse::<toml::Table>().map_err(|e| anyhow::anyhow!("{}: not a TOML table of settings: {e}", path.display()))?
        }
    };
    let name: String = args
        .plugin
        .file_stem()
        .map(|s| s.to_string_lossy().chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '-' }).collect())
        .unwrap_or_else(|| "plugin".into());
    let config = PluginConfig {
        name: name.clone(),
        source: args.plugin.clone(),
        language: args.language,
        on_failure: FailurePolicy::Accept,
        fuel: args.fuel,
        memory_mib: args.memory_mib,
        settings,
    };
    let plugins = PluginSet::load(std::slice::from_ref(&config), Default::default())?;
    if let Some((_, reason)) = plugins.refusals().first() {
        bail!("{} cannot be run as a ruleset filter: {reason}", args.plugin.display());
    }
    let started = Instant::now();
    let mut report = Report::default();
    for day in &args.days {
        let lines = crate::backfill::open(day)?.lines();
        for (number, line) in lines.enumerate() {
            let line = line.with_context(|| format!("reading {}", day.display()))?;
            let killmail = match Killmail::from_archive_line(&line) {
                Ok(km) => km,
                Err(e) => {
                    report.unreadable.push(format!("{}:{}: {e}", day.display(), number + 1));
                    continue;
                }
            };
            let summary = summary(&killmail);
            let call_started = Instant::now();
            let (answer, cost) = plugins.call_first(&summary).expect("one plugin is loaded");
            report.record(killmail.id, answer, call_started.elapsed(), cost);
        }
    }
    report.print(&config);
    println!("{} file(s) in {:.1?}", args.days.len(), started.elapsed());
    Ok(())
}

/// What ingestion's worker gives plugins for this killmail.
fn summary(km: &Killmail) -> KillmailSummary {
    ingestion::plugin_summary!(km, KillmailSummary, WitParticipant, WitBand)
}
