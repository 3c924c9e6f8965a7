#![no_main]
//! Vendor webhook bodies: see webhooks::fuzzing::body.

libfuzzer_sys::fuzz_target!(|data: &[u8]| webhooks::fuzzing::body(data));
