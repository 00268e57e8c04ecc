//! The engine's modules form layers: no module uses one that uses it back (directly or through
//! others). A module is one source file (`checks/rbac.rs` is `checks::rbac`, `checks/mod.rs` is
//! `checks`); a use is a `crate::…` or `super::…` path in its code (comments and `mod tests`
//! left out, test-only files such as `tests.rs` too), resolved through `pub use` re-exports to
//! the module that defines the item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → its source (comments and test modules removed).
fn engine_modules() -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read engine/src") {
            let path = entry.expect("dir entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = path
                .strip_prefix(&root)
                .expect("below engine/src")
                .with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            let last = parts.last().cloned().unwrap_or_default();
            // Test-only files: `tests.rs`, `tests/…`, and the check cases.
            if last == "tests" || parts.iter().any(|p| p == "tests") || last == "cases" {
                continue;
            }
            if last == "mod" || last == "lib" {
                parts.pop();
            }
            let name = if parts.is_empty() {
                "crate".to_string()
            } else {
                parts.join("::")
            };
            let text = std::fs::read_to_string(&path).expect("read module");
            out.insert(name, code_of(&text));
        }
    }
    out
}

/// The text without `//` comments and without a trailing `#[cfg(test)] mod tests { … }`.
fn code_of(text: &str) -> String {
    let mut code = String::new();
    for line in text.lines() {
        let line = match line.find("//") {
            // A `//` inside a string literal (a URL) is rare in paths; cut anyway: only
            // `crate::`/`super::` paths are read from what remains.
            Some(i) => &line[..i],
            None => line,
        };
        code.push_str(line);
        code.push('\n');
    }
    let squeezed: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    match squeezed.find("#[cfg(test)] mod tests {") {
        Some(i) => squeezed[..i].to_string(),
        None => squeezed,
    }
}

/// Every `prefix` path in `code`: the identifiers joined by `::` after it.
fn paths_after<'a>(code: &'a str, prefix: &str) -> Vec<Vec<&'a str>> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(prefix) {
        let before = rest[..i].chars().last();
        rest = &rest[i + prefix.len()..];
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        let mut segs = Vec::new();
        let mut tail = rest;
        loop {
            let end = tail
                .find(|c: char| !(c.is_alphanumeric() || c == '_'))
                .unwrap_or(tail.len());
            if end == 0 {
                break;
            }
            segs.push(&tail[..end]);
            match tail[end..].strip_prefix("::") {
                Some(t) => tail = t,
                None => break,
            }
        }
        if !segs.is_empty() {
            out.push(segs);
        }
    }
    out
}

/// `(module, item)` → the module a `pub use` in `module` takes the item from.
fn re_exports(modules: &BTreeMap<String, String>) -> BTreeMap<(String, String), String> {
    let mut out = BTreeMap::new();
    for (name, code) in modules {
        for stmt in code.split(';') {
            let Some(i) = stmt.find("pub use ") else {
                continue;
            };
            let body = stmt[i + "pub use ".len()..].trim();
            let (base, items) = match body.find("::{") {
                Some(j) => (&body[..j], body[j + 3..].trim_end_matches('}')),
                None => match body.rfind("::") {
                    Some(j) => (&body[..j], &body[j + 2..]),
                    None => continue,
                },
            };
            let from = absolute(name, base);
            for item in items.split(',') {
                let item = item.split(" as ").next().unwrap_or("").trim();
                if !item.is_empty() && item != "self" && item != "*" {
                    out.insert((name.clone(), item.to_string()), from.clone());
                }
            }
        }
    }
    out
}

/// A path as written in `module` (`crate::a::b`, `super::c`, `d::e`) made absolute.
fn absolute(module: &str, path: &str) -> String {
    let here: Vec<&str> = if module == "crate" {
        vec![]
    } else {
        module.split("::").collect()
    };
    if let Some(p) = path.strip_prefix("crate::") {
        p.to_string()
    } else if let Some(p) = path.strip_prefix("super::") {
        let parent = &here[..here.len().saturating_sub(1)];
        parent
            .iter()
            .copied()
            .chain(p.split("::"))
            .collect::<Vec<_>>()
            .join("::")
    } else if let Some(p) = path.strip_prefix("self::") {
        here.iter()
            .copied()
            .chain(p.split("::"))
            .collect::<Vec<_>>()
            .join("::")
    } else {
        here.iter()
            .copied()
            .chain(path.split("::"))
            .collect::<Vec<_>>()
            .join("::")
    }
}

/// The module that defines what `segs` names: the longest module prefix, followed through
/// re-exports.
fn defining_module(
    segs: &[&str],
    modules: &BTreeMap<String, String>,
    exports: &BTreeMap<(String, String), String>,
    depth: usize,
) -> Option<String> {
    for i in (1..=segs.len()).rev() {
        let m = segs[..i].join("::");
        if modules.contains_key(&m) {
            if let Some(next) = segs.get(i) {
                if let Some(from) = exports.get(&(m.clone(), next.to_string())) {
                    if depth < 8 && *from != m {
                        let mut path: Vec<&str> = from.split("::").collect();
                        path.extend(&segs[i..]);
                        return defining_module(&path, modules, exports, depth + 1);
                    }
                }
            }
            return Some(m);
        }
    }
    None
}

/// Module → the modules it uses (not itself, its ancestors or its descendants).
fn uses(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let exports = re_exports(modules);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in modules {
        let mut targets = BTreeSet::new();
        for segs in paths_after(code, "crate::") {
            targets.extend(defining_module(&segs, modules, &exports, 0));
        }
        for segs in paths_after(code, "super::") {
            let path = absolute(name, &format!("super::{}", segs.join("::")));
            let segs: Vec<&str> = path.split("::").collect();
            targets.extend(defining_module(&segs, modules, &exports, 0));
        }
        let related = |t: &String| {
            t == name
                || name.starts_with(&format!("{t}::"))
                || t.starts_with(&format!("{name}::"))
                || t == "crate"
                || name == "crate"
        };
        targets.retain(|t| !related(t));
        out.insert(name.clone(), targets);
    }
    out
}

/// The strongly connected components with more than one module (Tarjan).
fn cycles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct State<'g> {
        graph: &'g BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        out: Vec<Vec<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let i = s.index.len();
        s.index.insert(v, i);
        s.low.insert(v, i);
        s.stack.push(v);
        s.on_stack.insert(v);
        for w in s.graph.get(v).into_iter().flatten() {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lowest = s.low[v].min(s.low[w]);
                s.low.insert(v, lowest);
            } else if s.on_stack.contains(w) {
                let lowest = s.low[v].min(s.index[w]);
                s.low.insert(v, lowest);
            }
        }
        if s.low[v] == s.index[v] {
            let mut component = Vec::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                component.push(w.to_string());
                if w == v {
                    break;
                }
            }
            if component.len() > 1 {
                component.sort();
                s.out.push(component);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        out: Vec::new(),
    };
    for v in graph.keys() {
        if !s.index.contains_key(v.as_str()) {
            visit(&mut s, v);
        }
    }
    s.out
}

#[test]
fn no_module_uses_one_that_uses_it_back() {
    let modules = engine_modules();
    assert!(modules.len() > 50, "read {} modules", modules.len());
    let graph = uses(&modules);
    let found = cycles(&graph);
    let described: Vec<String> = found
        .iter()
        .map(|c| {
            let edges: Vec<String> = c
                .iter()
                .flat_map(|a| {
                    graph[a]
                        .iter()
                        .filter(|b| c.contains(b))
                        .map(move |b| format!("{a} → {b}"))
                })
                .collect();
            edges.join(", ")
        })
        .collect();
    assert!(
        found.is_empty(),
        "import cycles in the engine:\n{}",
        described.join("\n")
    );
}

#[test]
fn the_cycle_finder_sees_a_cycle_through_a_re_export() {
    let module = |code: &str| code_of(code);
    let modules: BTreeMap<String, String> = [
        (
            "a".to_string(),
            module("use crate::b::Thing; // crate::c::Never"),
        ),
        ("b".to_string(), module("pub use inner::Thing;")),
        ("b::inner".to_string(), module("use crate::c::helper;")),
        ("c".to_string(), module("fn f() { super::a::go() }")),
        ("d".to_string(), module("use crate::a::go;")),
    ]
    .into();
    let graph = uses(&modules);
    assert_eq!(graph["a"], BTreeSet::from(["b::inner".to_string()]));
    assert_eq!(
        cycles(&graph),
        vec![vec![
            "a".to_string(),
            "b::inner".to_string(),
            "c".to_string()
        ]]
    );
    // Without the way back, no cycle.
    let mut acyclic = modules.clone();
    acyclic.insert("c".to_string(), module("fn f() {}"));
    assert!(cycles(&uses(&acyclic)).is_empty());
}
