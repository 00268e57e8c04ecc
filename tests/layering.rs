//! Each library crate's modules form layers — the engine's, the collectors' and the service
//! layer's (`api`): no module uses one that uses it back (directly or through others). A module
//! is one source file (`checks/rbac.rs` is `checks::rbac`, `checks/mod.rs` is
//! `checks`); a use is a `crate::…` or `super::…` path in its code (comments and `mod tests`
//! left out, test-only files such as `tests.rs` too), resolved through `pub use` re-exports to
//! the module that defines the item.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Module name → its source (comments and test modules removed), of the crate whose sources
/// are under `crate_dir/src` (relative to the workspace).
fn modules_of(crate_dir: &str) -> BTreeMap<String, String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(crate_dir)
        .join("src");
    let mut out = BTreeMap::new();
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read the crate's sources") {
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
                .expect("below the crate's sources")
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

/// The text without `//` comments and without its `#[cfg(test)] mod … { … }` blocks (wherever
/// they stand: code after a test module is still read).
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
    let mut squeezed: String = code.split_whitespace().collect::<Vec<_>>().join(" ");
    while let Some(start) = squeezed.find("#[cfg(test)] mod ") {
        // `#[cfg(test)] mod tests;` declares a file (left out by name): only the declaration goes.
        let Some(open) = squeezed[start..].find(['{', ';']).map(|i| start + i) else {
            break;
        };
        if squeezed[open..].starts_with(';') {
            squeezed.replace_range(start..=open, "");
            continue;
        }
        // The block's end: its braces counted (one left open — a brace in a literal — reads
        // as the module running to the end of the file).
        let mut depth = 0usize;
        let mut end = squeezed.len();
        for (i, c) in squeezed[open..].char_indices() {
            match c {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = open + i + 1;
                        break;
                    }
                }
                _ => {}
            }
        }
        squeezed.replace_range(start..end, "");
    }
    squeezed
}

/// The identifiers joined by `::` at the start of `text`, and what follows them.
fn segments(text: &str) -> (Vec<String>, &str) {
    let mut segs = Vec::new();
    let mut tail = text;
    loop {
        let end = tail
            .find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(tail.len());
        if end == 0 {
            break;
        }
        segs.push(tail[..end].to_string());
        match tail[end..].strip_prefix("::") {
            Some(t) => tail = t,
            None => {
                tail = &tail[end..];
                break;
            }
        }
    }
    (segs, tail)
}

/// The items of the `{…}` group `text` starts with (nested groups flattened), each as its
/// path below the group.
fn group_items(text: &str) -> Vec<Vec<String>> {
    let Some(body) = text.strip_prefix('{') else {
        return Vec::new();
    };
    let mut depth = 1;
    let mut end = body.len();
    for (i, c) in body.char_indices() {
        match c {
            '{' => depth += 1,
            '}' => {
                depth -= 1;
                if depth == 0 {
                    end = i;
                    break;
                }
            }
            _ => {}
        }
    }
    let body = &body[..end];
    let mut items = Vec::new();
    let (mut depth, mut start) = (0, 0);
    for (i, c) in body
        .char_indices()
        .chain(std::iter::once((body.len(), ',')))
    {
        match c {
            '{' => depth += 1,
            '}' => depth -= 1,
            ',' if depth == 0 => {
                let (segs, rest) = segments(body[start..i].trim());
                start = i + 1;
                if rest.trim_start().starts_with('{') {
                    for sub in group_items(rest.trim_start()) {
                        items.push(segs.iter().cloned().chain(sub).collect());
                    }
                } else if !segs.is_empty() && segs != ["self"] {
                    items.push(segs);
                }
            }
            _ => {}
        }
    }
    items
}

/// Every `prefix` path in `code`: the identifiers joined by `::` after it, a `{…}` group
/// expanded into one path per item.
fn paths_after(code: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let mut offset = 0;
    while let Some(i) = code[offset..].find(prefix) {
        let at = offset + i;
        let before = code[..at].chars().next_back();
        offset = at + prefix.len();
        if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let (segs, tail) = segments(&code[offset..]);
        if tail.starts_with('{') {
            for item in group_items(tail) {
                out.push(segs.iter().cloned().chain(item).collect());
            }
        } else if !segs.is_empty() {
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

/// A path as written in `module` (`crate::a::b`, `super::super::c`, `self::d`, `e::f`) made
/// absolute.
fn absolute(module: &str, path: &str) -> String {
    let mut here: Vec<&str> = if module == "crate" {
        vec![]
    } else {
        module.split("::").collect()
    };
    if let Some(p) = path.strip_prefix("crate::") {
        return p.to_string();
    }
    let mut rest = path;
    if let Some(p) = rest.strip_prefix("self::") {
        rest = p;
    }
    while let Some(p) = rest.strip_prefix("super::") {
        here.pop();
        rest = p;
    }
    here.iter()
        .copied()
        .chain(rest.split("::"))
        .collect::<Vec<_>>()
        .join("::")
}

/// The module that defines what `segs` names: the longest module prefix, followed through
/// re-exports.
fn defining_module(
    segs: &[&str],
    modules: &BTreeMap<String, String>,
    exports: &BTreeMap<(String, String), String>,
    depth: usize,
) -> Option<String> {
    // An item the crate root re-exports (`crate::Object`).
    if let Some(first) = segs.first() {
        if !modules.contains_key(*first) && depth < 8 {
            if let Some(from) = exports.get(&("crate".to_string(), first.to_string())) {
                let mut path: Vec<&str> = from.split("::").collect();
                path.extend(segs);
                return defining_module(&path, modules, exports, depth + 1);
            }
        }
    }
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

/// Module → the modules it uses (not itself or the crate root).
fn uses(modules: &BTreeMap<String, String>) -> BTreeMap<String, BTreeSet<String>> {
    let exports = re_exports(modules);
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (name, code) in modules {
        let mut targets = BTreeSet::new();
        for segs in paths_after(code, "crate::") {
            let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
            targets.extend(defining_module(&segs, modules, &exports, 0));
        }
        for segs in paths_after(code, "super::") {
            let path = absolute(name, &format!("super::{}", segs.join("::")));
            let segs: Vec<&str> = path.split("::").collect();
            targets.extend(defining_module(&segs, modules, &exports, 0));
        }
        // Paths relative to the module: its own submodules (`tokens::Tokens` in `inventory`).
        let prefix = if name == "crate" {
            String::new()
        } else {
            format!("{name}::")
        };
        for child in modules.keys() {
            let Some(local) = child.strip_prefix(&prefix) else {
                continue;
            };
            if local.contains("::") || local.is_empty() {
                continue;
            }
            for segs in paths_after(code, &format!("{local}::")) {
                let path = format!("{child}::{}", segs.join("::"));
                let segs: Vec<&str> = path.split("::").collect();
                targets.extend(defining_module(&segs, modules, &exports, 0));
            }
        }
        targets.retain(|t| t != name && t != "crate" && name != "crate");
        out.insert(name.clone(), targets);
    }
    out
}

/// Whether a set of modules is one module and its own descendants (a module and the
/// submodules it declares use each other; that is not a cycle between layers).
fn one_subtree(component: &[String]) -> bool {
    component.iter().any(|root| {
        component
            .iter()
            .all(|m| m == root || m.starts_with(&format!("{root}::")))
    })
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
fn no_module_of_the_engine_uses_one_that_uses_it_back() {
    no_module_uses_one_that_uses_it_back("engine", 50);
}

#[test]
fn no_module_of_the_collectors_uses_one_that_uses_it_back() {
    no_module_uses_one_that_uses_it_back("collectors", 10);
}

#[test]
fn no_module_of_the_service_layer_uses_one_that_uses_it_back() {
    no_module_uses_one_that_uses_it_back("api", 25);
}

/// The crate under `crate_dir` (at least `at_least` modules read) has no import cycle.
fn no_module_uses_one_that_uses_it_back(crate_dir: &str, at_least: usize) {
    let modules = modules_of(crate_dir);
    assert!(modules.len() >= at_least, "read {} modules", modules.len());
    let graph = uses(&modules);
    let found: Vec<Vec<String>> = cycles(&graph)
        .into_iter()
        .filter(|c| !one_subtree(c))
        .collect();
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
        "import cycles in {crate_dir}:\n{}",
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

#[test]
fn groups_root_re_exports_and_parents_are_followed() {
    let module = |code: &str| code_of(code);
    let modules: BTreeMap<String, String> = [
        ("crate".to_string(), module("pub use object::Object;")),
        ("object".to_string(), module("pub struct Object;")),
        // A grouped import, nested.
        (
            "p".to_string(),
            module("use crate::{q::{One, deep::Two}, r};"),
        ),
        ("q".to_string(), module("")),
        (
            "q::deep".to_string(),
            module("fn f() { super::super::s::g() }"),
        ),
        ("r".to_string(), module("use crate::Object;")),
        ("s".to_string(), module("")),
    ]
    .into();
    let graph = uses(&modules);
    assert_eq!(
        graph["p"],
        BTreeSet::from(["q".to_string(), "q::deep".to_string(), "r".to_string()])
    );
    assert_eq!(graph["r"], BTreeSet::from(["object".to_string()]));
    assert_eq!(graph["q::deep"], BTreeSet::from(["s".to_string()]));
    // A module and its submodules using each other is one subtree, not a cycle between layers;
    // a way out of the subtree and back through a submodule is.
    let subtree: BTreeMap<String, String> = [
        ("inv".to_string(), module("use tokens::Tokens; mod tokens;")),
        ("inv::tokens".to_string(), module("use super::Inventory;")),
    ]
    .into();
    let c = cycles(&uses(&subtree));
    assert_eq!(c.len(), 1);
    assert!(one_subtree(&c[0]));
    let mut through = subtree.clone();
    through.insert(
        "inv::tokens".to_string(),
        module("use super::Inventory; use crate::cloud::x;"),
    );
    through.insert("cloud".to_string(), module("use crate::inv::Inventory;"));
    let c = cycles(&uses(&through));
    assert_eq!(c.len(), 1);
    assert!(!one_subtree(&c[0]), "{c:?}");
}
