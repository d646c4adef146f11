//! The cron trigger (`[[trigger.cron]]`): Spin's cron plugin world with 6-field expressions
//! (second minute hour day-of-month month day-of-week). A run that is still going when the
//! next one is due makes that next one skip. `singleton = true` jobs run only on the replica
//! holding the job's Redis lease.

mod lease;

use crate::bindings::cron::fermyon::spin_cron::cron_types::{Error as CronError, Metadata};
use crate::bindings::cron::SpinCronPre;
use crate::capabilities::HostCapabilities;
use crate::component::{require_export, ComponentContext, Invocation, LoadedComponent};
use crate::manifest::LoadedManifest;
use crate::state::InstanceState;
use crate::telemetry::Kind;
use anyhow::Context;
use chrono::Utc;
use lease::Lease;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{watch, Mutex};

/// The shortest gap between two runs, looking at the next few.
fn period(schedule: &cron::Schedule) -> Duration {
    let times: Vec<_> = schedule.upcoming(Utc).take(5).collect();
    times.windows(2).map(|w| (w[1] - w[0]).to_std().unwrap_or(Duration::from_secs(60))).min().unwrap_or(Duration::from_secs(60))
}

struct Job {
    name: String,
    schedule: cron::Schedule,
    context: Arc<ComponentContext>,
    pre: SpinCronPre<InstanceState>,
    capabilities: Arc<HostCapabilities>,
    lease: Option<Mutex<Lease>>,
    running: AtomicBool,
}

pub struct CronTrigger {
    jobs: Vec<Arc<Job>>,
}

impl CronTrigger {
    pub async fn new(
        manifest: &LoadedManifest,
        components: &BTreeMap<String, LoadedComponent>,
        capabilities: Arc<HostCapabilities>,
        lease_address: Option<&str>,
        replica: &str,
    ) -> anyhow::Result<Self> {
        let mut jobs = Vec::new();
        for (index, t) in manifest.manifest.triggers.cron.iter().enumerate() {
            let component = &components[&t.component];
            let pre = require_export(
                SpinCronPre::new(component.pre.clone()),
                &format!("trigger.cron[{index}]"),
                &t.component,
                "handle-cron-event",
            )?;
            let schedule = crate::manifest::parse_schedule(&t.cron_expression).map_err(anyhow::Error::msg)?;
            let name = t.id.clone().unwrap_or_else(|| format!("cron[{index}]:{}", t.component));
            let lease = if t.singleton {
                let address = lease_address.context("a singleton cron job needs a lease address")?;
                let ttl = (period(&schedule) / 2).clamp(Duration::from_millis(500), Duration::from_secs(15));
                let namespace = manifest.manifest.trigger_settings.cron.as_ref().and_then(|c| c.lease_namespace.as_deref());
                let key = format!("battlescope:lease:{}:{}", namespace.unwrap_or(&manifest.manifest.application.name), name);
                Some(Mutex::new(
                    Lease::new(address, key, replica.to_string(), ttl)
                        .await
                        .with_context(|| format!("connecting to the lease server for {name}"))?,
                ))
            } else {
                None
            };
            jobs.push(Arc::new(Job {
                name,
                schedule,
                context: component.context.clone(),
                pre,
                capabilities: capabilities.clone(),
                lease,
                running: AtomicBool::new(false),
            }));
        }
        Ok(Self { jobs })
    }

    pub async fn run(self, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut tasks = Vec::new();
        for job in self.jobs {
            tracing::info!(job = %job.name, component = %job.context.id, singleton = job.lease.is_some(), "cron job scheduled");
            if job.lease.is_some() {
                tasks.push(tokio::spawn(keep_lease(job.clone(), shutdown.clone())));
            }
            tasks.push(tokio::spawn(schedule(job, shutdown.clone())));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    }
}

/// Refresh the lease a few times per TTL so it never lapses while we live.
async fn keep_lease(job: Arc<Job>, mut shutdown: watch::Receiver<bool>) {
    let Some(lease) = &job.lease else { return };
    loop {
        let wait = {
            let mut l = lease.lock().await;
            l.refresh().await;
            l.ttl() / 3
        };
        let stopping = tokio::select! {
            _ = tokio::time::sleep(wait) => false,
            _ = shutdown.wait_for(|s| *s) => true,
        };
        if stopping {
            lease.lock().await.release().await;
            return;
        }
    }
}

async fn schedule(job: Arc<Job>, mut shutdown: watch::Receiver<bool>) {
    loop {
        let Some(next) = job.schedule.upcoming(Utc).next() else { return };
        let wait = (next - Utc::now()).to_std().unwrap_or_default();
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.wait_for(|s| *s) => return,
        }
        if let Some(lease) = &job.lease {
            if !lease.lock().await.held() {
                continue;
            }
        }
        if job.running.swap(true, Ordering::SeqCst) {
            tracing::warn!(job = %job.name, "previous run still going; skipping this one");
            continue;
        }
        let job = job.clone();
        tokio::spawn(async move {
            let timestamp = next.timestamp().max(0) as u64;
            if let Err(e) = run_once(&job, timestamp).await {
                tracing::error!(job = %job.name, component = %job.context.id, "cron run failed: {e}");
            }
            job.running.store(false, Ordering::SeqCst);
        });
    }
}

async fn run_once(job: &Job, timestamp: u64) -> Result<(), String> {
    // A run may take up to the job's period before it is stopped.
    let budget = period(&job.schedule).max(Duration::from_secs(1));
    let invocation = Invocation::new("cron", None);
    let span = job.capabilities.open_span(|| invocation.span(format!("{} run", job.name), Kind::Internal, &job.context.id));
    let outcome = run_instance(job, timestamp, budget, &invocation).await;
    job.capabilities.finish_span(span, outcome.as_ref().err().map(String::as_str));
    outcome
}

async fn run_instance(job: &Job, timestamp: u64, budget: Duration, invocation: &Invocation) -> Result<(), String> {
    let mut store = LoadedComponent::store(&job.context, job.pre.engine(), &job.capabilities, budget, invocation);
    job.capabilities.metrics.count("cron_runs_total", "Cron runs started on this replica.", &[("job", job.name.as_str())], 1);
    // Also bounds a run waiting in a host call, which the epoch deadline does not reach: the
    // job's `running` flag must come down for the next tick.
    let call = async {
        let failure = |e: wasmtime::Error| job.capabilities.failure(&job.context.id, "cron", &e);
        let instance = job.pre.instantiate_async(&mut store).await.map_err(failure)?;
        match instance.call_handle_cron_event(&mut store, Metadata { timestamp }).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(CronError::Other(e))) => Err(e),
            Err(trap) => Err(failure(trap)),
        }
    };
    tokio::time::timeout(budget, call).await.unwrap_or_else(|_| {
        job.capabilities.count_failure(&job.context.id, "cron", "deadline");
        Err(format!("no result within {budget:?} (waiting in a host call)"))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::parse_schedule;

    #[test]
    fn period_is_the_gap_between_runs() {
        assert_eq!(period(&parse_schedule("*/5 * * * * *").unwrap()), Duration::from_secs(5));
        assert_eq!(period(&parse_schedule("0 */2 * * * *").unwrap()), Duration::from_secs(120));
    }
}
