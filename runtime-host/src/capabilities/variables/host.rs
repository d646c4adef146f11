use crate::bindings::variables::{Error, Host};
use crate::manifest::template::check_variable_name;
use crate::state::InstanceState;

impl Host for InstanceState {
    async fn get(&mut self, name: String) -> wasmtime::Result<Result<String, Error>> {
        if let Err(reason) = check_variable_name(&name) {
            return Ok(Err(Error::InvalidName(reason)));
        }
        Ok(self
            .component
            .variables
            .get(&name)
            .cloned()
            .ok_or_else(|| Error::Undefined(format!("no variable for {name:?}"))))
    }
}
