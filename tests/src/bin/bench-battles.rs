//! `make bench` (battles part): clustering throughput of the pure module over a full real day
//! (2021-11-28, 17,047 killmails, the Jorund fight included), against the 100,000 killmails/s
//! target, and against a baseline pass that only builds the kills' pilot index.

use battle::clustering::Params;
use battlescope_tests::battles::clustering_kills;
use battlescope_tests::replay::data;
use std::collections::HashMap;
use std::time::Instant;

const TARGET: f64 = 100_000.0;
const ROUNDS: usize = 5;

fn main() {
    let day = data::load_day(&data::day_file("2021-11-28")).unwrap();
    let kills = clustering_kills(&day);
    // Warm the static data (stargate map) outside the clock.
    eve_static::within(30001046, 30001047, 1);

    let started = Instant::now();
    let mut battles = 0;
    for _ in 0..ROUNDS {
        let mut c = battle::clustering::on_the_map(Params::default());
        for k in &kills {
            c.add(k.clone());
        }
        battles = c.battles().len();
    }
    let rate = (ROUNDS * kills.len()) as f64 / started.elapsed().as_secs_f64();

    // Baseline: the same kills, cloned and indexed by pilot, nothing else.
    let started = Instant::now();
    for _ in 0..ROUNDS {
        let mut index: HashMap<u64, Vec<usize>> = HashMap::new();
        for (i, k) in kills.iter().enumerate() {
            let k = k.clone();
            for p in &k.pilots {
                index.entry(*p).or_default().push(i);
            }
        }
        std::hint::black_box(index);
    }
    let baseline = (ROUNDS * kills.len()) as f64 / started.elapsed().as_secs_f64();

    println!("Battles: clustering 2021-11-28 ({} killmails, {battles} battles), pure module, {ROUNDS} rounds", kills.len());
    println!(
        "clustering                   {rate:>9.0} killmails/s   target {TARGET:>9.0}/s   ratio {:.2}x   (index-only baseline {baseline:.0}/s, ratio {:.2}x)",
        rate / TARGET,
        rate / baseline
    );
}
