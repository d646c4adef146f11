//! `{{ name }}` templates, as Spin uses them in component variables and outbound hosts.

/// One piece of a template.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable(String),
}

/// A parsed template string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Template {
    parts: Vec<Part>,
}

impl Template {
    /// Parse `text`; fails on an unclosed `{{` or an empty or badly named reference.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut parts = Vec::new();
        let mut rest = text;
        while let Some(start) = rest.find("{{") {
            if start > 0 {
                parts.push(Part::Literal(rest[..start].to_string()));
            }
            let after = &rest[start + 2..];
            let end = after.find("}}").ok_or_else(|| format!("unclosed `{{{{` in template {text:?}"))?;
            let name = after[..end].trim();
            check_variable_name(name).map_err(|e| format!("in template {text:?}: {e}"))?;
            parts.push(Part::Variable(name.to_string()));
            rest = &after[end + 2..];
        }
        if !rest.is_empty() {
            parts.push(Part::Literal(rest.to_string()));
        }
        Ok(Self { parts })
    }

    /// Names of the variables the template refers to.
    pub fn references(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|p| match p {
            Part::Variable(name) => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Substitute every reference with `lookup`; the first missing name is the error.
    pub fn render(&self, lookup: impl Fn(&str) -> Option<String>) -> Result<String, String> {
        let mut out = String::new();
        for part in &self.parts {
            match part {
                Part::Literal(s) => out.push_str(s),
                Part::Variable(name) => {
                    out.push_str(&lookup(name).ok_or_else(|| name.clone())?);
                }
            }
        }
        Ok(out)
    }
}

/// Spin's rule for variable names: lowercase ASCII letters, digits and `_`, starting with a letter.
pub fn check_variable_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("empty variable name".into()),
        Some(c) if !c.is_ascii_lowercase() => return Err(format!("variable name {name:?} must start with a lowercase letter")),
        _ => {}
    }
    if let Some(bad) = chars.find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_')) {
        return Err(format!("variable name {name:?} may hold only lowercase letters, digits and `_`, not {bad:?}"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_references_and_literals() {
        let t = Template::parse("postgres://{{ host }}:{{port}}/db").unwrap();
        assert_eq!(t.references().collect::<Vec<_>>(), ["host", "port"]);
        let out = t
            .render(|n| match n {
                "host" => Some("127.0.0.1".into()),
                "port" => Some("5432".into()),
                _ => None,
            })
            .unwrap();
        assert_eq!(out, "postgres://127.0.0.1:5432/db");
    }

    #[test]
    fn reports_missing_reference() {
        let t = Template::parse("{{ a }}-{{ b }}").unwrap();
        assert_eq!(t.render(|n| (n == "a").then(|| "x".into())), Err("b".to_string()));
    }

    #[test]
    fn rejects_bad_templates() {
        assert!(Template::parse("{{ open").unwrap_err().contains("unclosed"));
        assert!(Template::parse("{{ Upper }}").unwrap_err().contains("lowercase"));
        assert!(Template::parse("{{ }}").unwrap_err().contains("empty"));
        assert!(Template::parse("{{ a-b }}").unwrap_err().contains("'-'"));
    }
}
