//! Fleet-scale benchmark: generates fleets of realistic shape (kspm-fleetgen), times kspm's
//! whole scan pipeline on them (read, parse, evaluate, render JSON), and, when the peers are
//! installed (`../shared/peers/install` → `./.peers`), times checkov and trivy on the small
//! fleet in the same run and prints the ratios.
//!
//! Run: `cargo bench --bench fleet` (add `-- --quick` for the small fleet only).

use kspm_engine::render::{render, Format};
use kspm_engine::ScanOptions;
use kspm_fleetgen::{generate, Shape};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn peak_rss_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn time_kspm(dir: &Path, runs: usize) -> (Duration, usize, usize) {
    let mut times = Vec::new();
    let mut objects = 0;
    let mut findings = 0;
    for _ in 0..runs {
        let t = Instant::now();
        let out = kspm_api::pipeline::scan_paths(&[dir.to_path_buf()], &ScanOptions::default());
        let json = render(&out.report, Format::Json, false);
        times.push(t.elapsed());
        objects = out.report.summary.objects;
        findings = out.report.summary.findings;
        std::hint::black_box(json);
    }
    (median(times), objects, findings)
}

fn time_peer(tool: &str, dir: &Path) -> Option<Duration> {
    let peers = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".peers");
    let ok = match tool {
        "checkov" => peers.join("venv/bin/checkov").exists(),
        _ => peers.join("trivy").exists(),
    };
    if !ok {
        return None;
    }
    let out = std::env::temp_dir().join(format!("kspm-bench-{tool}.json"));
    let t = Instant::now();
    let status = Command::new("bash")
        .arg("../shared/peers/run")
        .args([tool, &dir.to_string_lossy(), &out.to_string_lossy()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .ok()?;
    status.success().then(|| t.elapsed())
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let root = std::env::temp_dir().join("kspm-bench-fleets");
    let _ = std::fs::remove_dir_all(&root);
    let fleets: Vec<(&str, Shape)> = vec![
        (
            "small: 1 cluster, 10 ns x 8 services x 2 pods",
            Shape {
                clusters: 1,
                namespaces: 10,
                apps: 8,
                replicas: 2,
            },
        ),
        (
            "medium: 3 clusters, 30 ns x 15 services x 2 pods",
            Shape {
                clusters: 3,
                namespaces: 30,
                apps: 15,
                replicas: 2,
            },
        ),
        (
            "large: 10 clusters, 50 ns x 20 services x 2 pods",
            Shape {
                clusters: 10,
                namespaces: 50,
                apps: 20,
                replicas: 2,
            },
        ),
    ];
    println!("| fleet | objects | findings | kspm (median of 3) | objects/s | checkov | trivy |");
    println!("|---|---|---|---|---|---|---|");
    for (i, (name, shape)) in fleets.into_iter().enumerate() {
        if quick && i > 0 {
            break;
        }
        let dir = root.join(format!("fleet-{i}"));
        if let Err(e) = generate(&dir, shape, 42 + i as u64) {
            eprintln!("cannot generate {}: {e}", dir.display());
            return;
        }
        let (t, objects, findings) = time_kspm(&dir, 3);
        let (ckv, trivy) = if i == 0 {
            let cluster = dir.join("cluster-00");
            (time_peer("checkov", &cluster), time_peer("trivy", &cluster))
        } else {
            (None, None)
        };
        let ratio = |p: Option<Duration>| match p {
            Some(p) => format!(
                "{:.2} s ({:.0}x)",
                p.as_secs_f64(),
                p.as_secs_f64() / t.as_secs_f64()
            ),
            None => "—".to_string(),
        };
        println!(
            "| {name} | {objects} | {findings} | {:.3} s | {:.0} | {} | {} |",
            t.as_secs_f64(),
            objects as f64 / t.as_secs_f64(),
            ratio(ckv),
            ratio(trivy)
        );
    }
    if let Some(rss) = peak_rss_mib() {
        println!("\npeak RSS of the benchmark process: {rss:.0} MiB");
    }
    let _ = std::fs::remove_dir_all(&root);
}
