//! The Redis trigger (`[[trigger.redis]]`): Spin's inbound-redis world. The host subscribes to
//! each channel and calls the component once per message in a fresh instance; a lost
//! connection is re-established with backoff.

use crate::bindings::redis_trigger::RedisTriggerPre;
use crate::capabilities::HostCapabilities;
use crate::component::{require_export, ComponentContext, Invocation, LoadedComponent};
use crate::manifest::LoadedManifest;
use crate::state::InstanceState;
use crate::telemetry::Kind;
use anyhow::Context;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;

struct Subscription {
    name: String,
    address: String,
    channel: String,
    context: Arc<ComponentContext>,
    pre: RedisTriggerPre<InstanceState>,
}

pub struct RedisTrigger {
    subscriptions: Vec<Arc<Subscription>>,
    capabilities: Arc<HostCapabilities>,
    budget: Duration,
}

impl RedisTrigger {
    pub fn new(
        manifest: &LoadedManifest,
        components: &BTreeMap<String, LoadedComponent>,
        capabilities: Arc<HostCapabilities>,
        default_address: Option<&str>,
        budget: Duration,
    ) -> anyhow::Result<Self> {
        let mut subscriptions = Vec::new();
        for (index, t) in manifest.manifest.triggers.redis.iter().enumerate() {
            let component = &components[&t.component];
            let pre = require_export(
                RedisTriggerPre::new(component.pre.clone()),
                &format!("trigger.redis[{index}]"),
                &t.component,
                "fermyon:spin/inbound-redis",
            )?;
            let address = match &t.address {
                Some(a) => a.clone(),
                None => default_address.context("no Redis address")?.to_string(),
            };
            subscriptions.push(Arc::new(Subscription {
                name: t.id.clone().unwrap_or_else(|| format!("redis[{index}]:{}", t.component)),
                address,
                channel: t.channel.clone(),
                context: component.context.clone(),
                pre,
            }));
        }
        Ok(Self { subscriptions, capabilities, budget })
    }

    pub async fn run(self, shutdown: watch::Receiver<bool>) -> anyhow::Result<()> {
        let mut tasks = Vec::new();
        for s in self.subscriptions {
            tasks.push(tokio::spawn(subscribe(s, self.capabilities.clone(), self.budget, shutdown.clone())));
        }
        for t in tasks {
            let _ = t.await;
        }
        Ok(())
    }
}

async fn subscribe(
    s: Arc<Subscription>,
    capabilities: Arc<HostCapabilities>,
    budget: Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut backoff = Duration::from_millis(200);
    loop {
        let connected = async {
            let client = redis::Client::open(s.address.as_str())?;
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&s.channel).await?;
            redis::RedisResult::Ok(pubsub)
        };
        let mut pubsub = match connected.await {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(trigger = %s.name, address = %s.address, error = %e, "redis subscribe failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|v| *v) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        tracing::info!(trigger = %s.name, channel = %s.channel, component = %s.context.id, "redis trigger subscribed");
        let mut messages = pubsub.on_message();
        loop {
            let msg = tokio::select! {
                m = messages.next() => m,
                _ = shutdown.wait_for(|v| *v) => return,
            };
            let Some(msg) = msg else { break };
            let payload = msg.get_payload_bytes().to_vec();
            let (s, capabilities) = (s.clone(), capabilities.clone());
            tokio::spawn(async move {
                let invocation = Invocation::new("redis", None);
                let span =
                    capabilities.open_span(|| invocation.span(format!("redis {}", s.channel), Kind::Consumer, &s.context.id));
                let mut store = LoadedComponent::store(&s.context, s.pre.engine(), &capabilities, budget, &invocation);
                let result = match s.pre.instantiate_async(&mut store).await {
                    Ok(instance) => instance
                        .fermyon_spin_inbound_redis()
                        .call_handle_message(&mut store, &payload)
                        .await
                        .map_err(|e| capabilities.failure(&s.context.id, "redis", &e))
                        .and_then(|r| r.map_err(|e| format!("component returned {e:?}"))),
                    Err(e) => Err(capabilities.failure(&s.context.id, "redis", &e)),
                };
                capabilities.finish_span(span, result.as_ref().err().map(String::as_str));
                let outcome = if result.is_ok() { "ok" } else { "error" };
                capabilities.metrics.count(
                    "redis_messages_total",
                    "Redis trigger messages handled.",
                    &[("channel", s.channel.as_str()), ("outcome", outcome)],
                    1,
                );
                if let Err(e) = result {
                    tracing::error!(trigger = %s.name, component = %s.context.id, "redis message failed: {e}");
                }
            });
        }
        tracing::warn!(trigger = %s.name, "redis subscription ended; reconnecting");
    }
}
