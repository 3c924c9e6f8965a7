//! CALLERROR codes. The two versions spell some differently (1.6 keeps the
//! standard's typos), so a code is a value here and becomes text only for a
//! given version.

use booking::model::OcppVersion;

/// Why a CALL is answered with a CALLERROR.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RpcError {
    /// Unknown action.
    #[error("NotImplemented: {0}")]
    NotImplemented(String),
    /// A known action this CSMS does not support.
    #[error("NotSupported: {0}")]
    NotSupported(String),
    /// evgate failed to process the message; not the charger's fault.
    #[error("InternalError: {0}")]
    Internal(String),
    /// OCPP's ProtocolError: the payload is incomplete for its action.
    #[error("ProtocolError: {0}")]
    Protocol(String),
    /// Refused for security reasons, e.g. a message before the boot was
    /// Accepted.
    #[error("SecurityError: {0}")]
    Security(String),
    /// Payload syntactically wrong (not an object, wrong JSON types).
    #[error("FormatViolation: {0}")]
    Format(String),
    /// A field holds a value it may not: an unknown enum word, an over-long id
    /// tag.
    #[error("PropertyConstraintViolation: {0}")]
    PropertyConstraint(String),
    /// A required field is missing (1.6 spells it
    /// OccurenceConstraintViolation).
    #[error("OccurrenceConstraintViolation: {0}")]
    OccurrenceConstraint(String),
    /// A field has the wrong JSON type.
    #[error("TypeConstraintViolation: {0}")]
    TypeConstraint(String),
    /// Any other error; also what an unknown code from a charger is read as.
    #[error("GenericError: {0}")]
    Generic(String),
    /// 2.0.1 only; on 1.6 it is a FormationViolation.
    #[error("RpcFrameworkError: {0}")]
    RpcFramework(String),
    /// 2.0.1 only; on 1.6 it is a FormationViolation.
    #[error("MessageTypeNotSupported: {0}")]
    MessageTypeNotSupported(String),
}

impl RpcError {
    /// The code as the given version spells it.
    pub fn code(&self, version: OcppVersion) -> &'static str {
        use OcppVersion::*;
        match (self, version) {
            (RpcError::NotImplemented(_), _) => "NotImplemented",
            (RpcError::NotSupported(_), _) => "NotSupported",
            (RpcError::Internal(_), _) => "InternalError",
            (RpcError::Protocol(_), _) => "ProtocolError",
            (RpcError::Security(_), _) => "SecurityError",
            (RpcError::Format(_), V16)
            | (RpcError::RpcFramework(_), V16)
            | (RpcError::MessageTypeNotSupported(_), V16) => "FormationViolation",
            (RpcError::MessageTypeNotSupported(_), V201) => "MessageTypeNotSupported",
            (RpcError::Format(_), V201) => "FormatViolation",
            (RpcError::RpcFramework(_), V201) => "RpcFrameworkError",
            (RpcError::PropertyConstraint(_), _) => "PropertyConstraintViolation",
            (RpcError::OccurrenceConstraint(_), V16) => "OccurenceConstraintViolation",
            (RpcError::OccurrenceConstraint(_), V201) => "OccurrenceConstraintViolation",
            (RpcError::TypeConstraint(_), _) => "TypeConstraintViolation",
            (RpcError::Generic(_), _) => "GenericError",
        }
    }

    /// The free-text description sent beside the code.
    pub fn description(&self) -> &str {
        match self {
            RpcError::NotImplemented(d)
            | RpcError::NotSupported(d)
            | RpcError::Internal(d)
            | RpcError::Protocol(d)
            | RpcError::Security(d)
            | RpcError::Format(d)
            | RpcError::PropertyConstraint(d)
            | RpcError::OccurrenceConstraint(d)
            | RpcError::TypeConstraint(d)
            | RpcError::Generic(d)
            | RpcError::RpcFramework(d)
            | RpcError::MessageTypeNotSupported(d) => d,
        }
    }

    /// Reads a code a charger sent, accepting either version's spelling.
    pub fn from_code(code: &str, description: &str) -> Self {
        let d = description.to_owned();
        match code {
            "NotImplemented" => RpcError::NotImplemented(d),
            "NotSupported" => RpcError::NotSupported(d),
            "InternalError" => RpcError::Internal(d),
            "ProtocolError" => RpcError::Protocol(d),
            "SecurityError" => RpcError::Security(d),
            "FormationViolation" | "FormatViolation" => RpcError::Format(d),
            "PropertyConstraintViolation" => RpcError::PropertyConstraint(d),
            "OccurenceConstraintViolation" | "OccurrenceConstraintViolation" => {
                RpcError::OccurrenceConstraint(d)
            }
            "TypeConstraintViolation" => RpcError::TypeConstraint(d),
            "RpcFrameworkError" => RpcError::RpcFramework(d),
            "MessageTypeNotSupported" => RpcError::MessageTypeNotSupported(d),
            _ => RpcError::Generic(d),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OcppVersion::*;

    #[test]
    fn each_version_gets_its_own_spelling() {
        let format = RpcError::Format("x".into());
        assert_eq!(
            (format.code(V16), format.code(V201)),
            ("FormationViolation", "FormatViolation")
        );
        let occ = RpcError::OccurrenceConstraint("x".into());
        assert_eq!(
            (occ.code(V16), occ.code(V201)),
            (
                "OccurenceConstraintViolation",
                "OccurrenceConstraintViolation"
            )
        );
        let rpc = RpcError::RpcFramework("x".into());
        assert_eq!(
            (rpc.code(V16), rpc.code(V201)),
            ("FormationViolation", "RpcFrameworkError")
        );
        assert_eq!(
            RpcError::NotImplemented("x".into()).code(V16),
            "NotImplemented"
        );
    }

    #[test]
    fn both_spellings_are_read() {
        for code in [
            "OccurenceConstraintViolation",
            "OccurrenceConstraintViolation",
        ] {
            assert!(matches!(
                RpcError::from_code(code, ""),
                RpcError::OccurrenceConstraint(_)
            ));
        }
        assert!(matches!(
            RpcError::from_code("Whatever", ""),
            RpcError::Generic(_)
        ));
    }
}
