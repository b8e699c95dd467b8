//! Keepers.

use alloy_primitives::{Address, U256};
use serde::{Deserialize, Serialize};

use super::Decimal;
use crate::Timestamp;

/// A keeper: an operator identified by its secp256k1 address.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keeper {
    /// The keeper's signing address.
    pub address: Address,
    /// Operator-chosen display name.
    pub name: String,
    /// Voting power in the attestation registry.
    pub voting_power: U256,
    /// Registered on-chain.
    pub registered: bool,
    /// Checked in recently (health service).
    pub online: bool,
    /// The last verified check-in.
    pub last_checkin: Option<Timestamp>,
    /// The keeper's transport peer id, when known.
    pub peer_id: Option<String>,
    /// Software version reported at check-in.
    pub version: Option<String>,
    /// Accumulated points.
    pub points: Decimal,
    /// Tasks it executed as performer.
    pub executed_tasks: u64,
    /// Tasks it attested.
    pub attested_tasks: u64,
    /// Seconds observed online.
    pub uptime_secs: u64,
    /// When it was first registered.
    pub registered_at: Timestamp,
}

/// The part of a [`Keeper`] the health service owns: what check-ins and silence say.
///
/// The registrar owns the rest of the record (registration, power, points, counts); each side
/// writes only its own part ([`WriteBatch::put_keeper_registration`] and
/// [`KeeperStore::update_keeper_liveness`]), so neither overwrites the other's newer values.
///
/// [`WriteBatch::put_keeper_registration`]: crate::store::WriteBatch::put_keeper_registration
/// [`KeeperStore::update_keeper_liveness`]: crate::store::KeeperStore::update_keeper_liveness
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Liveness {
    /// Checked in recently.
    pub online: bool,
    /// The last verified check-in.
    pub last_checkin: Option<Timestamp>,
    /// The keeper's transport peer id, when known.
    pub peer_id: Option<String>,
    /// Software version reported at check-in.
    pub version: Option<String>,
    /// Seconds observed online.
    pub uptime_secs: u64,
}

impl Keeper {
    /// The health-owned part of the record.
    pub fn liveness(&self) -> Liveness {
        Liveness {
            online: self.online,
            last_checkin: self.last_checkin,
            peer_id: self.peer_id.clone(),
            version: self.version.clone(),
            uptime_secs: self.uptime_secs,
        }
    }

    /// Replaces the health-owned part of the record.
    pub fn set_liveness(&mut self, liveness: Liveness) {
        self.online = liveness.online;
        self.last_checkin = liveness.last_checkin;
        self.peer_id = liveness.peer_id;
        self.version = liveness.version;
        self.uptime_secs = liveness.uptime_secs;
    }

    /// A registered, offline keeper with no history.
    pub fn new(address: Address, voting_power: U256, now: Timestamp) -> Self {
        Self {
            address,
            name: String::new(),
            voting_power,
            registered: true,
            online: false,
            last_checkin: None,
            peer_id: None,
            version: None,
            points: Decimal::zero(),
            executed_tasks: 0,
            attested_tasks: 0,
            uptime_secs: 0,
            registered_at: now,
        }
    }
}
