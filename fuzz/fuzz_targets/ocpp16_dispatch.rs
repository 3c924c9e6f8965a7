#![no_main]
//! OCPP 1.6 CALLs through the session and the handlers: see csms::fuzzing::dispatch.

libfuzzer_sys::fuzz_target!(|data: &[u8]| csms::fuzzing::dispatch(
    booking::model::OcppVersion::V16,
    data
));
