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

/// Attack paths with the paths folded into each rebuilt as paths of their own
/// ([`kspm_engine::graph::paths::AttackPath::with_folded`]), in order: what "every path" means
/// for drift and lookups by ID.
pub fn all_paths(
    paths: &[kspm_engine::graph::paths::AttackPath],
) -> Vec<kspm_engine::graph::paths::AttackPath> {
    paths
        .iter()
        .flat_map(|p| match p.folded.is_empty() {
            true => vec![p.clone()],
            false => p.with_folded(),
        })
        .collect()
}
