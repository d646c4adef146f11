//! Component variables read into typed settings. Defaults live in spin.toml, once: a variable
//! a component reads must be there, and a missing or malformed one is an error that names it.

use std::fmt::Display;
use std::str::FromStr;

/// A variable that is missing or malformed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    #[error("variable `{name}` is not set: {reason}")]
    Missing { name: &'static str, reason: String },
    #[error("variable `{name}`: {value:?} is not {expected}: {reason}")]
    Malformed { name: &'static str, value: String, expected: &'static str, reason: String },
}

/// Where variables come from: Spin's variables interface in a component, a map in tests.
pub trait Source {
    /// The value of `name`, or why there is none.
    fn get(&self, name: &str) -> Result<String, String>;
}

/// The component's own variables (`[component.<id>.variables]` in spin.toml).
pub struct SpinVariables;

impl Source for SpinVariables {
    fn get(&self, name: &str) -> Result<String, String> {
        spin_sdk::variables::get(name).map_err(|e| e.to_string())
    }
}

impl Source for std::collections::BTreeMap<&str, &str> {
    fn get(&self, name: &str) -> Result<String, String> {
        self.get(name).map(|v| v.to_string()).ok_or_else(|| "no such variable".to_string())
    }
}

/// Reads variables from a source, each with the error a person can act on.
pub struct Variables<S: Source = SpinVariables>(pub S);

impl Variables<SpinVariables> {
    pub fn spin() -> Self {
        Self(SpinVariables)
    }
}

impl<S: Source> Variables<S> {
    /// A variable as text; it may be empty.
    pub fn text(&self, name: &'static str) -> Result<String, ConfigError> {
        self.0.get(name).map_err(|reason| ConfigError::Missing { name, reason })
    }

    /// A variable that must not be empty.
    pub fn required(&self, name: &'static str) -> Result<String, ConfigError> {
        let value = self.text(name)?;
        if value.trim().is_empty() {
            return Err(ConfigError::Missing { name, reason: "it is empty".into() });
        }
        Ok(value)
    }

    /// A variable whose empty value means "none".
    pub fn optional<T: FromStr>(&self, name: &'static str, expected: &'static str) -> Result<Option<T>, ConfigError>
    where
        T::Err: Display,
    {
        let value = self.text(name)?;
        if value.trim().is_empty() {
            return Ok(None);
        }
        parse(name, &value, expected).map(Some)
    }

    /// A variable parsed as `T` (`expected` says what it should be, for the error).
    pub fn parsed<T: FromStr>(&self, name: &'static str, expected: &'static str) -> Result<T, ConfigError>
    where
        T::Err: Display,
    {
        parse(name, &self.required(name)?, expected)
    }
}

fn parse<T: FromStr>(name: &'static str, value: &str, expected: &'static str) -> Result<T, ConfigError>
where
    T::Err: Display,
{
    value.trim().parse().map_err(|e: T::Err| ConfigError::Malformed {
        name,
        value: value.to_string(),
        expected,
        reason: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn errors_name_the_variable() {
        let v = Variables(BTreeMap::from([("rate", "ten"), ("empty", " "), ("n", "7")]));
        assert_eq!(v.parsed::<u32>("n", "a whole number"), Ok(7));
        let e = v.parsed::<f64>("rate", "a number").unwrap_err().to_string();
        assert!(e.contains("`rate`") && e.contains("\"ten\"") && e.contains("a number"), "{e}");
        assert!(v.required("empty").unwrap_err().to_string().contains("`empty` is not set: it is empty"));
        assert!(v.required("absent").unwrap_err().to_string().contains("`absent`"));
        assert_eq!(v.optional::<u32>("empty", "a whole number"), Ok(None));
    }
}
