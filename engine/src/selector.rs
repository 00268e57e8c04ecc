//! Kubernetes label selectors (`matchLabels` + `matchExpressions`), as `metav1.LabelSelector`.

use serde_json::Value;
use std::collections::BTreeMap;

/// A parsed label selector.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LabelSelector {
    requirements: Vec<Requirement>,
    /// A selector that can match nothing (malformed operator); the API server would reject it.
    invalid: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Requirement {
    Equals(String, String),
    In(String, Vec<String>),
    NotIn(String, Vec<String>),
    Exists(String),
    DoesNotExist(String),
}

impl LabelSelector {
    /// Parses a `LabelSelector` object. An empty or missing selector matches everything (the
    /// `metav1.LabelSelectorAsSelector` rule); a selector with an unknown operator matches
    /// nothing.
    pub fn from_value(v: Option<&Value>) -> LabelSelector {
        let mut sel = LabelSelector::default();
        let Some(v) = v.filter(|v| v.is_object()) else {
            return sel;
        };
        if let Some(m) = v.get("matchLabels").and_then(Value::as_object) {
            for (k, val) in m {
                sel.requirements
                    .push(Requirement::Equals(k.clone(), scalar(val)));
            }
        }
        for e in v
            .get("matchExpressions")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let key = e
                .get("key")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string();
            let values: Vec<String> = e
                .get("values")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(scalar)
                .collect();
            let req = match e.get("operator").and_then(Value::as_str) {
                Some("In") => Requirement::In(key, values),
                Some("NotIn") => Requirement::NotIn(key, values),
                Some("Exists") => Requirement::Exists(key),
                Some("DoesNotExist") => Requirement::DoesNotExist(key),
                _ => {
                    sel.invalid = true;
                    continue;
                }
            };
            sel.requirements.push(req);
        }
        sel
    }

    /// A selector from a plain `key: value` map (Service `spec.selector`, ReplicationController).
    /// Unlike a `LabelSelector`, an empty map here selects nothing.
    pub fn from_map(v: Option<&Value>) -> Option<LabelSelector> {
        let m = v?.as_object()?;
        if m.is_empty() {
            return None;
        }
        Some(LabelSelector {
            requirements: m
                .iter()
                .map(|(k, v)| Requirement::Equals(k.clone(), scalar(v)))
                .collect(),
            invalid: false,
        })
    }

    /// The label keys the selector looks at.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.requirements.iter().map(|r| match r {
            Requirement::Equals(k, _)
            | Requirement::In(k, _)
            | Requirement::NotIn(k, _)
            | Requirement::Exists(k)
            | Requirement::DoesNotExist(k) => k.as_str(),
        })
    }

    /// Whether the selector matches everything.
    pub fn is_empty(&self) -> bool {
        self.requirements.is_empty() && !self.invalid
    }

    /// Whether a label set matches.
    pub fn matches(&self, labels: &BTreeMap<String, String>) -> bool {
        if self.invalid {
            return false;
        }
        self.requirements.iter().all(|r| match r {
            Requirement::Equals(k, v) => labels.get(k) == Some(v),
            Requirement::In(k, vs) => labels.get(k).is_some_and(|v| vs.contains(v)),
            Requirement::NotIn(k, vs) => labels.get(k).is_none_or(|v| !vs.contains(v)),
            Requirement::Exists(k) => labels.contains_key(k),
            Requirement::DoesNotExist(k) => !labels.contains_key(k),
        })
    }

    /// Labels of a pod template or object metadata value.
    pub fn labels_of(meta: Option<&Value>) -> BTreeMap<String, String> {
        meta.and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
            .unwrap_or_default()
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// A label set from pairs (tests).
#[cfg(test)]
pub(crate) fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn empty_selects_all_and_expressions_work() {
        let l = labels(&[("app", "web"), ("tier", "fe")]);
        assert!(LabelSelector::from_value(Some(&json!({}))).matches(&l));
        assert!(LabelSelector::from_value(None).matches(&l));
        let s = json!({"matchLabels": {"app": "web"}, "matchExpressions": [
            {"key": "tier", "operator": "In", "values": ["fe", "be"]},
            {"key": "gone", "operator": "DoesNotExist"},
            {"key": "env", "operator": "NotIn", "values": ["prod"]}]});
        assert!(LabelSelector::from_value(Some(&s)).matches(&l));
        let s = json!({"matchExpressions": [{"key": "tier", "operator": "Exists"}, {"key": "app", "operator": "NotIn", "values": ["web"]}]});
        assert!(!LabelSelector::from_value(Some(&s)).matches(&l));
        let s = json!({"matchExpressions": [{"key": "tier", "operator": "Bogus"}]});
        assert!(!LabelSelector::from_value(Some(&s)).matches(&l));
        assert!(LabelSelector::from_map(Some(&json!({}))).is_none());
        assert!(
            LabelSelector::from_map(Some(&json!({"app": "web"}))).is_some_and(|s| s.matches(&l))
        );
    }
}
