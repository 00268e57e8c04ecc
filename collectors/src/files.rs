//! The file collector: reads snapshot directories (or single files) from disk.
//!
//! Layout (see `docs/snapshot-format.md`): a cluster is a directory whose `*.yaml|*.yml|*.json`
//! files hold Kubernetes objects, with an optional `kspm-cluster.yaml` naming it; a fleet is a
//! directory of such cluster directories. `cloud/` and `kubelet/` at a cluster's or fleet's root
//! are reserved for provider data and are not read as Kubernetes objects.

use kspm_engine::parse::{parse_text, LoadError, ParseOutcome, Syntax};
use kspm_engine::snapshot::{ClusterInfo, ClusterSnapshot, Snapshot};
use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use tracing::{debug, warn};

/// Names of the optional cluster metadata file.
pub const CLUSTER_INFO_FILES: [&str; 3] =
    ["kspm-cluster.yaml", "kspm-cluster.yml", "kspm-cluster.json"];

/// Directories at a cluster's or fleet's root that hold non-Kubernetes data.
pub const RESERVED_DIRS: [&str; 3] = ["cloud", "kubelet", "vulns"];

/// One cluster to read: a directory or a single file, and the (fleet-unique) name it gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterSource {
    /// Directory or file.
    pub path: PathBuf,
    /// Whether `path` is a single file.
    pub is_file: bool,
    /// Cluster name (from `kspm-cluster.yaml`, the directory or file name; made unique).
    pub name: String,
}

/// What a set of paths holds: the clusters to read, and the paths that could not be read.
#[derive(Debug, Default)]
pub struct Plan {
    /// Clusters, in the order given.
    pub clusters: Vec<ClusterSource>,
    /// Paths that do not exist or cannot be listed, stray files at a fleet's top.
    pub errors: Vec<LoadError>,
    /// Fleet-level `cloud/` directories (account, project and subscription data).
    pub cloud_dirs: Vec<PathBuf>,
    /// Fleet-level `vulns/` directories (image vulnerability reports, KEV, EPSS).
    pub vulns_dirs: Vec<PathBuf>,
}

/// Works out which clusters the paths hold without reading their objects, so a caller can
/// read and evaluate one cluster at a time.
pub fn plan(paths: &[PathBuf]) -> Plan {
    let mut plan = Plan::default();
    for path in paths {
        plan_path(path, &mut plan);
    }
    // A cluster directory's own `vulns/` (image reports are matched fleet-wide, by image).
    for c in &plan.clusters {
        let dir = c.path.join("vulns");
        if !c.is_file && dir.is_dir() && !plan.vulns_dirs.contains(&dir) {
            plan.vulns_dirs.push(dir);
        }
    }
    let mut seen = HashSet::new();
    for c in &mut plan.clusters {
        let base = c.name.clone();
        let mut n = 2;
        while !seen.insert(c.name.clone()) {
            c.name = format!("{base}-{n}");
            n += 1;
        }
    }
    plan
}

/// Reads one planned cluster.
pub fn load_source(src: &ClusterSource) -> ClusterSnapshot {
    let mut cluster = if src.is_file {
        let mut c = new_cluster(src.name.clone(), &src.path);
        read_file(&src.path, &mut c);
        c
    } else {
        load_cluster_dir(&src.path)
    };
    cluster.info.name = src.name.clone();
    // Rejected objects first: a rejected later definition leaves the earlier one applied.
    let malformed = kspm_engine::validate::drop_malformed(&mut cluster.objects);
    cluster.errors.extend(malformed);
    let duplicates = kspm_engine::parse::dedupe(&mut cluster.objects);
    cluster.errors.extend(duplicates);
    cluster
}

/// Reads every path into one snapshot. Never fails as a whole: what cannot be read becomes an
/// error entry and the rest is still read.
pub fn load(paths: &[PathBuf]) -> Snapshot {
    let plan = plan(paths);
    let (cloud, mut errors) = load_fleet_cloud(&plan);
    errors.extend(plan.errors);
    Snapshot {
        clusters: plan.clusters.iter().map(load_source).collect(),
        errors,
        cloud,
    }
}

/// Reads a JSON file; a syntax error names the file, line and column, prefixed by `what`.
fn read_json(path: &Path, what: &str) -> Result<serde_json::Value, LoadError> {
    let text = decode_text(read_regular(path).map_err(|m| file_error(path, m))?)
        .ok_or_else(|| file_error(path, "not UTF-8 or UTF-16 text"))?;
    serde_json::from_str(&text).map_err(|e| LoadError {
        file: path_str(path),
        line: Some(e.line()),
        column: Some(e.column()),
        message: format!(
            "{what}: {}",
            e.to_string().split(" at line ").next().unwrap_or("")
        ),
    })
}

/// Reads the plan's fleet-level `cloud/` directories.
pub fn load_fleet_cloud(plan: &Plan) -> (Vec<kspm_engine::Object>, Vec<LoadError>) {
    let mut objects = Vec::new();
    let mut errors = Vec::new();
    for dir in &plan.cloud_dirs {
        read_cloud_dir(dir, &mut objects, &mut errors);
    }
    (objects, errors)
}

/// Reads every `*.json` under a `cloud/` directory as provider documents (see
/// [`kspm_engine::cloud::documents::objects_from_document`]); what is not one becomes an error
/// naming the file.
pub fn read_cloud_dir(
    dir: &Path,
    objects: &mut Vec<kspm_engine::Object>,
    errors: &mut Vec<LoadError>,
) {
    if !dir.is_dir() {
        return;
    }
    let mut files = Vec::new();
    // Links out of the directory that holds `cloud/` are not followed.
    let base = dir
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| dir.to_path_buf());
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        match sorted_entries(&d) {
            Ok(entries) => {
                for p in entries {
                    if is_hidden(&p) {
                        continue;
                    }
                    if let Some(why) = escapes(&p, &base) {
                        errors.push(file_error(&p, why));
                        continue;
                    }
                    if p.is_dir() {
                        stack.push(p);
                    } else if p.extension().is_some_and(|x| x == "json") {
                        files.push(p);
                    }
                }
            }
            Err(e) => errors.push(e),
        }
    }
    files.sort();
    for (page, path) in files.iter().enumerate() {
        let file = path_str(path);
        let value = read_json(path, "invalid JSON");
        let source = kspm_engine::object::Source {
            file: file.clone(),
            line: Some(1),
        };
        match value.and_then(|v| {
            kspm_engine::cloud::documents::objects_from_document(v, &source, page).map_err(|m| {
                LoadError {
                    file: file.clone(),
                    line: None,
                    column: None,
                    message: m,
                }
            })
        }) {
            Ok(o) => objects.extend(o),
            Err(e) => errors.push(e),
        }
    }
}

fn path_str(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

fn io_error(path: &Path, e: &std::io::Error) -> LoadError {
    file_error(path, io_message(e))
}

/// An error about a whole file (no line).
fn file_error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError {
        file: path_str(path),
        line: None,
        column: None,
        message: message.into(),
    }
}

fn dir_source(dir: &Path) -> ClusterSource {
    let mut probe = new_cluster(
        dir.canonicalize()
            .ok()
            .as_deref()
            .and_then(Path::file_name)
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cluster".into()),
        dir,
    );
    if let Some(info_path) = CLUSTER_INFO_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    {
        // Errors are reported when the cluster itself is read.
        read_info(&info_path, &mut probe);
    }
    ClusterSource {
        path: dir.to_path_buf(),
        is_file: false,
        name: probe.info.name,
    }
}

fn plan_path(path: &Path, plan: &mut Plan) {
    let meta = match fs::metadata(path) {
        Ok(m) => m,
        Err(e) => {
            plan.errors.push(io_error(path, &e));
            return;
        }
    };
    if meta.is_file() {
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_else(|| "cluster".into());
        plan.clusters.push(ClusterSource {
            path: path.to_path_buf(),
            is_file: true,
            name,
        });
        return;
    }
    if has_info_file(path) {
        plan.clusters.push(dir_source(path));
        return;
    }
    let subdirs = match sorted_entries(path) {
        Ok(entries) => entries
            .into_iter()
            .filter(|p| p.is_dir() && !is_hidden(p) && !is_reserved(p))
            .collect::<Vec<_>>(),
        Err(e) => {
            plan.errors.push(e);
            return;
        }
    };
    if subdirs.iter().any(|d| has_info_file(d)) {
        debug!(path = %path_str(path), clusters = subdirs.len(), "reading fleet");
        if path.join("cloud").is_dir() {
            plan.cloud_dirs.push(path.join("cloud"));
        }
        if path.join("vulns").is_dir() {
            plan.vulns_dirs.push(path.join("vulns"));
        }
        for dir in subdirs {
            plan.clusters.push(dir_source(&dir));
        }
        if let Ok(entries) = sorted_entries(path) {
            for f in entries.iter().filter(|p| p.is_file() && is_manifest(p)) {
                plan.errors.push(LoadError {
                    file: path_str(f),
                    line: None,
                    column: None,
                    message: "file at the top of a fleet directory belongs to no cluster; move it into a cluster directory".into(),
                });
            }
        }
    } else {
        plan.clusters.push(dir_source(path));
    }
}

fn new_cluster(name: String, origin: &Path) -> ClusterSnapshot {
    ClusterSnapshot {
        info: ClusterInfo {
            name,
            ..Default::default()
        },
        origin: path_str(origin),
        ..Default::default()
    }
}

fn has_info_file(dir: &Path) -> bool {
    CLUSTER_INFO_FILES.iter().any(|f| dir.join(f).is_file())
}

fn is_hidden(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with('.'))
}

fn is_reserved(p: &Path) -> bool {
    p.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| RESERVED_DIRS.contains(&n))
}

fn is_manifest(p: &Path) -> bool {
    let name = p
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    (name.ends_with(".yaml") || name.ends_with(".yml") || name.ends_with(".json"))
        && !CLUSTER_INFO_FILES.contains(&name.as_str())
}

fn sorted_entries(dir: &Path) -> Result<Vec<PathBuf>, LoadError> {
    let rd = fs::read_dir(dir).map_err(|e| io_error(dir, &e))?;
    let mut out: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
    out.sort();
    Ok(out)
}

/// Reads one cluster directory.
pub fn load_cluster_dir(dir: &Path) -> ClusterSnapshot {
    let name = dir
        .canonicalize()
        .ok()
        .as_deref()
        .and_then(Path::file_name)
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "cluster".into());
    let mut cluster = new_cluster(name, dir);
    if let Some(info_path) = CLUSTER_INFO_FILES
        .iter()
        .map(|f| dir.join(f))
        .find(|p| p.is_file())
    {
        read_info(&info_path, &mut cluster);
    }
    read_kubelet_configs(&dir.join("kubelet"), &mut cluster);
    read_cloud_dir(
        &dir.join("cloud"),
        &mut cluster.objects,
        &mut cluster.errors,
    );
    let mut files = Vec::new();
    let mut visited = HashSet::new();
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    walk(
        dir,
        &base,
        true,
        &mut files,
        &mut visited,
        &mut cluster.errors,
    );
    for out in read_all(&files) {
        cluster.objects.extend(out.objects);
        cluster.errors.extend(out.errors);
    }
    debug!(cluster = %cluster.info.name, objects = cluster.objects.len(), errors = cluster.errors.len(), "read cluster");
    cluster
}

/// Reads `kubelet/<node>.json`: the response of `GET /api/v1/nodes/<node>/proxy/configz`
/// (`{"kubeletconfig": {...}}`) or a bare KubeletConfiguration, as a `KubeletConfiguration`
/// object named after the node.
fn read_kubelet_configs(dir: &Path, cluster: &mut ClusterSnapshot) {
    if !dir.is_dir() {
        return;
    }
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => {
            cluster.errors.push(e);
            return;
        }
    };
    let base = dir
        .parent()
        .and_then(|p| p.canonicalize().ok())
        .unwrap_or_else(|| dir.to_path_buf());
    for path in entries
        .into_iter()
        .filter(|p| escapes(p, &base).is_none())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "json"))
    {
        let file = path_str(&path);
        let node = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let parsed = read_json(&path, "invalid kubelet configz JSON");
        let value = match parsed {
            Ok(v) => v,
            Err(e) => {
                cluster.errors.push(e);
                continue;
            }
        };
        let config = value.get("kubeletconfig").cloned().unwrap_or(value);
        if !config.is_object() {
            cluster.errors.push(LoadError {
                file,
                line: None,
                column: None,
                message: "kubelet configz is not a JSON object".into(),
            });
            continue;
        }
        let body = serde_json::json!({
            "apiVersion": "kubelet.config.k8s.io/v1beta1",
            "kind": "KubeletConfiguration",
            "metadata": {"name": node},
            "config": config,
        });
        let Some(map) = body.as_object().cloned() else {
            continue;
        };
        match kspm_engine::parse::object_from_map(
            map,
            kspm_engine::object::Source {
                file: file.clone(),
                line: Some(1),
            },
        ) {
            Ok(o) => cluster.objects.push(o),
            Err(m) => cluster.errors.push(LoadError {
                file,
                line: None,
                column: None,
                message: m,
            }),
        }
    }
}

/// Whether symbolic links may lead outside the snapshot directory (`KSPM_FOLLOW_SYMLINKS=1`,
/// for layouts whose every writer is trusted): by default they may not, so that whoever can
/// write one target's directory cannot link another's snapshot into it.
fn follow_links_outside() -> bool {
    std::env::var("KSPM_FOLLOW_SYMLINKS").is_ok_and(|v| v == "1" || v == "true")
}

/// `Some(reason)` when `p` is a symbolic link that must not be followed: broken, or leading
/// outside `base` (the snapshot directory, resolved).
fn escapes(p: &Path, base: &Path) -> Option<&'static str> {
    let is_link = fs::symlink_metadata(p).is_ok_and(|m| m.file_type().is_symlink());
    if !is_link {
        return None;
    }
    match p.canonicalize() {
        Err(_) => Some("broken symbolic link"),
        Ok(real) if real.starts_with(base) || follow_links_outside() => None,
        Ok(_) => Some("symbolic link leading outside the snapshot directory: not read (KSPM_FOLLOW_SYMLINKS=1 allows it for trusted layouts)"),
    }
}

fn walk(
    dir: &Path,
    base: &Path,
    root: bool,
    files: &mut Vec<PathBuf>,
    visited: &mut HashSet<PathBuf>,
    errors: &mut Vec<LoadError>,
) {
    // Symlinked directories may loop; read each real directory once.
    if let Ok(real) = dir.canonicalize() {
        if !visited.insert(real) {
            return;
        }
    }
    let entries = match sorted_entries(dir) {
        Ok(e) => e,
        Err(e) => {
            errors.push(e);
            return;
        }
    };
    for p in entries {
        if is_hidden(&p) {
            continue;
        }
        if let Some(why) = escapes(&p, base) {
            if p.is_dir() || is_manifest(&p) || !p.exists() {
                errors.push(file_error(&p, why));
            }
            continue;
        }
        if p.is_dir() {
            if !(root && is_reserved(&p)) {
                walk(&p, base, false, files, visited, errors);
            }
        } else if is_manifest(&p) {
            files.push(p);
        }
    }
}

fn read_info(path: &Path, cluster: &mut ClusterSnapshot) {
    let file = path_str(path);
    let text = match fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            cluster.errors.push(io_error(path, &e));
            return;
        }
    };
    let parsed: Result<ClusterInfo, (Option<usize>, String)> = if file.ends_with(".json") {
        serde_json::from_str(&text).map_err(|e| (Some(e.line()), e.to_string()))
    } else {
        kspm_engine::yaml::from_str(&text).map_err(|e| (e.line, e.message))
    };
    match parsed {
        Ok(mut info) => {
            if info.name.is_empty() {
                info.name = cluster.info.name.clone();
            }
            cluster.info = info;
        }
        Err((line, msg)) => {
            warn!(file = %file, "invalid cluster metadata");
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            cluster.errors.push(LoadError {
                file,
                line,
                column: None,
                message: format!("invalid cluster metadata: {msg}"),
            });
        }
    }
}

/// The largest manifest file read, in bytes (`KSPM_MAX_FILE_BYTES` overrides; default 256 MiB).
pub fn max_file_bytes() -> u64 {
    std::env::var("KSPM_MAX_FILE_BYTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(256 << 20)
}

/// The bytes of a regular file of at most [`max_file_bytes`]: FIFOs, sockets and devices are
/// never opened (a FIFO would block, `/dev/zero` would never end).
fn read_regular(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    let meta = fs::metadata(path).map_err(|e| io_message(&e))?;
    if !meta.is_file() {
        return Err("not a regular file (FIFOs, sockets and devices are not read)".into());
    }
    let limit = max_file_bytes();
    if meta.len() > limit {
        return Err(format!(
            "file is larger than {limit} bytes (set KSPM_MAX_FILE_BYTES to read it)"
        ));
    }
    let mut bytes = Vec::new();
    fs::File::open(path)
        .and_then(|f| f.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| io_message(&e))?;
    if bytes.len() as u64 > limit {
        return Err(format!("file is larger than {limit} bytes"));
    }
    Ok(bytes)
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Text from bytes as kubectl accepts them: UTF-8 with or without a byte-order mark, or UTF-16
/// (little or big endian) with one, as PowerShell redirection writes.
pub fn decode_text(bytes: Vec<u8>) -> Option<String> {
    let utf16 = |b: &[u8], le: bool| {
        if !b.len().is_multiple_of(2) {
            return None;
        }
        let units = b.chunks_exact(2).map(|c| {
            if le {
                u16::from_le_bytes([c[0], c[1]])
            } else {
                u16::from_be_bytes([c[0], c[1]])
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .ok()
    };
    match bytes.as_slice() {
        [0xEF, 0xBB, 0xBF, rest @ ..] => String::from_utf8(rest.to_vec()).ok(),
        [0xFF, 0xFE, rest @ ..] => utf16(rest, true),
        [0xFE, 0xFF, rest @ ..] => utf16(rest, false),
        _ => String::from_utf8(bytes).ok(),
    }
}

/// Reads and parses one file. I/O and encoding problems become errors like parse errors do.
pub fn read_objects(path: &Path) -> ParseOutcome {
    let file = path_str(path);
    let mut out = ParseOutcome::default();
    let bytes = match read_regular(path) {
        Ok(b) => b,
        Err(message) => {
            out.errors.push(file_error(path, message));
            return out;
        }
    };
    let Some(text) = decode_text(bytes) else {
        out.errors
            .push(file_error(path, "not UTF-8 or UTF-16 text"));
        return out;
    };
    let out = parse_text(&text, &file, Syntax::for_path(&file));
    if !out.errors.is_empty() {
        warn!(file = %file, errors = out.errors.len(), "could not read every document");
    }
    out
}

/// Reads and parses files on every core, returning the outcomes in the files' order (so the
/// snapshot, and every report built from it, is the same whatever the scheduling).
fn read_all(files: &[PathBuf]) -> Vec<ParseOutcome> {
    let slots = kspm_engine::parallel::parallel_map_caught(files, |f| read_objects(f));
    // A slot is empty only if its reader failed; say so rather than lose the file silently.
    slots
        .into_iter()
        .zip(files)
        .map(|(slot, f)| {
            slot.unwrap_or_else(|| ParseOutcome {
                objects: Vec::new(),
                errors: vec![LoadError {
                    file: path_str(f),
                    line: None,
                    column: None,
                    message: "internal error while reading this file; it was not scanned".into(),
                }],
            })
        })
        .collect()
}

fn read_file(path: &Path, cluster: &mut ClusterSnapshot) {
    let out = read_objects(path);
    cluster.objects.extend(out.objects);
    cluster.errors.extend(out.errors);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, rel: &str, text: &str) {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        fs::write(p, text).expect("write");
    }

    const NS: &str = "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n";

    #[test]
    fn fleet_of_clusters_with_metadata_and_reserved_dirs() {
        let t = tempfile::tempdir().expect("tmp");
        write(t.path(), "one/kspm-cluster.yaml", "apiVersion: kspm.io/v1\nkind: ClusterInfo\nname: prod\nprovider: eks\nkubernetesVersion: '1.31'\n");
        write(t.path(), "one/ns.yaml", NS);
        write(
            t.path(),
            "one/cloud/describe-cluster.json",
            "{\"cluster\": {\"name\": \"prod\"}}",
        );
        write(t.path(), "one/.hidden/x.yaml", NS);
        write(t.path(), "two/kspm-cluster.yaml", "provider: gke\n");
        write(
            t.path(),
            "two/sub/ns.json",
            "{\"apiVersion\":\"v1\",\"kind\":\"Namespace\",\"metadata\":{\"name\":\"b\"}}",
        );
        write(t.path(), "two/README.md", "# not read");
        let s = load(&[t.path().to_path_buf()]);
        assert!(s.errors.is_empty(), "{:?}", s.errors);
        assert_eq!(s.clusters.len(), 2);
        assert_eq!(s.clusters[0].info.name, "prod");
        assert_eq!(s.clusters[0].info.version(), Some((1, 31)));
        // The Namespace, and the cluster's DescribeCluster output as a synthetic object.
        assert_eq!(s.clusters[0].objects.len(), 2);
        assert_eq!(s.clusters[0].objects[0].kind, "EksCluster");
        assert!(
            s.clusters[0].errors.is_empty(),
            "{:?}",
            s.clusters[0].errors
        );
        assert_eq!(s.clusters[1].info.name, "two");
        assert_eq!(s.clusters[1].objects.len(), 1);
    }

    #[test]
    fn cloud_documents_of_clusters_and_fleets() {
        let t = tempfile::tempdir().expect("tmp");
        write(t.path(), "one/kspm-cluster.yaml", "provider: eks\n");
        write(t.path(), "one/cloud/nodegroups/ng1.json", "{\"nodegroup\": {\"nodegroupName\": \"ng1\", \"nodeRole\": \"arn:aws:iam::111122223333:role/node\"}}");
        write(t.path(), "one/cloud/broken.json", "{\"cluster\": \n  {,}}");
        write(t.path(), "one/cloud/unknown.json", "{\"Clusters\": []}");
        write(t.path(), "one/cloud/notes.txt", "not read");
        write(
            t.path(),
            "cloud/aws/111122223333/gaad.json",
            "{\"RoleDetailList\": [{\"Arn\": \"arn:aws:iam::111122223333:role/node\"}]}",
        );
        let s = load(&[t.path().to_path_buf()]);
        assert_eq!(s.clusters.len(), 1, "the fleet's cloud/ is not a cluster");
        let c = &s.clusters[0];
        assert_eq!(c.objects.len(), 1);
        assert_eq!(c.objects[0].node_ref(), "EksNodegroup:ng1");
        assert_eq!(c.errors.len(), 2, "{:?}", c.errors);
        assert!(c.errors[0].file.ends_with("broken.json") && c.errors[0].line == Some(2));
        assert!(c.errors[1].file.ends_with("unknown.json"));
        assert!(c.errors[1].message.contains("top-level keys: Clusters"));
        assert_eq!(s.cloud.len(), 1);
        assert_eq!(
            s.cloud[0].node_ref(),
            "AwsAuthorizationDetails:111122223333:0"
        );
        assert!(s.errors.is_empty(), "{:?}", s.errors);
    }

    #[test]
    fn plain_manifest_folder_and_missing_path() {
        let t = tempfile::tempdir().expect("tmp");
        write(t.path(), "app/base/ns.yaml", NS);
        write(t.path(), "app/bad.yaml", "kind: [\n");
        let s = load(&[t.path().join("app"), t.path().join("nope")]);
        assert_eq!(s.clusters.len(), 1);
        assert_eq!(s.clusters[0].info.name, "app");
        assert_eq!(s.clusters[0].objects.len(), 1);
        assert_eq!(s.clusters[0].errors.len(), 1);
        assert!(s.clusters[0].errors[0].file.ends_with("bad.yaml"));
        assert_eq!(s.errors.len(), 1);
        assert_eq!(s.errors[0].message, "no such file or directory");
    }

    #[test]
    fn bad_metadata_and_binary_files_are_errors() {
        let t = tempfile::tempdir().expect("tmp");
        write(t.path(), "c/kspm-cluster.yaml", "name: x\nprovder: eks\n");
        fs::write(t.path().join("c/blob.yaml"), [0xff, 0xfe, 0x00]).expect("write");
        let s = load(&[t.path().join("c")]);
        let msgs: Vec<_> = s.clusters[0]
            .errors
            .iter()
            .map(|e| e.message.clone())
            .collect();
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        assert!(msgs[0].contains("not UTF-8") || msgs[1].contains("not UTF-8"));
        assert!(msgs.iter().any(|m| m.contains("provder")));
    }

    #[test]
    fn kubelet_configz_files_become_objects() {
        let t = tempfile::tempdir().expect("tmp");
        write(
            t.path(),
            "c/kubelet/node-1.json",
            "{\"kubeletconfig\": {\"readOnlyPort\": 10255}}",
        );
        write(t.path(), "c/kubelet/node-2.json", "{\"readOnlyPort\": 0}");
        write(t.path(), "c/kubelet/node-3.json", "{broken");
        write(t.path(), "c/kubelet/notes.txt", "ignored");
        let s = load(&[t.path().join("c")]);
        let c = &s.clusters[0];
        let kubelets: Vec<_> = c
            .objects
            .iter()
            .filter(|o| o.kind == "KubeletConfiguration")
            .collect();
        assert_eq!(kubelets.len(), 2);
        assert_eq!(kubelets[0].node_ref(), "KubeletConfiguration:node-1");
        assert_eq!(kubelets[0].body["config"]["readOnlyPort"], 10255);
        assert_eq!(c.errors.len(), 1);
        assert!(c.errors[0].file.ends_with("node-3.json") && c.errors[0].line == Some(1));
    }

    #[test]
    fn duplicate_cluster_names_are_made_unique() {
        let t = tempfile::tempdir().expect("tmp");
        write(t.path(), "a/kspm-cluster.yaml", "name: same\n");
        write(t.path(), "b/kspm-cluster.yaml", "name: same\n");
        let s = load(&[t.path().to_path_buf()]);
        let names: Vec<_> = s.clusters.iter().map(|c| c.info.name.as_str()).collect();
        assert_eq!(names, ["same", "same-2"]);
    }
}
