//! SignCertificate in either version (1.6 whitepaper, 2.0.1 A02/A03):
//! the CSR is checked and signed by the operator's CA, the answer is
//! Accepted, and CertificateSigned with the chain (leaf, then CA) follows
//! on the same connection. Without a CA, for a bad CSR, or for a 2.0.1
//! V2GCertificate (evgate is no V2G PKI) the answer is Rejected; 2.0.1
//! answers say why in `statusInfo`.

use booking::model::{IssuedCertificate, OcppVersion};
use rust_ocpp::v2_0_1::enumerations::certificate_signing_use_enum_type::CertificateSigningUseEnumType;
use rust_ocpp::v2_0_1::messages::sign_certificate::SignCertificateRequest;
use serde::Deserialize;
use serde_json::{Value, json};

use super::CsrRefused;
use super::events::bounded;
use crate::context::{Context, decode};
use crate::domain::{FollowUp, Handled};
use crate::rpc::RpcError;

/// CertificateSigned's `certificateChain` limit in both versions.
const MAX_CHAIN: usize = 10_000;

/// 1.6 whitepaper SignCertificate.req.
#[derive(Debug, Deserialize)]
struct SignCertificate16 {
    csr: String,
}

/// Answers a SignCertificate; when accepted, CertificateSigned follows.
pub async fn sign_certificate(ctx: &Context, payload: Value) -> Result<Handled, RpcError> {
    let csr = match ctx.version {
        OcppVersion::V16 => decode::<SignCertificate16>(payload)?.csr,
        OcppVersion::V201 => {
            let req: SignCertificateRequest = decode(payload)?;
            if req.certificate_type == Some(CertificateSigningUseEnumType::V2GCertificate) {
                return Ok(rejected(
                    ctx,
                    &refusal("NotSupported", "evgate signs no V2G certificates"),
                ));
            }
            req.csr
        }
    };
    bounded("csr", &csr, 5500)?;
    let Some(ca) = ctx.deps.certificates.ca() else {
        return Ok(rejected(
            ctx,
            &refusal("NoCA", "no certificate authority is configured"),
        ));
    };
    let identity = &ctx.charger.charge_point_id;
    let signed = match ca.sign(&csr, identity, ctx.now()) {
        Ok(signed) if signed.chain.len() <= MAX_CHAIN => signed,
        Ok(_) => {
            return Ok(rejected(
                ctx,
                &refusal("ChainTooLong", "the chain exceeds 10000 characters"),
            ));
        }
        Err(refused) => return Ok(rejected(ctx, &refused)),
    };
    ctx.deps
        .store
        .record_issued_certificate(&IssuedCertificate {
            charger_id: ctx.charger.id,
            serial: signed.serial.clone(),
            subject: signed.subject.clone(),
            not_after: signed.not_after,
            issued_at: ctx.now(),
        })
        .await
        .map_err(crate::domain::internal)?;
    tracing::info!(charger.id = %identity, certificate.serial = %signed.serial,
        certificate.not_after = %signed.not_after, "signed the charger's certificate");
    let mut certificate_signed = json!({ "certificateChain": signed.chain });
    if ctx.version == OcppVersion::V201 {
        certificate_signed["certificateType"] = json!("ChargingStationCertificate");
    }
    Ok(Handled {
        payload: json!({ "status": "Accepted" }),
        booted: None,
        then: Some(FollowUp {
            action: "CertificateSigned",
            payload: certificate_signed,
        }),
    })
}

fn refusal(reason: &'static str, detail: &str) -> CsrRefused {
    CsrRefused {
        reason,
        detail: detail.to_owned(),
    }
}

/// Rejected; on 2.0.1 with the reason (1.6's answer has only `status`).
fn rejected(ctx: &Context, why: &CsrRefused) -> Handled {
    tracing::info!(charger.id = %ctx.charger.charge_point_id, reason = why.reason,
        detail = %why.detail, "SignCertificate rejected");
    let mut payload = json!({ "status": "Rejected" });
    if ctx.version == OcppVersion::V201 {
        let detail: String = why.detail.chars().take(512).collect();
        payload["statusInfo"] = json!({ "reasonCode": why.reason, "additionalInfo": detail });
    }
    Handled::from(payload)
}
