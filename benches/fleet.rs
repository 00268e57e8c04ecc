//! Fleet-scale benchmark. Generates clusters of realistic shape (kspm-fleetgen: 300 namespaces,
//! ~2,000 ServiceAccounts and ~3,000 RoleBindings per 10,000 pods, pods spread over nodes),
//! then times the whole `kspm scan` pipeline — read, parse, every check, attack graph, paths,
//! JSON report — each in a fresh process so peak memory is that scan's alone. When the peers are
//! installed (`../shared/peers/install` → `./.peers`) it times checkov and trivy on the same
//! small cluster in the same run and prints the ratios.
//!
//! Beside each scan it times the physical limit of the same input: reading every file and parsing
//! it into generic trees (serde_json for JSON, kspm's YAML reader for YAML), on every core as the
//! scan does, and nothing else — each scan's wall clock is then given as a multiple of it.
//!
//! Run: `cargo bench --bench fleet` (`-- --quick` for the 1k-pod cluster only, no peers).

use kspm_engine::ScanOptions;
use kspm_fleetgen::{generate, Shape};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

// The allocator `kspm` itself runs with.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

/// Child mode: scan DIR once, render JSON, print `objects findings paths peak_rss_mib`.
fn single(dir: &Path) {
    let paths = [dir.to_path_buf()];
    let mut out = kspm_api::pipeline::scan(
        kspm_api::pipeline::Source::Paths(&paths),
        &ScanOptions::default(),
    )
    .expect("a scan of files");
    // As `kspm scan --format json`: the graph is freed before rendering (only HTML reads it).
    out.graph = None;
    let json = kspm_engine::render::render(&out.report, kspm_engine::render::Format::Json, false);
    std::hint::black_box(&json);
    let s = &out.report.summary;
    println!(
        "{} {} {} {:.0}",
        s.objects,
        s.findings,
        s.attack_paths,
        peak_rss_mib()
    );
}

/// Child mode: read and parse every file under DIR into generic trees, on every core, and
/// print the number of documents (the physical limit of a scan of DIR).
fn parse_only(dir: &Path) {
    fn files(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                files(&p, out);
            } else {
                out.push(p);
            }
        }
    }
    let mut all = Vec::new();
    files(dir, &mut all);
    all.sort();
    let counts = kspm_engine::parallel::parallel_map(&all, |f| {
        let Ok(text) = std::fs::read_to_string(f) else {
            return 0;
        };
        if f.extension().is_some_and(|e| e == "json") {
            let v: serde_json::Value = serde_json::from_str(&text).expect("JSON");
            let n = v["items"].as_array().map_or(1, Vec::len);
            std::hint::black_box(v);
            n
        } else {
            let mut n = 0;
            for doc in kspm_engine::parse::yaml_documents(&text) {
                std::hint::black_box(kspm_engine::yaml::value(&doc).expect("YAML"));
                n += 1;
            }
            n
        }
    });
    println!("{} 0 0 0", counts.iter().sum::<usize>());
}

struct Run {
    wall: Duration,
    objects: u64,
    findings: u64,
    paths: u64,
    rss: f64,
}

fn run_child(mode: &str, dir: &Path) -> Option<Run> {
    let exe = std::env::current_exe().ok()?;
    let t = Instant::now();
    let out = Command::new(exe).arg(mode).arg(dir).output().ok()?;
    let wall = t.elapsed();
    let text = String::from_utf8_lossy(&out.stdout);
    let nums: Vec<f64> = text
        .split_whitespace()
        .filter_map(|x| x.parse().ok())
        .collect();
    (nums.len() == 4).then(|| Run {
        wall,
        objects: nums[0] as u64,
        findings: nums[1] as u64,
        paths: nums[2] as u64,
        rss: nums[3],
    })
}

fn median_run(mode: &str, dir: &Path, runs: usize) -> Option<Run> {
    let mut all: Vec<Run> = (0..runs).filter_map(|_| run_child(mode, dir)).collect();
    all.sort_by_key(|r| r.wall);
    let mid = all.len() / 2;
    (!all.is_empty()).then(|| all.swap_remove(mid))
}

fn time_peer(tool: &str, dir: &Path) -> Option<Duration> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let ok = match tool {
        "checkov" => root.join(".peers/venv/bin/checkov").exists(),
        _ => root.join(".peers/trivy").exists(),
    };
    if !ok {
        return None;
    }
    let out = std::env::temp_dir().join(format!("kspm-bench-{tool}.json"));
    let t = Instant::now();
    let status = Command::new("bash")
        .arg("../shared/peers/run")
        .args([tool, &dir.to_string_lossy(), &out.to_string_lossy()])
        .current_dir(&root)
        .status()
        .ok()?;
    status.success().then(|| t.elapsed())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--single") {
        if let Some(dir) = args.get(i + 1) {
            single(Path::new(dir));
        }
        return;
    }
    if let Some(i) = args.iter().position(|a| a == "--parse-only") {
        if let Some(dir) = args.get(i + 1) {
            parse_only(Path::new(dir));
        }
        return;
    }
    let quick = args.iter().any(|a| a == "--quick");
    let root = std::env::temp_dir().join("kspm-bench-fleets");
    let _ = std::fs::remove_dir_all(&root);
    let scenarios: Vec<(&str, Shape)> = vec![
        (
            "1 cluster, 1,000 pods, YAML",
            Shape::realistic(1, 1_000, false),
        ),
        (
            "1 cluster, 10,000 pods, YAML",
            Shape::realistic(1, 10_000, false),
        ),
        (
            "1 cluster, 10,000 pods, JSON",
            Shape::realistic(1, 10_000, true),
        ),
        (
            "1 cluster, 50,000 pods, YAML",
            Shape::realistic(1, 50_000, false),
        ),
        (
            "20 clusters × 5,000 pods, YAML",
            Shape::realistic(20, 5_000, false),
        ),
        (
            "1 cluster, 100,000 pods, JSON",
            Shape::realistic(1, 100_000, true),
        ),
    ];
    println!("| input | objects | findings | attack paths | kspm scan (wall, median of 3) | objects/s | peak RSS | parse alone | scan ÷ parse |");
    println!("|---|---|---|---|---|---|---|---|---|");
    for (i, (name, shape)) in scenarios.iter().enumerate() {
        if quick && i > 0 {
            break;
        }
        let dir = root.join(format!("s{i}"));
        if let Err(e) = generate(&dir, *shape, 7 + i as u64) {
            eprintln!("cannot generate {}: {e}", dir.display());
            return;
        }
        let runs = if shape.clusters * shape.namespaces * shape.apps * shape.replicas > 40_000 {
            1
        } else {
            3
        };
        let parse = median_run("--parse-only", &dir, runs).map(|r| r.wall.as_secs_f64());
        match median_run("--single", &dir, runs) {
            Some(r) => println!(
                "| {name} | {} | {} | {} | {:.2} s | {:.0} | {:.0} MiB | {} | {} |",
                r.objects,
                r.findings,
                r.paths,
                r.wall.as_secs_f64(),
                r.objects as f64 / r.wall.as_secs_f64(),
                r.rss,
                parse.map_or("—".into(), |p| format!("{p:.2} s")),
                parse.map_or("—".into(), |p| format!(
                    "{:.1}×",
                    r.wall.as_secs_f64() / p
                )),
            ),
            None => println!("| {name} | — | — | — | failed | — | — | — | — |"),
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    if quick {
        return;
    }
    // Peers, on one small cluster (they take seconds per hundred objects).
    let dir = root.join("peers");
    if generate(&dir, Shape::realistic(1, 300, false), 99).is_err() {
        return;
    }
    let cluster = dir.join("cluster-00");
    let Some(k) = median_run("--single", &cluster, 3) else {
        return;
    };
    println!(
        "\n| tool, same input ({} objects) | wall | vs kspm |\n|---|---|---|",
        k.objects
    );
    println!(
        "| kspm (checks + attack graph + paths) | {:.2} s | 1× |",
        k.wall.as_secs_f64()
    );
    for tool in ["checkov", "trivy"] {
        match time_peer(tool, &cluster) {
            Some(t) => println!(
                "| {tool} | {:.2} s | {:.0}× slower |",
                t.as_secs_f64(),
                t.as_secs_f64() / k.wall.as_secs_f64()
            ),
            None => println!("| {tool} | not installed (../shared/peers/install) | — |"),
        }
    }
    let _ = std::fs::remove_dir_all(&root);
}
