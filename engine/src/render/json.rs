//! JSON output: the report as published by `docs/report.schema.json`.

use crate::report::Report;

/// Pretty-printed JSON with a trailing newline.
pub fn render(report: &Report) -> String {
    // Serializing plain data structs into a String cannot fail (no maps with non-string keys,
    // no I/O); fall back to an empty object rather than panic if that ever changes.
    let mut s = serde_json::to_string_pretty(report).unwrap_or_else(|_| "{}".into());
    s.push('\n');
    s
}
