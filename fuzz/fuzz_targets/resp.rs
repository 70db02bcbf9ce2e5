#![no_main]
// The shim's Redis reply parser: whatever the socket delivers, a value, "need more" or an error.
libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let _ = kre_kv_redis::resp::parse(data);
});
