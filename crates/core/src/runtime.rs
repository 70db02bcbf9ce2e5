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
