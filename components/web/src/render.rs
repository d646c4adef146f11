//! A battle report's page drawn on the server: the fight's headline in the title and in Open
//! Graph tags (a shared link unfurls with it) and a summary of the sides readable before, or
//! without, the script. The script then draws the full report over it.

use serde_json::Value;
use std::collections::HashMap;
use std::fmt::Write;

/// Where `index.html` takes the report's head tags and its summary.
pub const HEAD_MARK: &str = "<!--report-head-->";
pub const BODY_MARK: &str = "<!--report-body-->";

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// ISK the way players write it: 100.0B, 37.9M.
fn isk(value: Option<f64>) -> String {
    let Some(v) = value else { return "–".into() };
    for (unit, suffix) in [(1e12, "T"), (1e9, "B"), (1e6, "M"), (1e3, "k")] {
        if v.abs() >= unit {
            return format!("{:.1}{suffix}", v / unit);
        }
    }
    format!("{v:.0}")
}

fn minute(time: &Value) -> &str {
    time.as_str().map(|t| t.get(11..16).unwrap_or(t)).unwrap_or("?")
}

/// One side's alliances (or corporations, without any) with their pilots, most first.
fn members(battle: &Value, side: &Value) -> Vec<(String, u64)> {
    let by_alliance = side["alliances"].as_array().is_some_and(|a| !a.is_empty());
    let (list, key) = if by_alliance { ("alliances", "allianceId") } else { ("corporations", "corporationId") };
    let mut pilots: HashMap<u64, u64> = HashMap::new();
    for p in battle["participants"].as_array().into_iter().flatten().filter(|p| p["side"] == side["side"]) {
        if let Some(id) = p[key].as_u64() {
            *pilots.entry(id).or_default() += 1;
        }
    }
    let mut out: Vec<(String, u64)> = side[list]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|u| {
            let id = u["id"].as_u64()?;
            let name = u["name"].as_str().map(str::to_string).unwrap_or_else(|| id.to_string());
            Some((name, pilots.get(&id).copied().unwrap_or(0)))
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    out
}

fn few(members: &[(String, u64)], n: usize) -> String {
    let names: Vec<&str> = members.iter().take(n).map(|(name, _)| name.as_str()).collect();
    match members.len() {
        0 => "unaffiliated".into(),
        len if len > n => format!("{} +{}", names.join(", "), len - n),
        _ => names.join(", "),
    }
}

fn efficiency(battle: &Value, side: &Value) -> String {
    let stats = battle["statistics"].as_array().into_iter().flatten().find(|e| e["side"] == side["side"]);
    match stats.and_then(|e| e["statistics"]["iskEfficiency"].as_f64()) {
        Some(e) => format!("{:.0}%", e * 100.0),
        None => "–".into(),
    }
}

/// The report's headline: where, when and how big, and who fought whom.
pub struct Headline {
    pub title: String,
    pub description: String,
}

pub fn headline(battle: &Value) -> Headline {
    let systems: Vec<&str> = battle["systems"].as_array().into_iter().flatten().filter_map(|s| s["name"].as_str()).collect();
    let place = match battle["title"].as_str() {
        Some(title) => title.to_string(),
        None => format!("Battle of {}", systems.join(", ")),
    };
    let regions: Vec<&str> = battle["regions"].as_array().into_iter().flatten().filter_map(|r| r["name"].as_str()).collect();
    let day = battle["startTime"].as_str().and_then(|t| t.get(..10)).unwrap_or("?");
    let sides: Vec<String> = battle["sides"].as_array().into_iter().flatten().map(|s| few(&members(battle, s), 2)).collect();
    let title = format!("{place} ({}), {day}", regions.join(", "));
    let description = format!(
        "{} kills, {} pilots, {} ISK destroyed, {}–{} UTC. {}",
        battle["kills"],
        battle["pilots"],
        isk(battle["iskDestroyed"].as_f64()),
        minute(&battle["startTime"]),
        minute(&battle["endTime"]),
        sides.join(" vs ")
    );
    Headline { title, description }
}

/// `page` (index.html) with the report's head tags and summary in place; `url` is the
/// report's own address (for `og:url`), when known.
pub fn report_page(page: &str, report: &Value, url: Option<&str>) -> String {
    let battle = &report["battle"];
    let Headline { title, description } = headline(battle);
    let mut head = format!(
        "<meta property=\"og:type\" content=\"website\">\n<meta property=\"og:site_name\" content=\"BattleScope\">\n\
         <meta property=\"og:title\" content=\"{t}\">\n<meta property=\"og:description\" content=\"{d}\">\n\
         <meta name=\"twitter:card\" content=\"summary\">\n",
        t = escape(&title),
        d = escape(&description),
    );
    if let Some(url) = url {
        let _ = writeln!(head, "<meta property=\"og:url\" content=\"{}\">", escape(url));
    }
    let mut body = format!(
        "<article class=\"rendered\">\n<h1>{}</h1>\n<p class=\"dim headline\">{}</p>\n<table class=\"sides-summary\">\n\
         <thead><tr><th>Side</th><th>Biggest groups (pilots)</th><th class=\"num hide-narrow\">Pilots</th><th class=\"num\">Kills</th>\
         <th class=\"num\">Losses</th><th class=\"num hide-narrow\">ISK lost</th><th class=\"num\">Efficiency</th></tr></thead>\n<tbody>\n",
        escape(&title),
        escape(&description)
    );
    for side in battle["sides"].as_array().into_iter().flatten() {
        let listed: Vec<String> =
            members(battle, side).iter().take(6).map(|(name, pilots)| format!("{} ({pilots})", escape(name))).collect();
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td>{}</td><td class=\"num hide-narrow\">{}</td><td class=\"num\">{}</td><td class=\"num\">{}</td>\
             <td class=\"num hide-narrow\">{}</td><td class=\"num\">{}</td></tr>",
            side["side"].as_u64().map_or(0, |s| s + 1),
            if listed.is_empty() { "unaffiliated".to_string() } else { listed.join(", ") },
            side["pilots"],
            side["kills"],
            side["losses"],
            isk(side["iskLost"].as_f64()),
            efficiency(battle, side)
        );
    }
    body.push_str("</tbody>\n</table>\n<p class=\"dim\">The full report (ship groups, timeline, pilots, killmails) is drawn by the page's script.</p>\n</article>");
    page.replacen("<title>BattleScope</title>", &format!("<title>{} · BattleScope</title>", escape(&title)), 1)
        .replacen(HEAD_MARK, &head, 1)
        .replacen(BODY_MARK, &body, 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn report() -> Value {
        json!({"battle": {
            "battleId": "00000000-0000-4000-8000-000005c7f893", "title": null,
            "startTime": "2021-11-28T10:19:15Z", "endTime": "2021-11-28T15:04:45Z",
            "kills": 1124, "pilots": 1597, "iskDestroyed": 99950360578.31,
            "systems": [{"id": 30001046, "name": "Jorund"}, {"id": 30001044, "name": "Hemin"}],
            "regions": [{"id": 10000012, "name": "Curse"}],
            "sides": [
                {"side": 0, "alliances": [{"id": 1, "name": "The Initiative."}, {"id": 2, "name": "Goonswarm Federation"}],
                 "corporations": [], "pilots": 3, "kills": 758, "losses": 333, "iskLost": 37873683917.4},
                {"side": 1, "alliances": [{"id": 3, "name": "Pandemic <Horde>"}], "corporations": [],
                 "pilots": 1, "kills": 242, "losses": 666, "iskLost": null}],
            "participants": [
                {"side": 0, "allianceId": 2, "corporationId": 20}, {"side": 0, "allianceId": 2, "corporationId": 20},
                {"side": 0, "allianceId": 1, "corporationId": 10}, {"side": 1, "allianceId": 3, "corporationId": 30}],
            "statistics": [{"side": 0, "statistics": {"iskEfficiency": 0.6197}}, {"side": 1, "statistics": {"iskEfficiency": null}}]
        }})
    }

    const PAGE: &str = "<head><title>BattleScope</title>\n<!--report-head--></head><main><!--report-body--></main>";

    #[test]
    fn the_headline_says_where_when_how_big_and_who() {
        let h = headline(&report()["battle"]);
        assert_eq!(h.title, "Battle of Jorund, Hemin (Curse), 2021-11-28");
        assert_eq!(
            h.description,
            "1124 kills, 1597 pilots, 100.0B ISK destroyed, 10:19–15:04 UTC. Goonswarm Federation, The Initiative. vs Pandemic <Horde>"
        );
    }

    #[test]
    fn the_page_unfurls_and_reads_without_script() {
        let page = report_page(PAGE, &report(), Some("https://battlescope.example/battle/x"));
        assert!(page.contains("<title>Battle of Jorund, Hemin (Curse), 2021-11-28 · BattleScope</title>"), "{page}");
        assert!(page.contains("<meta property=\"og:title\" content=\"Battle of Jorund, Hemin (Curse), 2021-11-28\">"));
        assert!(page.contains("<meta property=\"og:url\" content=\"https://battlescope.example/battle/x\">"));
        assert!(page.contains("Goonswarm Federation (2), The Initiative. (1)"), "biggest first, with pilots: {page}");
        assert!(page.contains("<td class=\"num\">62%</td>") && page.contains("<td class=\"num hide-narrow\">37.9B</td>"));
        assert!(!page.contains("<Horde>") && page.contains("Pandemic &lt;Horde&gt;"), "names are escaped");
        assert!(!page.contains(HEAD_MARK) && !page.contains(BODY_MARK));
    }

    #[test]
    fn an_operator_title_names_the_battle() {
        let mut r = report();
        r["battle"]["title"] = json!("The Jorund \"brawl\"");
        assert!(report_page(PAGE, &r, None).contains("<h1>The Jorund &quot;brawl&quot; (Curse), 2021-11-28</h1>"));
    }
}
