//! `allowed_outbound_hosts`: which `scheme://host:port` a component may reach. Shared by the
//! outbound HTTP, Postgres and Redis capabilities so that all three enforce one rule.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq)]
enum HostPattern {
    Any,
    Exact(String),
    /// `*.example.com`: any subdomain, stored as `.example.com`.
    Subdomain(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum PortPattern {
    Any,
    Exact(u16),
}

/// One entry of `allowed_outbound_hosts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowedHost {
    /// `None` for `*`.
    scheme: Option<String>,
    host: HostPattern,
    port: PortPattern,
    raw: String,
}

/// The port a scheme implies when the URL gives none.
pub fn default_port(scheme: &str) -> Option<u16> {
    match scheme {
        "http" => Some(80),
        "https" => Some(443),
        "postgres" | "postgresql" => Some(5432),
        "redis" => Some(6379),
        "mysql" => Some(3306),
        "kafka" => Some(9092),
        _ => None,
    }
}

impl AllowedHost {
    /// Parse `scheme://host[:port][/]`, with `*` allowed for scheme, host, port and
    /// `*.domain` for subdomains.
    pub fn parse(entry: &str) -> Result<Self, String> {
        let (scheme, rest) = entry.split_once("://").ok_or_else(|| format!("{entry:?} must look like scheme://host:port"))?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains('/') {
            return Err(format!("{entry:?} must not contain a path"));
        }
        let scheme = match scheme {
            "*" => None,
            s if !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '+') => Some(s.to_ascii_lowercase()),
            s => return Err(format!("{entry:?} has an invalid scheme {s:?}")),
        };
        let (host, port) = match rest.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (rest, None),
        };
        let host = match host {
            "" => return Err(format!("{entry:?} has no host")),
            "*" => HostPattern::Any,
            h if h.starts_with("*.") => HostPattern::Subdomain(h[1..].to_ascii_lowercase()),
            h if h.contains('*') => return Err(format!("{entry:?}: `*` may only be a whole host or `*.domain`")),
            h => HostPattern::Exact(h.to_ascii_lowercase()),
        };
        let port = match port {
            Some("*") => PortPattern::Any,
            Some(p) => PortPattern::Exact(p.parse().map_err(|_| format!("{entry:?} has an invalid port {p:?}"))?),
            None => match scheme.as_deref().and_then(default_port) {
                Some(p) => PortPattern::Exact(p),
                None => return Err(format!("{entry:?} must give a port (scheme has no default)")),
            },
        };
        Ok(Self { scheme, host, port, raw: entry.to_string() })
    }

    fn allows(&self, scheme: &str, host: &str, port: u16) -> bool {
        let scheme_ok = self.scheme.as_deref().is_none_or(|s| s == scheme);
        let host = host.to_ascii_lowercase();
        let host_ok = match &self.host {
            HostPattern::Any => true,
            HostPattern::Exact(h) => *h == host,
            HostPattern::Subdomain(suffix) => host.ends_with(suffix.as_str()),
        };
        let port_ok = match self.port {
            PortPattern::Any => true,
            PortPattern::Exact(p) => p == port,
        };
        scheme_ok && host_ok && port_ok
    }
}

impl fmt::Display for AllowedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A component's resolved allow-list.
#[derive(Debug, Clone, Default)]
pub struct AllowList {
    hosts: Vec<AllowedHost>,
}

impl AllowList {
    pub fn new(hosts: Vec<AllowedHost>) -> Self {
        Self { hosts }
    }

    /// Whether `scheme://host:port` may be reached; a missing port means the scheme's default.
    pub fn allows(&self, scheme: &str, host: &str, port: Option<u16>) -> bool {
        let scheme = scheme.to_ascii_lowercase();
        let scheme = if scheme == "postgresql" { "postgres".to_string() } else { scheme };
        let Some(port) = port.or_else(|| default_port(&scheme)) else {
            return false;
        };
        self.hosts.iter().any(|h| h.allows(&scheme, host, port))
    }

    /// Whether a URL such as `redis://127.0.0.1:6379/0` may be reached.
    pub fn allows_url(&self, url: &str) -> bool {
        match url::Url::parse(url) {
            Ok(u) => u.host_str().is_some_and(|h| self.allows(u.scheme(), h, u.port())),
            Err(_) => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(entries: &[&str]) -> AllowList {
        AllowList::new(entries.iter().map(|e| AllowedHost::parse(e).unwrap()).collect())
    }

    #[test]
    fn exact_host_with_default_port() {
        let l = list(&["https://esi.evetech.net"]);
        assert!(l.allows("https", "esi.evetech.net", None));
        assert!(l.allows("https", "esi.evetech.net", Some(443)));
        assert!(!l.allows("https", "esi.evetech.net", Some(8443)));
        assert!(!l.allows("http", "esi.evetech.net", None));
        assert!(!l.allows("https", "evil.net", None));
    }

    #[test]
    fn wildcards() {
        let l = list(&["http://127.0.0.1:*", "*://*.zkillboard.com:443", "postgres://db:5432"]);
        assert!(l.allows("http", "127.0.0.1", Some(9)));
        assert!(l.allows("https", "r2z2.zkillboard.com", None));
        assert!(!l.allows("https", "zkillboard.com.evil", None));
        assert!(l.allows_url("postgresql://user@db/battles"));
        assert!(!l.allows_url("postgres://user@db:5433/battles"));
    }

    #[test]
    fn empty_list_denies_everything() {
        assert!(!AllowList::default().allows("http", "localhost", Some(80)));
    }

    #[test]
    fn rejects_malformed_entries() {
        assert!(AllowedHost::parse("example.com").unwrap_err().contains("scheme://"));
        assert!(AllowedHost::parse("https://a.com/path").unwrap_err().contains("path"));
        assert!(AllowedHost::parse("tcp://a.com").unwrap_err().contains("port"));
        assert!(AllowedHost::parse("http://a.com:http").unwrap_err().contains("invalid port"));
        assert!(AllowedHost::parse("http://a*b.com").unwrap_err().contains("`*`"));
    }
}
