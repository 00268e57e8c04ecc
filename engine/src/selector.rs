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

    /// The same selector as a Calico selector expression (requirements joined by `&&`; `{}` is
    /// `all()`, a malformed selector `!all()`): Kubernetes' `NotIn` and Calico's `not in` both
    /// hold for a pod without the label.
    pub fn to_calico(&self) -> crate::calico::Selector {
        use crate::calico::Selector as S;
        if self.invalid {
            return S::Not(Box::new(S::All));
        }
        let terms = self
            .requirements
            .iter()
            .map(|r| match r {
                Requirement::Equals(k, v) => S::Eq(k.clone(), v.clone()),
                Requirement::In(k, vs) => S::In(k.clone(), vs.clone()),
                Requirement::NotIn(k, vs) => S::NotIn(k.clone(), vs.clone()),
                Requirement::Exists(k) => S::Has(k.clone()),
                Requirement::DoesNotExist(k) => S::Not(Box::new(S::Has(k.clone()))),
            })
            .collect::<Vec<_>>();
        S::balanced(terms, S::And)
    }

    /// A selector that matches nothing.
    pub fn nothing() -> LabelSelector {
        LabelSelector {
            requirements: Vec::new(),
            invalid: true,
        }
    }

    /// The values the selector names for `key` (in `matchLabels`, `In` and `NotIn`): every
    /// other value of the key meets each of its requirements alike.
    pub fn values_named<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> {
        self.requirements
            .iter()
            .flat_map(move |r| match r {
                Requirement::Equals(k, v) if k == key => std::slice::from_ref(v),
                Requirement::In(k, vs) | Requirement::NotIn(k, vs) if k == key => vs.as_slice(),
                _ => &[],
            })
            .map(String::as_str)
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

    /// Whether every label set `other` matches is matched by this selector too, as far as the
    /// requirements prove it: each of this selector's requirements follows from one of
    /// `other`'s (`app=web` follows from `app in (web)`, `app` exists from `app=web`, `app
    /// notin (db)` from `app=web`, ...). `false` means "not proved", never "disjoint". A
    /// selector that matches nothing is covered by every selector.
    pub fn covers(&self, other: &LabelSelector) -> bool {
        if other.invalid || other.requirements.iter().any(Requirement::unsatisfiable) {
            return true;
        }
        !self.invalid
            && self
                .requirements
                .iter()
                .all(|mine| other.requirements.iter().any(|r| r.implies(mine)))
    }

    /// Labels of a pod template or object metadata value.
    pub fn labels_of(meta: Option<&Value>) -> BTreeMap<String, String> {
        meta.and_then(|m| m.get("labels"))
            .and_then(Value::as_object)
            .map(|m| m.iter().map(|(k, v)| (k.clone(), scalar(v))).collect())
            .unwrap_or_default()
    }
}

impl Requirement {
    /// Whether no label set meets it (`In` with no values; the API server rejects it).
    fn unsatisfiable(&self) -> bool {
        matches!(self, Requirement::In(_, vs) if vs.is_empty())
    }

    /// The values the key must have, when the requirement pins them.
    fn values(&self) -> Option<(&str, Vec<&str>)> {
        match self {
            Requirement::Equals(k, v) => Some((k, vec![v.as_str()])),
            Requirement::In(k, vs) => Some((k, vs.iter().map(String::as_str).collect())),
            _ => None,
        }
    }

    /// Whether every label set that meets `self` meets `other`.
    fn implies(&self, other: &Requirement) -> bool {
        let pinned = self.values();
        match other {
            Requirement::Equals(k, v) => {
                pinned.is_some_and(|(key, vs)| key == k && vs.iter().all(|x| x == v))
            }
            Requirement::In(k, allowed) => pinned.is_some_and(|(key, vs)| {
                key == k && vs.iter().all(|x| allowed.iter().any(|a| a == x))
            }),
            Requirement::Exists(k) => match self {
                Requirement::Exists(key) => key == k,
                _ => pinned.is_some_and(|(key, _)| key == k),
            },
            Requirement::NotIn(k, denied) => match self {
                Requirement::DoesNotExist(key) => key == k,
                Requirement::NotIn(key, vs) => key == k && denied.iter().all(|d| vs.contains(d)),
                _ => pinned.is_some_and(|(key, vs)| {
                    key == k && vs.iter().all(|x| !denied.iter().any(|d| d == x))
                }),
            },
            Requirement::DoesNotExist(k) => {
                matches!(self, Requirement::DoesNotExist(key) if key == k)
            }
        }
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

    #[test]
    fn covers_is_proved_from_requirements() {
        let sel = |v: Value| LabelSelector::from_value(Some(&v));
        let web = sel(json!({"matchLabels": {"app": "web"}}));
        let web_fe = sel(json!({"matchLabels": {"app": "web", "tier": "fe"}}));
        // Fewer requirements select more.
        assert!(sel(json!({})).covers(&web));
        assert!(web.covers(&web_fe));
        assert!(!web_fe.covers(&web));
        assert!(web.covers(&web));
        assert!(!web.covers(&sel(json!({}))));
        // Each operator, with a negative case.
        let in_web =
            sel(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web"]}]}));
        let in_web_db = sel(
            json!({"matchExpressions": [{"key": "app", "operator": "In", "values": ["web", "db"]}]}),
        );
        assert!(web.covers(&in_web) && in_web.covers(&web));
        assert!(in_web_db.covers(&web) && !web.covers(&in_web_db));
        let exists = sel(json!({"matchExpressions": [{"key": "app", "operator": "Exists"}]}));
        assert!(exists.covers(&web) && exists.covers(&exists) && !web.covers(&exists));
        assert!(!exists.covers(&sel(json!({"matchLabels": {"tier": "fe"}}))));
        let not_db = sel(
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db"]}]}),
        );
        let not_db_cache = sel(
            json!({"matchExpressions": [{"key": "app", "operator": "NotIn", "values": ["db", "cache"]}]}),
        );
        let absent = sel(json!({"matchExpressions": [{"key": "app", "operator": "DoesNotExist"}]}));
        assert!(not_db.covers(&web) && not_db.covers(&not_db_cache) && not_db.covers(&absent));
        assert!(!not_db_cache.covers(&not_db) && !not_db.covers(&in_web_db.clone()));
        assert!(!not_db.covers(&sel(json!({"matchLabels": {"app": "db"}}))));
        assert!(absent.covers(&absent) && !absent.covers(&not_db) && !absent.covers(&web));
        // A selector that matches nothing is covered; a broken one covers nothing.
        let bogus = sel(json!({"matchExpressions": [{"key": "app", "operator": "Bogus"}]}));
        let empty_in =
            sel(json!({"matchExpressions": [{"key": "app", "operator": "In", "values": []}]}));
        assert!(web.covers(&bogus) && web.covers(&empty_in) && !bogus.covers(&web));
        // The claim holds on label sets: whatever the covered selector matches, the other does.
        let sets = [
            labels(&[("app", "web")]),
            labels(&[("app", "db")]),
            labels(&[("app", "web"), ("tier", "fe")]),
            labels(&[("tier", "fe")]),
            labels(&[]),
        ];
        let all = [
            &web,
            &web_fe,
            &in_web,
            &in_web_db,
            &exists,
            &not_db,
            &not_db_cache,
            &absent,
        ];
        for a in all {
            for b in all {
                if a.covers(b) {
                    for l in &sets {
                        assert!(
                            !b.matches(l) || a.matches(l),
                            "{a:?} covers {b:?} but not {l:?}"
                        );
                    }
                }
            }
        }
    }
}
