//! Large values of a batch, sent to Postgres beside its rows.
//!
//! A batch's rows go to Postgres as one JSON array read with `json_to_recordset`, one statement
//! for the whole batch. Postgres reads JSON at about 100 MB/s, though, and with kilobytes of ESI
//! body, document and event embedded in every row, reading the array was most of the time of
//! enrichment's write (issue #11; `auto_explain`: 37 of 49 ms for 211 killmails). So each large
//! column goes as a parameter of its own instead: its values joined by the ASCII record
//! separator, which compact JSON never contains (inside strings, control characters are
//! escaped). The statement splits it with `string_to_table($n, E'\x1e')`, a byte search, and
//! `ROWS FROM` zips the columns with the rows by position:
//!
//! ```sql
//! FROM ROWS FROM (json_to_recordset($1::text::json) AS (id bigint, version int),
//!                 string_to_table($2::text, E'\x1e'), string_to_table($3::text, E'\x1e'))
//!      AS x(id, version, body, event)
//! ```
//!
//! An empty value stands for SQL NULL (read it with `NULLIF(big.body, '')`): no JSON text is
//! empty, and `string_to_table` gives no row at all for an empty parameter, which `ROWS FROM`
//! fills with NULL.

/// What separates the values of a [`Column`].
pub const SEPARATOR: char = '\u{1e}';

/// A value that cannot travel in a [`Column`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{column} value of row {row} contains the record separator U+001E (compact JSON never does)")]
pub struct SeparatorInValue {
    pub column: &'static str,
    pub row: usize,
}

/// One large column of a batch: its values joined by [`SEPARATOR`], in row order.
#[derive(Debug, Clone)]
pub struct Column {
    name: &'static str,
    text: String,
    rows: usize,
}

impl Column {
    /// An empty column; `name` is what an error calls it.
    pub fn new(name: &'static str) -> Self {
        Self { name, text: String::new(), rows: 0 }
    }

    /// Append the next row's value (`None`: SQL NULL).
    pub fn push(&mut self, value: Option<&str>) -> Result<(), SeparatorInValue> {
        let value = value.unwrap_or_default();
        if value.contains(SEPARATOR) {
            return Err(SeparatorInValue { column: self.name, row: self.rows });
        }
        if self.rows > 0 {
            self.text.push(SEPARATOR);
        }
        self.text.push_str(value);
        self.rows += 1;
        Ok(())
    }

    /// The parameter to bind.
    pub fn into_text(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What `string_to_table(text, E'\x1e')` gives back (empty text: no rows).
    fn split(text: &str) -> Vec<&str> {
        if text.is_empty() {
            Vec::new()
        } else {
            text.split(SEPARATOR).collect()
        }
    }

    #[test]
    fn values_come_back_in_order_with_nulls_as_empty() {
        let mut c = Column::new("body");
        c.push(Some(r#"{"a":1}"#)).unwrap();
        c.push(None).unwrap();
        c.push(Some(r#"["x\u001e"]"#)).unwrap();
        assert_eq!(split(&c.into_text()), vec![r#"{"a":1}"#, "", r#"["x\u001e"]"#]);
    }

    #[test]
    fn a_value_holding_the_separator_is_refused_with_its_column_and_row() {
        let mut c = Column::new("event");
        c.push(Some("{}")).unwrap();
        let e = c.push(Some("{\"a\":\"\u{1e}\"}")).unwrap_err();
        assert_eq!(e, SeparatorInValue { column: "event", row: 1 });
        assert!(e.to_string().contains("event value of row 1"), "{e}");
    }

    #[test]
    fn compact_json_never_holds_the_separator() {
        let text = serde_json::to_string(&serde_json::json!({"name": "a\u{1e}b", "list": ["\u{1e}"]})).unwrap();
        let mut c = Column::new("document");
        c.push(Some(&text)).unwrap();
        assert!(text.contains("\\u001e"), "serde_json escapes it: {text}");
    }
}
