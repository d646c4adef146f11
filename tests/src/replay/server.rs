//! The replay's HTTP server and its state.

use super::data::ReplayData;
use super::esi::{ErrorWindow, NameBook};
use super::faults::{Effect, Fault, Faults, Route};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::{Request, Response};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many requests each route served (faulted ones included).
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct RequestCounts {
    pub r2z2_sequence: u64,
    pub r2z2_package: u64,
    pub redisq: u64,
    pub esi_killmail: u64,
    pub esi_names: u64,
    /// The most ids any one `/universe/names/` call carried.
    pub esi_names_max_ids: u64,
    /// 304s for `If-None-Match`.
    pub esi_not_modified: u64,
    /// 420s: calls made with ESI's error budget spent.
    pub esi_error_limited: u64,
    pub faults_served: u64,
}

struct State {
    data: Arc<ReplayData>,
    /// Sequences `oldest..=newest` exist; sequence n is killmail n − 1 of the data.
    oldest: usize,
    newest: usize,
    faults: Faults,
    counts: RequestCounts,
    /// RedisQ: the next killmail index per queue.
    queues: HashMap<String, usize>,
    names: NameBook,
    errors: ErrorWindow,
    /// Seconds a killmail body is fresh for (`Expires`).
    killmail_max_age: u64,
}

/// A running replay server; stopped when dropped.
pub struct Replay {
    pub base_url: String,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.task.abort();
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: u16, content_type: &str, body: impl Into<Bytes>) -> Reply {
    Response::builder()
        .status(status)
        .header("content-type", content_type)
        .body(Full::new(body.into()))
        .expect("a valid response")
}

fn json_reply(status: u16, body: &Value) -> Reply {
    reply(status, "application/json; charset=utf-8", body.to_string())
}

fn query(uri: &hyper::Uri, name: &str) -> Option<String> {
    uri.query()?.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string))
}

impl Replay {
    /// Serve `data` on 127.0.0.1 at a free port (`port` 0) or the given one; every sequence
    /// is available.
    pub async fn start(data: ReplayData, port: u16) -> anyhow::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
        let base_url = format!("http://{}", listener.local_addr()?);
        let newest = data.len();
        let names = NameBook::new(&data.killmails)?;
        let state = Arc::new(Mutex::new(State {
            data: Arc::new(data),
            oldest: 1,
            newest,
            faults: Faults::default(),
            counts: RequestCounts::default(),
            queues: HashMap::new(),
            names,
            errors: ErrorWindow::new(100, Duration::from_secs(60)),
            killmail_max_age: 3600,
        }));
        let shared = state.clone();
        let task = crate::http::serve(listener, move |req| {
            let state = shared.clone();
            async move { handle(&state, req).await }
        });
        Ok(Self { base_url, state, task })
    }

    pub fn inject(&self, fault: Fault) {
        self.state.lock().unwrap().faults.add(fault);
    }

    /// End every injected fault still pending (an outage of unknown length is over).
    pub fn clear_faults(&self) {
        self.state.lock().unwrap().faults.clear();
    }

    /// Make only sequences `oldest..=newest` exist (a feed still growing, or expired ones).
    pub fn set_window(&self, oldest: usize, newest: usize) {
        let mut s = self.state.lock().unwrap();
        s.oldest = oldest.max(1);
        s.newest = newest.min(s.data.len());
    }

    /// ESI error windows of `window` with `remain` errors each, starting now.
    pub fn set_error_limit(&self, remain: i64, window: Duration) {
        self.state.lock().unwrap().errors.set(remain, window);
    }

    /// How long ESI killmail bodies stay fresh (`Expires`); 0 makes clients revalidate.
    pub fn set_killmail_max_age(&self, seconds: u64) {
        self.state.lock().unwrap().killmail_max_age = seconds;
    }

    pub fn counts(&self) -> RequestCounts {
        self.state.lock().unwrap().counts.clone()
    }

    pub fn len(&self) -> usize {
        self.state.lock().unwrap().data.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn route_of(path: &str) -> Option<Route> {
    if path == "/ephemeral/sequence.json" {
        Some(Route::R2z2Sequence)
    } else if path.starts_with("/ephemeral/") {
        Some(Route::R2z2Package)
    } else if path == "/listen.php" || path == "/object.php" {
        Some(Route::Redisq)
    } else if path.starts_with("/latest/killmails/") {
        Some(Route::EsiKillmail)
    } else if path == "/latest/universe/names/" {
        Some(Route::EsiNames)
    } else {
        None
    }
}

async fn handle(state: &Arc<Mutex<State>>, req: Request<hyper::body::Incoming>) -> Reply {
    let path = req.uri().path().to_string();
    let uri = req.uri().clone();
    let if_none_match = req.headers().get("if-none-match").and_then(|v| v.to_str().ok()).map(str::to_string);
    let body = req.into_body().collect().await.map(|b| b.to_bytes()).unwrap_or_default();
    if let Some(control) = path.strip_prefix("/_replay/") {
        return handle_control(state, control, &body);
    }
    let Some(route) = route_of(&path) else {
        return json_reply(404, &json!({"error": format!("the replay has no route {path}")}));
    };
    let esi = matches!(route, Route::EsiKillmail | Route::EsiNames);
    let effect = {
        let mut s = state.lock().unwrap();
        match route {
            Route::R2z2Sequence => s.counts.r2z2_sequence += 1,
            Route::R2z2Package => s.counts.r2z2_package += 1,
            Route::Redisq => s.counts.redisq += 1,
            Route::EsiKillmail => s.counts.esi_killmail += 1,
            Route::EsiNames => s.counts.esi_names += 1,
            Route::Any => {}
        }
        if esi && s.errors.spent() {
            s.counts.esi_error_limited += 1;
            let reply = json_reply(420, &json!({"error": "This software has exceeded the error limit for ESI."}));
            return with_error_headers(&mut s, reply);
        }
        let effect = s.faults.take(route);
        if effect.is_some() {
            s.counts.faults_served += 1;
        }
        effect
    };
    match effect {
        Some(Effect::Status { status }) => {
            let reply = json_reply(status, &json!({"error": format!("injected fault: HTTP {status}")}));
            return if esi { with_error_headers(&mut state.lock().unwrap(), reply) } else { reply };
        }
        Some(Effect::Malformed) => return reply(200, "application/json", "{\"killmail_id\": 1, \"esi\": <truncated"),
        Some(Effect::Slow { delay_ms }) => tokio::time::sleep(Duration::from_millis(delay_ms)).await,
        None => {}
    }
    let mut s = state.lock().unwrap();
    let reply = match route {
        Route::R2z2Sequence => json_reply(200, &json!({ "sequence": s.newest })),
        Route::R2z2Package => r2z2_package(&s, &path),
        Route::Redisq if path == "/listen.php" => redisq_listen(&s, &uri),
        Route::Redisq => return redisq_object(s, &uri),
        Route::EsiKillmail => esi_killmail(&mut s, &path, if_none_match.as_deref()),
        Route::EsiNames => {
            let (status, answer) = s.names.answer(&body);
            s.counts.esi_names_max_ids =
                s.counts.esi_names_max_ids.max(serde_json::from_slice::<Vec<u64>>(&body).map(|v| v.len() as u64).unwrap_or(0));
            json_reply(status, &answer)
        }
        Route::Any => unreachable!("no request is routed to Any"),
    };
    if esi {
        with_error_headers(&mut s, reply)
    } else {
        reply
    }
}

/// ESI's error-budget headers; an error answer spends one of the budget.
fn with_error_headers(s: &mut State, mut reply: Reply) -> Reply {
    if reply.status().as_u16() >= 400 {
        s.errors.error();
    }
    let (remain, reset) = s.errors.headers();
    let h = reply.headers_mut();
    h.insert("x-esi-error-limit-remain", remain.max(0).to_string().parse().unwrap());
    h.insert("x-esi-error-limit-reset", reset.to_string().parse().unwrap());
    reply
}

fn r2z2_package(s: &State, path: &str) -> Reply {
    let n = path.strip_prefix("/ephemeral/").and_then(|p| p.strip_suffix(".json")).and_then(|n| n.parse::<usize>().ok());
    match n {
        Some(n) if n >= s.oldest && n <= s.newest && n >= 1 => {
            let km = &s.data.killmails[n - 1];
            let (id, hash) = ReplayData::id_and_hash(km);
            json_reply(
                200,
                &json!({
                    "killmail_id": id,
                    "hash": hash,
                    "esi": ReplayData::esi_body(km),
                    "zkb": s.data.synthetic_zkb(km),
                    "sequence_id": n,
                    "uploaded_at": km["http_last_modified"],
                }),
            )
        }
        _ => reply(404, "text/html", "<html><body>404 Not Found</body></html>"),
    }
}

/// Like the real service, `listen.php` redirects to the object that holds the package.
fn redisq_listen(s: &State, uri: &hyper::Uri) -> Reply {
    let Some(queue) = query(uri, "queueID").filter(|q| !q.is_empty()) else {
        return json_reply(400, &json!({"error": "queueID is required"}));
    };
    let next = s.queues.get(&queue).copied().unwrap_or(0);
    Response::builder()
        .status(302)
        .header("location", format!("/object.php?queueID={queue}&objectID={next}"))
        .body(Full::new(Bytes::new()))
        .expect("a valid redirect")
}

fn redisq_object(mut s: std::sync::MutexGuard<'_, State>, uri: &hyper::Uri) -> Reply {
    let queue = query(uri, "queueID").unwrap_or_default();
    let next = s.queues.get(&queue).copied().unwrap_or(0);
    if next >= s.newest {
        return json_reply(200, &json!({ "package": null }));
    }
    s.queues.insert(queue, next + 1);
    let km = &s.data.killmails[next];
    let (id, _) = ReplayData::id_and_hash(km);
    json_reply(200, &json!({ "package": { "killID": id, "zkb": s.data.synthetic_zkb(km) } }))
}

fn esi_killmail(s: &mut State, path: &str, if_none_match: Option<&str>) -> Reply {
    let parts: Vec<&str> = path.trim_end_matches('/').split('/').collect();
    // ["", "latest", "killmails", id, hash]
    let (Some(id), Some(hash)) = (parts.get(3).and_then(|p| p.parse::<u64>().ok()), parts.get(4)) else {
        return json_reply(400, &json!({"error": "killmail_id and killmail_hash are required"}));
    };
    let Some(km) = s.data.get(id).filter(|km| km["killmail_hash"].as_str() == Some(hash)) else {
        return json_reply(422, &json!({"error": "Invalid killmail_id and/or killmail_hash"}));
    };
    let etag = format!("\"{hash}\"");
    let now = std::time::SystemTime::now();
    let http_date =
        |t: std::time::SystemTime| chrono::DateTime::<chrono::Utc>::from(t).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    let expires = http_date(now + Duration::from_secs(s.killmail_max_age));
    let mut reply = if if_none_match == Some(etag.as_str()) {
        s.counts.esi_not_modified += 1;
        Response::builder().status(304).body(Full::new(Bytes::new())).expect("a valid response")
    } else {
        json_reply(200, &ReplayData::esi_body(km))
    };
    let h = reply.headers_mut();
    h.insert("etag", etag.parse().unwrap());
    h.insert("expires", expires.parse().unwrap());
    h.insert("date", http_date(now).parse().unwrap());
    reply
}

fn handle_control(state: &Arc<Mutex<State>>, what: &str, body: &[u8]) -> Reply {
    let mut s = state.lock().unwrap();
    match what {
        "faults" => match serde_json::from_slice::<Fault>(body) {
            Ok(f) => {
                s.faults.add(f);
                json_reply(200, &json!({"ok": true}))
            }
            Err(e) => json_reply(400, &json!({"error": format!("not a fault: {e}")})),
        },
        "window" => {
            let v: Value = serde_json::from_slice(body).unwrap_or_default();
            let len = s.data.len();
            s.oldest = v["oldest"].as_u64().map(|n| n as usize).unwrap_or(s.oldest).max(1);
            s.newest = v["newest"].as_u64().map(|n| n as usize).unwrap_or(s.newest).min(len);
            json_reply(200, &json!({"oldest": s.oldest, "newest": s.newest}))
        }
        "requests" => json_reply(200, &serde_json::to_value(&s.counts).unwrap()),
        _ => json_reply(404, &json!({"error": format!("no control /_replay/{what}")})),
    }
}
