//! Objects the API server would reject for their shape: a pod spec whose `containers` is a
//! string, a container that is not a mapping, a boolean that is a string. Such an object is not
//! assessable — it is reported as an error, never graded as "allowed" or "passed".

use crate::inventory::POD_TEMPLATE_KINDS;
use crate::object::Object;
use crate::parse::LoadError;
use crate::pointer::Pointer as _;
use serde_json::Value;

/// What the error of an object that could not be assessed says after the object's reference:
/// `scan --fail-on` fails on such errors as it does on findings (an object nobody could grade
/// must not pass a gate).
pub const NOT_ASSESSABLE: &str = " is not assessable: ";

/// The JSON type a field must have.
#[derive(Clone, Copy)]
enum Ty {
    Map,
    List,
    Bool,
    Str,
    Int,
}

impl Ty {
    fn holds(self, v: &Value) -> bool {
        match self {
            Ty::Map => v.is_object(),
            Ty::List => v.is_array(),
            Ty::Bool => v.is_boolean(),
            Ty::Str => v.is_string(),
            Ty::Int => v.is_i64() || v.is_u64(),
        }
    }

    fn name(self) -> &'static str {
        match self {
            Ty::Map => "a mapping",
            Ty::List => "a list",
            Ty::Bool => "true or false",
            Ty::Str => "a string",
            Ty::Int => "an integer",
        }
    }
}

/// Pod spec fields a check or the graph reads, with their types.
const POD_FIELDS: &[(&str, Ty)] = &[
    ("containers", Ty::List),
    ("initContainers", Ty::List),
    ("ephemeralContainers", Ty::List),
    ("volumes", Ty::List),
    ("securityContext", Ty::Map),
    ("hostNetwork", Ty::Bool),
    ("hostPID", Ty::Bool),
    ("hostIPC", Ty::Bool),
    ("hostUsers", Ty::Bool),
    ("automountServiceAccountToken", Ty::Bool),
    ("serviceAccountName", Ty::Str),
    ("serviceAccount", Ty::Str),
    ("nodeName", Ty::Str),
    ("nodeSelector", Ty::Map),
    ("tolerations", Ty::List),
    ("hostAliases", Ty::List),
];

/// Container fields a check or the graph reads, with their types.
const CONTAINER_FIELDS: &[(&str, Ty)] = &[
    ("name", Ty::Str),
    ("image", Ty::Str),
    ("securityContext", Ty::Map),
    ("ports", Ty::List),
    ("volumeMounts", Ty::List),
    ("env", Ty::List),
    ("envFrom", Ty::List),
    ("command", Ty::List),
    ("args", Ty::List),
    ("resources", Ty::Map),
];

/// Security context fields, with their types.
const SECURITY_FIELDS: &[(&str, Ty)] = &[
    ("privileged", Ty::Bool),
    ("allowPrivilegeEscalation", Ty::Bool),
    ("readOnlyRootFilesystem", Ty::Bool),
    ("runAsNonRoot", Ty::Bool),
    ("runAsUser", Ty::Int),
    ("runAsGroup", Ty::Int),
    ("capabilities", Ty::Map),
    ("seccompProfile", Ty::Map),
];

fn check(obj: &Value, path: &str, fields: &[(&str, Ty)], out: &mut Vec<String>) {
    for (f, ty) in fields {
        if let Some(v) = obj.get(*f).filter(|v| !v.is_null()) {
            if !ty.holds(v) {
                out.push(format!("{path}.{f} is not {}", ty.name()));
            }
        }
    }
}

/// What makes the object unacceptable to the API server, by field path (empty when its shape
/// is right as far as kspm reads it).
pub fn shape_errors(o: &Object) -> Vec<String> {
    let mut out = Vec::new();
    let Some((_, spec_path)) = POD_TEMPLATE_KINDS.iter().find(|(k, _)| *k == o.kind) else {
        return out;
    };
    let pointer = format!("/{}", spec_path.replace('.', "/"));
    let Some(spec) = o.body.at(&pointer) else {
        // A missing spec is a missing pod: nothing to grade, nothing wrong to report here.
        return out;
    };
    if !spec.is_object() {
        out.push(format!("{spec_path} is not a mapping"));
        return out;
    }
    check(spec, spec_path, POD_FIELDS, &mut out);
    if let Some(sc) = spec.get("securityContext").filter(|v| v.is_object()) {
        check(
            sc,
            &format!("{spec_path}.securityContext"),
            SECURITY_FIELDS,
            &mut out,
        );
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        let Some(items) = spec.get(list).and_then(Value::as_array) else {
            continue;
        };
        for (i, c) in items.iter().enumerate() {
            let path = format!("{spec_path}.{list}[{i}]");
            if !c.is_object() {
                out.push(format!("{path} is not a mapping"));
                continue;
            }
            check(c, &path, CONTAINER_FIELDS, &mut out);
            if let Some(sc) = c.get("securityContext").filter(|v| v.is_object()) {
                check(
                    sc,
                    &format!("{path}.securityContext"),
                    SECURITY_FIELDS,
                    &mut out,
                );
            }
        }
    }
    if let Some(items) = spec.get("volumes").and_then(Value::as_array) {
        for (i, v) in items.iter().enumerate() {
            if !v.is_object() {
                out.push(format!("{spec_path}.volumes[{i}] is not a mapping"));
            }
        }
    }
    out
}

/// YAML 1.1 booleans, as kubectl reads manifests (`sigs.k8s.io/yaml`): an unquoted `yes` or
/// `on` is `true` there. kspm's YAML 1.2 parser keeps them as strings (and cannot tell a quoted
/// `"yes"` from a plain one), so in boolean fields they are read as kubectl reads plain ones.
fn yaml11_bool(v: &Value) -> Option<bool> {
    match v.as_str()? {
        "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" | "true" | "True" | "TRUE" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "off" | "Off" | "OFF" | "false" | "False" | "FALSE" => {
            Some(false)
        }
        _ => None,
    }
}

fn coerce_bools(obj: &mut Value, fields: &[(&str, Ty)]) {
    for (f, ty) in fields {
        if matches!(ty, Ty::Bool) {
            if let Some(v) = obj.get_mut(*f) {
                if let Some(b) = yaml11_bool(v) {
                    *v = Value::Bool(b);
                }
            }
        }
    }
}

/// Reads the boolean fields of a pod spec as kubectl would (see [`yaml11_bool`]).
fn normalise(o: &mut Object) {
    let Some((_, spec_path)) = POD_TEMPLATE_KINDS.iter().find(|(k, _)| *k == o.kind) else {
        return;
    };
    let pointer = format!("/{}", spec_path.replace('.', "/"));
    let Some(spec) = o.body.pointer_mut(&pointer).filter(|s| s.is_object()) else {
        return;
    };
    coerce_bools(spec, POD_FIELDS);
    if let Some(sc) = spec.get_mut("securityContext") {
        coerce_bools(sc, SECURITY_FIELDS);
    }
    for list in ["containers", "initContainers", "ephemeralContainers"] {
        if let Some(items) = spec.get_mut(list).and_then(Value::as_array_mut) {
            for c in items {
                if let Some(sc) = c.get_mut("securityContext") {
                    coerce_bools(sc, SECURITY_FIELDS);
                }
            }
        }
    }
}

/// Reads boolean fields as kubectl does, then moves the objects the API server would reject
/// out of `objects`, returning an error for each that names the file, the line and the fields.
/// Run it before duplicates are resolved: a rejected later definition leaves the earlier one
/// in place, as `kubectl apply` would.
pub fn drop_malformed(objects: &mut Vec<Object>) -> Vec<LoadError> {
    let mut errors = Vec::new();
    // Each object on its own: normalised and checked on every core, in order.
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(objects.len() / 1024 + 1);
    let check = |o: &mut Object| {
        normalise(o);
        shape_errors(o)
    };
    let chunk = objects.len().div_ceil(threads).max(1);
    let found: Vec<Vec<String>> = if threads <= 1 {
        objects.iter_mut().map(check).collect()
    } else {
        std::thread::scope(|scope| {
            let workers: Vec<_> = objects
                .chunks_mut(chunk)
                .map(|part| scope.spawn(move || part.iter_mut().map(check).collect::<Vec<_>>()))
                .collect();
            workers
                .into_iter()
                .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
                .collect()
        })
    };
    if found.iter().all(Vec::is_empty) {
        return errors;
    }
    let mut found = found.into_iter();
    objects.retain(|o| {
        let problems = found.next().unwrap_or_default();
        if problems.is_empty() {
            return true;
        }
        errors.push(LoadError {
            file: o.source.file.clone(),
            line: o.source.line,
            column: None,
            message: format!(
                "{}{NOT_ASSESSABLE}{} (the API server would reject it)",
                o.node_ref(),
                problems.join("; ")
            ),
        });
        false
    });
    errors
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::{parse_text, Syntax};

    fn one(yaml: &str) -> Object {
        let out = parse_text(yaml, "p.yaml", Syntax::Yaml);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        out.objects.into_iter().next().expect("an object")
    }

    /// Thousands of objects (checked on every core, in chunks): the rejected ones leave in
    /// input order, each named, and the rest stay in input order, normalised.
    #[test]
    fn many_objects_are_checked_in_order() {
        let docs: Vec<String> = (0..5000)
            .map(|i| {
                let containers = if i % 7 == 3 {
                    "nginx".to_string()
                } else {
                    "[{name: c, image: x, securityContext: {privileged: 'true'}}]".to_string()
                };
                format!("apiVersion: v1\nkind: Pod\nmetadata: {{name: p{i}, namespace: a}}\nspec: {{containers: {containers}}}\n")
            })
            .collect();
        let mut objects = parse_text(&docs.join("---\n"), "p.yaml", Syntax::Yaml).objects;
        assert_eq!(objects.len(), 5000);
        let errors = drop_malformed(&mut objects);
        let rejected: Vec<usize> = (0..5000).filter(|i| i % 7 == 3).collect();
        assert_eq!(errors.len(), rejected.len());
        for (e, i) in errors.iter().zip(&rejected) {
            assert!(
                e.message.starts_with(&format!("Pod:a/p{i}")),
                "{}",
                e.message
            );
        }
        let kept: Vec<String> = objects.iter().map(|o| o.name.clone()).collect();
        let expected: Vec<String> = (0..5000)
            .filter(|i| i % 7 != 3)
            .map(|i| format!("p{i}"))
            .collect();
        assert_eq!(kept, expected);
        assert!(objects.iter().all(
            |o| o.body.at("/spec/containers/0/securityContext/privileged")
                == Some(&Value::Bool(true))
        ));
    }

    #[test]
    fn wrong_types_are_named_and_right_ones_pass() {
        let head = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\n";
        for (body, says) in [
            (
                "spec: {containers: nginx}\n",
                "spec.containers is not a list",
            ),
            (
                "spec: {containers: [nginx]}\n",
                "spec.containers[0] is not a mapping",
            ),
            (
                "spec: {hostPID: 'maybe', containers: []}\n",
                "spec.hostPID is not true or false",
            ),
            (
                "spec: {containers: [{name: c, securityContext: {privileged: 'maybe'}}]}\n",
                "securityContext.privileged is not true or false",
            ),
            (
                "spec: {containers: [{name: c, securityContext: {runAsUser: root}}]}\n",
                "runAsUser is not an integer",
            ),
            ("spec: [a]\n", "spec is not a mapping"),
        ] {
            let problems = shape_errors(&one(&format!("{head}{body}")));
            assert!(
                problems.iter().any(|p| p.contains(says)),
                "{body}: {problems:?}"
            );
        }
        assert!(shape_errors(&one(&format!("{head}spec: {{hostPID: true, containers: [{{name: c, image: x, securityContext: {{privileged: false, runAsUser: 1000}}}}]}}\n"))).is_empty());
        let d = one("apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d}\nspec: {template: {spec: {containers: {name: c}}}}\n");
        assert_eq!(
            shape_errors(&d),
            vec!["spec.template.spec.containers is not a list"]
        );
        // YAML 1.1 booleans are kubectl's: `privileged: yes` is a privileged container.
        let mut yes = vec![one(&format!(
            "{head}spec: {{hostPID: on, containers: [{{name: c, securityContext: {{privileged: yes}}}}]}}\n"
        ))];
        assert!(drop_malformed(&mut yes).is_empty());
        assert_eq!(
            yes[0].body["spec"]["containers"][0]["securityContext"]["privileged"],
            true
        );
        assert_eq!(yes[0].body["spec"]["hostPID"], true);
        let mut objects = vec![d, one(&format!("{head}spec: {{containers: []}}\n"))];
        let errors = drop_malformed(&mut objects);
        assert_eq!(objects.len(), 1);
        assert!(
            errors[0]
                .message
                .contains("Deployment:default/d is not assessable"),
            "{:?}",
            errors
        );
        assert_eq!(errors[0].line, Some(1));
    }
}
