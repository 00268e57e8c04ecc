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

#[cfg(test)]
mod tests {
    use super::*;

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
