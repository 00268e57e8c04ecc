//! Reading report JSON (as rendered, stored or fetched): absent or mistyped fields read as empty.

use serde_json::Value;

/// The string at `v[k]`, or `""`.
pub fn str_at<'a>(v: &'a Value, k: &str) -> &'a str {
    v.get(k).and_then(Value::as_str).unwrap_or("")
}

/// The array at `v[k]`, or an empty slice.
pub fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    v.get(k)
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .unwrap_or(&[])
}

/// Stored attack paths with the paths folded into each rebuilt as paths of their own
/// ([`kspm_engine::graph::paths::AttackPath::with_folded`]), in order: what "every path" means
/// for drift and lookups by ID. A value that is not a path is kept as it is.
pub fn all_paths(paths: &[Value]) -> Vec<Value> {
    paths
        .iter()
        .flat_map(|v| {
            match serde_json::from_value::<kspm_engine::graph::paths::AttackPath>(v.clone()) {
                Ok(p) if !p.folded.is_empty() => p
                    .with_folded()
                    .iter()
                    .filter_map(|x| serde_json::to_value(x).ok())
                    .collect(),
                _ => vec![v.clone()],
            }
        })
        .collect()
}
