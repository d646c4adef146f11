//! Which database failures are worth waiting out: the Kafka trigger retries transient ones for
//! as long as they last and dead-letters permanent ones after a few attempts.

use crate::engine::StoreError;

/// SQLSTATE classes and codes that say "try again": connection exceptions (08), transaction
/// rollbacks such as serialization failures and deadlocks (40), insufficient resources (53),
/// operator intervention such as a shutdown (57), system errors (58), lock not available.
fn transient_sqlstate(code: &str) -> bool {
    matches!(&code[..2], "08" | "40" | "53" | "57" | "58") || code == "55P03"
}

/// The SQLSTATE a query failure carries (the host writes `message (CODE): detail`).
fn sqlstate(message: &str) -> Option<&str> {
    let mut rest = message;
    while let Some(open) = rest.find('(') {
        let candidate = &rest[open + 1..];
        if candidate.len() > 5 && candidate.as_bytes()[5] == b')' && candidate[..5].bytes().all(|b| b.is_ascii_alphanumeric()) {
            return Some(&candidate[..5]);
        }
        rest = candidate;
    }
    None
}

/// What went wrong with a statement, as the Postgres interface reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection, or it was refused.
    Connection,
    /// The server rejected or failed the statement.
    Query,
    /// A parameter or a value could not be converted, or anything else.
    Other,
}

/// A failure of `what` as the engine sees it.
pub fn classify(failure: Failure, what: &str, message: &str) -> StoreError {
    let text = format!("{what}: {message}");
    let transient = match failure {
        Failure::Connection => true,
        // A failure without a server code is the connection going away mid-statement.
        Failure::Query => sqlstate(message).is_none_or(transient_sqlstate),
        Failure::Other => false,
    };
    if transient {
        StoreError::Transient(text)
    } else {
        StoreError::Permanent(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_codes_decide() {
        let q = |m| classify(Failure::Query, "saving", m);
        assert!(matches!(q("could not serialize access (40001): "), StoreError::Transient(_)));
        assert!(matches!(q("terminating connection due to administrator command (57P01): "), StoreError::Transient(_)));
        assert!(matches!(q("too many connections (53300): "), StoreError::Transient(_)));
        assert!(matches!(q("connection closed"), StoreError::Transient(_)));
        assert!(matches!(q("duplicate key value violates unique constraint (23505): Key (id)=(1)"), StoreError::Permanent(_)));
        assert!(matches!(q("injected (P0001): "), StoreError::Permanent(_)));
        assert!(matches!(q("syntax error at or near \"x\" (42601): "), StoreError::Permanent(_)));
        assert!(matches!(classify(Failure::Connection, "opening", "refused"), StoreError::Transient(_)));
        assert!(matches!(classify(Failure::Other, "decoding", "not an integer"), StoreError::Permanent(_)));
        assert_eq!(q("x (40001): y").to_string(), "saving: x (40001): y");
    }
}
