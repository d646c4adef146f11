use std::path::PathBuf;

/// Why a manifest was rejected. Every variant names the file and the place in it.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    #[error("cannot read manifest {file}: {source}")]
    Read { file: PathBuf, source: std::io::Error },

    #[error("{file}: malformed manifest: {message}")]
    Syntax { file: PathBuf, message: String },

    #[error("{file}: component `{component}`: {message}")]
    Component { file: PathBuf, component: String, message: String },

    #[error("{file}: component `{component}`: field `{field}`: {message}")]
    ComponentField { file: PathBuf, component: String, field: String, message: String },

    #[error("{file}: {location}: {message}")]
    Invalid { file: PathBuf, location: String, message: String },
}
