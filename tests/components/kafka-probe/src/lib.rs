//! Test component for the event backbone. One component, four entry points:
//! - HTTP `POST /probe-events/produce` publishes keyed envelopes through the producer import,
//!   `POST /probe-events/outbox` writes them to its outbox in one transaction with domain rows;
//! - the Kafka handler (a `batch-handler`: it records each batch's size) applies each event
//!   once (idempotent on `eventId`) and fails on purpose when the event's `behaviour` says so;
//!   `behaviour=a,b,…` on the HTTP side gives the n events those behaviours in turn;
//! - the cron handler records each run with this replica's name;
//! - the Redis handler records each message.

use serde_json::{json, Value};
use spin_sdk::http::{IntoResponse, Request, Response};
use spin_sdk::pg3::{self, Decode, ParameterValue as P};
use spin_sdk::{http_component, redis_component, variables};

spin_sdk::wit_bindgen::generate!({
    inline: "
        package battlescope:kafka-probe;

        world kafka-probe {
            import battlescope:kafka/producer@0.1.0;
            export battlescope:kafka/batch-handler@0.1.0;
            use fermyon:spin-cron/cron-types@2.0.0.{metadata, error};
            export handle-cron-event: func(metadata: metadata) -> result<_, error>;
        }
    ",
    path: ["../../../wit/kafka", "../../../wit/deps/spin-cron@2.0.0"],
    world: "battlescope:kafka-probe/kafka-probe",
    runtime_path: "::spin_sdk::wit_bindgen::rt",
    generate_all,
});

use battlescope::kafka::producer::{self, OutgoingMessage};
use battlescope::kafka::types::{Error as KafkaError, Message};
use fermyon::spin_cron::cron_types::Error as CronError;

struct Probe;
export!(Probe);

fn db() -> Result<pg3::Connection, String> {
    let url = variables::get("database_url").map_err(|e| format!("database_url: {e}"))?;
    pg3::Connection::open(&url).map_err(|e| format!("connecting: {e}"))
}

fn envelope(key: &str, seq: i64, behaviour: &str) -> Value {
    json!({
        "eventId": uuid::Uuid::new_v4().to_string(),
        "eventType": "test.probe",
        "timestamp": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        "data": { "key": key, "seq": seq, "behaviour": behaviour }
    })
}

fn query_param(req: &Request, name: &str) -> Option<String> {
    req.query().split('&').find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
}

#[http_component]
fn http(req: Request) -> anyhow::Result<impl IntoResponse> {
    let info = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let n: i64 = query_param(&req, "n").and_then(|v| v.parse().ok()).unwrap_or(1);
    let keys: i64 = query_param(&req, "keys").and_then(|v| v.parse().ok()).unwrap_or(1).max(1);
    let topic = query_param(&req, "topic").unwrap_or_else(|| "test.probe".into());
    let behaviour = query_param(&req, "behaviour").unwrap_or_else(|| "ok".into());
    let behaviours: Vec<&str> = behaviour.split(',').collect();
    let result = match info.as_str() {
        "/produce" => produce(n, keys, &topic, &behaviours),
        "/outbox" => write_outbox(n, keys, &topic, &behaviours),
        "/trap-holding-lock" => trap_holding_lock(),
        other => return Ok(Response::new(404, format!("no endpoint {other}"))),
    };
    Ok(match result {
        Ok(v) => Response::builder().status(200).header("content-type", "application/json").body(v.to_string()).build(),
        Err(e) => Response::new(500, e),
    })
}

/// Trap mid-transaction while holding [`TRAP_LOCK`].
fn trap_holding_lock() -> Result<Value, String> {
    let db = db()?;
    db.execute("BEGIN", &[]).map_err(|e| format!("{e:?}"))?;
    db.query("SELECT pg_advisory_xact_lock($1)", &[P::Int64(TRAP_LOCK)]).map_err(|e| format!("{e:?}"))?;
    panic!("trapping on purpose, holding a lock");
}

fn produce(n: i64, keys: i64, topic: &str, behaviours: &[&str]) -> Result<Value, String> {
    for i in 0..n {
        let key = format!("k{}", i % keys);
        let event = envelope(&key, i / keys, behaviours[i as usize % behaviours.len()]);
        producer::send(&OutgoingMessage {
            topic: topic.to_string(),
            key: Some(key.into_bytes()),
            headers: vec![],
            data: event.to_string().into_bytes(),
        })
        .map_err(|e| format!("publishing event {i}: {e:?}"))?;
    }
    Ok(json!({ "published": n }))
}

/// Domain rows and their events in one transaction: both or neither.
fn write_outbox(n: i64, keys: i64, topic: &str, behaviours: &[&str]) -> Result<Value, String> {
    let db = db()?;
    let run = || -> Result<(), pg3::PgError> {
        db.execute("BEGIN", &[])?;
        for i in 0..n {
            let key = format!("k{}", i % keys);
            let event = envelope(&key, i / keys, behaviours[i as usize % behaviours.len()]);
            let id = event["eventId"].as_str().unwrap_or_default().to_string();
            db.execute("INSERT INTO orders (event_id) VALUES ($1)", &[P::Str(id)])?;
            db.execute(
                "INSERT INTO outbox (topic, key, payload) VALUES ($1, $2, $3)",
                &[P::Str(topic.to_string()), P::Str(key), P::Str(event.to_string())],
            )?;
        }
        db.execute("COMMIT", &[])?;
        Ok(())
    };
    run().map_err(|e| format!("writing the outbox: {e:?}"))?;
    Ok(json!({ "written": n }))
}

fn retryable(e: impl std::fmt::Debug) -> KafkaError {
    KafkaError::Retryable(format!("database: {e:?}"))
}

impl exports::battlescope::kafka::batch_handler::Guest for Probe {
    fn handle_batch(messages: Vec<Message>) -> Vec<Result<(), KafkaError>> {
        if matches!(variables::get("mode").as_deref(), Ok("probe")) {
            if let Err(e) = db().and_then(|db| {
                db.execute("INSERT INTO batches (size) VALUES ($1)", &[P::Int32(messages.len() as i32)])
                    .map_err(|e| format!("{e:?}"))
            }) {
                let e = KafkaError::Retryable(format!("recording the batch: {e}"));
                return vec![Err(e); messages.len()];
            }
        }
        messages.iter().map(handle).collect()
    }
}

/// The advisory lock a trapping handler holds when it traps.
const TRAP_LOCK: i64 = 4242;

fn handle(message: &Message) -> Result<(), KafkaError> {
    // Benchmark modes: the same component as a no-op handler and as a one-row writer.
    match variables::get("mode").as_deref() {
        Ok("noop") => return Ok(()),
        Ok("row") => {
            let db = db().map_err(KafkaError::Retryable)?;
            db.execute(
                "INSERT INTO bench_rows (topic, partition, \"offset\") VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                &[P::Str(message.topic.clone()), P::Int32(message.partition), P::Int64(message.offset)],
            )
            .map_err(|e| KafkaError::Retryable(format!("database: {e:?}")))?;
            return Ok(());
        }
        _ => {}
    }
    let event: Value = serde_json::from_slice(&message.data).map_err(|e| KafkaError::Fatal(format!("not JSON: {e}")))?;
    let event_id = event["eventId"].as_str().unwrap_or_default().to_string();
    let data = &event["data"];
    let behaviour = data["behaviour"].as_str().unwrap_or("ok");
    let db = db().map_err(KafkaError::Retryable)?;
    db.execute("INSERT INTO deliveries (event_id) VALUES ($1::text::uuid)", &[P::Str(event_id.clone())]).map_err(retryable)?;
    let count_attempt = || -> Result<i32, KafkaError> {
        let rows = db
            .query(
                "INSERT INTO attempts (event_id, n) VALUES ($1::text::uuid, 1)
                 ON CONFLICT (event_id) DO UPDATE SET n = attempts.n + 1 RETURNING n",
                &[P::Str(event_id.clone())],
            )
            .map_err(retryable)?;
        i32::decode(&rows.rows[0][0]).map_err(|e| KafkaError::Retryable(format!("{e:?}")))
    };
    match behaviour {
        // Transient: more failures than `max_attempts`, which only counts repeating ones.
        "fail-then-ok" => {
            let n = count_attempt()?;
            if n <= 5 {
                return Err(KafkaError::Retryable(format!("failing on purpose, attempt {n}")));
            }
        }
        "fail-always" => {
            let n = count_attempt()?;
            return Err(KafkaError::Failed(format!("always failing, attempt {n}")));
        }
        "trap" => {
            count_attempt()?;
            panic!("trapping on purpose");
        }
        "fatal" => return Err(KafkaError::Fatal("poison message on purpose".into())),
        _ => {}
    }
    if let Ok(ms) = variables::get("handle_delay_ms") {
        let ms: f64 = ms.parse().unwrap_or(0.0);
        if ms > 0.0 {
            db.query("SELECT pg_sleep($1)", &[P::Floating64(ms / 1000.0)]).map_err(retryable)?;
        }
    }
    let traceparent =
        message.headers.iter().find(|(k, _)| k == "traceparent").map(|(_, v)| String::from_utf8_lossy(v).into_owned());
    // Insert and count in one statement: the effect is applied once per event, whatever
    // the number of deliveries.
    db.execute(
        "WITH ins AS (
             INSERT INTO seen (event_id, key, seq, topic, partition, \"offset\", payload, traceparent)
             VALUES ($1::text::uuid, $2, $3, $4, $5, $6, $7, $8)
             ON CONFLICT (event_id) DO NOTHING RETURNING 1)
         UPDATE effects SET total = total + (SELECT count(*) FROM ins) WHERE id = 1",
        &[
            P::Str(event_id),
            P::Str(data["key"].as_str().unwrap_or_default().to_string()),
            P::Int32(data["seq"].as_i64().unwrap_or(-1) as i32),
            P::Str(message.topic.clone()),
            P::Int32(message.partition),
            P::Int64(message.offset),
            P::Str(String::from_utf8_lossy(&message.data).into_owned()),
            traceparent.map(P::Str).unwrap_or(P::DbNull),
        ],
    )
    .map_err(retryable)?;
    Ok(())
}

impl Guest for Probe {
    fn handle_cron_event(metadata: Metadata) -> Result<(), CronError> {
        let replica = variables::get("replica").unwrap_or_else(|_| "unknown".into());
        let db = db().map_err(CronError::Other)?;
        db.execute(
            "INSERT INTO cron_runs (replica, tick) VALUES ($1, $2)",
            &[P::Str(replica), P::Int64(metadata.timestamp as i64)],
        )
        .map_err(|e| CronError::Other(format!("{e:?}")))?;
        Ok(())
    }
}

#[redis_component]
fn on_message(message: bytes::Bytes) -> anyhow::Result<()> {
    let db = db().map_err(anyhow::Error::msg)?;
    db.execute("INSERT INTO redis_messages (payload) VALUES ($1)", &[P::Str(String::from_utf8_lossy(&message).into_owned())])?;
    Ok(())
}
