//! The RBAC the live collector needs: `deploy/collector-rbac.yaml`, which `kspm collector-rbac`
//! prints and the Terraform module `kubernetes-collector-rbac` applies.

/// The manifest as shipped.
const MANIFEST: &str = include_str!("../../../deploy/collector-rbac.yaml");

/// The collector's ClusterRole and binding. Without `kubelet_config`, the one rule that is more
/// than a read — `get` on `nodes/proxy`, which reaches every kubelet endpoint a GET reaches,
/// `/exec` and `/attach` over WebSocket included — is left out; run the collector with
/// `--no-kubelet-config` then (the kubelet checks report "not assessable").
pub fn collector_rbac(kubelet_config: bool) -> String {
    if kubelet_config {
        return MANIFEST.to_string();
    }
    // A rule is its comment lines, its `- ` line and the indented lines after it.
    let lines: Vec<&str> = MANIFEST.lines().collect();
    let mut out = Vec::with_capacity(lines.len());
    let mut i = 0;
    while i < lines.len() {
        let start = i;
        let mut j = i;
        while j < lines.len() && lines[j].starts_with('#') {
            j += 1;
        }
        if j < lines.len() && lines[j].starts_with("- ") {
            let mut end = j + 1;
            while end < lines.len() && lines[end].starts_with("  ") {
                end += 1;
            }
            let rule = &lines[start..end];
            if !rule.iter().any(|l| l.trim() == "resources: [nodes/proxy]") {
                out.extend_from_slice(rule);
            }
            i = end;
        } else {
            // Comment lines before no rule, or one line that is neither (`---`, a key).
            let next = j.max(start + 1);
            out.extend_from_slice(&lines[start..next]);
            i = next;
        }
    }
    let mut text = out.join("\n");
    text.push('\n');
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use kspm_engine::parse::{parse_text, Syntax};

    fn rules(text: &str) -> Vec<serde_json::Value> {
        let parsed = parse_text(text, "collector-rbac.yaml", Syntax::Yaml);
        assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
        let kinds: Vec<&str> = parsed.objects.iter().map(|o| o.kind.as_str()).collect();
        assert_eq!(kinds, ["ClusterRole", "ClusterRoleBinding"]);
        parsed.objects[0].body["rules"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    #[test]
    fn the_kubelet_rule_is_left_out_on_request_and_nothing_else() {
        let full = rules(&collector_rbac(true));
        let lean = rules(&collector_rbac(false));
        let proxy = |r: &serde_json::Value| r["resources"].to_string().contains("nodes/proxy");
        assert!(full.iter().any(proxy));
        assert!(!lean.iter().any(proxy));
        assert_eq!(lean.len() + 1, full.len());
        let others: Vec<_> = full.into_iter().filter(|r| !proxy(r)).collect();
        assert_eq!(others, lean, "every other rule kept as it is");
        assert!(
            !collector_rbac(false).contains("configz"),
            "its comment goes too"
        );
        // No rule of the collector writes anything.
        for r in &lean {
            for v in r["verbs"].as_array().into_iter().flatten() {
                assert!(matches!(v.as_str(), Some("get" | "list" | "watch")), "{r}");
            }
        }
    }
}
