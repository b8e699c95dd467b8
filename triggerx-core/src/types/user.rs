//! Users and API keys.

use alloy_primitives::{Address, B256};
use serde::{Deserialize, Serialize};

use super::Decimal;
use crate::Timestamp;

/// A job owner.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// The owner's address.
    pub address: Address,
    /// Accumulated points.
    pub points: Decimal,
    /// Jobs created.
    pub total_jobs: u64,
    /// Tasks settled for the user's jobs.
    pub total_tasks: u64,
    /// When first seen.
    pub created_at: Timestamp,
}

/// An API key. Only its hash is stored; the secret is shown once, at creation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// A short public identifier (the key's prefix), safe to show and log.
    pub id: String,
    /// SHA-256 of the full secret key.
    pub key_hash: B256,
    /// Who the key belongs to.
    pub owner: String,
    /// Whether requests with it are accepted.
    pub active: bool,
    /// Requests per minute.
    pub rate_limit_per_min: u32,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it was last used.
    pub last_used: Option<Timestamp>,
}
