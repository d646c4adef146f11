//! Key-value stores. The `default` store lives in a file on local disk (redb); any label can
//! instead be backed by Redis through the runtime config file, as with Spin's
//! `[key_value_store.<label>]` tables.

mod host;

use anyhow::Context;
use redb::ReadableTable;
use redis::AsyncCommands;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::access::Access;
use crate::runtime_config::KeyValueStoreConfig;
use wasmtime::component::ResourceTable;

/// One instance's key-value stores: the configured backends, which labels it may open, and its
/// open handles.
pub struct KeyValueState {
    stores: Arc<Stores>,
    access: Arc<Access>,
    table: ResourceTable,
}

impl KeyValueState {
    pub fn new(stores: Arc<Stores>, access: Arc<Access>) -> Self {
        Self { stores, access, table: ResourceTable::new() }
    }
}

/// What a component holds after `store.open`.
pub struct StoreHandle {
    label: String,
    backend: Arc<Backend>,
}

/// A store backend.
pub enum Backend {
    /// One redb table per label inside a shared database file.
    Disk {
        db: Arc<redb::Database>,
        table: String,
    },
    Redis {
        connection: Box<redis::aio::ConnectionManager>,
    },
}

/// Every configured store, by label.
pub struct Stores {
    by_label: HashMap<String, Arc<Backend>>,
}

impl Stores {
    /// Open the configured stores; `default` falls back to `<state_dir>/key_value.redb`.
    pub async fn open(
        configured: &std::collections::BTreeMap<String, KeyValueStoreConfig>,
        state_dir: &Path,
    ) -> anyhow::Result<Self> {
        let mut files: HashMap<PathBuf, Arc<redb::Database>> = HashMap::new();
        let mut by_label = HashMap::new();
        let mut configs = configured.clone();
        configs.entry("default".to_string()).or_insert(KeyValueStoreConfig::Spin { path: None });
        for (label, config) in configs {
            let backend = match config {
                KeyValueStoreConfig::Spin { path } => {
                    let path = path.unwrap_or_else(|| state_dir.join("key_value.redb"));
                    let db = match files.get(&path) {
                        Some(db) => db.clone(),
                        None => {
                            if let Some(dir) = path.parent() {
                                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
                            }
                            let db = Arc::new(
                                redb::Database::create(&path)
                                    .with_context(|| format!("opening key-value store `{label}` at {}", path.display()))?,
                            );
                            files.insert(path.clone(), db.clone());
                            db
                        }
                    };
                    Backend::Disk { db, table: label.clone() }
                }
                KeyValueStoreConfig::Redis { url } => {
                    let connection = crate::capabilities::redis::reconnecting(url.as_str())
                        .await
                        .with_context(|| format!("key-value store `{label}`: connecting to {url}"))?;
                    Backend::Redis { connection: Box::new(connection) }
                }
            };
            by_label.insert(label, Arc::new(backend));
        }
        Ok(Self { by_label })
    }

    pub fn labels(&self) -> impl Iterator<Item = &str> {
        self.by_label.keys().map(String::as_str)
    }

    fn get(&self, label: &str) -> Option<Arc<Backend>> {
        self.by_label.get(label).cloned()
    }
}

fn table(name: &str) -> redb::TableDefinition<'_, &'static str, &'static [u8]> {
    redb::TableDefinition::new(name)
}

/// Run `read` on the label's table in a read transaction, off the async threads; a table
/// that was never written reads as `empty`.
async fn read_table<T: Send + 'static>(
    db: &Arc<redb::Database>,
    name: &str,
    empty: T,
    read: impl FnOnce(&redb::ReadOnlyTable<&'static str, &'static [u8]>) -> anyhow::Result<T> + Send + 'static,
) -> anyhow::Result<T> {
    let (db, name) = (db.clone(), name.to_string());
    tokio::task::spawn_blocking(move || {
        let txn = db.begin_read()?;
        match txn.open_table(table(&name)) {
            Ok(t) => read(&t),
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(empty),
            Err(e) => Err(e.into()),
        }
    })
    .await?
}

/// Run `write` on the label's table in a committed write transaction, off the async threads.
async fn write_table(
    db: &Arc<redb::Database>,
    name: &str,
    write: impl FnOnce(&mut redb::Table<&'static str, &'static [u8]>) -> anyhow::Result<()> + Send + 'static,
) -> anyhow::Result<()> {
    let (db, name) = (db.clone(), name.to_string());
    tokio::task::spawn_blocking(move || {
        let txn = db.begin_write()?;
        write(&mut txn.open_table(table(&name))?)?;
        txn.commit()?;
        Ok(())
    })
    .await?
}

impl Backend {
    async fn get(&self, key: String) -> anyhow::Result<Option<Vec<u8>>> {
        match self {
            Backend::Disk { db, table } => {
                read_table(db, table, None, move |t| Ok(t.get(key.as_str())?.map(|v| v.value().to_vec()))).await
            }
            Backend::Redis { connection } => Ok(connection.clone().get(key).await?),
        }
    }

    async fn set(&self, key: String, value: Vec<u8>) -> anyhow::Result<()> {
        match self {
            Backend::Disk { db, table } => {
                write_table(db, table, move |t| {
                    t.insert(key.as_str(), value.as_slice())?;
                    Ok(())
                })
                .await
            }
            Backend::Redis { connection } => Ok(connection.clone().set(key, value).await?),
        }
    }

    async fn delete(&self, key: String) -> anyhow::Result<()> {
        match self {
            Backend::Disk { db, table } => {
                write_table(db, table, move |t| {
                    t.remove(key.as_str())?;
                    Ok(())
                })
                .await
            }
            Backend::Redis { connection } => Ok(connection.clone().del(key).await?),
        }
    }

    async fn keys(&self) -> anyhow::Result<Vec<String>> {
        match self {
            Backend::Disk { db, table } => {
                read_table(db, table, Vec::new(), |t| {
                    let mut keys = Vec::new();
                    for entry in t.iter()? {
                        keys.push(entry?.0.value().to_string());
                    }
                    Ok(keys)
                })
                .await
            }
            Backend::Redis { connection } => {
                let mut conn = connection.clone();
                let mut keys = Vec::new();
                let mut iter: redis::AsyncIter<String> = conn.scan().await?;
                while let Some(key) = iter.next_item().await {
                    keys.push(key);
                }
                Ok(keys)
            }
        }
    }
}
