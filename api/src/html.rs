//! The HTML report: one self-contained file (styles, scripts and cytoscape.js inlined, no
//! network access when opened) with the fleet overview, ranked attack paths drawn as graphs,
//! a filterable and sortable findings table and compliance tables. The live web view of
//! `kspm serve` is the same page fed from the service (see [`page`]).
//!
//! Size: findings are stored compactly (check metadata once, one array per finding). Beyond
//! [`MAX_DETAILED_FINDINGS`] the lowest-ranked findings are aggregated per check and cluster, so
//! the page stays a few MB and responsive on very large fleets; the page says so.

use crate::json::{list as arr, str_at as s};
use kspm_engine::graph::explore::Explorer;
use kspm_engine::graph::fixplan::cuts_alone;
use kspm_engine::graph::AttackGraph;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// Findings kept row by row; the rest (lowest ranked) are counted per check and cluster.
pub const MAX_DETAILED_FINDINGS: usize = 6_000;

const CYTOSCAPE: &str = include_str!(concat!(env!("OUT_DIR"), "/cytoscape.min.js"));
const TEMPLATE: &str = include_str!("../../web/src/report.html");
const STYLE: &str = include_str!("../../web/src/style.css");
const APP: &str = include_str!("../../web/src/app.js");
const EXPLORER: &str = include_str!("../../web/src/explorer.js");

fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// The page's data model, built from a report in its JSON form (`kspm scan --format json`) and
/// the explorer's graph of the fleet graph it was searched in, when there is one.
pub fn model(report: &Value, explorer: Option<&Explorer>) -> Value {
    let mut checks = Map::new();
    // Controls depend on the check and the cluster's provider: kept once per check and cluster.
    let mut controls_of = Map::new();
    let mut rows = Vec::new();
    let mut omitted: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (i, f) in arr(report, "findings").iter().enumerate() {
        let check = s(f, "check");
        checks.entry(check.to_string()).or_insert_with(|| {
            json!({"title": s(f, "title"), "severity": s(f, "severity"), "remediation": s(f, "remediation")})
        });
        if i >= MAX_DETAILED_FINDINGS {
            *omitted
                .entry((check.to_string(), s(f, "cluster").to_string()))
                .or_default() += 1;
            continue;
        }
        let evidence: Vec<String> = arr(f, "evidence")
            .iter()
            .map(|e| {
                let value = e.get("value").map(Value::to_string).unwrap_or_default();
                format!("{} = {}", s(e, "path"), truncate(&value, 200))
            })
            .collect();
        controls_of
            .entry(format!("{check}|{}", s(f, "cluster")))
            .or_insert_with(|| {
                let cs: Vec<String> = arr(f, "controls")
                    .iter()
                    .map(|c| format!("{}:{}", s(c, "framework"), s(c, "id")))
                    .collect();
                json!(cs.join(" "))
            });
        let source = f
            .get("source")
            .map(|src| match src.get("line").and_then(Value::as_u64) {
                Some(l) => format!("{}:{l}", s(src, "file")),
                None => s(src, "file").to_string(),
            })
            .unwrap_or_default();
        let reach: Vec<String> = f
            .pointer("/blast_radius/reaches")
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| format!("{k} ({v} hops)")).collect())
            .unwrap_or_default();
        rows.push(json!([
            check,
            s(f, "cluster"),
            s(f, "resource"),
            s(f, "namespace"),
            s(f, "message"),
            f.get("on_attack_path")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            evidence.join("\n"),
            "",
            source,
            reach.join(", "),
        ]));
    }
    let paths: Vec<Value> = arr(report, "attack_paths")
        .iter()
        .map(|p| {
            json!({
                "id": s(p, "id"),
                "cluster": s(p, "cluster"),
                "source": s(p, "source"),
                "target": s(p, "target"),
                "severity": s(p, "severity"),
                "score": p.get("score").and_then(Value::as_f64).unwrap_or(0.0),
                "steps": arr(p, "steps").iter().map(|st| json!([s(st, "from"), s(st, "to"), s(st, "technique"), s(st, "evidence")])).collect::<Vec<_>>(),
                "folded": arr(p, "folded").iter().filter(|f| !f.get("via").is_some_and(Value::is_object)).map(|f| s(f, "source")).collect::<Vec<_>>(),
                "siblings": arr(p, "folded").iter().filter(|f| f.get("via").is_some_and(Value::is_object)).map(|f| s(f, "source")).collect::<Vec<_>>(),
            })
        })
        .collect();
    let compliance: Vec<Value> = arr(report, "compliance")
        .iter()
        .map(|c| {
            json!({
                "cluster": s(c, "cluster"),
                "framework": s(c, "framework"),
                "title": s(c, "title"),
                "score": c.get("score"),
                "passed": c.get("controls_passed"),
                "failed": c.get("controls_failed"),
                "not_assessable": c.get("controls_not_assessable"),
                "controls": arr(c, "controls").iter().map(|x| json!([s(x, "id"), s(x, "title"), s(x, "status"), s(x, "reason"), x.get("findings")])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let plan = report.get("fix_plan").cloned().unwrap_or(Value::Null);
    let fixes = json!({
        "severity": s(&plan, "severity"),
        "method": s(&plan, "method"),
        "cost": plan.get("cost"),
        "lower_bound": plan.get("lower_bound"),
        "paths": plan.get("paths"),
        "paths_cut": plan.get("paths_cut"),
        "clusters": plan.get("clusters"),
        "fixes": arr(&plan, "fixes").iter().map(|f| {
            let o = f.get("object").cloned().unwrap_or(Value::Null);
            let reference = match o.get("namespace").and_then(Value::as_str) {
                Some(ns) => format!("{}:{ns}/{}", s(&o, "kind"), s(&o, "name")),
                None => format!("{}:{}", s(&o, "kind"), s(&o, "name")),
            };
            json!([
                s(f, "id"),
                s(&o, "cluster"),
                reference,
                arr(f, "changes").iter().filter_map(Value::as_str).collect::<Vec<_>>().join("; "),
                s(f, "command"),
                f.get("cost"),
                f.get("breaks"),
                arr(f, "resolves").len(),
                arr(f, "loses").iter().filter_map(Value::as_str).collect::<Vec<_>>(),
            ])
        }).collect::<Vec<_>>(),
        "remaining": arr(&plan, "remaining").iter().map(|r| json!([s(r, "id"), s(r, "reason")])).collect::<Vec<_>>(),
        "cut_steps": plan.get("cut_steps").cloned().unwrap_or(Value::Null),
        // What each fix cuts on its own (`fixplan::cuts_alone`), for the explorer's preview.
        "alone": report.get("fix_alone").cloned().unwrap_or(Value::Null),
    });
    let techniques: Map<String, Value> = kspm_engine::graph::techniques::CATALOGUE
        .iter()
        .map(|t| (t.id.id(), json!(t.precondition)))
        .collect();
    json!({
        "tool": format!("kspm {}", env!("CARGO_PKG_VERSION")),
        "summary": report.get("summary"),
        "clusters": report.get("clusters"),
        "errors": arr(report, "errors").iter().take(500).collect::<Vec<_>>(),
        "checks": checks,
        "controls": controls_of,
        "findings": rows,
        "omitted": omitted.into_iter().map(|((c, k), n)| json!([c, k, n])).collect::<Vec<_>>(),
        "paths": paths,
        "fixes": fixes,
        "compliance": compliance,
        "techniques": techniques,
        "graph": explorer,
    })
}

/// JSON safe to embed in a `<script>` element.
fn embed(v: &Value) -> String {
    v.to_string()
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The page with its data (`data` is [`model`]'s output, or `null` for the live view, which
/// fetches it); `live` turns on the live view's token prompt and event stream.
pub fn page(data: &Value, live: bool) -> String {
    TEMPLATE
        .replace("/*STYLE*/", STYLE)
        .replace(
            "/*CYTOSCAPE*/",
            &CYTOSCAPE.replace("</script", "<\\/script"),
        )
        .replace("/*EXPLORER*/", &EXPLORER.replace("</script", "<\\/script"))
        .replace("/*APP*/", &APP.replace("</script", "<\\/script"))
        .replace("/*MODE*/", if live { "live" } else { "static" })
        .replace("/*DATA*/", &embed(data))
}

/// The self-contained HTML report of a report, with the explorer of the fleet graph its paths
/// were searched in when given — deflated (`graph_deflated`, base64 of raw deflate, which the
/// page inflates with the browser's `DecompressionStream`): the graph's evidence texts repeat
/// much, so a 10,000-pod cluster's 9.4 MB of graph JSON travels as 0.9 MB.
pub fn render(report: &kspm_engine::Report, graph: Option<&AttackGraph>) -> String {
    let mut v = serde_json::to_value(report).unwrap_or(Value::Null);
    // One path index of the graph for both: the plan's own input (every path found; the report
    // lists the first ones) and the explorer's route tables.
    let explored = graph.map(|g| {
        let index = g.index();
        let alone = cuts_alone(g, &index.attack_paths(), &report.fix_plan);
        let mut explorer = Explorer::default();
        explorer.add_indexed(g, &index);
        (alone, explorer)
    });
    if let (Some((alone, _)), Some(obj)) = (&explored, v.as_object_mut()) {
        obj.insert("fix_alone".into(), json!(alone));
    }
    let mut m = model(&v, None);
    if let (Some((_, explorer)), Some(obj)) = (&explored, m.as_object_mut()) {
        obj.insert("graph_deflated".into(), Value::String(deflated(explorer)));
    }
    page(&m, false)
}

/// The explorer's JSON, raw-deflated and in base64.
pub fn deflated(explorer: &Explorer) -> String {
    use base64::Engine;
    use std::io::Write;
    let json = serde_json::to_vec(explorer).unwrap_or_default();
    let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
    // Writing into a Vec cannot fail.
    let _ = e.write_all(&json);
    base64::engine::general_purpose::STANDARD.encode(e.finish().unwrap_or_default())
}

/// The explorer's JSON of a page's `graph_deflated` (tests: what the page carries, readable).
pub fn inflated(text: &str) -> Option<String> {
    use base64::Engine;
    use std::io::Read;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .ok()?;
    let mut out = String::new();
    flate2::read::DeflateDecoder::new(&bytes[..])
        .read_to_string(&mut out)
        .ok()?;
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let v = json!({"m": "</script><script>alert(1)</script>", "u": "a\u{2028}b"});
        let e = embed(&v);
        assert!(!e.contains("</script") && !e.contains('<') && !e.contains('\u{2028}'));
        assert_eq!(serde_json::from_str::<Value>(&e).ok(), Some(v));
    }

    #[test]
    fn large_reports_are_aggregated_beyond_the_detail_limit() {
        let findings: Vec<Value> = (0..MAX_DETAILED_FINDINGS + 25)
            .map(|i| json!({"check": if i % 2 == 0 { "KSPM-A" } else { "KSPM-B" }, "cluster": "c", "resource": format!("Pod:x/{i}"), "severity": "low", "message": "m"}))
            .collect();
        let m = model(&json!({"findings": findings}), None);
        assert_eq!(
            m["findings"].as_array().map(Vec::len),
            Some(MAX_DETAILED_FINDINGS)
        );
        let omitted: u64 = m["omitted"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|o| o[2].as_u64())
            .sum();
        assert_eq!(omitted, 25);
        assert_eq!(truncate("ééé", 3), "é…");
    }

    #[test]
    fn the_explorer_graph_travels_with_the_model_when_there_is_one() {
        let mut g = AttackGraph::default();
        let x = Explorer::of(&g);
        assert_eq!(model(&json!({}), None)["graph"], Value::Null);
        let m = model(&json!({}), Some(&x));
        assert_eq!(m["graph"]["nodes"], json!([]));
        g.node(None, "Internet", kspm_engine::graph::NodeKind::Internet);
        let html = render(&kspm_engine::evaluate(&Default::default()), Some(&g));
        assert!(html.contains("window.KspmExplorer"));
        let start = html
            .find(r#""graph_deflated":""#)
            .expect("the graph travels")
            + 18;
        let end = start + html[start..].find('"').expect("closed");
        let graph = inflated(&html[start..end]).expect("inflates");
        assert_eq!(
            serde_json::from_str::<Value>(&graph).ok(),
            serde_json::to_value(Explorer::of(&g)).ok()
        );
        assert!(graph.contains(r#""nodes":[["Internet",-1,"#), "{graph}");
    }

    #[test]
    fn the_page_is_self_contained() {
        let html = page(&json!({"findings": []}), false);
        assert!(html.contains("cytoscape") && html.len() > 400_000);
        for external in [
            "src=\"http",
            "href=\"http",
            "src=\"//",
            "@import",
            "url(http",
        ] {
            assert!(!html.contains(external), "{external}");
        }
    }
}
