//! Report renderers: human table, JSON and SARIF. Pure functions from a [`Report`] to text.

pub mod access;
pub mod catalogue;
pub mod compliance;
pub mod json;
pub mod paths;
pub mod sarif;
pub mod table;
pub mod techniques;

use crate::report::Report;
use std::str::FromStr;

/// Output formats of `kspm scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Human-readable table grouped by severity.
    Table,
    /// The report as JSON (see `docs/report.schema.json`).
    Json,
    /// SARIF 2.1.0 for code-scanning platforms.
    Sarif,
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "table" => Ok(Format::Table),
            "json" => Ok(Format::Json),
            "sarif" => Ok(Format::Sarif),
            other => Err(format!(
                "unknown format `{other}` (expected table, json or sarif)"
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
    }
}
