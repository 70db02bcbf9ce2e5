//! `Runtime` on `wasi:clocks@0.3.0` (monotonic time, system time, async timers) and `wasi:random`.

use spin_sdk::wasip3::clocks::{monotonic_clock, system_clock};

#[derive(Clone, Copy)]
pub struct WasiClock;

impl kre_core::Runtime for WasiClock {
    fn monotonic_ms(&self) -> u64 {
        monotonic_clock::now() / 1_000_000
    }

    fn wall_ms(&self) -> i64 {
        let now = system_clock::now();
        now.seconds * 1000 + i64::from(now.nanoseconds / 1_000_000)
    }

    async fn sleep(&self, ms: u64) {
        monotonic_clock::wait_for(ms.saturating_mul(1_000_000)).await;
    }

    async fn sleep_micros(&self, us: u64) {
        monotonic_clock::wait_for(us.saturating_mul(1_000)).await;
    }

    async fn yield_now(&self) {
        // Back to the host's event loop: other requests sharing this instance progress.
        spin_sdk::wit_bindgen::yield_async().await;
    }

    fn random_u64(&self) -> u64 {
        spin_sdk::wasip3::random::random::get_random_u64()
    }

    fn spawn(&self, fut: impl std::future::Future<Output = ()> + 'static) -> bool {
        // Runs within the current request's task, also after its response was returned.
        spin_sdk::wasip3::spawn(fut);
        true
    }
}
