use super::VariablesState;
use crate::bindings::variables::{Error, Host};
use crate::manifest::template::check_variable_name;

impl Host for VariablesState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Err(reason) = check_variable_name(&name) {
            return Ok(Err(Error::InvalidName(reason)));
        }
        Ok(self.values.get(&name).cloned().ok_or_else(|| Error::Undefined(format!("no variable for {name:?}"))))
    }
}
