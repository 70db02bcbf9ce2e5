//! Clock and timers, supplied by the host. Every Kafka call carries a [`Deadline`]; nothing waits without one.

use std::future::Future;

/// What the core needs from the host's clocks.
pub trait Runtime {
    /// Monotonic milliseconds (any origin).
    fn monotonic_ms(&self) -> u64;
    /// Wall-clock milliseconds since the Unix epoch.
    fn wall_ms(&self) -> i64;
    /// Resolves after `ms` milliseconds.
    fn sleep(&self, ms: u64) -> impl Future<Output = ()>;
    /// Resolves after `us` microseconds (hosts with coarser timers round up).
    fn sleep_micros(&self, us: u64) -> impl Future<Output = ()> {
        self.sleep(us.div_ceil(1000))
    }
    /// Lets other tasks of this instance run (concurrent requests under WASI 0.3); hosts with
    /// one request per instance have nothing to let run.
    fn yield_now(&self) -> impl Future<Output = ()> {
        async {}
    }
    /// Random bits for identifiers (instance ids); not for keys or secrets.
    fn random_u64(&self) -> u64;
    /// Runs `fut` concurrently, possibly after the current request has been answered (work
    /// that only fills a cache). False when the host cannot, and nothing runs.
    fn spawn(&self, fut: impl Future<Output = ()> + 'static) -> bool {
        drop(fut);
        false
    }
}

/// The instant by which a request must have answered, in the runtime's monotonic milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Deadline {
    at_ms: u64,
    budget_ms: u64,
}

impl Deadline {
    pub fn after(rt: &impl Runtime, budget_ms: u64) -> Self {
        Self { at_ms: rt.monotonic_ms().saturating_add(budget_ms), budget_ms }
    }

    pub fn remaining_ms(&self, rt: &impl Runtime) -> u64 {
        self.at_ms.saturating_sub(rt.monotonic_ms())
    }

    /// The whole budget this deadline was created with (for error messages).
    pub fn budget_ms(&self) -> u64 {
        self.budget_ms
    }

    /// A deadline no later than this one, at most `ms` from now.
    pub fn min_with(&self, rt: &impl Runtime, ms: u64) -> Self {
        let other = rt.monotonic_ms().saturating_add(ms);
        if other < self.at_ms { Self { at_ms: other, budget_ms: ms } } else { *self }
    }
}

/// Runs `fut` until it completes or the deadline passes (`None`).
pub async fn with_deadline<R: Runtime, T>(rt: &R, deadline: Deadline, fut: impl Future<Output = T>) -> Option<T> {
    use futures::future::{Either, select};
    let remaining = deadline.remaining_ms(rt);
    if remaining == 0 {
        return None;
    }
    let fut = std::pin::pin!(fut);
    let timer = std::pin::pin!(rt.sleep(remaining));
    match select(fut, timer).await {
        Either::Left((value, _)) => Some(value),
        Either::Right(_) => None,
    }
}

/// CPU work of a request ran past its deadline; names the work.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{what} took longer than the request's deadline ({budget_ms} ms); send fewer or smaller records")]
pub struct OutOfTime {
    pub what: &'static str,
    pub budget_ms: u64,
}

/// Turns for CPU-bound loops over input (validating, encoding, decoding records): between two
/// items the loop asks for a turn, which fails once the request's deadline has passed and gives
/// the other requests of this instance a turn every [`Turns::SLICE_MS`] (under WASI 0.3
/// concurrent requests share one instance and one thread).
pub struct Turns {
    what: &'static str,
    deadline: Deadline,
    last_ms: u64,
}

impl Turns {
    /// The longest a loop runs before letting other requests run.
    pub const SLICE_MS: u64 = 5;

    pub fn new(rt: &impl Runtime, deadline: Deadline, what: &'static str) -> Self {
        Turns { what, deadline, last_ms: rt.monotonic_ms() }
    }

    pub async fn take(&mut self, rt: &impl Runtime) -> Result<(), OutOfTime> {
        if self.deadline.remaining_ms(rt) == 0 {
            return Err(OutOfTime { what: self.what, budget_ms: self.deadline.budget_ms() });
        }
        if rt.monotonic_ms().saturating_sub(self.last_ms) >= Self::SLICE_MS {
            rt.yield_now().await;
            self.last_ms = rt.monotonic_ms();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    /// A clock the test moves; counts the turns given away.
    struct Clock {
        now: Cell<u64>,
        yields: Cell<u32>,
    }

    impl Runtime for Clock {
        fn monotonic_ms(&self) -> u64 {
            self.now.get()
        }
        fn wall_ms(&self) -> i64 {
            0
        }
        async fn sleep(&self, _ms: u64) {}
        async fn yield_now(&self) {
            self.yields.set(self.yields.get() + 1);
        }
        fn random_u64(&self) -> u64 {
            4
        }
    }

    #[test]
    fn turns_are_given_away_every_slice_and_end_at_the_deadline() {
        let rt = Clock { now: Cell::new(100), yields: Cell::new(0) };
        let mut turns = Turns::new(&rt, Deadline::after(&rt, 20), "decoding records");
        let mut at = |ms: u64| {
            rt.now.set(ms);
            futures::executor::block_on(turns.take(&rt))
        };
        assert_eq!(at(102), Ok(()));
        assert_eq!(rt.yields.get(), 0, "within the first slice");
        assert_eq!(at(105), Ok(()));
        assert_eq!(rt.yields.get(), 1);
        assert_eq!(at(107), Ok(()));
        assert_eq!(rt.yields.get(), 1, "a new slice started at the turn");
        let e = at(120).expect_err("past the deadline");
        assert_eq!(e, OutOfTime { what: "decoding records", budget_ms: 20 });
        assert!(e.to_string().starts_with("decoding records took longer than the request's deadline (20 ms)"));
    }
}
