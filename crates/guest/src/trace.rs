//! Trace context for what a component writes to its outbox: the host relays each row later,
//! and the row's `headers` (a JSON object of strings) become the Kafka message's headers, so
//! the consumer continues the trace of what caused the row.

/// The `headers` of an outbox row written in the trace `traceparent` (W3C form), or none.
pub fn outbox_headers(traceparent: Option<&str>) -> String {
    match traceparent.filter(|t| looks_like_traceparent(t)) {
        Some(t) => serde_json::json!({ "traceparent": t }).to_string(),
        None => "{}".to_string(),
    }
}

/// The span of the running instance, as the BattleScope host gives it (`TRACEPARENT`); none
/// on a platform that gives none, such as Spin.
pub fn current() -> Option<String> {
    std::env::var("TRACEPARENT").ok()
}

/// The `traceparent` header of a Kafka message (the host sets it to the message's own span).
pub fn of_message(headers: &[(String, Vec<u8>)]) -> Option<String> {
    headers.iter().find(|(name, _)| name == "traceparent").and_then(|(_, v)| String::from_utf8(v.clone()).ok())
}

/// `00-<32 hex>-<16 hex>-<2 hex>`: anything else is left out rather than relayed.
fn looks_like_traceparent(t: &str) -> bool {
    let parts: Vec<&str> = t.split('-').collect();
    let hex = |s: &str, len: usize| s.len() == len && s.bytes().all(|b| b.is_ascii_hexdigit());
    parts.len() == 4 && hex(parts[0], 2) && hex(parts[1], 32) && hex(parts[2], 16) && hex(parts[3], 2)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_carries_a_wellformed_traceparent_and_nothing_else() {
        let t = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        assert_eq!(outbox_headers(Some(t)), format!("{{\"traceparent\":\"{t}\"}}"));
        assert_eq!(outbox_headers(Some("00-xyz-1-01")), "{}");
        assert_eq!(outbox_headers(Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01\",\"x\":\"")), "{}");
        assert_eq!(outbox_headers(None), "{}");
    }

    #[test]
    fn a_messages_traceparent_is_read_from_its_headers() {
        let headers = vec![("other".to_string(), b"1".to_vec()), ("traceparent".to_string(), b"00-ab-cd-01".to_vec())];
        assert_eq!(of_message(&headers).as_deref(), Some("00-ab-cd-01"));
        assert_eq!(of_message(&[]), None);
    }
}
