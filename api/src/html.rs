//! The HTML report: one self-contained file (styles, scripts and cytoscape.js inlined, no
//! network access when opened) with the fleet overview, ranked attack paths drawn as graphs,
//! a filterable and sortable findings table and compliance tables. The live web view of
//! `kspm serve` is the same page fed from the service (see [`page`]).
//!
//! Size: findings are stored compactly (check metadata once, one array per finding). Beyond
//! [`MAX_DETAILED_FINDINGS`] the lowest-ranked findings are aggregated per check and cluster, so
//! the page stays a few MB and responsive on very large fleets; the page says so.

use kspm_engine::compliance::ComplianceSummary;
use kspm_engine::graph::explore::Explorer;
use kspm_engine::graph::fixplan::{cuts_alone, Alone, FixPlan};
use kspm_engine::graph::paths::AttackPath;
use kspm_engine::graph::AttackGraph;
use kspm_engine::Finding;
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

/// What the page shows: the report's parts in their types, and the totals, cluster summaries
/// and errors as the caller words them (a scan's report, or the live view's latest scans with
/// the extras the store keeps).
pub struct PageData<'a> {
    /// Totals.
    pub summary: Value,
    /// Cluster summaries.
    pub clusters: Value,
    /// What could not be read (the page lists the first 500).
    pub errors: Vec<Value>,
    /// Findings, in the report's order.
    pub findings: &'a [Finding],
    /// Attack paths, highest score first.
    pub paths: &'a [AttackPath],
    /// Compliance per cluster and framework.
    pub compliance: &'a [ComplianceSummary],
    /// The fix plan, when there is one.
    pub fix_plan: Option<&'a FixPlan>,
    /// What each fix cuts on its own (`fixplan::cuts_alone`), for the explorer's preview.
    pub fix_alone: Option<&'a BTreeMap<String, Alone>>,
}

/// The page's data model, from the report's parts and the explorer's graph of the fleet graph
/// they were searched in, when there is one.
pub fn model(data: &PageData<'_>, explorer: Option<&Explorer>) -> Value {
    let mut checks = Map::new();
    // Controls depend on the check and the cluster's provider: kept once per check and cluster.
    let mut controls_of = Map::new();
    let mut rows = Vec::new();
    let mut omitted: BTreeMap<(String, String), u64> = BTreeMap::new();
    for (i, f) in data.findings.iter().enumerate() {
        let check = f.check.as_ref();
        checks.entry(check.to_string()).or_insert_with(|| {
            json!({"title": f.title, "severity": f.severity.as_str(), "remediation": f.remediation})
        });
        if i >= MAX_DETAILED_FINDINGS {
            *omitted
                .entry((check.to_string(), f.cluster.clone()))
                .or_default() += 1;
            continue;
        }
        let evidence: Vec<String> = f
            .evidence
            .iter()
            .map(|e| format!("{} = {}", e.path, truncate(&e.value.to_string(), 200)))
            .collect();
        controls_of
            .entry(format!("{check}|{}", f.cluster))
            .or_insert_with(|| {
                let cs: Vec<String> = f
                    .controls
                    .iter()
                    .map(|c| format!("{}:{}", c.framework, c.id))
                    .collect();
                json!(cs.join(" "))
            });
        let source = match f.source.line {
            Some(l) => format!("{}:{l}", f.source.file),
            None => f.source.file.clone(),
        };
        let reach: Vec<String> = f
            .blast_radius
            .iter()
            .flat_map(|b| &b.reaches)
            .map(|(k, v)| format!("{k} ({v} hops)"))
            .collect();
        rows.push(json!([
            check,
            f.cluster,
            f.resource,
            f.namespace.as_deref().unwrap_or(""),
            f.message,
            f.on_attack_path,
            evidence.join("\n"),
            "",
            source,
            reach.join(", "),
        ]));
    }
    let paths: Vec<Value> = data
        .paths
        .iter()
        .map(|p| {
            json!({
                "id": p.id,
                "cluster": p.cluster,
                "source": p.source,
                "target": p.target,
                "severity": p.severity.as_str(),
                "score": p.score,
                "steps": p.steps.iter().map(|st| json!([st.from, st.to, st.technique, st.evidence])).collect::<Vec<_>>(),
                "folded": p.folded.iter().filter(|f| f.via.is_none()).map(|f| f.source.as_str()).collect::<Vec<_>>(),
                "siblings": p.folded.iter().filter(|f| f.via.is_some()).map(|f| f.source.as_str()).collect::<Vec<_>>(),
            })
        })
        .collect();
    let compliance: Vec<Value> = data
        .compliance
        .iter()
        .map(|c| {
            json!({
                "cluster": c.cluster,
                "framework": c.framework,
                "title": c.title,
                "score": c.score,
                "passed": c.controls_passed,
                "failed": c.controls_failed,
                "not_assessable": c.controls_not_assessable,
                "controls": c.controls.iter().map(|x| json!([x.id, x.title.as_deref().unwrap_or(""), x.status, x.reason.as_deref().unwrap_or(""), x.findings])).collect::<Vec<_>>(),
            })
        })
        .collect();
    let fixes = match data.fix_plan {
        Some(plan) => json!({
            "severity": plan.severity.as_str(),
            "method": plan.method,
            "cost": plan.cost,
            "lower_bound": plan.lower_bound,
            "paths": plan.paths,
            "paths_cut": plan.paths_cut,
            "clusters": plan.clusters,
            "fixes": plan.fixes.iter().map(|f| {
                let o = &f.object;
                let reference = match &o.namespace {
                    Some(ns) => format!("{}:{ns}/{}", o.kind, o.name),
                    None => format!("{}:{}", o.kind, o.name),
                };
                json!([
                    f.id,
                    o.cluster,
                    reference,
                    f.changes.join("; "),
                    f.command,
                    f.cost,
                    f.breaks,
                    f.resolves.len(),
                    f.loses,
                ])
            }).collect::<Vec<_>>(),
            "remaining": plan.remaining.iter().map(|r| json!([r.id, r.reason])).collect::<Vec<_>>(),
            "cut_steps": match plan.cut_steps.is_empty() {
                true => Value::Null,
                false => json!(plan.cut_steps),
            },
            "alone": data.fix_alone.map_or(Value::Null, |a| json!(a)),
        }),
        // No plan: the same keys, empty.
        None => json!({
            "severity": "", "method": "", "cost": null, "lower_bound": null, "paths": null,
            "paths_cut": null, "clusters": null, "fixes": [], "remaining": [], "cut_steps": null,
            "alone": data.fix_alone.map_or(Value::Null, |a| json!(a)),
        }),
    };
    let techniques: Map<String, Value> = kspm_engine::graph::techniques::CATALOGUE
        .iter()
        .map(|t| (t.id.id(), json!(t.precondition)))
        .collect();
    json!({
        "tool": format!("kspm {}", env!("CARGO_PKG_VERSION")),
        "summary": data.summary,
        "clusters": data.clusters,
        "errors": data.errors.iter().take(500).collect::<Vec<_>>(),
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
    // One path index of the graph for both: the plan's own input (every path found; the report
    // lists the first ones) and the explorer's route tables.
    let explored = graph.map(|g| {
        let index = g.index();
        let alone = cuts_alone(g, &index.attack_paths(), &report.fix_plan);
        let mut explorer = Explorer::default();
        explorer.add_indexed(g, &index);
        (alone, explorer)
    });
    let data = PageData {
        summary: to_json(&report.summary),
        clusters: to_json(&report.clusters),
        errors: report.errors.iter().map(to_json).collect(),
        findings: &report.findings,
        paths: &report.attack_paths,
        compliance: &report.compliance,
        fix_plan: Some(&report.fix_plan),
        fix_alone: explored.as_ref().map(|(alone, _)| alone),
    };
    let mut m = model(&data, None);
    if let (Some((_, explorer)), Some(obj)) = (&explored, m.as_object_mut()) {
        obj.insert("graph_deflated".into(), Value::String(deflated(explorer)));
    }
    page(&m, false)
}

/// A report part as the page's JSON.
fn to_json<T: serde::Serialize>(v: &T) -> Value {
    serde_json::to_value(v).unwrap_or(Value::Null)
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

    /// Page data of these findings and nothing else.
    fn only(findings: &[Finding]) -> PageData<'_> {
        PageData {
            summary: Value::Null,
            clusters: Value::Null,
            errors: Vec::new(),
            findings,
            paths: &[],
            compliance: &[],
            fix_plan: None,
            fix_alone: None,
        }
    }

    #[test]
    fn embedded_json_cannot_close_the_script_element() {
        let v = json!({"m": "</script><script>alert(1)</script>", "u": "a\u{2028}b"});
        let e = embed(&v);
        assert!(!e.contains("</script") && !e.contains('<') && !e.contains('\u{2028}'));
        assert_eq!(serde_json::from_str::<Value>(&e).ok(), Some(v));
    }

    #[test]
    fn large_reports_are_aggregated_beyond_the_detail_limit() {
        let findings: Vec<Finding> = (0..MAX_DETAILED_FINDINGS + 25)
            .map(|i| json!({"check": if i % 2 == 0 { "KSPM-A" } else { "KSPM-B" }, "title": "t", "cluster": "c", "resource": format!("Pod:x/{i}"), "severity": "low", "message": "m", "remediation": "r"}))
            .map(|v| serde_json::from_value(v).expect("finding"))
            .collect();
        let m = model(&only(&findings), None);
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
        assert_eq!(model(&only(&[]), None)["graph"], Value::Null);
        let m = model(&only(&[]), Some(&x));
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
