//! `--provision`: creates the fleet's station, chargers, connectors and id
//! tags through evgate's admin API, so a run needs nothing set up by hand.
//! Re-running is fine: what exists already (409) is left as it is.

use std::sync::Arc;

use futures_util::StreamExt;
use serde_json::{Value, json};

use crate::dialect::Version;

/// What to create.
#[derive(Debug, Clone)]
pub struct Plan {
    /// evgate's HTTP API base URL, e.g. `http://127.0.0.1:7103`.
    pub api: String,
    /// An admin bearer token for that API.
    pub token: String,
    /// The name of the station the chargers are created in.
    pub station_name: String,
    /// (identity, version) per charger.
    pub chargers: Vec<(String, Version)>,
    /// Connectors per charger (2.0.1: EVSEs, one connector each).
    pub connectors: u32,
    /// Each connector's power, kW.
    pub power_kw: f64,
    /// The OCPP security profile (0 to 3) every charger is registered with.
    pub security_profile: u8,
    /// The chargers' Basic-auth password, for profiles 1 and 2.
    pub password: Option<String>,
    /// Id tags to register, with status Accepted.
    pub id_tags: Vec<String>,
}

async fn post(
    http: &reqwest::Client,
    plan: &Plan,
    path: &str,
    body: Value,
) -> Result<Value, String> {
    let response = http
        .post(format!("{}{path}", plan.api.trim_end_matches('/')))
        .bearer_auth(&plan.token)
        .json(&body)
        .send()
        .await
        .map_err(|e| format!("POST {path}: {e}"))?;
    let status = response.status().as_u16();
    let answer: Value = response.json().await.unwrap_or(Value::Null);
    match status {
        200..=299 | 409 => Ok(answer),
        _ => Err(format!("POST {path}: HTTP {status}: {answer}")),
    }
}

/// Creates everything; returns the station id.
pub async fn provision(plan: Plan) -> Result<String, String> {
    let http = reqwest::Client::new();
    let station = post(
        &http,
        &plan,
        "/v1/admin/stations",
        json!({"name": plan.station_name, "latitude": 52.52, "longitude": 13.405}),
    )
    .await?;
    let station = station["data"]["id"]
        .as_str()
        .ok_or("the station was not created")?
        .to_owned();
    let plan = Arc::new(plan);
    let chargers: Vec<_> = plan.chargers.clone().into_iter().enumerate().collect();
    let results: Vec<Result<(), String>> = futures_util::stream::iter(chargers)
        .map(|(i, (identity, version))| {
            let (http, plan, station) = (http.clone(), plan.clone(), station.clone());
            async move {
                let mut body = json!({"chargePointId": identity, "securityProfile": plan.security_profile});
                if let Some(p) = &plan.password {
                    body["password"] = json!(p);
                }
                post(&http, &plan, &format!("/v1/admin/stations/{station}/chargers"), body).await?;
                for n in 1..=plan.connectors {
                    // 1.6: connector n; 2.0.1: EVSE n with its connector 1.
                    let (evse, connector) = match version {
                        Version::V16 => (n, n),
                        Version::V201 => (n, 1),
                    };
                    let body = json!({"chargePointId": identity, "evseId": evse, "connectorId": connector,
                                      "connectorNumber": (i as u64 * u64::from(plan.connectors) + u64::from(n)).to_string(),
                                      "connectorType": "CCS", "powerKw": plan.power_kw});
                    post(&http, &plan, &format!("/v1/admin/stations/{station}/connectors"), body).await?;
                }
                Ok(())
            }
        })
        .buffer_unordered(32)
        .collect()
        .await;
    results.into_iter().collect::<Result<(), String>>()?;
    for tag in &plan.id_tags {
        post(
            &http,
            &plan,
            "/v1/admin/id-tags",
            json!({"idTag": tag, "status": "Accepted"}),
        )
        .await?;
    }
    Ok(station)
}
