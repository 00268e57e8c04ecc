//! Reads image vulnerability data from disk into a [`Database`]: the files and directories of
//! `--vulns` (Trivy, Grype or CycloneDX JSON reports; in a directory, also the KEV catalogue
//! `known_exploited_vulnerabilities*.json` and EPSS `*.csv` files), `--kev` and `--epss`, and a
//! fleet's `vulns/` directory. Files are streamed, never read whole; links out of a given
//! directory are not followed; what cannot be read is an error naming the file (and line), kept
//! with the database ([`Database::errors`]) while the rest is read.

use kspm_engine::vulns::formats::{read_epss, read_kev, read_report};
use kspm_engine::vulns::Database;
use kspm_engine::LoadError;
use std::fs;
use std::path::{Path, PathBuf};

/// What to read.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// Report files or directories (`--vulns`, a fleet's `vulns/`).
    pub reports: Vec<PathBuf>,
    /// The CISA KEV catalogue (`--kev`).
    pub kev: Option<PathBuf>,
    /// FIRST EPSS scores (`--epss`).
    pub epss: Option<PathBuf>,
}

impl Sources {
    /// Whether nothing is asked for.
    pub fn is_empty(&self) -> bool {
        self.reports.is_empty() && self.kev.is_none() && self.epss.is_none()
    }
}

fn error(path: &Path, message: impl Into<String>) -> LoadError {
    LoadError {
        file: path.to_string_lossy().into_owned(),
        line: None,
        column: None,
        message: message.into(),
    }
}

fn open(path: &Path) -> Result<fs::File, LoadError> {
    let meta = fs::metadata(path).map_err(|e| error(path, io_message(&e)))?;
    if !meta.is_file() {
        return Err(error(
            path,
            "not a regular file (FIFOs, sockets and devices are not read)",
        ));
    }
    fs::File::open(path).map_err(|e| error(path, io_message(&e)))
}

fn io_message(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// What kind of vulnerability data a file in a directory holds, by its name.
enum Kind {
    Report,
    Kev,
    Epss,
}

fn kind_of(p: &Path) -> Option<Kind> {
    let name = p.file_name()?.to_str()?;
    if name.starts_with('.') {
        return None;
    }
    if name.starts_with("known_exploited_vulnerabilities") && name.ends_with(".json") {
        Some(Kind::Kev)
    } else if name.ends_with(".json") {
        Some(Kind::Report)
    } else if name.ends_with(".csv") {
        Some(Kind::Epss)
    } else {
        None
    }
}

/// The files under `dir` (sorted), without following links out of it.
fn files_under(dir: &Path, errors: &mut Vec<LoadError>) -> Vec<PathBuf> {
    let base = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    let mut visited = 0usize;
    while let Some(d) = stack.pop() {
        visited += 1;
        if visited > 100_000 {
            errors.push(error(dir, "more than 100000 directories: stopped reading"));
            break;
        }
        let entries = match fs::read_dir(&d) {
            Ok(rd) => {
                let mut v: Vec<PathBuf> = rd.filter_map(|e| e.ok().map(|e| e.path())).collect();
                v.sort();
                v
            }
            Err(e) => {
                errors.push(error(&d, io_message(&e)));
                continue;
            }
        };
        for p in entries {
            if p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'))
            {
                continue;
            }
            let is_link = fs::symlink_metadata(&p).is_ok_and(|m| m.file_type().is_symlink());
            if is_link {
                match p.canonicalize() {
                    Ok(t) if t.starts_with(&base) => {}
                    Ok(_) => {
                        errors.push(error(
                            &p,
                            "symbolic link out of the directory: not followed",
                        ));
                        continue;
                    }
                    Err(_) => {
                        errors.push(error(&p, "broken symbolic link"));
                        continue;
                    }
                }
            }
            if p.is_dir() {
                if !is_link {
                    stack.push(p);
                }
            } else {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Reads every source into one database. A file that cannot be read is an error kept with the
/// database; `Err` when reports were asked for and none could be read at all (a gate must not
/// pass on nothing), or when the `--kev`/`--epss` file itself cannot be read.
pub fn load(sources: &Sources) -> Result<Database, String> {
    let mut db = Database::default();
    let mut errors = Vec::new();
    let mut kev = Vec::new();
    let mut epss = Vec::new();
    let mut reports = Vec::new();
    for p in &sources.reports {
        match fs::metadata(p) {
            Ok(m) if m.is_dir() => {
                for f in files_under(p, &mut errors) {
                    match kind_of(&f) {
                        Some(Kind::Report) => reports.push(f),
                        Some(Kind::Kev) => kev.push(f),
                        Some(Kind::Epss) => epss.push(f),
                        None => {}
                    }
                }
            }
            Ok(_) => reports.push(p.clone()),
            Err(e) => errors.push(error(p, io_message(&e))),
        }
    }
    // Parsing is most of the cost: a file per core, added in the given order.
    let read = kspm_engine::parallel::parallel_map(&reports, |f| {
        let name = f.to_string_lossy().into_owned();
        open(f).and_then(|r| read_report(r, &name))
    });
    for r in read {
        match r {
            Ok(scans) => db.add(scans),
            Err(e) => errors.push(e),
        }
    }
    // `--vulns` must yield something: an image scan, or (a directory of) KEV or EPSS data.
    if !sources.reports.is_empty() && db.is_empty() && kev.is_empty() && epss.is_empty() {
        let shown: Vec<String> = sources
            .reports
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let mut msg = format!(
            "no vulnerability report could be read from {}",
            shown.join(", ")
        );
        if !errors.is_empty() {
            let first: Vec<String> = errors.iter().take(3).map(|e| e.to_string()).collect();
            msg.push_str(&format!(": {}", first.join("; ")));
        } else {
            msg.push_str(" (expected Trivy, Grype or CycloneDX JSON files)");
        }
        return Err(msg);
    }
    let explicit_kev = sources.kev.iter().cloned();
    for (f, given) in explicit_kev
        .map(|p| (p, true))
        .chain(kev.into_iter().map(|p| (p, false)))
    {
        let name = f.to_string_lossy().into_owned();
        match open(&f).and_then(|r| read_kev(r, &name)) {
            Ok(ids) => db.add_known_exploited(ids),
            Err(e) if given => return Err(e.to_string()),
            Err(e) => errors.push(e),
        }
    }
    let explicit_epss = sources.epss.iter().cloned();
    for (f, given) in explicit_epss
        .map(|p| (p, true))
        .chain(epss.into_iter().map(|p| (p, false)))
    {
        let name = f.to_string_lossy().into_owned();
        match open(&f).and_then(|r| read_epss(r, &name)) {
            Ok((scores, bad)) => {
                db.add_epss(scores);
                errors.extend(bad);
            }
            Err(e) if given => return Err(e.to_string()),
            Err(e) => errors.push(e),
        }
    }
    db.add_errors(errors);
    Ok(db)
}
