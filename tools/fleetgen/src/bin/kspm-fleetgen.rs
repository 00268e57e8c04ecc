//! `kspm-fleetgen DIR [CLUSTERS NAMESPACES APPS REPLICAS [SEED]]`: writes a synthetic fleet.

use std::path::PathBuf;
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(dir) = args.first().map(PathBuf::from) else {
        eprintln!("usage: kspm-fleetgen DIR [CLUSTERS NAMESPACES APPS REPLICAS [SEED]]");
        return ExitCode::from(2);
    };
    let num =
        |i: usize, default: usize| args.get(i).and_then(|s| s.parse().ok()).unwrap_or(default);
    let shape = kspm_fleetgen::Shape {
        clusters: num(1, 3),
        namespaces: num(2, 20),
        apps: num(3, 10),
        replicas: num(4, 2),
    };
    match kspm_fleetgen::generate(&dir, shape, num(5, 42) as u64) {
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
