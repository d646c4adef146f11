use super::{KeyValueState, StoreHandle};
use crate::bindings::key_value::{Error, Host, HostStore, Store};
use wasmtime::component::Resource;

fn backend_error(label: &str, e: anyhow::Error) -> Error {
    Error::Other(format!("key-value store `{label}`: {e:#}"))
}

impl KeyValueState {
    fn store(&self, handle: &Resource<Store>) -> wasmtime::Result<(String, std::sync::Arc<super::Backend>)> {
        let s = self.table.get(handle)?;
        Ok((s.label.clone(), s.backend.clone()))
    }
}

impl Host for KeyValueState {}

impl HostStore for KeyValueState {
    async fn open(&mut self, label: String) -> wasmtime::Result<Result<Resource<Store>, Error>> {
        if !self.access.key_value_stores.contains(&label) {
            tracing::warn!(component = %self.access.component, store = %label,
                "component opened a key-value store it does not list in key_value_stores");
            return Ok(Err(Error::AccessDenied));
        }
        let Some(backend) = self.stores.get(&label) else {
            return Ok(Err(Error::NoSuchStore));
        };
        match self.table.push(StoreHandle { label, backend }) {
            Ok(r) => Ok(Ok(r)),
            Err(_) => Ok(Err(Error::StoreTableFull)),
        }
    }

    async fn get(&mut self, store: Resource<Store>, key: String) -> wasmtime::Result<Result<Option<Vec<u8>>, Error>> {
        let (label, backend) = self.store(&store)?;
        Ok(backend.get(key).await.map_err(|e| backend_error(&label, e)))
    }

    async fn set(&mut self, store: Resource<Store>, key: String, value: Vec<u8>) -> wasmtime::Result<Result<(), Error>> {
        let (label, backend) = self.store(&store)?;
        Ok(backend.set(key, value).await.map_err(|e| backend_error(&label, e)))
    }

    async fn delete(&mut self, store: Resource<Store>, key: String) -> wasmtime::Result<Result<(), Error>> {
        let (label, backend) = self.store(&store)?;
        Ok(backend.delete(key).await.map_err(|e| backend_error(&label, e)))
    }

    async fn exists(&mut self, store: Resource<Store>, key: String) -> wasmtime::Result<Result<bool, Error>> {
        let (label, backend) = self.store(&store)?;
        Ok(backend.get(key).await.map(|v| v.is_some()).map_err(|e| backend_error(&label, e)))
    }

    async fn get_keys(&mut self, store: Resource<Store>) -> wasmtime::Result<Result<Vec<String>, Error>> {
        let (label, backend) = self.store(&store)?;
        Ok(backend.keys().await.map_err(|e| backend_error(&label, e)))
    }

    async fn drop(&mut self, store: Resource<Store>) -> wasmtime::Result<()> {
        self.table.delete(store)?;
        Ok(())
    }
}
