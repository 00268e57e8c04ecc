//! `kspm techniques list`: the technique catalogue.

use crate::graph::techniques::CATALOGUE;
use serde_json::json;
use std::fmt::Write;

/// Table or JSON of every technique with its section, precondition and whether it is built.
pub fn list(as_json: bool) -> String {
    if as_json {
        let v: Vec<_> = CATALOGUE
            .iter()
            .filter(|t| t.section != 0)
            .map(|t| json!({"id": t.id.id(), "section": t.section, "precondition": t.precondition, "likelihood": t.likelihood, "implemented": t.implemented}))
            .collect();
        let mut s = serde_json::to_string_pretty(&v).unwrap_or_else(|_| "[]".into());
        s.push('\n');
        return s;
    }
    let mut out = String::new();
    for t in CATALOGUE.iter().filter(|t| t.section != 0) {
        let _ = writeln!(
            out,
            "{:<24} §{}  {}{}",
            t.id.id(),
            t.section,
            t.precondition,
            if t.implemented {
                ""
            } else {
                "  [needs cloud data: not built yet]"
            }
        );
    }
    out
}
