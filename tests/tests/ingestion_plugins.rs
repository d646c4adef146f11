//! Ruleset-filter plugins in the pipeline: the two examples on real killmails; hostile plugins
//! (a loop, an unbounded allocation, a trap, one that imports WASI) stopped or refused while
//! killmails keep flowing; a plugin file replaced while the host runs (Rust, then Python, then
//! JavaScript, then a broken file that is refused).

use battlescope_tests::app::{App, Options};
use battlescope_tests::http;
use battlescope_tests::otlp::OtlpReceiver;
use battlescope_tests::replay::{data, Replay, ReplayData};
use battlescope_tests::{language_plugin_wasm, plugin_wasm};
use std::path::{Path, PathBuf};
use std::time::Duration;

const DECISIONS: &str = "SELECT count(*) FROM killmail_decisions";

fn write_config(dir: &Path, text: &str) -> PathBuf {
    let path = dir.join("runtime-config.toml");
    std::fs::write(&path, text).unwrap();
    path
}

#[tokio::test]
async fn the_example_plugins_filter_real_killmails() {
    let dir = tempfile::tempdir().unwrap();
    let killmails = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let window = 3000;
    // What the plugins should decide, worked out here from the same data: capital ship types
    // from the static data, values as the replay estimates them (marked synthetic).
    let replay_data = ReplayData::new(killmails.clone()).unwrap();
    let mut expected_capital_rejects = 0;
    let mut expected_value_rejects = 0;
    for km in &killmails[..window] {
        if !data::has_capital_ship(km) {
            expected_capital_rejects += 1;
        } else if replay_data.synthetic_zkb(km)["totalValue"].as_f64().unwrap() < 1e9 {
            expected_value_rejects += 1;
        }
    }
    let expected_accepted = window as i64 - expected_capital_rejects - expected_value_rejects;
    assert!(expected_accepted > 0 && expected_value_rejects > 0, "the window must exercise both plugins");

    let config = write_config(
        dir.path(),
        &format!(
            "[[ruleset_filter]]\nname = \"capital-ships\"\nsource = {:?}\n\n\
             [[ruleset_filter]]\nname = \"min-value\"\nsource = {:?}\n[ruleset_filter.settings]\nmin_value = 1e9\n",
            plugin_wasm("capital_ships_filter", false).display().to_string(),
            plugin_wasm("min_value_filter", false).display().to_string(),
        ),
    );
    let replay = Replay::start(replay_data, 0).await.unwrap();
    replay.set_window(1, window);
    let otlp = OtlpReceiver::start().await.unwrap();
    let options = Options {
        feed: "r2z2",
        replay_url: Some(replay.base_url.clone()),
        runtime_config: Some(config),
        otlp_endpoint: Some(otlp.base_url.clone()),
        ..Options::default()
    };
    let app = App::start(dir.path(), "plugins", options).await.unwrap();
    app.wait_for_count(DECISIONS, window as i64, Duration::from_secs(600)).await;

    let stats = app.stats().await;
    assert_eq!(stats["rejected"]["byRule"]["plugin:capital-ships"], expected_capital_rejects, "{stats}");
    assert_eq!(stats["rejected"]["byRule"]["plugin:min-value"], expected_value_rejects, "{stats}");
    assert_eq!(stats["accepted"], expected_accepted, "{stats}");
    let reason: String = app
        .db
        .query_one("SELECT reason FROM killmail_decisions WHERE rule = 'plugin:min-value' LIMIT 1", &[])
        .await
        .unwrap()
        .get(0);
    assert!(reason.contains("under 1000.0 M"), "{reason}");
    let metrics = http::get(&app.host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.contains("plugin_calls_total{plugin=\"capital-ships\"} 3000"), "{metrics}");
    // Each killmail's run of the plugins is a span of the ingestion poll that brought it,
    // naming the plugin that rejected it.
    let mut evaluations = Vec::new();
    for _ in 0..40 {
        evaluations = otlp.spans().into_iter().filter(|s| s.name == "ruleset-filter evaluate").collect();
        if evaluations.len() >= window {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(evaluations.len(), window, "one span per killmail");
    let rejected_by =
        |plugin: &str| evaluations.iter().filter(|s| s.attributes["battlescope.plugin.rejected_by"] == plugin).count();
    assert_eq!(rejected_by("capital-ships") as i64, expected_capital_rejects);
    assert_eq!(rejected_by("min-value") as i64, expected_value_rejects);
    assert!(evaluations.iter().all(|s| s.component() == "ingestion-worker" && !s.parent_span_id.is_empty()));
    app.stop().await;
}

#[tokio::test]
async fn hostile_plugins_are_stopped_or_refused_and_killmails_keep_flowing() {
    let dir = tempfile::tempdir().unwrap();
    let hostile = plugin_wasm("hostile_plugin", false).display().to_string();
    let with_wasi = plugin_wasm("hostile_plugin", true).display().to_string();
    let plugin = |name: &str, source: &str, mode: &str, extra: &str| {
        format!("[[ruleset_filter]]\nname = \"{name}\"\nsource = {source:?}\n{extra}\n[ruleset_filter.settings]\nmode = \"{mode}\"\n\n")
    };
    let config = write_config(
        dir.path(),
        &[
            plugin("looper", &hostile, "loop", "fuel = 2000000"),
            plugin("hoarder", &hostile, "alloc", "memory_mib = 8"),
            plugin("crasher", &hostile, "trap", ""),
            plugin("snooper", &with_wasi, "accept", ""),
            plugin("polite", &hostile, "accept", ""),
        ]
        .concat(),
    );
    let options = Options { runtime_config: Some(config), ..Options::default() };
    let app = App::start(dir.path(), "hostile", options).await.unwrap();
    let log = app.host.log_text();
    assert!(log.contains("plugin refused") && log.contains("imports wasi:"), "the WASI plugin is refused at load:\n{log}");

    let day = data::load_day(&data::day_file("2021-11-30")).unwrap();
    let batch: Vec<String> = day[..20].iter().map(|k| k.to_string()).collect();
    let r = app.post_killmails(&batch.join("\n")).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["accepted"], 20, "every failure fails open here: {}", r.body);

    let stats = app.stats().await;
    for name in ["looper", "hoarder", "crasher", "snooper"] {
        assert_eq!(stats["counters"][format!("plugin_failures:{name}")], 20, "{name}: {stats}");
    }
    assert!(stats["counters"].get("plugin_failures:polite").is_none(), "{stats}");
    let log = app.host.log_text();
    let logged = |plugin: &str, what: &str| log.lines().any(|l| l.contains(&format!("plugin=\"{plugin}\"")) && l.contains(what));
    assert!(logged("looper", "fuel budget spent"), "{log}");
    assert!(logged("hoarder", "memory limit exceeded"), "{log}");
    assert!(logged("crasher", "unreachable"), "{log}");
    let metrics = http::get(&app.host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.contains("plugin_failures_total{plugin=\"looper\"} 20"), "{metrics}");
    // The host keeps serving.
    assert_eq!(http::get(&app.host.url("/api/ingestion/health")).await.unwrap().status, 200);
    app.stop().await;

    // Failing closed: the hoarder's failures now drop the killmails, with the reason.
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), &plugin("hoarder", &hostile, "alloc", "memory_mib = 8\non_failure = \"reject\""));
    let app =
        App::start(dir.path(), "hostile_closed", Options { runtime_config: Some(config), ..Options::default() }).await.unwrap();
    let r = app.post_killmails(&batch[..5].join("\n")).await;
    assert_eq!(r.json()["rejected"]["plugin:hoarder"], 5, "{}", r.body);
    let reason: String = app.db.query_one("SELECT reason FROM killmail_decisions LIMIT 1", &[]).await.unwrap().get(0);
    assert!(reason.contains("fails closed") && reason.contains("memory"), "{reason}");
    app.stop().await;
}

/// Waits until the host's log holds `times` lines with `what` (the watcher looks every 2 s and
/// loads a changed file on the look after; compiling a Python plugin takes seconds).
async fn wait_for_log(app: &App, what: &str, times: usize) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let log = app.host.log_text();
        if log.lines().filter(|l| l.contains(what)).count() >= times {
            return;
        }
        assert!(std::time::Instant::now() < deadline, "no {times}× `{what}` in the host's log:\n{log}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn a_replaced_plugin_file_is_swapped_in_and_a_broken_one_refused() {
    let dir = tempfile::tempdir().unwrap();
    let source = dir.path().join("swap.wasm");
    std::fs::copy(plugin_wasm("min_value_filter", false), &source).unwrap();
    // A budget every language fits, since one entry gets files of three languages here.
    let config = write_config(
        dir.path(),
        &format!(
            "[[ruleset_filter]]\nname = \"swap\"\nsource = {:?}\nfuel = 1000000000\nmemory_mib = 64\n\
             [ruleset_filter.settings]\nmin_value = 1\n",
            source.display().to_string()
        ),
    );
    let app = App::start(dir.path(), "reload", Options { runtime_config: Some(config), ..Options::default() }).await.unwrap();

    // Batches of four killmails without a capital ship and one with, new ones each time.
    let (with, without): (Vec<_>, Vec<_>) =
        data::load_day(&data::day_file("2021-11-30")).unwrap().into_iter().partition(data::has_capital_ship);
    let batch = |n: usize| {
        let mut lines: Vec<String> = without[n * 4..n * 4 + 4].iter().map(|k| k.to_string()).collect();
        lines.push(with[n].to_string());
        lines.join("\n")
    };
    let reasons =
        |r: &http::Reply| (r.json()["accepted"].as_i64().unwrap(), r.json()["rejected"]["plugin:swap"].as_i64().unwrap_or(0));

    // The Rust min-value filter: posted killmails carry no value, so all five are dropped.
    let r = app.post_killmails(&batch(0)).await;
    assert_eq!(reasons(&r), (0, 5), "{}", r.body);

    let reloaded = "ruleset-filter plugin reloaded";
    for (n, language_plugin) in ["capital_ships_python", "capital_ships_js"].into_iter().enumerate() {
        std::fs::copy(language_plugin_wasm(language_plugin), &source).unwrap();
        wait_for_log(&app, reloaded, n + 1).await;
        let r = app.post_killmails(&batch(n + 1)).await;
        assert_eq!(reasons(&r), (1, 4), "{language_plugin} keeps the capital kill only: {}", r.body);
    }
    let reason: String = app
        .db
        .query_one(
            "SELECT reason FROM killmail_decisions WHERE killmail_id = $1",
            &[&without[8]["killmail_id"].as_i64().unwrap()],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(reason, "no capital ship on the killmail");

    // A broken file is refused and the JavaScript version keeps deciding.
    std::fs::write(&source, b"\0asm but not really").unwrap();
    wait_for_log(&app, "new file refused, the running version stays", 1).await;
    let r = app.post_killmails(&batch(3)).await;
    assert_eq!(reasons(&r), (1, 4), "{}", r.body);
    let metrics = http::get(&app.host.url("/.well-known/battlescope/metrics")).await.unwrap().body;
    assert!(metrics.contains("plugin_reloads_total{plugin=\"swap\",outcome=\"loaded\"} 2"), "{metrics}");
    assert!(metrics.contains("plugin_reloads_total{plugin=\"swap\",outcome=\"refused\"} 1"), "{metrics}");
    app.stop().await;
}

#[tokio::test]
async fn a_broken_plugin_configuration_stops_the_host_with_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let config = write_config(dir.path(), "[[ruleset_filter]]\nname = \"x\"\nsource = \"x.wasm\"\nfuel = 0\n");
    let options = Options { runtime_config: Some(config), ..Options::default() };
    let err = App::start(dir.path(), "badplugin", options).await.err().expect("the host must refuse the config");
    assert!(format!("{err:#}").contains("fuel must be 1..=2000000000, not 0"), "{err:#}");
}
