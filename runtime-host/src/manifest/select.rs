//! `--components`: serve part of an application. A process that runs one bounded context (its
//! worker scaled apart from the rest), or a benchmark of one component without the others
//! competing for the CPU, loads the same manifest with only the named components and the
//! triggers that call them.

use super::{LoadedManifest, ManifestError};

/// Keep the components named in `wanted` and the triggers of those; an unknown name is refused
/// with the names the manifest has.
pub fn keep_only(loaded: &mut LoadedManifest, wanted: &[String]) -> Result<(), ManifestError> {
    let m = &mut loaded.manifest;
    if let Some(unknown) = wanted.iter().find(|w| !m.components.contains_key(*w)) {
        let known: Vec<&str> = m.components.keys().map(String::as_str).collect();
        return Err(ManifestError::Invalid {
            file: loaded.path.clone(),
            location: "--components".into(),
            message: format!("no component `{unknown}` in the manifest (it has {})", known.join(", ")),
        });
    }
    let kept = |component: &String| wanted.contains(component);
    m.components.retain(|id, _| kept(id));
    let t = &mut m.triggers;
    t.http.retain(|x| kept(&x.component));
    t.kafka.retain(|x| kept(&x.component));
    t.cron.retain(|x| kept(&x.component));
    t.redis.retain(|x| kept(&x.component));
    t.websocket.retain(|x| kept(&x.component));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> LoadedManifest {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../spin.toml");
        crate::manifest::load(std::path::Path::new(path)).expect("the repository's manifest loads")
    }

    #[test]
    fn only_the_named_components_and_their_triggers_stay() {
        let mut m = manifest();
        keep_only(&mut m, &["battle-worker".to_string(), "battle-api".to_string()]).unwrap();
        let ids: Vec<&String> = m.manifest.components.keys().collect();
        assert_eq!(ids, ["battle-api", "battle-worker"]);
        let t = &m.manifest.triggers;
        assert_eq!(t.kafka.iter().map(|k| k.component.as_str()).collect::<Vec<_>>(), ["battle-worker"]);
        assert!(t.cron.iter().all(|c| c.component == "battle-worker") && !t.cron.is_empty(), "the battle tick stays");
        assert!(t.http.iter().all(|h| h.component == "battle-api") && !t.http.is_empty());
        assert!(t.websocket.is_empty() && t.redis.is_empty());
    }

    #[test]
    fn an_unknown_component_is_refused_with_the_names_there_are() {
        let err = keep_only(&mut manifest(), &["battle-wroker".to_string()]).unwrap_err().to_string();
        assert!(err.contains("--components") && err.contains("battle-wroker") && err.contains("battle-worker"), "{err}");
    }
}
