//! Charger simulators of both OCPP versions and the `evgate-sim` fleet CLI.
//!
//! Empty until the simulators issue (#7) lands.
