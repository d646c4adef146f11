//! The transactional outbox relay. A service writes its state change and the events it
//! implies in one transaction, the events as rows of its own `outbox` table; this relay
//! publishes pending rows to Kafka in id order and then marks them published. A crash between
//! the publish and the mark publishes those rows again: duplicates are possible, losses are
//! not, and consumers de-duplicate on the envelope's `eventId`.
//!
//! One relay per database at a time: the relay holds a Postgres advisory lock on its session,
//! so with several host replicas exactly one publishes and per-key order is kept; if it dies,
//! its session ends and another replica takes over.
//!
//! A row the broker refuses for good (bigger than it takes, say) is parked rather than resent
//! forever: it gets `failed_at` and the reason in `failure`, an error is logged and counted
//! (`outbox_rows_parked_total`), and the rows behind it go on. Parked rows stay in the table
//! for an operator to look at.
//!
//! The host owns the table: it creates it in every database a component declares with
//! `outbox = true` (`create_table`), before that database's own migrations run.

use crate::kafka_client::Producer;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::watch;
use tokio_postgres::NoTls;

/// Rows published per round trip.
const BATCH: i64 = 500;
/// How long an idle relay waits before looking again (a NOTIFY wakes it sooner).
const IDLE_POLL: Duration = Duration::from_millis(250);
/// Advisory lock id of the relay ("outbox" in ASCII).
const RELAY_LOCK: i64 = 0x6f7574626f78;
/// Published rows older than this are deleted.
const RETENTION: &str = "1 day";
/// Rows the relay marks (published or parked) between two vacuums of the outbox it runs
/// itself. A marked row's entry stays in the pending index until a vacuum removes it, and the
/// relay's read visits every such entry and its heap page: during a day's backfill, before
/// autovacuum came by, a read that found nothing took 12–36 ms by the day's end (17,000
/// entries), and the relays' reads were a fifth of Postgres's time in `bench-pipeline`.
const VACUUM_EVERY: usize = 2000;

/// The outbox table: rows a service writes in the same transaction as its change. `headers`
/// carries Kafka headers (the trace context) as a JSON object of strings. The trigger wakes the
/// relay at once instead of within `IDLE_POLL`. Every statement is idempotent: this runs at
/// every start.
const TABLE: &str = "
    CREATE TABLE IF NOT EXISTS outbox (
        id           bigserial PRIMARY KEY,
        topic        text NOT NULL,
        key          text,
        payload      text NOT NULL,
        headers      jsonb NOT NULL DEFAULT '{}',
        created_at   timestamptz NOT NULL DEFAULT now(),
        published_at timestamptz
    );
    ALTER TABLE outbox ADD COLUMN IF NOT EXISTS failed_at timestamptz;
    ALTER TABLE outbox ADD COLUMN IF NOT EXISTS failure text;
    CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (id) WHERE published_at IS NULL;
    -- Payloads are events of several kilobytes (a killmail with its names): lz4 compresses them
    -- for a fraction of the CPU of Postgres's default, pglz, whose compressor was the busiest
    -- function of the whole pipeline in bench-pipeline. A server built without lz4 keeps pglz.
    DO $$ BEGIN
        IF (SELECT attcompression FROM pg_attribute WHERE attrelid = 'outbox'::regclass AND attname = 'payload') <> 'l' THEN
            ALTER TABLE outbox ALTER COLUMN payload SET COMPRESSION lz4;
        END IF;
    EXCEPTION WHEN feature_not_supported THEN NULL;
    END $$;
    CREATE OR REPLACE FUNCTION outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN
        PERFORM pg_notify('outbox', '');
        RETURN NULL;
    END $$;
    DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = 'outbox_notify') THEN
            CREATE TRIGGER outbox_notify AFTER INSERT ON outbox FOR EACH STATEMENT EXECUTE FUNCTION outbox_notify();
        END IF;
    END $$;";

/// Create the outbox table (and what wakes the relay) unless it is there.
pub async fn create_table(client: &tokio_postgres::Client) -> anyhow::Result<()> {
    // Several hosts may start at once: one creates, the others wait and find it.
    client.batch_execute("SELECT pg_advisory_lock(7271002)").await?;
    let created = client.batch_execute(TABLE).await;
    client.batch_execute("SELECT pg_advisory_unlock(7271002)").await?;
    Ok(created?)
}

pub async fn relay(
    database_url: String,
    producer: Arc<Producer>,
    metrics: Arc<crate::metrics::Metrics>,
    mut shutdown: watch::Receiver<bool>,
) {
    let target = crate::databases::redact(&database_url);
    let mut backoff = Duration::from_millis(200);
    loop {
        match relay_session(&database_url, &target, &producer, &metrics, &mut shutdown).await {
            Ok(()) => return,
            Err(e) => {
                tracing::warn!(database = %target, error = %format!("{e:#}"), "outbox relay interrupted; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(backoff) => {}
                    _ = shutdown.wait_for(|s| *s) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(10));
            }
        }
    }
}

async fn relay_session(
    url: &str,
    target: &str,
    producer: &Producer,
    metrics: &crate::metrics::Metrics,
    shutdown: &mut watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let (client, connection) = tokio_postgres::connect(url, NoTls).await?;
    let (notified_tx, mut notified) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut connection = connection;
        let mut messages = futures::stream::poll_fn(move |cx| connection.poll_message(cx));
        use futures::StreamExt;
        while let Some(Ok(message)) = messages.next().await {
            if let tokio_postgres::AsyncMessage::Notification(_) = message {
                let _ = notified_tx.send(());
            }
        }
    });
    // Wait to become the one relay of this database.
    loop {
        let got: bool = client.query_one("SELECT pg_try_advisory_lock($1)", &[&RELAY_LOCK]).await?.get(0);
        if got {
            break;
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = shutdown.wait_for(|s| *s) => return Ok(()),
        }
    }
    tracing::info!(database = %target, "outbox relay active");
    client.batch_execute("LISTEN outbox").await?;
    let mut last_cleanup = std::time::Instant::now();
    let mut marked_since_vacuum = 0;
    loop {
        if *shutdown.borrow() {
            return Ok(());
        }
        let rows = client
            .query(
                "SELECT id, topic, key, payload, headers::text FROM outbox
                 WHERE published_at IS NULL AND failed_at IS NULL ORDER BY id LIMIT $1",
                &[&BATCH],
            )
            .await?;
        // A full batch read after full batch means the relay is behind (or stuck, when the
        // gauge stays up while nothing is published).
        let database = target.rsplit('/').next().unwrap_or(target).split('?').next().unwrap_or_default();
        metrics.gauge(
            "outbox_pending_rows",
            "Unpublished outbox rows the relay read in its last pass (at most one batch of 500).",
            &[("database", database)],
            rows.len() as f64,
        );
        if rows.is_empty() {
            if last_cleanup.elapsed() > Duration::from_secs(600) {
                client.execute(&format!("DELETE FROM outbox WHERE published_at < now() - interval '{RETENTION}'"), &[]).await?;
                last_cleanup = std::time::Instant::now();
            }
            tokio::select! {
                _ = tokio::time::sleep(IDLE_POLL) => {}
                _ = notified.recv() => {}
                _ = shutdown.wait_for(|s| *s) => return Ok(()),
            }
            continue;
        }
        // Sends are issued together and acknowledged in order per partition (idempotent
        // producer); all must succeed before any row is marked.
        let mut sends = Vec::with_capacity(rows.len());
        let mut ids = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: i64 = row.get(0);
            let topic: String = row.get(1);
            let key: Option<String> = row.get(2);
            let payload: String = row.get(3);
            let headers_json: Option<String> = row.get(4);
            let headers = parse_headers(headers_json.as_deref());
            ids.push(id);
            sends.push(
                async move { producer.send(&topic, key.as_deref().map(str::as_bytes), &headers, payload.as_bytes()).await },
            );
        }
        let mut published = Vec::with_capacity(ids.len());
        let mut parked = Vec::new();
        for (id, result) in ids.into_iter().zip(futures::future::join_all(sends).await) {
            match result {
                Ok(_) => published.push(id),
                Err(e) if e.permanent => parked.push((id, e)),
                // The whole batch is sent again: duplicates, which consumers absorb.
                Err(e) => return Err(anyhow::anyhow!("outbox row {id}: {e}")),
            }
        }
        client.execute("UPDATE outbox SET published_at = now() WHERE id = ANY($1)", &[&published]).await?;
        for (id, error) in parked {
            client.execute("UPDATE outbox SET failed_at = now(), failure = $2 WHERE id = $1", &[&id, &error.to_string()]).await?;
            tracing::error!(database = %target, row = id, topic = %error.topic, "outbox row parked, the broker refuses it for good: {}",
                error.reason);
            metrics.count(
                "outbox_rows_parked_total",
                "Outbox rows the broker refused for good, set aside so the rows behind them go on.",
                &[("topic", &error.topic)],
                1,
            );
        }
        tracing::debug!(database = %target, published = published.len(), "outbox rows published");
        marked_since_vacuum += rows.len();
        if marked_since_vacuum >= VACUUM_EVERY {
            marked_since_vacuum = 0;
            // Only cost is at stake: autovacuum comes by later anyway.
            if let Err(e) = client.batch_execute("VACUUM outbox").await {
                tracing::warn!(database = %target, error = %e, "vacuuming the outbox");
            }
        }
    }
}

/// Headers stored as a JSON object of strings.
fn parse_headers(json: Option<&str>) -> Vec<(String, Vec<u8>)> {
    let Some(Ok(serde_json::Value::Object(map))) = json.map(serde_json::from_str::<serde_json::Value>) else {
        return Vec::new();
    };
    map.into_iter().filter_map(|(k, v)| v.as_str().map(|s| (k, s.as_bytes().to_vec()))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_come_from_a_json_object_of_strings() {
        let h = parse_headers(Some(r#"{"traceparent":"00-a-b-01","n":1}"#));
        assert_eq!(h, vec![("traceparent".to_string(), b"00-a-b-01".to_vec())]);
        assert!(parse_headers(Some("[]")).is_empty());
        assert!(parse_headers(None).is_empty());
    }
}
