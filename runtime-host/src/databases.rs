//! Service databases, declared once per component in spin.toml
//! (`[component.<id>.tool.battlescope] database = "battles"`). From that one line the host
//! derives the database's name (`<prefix><database>`) and address, its migrations folder,
//! whether its outbox is relayed, the `database_url` variable the component reads, and the
//! allow-list entry that lets the component reach it.

use crate::manifest::LoadedManifest;
use anyhow::{bail, Context};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// Where service databases live: a server to create them on, and how they are named.
#[derive(Debug, Clone)]
pub struct DatabaseServer {
    /// A connection string for a database the user can `CREATE DATABASE` from (e.g. `postgres`).
    pub admin_url: String,
    /// Service databases are named `<prefix><database>`.
    pub prefix: String,
}

/// One service database and what the host does with it.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceDatabase {
    /// As declared (`battles`).
    pub name: String,
    /// Its connection string (`postgres://…/<prefix>battles`).
    pub url: String,
    /// Its migrations folder.
    pub migrations: PathBuf,
    /// Whether the host creates and relays its `outbox` table.
    pub outbox: bool,
    /// The components that declared it.
    pub components: Vec<String>,
}

impl DatabaseServer {
    /// The connection string of a database on this server.
    pub fn url_of(&self, database: &str) -> anyhow::Result<String> {
        let mut u = url::Url::parse(&self.admin_url)
            .with_context(|| format!("the admin database url {} is not a URL", redact(&self.admin_url)))?;
        u.set_path(&format!("/{}{database}", self.prefix));
        Ok(u.to_string())
    }

    /// Every database the manifest's components declare. Components of one bounded context
    /// may share a database; they must then agree on its migrations (the outbox is relayed if
    /// any of them asks).
    pub fn databases(&self, manifest: &LoadedManifest) -> anyhow::Result<Vec<ServiceDatabase>> {
        let mut out: BTreeMap<String, ServiceDatabase> = BTreeMap::new();
        for (id, component) in &manifest.manifest.components {
            let tool = &component.battlescope;
            let Some(name) = &tool.database else {
                if tool.migrations.is_some() || tool.outbox {
                    bail!(
                        "{}: component `{id}`: tool.battlescope: `migrations` and `outbox` need `database`",
                        manifest.path.display()
                    );
                }
                continue;
            };
            if !name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_') || name.is_empty() {
                bail!(
                    "{}: component `{id}`: tool.battlescope.database: {name:?} may hold only lowercase letters, digits and `_`",
                    manifest.path.display()
                );
            }
            if component.variables.contains_key("database_url") {
                bail!(
                    "{}: component `{id}`: declares tool.battlescope.database and a `database_url` variable; the host gives \
                     `database_url` from the declared database, so remove the variable",
                    manifest.path.display()
                );
            }
            let migrations = manifest.base_dir.join(tool.migrations.clone().unwrap_or_else(|| format!("migrations/{name}")));
            let entry = out.entry(name.clone()).or_insert_with(|| ServiceDatabase {
                name: name.clone(),
                url: String::new(),
                migrations: migrations.clone(),
                outbox: false,
                components: Vec::new(),
            });
            if entry.migrations != migrations {
                bail!(
                    "{}: components `{}` and `{id}` share database `{name}` with different migrations ({} and {})",
                    manifest.path.display(),
                    entry.components[0],
                    entry.migrations.display(),
                    migrations.display()
                );
            }
            entry.outbox |= tool.outbox;
            entry.components.push(id.clone());
        }
        out.into_values()
            .map(|mut d| {
                d.url = self.url_of(&d.name)?;
                Ok(d)
            })
            .collect()
    }
}

/// A connection address with its passwords masked, for messages: in a URL's user part or
/// `password` parameter, or a `password=` of a key-value connection string.
pub fn redact(address: &str) -> String {
    match url::Url::parse(address) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            if u.query_pairs().any(|(k, _)| k == "password") {
                let pairs: Vec<(String, String)> = u
                    .query_pairs()
                    .map(|(k, v)| {
                        let v = if k == "password" { "***".to_string() } else { v.into_owned() };
                        (k.into_owned(), v)
                    })
                    .collect();
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => address
            .split_whitespace()
            .map(|part| if part.starts_with("password=") { "password=***" } else { part })
            .collect::<Vec<_>>()
            .join(" "),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::Path;

    #[test]
    fn passwords_are_masked_wherever_an_address_carries_them() {
        assert_eq!(redact("postgres://u:secret@db:5432/x"), "postgres://u:***@db:5432/x");
        let query = redact("postgres://u@db/x?password=secret&sslmode=disable");
        assert!(!query.contains("secret") && query.contains("sslmode=disable"), "{query}");
        assert_eq!(redact("host=db password=secret dbname=x"), "host=db password=*** dbname=x");
        assert_eq!(redact("redis://:secret@cache:6379"), "redis://:***@cache:6379");
    }

    fn manifest(components: &str) -> LoadedManifest {
        let text = format!("spin_manifest_version = 2\n[application]\nname = \"t\"\n{components}");
        let manifest = crate::manifest::parse(Path::new("spin.toml"), &text).unwrap();
        LoadedManifest { path: "spin.toml".into(), base_dir: "/app".into(), manifest }
    }

    fn server() -> DatabaseServer {
        DatabaseServer { admin_url: "postgres://postgres@127.0.0.1:5432/postgres".into(), prefix: "bs_".into() }
    }

    #[test]
    fn a_declared_database_gives_url_migrations_and_outbox() {
        let m = manifest(
            "[component.api]\nsource = \"a.wasm\"\n[component.api.tool.battlescope]\ndatabase = \"battles\"\n\
             [component.worker]\nsource = \"w.wasm\"\n[component.worker.tool.battlescope]\ndatabase = \"battles\"\noutbox = true\n\
             [component.web]\nsource = \"x.wasm\"\n",
        );
        let dbs = server().databases(&m).unwrap();
        assert_eq!(dbs.len(), 1, "two components of one context share it");
        let d = &dbs[0];
        assert_eq!(d.url, "postgres://postgres@127.0.0.1:5432/bs_battles");
        assert_eq!(d.migrations, Path::new("/app/migrations/battles"));
        assert!(d.outbox);
        assert_eq!(d.components, ["api", "worker"]);
    }

    #[test]
    fn conflicting_or_incomplete_declarations_are_refused() {
        let both = manifest(
            "[component.api]\nsource = \"a.wasm\"\n[component.api.variables]\ndatabase_url = \"x\"\n[component.api.tool.battlescope]\ndatabase = \"battles\"\n",
        );
        assert!(server().databases(&both).unwrap_err().to_string().contains("remove the variable"));
        let orphan = manifest("[component.api]\nsource = \"a.wasm\"\n[component.api.tool.battlescope]\noutbox = true\n");
        assert!(server().databases(&orphan).unwrap_err().to_string().contains("need `database`"));
        let typo = crate::manifest::parse(
            Path::new("spin.toml"),
            "spin_manifest_version = 2\n[application]\nname = \"t\"\n[component.api]\nsource = \"a.wasm\"\n[component.api.tool.battlescope]\ndatabse = \"x\"\n",
        );
        assert!(typo.unwrap_err().to_string().contains("tool.battlescope: unknown field `databse`"));
    }
}
