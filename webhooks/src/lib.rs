//! Vendor webhooks: signature checks, validation, the inbox and its worker.
//! They feed the same booking-core update path as the CSMS.
//!
//! Empty until the webhooks issue (#5) lands.
