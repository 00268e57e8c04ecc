//! `kspm collect --redact`: snapshots that keep every object's structure and key names, and every
//! value a check reads, but none of the values written into environment variables, ConfigMaps,
//! probe headers or command-line credentials.
//!
//! A snapshot is sensitive: without redaction it holds ConfigMap values, environment literals and
//! command lines as the cluster has them (Secret values are never read). A value is replaced by
//! its `credentials::stand_in`, which answers every credential test as the value did, so a
//! redacted snapshot gives the same findings as the full one; tests hold it to that on every
//! check's cases and on the demo fleet.
//!
//! Kept as written: annotations that are not credentials (checks read them: load-balancer
//! schemes, ingress snippets), labels, names, images, command lines apart from credential flags
//! (control-plane and controller flags are graded), and the ConfigMap keys checks parse
//! (`CONFIGMAP_VALUES_READ`, `CONFIGMAP_SETTINGS_READ`), which hold configuration and
//! identities, not secrets. Shell scripts passed as one argument (`sh -c "..."`) are kept: a
//! credential inside one is out of reach of both the checks and the redaction.

use crate::credentials::{
    command_values, credential_name, credential_value, kubeconfig_like, stand_in,
};
use crate::parse::LAST_APPLIED_ANNOTATION;
use serde_json::{Map, Value};

/// ConfigMap values checks parse, by (namespace, name, key): aws-auth's mappings, kubeadm's
/// ClusterConfiguration, kube-proxy's configuration. They hold identities and settings; they
/// are kept as written in those ConfigMaps only.
pub const CONFIGMAP_VALUES_READ: &[(&str, &str, &str)] = &[
    ("kube-system", "aws-auth", "mapRoles"),
    ("kube-system", "aws-auth", "mapUsers"),
    ("kube-system", "aws-auth", "mapAccounts"),
    ("kube-system", "kubeadm-config", "ClusterConfiguration"),
    ("kube-system", "kube-proxy", "config.conf"),
];

/// ingress-nginx settings checks read from the controller's ConfigMap (whichever its
/// `--configmap` flag names): words such as `true` or `High`, kept in every ConfigMap.
pub const CONFIGMAP_SETTINGS_READ: &[&str] =
    &["allow-snippet-annotations", "annotations-risk-level"];

/// Redacts one object as read from the API server (any kind; a `List` item by item).
pub fn redact_object(object: &mut Value) {
    let Value::Object(map) = object else { return };
    if let Some(Value::Array(items)) = map.get_mut("items") {
        items.iter_mut().for_each(redact_object);
    }
    let kind = map.get("kind").and_then(Value::as_str).unwrap_or("");
    match kind {
        "ConfigMap" => {
            let meta = |f: &str| {
                map.get("metadata")
                    .and_then(|m| m.get(f))
                    .and_then(Value::as_str)
                    .unwrap_or("")
                    .to_string()
            };
            let (namespace, name) = (meta("namespace"), meta("name"));
            if let Some(Value::Object(data)) = map.get_mut("data") {
                for (k, v) in data.iter_mut() {
                    let read = CONFIGMAP_SETTINGS_READ.contains(&k.as_str())
                        || CONFIGMAP_VALUES_READ
                            .iter()
                            .any(|(ns, n, key)| *ns == namespace && *n == name && key == k);
                    if let Value::String(s) = v {
                        if !read {
                            *s = stand_in(s).into_owned();
                        }
                    }
                }
            }
            blank_values(map.get_mut("binaryData"));
        }
        "Secret" => {
            blank_values(map.get_mut("data"));
            blank_values(map.get_mut("stringData"));
        }
        _ => {}
    }
    redact_tree(object);
}

/// Every value of a mapping becomes empty (the keys stay).
fn blank_values(field: Option<&mut Value>) {
    if let Some(Value::Object(m)) = field {
        m.values_mut()
            .for_each(|v| *v = Value::String(String::new()));
    }
}

/// Walks the object: metadata (of the object and of pod templates) and containers wherever
/// they sit (Pods, workload templates, CronJob job templates).
fn redact_tree(v: &mut Value) {
    match v {
        Value::Object(map) => {
            if let Some(Value::Object(meta)) = map.get_mut("metadata") {
                redact_metadata(meta);
            }
            for list in ["containers", "initContainers", "ephemeralContainers"] {
                if let Some(Value::Array(cs)) = map.get_mut(list) {
                    cs.iter_mut().for_each(redact_container);
                }
            }
            for (k, child) in map.iter_mut() {
                if !matches!(
                    k.as_str(),
                    "metadata" | "containers" | "initContainers" | "ephemeralContainers"
                ) {
                    redact_tree(child);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact_tree),
        _ => {}
    }
}

fn redact_metadata(meta: &mut Map<String, Value>) {
    if let Some(Value::Object(ann)) = meta.get_mut("annotations") {
        // kubectl's copy of the object as applied: its values are the object's own.
        ann.remove(LAST_APPLIED_ANNOTATION);
        for v in ann.values_mut() {
            if let Value::String(s) = v {
                if credential_value(s) || kubeconfig_like(s) {
                    *s = stand_in(s).into_owned();
                }
            }
        }
    }
}

fn redact_container(c: &mut Value) {
    for e in c
        .get_mut("env")
        .and_then(Value::as_array_mut)
        .into_iter()
        .flatten()
    {
        if let Some(Value::String(s)) = e.get_mut("value") {
            *s = stand_in(s).into_owned();
        }
    }
    for field in ["command", "args"] {
        if let Some(Value::Array(words)) = c.get_mut(field) {
            redact_command_line(words);
        }
    }
    // Probes and lifecycle hooks: their exec command lines lose credential flags like the
    // container's, their HTTP header values are replaced (no check reads either).
    for handler in [
        "/livenessProbe",
        "/readinessProbe",
        "/startupProbe",
        "/lifecycle/postStart",
        "/lifecycle/preStop",
    ] {
        if let Some(Value::Array(words)) = c.pointer_mut(&format!("{handler}/exec/command")) {
            redact_command_line(words);
        }
        for h in c
            .pointer_mut(&format!("{handler}/httpGet/httpHeaders"))
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            if let Some(Value::String(s)) = h.get_mut("value") {
                *s = stand_in(s).into_owned();
            }
        }
    }
}

/// `--password=…`, `--token …` and words that are tokens: the values the credential check
/// judges (`credentials::command_values`, read once for both), each replaced by its stand-in
/// when the check would look at it as a credential; every other word is kept.
fn redact_command_line(words: &mut [Value]) {
    let text: Vec<String> = words
        .iter()
        .map(|v| v.as_str().unwrap_or("").to_string())
        .collect();
    let views: Vec<&str> = text.iter().map(String::as_str).collect();
    for v in command_values(&views) {
        let credential = v.flag.is_none_or(credential_name) || credential_value(v.value);
        if credential && words[v.word].is_string() {
            words[v.word] = Value::String(format!("{}{}", v.prefix, stand_in(v.value)));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const CANARY: &str = "CanaryValue42";

    #[test]
    fn values_go_and_structure_stays() {
        let mut d = json!({"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "d", "annotations": {
                "kubectl.kubernetes.io/last-applied-configuration": format!("{{\"x\":\"{CANARY}\"}}"),
                "example.com/key": format!("ghp_{CANARY}0123456789"),
                "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing"}},
            "spec": {"template": {"spec": {
                "initContainers": [{"name": "i", "args": ["--password", CANARY, "--log-level", "debug"]}],
                "containers": [{"name": "c", "image": "nginx:1.27",
                    "command": ["server", format!("--token={CANARY}"), "--tls-key=/certs/key", format!("ghp_{CANARY}0123456789")],
                    "env": [{"name": "DB_PASSWORD", "value": CANARY}, {"name": "MODE", "value": CANARY},
                            {"name": "REF", "value": "$(OTHER)"}, {"name": "S", "valueFrom": {"secretKeyRef": {"name": "s", "key": "k"}}}],
                    "livenessProbe": {"httpGet": {"path": "/healthz", "httpHeaders": [{"name": "Authorization", "value": CANARY}]}}}]}}}});
        redact_object(&mut d);
        let text = d.to_string();
        assert!(!text.contains(CANARY), "{text}");
        assert!(!text.contains("last-applied"), "{text}");
        let c = &d["spec"]["template"]["spec"]["containers"][0];
        assert_eq!(c["env"][0]["name"], "DB_PASSWORD");
        assert_eq!(c["env"][0]["value"], "<redacted>");
        assert_eq!(c["env"][2]["value"], "$(OTHER)");
        assert_eq!(c["env"][3]["valueFrom"]["secretKeyRef"]["name"], "s");
        assert_eq!(c["command"][0], "server");
        assert_eq!(c["command"][1], "--token=<redacted>");
        assert_eq!(c["command"][2], "--tls-key=/certs/key");
        assert_eq!(c["image"], "nginx:1.27");
        let i = &d["spec"]["template"]["spec"]["initContainers"][0];
        assert_eq!(
            i["args"],
            json!(["--password", "<redacted>", "--log-level", "debug"])
        );
        assert_eq!(
            d["metadata"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-scheme"],
            "internet-facing"
        );
    }

    #[test]
    fn configmaps_keep_the_keys_checks_parse() {
        let mut cm = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "aws-auth", "namespace": "kube-system"},
            "data": {"mapRoles": "- rolearn: arn:aws:iam::111122223333:role/n\n  groups: [system:masters]\n",
                     "app.properties": format!("db.password={CANARY}\nmode=fast\n"), "empty": ""},
            "binaryData": {"blob": "Q2FuYXJ5VmFsdWU0Mg=="}});
        redact_object(&mut cm);
        assert!(cm["data"]["mapRoles"]
            .as_str()
            .expect("kept")
            .contains("system:masters"));
        assert_eq!(cm["data"]["app.properties"], "<redacted>\n");
        assert_eq!(cm["data"]["empty"], "");
        assert_eq!(cm["binaryData"]["blob"], "");
        // The same key in an application's ConfigMap is an ordinary value.
        let mut app = json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "app", "namespace": "shop"},
            "data": {"config.conf": format!("password={CANARY}"), "mapRoles": CANARY, "annotations-risk-level": "Critical"}});
        redact_object(&mut app);
        assert!(!app.to_string().contains(CANARY), "{app}");
        assert_eq!(app["data"]["annotations-risk-level"], "Critical");
    }

    #[test]
    fn hook_and_probe_commands_lose_their_credentials() {
        let mut p = json!({"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c",
            "readinessProbe": {"exec": {"command": ["mysqladmin", "ping", format!("--password={CANARY}")]}},
            "lifecycle": {"preStop": {"exec": {"command": ["-----BEGIN RSA PRIVATE KEY-----CanaryValue42"]}},
                          "postStart": {"httpGet": {"path": "/", "port": 80, "httpHeaders": [{"name": "X-Token", "value": CANARY}]}}}}]}});
        redact_object(&mut p);
        let text = p.to_string();
        assert!(
            !text.contains(CANARY) && !text.contains("CanaryValue42"),
            "{text}"
        );
        assert!(text.contains("mysqladmin"));
    }

    #[test]
    fn lists_are_redacted_item_by_item() {
        let mut list = json!({"kind": "List", "items": [
            {"kind": "Secret", "metadata": {"name": "s"}, "data": {"k": "Q2FuYXJ5VmFsdWU0Mg=="}},
            {"kind": "Pod", "metadata": {"name": "p"}, "spec": {"containers": [{"name": "c", "env": [{"name": "X", "value": CANARY}]}]}}]});
        redact_object(&mut list);
        assert_eq!(list["items"][0]["data"]["k"], "");
        assert_eq!(
            list["items"][1]["spec"]["containers"][0]["env"][0]["value"],
            "<redacted>"
        );
    }
}
