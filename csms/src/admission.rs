//! Where a connection stands with its BootNotification, and so what the
//! charger may send. Until its boot is Accepted, a charger may send only
//! BootNotification — and the message the CSMS explicitly asked for with
//! TriggerMessage (OCTT TC_B_30/TC_B_31); anything else is answered with a
//! SecurityError. Pure state, driven by the connection task.

/// The registration status a BootNotification is answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationStatus {
    /// Registered: the charger may send any message.
    Accepted,
    /// Known but not yet admitted: only BootNotification (and what we trigger)
    /// until the operator decides; the charger boots again after `interval`.
    Pending,
    /// Refused: the charger may only boot again, after `interval`.
    Rejected,
}

impl RegistrationStatus {
    /// The status as both OCPP versions spell it on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationStatus::Accepted => "Accepted",
            RegistrationStatus::Pending => "Pending",
            RegistrationStatus::Rejected => "Rejected",
        }
    }
}

impl RegistrationStatus {
    /// How this charger's boot is answered: the operator's decision for
    /// it, else the default policy.
    pub fn for_charger(charger: &booking::model::Charger, default: RegistrationStatus) -> Self {
        use booking::model::ChargerAdmission as A;
        match charger.admission {
            Some(A::Accepted) => RegistrationStatus::Accepted,
            Some(A::Pending) => RegistrationStatus::Pending,
            Some(A::Rejected) => RegistrationStatus::Rejected,
            None => default,
        }
    }
}

/// One connection's standing with its BootNotification: which CALLs it may send
/// until its boot is Accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    status: RegistrationStatus,
    /// A message we triggered while not accepted: allowed once.
    triggered: Option<String>,
}

impl Admission {
    /// A new connection starts where the operator's policy puts it:
    /// registration survives reconnects, so an Accepted charger need not
    /// boot again.
    pub fn new(policy: RegistrationStatus) -> Self {
        Self {
            status: policy,
            triggered: None,
        }
    }

    /// Whether an inbound CALL of `action` may be processed now.
    pub fn allows(&mut self, action: &str) -> bool {
        if action == "BootNotification" || self.status == RegistrationStatus::Accepted {
            return true;
        }
        if self.triggered.as_deref() == Some(action) {
            self.triggered = None;
            return true;
        }
        false
    }

    /// The boot was answered with `status`.
    pub fn booted(&mut self, status: RegistrationStatus) {
        self.status = status;
    }

    /// We sent TriggerMessage for `requested`.
    pub fn triggering(&mut self, requested: &str) {
        if self.status != RegistrationStatus::Accepted {
            self.triggered = Some(requested.to_owned());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pending_charger_may_boot_and_send_what_we_triggered_once() {
        let mut a = Admission::new(RegistrationStatus::Pending);
        assert!(a.allows("BootNotification"));
        assert!(!a.allows("Heartbeat"));
        a.triggering("StatusNotification");
        assert!(!a.allows("Heartbeat"));
        assert!(a.allows("StatusNotification"));
        assert!(!a.allows("StatusNotification"), "only once");
        a.booted(RegistrationStatus::Accepted);
        assert!(a.allows("Heartbeat"));
    }

    #[test]
    fn an_accepted_charger_is_not_gated() {
        let mut a = Admission::new(RegistrationStatus::Accepted);
        a.triggering("StatusNotification");
        assert!(a.allows("Heartbeat") && a.allows("MeterValues"));
    }
}
