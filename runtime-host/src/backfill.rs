//! `battlescope backfill FILE...`: load daily killmail archives (one ESI killmail per line,
//! gzip or plain) through the running ingestion service, the same rules and storage path as
//! the live feed, with progress and a summary. Batches are safe to resend: ingestion decides
//! each killmail once.

use anyhow::{bail, Context};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;
use ingestion::intake::Tally;
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Options of `battlescope backfill`.
#[derive(Debug, clap::Args)]
pub struct BackfillArgs {
    /// Daily archives: `.jsonl.gz` or `.jsonl`, one ESI killmail (with `killmail_hash`) per line.
    #[arg(required = true)]
    pub files: Vec<PathBuf>,
    /// Base URL of the running BattleScope application.
    #[arg(long, default_value = "http://127.0.0.1:3000", env = "BATTLESCOPE_URL")]
    pub url: String,
    /// The application's API token (its `api_token` variable).
    #[arg(long, env = "BATTLESCOPE_API_TOKEN", hide_env_values = true)]
    pub token: String,
    /// Killmails per request.
    #[arg(long, default_value_t = 250)]
    pub batch: usize,
}

/// What all files did together.
#[derive(Debug, Default)]
struct Summary {
    received: u64,
    accepted: u64,
    duplicates: u64,
    rejected: BTreeMap<String, u64>,
    malformed: Vec<String>,
}

impl Summary {
    fn add(&mut self, file: &Path, first_line: usize, tally: &Tally) {
        self.received += tally.received;
        self.accepted += tally.accepted;
        self.duplicates += tally.duplicates;
        for (rule, count) in &tally.rejected {
            *self.rejected.entry(rule.clone()).or_default() += count;
        }
        for m in &tally.malformed {
            self.malformed.push(format!("{}:{}: {}", file.display(), first_line + m.line.max(1) - 1, m.error));
        }
    }

    fn print(&self, elapsed: Duration) {
        let rejected: u64 = self.rejected.values().sum();
        eprintln!(
            "\nbackfill: {} killmails in {:.1} s ({:.0}/s): {} accepted, {} rejected, {} duplicates, {} malformed",
            self.received,
            elapsed.as_secs_f64(),
            self.received as f64 / elapsed.as_secs_f64().max(1e-9),
            self.accepted,
            rejected,
            self.duplicates,
            self.malformed.len()
        );
        for (rule, count) in &self.rejected {
            eprintln!("  rejected by {rule}: {count}");
        }
        for m in self.malformed.iter().take(20) {
            eprintln!("  malformed {m}");
        }
        if self.malformed.len() > 20 {
            eprintln!("  … and {} more malformed lines", self.malformed.len() - 20);
        }
    }
}

pub(crate) fn open(path: &Path) -> anyhow::Result<Box<dyn BufRead>> {
    let file = std::fs::File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let reader: Box<dyn Read> =
        if path.extension().is_some_and(|e| e == "gz") { Box::new(flate2::read::GzDecoder::new(file)) } else { Box::new(file) };
    Ok(Box::new(BufReader::new(reader)))
}

fn count_lines(path: &Path) -> anyhow::Result<usize> {
    let mut n = 0;
    for line in open(path)?.lines() {
        line.with_context(|| format!("reading {}", path.display()))?;
        n += 1;
    }
    Ok(n)
}

/// One progress line, rewritten in place.
fn progress(file: &Path, done: usize, total: usize, started: Instant) {
    let rate = done as f64 / started.elapsed().as_secs_f64().max(1e-9);
    let eta = if rate > 0.0 { (total - done) as f64 / rate } else { 0.0 };
    eprint!(
        "\r{}: {done}/{total} killmails ({:.1} %), {rate:.0}/s, ETA {eta:.0} s   ",
        file.file_name().map(|n| n.to_string_lossy()).unwrap_or_default(),
        100.0 * done as f64 / total.max(1) as f64,
    );
}

pub async fn run(args: BackfillArgs) -> anyhow::Result<()> {
    let endpoint: hyper::Uri = format!("{}/api/ingestion/killmails", args.url.trim_end_matches('/'))
        .parse()
        .with_context(|| format!("--url {:?} is not a URL", args.url))?;
    if args.batch == 0 {
        bail!("--batch must be at least 1");
    }
    let started = Instant::now();
    let mut summary = Summary::default();
    for file in &args.files {
        let total = count_lines(file)?;
        let file_started = Instant::now();
        let mut lines = open(file)?.lines();
        let mut done = 0;
        loop {
            let mut batch = String::new();
            let first_line = done + 1;
            for line in lines.by_ref().take(args.batch) {
                batch.push_str(&line.with_context(|| format!("reading {}", file.display()))?);
                batch.push('\n');
                done += 1;
            }
            if batch.is_empty() {
                break;
            }
            let tally = post_with_retries(&endpoint, &args.token, batch)
                .await
                .with_context(|| format!("{}: sending lines {first_line}–{done}", file.display()))?;
            summary.add(file, first_line, &tally);
            progress(file, done, total, file_started);
        }
        eprintln!();
    }
    summary.print(started.elapsed());
    Ok(())
}

/// POST a batch; server errors and lost connections are retried with backoff (ingestion
/// decides each killmail once, so a resent batch only counts duplicates).
async fn post_with_retries(endpoint: &hyper::Uri, token: &str, batch: String) -> anyhow::Result<Tally> {
    let body = Bytes::from(batch);
    let mut delay = Duration::from_millis(500);
    for attempt in 1..=6 {
        match post(endpoint, token, body.clone()).await {
            Ok((200, reply)) => {
                return serde_json::from_slice(&reply).context("the ingestion service answered with something other than a tally")
            }
            Ok((413, reply)) => bail!(
                "ingestion refused the batch as too large: {}; send fewer killmails per request (--batch)",
                String::from_utf8_lossy(&reply).trim()
            ),
            Ok((status, reply)) if status < 500 => {
                bail!("ingestion refused the batch: HTTP {status}: {}", String::from_utf8_lossy(&reply))
            }
            Ok((status, reply)) if attempt < 6 => {
                eprintln!("\nbackfill: HTTP {status} ({}); retrying in {delay:?}", String::from_utf8_lossy(&reply).trim());
            }
            Err(e) if attempt < 6 => eprintln!("\nbackfill: {e:#}; retrying in {delay:?}"),
            Ok((status, reply)) => bail!("HTTP {status}: {}", String::from_utf8_lossy(&reply)),
            Err(e) => return Err(e),
        }
        tokio::time::sleep(delay).await;
        delay *= 2;
    }
    unreachable!("the last attempt returns")
}

async fn post(endpoint: &hyper::Uri, token: &str, body: Bytes) -> anyhow::Result<(u16, Bytes)> {
    let authority = endpoint.authority().context("the URL has no host")?.to_string();
    let stream = tokio::net::TcpStream::connect(&authority).await.with_context(|| format!("connecting to {authority}"))?;
    let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
    tokio::spawn(connection);
    let request = hyper::Request::post(endpoint.clone())
        .header("host", &authority)
        .header("authorization", format!("Bearer {token}"))
        .header("content-type", "application/x-ndjson")
        .body(Full::new(body))?;
    let response = sender.send_request(request).await.context("sending the batch")?;
    let status = response.status().as_u16();
    let body = response.into_body().collect().await.context("reading the reply")?.to_bytes();
    Ok((status, body))
}
