//! `kspm-fleetgen DIR [--clusters N] [--pods N] [--json] [--seed N]`: writes a synthetic fleet of
//! realistic shape (see `Shape::realistic`), or with `--shape NS,APPS,REPLICAS` a simple one.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || {
        eprintln!("usage: kspm-fleetgen DIR [--clusters N] [--pods N | --shape NS,APPS,REPLICAS] [--json] [--seed N]");
        ExitCode::from(2)
    };
    let Some(dir) = args
        .first()
        .filter(|a| !a.starts_with("--"))
        .map(PathBuf::from)
    else {
        return usage();
    };
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let num =
        |flag: &str, default: usize| value(flag).and_then(|v| v.parse().ok()).unwrap_or(default);
    let clusters = num("--clusters", 1);
    let json = args.iter().any(|a| a == "--json");
    let shape = match value("--shape") {
        Some(s) => {
            let parts: Vec<usize> = s.split(',').filter_map(|p| p.parse().ok()).collect();
            let [ns, apps, replicas] = parts[..] else {
                return usage();
            };
            let mut shape = kspm_fleetgen::Shape::simple(clusters, ns, apps, replicas);
            shape.json = json;
            shape
        }
        None => kspm_fleetgen::Shape::realistic(clusters, num("--pods", 1000), json),
    };
    match kspm_fleetgen::generate(&dir, shape, num("--seed", 42) as u64) {
        Ok(n) => {
            println!(
                "{n} objects in {} cluster(s) under {}",
                shape.clusters,
                dir.display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("kspm-fleetgen: {}: {e}", dir.display());
            ExitCode::from(1)
        }
    }
}
