//! Bytes → decoded records → mapped header → validated user: never a
//! panic, and every row validation accepts makes a body the strict
//! sandbox accepts.
#![no_main]

libfuzzer_sys::fuzz_target!(|bytes: &[u8]| {
    sebulk::fuzzing::input_rows(bytes);
});
