//! Scan admission: what keeps one tenant from taking the service from the others. Triggers of a
//! target that is already queued or running join that scan instead of starting another; each
//! tenant runs one scan at a time, so a second scan slot always stays open to the other
//! tenants (and the service holds at most as many scans in memory as it has slots); triggers
//! are rate-limited per tenant; and every scan has a deadline.

use super::store::ScanRow;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::sync::{OnceCell, Semaphore};

/// Triggers a tenant may make in a burst.
pub const TRIGGER_BURST: f64 = 10.0;
/// Seconds for one trigger to be earned back.
pub const TRIGGER_REFILL_SECONDS: f64 = 6.0;

type Outcome = Result<ScanRow, String>;

/// A scan in flight, by (tenant, target): its outcome once known.
type InFlight = HashMap<(String, String), Arc<OnceCell<Outcome>>>;

/// The admission state of one replica.
#[derive(Default)]
pub struct Admission {
    inflight: Mutex<InFlight>,
    tenants: Mutex<HashMap<String, Arc<Semaphore>>>,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

impl Admission {
    /// Runs `scan` for (tenant, target) unless one is queued or running already, in which case
    /// this call waits for that one and returns its result.
    pub async fn coalesce<F, Fut>(&self, tenant: &str, target: &str, scan: F) -> Outcome
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Outcome>,
    {
        let key = (tenant.to_string(), target.to_string());
        let cell = {
            let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
            inflight.entry(key.clone()).or_default().clone()
        };
        let outcome = cell.get_or_init(scan).await.clone();
        // The finished scan no longer absorbs triggers: the next one scans afresh.
        let mut inflight = self.inflight.lock().unwrap_or_else(|e| e.into_inner());
        if inflight.get(&key).is_some_and(|c| Arc::ptr_eq(c, &cell)) {
            inflight.remove(&key);
        }
        outcome
    }

    /// The tenant's own slot: one scan at a time per tenant.
    pub fn tenant_slot(&self, tenant: &str) -> Arc<Semaphore> {
        let mut tenants = self.tenants.lock().unwrap_or_else(|e| e.into_inner());
        tenants
            .entry(tenant.to_string())
            .or_insert_with(|| Arc::new(Semaphore::new(1)))
            .clone()
    }

    /// Takes one trigger from the tenant's bucket; `Err` says how long until the next one.
    pub fn allow_trigger(&self, tenant: &str) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        let (tokens, at) = buckets
            .entry(tenant.to_string())
            .or_insert((TRIGGER_BURST, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() / TRIGGER_REFILL_SECONDS)
            .min(TRIGGER_BURST);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64(
                (1.0 - *tokens) * TRIGGER_REFILL_SECONDS,
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    fn row(id: &str) -> ScanRow {
        ScanRow {
            id: id.into(),
            ..ScanRow::default()
        }
    }

    #[tokio::test]
    async fn concurrent_scans_of_one_target_are_one_scan() {
        let a = Arc::new(Admission::default());
        let runs = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..8 {
            let (a, runs) = (a.clone(), runs.clone());
            tasks.push(tokio::spawn(async move {
                a.coalesce("t", "x", || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    Ok(row("s1"))
                })
                .await
            }));
        }
        for t in tasks {
            assert_eq!(t.await.expect("join").expect("scan").id, "s1");
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        // Once finished, the next trigger scans again; another target never waits.
        let again = a.coalesce("t", "x", || async { Ok(row("s2")) }).await;
        assert_eq!(again.expect("scan").id, "s2");
        let other = a.coalesce("t", "y", || async { Ok(row("s3")) }).await;
        assert_eq!(other.expect("scan").id, "s3");
    }

    #[test]
    fn triggers_are_rate_limited_per_tenant() {
        let a = Admission::default();
        for _ in 0..TRIGGER_BURST as usize {
            assert!(a.allow_trigger("greedy").is_ok());
        }
        let wait = a.allow_trigger("greedy").expect_err("limited");
        assert!(wait <= Duration::from_secs_f64(TRIGGER_REFILL_SECONDS));
        assert!(
            a.allow_trigger("other").is_ok(),
            "another tenant is not limited"
        );
    }
}
