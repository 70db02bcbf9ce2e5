#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| kre_core::fuzz::json_schema(data));
