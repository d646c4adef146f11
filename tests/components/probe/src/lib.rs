//! Test component: each route exercises one host capability through spin-sdk 5.2 and answers
//! with JSON saying what it saw, so the host's integration tests can check the capability end
//! to end. `/probe/loop` and `/probe/bomb` misbehave on purpose.

use serde_json::{json, Value};
use spin_sdk::http::{IntoResponse, Method, Request, Response};
use spin_sdk::http_component;
use spin_sdk::{key_value, pg3, redis, variables};

#[http_component]
async fn handle(req: Request) -> anyhow::Result<impl IntoResponse> {
    let info = req.header("spin-path-info").and_then(|v| v.as_str()).unwrap_or("").to_string();
    let query = req.query().to_string();
    let param = |name: &str| query.split('&').find_map(|kv| kv.strip_prefix(&format!("{name}=")).map(str::to_string));
    if info == "/hello" {
        // The benchmark's trivial handler: no capability, a constant body.
        return Ok(Response::builder().status(200).header("content-type", "text/plain").body("hello").build());
    }
    let body = match info.as_str() {
        "/echo" => echo(&req),
        "/body" => json!({ "bytes": req.body().len() }),
        "/variables" => variable(&param("name").unwrap_or_default()),
        "/kv" => key_value_roundtrip(param("store").as_deref().unwrap_or("default")),
        "/redis" => redis_roundtrip(param("address")),
        "/pg" => postgres_roundtrip(param("address")),
        "/http" => outbound(param("url").unwrap_or_default()).await,
        "/loop" => spin_forever(),
        "/bomb" => allocate_forever(),
        other => return Ok(Response::new(404, format!("no probe {other}"))),
    };
    Ok(Response::builder().status(200).header("content-type", "application/json").body(body.to_string()).build())
}

fn echo(req: &Request) -> Value {
    let headers: serde_json::Map<String, Value> = req
        .headers()
        .filter(|(name, _)| name.starts_with("spin-"))
        .map(|(name, value)| (name.to_string(), json!(value.as_str().unwrap_or(""))))
        .collect();
    json!({ "method": format!("{:?}", req.method()), "path": req.path(), "headers": headers,
            "post": *req.method() == Method::Post })
}

fn variable(name: &str) -> Value {
    match variables::get(name) {
        Ok(v) => json!({ "value": v }),
        Err(e) => json!({ "error": format!("{e:?}") }),
    }
}

fn key_value_roundtrip(label: &str) -> Value {
    let store = match key_value::Store::open(label) {
        Ok(s) => s,
        Err(e) => return json!({ "open_error": format!("{e:?}") }),
    };
    let run = || -> Result<Value, key_value::Error> {
        let before = store.get("probe-counter")?;
        let count = before.as_deref().and_then(|b| std::str::from_utf8(b).ok()).and_then(|s| s.parse::<u64>().ok()).unwrap_or(0);
        store.set("probe-counter", (count + 1).to_string().as_bytes())?;
        store.set("probe-temp", b"x")?;
        let exists_before = store.exists("probe-temp")?;
        store.delete("probe-temp")?;
        let exists_after = store.exists("probe-temp")?;
        let mut keys = store.get_keys()?;
        keys.sort();
        Ok(json!({ "previous": count, "exists_before_delete": exists_before,
                   "exists_after_delete": exists_after, "keys": keys }))
    };
    run().unwrap_or_else(|e| json!({ "error": format!("{e:?}") }))
}

fn redis_roundtrip(address: Option<String>) -> Value {
    let address = address.unwrap_or_else(|| variables::get("redis_address").unwrap_or_default());
    let conn = match redis::Connection::open(&address) {
        Ok(c) => c,
        Err(e) => return json!({ "open_error": format!("{e:?}") }),
    };
    let run = || -> Result<Value, redis::Error> {
        conn.set("probe:key", b"value".as_ref())?;
        let got = conn.get("probe:key")?.map(|v| String::from_utf8_lossy(&v).into_owned());
        conn.del(&["probe:counter".to_string()])?;
        let incr = conn.incr("probe:counter")?;
        let added = conn.sadd("probe:set", &["a".to_string(), "b".to_string()])?;
        let mut members = conn.smembers("probe:set")?;
        members.sort();
        let removed = conn.srem("probe:set", &["a".to_string(), "b".to_string()])?;
        conn.publish("probe:channel", b"hello".as_ref())?;
        let echoed = conn.execute("ECHO", &[redis::RedisParameter::Binary(b"executed".to_vec())])?;
        let deleted = conn.del(&["probe:key".to_string(), "probe:counter".to_string()])?;
        let echoed: Vec<String> = echoed
            .into_iter()
            .map(|r| match r {
                redis::RedisResult::Binary(b) => String::from_utf8_lossy(&b).into_owned(),
                other => format!("{other:?}"),
            })
            .collect();
        Ok(json!({ "get": got, "incr": incr, "sadd": added, "smembers": members, "srem": removed,
                   "execute": echoed, "del": deleted }))
    };
    run().unwrap_or_else(|e| json!({ "error": format!("{e:?}") }))
}

fn postgres_roundtrip(address: Option<String>) -> Value {
    use pg3::{Decode, ParameterValue as P};
    let address = address.unwrap_or_else(|| variables::get("pg_address").unwrap_or_default());
    let db = match pg3::Connection::open(&address) {
        Ok(c) => c,
        Err(e) => return json!({ "open_error": format!("{e:?}") }),
    };
    let run = || -> Result<Value, pg3::Error> {
        db.execute(
            "CREATE TEMP TABLE probe (b bool, i2 int2, i4 int4, i8 int8, f4 float4, f8 float8,
                 t text, by bytea, d date, tm time, ts timestamp, tz timestamptz, j jsonb,
                 u uuid, n numeric, nul text)",
            &[],
        )?;
        let inserted = db.execute(
            "INSERT INTO probe VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16)",
            &[
                P::Boolean(true),
                P::Int16(-2),
                P::Int32(40000),
                P::Int64(5_000_000_000),
                P::Floating32(1.5),
                P::Floating64(2.25),
                P::Str("Jorund".into()),
                P::Binary(vec![0, 1, 2]),
                P::Date((2021, 11, 28)),
                P::Time((10, 21, 0, 0)),
                P::Datetime((2021, 11, 28, 14, 51, 0, 0)),
                P::Datetime((2021, 11, 28, 14, 51, 30, 0)),
                P::Str(r#"{"kills":1081}"#.into()),
                P::Str("6f1c2a9e-6a4e-4b8f-9a39-2f7f8b0a1c11".into()),
                P::Str("12345.678".into()),
                P::DbNull,
            ],
        )?;
        let rows = db.query("SELECT * FROM probe", &[])?;
        let row = &rows.rows[0];
        let columns: Vec<Value> = rows.columns.iter().map(|c| json!([c.name, format!("{:?}", c.data_type)])).collect();
        Ok(json!({
            "inserted": inserted,
            "columns": columns,
            "b": bool::decode(&row[0])?,
            "i2": i16::decode(&row[1])?,
            "i4": i32::decode(&row[2])?,
            "i8": i64::decode(&row[3])?,
            "f4": f32::decode(&row[4])?,
            "f8": f64::decode(&row[5])?,
            "t": String::decode(&row[6])?,
            "by": Vec::<u8>::decode(&row[7])?,
            "d": chrono::NaiveDate::decode(&row[8])?.to_string(),
            "tm": chrono::NaiveTime::decode(&row[9])?.to_string(),
            "ts": chrono::NaiveDateTime::decode(&row[10])?.to_string(),
            "tz": chrono::NaiveDateTime::decode(&row[11])?.to_string(),
            "j": String::decode(&row[12])?,
            "u": String::decode(&row[13])?,
            "n": String::decode(&row[14])?,
            "nul": Option::<String>::decode(&row[15])?,
        }))
    };
    run().unwrap_or_else(|e| json!({ "error": format!("{e:?}") }))
}

async fn outbound(url: String) -> Value {
    let request = Request::get(&url);
    match spin_sdk::http::send::<_, Response>(request).await {
        Ok(resp) => json!({ "status": resp.status(), "body": String::from_utf8_lossy(resp.body()) }),
        Err(e) => json!({ "error": e.to_string() }),
    }
}

fn spin_forever() -> Value {
    let mut n: u64 = 0;
    loop {
        n = std::hint::black_box(n.wrapping_add(1));
    }
}

fn allocate_forever() -> Value {
    let mut hoard: Vec<Vec<u8>> = Vec::new();
    loop {
        let mut chunk = vec![0u8; 1 << 20];
        chunk[0] = 1;
        hoard.push(std::hint::black_box(chunk));
    }
}
