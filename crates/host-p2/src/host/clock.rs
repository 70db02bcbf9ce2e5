//! `Runtime` on `wasi:clocks@0.2` (timers are pollables in wstd's reactor) and `wasi:random`.

use wasip2::clocks::{monotonic_clock, wall_clock};
use wstd::time::Duration;

#[derive(Clone, Copy)]
pub struct WasiClock;

impl kre_core::Runtime for WasiClock {
    fn monotonic_ms(&self) -> u64 {
        monotonic_clock::now() / 1_000_000
    }

    fn wall_ms(&self) -> i64 {
        let now = wall_clock::now();
        i64::try_from(now.seconds).unwrap_or(i64::MAX).saturating_mul(1000) + i64::from(now.nanoseconds / 1_000_000)
    }

    async fn sleep(&self, ms: u64) {
        wstd::task::sleep(Duration::from_millis(ms)).await;
    }

    async fn sleep_micros(&self, us: u64) {
        wstd::task::sleep(Duration::from_micros(us)).await;
    }

    fn random_u64(&self) -> u64 {
        wasip2::random::random::get_random_u64()
    }

    // `spawn` keeps the default (nothing runs): work after the answer only fills instance memory
    // for later requests, and WASI 0.2 hosts give every request a fresh instance.
}
