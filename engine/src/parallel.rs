//! Work spread over every core.

/// Maps `f` over `items` on every core, keeping the items' order in the result (a panic in `f`
/// is re-raised).
pub fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len());
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let next = std::sync::atomic::AtomicUsize::new(0);
    let mut results: Vec<(usize, R)> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..threads)
            .map(|_| {
                scope.spawn(|| {
                    let mut mine = Vec::new();
                    loop {
                        let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let Some(item) = items.get(i) else { break };
                        mine.push((i, f(item)));
                    }
                    mine
                })
            })
            .collect();
        // A panicking worker is a bug in the engine; surface it rather than drop clusters.
        workers
            .into_iter()
            .flat_map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });
    results.sort_by_key(|(i, _)| *i);
    results.into_iter().map(|(_, r)| r).collect()
}

/// `a` and `b` side by side (`b` on a thread of its own), with both results (a panic in
/// either is re-raised).
pub fn both<A: Send, B: Send>(
    a: impl FnOnce() -> A + Send,
    b: impl FnOnce() -> B + Send,
) -> (A, B) {
    std::thread::scope(|scope| {
        let second = scope.spawn(b);
        let first = a();
        let second = second
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
        (first, second)
    })
}

/// [`parallel_map`], but an item whose `f` panics is `None` and the others are kept: for work
/// over input that must not stop the rest (a file its reader fails on is reported, not lost).
pub fn parallel_map_caught<T: Sync, R: Send>(
    items: &[T],
    f: impl Fn(&T) -> R + Sync,
) -> Vec<Option<R>> {
    parallel_map(items, |item| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(item))).ok()
    })
}

/// Values to free on a thread kept for that ([`Aside::put`]): when an `Aside` is dropped, what
/// it holds is dropped there, so that a caller who must answer soon (an admission review) does
/// not wait for the memory of the evaluation it put back to be freed. (Inline when that thread
/// cannot be started.)
#[derive(Default)]
pub struct Aside(Vec<Box<dyn Send>>);

impl Aside {
    /// Keeps `value` to be dropped aside.
    pub fn put<T: Send + 'static>(&mut self, value: T) {
        self.0.push(Box::new(value));
    }
}

impl Drop for Aside {
    fn drop(&mut self) {
        if self.0.is_empty() {
            return;
        }
        type Garbage = Vec<Box<dyn Send>>;
        static DROPPER: std::sync::OnceLock<Option<std::sync::mpsc::Sender<Garbage>>> =
            std::sync::OnceLock::new();
        let dropper = DROPPER.get_or_init(|| {
            let (tx, rx) = std::sync::mpsc::channel::<Garbage>();
            std::thread::Builder::new()
                .name("kspm-drop".into())
                .spawn(move || rx.into_iter().for_each(drop))
                .ok()?;
            Some(tx)
        });
        let garbage = std::mem::take(&mut self.0);
        if let Some(tx) = dropper {
            // (A send that fails hands the garbage back, dropped here.)
            let _ = tx.send(garbage);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_is_put_aside_is_dropped_on_another_thread() {
        struct Noted(std::sync::mpsc::Sender<std::thread::ThreadId>);
        impl Drop for Noted {
            fn drop(&mut self) {
                let _ = self.0.send(std::thread::current().id());
            }
        }
        let (tx, rx) = std::sync::mpsc::channel();
        let mut aside = Aside::default();
        aside.put(Noted(tx.clone()));
        aside.put(Noted(tx));
        drop(aside);
        let timeout = std::time::Duration::from_secs(10);
        for _ in 0..2 {
            let on = rx.recv_timeout(timeout).expect("dropped");
            assert_ne!(on, std::thread::current().id());
        }
    }

    #[test]
    fn results_keep_the_items_order() {
        let items: Vec<u32> = (0..100).collect();
        assert_eq!(
            parallel_map(&items, |x| x * 2),
            (0..100).map(|x| x * 2).collect::<Vec<_>>()
        );
    }

    #[test]
    fn both_gives_each_side_its_result_and_raises_a_panic() {
        assert_eq!(both(|| 1, || "two"), (1, "two"));
        let raised = std::panic::catch_unwind(|| both(|| 1, || -> u32 { panic!("b fails") }));
        assert!(raised.is_err());
    }

    #[test]
    fn a_failing_item_is_none_and_the_others_are_kept() {
        let items: Vec<u32> = (0..20).collect();
        let out = parallel_map_caught(&items, |x| {
            assert_ne!(*x, 7, "item 7 fails");
            x + 1
        });
        assert_eq!(out.len(), 20);
        for (i, r) in out.iter().enumerate() {
            assert_eq!(*r, (i != 7).then_some(i as u32 + 1));
        }
    }
}
