//! A parallel map whose results are consumed one at a time, in input order,
//! as soon as the next one is ready: files parse on every thread while
//! their facts are merged into one program in file order.
//!
//! Workers take items in input order from a shared counter (not rayon's
//! halving splits), so results come back nearly in order and few wait for
//! the consumer. Whichever worker finishes an item also consumes what is
//! ready, if no other worker is consuming. There is no barrier: a big file
//! parsing on one thread does not leave the other idle, as the chunks of
//! 2,048 files this replaces did (CPU use fell to one core at each chunk's
//! last file). No more than `WINDOW` items run ahead of the consumer, so
//! memory stays bounded when consuming is the slower side (facts from the
//! cache load faster than they merge).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};

/// How far workers may run ahead of the consumer, in items.
const WINDOW: usize = 4096;

/// Runs `work` on every item on the current rayon pool's threads (each
/// with its own `init()` state) and calls `consume(index, result)` for
/// every item, serially, in input order.
pub fn map_in_order<T, S, R, C>(
    items: &[T],
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, &T) -> R + Sync,
    consume: C,
) where
    T: Sync,
    R: Send,
    C: FnMut(usize, R) + Send,
{
    let next = AtomicUsize::new(0);
    let consumed = AtomicUsize::new(0);
    let ready: Mutex<BTreeMap<usize, R>> = Mutex::new(BTreeMap::new());
    let consumer = Mutex::new(consume);
    // Consumes every result that is next in order; whether it consumed any.
    let drain = |consume: &mut C| {
        let mut progressed = false;
        loop {
            let at = consumed.load(Ordering::Acquire);
            let Some(result) = lock(&ready).remove(&at) else { return progressed };
            consume(at, result);
            consumed.store(at + 1, Ordering::Release);
            progressed = true;
        }
    };
    let threads = rayon::current_num_threads().max(1);
    rayon::scope(|scope| {
        for _ in 0..threads {
            scope.spawn(|_| {
                let mut state = init();
                while next.load(Ordering::Relaxed) < items.len() {
                    // Back-pressure: help the consumer (or wait for the item
                    // it needs) instead of running further ahead.
                    while next.load(Ordering::Relaxed) >= consumed.load(Ordering::Acquire) + WINDOW {
                        if !drain(&mut lock(&consumer)) {
                            std::thread::sleep(std::time::Duration::from_millis(1));
                        }
                    }
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(item) = items.get(i) else { break };
                    let result = work(&mut state, item);
                    lock(&ready).insert(i, result);
                    if let Ok(mut consume) = consumer.try_lock() {
                        drain(&mut consume);
                    }
                }
            });
        }
    });
    // A result that came in while another worker was consuming.
    drain(&mut lock(&consumer));
}

/// A lock whose holder cannot have left its data half-changed: a panic
/// while holding it ends the run anyway.
fn lock<V>(m: &Mutex<V>) -> MutexGuard<'_, V> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn consumes_every_result_once_in_order() {
        let items: Vec<u64> = (0..20_000).collect();
        let pool = rayon::ThreadPoolBuilder::new().num_threads(4).build().expect("a pool"); // ok: test
        let mut seen = Vec::new();
        pool.install(|| {
            map_in_order(
                &items,
                || 0u64,
                |calls, &x| {
                    *calls += 1;
                    // Uneven work, so results finish out of order.
                    if x % 997 == 0 {
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                    x * 3
                },
                |i, r| seen.push((i, r)),
            )
        });
        let expected: Vec<(usize, u64)> = items.iter().map(|&x| (x as usize, x * 3)).collect();
        assert_eq!(seen, expected);
    }
}
