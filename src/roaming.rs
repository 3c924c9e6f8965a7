//! OCPI's port to the chargers: its remote starts, stops and unlocks go
//! through the same command path as an operator's, to whichever instance
//! holds the charger.

use async_trait::async_trait;
use serde_json::Value;

/// [`ocpi::ChargerCommands`] over the cluster-wide charger commands.
#[derive(Debug, Clone)]
pub struct RoamingChargers(pub evgate_cluster::Chargers);

#[async_trait]
impl ocpi::ChargerCommands for RoamingChargers {
    async fn command(
        &self,
        charge_point_id: &str,
        action: &str,
        payload: Value,
    ) -> Result<Value, String> {
        self.0
            .command(charge_point_id, action, payload)
            .await
            .map_err(|e| e.to_string())
    }
}
