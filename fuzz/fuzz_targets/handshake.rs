#![no_main]
//! The WebSocket upgrade request and its admission checks: see csms::fuzzing::handshake.

libfuzzer_sys::fuzz_target!(|data: &[u8]| csms::fuzzing::handshake(data));
