//! Report renderers: human table, JSON, SARIF and OCSF. Pure functions from a [`Report`] to text.

pub mod access;
pub mod catalogue;
pub mod compliance;
pub mod fixes;
pub mod json;
pub mod ocsf;
pub mod paths;
pub mod sarif;
pub mod table;
pub mod techniques;

use crate::report::Report;
use std::str::FromStr;

/// Text for a terminal with every control character of the input made visible: names,
/// images, annotations and messages come from whoever can create an object, and a raw `\r`,
/// `ESC [2K` or `ESC [8m` would forge or hide lines. Escapes become `\x1b`, `\r`, `\u{202e}`
/// (C0 and C1 controls but newline and tab, DEL, and the bidirectional overrides); with
/// `colored`, the table's own colour sequences ([`table::PALETTE`]) pass — injecting one of
/// those only changes a colour.
pub fn terminal_safe(text: &str, colored: bool) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(c) = rest.chars().next() {
        if colored && c == '\x1b' {
            if let Some(code) = table::PALETTE.iter().find(|p| rest.starts_with(**p)) {
                out.push_str(code);
                rest = &rest[code.len()..];
                continue;
            }
        }
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if (c.is_control() && c != '\n' && c != '\t') || bidi {
            match c {
                '\r' => out.push_str("\\r"),
                c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
            }
        } else {
            out.push(c);
        }
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// JSON text with the characters serde leaves raw inside strings — DEL, the C1 controls and
/// the bidirectional overrides — written as `\uXXXX` escapes: the same JSON value, nothing a
/// terminal acts on.
pub fn json_safe(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        let bidi = matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        if ('\u{7f}'..='\u{9f}').contains(&c) || bidi {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    out
}

/// Output formats of `kspm scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table grouped by severity.
    Table,
    /// The report as JSON (see `docs/report.schema.json`).
    Json,
    /// SARIF 2.1.0 for code-scanning platforms.
    Sarif,
    /// OCSF 1.5.0 events: Compliance Findings and attack paths as Detection Findings.
    Ocsf,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            "ocsf" => Ok(Format::Ocsf),
            other => Err(format!(
                "unknown format `{other}` (expected table, json, sarif or ocsf)"
            )),
        }
    }
}

/// Renders a report. `color` adds ANSI colours (table only).
pub fn render(report: &Report, format: Format, color: bool) -> String {
    match format {
        Format::Table => table::render(report, color),
        Format::Json => json::render(report),
        Format::Sarif => sarif::render(report),
        Format::Ocsf => ocsf::render(report, now_ms()),
    }
}

/// The time now in epoch milliseconds (OCSF events are stamped with it).
fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::terminal_safe;

    #[test]
    fn control_characters_are_made_visible() {
        let forged = "web\r\x1b[2Kall clear\x1b[8mhidden\u{202e}txt\u{9b}31m\x7f";
        let safe = terminal_safe(forged, false);
        assert_eq!(
            safe,
            "web\\r\\x1b[2Kall clear\\x1b[8mhidden\\u{202e}txt\\x9b31m\\x7f"
        );
        assert!(!safe.chars().any(|c| c.is_control()));
        // Newlines and tabs stay; with colour, the table's own codes pass and others do not.
        assert_eq!(terminal_safe("a\tb\n", false), "a\tb\n");
        let colored = "\x1b[1;31mCRITICAL\x1b[0m \x1b[8mx";
        assert_eq!(
            terminal_safe(colored, true),
            "\x1b[1;31mCRITICAL\x1b[0m \\x1b[8mx"
        );
        assert_eq!(
            terminal_safe(colored, false),
            "\\x1b[1;31mCRITICAL\\x1b[0m \\x1b[8mx"
        );
    }

    #[test]
    fn json_keeps_its_value_and_loses_raw_controls() {
        let v = serde_json::json!({"name": "a\u{9b}31m\u{7f}\u{202e}b\u{1b}"});
        let text = super::json_safe(&serde_json::to_string(&v).expect("json"));
        assert!(
            !text.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{text}"
        );
        let back: serde_json::Value = serde_json::from_str(&text).expect("still JSON");
        assert_eq!(back, v);
    }
}
