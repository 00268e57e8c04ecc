//! Prometheus metrics in the text exposition format, served on their own listener.

use super::store::ScanRecord;
use std::collections::BTreeMap;
use std::sync::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The service's counters and gauges.
#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    scans: BTreeMap<(String, String, &'static str), u64>,
    scan_seconds_sum: BTreeMap<(String, String), f64>,
    scan_seconds_last: BTreeMap<(String, String), f64>,
    clusters: BTreeMap<(String, String), (u64, u64)>,
    findings: BTreeMap<(String, String, String), u64>,
    api_errors: BTreeMap<String, u64>,
    reviews: BTreeMap<(String, String, &'static str), u64>,
    /// Watched batches by (tenant, target, outcome): count and seconds.
    watch_batches: BTreeMap<(String, String, &'static str), (u64, f64)>,
}

fn esc(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Metrics {
    /// Records a finished scan (`ok`: committed).
    pub fn scan(&self, record: &ScanRecord, ok: bool, seconds: f64) {
        let reached = record.clusters.iter().filter(|c| c.reached).count() as u64;
        let unreached = record.clusters.len() as u64 - reached;
        let mut by_severity: BTreeMap<String, u64> = BTreeMap::new();
        for f in &record.findings {
            *by_severity
                .entry(f.severity.as_str().to_string())
                .or_default() += 1;
        }
        let Ok(mut m) = self.inner.lock() else { return };
        let key = (record.tenant.clone(), record.target.clone());
        *m.scans
            .entry((
                key.0.clone(),
                key.1.clone(),
                if ok { "ok" } else { "failed" },
            ))
            .or_default() += 1;
        *m.scan_seconds_sum.entry(key.clone()).or_default() += seconds;
        m.scan_seconds_last.insert(key.clone(), seconds);
        if ok {
            m.clusters.insert(key.clone(), (reached, unreached));
            m.findings
                .retain(|(t, g, _), _| !(t == &key.0 && g == &key.1));
            for (sev, n) in by_severity {
                m.findings.insert((key.0.clone(), key.1.clone(), sev), n);
            }
        }
    }

    /// Counts an API error by gRPC code name (or `unauthenticated` for the web view).
    pub fn api_error(&self, code: &str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.api_errors.entry(code.to_string()).or_default() += 1;
        }
    }

    /// Counts an admission review of a target by its outcome (`allowed`, `warned`, `denied`,
    /// `not_judged`, `bad_request`, `busy`).
    pub fn review(&self, tenant: &str, target: &str, outcome: &'static str) {
        if let Ok(mut m) = self.inner.lock() {
            *m.reviews
                .entry((tenant.to_string(), target.to_string(), outcome))
                .or_default() += 1;
        }
    }

    /// Records one batch of a watched target's changes by what it took (`unchanged`: the
    /// incremental evaluation alone; `evaluated`: also a full one, with the posture unchanged;
    /// `committed`: a scan was committed), with its seconds from the session's look at it.
    pub fn watch_batch(&self, tenant: &str, target: &str, outcome: &'static str, seconds: f64) {
        if let Ok(mut m) = self.inner.lock() {
            let e = m
                .watch_batches
                .entry((tenant.to_string(), target.to_string(), outcome))
                .or_default();
            e.0 += 1;
            e.1 += seconds;
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let Ok(m) = self.inner.lock() else {
            return String::new();
        };
        let mut s = String::new();
        s.push_str(
            "# HELP kspm_scans_total Scans finished, by result.\n# TYPE kspm_scans_total counter\n",
        );
        for ((t, g, r), n) in &m.scans {
            s.push_str(&format!(
                "kspm_scans_total{{tenant=\"{}\",target=\"{}\",result=\"{r}\"}} {n}\n",
                esc(t),
                esc(g)
            ));
        }
        s.push_str("# HELP kspm_scan_duration_seconds_sum Total time spent scanning.\n# TYPE kspm_scan_duration_seconds_sum counter\n");
        for ((t, g), v) in &m.scan_seconds_sum {
            s.push_str(&format!(
                "kspm_scan_duration_seconds_sum{{tenant=\"{}\",target=\"{}\"}} {v:.3}\n",
                esc(t),
                esc(g)
            ));
        }
        s.push_str("# HELP kspm_scan_duration_seconds_last Duration of the latest scan.\n# TYPE kspm_scan_duration_seconds_last gauge\n");
        for ((t, g), v) in &m.scan_seconds_last {
            s.push_str(&format!(
                "kspm_scan_duration_seconds_last{{tenant=\"{}\",target=\"{}\"}} {v:.3}\n",
                esc(t),
                esc(g)
            ));
        }
        s.push_str("# HELP kspm_clusters Clusters in the latest scan, by whether they were reached.\n# TYPE kspm_clusters gauge\n");
        for ((t, g), (ok, bad)) in &m.clusters {
            s.push_str(&format!(
                "kspm_clusters{{tenant=\"{}\",target=\"{}\",reached=\"true\"}} {ok}\n",
                esc(t),
                esc(g)
            ));
            s.push_str(&format!(
                "kspm_clusters{{tenant=\"{}\",target=\"{}\",reached=\"false\"}} {bad}\n",
                esc(t),
                esc(g)
            ));
        }
        s.push_str("# HELP kspm_findings Findings in the latest scan, by severity.\n# TYPE kspm_findings gauge\n");
        for ((t, g, sev), n) in &m.findings {
            s.push_str(&format!(
                "kspm_findings{{tenant=\"{}\",target=\"{}\",severity=\"{}\"}} {n}\n",
                esc(t),
                esc(g),
                esc(sev)
            ));
        }
        s.push_str("# HELP kspm_api_errors_total API requests that failed, by gRPC code.\n# TYPE kspm_api_errors_total counter\n");
        for (code, n) in &m.api_errors {
            s.push_str(&format!(
                "kspm_api_errors_total{{code=\"{}\"}} {n}\n",
                esc(code)
            ));
        }
        s.push_str("# HELP kspm_admission_reviews_total Admission reviews answered, by outcome.\n# TYPE kspm_admission_reviews_total counter\n");
        for ((t, g, outcome), n) in &m.reviews {
            s.push_str(&format!(
                "kspm_admission_reviews_total{{tenant=\"{}\",target=\"{}\",outcome=\"{outcome}\"}} {n}\n",
                esc(t),
                esc(g)
            ));
        }
        s.push_str("# HELP kspm_watch_batches_total Batches of a watched target's changes, by what they took (unchanged: the incremental evaluation alone; evaluated: a full one too; committed: a scan).\n# TYPE kspm_watch_batches_total counter\n");
        for ((t, g, outcome), (n, _)) in &m.watch_batches {
            s.push_str(&format!(
                "kspm_watch_batches_total{{tenant=\"{}\",target=\"{}\",outcome=\"{outcome}\"}} {n}\n",
                esc(t),
                esc(g)
            ));
        }
        s.push_str("# HELP kspm_watch_batch_seconds_sum Time spent on watched batches after their incremental evaluation, by outcome.\n# TYPE kspm_watch_batch_seconds_sum counter\n");
        for ((t, g, outcome), (_, v)) in &m.watch_batches {
            s.push_str(&format!(
                "kspm_watch_batch_seconds_sum{{tenant=\"{}\",target=\"{}\",outcome=\"{outcome}\"}} {v:.3}\n",
                esc(t),
                esc(g)
            ));
        }
        s
    }
}

/// A gRPC code as a metric label: `NotFound` → `not_found`.
pub fn code_name(code: tonic::Code) -> String {
    let mut out = String::new();
    for (i, c) in format!("{code:?}").chars().enumerate() {
        if c.is_ascii_uppercase() && i > 0 {
            out.push('_');
        }
        out.push(c.to_ascii_lowercase());
    }
    out
}

/// Serves `GET /metrics` (anything else is 404) until the task is dropped.
pub async fn serve(listener: TcpListener, metrics: std::sync::Arc<Metrics>) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let metrics = metrics.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let n =
                match tokio::time::timeout(std::time::Duration::from_secs(5), sock.read(&mut buf))
                    .await
                {
                    Ok(Ok(n)) => n,
                    _ => return,
                };
            let head = String::from_utf8_lossy(&buf[..n]);
            let path = head.split_whitespace().nth(1).unwrap_or("");
            let (status, body) = if head.starts_with("GET ")
                && (path == "/metrics" || path.starts_with("/metrics?"))
            {
                ("200 OK", metrics.render())
            } else {
                ("404 Not Found", "not found\n".to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        });
    }
}
