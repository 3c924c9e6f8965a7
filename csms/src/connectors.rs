//! A connection's map of its charger's connectors by OCPP address, read
//! once when the charger connects. In a reconnect storm every charger
//! re-sends a status per connector; each used to cost a read of its
//! connector (one more statement through SQLite's reader threads) — now
//! they are looked up here. A connector an operator adds during the
//! connection is not in the map and is read from the store when reported.

use std::sync::{Arc, OnceLock};

use booking::Store;
use booking::model::Connector;
use uuid::Uuid;

/// (evse id, OCPP connector id, evgate's connector id): a few bytes per
/// connector, kept by every connected charger.
type Address = (i32, i32, Uuid);

/// Shared by the connection's handlers; empty until the read is in.
#[derive(Debug, Clone, Default)]
pub struct ChargerConnectors(Arc<OnceLock<Box<[Address]>>>);

impl ChargerConnectors {
    /// Remembers the charger's connectors as the connection read them.
    pub fn remember(&self, connectors: &[Connector]) {
        let addresses = connectors
            .iter()
            .map(|c| (c.evse_id, c.ocpp_connector_id, c.id))
            .collect();
        // Set once per connection; a second read changes nothing.
        let _ = self.0.set(addresses);
    }

    /// The connector at an OCPP address: from memory once the connection's
    /// read is in, otherwise (or when it is not there) from the store.
    pub async fn at(
        &self,
        store: &dyn Store,
        charger_id: Uuid,
        evse_id: i32,
        connector_id: i32,
    ) -> booking::Result<Option<Uuid>> {
        let known = self.0.get().and_then(|addresses| {
            addresses
                .iter()
                .find(|&&(e, c, _)| e == evse_id && c == connector_id)
                .map(|&(_, _, id)| id)
        });
        if known.is_some() {
            return Ok(known);
        }
        Ok(store
            .connector_by_ocpp(charger_id, evse_id, connector_id)
            .await?
            .map(|c| c.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::store::{CHARGER_ID, CONNECTOR_ID, KnowsOneCharger, connector};

    #[tokio::test]
    async fn addresses_come_from_memory_once_read_and_from_the_store_otherwise() {
        // The store knows EVSE 1 / connector 1 only.
        let store = KnowsOneCharger;
        let known = ChargerConnectors::default();
        assert_eq!(
            known.at(&store, CHARGER_ID, 1, 1).await.unwrap(),
            Some(CONNECTOR_ID),
            "before the connection's read: the store"
        );
        assert_eq!(known.at(&store, CHARGER_ID, 2, 1).await.unwrap(), None);

        let second = Uuid::from_u128(0x99);
        known.remember(&[Connector {
            id: second,
            evse_id: 2,
            ..connector()
        }]);
        assert_eq!(
            known.at(&store, CHARGER_ID, 2, 1).await.unwrap(),
            Some(second),
            "from memory: the store would not know it"
        );
        assert_eq!(
            known.at(&store, CHARGER_ID, 1, 1).await.unwrap(),
            Some(CONNECTOR_ID),
            "not in the connection's read (added since): the store"
        );
    }
}
