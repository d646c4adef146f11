//! SQL migrations of the service databases (`databases.rs`): each database is created if
//! missing, its `outbox` table made when it has one (the host owns that table), and each
//! `NNNN_name.sql` file of its migrations folder applied once, in order, in its own
//! transaction, and recorded with its checksum.

use crate::databases::{redact, DatabaseServer, ServiceDatabase};
use anyhow::Context;
use sha2::{Digest, Sha256};
use std::path::Path;
use tokio_postgres::{Client, NoTls};

/// One migration file.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: i32,
    pub name: String,
    pub sql: String,
    pub checksum: String,
}

/// Read the migrations of one service folder, sorted; a badly named file is an error.
pub fn read_service(dir: &Path) -> anyhow::Result<Vec<Migration>> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        let file = path.file_name().and_then(|f| f.to_str()).unwrap_or_default().to_string();
        if !file.ends_with(".sql") {
            continue;
        }
        let stem = &file[..file.len() - 4];
        let (num, name) = stem.split_once('_').unwrap_or((stem, ""));
        let valid = num.len() == 4
            && num.chars().all(|c| c.is_ascii_digit())
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !valid {
            anyhow::bail!("{}: migration files are named NNNN_lowercase_name.sql", path.display());
        }
        let sql = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
        let checksum = hex::encode(Sha256::digest(sql.as_bytes()));
        out.push(Migration { version: num.parse()?, name: name.to_string(), sql, checksum });
    }
    out.sort_by_key(|m| m.version);
    if let Some(w) = out.windows(2).find(|w| w[0].version == w[1].version) {
        anyhow::bail!("{}: two migrations have version {:04}", dir.display(), w[0].version);
    }
    Ok(out)
}

async fn connect(url: &str) -> anyhow::Result<Client> {
    let (client, connection) =
        tokio_postgres::connect(url, NoTls).await.with_context(|| format!("connecting to {}", redact(url)))?;
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::warn!(error = %e, "migration connection closed");
        }
    });
    Ok(client)
}

/// Create missing databases, their outbox tables, and apply pending migrations. Returns how
/// many files were applied.
pub async fn run(server: &DatabaseServer, databases: &[ServiceDatabase]) -> anyhow::Result<usize> {
    if databases.is_empty() {
        return Ok(0);
    }
    let admin = connect(&server.admin_url).await?;
    let mut applied = 0;
    for db in databases {
        let migrations = read_service(&db.migrations)
            .with_context(|| format!("the migrations of database `{}` (components {})", db.name, db.components.join(", ")))?;
        let database = format!("{}{}", server.prefix, db.name);
        ensure_database(&admin, &database).await?;
        let mut client = connect(&db.url).await?;
        if db.outbox {
            crate::outbox::create_table(&client).await.with_context(|| format!("creating the outbox of database {database}"))?;
        }
        applied += apply(&mut client, &db.name, &migrations).await.with_context(|| format!("migrating database {database}"))?;
    }
    Ok(applied)
}

async fn ensure_database(admin: &Client, database: &str) -> anyhow::Result<()> {
    let exists = admin.query_opt("SELECT 1 FROM pg_database WHERE datname = $1", &[&database]).await?.is_some();
    if exists {
        return Ok(());
    }
    let quoted = format!("\"{}\"", database.replace('"', "\"\""));
    match admin.batch_execute(&format!("CREATE DATABASE {quoted}")).await {
        Ok(()) => {
            tracing::info!(database, "created database");
            Ok(())
        }
        // Another host created it between our check and our CREATE.
        Err(e) if e.code().is_some_and(|c| *c == tokio_postgres::error::SqlState::DUPLICATE_DATABASE) => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context(format!("creating database {database}"))),
    }
}

async fn apply(client: &mut Client, service: &str, migrations: &[Migration]) -> anyhow::Result<usize> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                checksum   text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now()
            );
            -- Serialise migrators: several hosts may start at once.
            SELECT pg_advisory_lock(7271001);",
        )
        .await?;
    let result = apply_locked(client, service, migrations).await;
    client.batch_execute("SELECT pg_advisory_unlock(7271001)").await?;
    result
}

async fn apply_locked(client: &mut Client, service: &str, migrations: &[Migration]) -> anyhow::Result<usize> {
    let rows = client.query("SELECT version, checksum FROM schema_migrations", &[]).await?;
    let done: std::collections::HashMap<i32, String> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    let mut applied = 0;
    for m in migrations {
        if let Some(checksum) = done.get(&m.version) {
            if *checksum != m.checksum {
                anyhow::bail!(
                    "migration {service}/{:04}_{}.sql was changed after it was applied; add a new migration instead",
                    m.version,
                    m.name
                );
            }
            continue;
        }
        let tx = client.transaction().await?;
        tx.batch_execute(&m.sql).await.with_context(|| format!("applying {service}/{:04}_{}.sql", m.version, m.name))?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &m.checksum],
        )
        .await?;
        tx.commit().await?;
        tracing::info!(service, version = m.version, name = %m.name, "applied migration");
        applied += 1;
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn reads_sorted_and_rejects_bad_names() {
        let dir = tempdir();
        std::fs::write(dir.join("0002_second.sql"), "SELECT 2;").unwrap();
        std::fs::write(dir.join("0001_first.sql"), "SELECT 1;").unwrap();
        std::fs::write(dir.join("README.md"), "ignored").unwrap();
        let m = read_service(&dir).unwrap();
        assert_eq!(m.iter().map(|m| m.version).collect::<Vec<_>>(), [1, 2]);
        std::fs::write(dir.join("3_bad.sql"), "").unwrap();
        assert!(read_service(&dir).unwrap_err().to_string().contains("NNNN_lowercase_name"));
    }

    fn tempdir() -> PathBuf {
        let d = std::env::temp_dir().join(format!("bs-migrate-{}-{:?}", std::process::id(), std::thread::current().id()));
        let _ = std::fs::remove_dir_all(&d);
        std::fs::create_dir_all(&d).unwrap();
        d
    }
}
