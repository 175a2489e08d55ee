//! A list response of any shape: never a panic, and every user read
//! survives the tenant index's compact encoding exactly.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    sebulk::fuzzing::list_response(bytes);
});
