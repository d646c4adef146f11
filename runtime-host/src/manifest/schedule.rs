//! Cron schedules: six fields, second first, as Spin's cron trigger reads them.

use std::str::FromStr;

/// Parse a 6-field cron expression (second minute hour day-of-month month day-of-week).
pub fn parse_schedule(expression: &str) -> Result<cron::Schedule, String> {
    let fields = expression.split_whitespace().count();
    if fields != 6 {
        return Err(format!("{expression:?} has {fields} fields; use 6: second minute hour day-of-month month day-of-week"));
    }
    cron::Schedule::from_str(expression).map_err(|e| format!("{expression:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn six_fields_are_required() {
        assert!(parse_schedule("*/5 * * * * *").is_ok());
        assert!(parse_schedule("*/5 * * * *").unwrap_err().contains("has 5 fields"));
        assert!(parse_schedule("61 * * * * *").is_err());
    }
}
