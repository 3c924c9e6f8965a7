#![no_main]
//! OCPP 2.0.1 CALLs through the session and the handlers: see csms::fuzzing::dispatch.

libfuzzer_sys::fuzz_target!(|data: &[u8]| csms::fuzzing::dispatch(
    booking::model::OcppVersion::V201,
    data
));
