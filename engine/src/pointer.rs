//! JSON Pointer lookups (RFC 6901) without allocating: `serde_json::Value::pointer` builds two
//! strings per reference token (for its `~1`/`~0` unescaping), and the checks and the graph ask
//! for fields by pointer on every object.

use serde_json::Value;

/// [`Value::pointer`], the same answers, without allocating for tokens that hold no `~`.
pub trait Pointer {
    /// The value `pointer` refers to, as [`Value::pointer`] finds it.
    fn at(&self, pointer: &str) -> Option<&Value>;
}

impl Pointer for Value {
    fn at(&self, pointer: &str) -> Option<&Value> {
        if pointer.contains('~') {
            return self.pointer(pointer);
        }
        if pointer.is_empty() {
            return Some(self);
        }
        let rest = pointer.strip_prefix('/')?;
        rest.split('/')
            .try_fold(self, |target, token| match target {
                Value::Object(map) => map.get(token),
                Value::Array(list) => index(token).and_then(|i| list.get(i)),
                _ => None,
            })
    }
}

/// An array index as RFC 6901 (and `serde_json`) read it: digits, no sign, no leading zero.
fn index(token: &str) -> Option<usize> {
    if token.starts_with('+') || (token.starts_with('0') && token.len() != 1) {
        return None;
    }
    token.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn answers_as_serde_json_does() {
        let v = json!({
            "spec": {"containers": [{"name": "a"}, {"name": "b"}], "": {"x": 1}},
            "a/b": 2, "m~n": 3, "0": 4, "arr": [[5]]
        });
        let pointers = [
            "",
            "/",
            "/spec",
            "/spec/containers",
            "/spec/containers/1/name",
            "/spec/containers/01",
            "/spec/containers/+1",
            "/spec/containers/2",
            "/spec/containers/-",
            "/spec//x",
            "/spec/",
            "/a~1b",
            "/m~0n",
            "/0",
            "/arr/0/0",
            "/arr/0/0/0",
            "spec",
            "/nope/deeper",
            "/spec/containers/0/name/extra",
            "/spec/containers/1a",
            "/~2",
        ];
        for p in pointers {
            assert_eq!(v.at(p), v.pointer(p), "{p:?}");
        }
    }
}
