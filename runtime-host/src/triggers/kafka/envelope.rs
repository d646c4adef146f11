//! Validation of BattleScope event envelopes against the JSON Schemas in the repository
//! (`schemas/events/<eventType>.schema.json`), before a component sees the message.

use anyhow::Context;
use std::collections::BTreeMap;
use std::path::Path;

pub struct EnvelopeValidator {
    by_type: BTreeMap<String, jsonschema::Validator>,
}

impl EnvelopeValidator {
    /// Load every `<eventType>.schema.json` of `dir` (the shared `envelope.schema.json` is
    /// documentation; each event schema is complete on its own).
    pub fn load(dir: &Path) -> anyhow::Result<Self> {
        let mut by_type = BTreeMap::new();
        for entry in std::fs::read_dir(dir).with_context(|| format!("reading schemas in {}", dir.display()))? {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
            let Some(event_type) = name.strip_suffix(".schema.json") else { continue };
            if event_type == "envelope" {
                continue;
            }
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            let schema: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
            let validator =
                jsonschema::validator_for(&schema).map_err(|e| anyhow::anyhow!("{}: invalid schema: {e}", path.display()))?;
            by_type.insert(event_type.to_string(), validator);
        }
        anyhow::ensure!(!by_type.is_empty(), "no *.schema.json files in {}", dir.display());
        Ok(Self { by_type })
    }

    /// Check one payload; the error says what is wrong and where.
    pub fn validate(&self, payload: Option<&[u8]>) -> Result<String, String> {
        let payload = payload.ok_or("the message has no payload")?;
        let value: serde_json::Value = serde_json::from_slice(payload).map_err(|e| format!("the payload is not JSON: {e}"))?;
        let event_type = value.get("eventType").and_then(|t| t.as_str()).ok_or("the envelope has no string `eventType`")?;
        let validator = self.by_type.get(event_type).ok_or_else(|| {
            format!("unknown eventType {event_type:?} (known: {})", self.by_type.keys().cloned().collect::<Vec<_>>().join(", "))
        })?;
        // Nearly every message is valid: `is_valid` checks without describing, and the errors'
        // messages and paths are built only for a message that is refused.
        if validator.is_valid(&value) {
            return Ok(event_type.to_string());
        }
        let errors: Vec<String> = validator
            .iter_errors(&value)
            .take(5)
            .map(|e| {
                let at = e.instance_path().to_string();
                format!("{} (at {})", e, if at.is_empty() { "/".to_string() } else { at })
            })
            .collect();
        Err(format!("{event_type} envelope fails its schema: {}", errors.join("; ")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator() -> EnvelopeValidator {
        EnvelopeValidator::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../schemas/events")).unwrap()
    }

    #[test]
    fn accepts_a_valid_probe_event_and_names_its_type() {
        let ok = br#"{"eventId":"6f1c2a9e-6a4e-4b8f-9a39-2f7f8b0a1c11","eventType":"test.probe",
                      "timestamp":"2021-11-28T10:21:00Z","data":{"key":"k","seq":1,"behaviour":"ok"}}"#;
        assert_eq!(validator().validate(Some(ok)).unwrap(), "test.probe");
    }

    #[test]
    fn rejects_with_a_message_that_says_what_and_where() {
        let v = validator();
        let bad = br#"{"eventId":"not-a-uuid","eventType":"test.probe","timestamp":"2021-11-28T10:21:00Z",
                       "data":{"key":"k","seq":-1,"behaviour":"ok"}}"#;
        let e = v.validate(Some(bad)).unwrap_err();
        assert!(e.contains("/eventId") && e.contains("/data/seq"), "{e}");
        assert!(v.validate(Some(b"{]")).unwrap_err().contains("not JSON"));
        assert!(v.validate(None).unwrap_err().contains("no payload"));
        assert!(v.validate(Some(br#"{"eventType":"nope"}"#)).unwrap_err().contains("unknown eventType"));
        let extra = br#"{"eventId":"6f1c2a9e-6a4e-4b8f-9a39-2f7f8b0a1c11","eventType":"test.probe",
                         "timestamp":"2021-11-28T10:21:00Z","data":{"key":"k","seq":1,"behaviour":"ok"},"x":1}"#;
        assert!(v.validate(Some(extra)).is_err(), "unknown envelope fields are refused");
    }
}
