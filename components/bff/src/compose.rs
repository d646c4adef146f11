//! Answers of the called APIs made into one. What an endpoint cannot do without (the battle
//! list, the battle itself) decides its status; a part that failed is left out (null) and its
//! service named in `missing`.

use crate::plan::Service;
use chrono::{DateTime, Duration, Timelike};
use serde_json::{json, Value};

/// A call that did not answer 200.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    pub service: Service,
    /// The status it answered, or none when it did not answer at all.
    pub status: Option<u16>,
    /// Its body (the called API's JSON error), or why nothing came.
    pub body: String,
}

pub type Part = Result<Value, Failure>;

/// Status and body of an answer.
pub type Answer = (u16, Value);

/// What failed the essential part of an answer: the caller's mistake (400, 404) is passed on
/// as the API said it; anything else makes the BFF unavailable for that request.
fn essential(failure: &Failure) -> Answer {
    match failure.status {
        Some(status @ (400 | 404)) => {
            (status, serde_json::from_str(&failure.body).unwrap_or_else(|_| json!({ "error": failure.body.clone() })))
        }
        _ => (503, json!({ "error": format!("{} are unavailable", failure.service.name()) })),
    }
}

/// The optional part's value (null when it failed), noting the failure.
fn optional(part: Part, missing: &mut Vec<&'static str>) -> Value {
    part.unwrap_or_else(|f| {
        if !missing.contains(&f.service.name()) {
            missing.push(f.service.name());
        }
        Value::Null
    })
}

/// `battles`: the list as the battle API pages it, and the search index's facets.
pub fn battles(list: Part, search: Part) -> Answer {
    let list = match list {
        Ok(list) => list,
        Err(f) => return essential(&f),
    };
    // A filter value the battle API took but search refuses is still the caller's mistake.
    if let Err(f @ Failure { status: Some(400), .. }) = &search {
        return essential(f);
    }
    let mut missing = Vec::new();
    let facets = optional(search, &mut missing).get("facets").cloned().unwrap_or(Value::Null);
    (200, json!({ "battles": list["battles"], "nextCursor": list["nextCursor"], "facets": facets, "missing": missing }))
}

/// `battle/{id}`: the battle (sides, participants, statistics, names), its killmails, battles
/// near it, and zKillboard's related pages for each system and hour it spans.
pub fn report(battle: Part, killmails: Part, near: Option<Part>) -> Answer {
    let battle = match battle {
        Ok(battle) => battle,
        Err(f) => return essential(&f),
    };
    let mut missing = Vec::new();
    let killmails = optional(killmails, &mut missing).get("killmails").cloned().unwrap_or(Value::Null);
    let near = match near {
        Some(part) => {
            let found = optional(part, &mut missing);
            let others = found["battles"]
                .as_array()
                .map(|all| all.iter().filter(|b| b["battleId"] != battle["battleId"]).cloned().collect());
            others.map(Value::Array).unwrap_or(Value::Null)
        }
        None => Value::Null,
    };
    let related = zkillboard_related(&battle);
    (200, json!({ "battle": battle, "killmails": killmails, "near": near, "zkillboard": related, "missing": missing }))
}

/// Most zKillboard links a report carries (a battle spanning days would carry hundreds).
const MAX_RELATED: usize = 48;

/// zKillboard's related-kills page of each system the battle touched, for each hour it spans
/// (`https://zkillboard.com/related/<system>/<YYYYMMDDHH00>/`).
pub fn zkillboard_related(battle: &Value) -> Vec<String> {
    let times = (battle["startTime"].as_str(), battle["endTime"].as_str());
    let (Some(Ok(start)), Some(Ok(end))) = (times.0.map(DateTime::parse_from_rfc3339), times.1.map(DateTime::parse_from_rfc3339))
    else {
        return Vec::new();
    };
    let systems: Vec<u64> = battle["systems"].as_array().into_iter().flatten().filter_map(|s| s["id"].as_u64()).collect();
    let mut hour = start.to_utc().with_minute(0).and_then(|t| t.with_second(0)).and_then(|t| t.with_nanosecond(0));
    let mut links = Vec::new();
    while let Some(h) = hour.filter(|h| *h <= end.to_utc()) {
        for system in &systems {
            links.push(format!("https://zkillboard.com/related/{system}/{}/", h.format("%Y%m%d%H00")));
        }
        hour = Some(h + Duration::hours(1));
    }
    links.truncate(MAX_RELATED);
    links
}

/// `dashboard`: recent big battles, the pipeline's figures, and which services answer.
pub fn dashboard(big: Part, ingestion: Part, enrichment: Part, search: Part, notifications: Part) -> Answer {
    let mut health = json!({});
    let mut missing = Vec::new();
    let mut take = |part: Part, service: Service| {
        health[service.name()] = json!(if part.is_ok() { "ok" } else { "unavailable" });
        optional(part, &mut missing)
    };
    let big = take(big, Service::Battles);
    let ingestion = take(ingestion, Service::Ingestion);
    let enrichment = take(enrichment, Service::Enrichment);
    let search = take(search, Service::Search);
    take(notifications, Service::Notifications);
    (
        200,
        json!({
            "bigBattles": big.get("battles").cloned().unwrap_or(Value::Null),
            "ingestion": ingestion,
            "enrichment": enrichment,
            "searchDocuments": search.get("documents").cloned().unwrap_or(Value::Null),
            "health": health,
            "missing": missing,
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn down(service: Service) -> Failure {
        Failure { service, status: None, body: "connection refused".into() }
    }

    #[test]
    fn a_missing_part_is_named_and_the_rest_answered() {
        let list = json!({"battles": [{"battleId": "b"}], "nextCursor": null});
        let (status, body) = battles(Ok(list.clone()), Err(down(Service::Search)));
        assert_eq!((status, body["facets"].clone(), body["missing"].clone()), (200, Value::Null, json!(["search"])));
        let (_, body) = battles(Ok(list), Ok(json!({"facets": {"securityBand": []}})));
        assert_eq!((body["facets"].clone(), body["missing"].clone()), (json!({"securityBand": []}), json!([])));
    }

    #[test]
    fn the_essential_part_decides_the_status() {
        let bad =
            Failure { service: Service::Battles, status: Some(400), body: r#"{"error":"no","parameter":"minKills"}"#.into() };
        assert_eq!(battles(Err(bad), Ok(json!({}))), (400, json!({"error": "no", "parameter": "minKills"})));
        assert_eq!(report(Err(down(Service::Battles)), Ok(json!({})), None), (503, json!({"error": "battles are unavailable"})));
        let refused =
            Failure { service: Service::Search, status: Some(400), body: r#"{"error":"too big","parameter":"minKills"}"#.into() };
        assert_eq!(battles(Ok(json!({"battles": []})), Err(refused)).0, 400, "search's refusal is the caller's mistake too");
    }

    #[test]
    fn a_report_leaves_itself_out_of_the_battles_near_it_and_links_every_system_hour() {
        let battle = json!({"battleId": "a", "startTime": "2021-11-28T10:21:00Z", "endTime": "2021-11-28T12:05:00Z",
                            "systems": [{"id": 30001046}, {"id": 30001047}]});
        let near = json!({"battles": [{"battleId": "a"}, {"battleId": "b"}]});
        let (status, body) = report(Ok(battle), Ok(json!({"killmails": []})), Some(Ok(near)));
        assert_eq!((status, body["near"].clone()), (200, json!([{"battleId": "b"}])));
        let links = body["zkillboard"].as_array().unwrap();
        assert_eq!(links.len(), 6, "two systems, three hours: {links:?}");
        assert_eq!(links[0], "https://zkillboard.com/related/30001046/202111281000/");
        assert_eq!(links[5], "https://zkillboard.com/related/30001047/202111281200/");
    }

    #[test]
    fn the_dashboard_says_which_services_answer() {
        let (status, body) = dashboard(
            Ok(json!({"battles": []})),
            Ok(json!({"stored": 3})),
            Err(down(Service::Enrichment)),
            Ok(json!({"documents": {"battles": 2}})),
            Ok(json!({})),
        );
        assert_eq!(status, 200);
        assert_eq!(
            body["health"],
            json!({"battles": "ok", "ingestion": "ok", "enrichment": "unavailable", "search": "ok", "notifications": "ok"})
        );
        assert_eq!((body["missing"].clone(), body["searchDocuments"]["battles"].clone()), (json!(["enrichment"]), json!(2)));
    }
}
