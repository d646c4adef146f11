//! Users, their tokens and their saved subscriptions, as kept in Redis (`subscriptions:{userId}`
//! under the deployment's prefix).
//! A token is never stored: only its SHA-256 is, mapped to its user.

use sha2::{Digest, Sha256};

/// Keys of one deployment's notification data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keys {
    pub prefix: String,
}

impl Keys {
    /// Hash: token digest → user id.
    pub fn tokens(&self) -> String {
        format!("{}tokens", self.prefix)
    }

    /// Set of a user's channels.
    pub fn subscriptions(&self, user: &str) -> String {
        format!("{}subscriptions:{user}", self.prefix)
    }
}

/// What a token is stored as.
pub fn digest(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Most channels a user may save (the same cap as a connection's).
pub const MAX_SAVED: usize = 64;

/// The user part of `Authorization: Bearer <token>` or a `token=` query parameter.
pub fn token_of(authorization: Option<&str>, query: &str) -> Option<String> {
    authorization
        .and_then(|a| a.strip_prefix("Bearer "))
        .map(str::to_string)
        .or_else(|| query.split('&').find_map(|p| p.strip_prefix("token=").map(str::to_string)))
        .filter(|t| !t.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_kept_as_digests() {
        assert_eq!(digest("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        assert_eq!(token_of(Some("Bearer t1"), "token=t2"), Some("t1".into()));
        assert_eq!(token_of(None, "since=1-0&token=t2"), Some("t2".into()));
        assert_eq!(token_of(None, "since=1-0"), None);
    }

    #[test]
    fn keys_live_under_the_deployments_prefix() {
        let k = Keys { prefix: "bs:notifications:".into() };
        assert_eq!(k.subscriptions("u1"), "bs:notifications:subscriptions:u1");
    }
}
