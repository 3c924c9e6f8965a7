#![no_main]
//! OCPP-J frames: see csms::fuzzing::frame.

libfuzzer_sys::fuzz_target!(|data: &[u8]| csms::fuzzing::frame(data));
