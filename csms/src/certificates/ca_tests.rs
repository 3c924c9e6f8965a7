use super::*;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};

struct TestCa {
    cert: String,
    key: String,
}

fn test_ca(org: Option<&str>) -> TestCa {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params
        .distinguished_name
        .push(DnType::CommonName, "evgate test charger CA");
    if let Some(org) = org {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
    }
    TestCa {
        cert: params.self_signed(&key).unwrap().pem(),
        key: key.serialize_pem(),
    }
}

fn csr(cn: &str, org: Option<&str>) -> String {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.distinguished_name.push(DnType::CommonName, cn);
    if let Some(org) = org {
        params
            .distinguished_name
            .push(DnType::OrganizationName, org);
    }
    params.serialize_request(&key).unwrap().pem().unwrap()
}

fn now() -> DateTime<Utc> {
    "2030-01-01T00:00:00Z".parse().unwrap()
}

fn der_of(pem: &str, index: usize) -> Vec<u8> {
    Pem::iter_from_buffer(pem.as_bytes())
        .map(Result::unwrap)
        .nth(index)
        .unwrap()
        .contents
}

#[test]
fn a_good_csr_is_signed_by_the_ca_for_the_chargers_identity() {
    let test = test_ca(Some("Example Op"));
    let ca =
        CertificateAuthority::from_pem(&test.cert, &test.key, Some("Example Op".into())).unwrap();
    let request = csr("CP-1", Some("Example Op"));
    let signed = ca.sign(&request, "CP-1", now()).unwrap();
    assert_eq!(signed.subject, "CP-1");
    assert_eq!(signed.not_after, now() + VALIDITY);
    assert_eq!(signed.serial.len(), 32);

    let leaf_der = der_of(&signed.chain, 0);
    let ca_der = der_of(&signed.chain, 1);
    assert_eq!(ca_der, der_of(&test.cert, 0), "the chain ends with the CA");
    let (_, leaf) = X509Certificate::from_der(&leaf_der).unwrap();
    let (_, ca_cert) = X509Certificate::from_der(&ca_der).unwrap();
    leaf.verify_signature(Some(ca_cert.public_key()))
        .expect("signed by the CA's key");
    assert_eq!(leaf.issuer().as_raw(), ca_cert.subject().as_raw());
    let req_der = der_of(&request, 0);
    let (_, req) = X509CertificationRequest::from_der(&req_der).unwrap();
    assert_eq!(
        leaf.public_key().raw,
        req.certification_request_info.subject_pki.raw,
        "the CSR's key, as it was"
    );
    assert_eq!(
        leaf.subject().as_raw(),
        req.certification_request_info.subject.as_raw()
    );
    assert!(!leaf.is_ca());
    assert_eq!(
        leaf.raw_serial_as_string().replace(':', ""),
        signed.serial,
        "the recorded serial is the certificate's"
    );
    let ski = ca_cert
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::SubjectKeyIdentifier(id) => Some(id.0.to_vec()),
            _ => None,
        });
    let aki = leaf
        .extensions()
        .iter()
        .find_map(|e| match e.parsed_extension() {
            ParsedExtension::AuthorityKeyIdentifier(a) => {
                a.key_identifier.as_ref().map(|k| k.0.to_vec())
            }
            _ => None,
        });
    assert!(ski.is_some());
    assert_eq!(aki, ski, "the leaf names the CA's key identifier");
    let eku = leaf.extended_key_usage().unwrap().unwrap().value;
    assert!(eku.client_auth);
}

#[test]
fn a_csr_naming_another_charger_is_refused() {
    let test = test_ca(None);
    let ca = CertificateAuthority::from_pem(&test.cert, &test.key, None).unwrap();
    let refusal = ca.sign(&csr("CP-2", None), "CP-1", now()).unwrap_err();
    assert_eq!(refusal.reason, "InvalidCommonName");
}

#[test]
fn the_organization_is_checked_when_configured() {
    let test = test_ca(None);
    let ca = CertificateAuthority::from_pem(&test.cert, &test.key, Some("Op".into())).unwrap();
    assert_eq!(
        ca.sign(&csr("CP-1", Some("Other")), "CP-1", now())
            .unwrap_err()
            .reason,
        "InvalidOrganization"
    );
    assert_eq!(
        ca.sign(&csr("CP-1", None), "CP-1", now())
            .unwrap_err()
            .reason,
        "InvalidOrganization"
    );
    assert!(ca.sign(&csr("CP-1", Some("Op")), "CP-1", now()).is_ok());
}

#[test]
fn garbage_and_forged_csrs_are_refused() {
    let test = test_ca(None);
    let ca = CertificateAuthority::from_pem(&test.cert, &test.key, None).unwrap();
    for garbage in [
        "",
        "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n",
        &test.cert,
    ] {
        assert_eq!(
            ca.sign(garbage, "CP-1", now()).unwrap_err().reason,
            "InvalidCSR"
        );
    }
    // One bit of the signed part changed: the signature no longer verifies.
    let mut der = der_of(&csr("CP-1", None), 0);
    let at = der.len() / 3;
    der[at] ^= 0x01;
    let forged = pem_block("CERTIFICATE REQUEST", &der);
    let reason = ca.sign(&forged, "CP-1", now()).unwrap_err().reason;
    assert!(
        ["InvalidSignature", "InvalidCSR"].contains(&reason),
        "{reason}"
    );
}

#[test]
fn a_leaf_never_outlives_the_ca() {
    let test = test_ca(None);
    let ca = CertificateAuthority::from_pem(&test.cert, &test.key, None).unwrap();
    // rcgen's default CA validity ends in 4096.
    let late: DateTime<Utc> = "4095-12-01T00:00:00Z".parse().unwrap();
    let signed = ca.sign(&csr("CP-1", None), "CP-1", late).unwrap();
    assert!(signed.not_after < late + VALIDITY);
}

#[test]
fn bad_ca_files_are_named_and_the_key_never_shown() {
    let test = test_ca(None);
    let other = test_ca(None);
    let mismatch = CertificateAuthority::from_pem(&test.cert, &other.key, None).unwrap_err();
    assert!(mismatch.0.contains("does not belong"), "{mismatch}");
    let garbage_key = CertificateAuthority::from_pem(&test.cert, "nope", None).unwrap_err();
    assert!(garbage_key.0.contains("PKCS#8"), "{garbage_key}");
    let no_cert = CertificateAuthority::from_pem("nope", &test.key, None).unwrap_err();
    assert!(no_cert.0.contains("no PEM CERTIFICATE"), "{no_cert}");
    // A leaf is no CA.
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["x".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap()
        .pem();
    let not_ca = CertificateAuthority::from_pem(&leaf, &key.serialize_pem(), None).unwrap_err();
    assert!(not_ca.0.contains("not a CA"), "{not_ca}");

    let ca = CertificateAuthority::from_pem(&test.cert, &test.key, None).unwrap();
    let shown = format!("{ca:?}");
    let key_body: String = test.key.lines().nth(1).unwrap().chars().take(20).collect();
    assert!(
        !shown.contains(&key_body) && !shown.contains("PRIVATE"),
        "{shown}"
    );
}
