//! The WebSocket handshake's OCPP rules, as pure functions: which
//! subprotocol to speak, which charger is calling, and its credentials.
//! The listener does the I/O and the lookups.

use base64::Engine;
use booking::model::OcppVersion;

/// The versions we speak, by subprotocol name.
pub fn version_of(subprotocol: &str) -> Option<OcppVersion> {
    match subprotocol.trim() {
        "ocpp1.6" => Some(OcppVersion::V16),
        "ocpp2.0.1" => Some(OcppVersion::V201),
        _ => None,
    }
}

/// The first subprotocol the charger offers (in its order of preference)
/// that we speak. `None` when the header is missing or nothing matches:
/// the upgrade is refused (OCTT TC_088_CSMS, TC_B_58_CSMS).
pub fn negotiate(offered: Option<&str>) -> Option<OcppVersion> {
    offered?.split(',').find_map(version_of)
}

/// The charge point identity: the last path segment, percent-decoded; at
/// most 48 characters and no `:`. `/ocpp/CP-1` and `/CP-1` both name CP-1.
pub fn identity(path: &str) -> Result<String, String> {
    let path = path.split('?').next().unwrap_or(path);
    // `/ocpp/../CP-0` must not pass for `/CP-0` (RFC 3986 dot segments,
    // plain or percent-encoded).
    let dot_segment = |s: &str| {
        let s = s.to_ascii_lowercase().replace("%2e", ".");
        s == "." || s == ".."
    };
    if path.split('/').any(dot_segment) {
        return Err("dot segments (. or ..) are not allowed in the path".into());
    }
    let segment = path
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default();
    if segment.is_empty() || segment == "ocpp" {
        return Err("the URL must end with the charge point identity".into());
    }
    let id = percent_decode(segment).ok_or("the identity is not valid percent-encoded UTF-8")?;
    booking::provisioning::validate_identity("identity", &id).map_err(|e| e.to_string())?;
    Ok(id)
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// `Basic base64(user:password)` → (user, password).
pub fn basic_credentials(header: &str) -> Option<(String, String)> {
    let (scheme, encoded) = header.trim().split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_chargers_preference_order_wins() {
        use OcppVersion::*;
        assert_eq!(negotiate(Some("ocpp2.0.1, ocpp1.6")), Some(V201));
        assert_eq!(negotiate(Some("ocpp1.6,ocpp2.0.1")), Some(V16));
        assert_eq!(negotiate(Some("ocpp2.1, ocpp1.6")), Some(V16));
        assert_eq!(negotiate(Some("ocpp0.1")), None);
        assert_eq!(negotiate(None), None);
    }

    #[test]
    fn identity_is_the_last_segment_decoded() {
        assert_eq!(identity("/ocpp/CP-1").unwrap(), "CP-1");
        assert_eq!(identity("/CP-1").unwrap(), "CP-1");
        assert!(identity("/ocpp/CP%201x").unwrap_err().contains("' '"));
        assert_eq!(identity("/ocpp/CP%2D2/").unwrap(), "CP-2");
        assert!(identity("/ocpp/").is_err());
        assert!(identity("/ocpp/a%3Ab").is_err(), "no ':'");
        assert!(identity(&format!("/ocpp/{}", "x".repeat(49))).is_err());
        assert!(identity("/ocpp/%zz").is_err());
        for dotted in [
            "/ocpp/../CP-0",
            "/ocpp/./CP-0",
            "/ocpp/%2e%2E/CP-0",
            "/ocpp/CP-0/..",
        ] {
            assert!(
                identity(dotted).unwrap_err().contains("dot segments"),
                "{dotted}"
            );
        }
        assert_eq!(
            identity("/ocpp/CP.1").unwrap(),
            "CP.1",
            "a dot inside an identity is fine"
        );
    }

    #[test]
    fn basic_credentials_split_at_the_first_colon() {
        let header = format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode("CP-1:pa:ss")
        );
        assert_eq!(
            basic_credentials(&header),
            Some(("CP-1".into(), "pa:ss".into()))
        );
        assert_eq!(basic_credentials("Bearer x"), None);
        assert_eq!(basic_credentials("Basic !!!"), None);
    }
}
