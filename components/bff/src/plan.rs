//! Which calls each BFF request makes. Parameters are checked by name here; their values are
//! the called API's to check (a 400 from it is passed on, naming the parameter).

use chrono::{DateTime, Duration};
use serde_json::Value;

/// A read API the BFF calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Service {
    Battles,
    Search,
    Ingestion,
    Enrichment,
    Notifications,
}

impl Service {
    /// How answers name it (`missing`, `health`).
    pub fn name(self) -> &'static str {
        match self {
            Service::Battles => "battles",
            Service::Search => "search",
            Service::Ingestion => "ingestion",
            Service::Enrichment => "enrichment",
            Service::Notifications => "notifications",
        }
    }

    /// Its component in spin.toml: Spin's service chaining reaches it at
    /// `http://<component>.spin.internal`.
    pub fn component(self) -> &'static str {
        match self {
            Service::Battles => "battle-api",
            Service::Search => "search-api",
            Service::Ingestion => "ingestion-api",
            Service::Enrichment => "enrichment-api",
            Service::Notifications => "notification-api",
        }
    }
}

/// One call: a GET of `path` (with its query string) on `service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    pub service: Service,
    pub path: String,
}

impl Call {
    fn new(service: Service, path: impl Into<String>) -> Self {
        Self { service, path: path.into() }
    }

    pub fn url(&self) -> String {
        format!("http://{}.spin.internal{}", self.service.component(), self.path)
    }
}

/// A request the BFF answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `battles?<filters>`: the battle list, with the search index's facets for the same filters.
    Battles { filters: Vec<(String, String)> },
    /// `battle/{id}[?moves=...]`: the report: the battle (its sides corrected by `moves`, the
    /// battle API's compact form, when given), its killmails, battles near it.
    Battle { id: String, moves: Option<String> },
    /// `dashboard`: recent big battles and each service's health.
    Dashboard,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{parameter}: {message}")]
    BadParameter { parameter: String, message: String },
    #[error("{0}")]
    NotFound(String),
}

/// The battle list's filters, passed on to the battle API.
const LIST_FILTERS: [&str; 12] = [
    "securityBand",
    "region",
    "system",
    "alliance",
    "corporation",
    "character",
    "from",
    "to",
    "minKills",
    "minIsk",
    "limit",
    "cursor",
];
/// Those the search API shares, passed on for the facets.
const FACET_FILTERS: [&str; 9] =
    ["securityBand", "region", "system", "alliance", "corporation", "from", "to", "minKills", "minIsk"];

/// Recent battles the dashboard shows: at least this many kills.
pub const BIG_BATTLE_KILLS: u32 = 20;
/// Battles "near" a reported one: in its first system, within this long before or after it.
pub const NEAR_HOURS: i64 = 6;

/// The endpoint a request names (the path below `/api/bff`, and the raw query string).
pub fn endpoint(segments: &[&str], query: &str) -> Result<Endpoint, PlanError> {
    let mut filters = Vec::new();
    for part in query.split('&').filter(|p| !p.is_empty()) {
        let (name, value) = part.split_once('=').unwrap_or((part, ""));
        if filters.iter().any(|(seen, _): &(String, String)| seen == name) {
            return Err(bad(name, "given more than once"));
        }
        filters.push((name.to_string(), value.to_string()));
    }
    let none_allowed = |filters: &[(String, String)]| match filters.first() {
        Some((name, _)) => Err(bad(name, "this endpoint takes no parameters")),
        None => Ok(()),
    };
    match segments {
        ["battles"] => {
            if let Some((name, _)) = filters.iter().find(|(n, _)| !LIST_FILTERS.contains(&n.as_str())) {
                return Err(bad(name, &format!("not a filter of the battle list (one of {})", LIST_FILTERS.join(", "))));
            }
            Ok(Endpoint::Battles { filters })
        }
        ["battle", id] => {
            let moves = match filters.as_slice() {
                [] => None,
                [(name, value)] if name == "moves" => Some(value.clone()),
                [(name, _), ..] => return Err(bad(name, "a report takes only moves")),
            };
            if guest::http::is_uuid(id) {
                Ok(Endpoint::Battle { id: id.to_string(), moves })
            } else {
                Err(bad("id", &format!("battle id {id:?} is not a UUID")))
            }
        }
        ["dashboard"] => none_allowed(&filters).map(|_| Endpoint::Dashboard),
        _ => Err(PlanError::NotFound(format!(
            "no BFF endpoint /api/bff/{} (battles, battle/{{id}}, dashboard)",
            segments.join("/")
        ))),
    }
}

fn bad(parameter: &str, message: &str) -> PlanError {
    PlanError::BadParameter { parameter: parameter.to_string(), message: message.to_string() }
}

fn query_of(pairs: &[(String, String)]) -> String {
    pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&")
}

/// The calls an endpoint makes at once.
pub fn calls(endpoint: &Endpoint) -> Vec<Call> {
    match endpoint {
        Endpoint::Battles { filters } => {
            // The battle API reads `+` as itself (`from=...+01:00`), the search API as a space
            // (form encoding): the same value must reach search escaped.
            let shared = filters
                .iter()
                .filter(|(n, _)| FACET_FILTERS.contains(&n.as_str()))
                .map(|(n, v)| (n.clone(), v.replace('+', "%2B")));
            let facets: Vec<(String, String)> = std::iter::once(("perPage".to_string(), "1".to_string())).chain(shared).collect();
            let list =
                if filters.is_empty() { "/api/battles".to_string() } else { format!("/api/battles?{}", query_of(filters)) };
            vec![
                Call::new(Service::Battles, list),
                Call::new(Service::Search, format!("/api/search/battles?{}", query_of(&facets))),
            ]
        }
        Endpoint::Battle { id, moves } => {
            let battle = match moves {
                Some(moves) => format!("/api/battles/{id}?moves={moves}"),
                None => format!("/api/battles/{id}"),
            };
            vec![Call::new(Service::Battles, battle), Call::new(Service::Battles, format!("/api/battles/{id}/killmails"))]
        }
        Endpoint::Dashboard => vec![
            Call::new(Service::Battles, format!("/api/battles?minKills={BIG_BATTLE_KILLS}&limit=10")),
            Call::new(Service::Ingestion, "/api/ingestion/stats"),
            Call::new(Service::Enrichment, "/api/enrichment/stats"),
            Call::new(Service::Search, "/api/search/health"),
            Call::new(Service::Notifications, "/api/notifications/health"),
        ],
    }
}

/// The report's second step, once the battle is known: battles near it from the search index
/// (in its first system, overlapping its span widened by `NEAR_HOURS` each way; the ten
/// biggest, itself left out by `compose::report`).
pub fn near(battle: &Value) -> Option<Call> {
    let system = battle["systems"][0]["id"].as_u64()?;
    let start = DateTime::parse_from_rfc3339(battle["startTime"].as_str()?).ok()?;
    let end = DateTime::parse_from_rfc3339(battle["endTime"].as_str()?).ok()?;
    let (from, to) = (start - Duration::hours(NEAR_HOURS), end + Duration::hours(NEAR_HOURS));
    let time = |t: DateTime<chrono::FixedOffset>| t.to_utc().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    Some(Call::new(
        Service::Search,
        format!("/api/search/battles?system={system}&from={}&to={}&perPage=10&sort=kills", time(from), time(to)),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_battle_list_passes_its_filters_on_and_shares_those_search_knows() {
        let e = endpoint(&["battles"], "securityBand=nullsec&limit=5&character=90000001&from=2021-11-28T10:00:00+01:00").unwrap();
        let calls = calls(&e);
        assert_eq!(
            calls[0].url(),
            "http://battle-api.spin.internal/api/battles?securityBand=nullsec&limit=5&character=90000001&from=2021-11-28T10:00:00+01:00"
        );
        assert_eq!(
            calls[1].url(),
            "http://search-api.spin.internal/api/search/battles?perPage=1&securityBand=nullsec&from=2021-11-28T10:00:00%2B01:00"
        );
        assert_eq!(crate::plan::calls(&endpoint(&["battles"], "").unwrap())[0].path, "/api/battles");
    }

    #[test]
    fn wrong_requests_are_named() {
        let parameter = |segments: &[&str], q: &str| match endpoint(segments, q) {
            Err(PlanError::BadParameter { parameter, .. }) => parameter,
            other => panic!("{other:?}"),
        };
        assert_eq!(parameter(&["battles"], "colour=red"), "colour");
        assert_eq!(parameter(&["battles"], "limit=1&limit=2"), "limit");
        assert_eq!(parameter(&["battle", "42"], ""), "id");
        assert_eq!(parameter(&["battle", "00000000-0000-4000-8000-000005c7f893"], "limit=1"), "limit");
        assert_eq!(parameter(&["dashboard"], "x=1"), "x");
        assert!(matches!(endpoint(&["battels"], ""), Err(PlanError::NotFound(_))));
    }

    #[test]
    fn a_report_passes_side_moves_on() {
        let id = "00000000-0000-4000-8000-000005c7f893";
        let e = endpoint(&["battle", id], "moves=alliance:99005338%3Ealliance:1354830081").unwrap();
        assert_eq!(
            calls(&e)[0].url(),
            format!("http://battle-api.spin.internal/api/battles/{id}?moves=alliance:99005338%3Ealliance:1354830081")
        );
        assert_eq!(calls(&endpoint(&["battle", id], "").unwrap())[0].path, format!("/api/battles/{id}"));
    }

    #[test]
    fn a_report_looks_for_battles_near_it() {
        let battle =
            json!({"systems": [{"id": 30001046}], "startTime": "2021-11-28T10:21:00Z", "endTime": "2021-11-28T14:51:00Z"});
        assert_eq!(
            near(&battle).unwrap().url(),
            "http://search-api.spin.internal/api/search/battles?system=30001046&from=2021-11-28T04:21:00Z&to=2021-11-28T20:51:00Z&perPage=10&sort=kills"
        );
        assert_eq!(near(&json!({})), None);
    }
}
