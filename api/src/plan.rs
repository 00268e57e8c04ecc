//! `kspm plan`: what a change would do before it exists. The base (a snapshot) is evaluated once
//! by the incremental engine; the change's manifests are applied to it with `kubectl apply`
//! semantics (an object with the same kind, namespace and name is replaced, any other created)
//! and deletions removed; the findings and attack paths the change introduces and resolves are
//! what the engine's delta says. Cloud documents of the base (the cluster's and the fleet's)
//! stay in play, so a ServiceAccount that an existing IRSA trust names is a new way to the
//! account.

use kspm_engine::graph::paths::AttackPath;
use kspm_engine::incremental::{key_of, reference, Incremental, Key};
use kspm_engine::parse::{parse_text, ParseOutcome, Syntax};
use kspm_engine::render::sarif::PathAt;
use kspm_engine::{Finding, LoadError, Object, ScanOptions, Severity};
use serde::Serialize;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to plan.
pub struct PlanInput {
    /// The base snapshot (a cluster or fleet directory, or a manifest file).
    pub base: PathBuf,
    /// The cluster of the base the change applies to (needed when the base holds several).
    pub cluster: Option<String>,
    /// Namespace for changed objects that name none (else `default`, as kubectl).
    pub namespace: Option<String>,
    /// Manifest files or directories; `-` reads standard input.
    pub changes: Vec<PathBuf>,
    /// Objects the change deletes: `Kind/namespace/name`, or `Kind/name` when cluster-scoped.
    pub deletions: Vec<String>,
}

/// One object the change touches.
#[derive(Debug, Clone, Serialize)]
pub struct ChangedObject {
    /// `Kind:namespace/name` or `Kind:name`.
    pub reference: String,
    /// `created`, `replaced` or `deleted`.
    pub action: &'static str,
    /// The manifest it comes from (`-` for standard input; empty for a deletion).
    pub file: String,
    /// Its line there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
}

/// An attack path the change opens, with the changed objects it goes through.
#[derive(Debug, Clone, Serialize)]
pub struct IntroducedPath {
    /// The path.
    #[serde(flatten)]
    pub path: AttackPath,
    /// References of the changed objects on it (its nodes or the grants its hops name).
    pub changed_objects: Vec<String>,
}

/// The plan of a change.
#[derive(Debug, Serialize)]
pub struct Plan {
    /// The cluster it applies to.
    pub cluster: String,
    /// The objects it creates, replaces and deletes.
    pub changes: Vec<ChangedObject>,
    /// Findings it introduces.
    pub introduced_findings: Vec<Finding>,
    /// Findings it resolves.
    pub resolved_findings: Vec<Finding>,
    /// Attack paths it opens.
    pub introduced_paths: Vec<IntroducedPath>,
    /// Attack paths it closes.
    pub resolved_paths: Vec<AttackPath>,
    /// What of the base could not be read (the plan is only as good as the base).
    pub base_errors: Vec<String>,
    /// Objects the change defines twice (the later definition is planned, as `kubectl apply`
    /// would apply it).
    pub change_warnings: Vec<String>,
    /// Milliseconds to read and evaluate the base.
    pub base_ms: f64,
    /// Milliseconds to evaluate the change on it.
    pub change_ms: f64,
}

impl Plan {
    /// Whether the change introduces a finding or path at or above `threshold`.
    pub fn introduces_at_or_above(&self, threshold: Severity) -> bool {
        self.introduced_findings
            .iter()
            .any(|f| f.severity >= threshold)
            || self
                .introduced_paths
                .iter()
                .any(|p| p.path.severity >= threshold)
    }
}

/// One line per error, as `LoadError` writes itself (`file:line:column: message`).
fn error_lines(errors: &[LoadError]) -> Vec<String> {
    errors.iter().map(LoadError::to_string).collect()
}

/// Reads standard input as `kspm scan` reads a file: at most the file size limit, UTF-8 or
/// UTF-16, then parsed.
fn read_stdin() -> Result<ParseOutcome, String> {
    let limit = kspm_collectors::files::max_file_bytes();
    let mut bytes = Vec::new();
    std::io::stdin()
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|e| format!("standard input: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "standard input: larger than {limit} bytes (KSPM_MAX_FILE_BYTES)"
        ));
    }
    let text = kspm_collectors::files::decode_text(bytes)
        .ok_or_else(|| "standard input: not UTF-8 or UTF-16 text".to_string())?;
    Ok(parse_text(&text, "-", Syntax::Yaml))
}

/// Reads a change: its objects (namespace defaulted, each with its file and line) and the
/// warnings of objects defined twice (the later wins, as `kubectl apply` would); or an error
/// naming the file and line of what could not be read or would be rejected — a change that
/// cannot be read cannot be planned.
fn read_changes(input: &PlanInput) -> Result<(Vec<Object>, Vec<String>), String> {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    let mut stdin_read = false;
    for path in &input.changes {
        if path == Path::new("-") {
            if stdin_read {
                return Err("`-` (standard input) is given more than once".to_string());
            }
            stdin_read = true;
            let out = read_stdin()?;
            errors.extend(out.errors);
            objects.extend(out.objects);
        } else if path.is_dir() {
            let mut c = kspm_collectors::files::load_cluster_dir(path);
            errors.append(&mut c.errors);
            objects.append(&mut c.objects);
        } else if path.exists() {
            let out = kspm_collectors::files::read_objects(path);
            errors.extend(out.errors);
            objects.extend(out.objects);
        } else {
            return Err(format!("{}: no such file or directory", path.display()));
        }
    }
    // What the API server would reject is an error of the change, as a parse error is.
    errors.extend(kspm_engine::validate::drop_malformed(&mut objects));
    if !errors.is_empty() {
        return Err(format!(
            "the change cannot be read, so it cannot be planned:\n  {}",
            error_lines(&errors).join("\n  ")
        ));
    }
    let namespace = input.namespace.as_deref().unwrap_or("default");
    for o in &mut objects {
        if o.namespace.is_none() && !o.is_cluster_scoped() {
            o.namespace = Some(namespace.to_string());
        }
    }
    let warnings = error_lines(&kspm_engine::parse::dedupe(&mut objects));
    if objects.is_empty() && input.deletions.is_empty() {
        return Err("the change holds no Kubernetes object and deletes nothing".to_string());
    }
    Ok((objects, warnings))
}

/// Parses `Kind/namespace/name`, or `Kind/name` (a cluster-scoped kind, or a namespaced one
/// in `namespace`).
fn deletion_key(spec: &str, namespace: &str) -> Result<Key, String> {
    let parts: Vec<&str> = spec.split('/').collect();
    match parts.as_slice() {
        [kind, ns, name] if !kind.is_empty() && !ns.is_empty() && !name.is_empty() => {
            Ok((kind.to_string(), ns.to_string(), name.to_string()))
        }
        [kind, name] if !kind.is_empty() && !name.is_empty() => {
            let cluster_scoped = kspm_engine::object::CLUSTER_SCOPED_KINDS.contains(kind)
                || kspm_engine::cloud::kinds::CLOUD_KINDS.contains(kind);
            let ns = if cluster_scoped { "" } else { namespace };
            Ok((kind.to_string(), ns.to_string(), name.to_string()))
        }
        _ => Err(format!(
            "--delete {spec}: expected Kind/namespace/name, or Kind/name (cluster-scoped, or in -n)"
        )),
    }
}

/// Reads the base a change is judged against: cluster `cluster` of the snapshot at `root` (the
/// only one when `None`), with the fleet's account, project and subscription documents and its
/// vulnerability reports, as `kspm scan` joins them; not evaluated yet. Also what of the base
/// could not be read.
pub fn load_base(
    root: &Path,
    cluster: Option<&str>,
    options: &ScanOptions,
) -> Result<(Incremental, Vec<String>), String> {
    let files = kspm_collectors::files::plan(&[root.to_path_buf()]);
    let source = match (cluster, files.clusters.as_slice()) {
        (_, []) => return Err(format!("{}: no snapshot to plan against", root.display())),
        (None, [one]) => one.clone(),
        (None, many) => {
            let names: Vec<&str> = many.iter().map(|c| c.name.as_str()).collect();
            return Err(format!(
                "{} holds {} clusters ({}): name one with --cluster",
                root.display(),
                many.len(),
                names.join(", ")
            ));
        }
        (Some(name), all) => all
            .iter()
            .find(|c| c.name == name)
            .cloned()
            .ok_or_else(|| {
                let names: Vec<&str> = all.iter().map(|c| c.name.as_str()).collect();
                format!(
                    "{}: no cluster {name} (clusters: {})",
                    root.display(),
                    names.join(", ")
                )
            })?,
    };
    let mut base = kspm_collectors::files::load_source(&source);
    // As `kspm scan` joins them: the account, project and subscription documents of the fleet's
    // `cloud/` and of every cluster's (IAM is fleet-wide; a cluster's own description is not).
    let (mut fleet_cloud, mut cloud_errors) = kspm_collectors::files::load_fleet_cloud(&files);
    for sibling in files
        .clusters
        .iter()
        .filter(|c| c.name != source.name && !c.is_file)
    {
        let dir = sibling.path.join("cloud");
        if dir.is_dir() {
            kspm_collectors::files::read_cloud_dir(&dir, &mut fleet_cloud, &mut cloud_errors);
        }
    }
    fleet_cloud.retain(|o| kspm_engine::cloud::documents::IAM_KINDS.contains(&o.kind.as_str()));
    let unread: Vec<LoadError> = files
        .errors
        .iter()
        .chain(&cloud_errors)
        .chain(&base.errors)
        .cloned()
        .collect();
    let base_errors = error_lines(&unread);
    if base.objects.is_empty() {
        return Err(format!(
            "{}: the base cluster {} holds no object to plan against",
            root.display(),
            base.info.name
        ));
    }
    // The fleet's account, project and subscription documents belong to every cluster.
    base.objects.extend(fleet_cloud);
    // As `kspm scan` evaluates the base: its fleet's own vulnerability reports included.
    let options = crate::pipeline::with_fleet_vulnerabilities(options, &files);
    Ok((Incremental::new(base, options), base_errors))
}

/// Plans the change.
pub fn plan(input: &PlanInput, options: &ScanOptions) -> Result<Plan, String> {
    let (changed, warnings) = read_changes(input)?;
    let namespace = input.namespace.as_deref().unwrap_or("default");
    let deletions: Vec<Key> = input
        .deletions
        .iter()
        .map(|d| deletion_key(d, namespace))
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    let (mut engine, base_errors) = load_base(&input.base, input.cluster.as_deref(), options)?;
    let cluster = engine.info().name.clone();
    engine.apply(std::iter::empty());
    let base_ms = started.elapsed().as_secs_f64() * 1000.0;

    let existing: std::collections::HashSet<Key> = engine.objects().map(key_of).collect();
    let mut changes = Vec::new();
    let mut batch: Vec<(Key, Option<Object>)> = Vec::new();
    for o in changed {
        let key = key_of(&o);
        changes.push(ChangedObject {
            reference: reference(&key),
            action: if existing.contains(&key) {
                "replaced"
            } else {
                "created"
            },
            file: o.source.file.clone(),
            line: o.source.line,
        });
        batch.push((key, Some(o)));
    }
    for key in deletions {
        if !existing.contains(&key) {
            return Err(format!(
                "--delete {}: the base has no such object",
                reference(&key)
            ));
        }
        changes.push(ChangedObject {
            reference: reference(&key),
            action: "deleted",
            file: String::new(),
            line: None,
        });
        // A Namespace takes what is in it.
        let kind = key.0.clone();
        batch.extend(engine.deletion(&kind, key));
    }
    let started = Instant::now();
    let delta = engine.apply(batch);
    let change_ms = started.elapsed().as_secs_f64() * 1000.0;
    let on_path = |p: &AttackPath| -> Vec<String> {
        changes
            .iter()
            .filter(|c| {
                p.nodes.contains(&c.reference)
                    || p.steps.iter().any(|s| mentions(&s.evidence, &c.reference))
            })
            .map(|c| c.reference.clone())
            .collect()
    };
    let mut delta = delta;
    delta.added_findings.sort_by(Finding::most_severe_first);
    delta.resolved_findings.sort_by(Finding::most_severe_first);
    delta.added_paths.sort_by(AttackPath::highest_score_first);
    delta
        .resolved_paths
        .sort_by(AttackPath::highest_score_first);
    let introduced_paths = delta
        .added_paths
        .into_iter()
        .map(|p| IntroducedPath {
            changed_objects: on_path(&p),
            path: p,
        })
        .collect();
    Ok(Plan {
        cluster,
        changes,
        introduced_findings: delta.added_findings,
        resolved_findings: delta.resolved_findings,
        introduced_paths,
        resolved_paths: delta.resolved_paths,
        base_errors,
        change_warnings: warnings,
        base_ms,
        change_ms,
    })
}

/// Whether `text` names `reference` as a whole: not inside a longer name on either side
/// (`Job:a/b` is not in `CronJob:a/b`, `RoleBinding:a/b` not in `RoleBinding:a/bc`).
fn mentions(text: &str, reference: &str) -> bool {
    let name_char = |c: char| c.is_alphanumeric() || c == '-' || c == '.' || c == '_';
    text.match_indices(reference).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + reference.len()..].chars().next();
        before.is_none_or(|c| !name_char(c)) && after.is_none_or(|c| !name_char(c))
    })
}

/// The plan as a terminal table.
pub fn table(p: &Plan) -> String {
    let mut s = format!(
        "plan for cluster {}: {} object(s) changed; {} finding(s) introduced, {} resolved; {} attack path(s) introduced, {} resolved\n",
        p.cluster,
        p.changes.len(),
        p.introduced_findings.len(),
        p.resolved_findings.len(),
        p.introduced_paths.len(),
        p.resolved_paths.len()
    );
    for c in &p.changes {
        s.push_str(&format!("  {:<8} {}\n", c.action, c.reference));
    }
    for (mark, fs) in [("+", &p.introduced_findings), ("-", &p.resolved_findings)] {
        for f in fs {
            s.push_str(&format!(
                "{mark} finding {:<8} {} {}: {}\n",
                f.severity.as_str(),
                f.check,
                f.resource,
                f.message
            ));
        }
    }
    for ip in &p.introduced_paths {
        let via = if ip.changed_objects.is_empty() {
            String::new()
        } else {
            format!(" (through {})", ip.changed_objects.join(", "))
        };
        s.push_str(&format!(
            "+ path    {:<8} {} → {}{via}\n",
            ip.path.severity.as_str(),
            ip.path.source,
            ip.path.target
        ));
    }
    for path in &p.resolved_paths {
        s.push_str(&format!(
            "- path    {:<8} {} → {}\n",
            path.severity.as_str(),
            path.source,
            path.target
        ));
    }
    for e in &p.base_errors {
        s.push_str(&format!("! base: {e}\n"));
    }
    for w in &p.change_warnings {
        s.push_str(&format!("! change: {w}\n"));
    }
    s
}

/// Escapes everything Markdown (GitHub's included) could read as markup in a table cell: names,
/// messages and evidence are input, and a comment must not carry links, images, mentions or
/// HTML someone wrote into a resource name.
fn md(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '~' | '@' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\n' | '\r' => out.push(' '),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// The plan as Markdown, for a pull-request comment.
pub fn markdown(p: &Plan) -> String {
    let mut s = format!(
        "### kspm plan — cluster {}\n\n{} object(s) changed: **{}** finding(s) introduced, {} resolved; **{}** attack path(s) introduced, {} resolved.\n",
        md(&p.cluster),
        p.changes.len(),
        p.introduced_findings.len(),
        p.resolved_findings.len(),
        p.introduced_paths.len(),
        p.resolved_paths.len()
    );
    if !p.introduced_paths.is_empty() {
        s.push_str("\n#### Attack paths introduced\n\n| Severity | From | To | Through the change | Hops |\n|---|---|---|---|---|\n");
        for ip in &p.introduced_paths {
            let hops: Vec<&str> = ip
                .path
                .steps
                .iter()
                .map(|st| st.technique.as_str())
                .collect();
            s.push_str(&format!(
                "| {} | {} | {} | {} | {} |\n",
                ip.path.severity.as_str(),
                md(&ip.path.source),
                md(&ip.path.target),
                md(&ip.changed_objects.join(", ")),
                md(&hops.join(" → "))
            ));
        }
    }
    for (title, fs) in [
        ("Findings introduced", &p.introduced_findings),
        ("Findings resolved", &p.resolved_findings),
    ] {
        if fs.is_empty() {
            continue;
        }
        s.push_str(&format!(
            "\n#### {title}\n\n| Severity | Check | Resource | What |\n|---|---|---|---|\n"
        ));
        for f in fs.iter() {
            s.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                f.severity.as_str(),
                f.check,
                md(&f.resource),
                md(&f.message)
            ));
        }
    }
    if !p.resolved_paths.is_empty() {
        s.push_str("\n#### Attack paths resolved\n\n| Severity | From | To |\n|---|---|---|\n");
        for path in &p.resolved_paths {
            s.push_str(&format!(
                "| {} | {} | {} |\n",
                path.severity.as_str(),
                md(&path.source),
                md(&path.target)
            ));
        }
    }
    if !p.base_errors.is_empty() {
        s.push_str(&format!(
            "\n{} part(s) of the base could not be read; the plan covers the rest.\n",
            p.base_errors.len()
        ));
    }
    if !p.change_warnings.is_empty() {
        s.push_str(&format!(
            "\n{} object(s) are defined twice in the change; the later definition is planned.\n",
            p.change_warnings.len()
        ));
    }
    s
}

/// The plan as SARIF 2.1.0: each introduced finding at its changed manifest's line, each
/// introduced path at the first changed object it goes through.
pub fn sarif(p: &Plan) -> String {
    let located: Vec<PathAt<'_>> = p
        .introduced_paths
        .iter()
        .map(|ip| PathAt {
            path: &ip.path,
            // The changed object it goes through, else the change's first manifest (code
            // scanning shows a result only where it has a file).
            at: ip
                .changed_objects
                .iter()
                .find_map(|r| {
                    p.changes
                        .iter()
                        .find(|c| &c.reference == r && !c.file.is_empty())
                        .map(|c| (c.file.as_str(), c.line))
                })
                .or_else(|| {
                    p.changes
                        .iter()
                        .find(|c| !c.file.is_empty())
                        .map(|c| (c.file.as_str(), c.line))
                }),
        })
        .collect();
    kspm_engine::render::sarif::render_plan(&p.introduced_findings, &located)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_reference_is_mentioned_only_as_a_whole_name() {
        assert!(mentions("via RoleBinding:a/b (rule 0)", "RoleBinding:a/b"));
        assert!(mentions("RoleBinding:a/b", "RoleBinding:a/b"));
        assert!(!mentions("via RoleBinding:a/bc", "RoleBinding:a/b"));
        assert!(!mentions("a pod of CronJob:ns/x runs", "Job:ns/x"));
        assert!(!mentions("ClusterRoleBinding:x", "RoleBinding:x"));
    }

    #[test]
    fn deletions_name_their_namespace() {
        assert_eq!(
            deletion_key("Role/ns/r", "default"),
            Ok(("Role".into(), "ns".into(), "r".into()))
        );
        assert_eq!(
            deletion_key("Role/r", "team"),
            Ok(("Role".into(), "team".into(), "r".into()))
        );
        assert_eq!(
            deletion_key("ClusterRole/r", "team"),
            Ok(("ClusterRole".into(), String::new(), "r".into()))
        );
        assert!(deletion_key("Role", "default").is_err());
        assert!(deletion_key("Role//r", "default").is_err());
    }

    #[test]
    fn markdown_cells_show_text_and_render_nothing() {
        assert_eq!(md("a|b"), "a\\|b");
        assert_eq!(
            md("[x](y) @z `q` <b>"),
            "\\[x\\]\\(y\\) \\@z \\`q\\` &lt;b&gt;"
        );
        assert_eq!(md("line\nbreak"), "line break");
    }
}
