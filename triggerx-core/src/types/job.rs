//! Jobs.

use alloy_primitives::Address;
use serde::{Deserialize, Serialize};

use super::{Action, Trigger, TriggerKind};
use crate::{JobId, Timestamp};

/// A validated job: when its trigger fires, perform its action, until it expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Job {
    /// The job id (the on-chain registry's id when registered there).
    pub id: JobId,
    /// The account that owns the job and pays for its executions.
    pub owner: Address,
    /// A human-readable title.
    pub title: String,
    /// When it fires.
    pub trigger: Trigger,
    /// What it does.
    pub action: Action,
    /// Whether it keeps firing after the first occurrence. Time jobs with a schedule that
    /// produces several instants are recurring by construction.
    pub recurring: bool,
    /// No occurrence at or after this instant.
    pub expires_at: Option<Timestamp>,
    /// The lifecycle state.
    pub status: JobStatus,
    /// When the job was created.
    pub created_at: Timestamp,
    /// When the job last changed.
    pub updated_at: Timestamp,
}

impl Job {
    /// An active, recurring job without a title or an expiry, created at `now`.
    pub fn new(
        id: JobId,
        owner: Address,
        trigger: Trigger,
        action: Action,
        now: Timestamp,
    ) -> Self {
        Self {
            id,
            owner,
            title: String::new(),
            trigger,
            action,
            recurring: true,
            expires_at: None,
            status: JobStatus::Active,
            created_at: now,
            updated_at: now,
        }
    }

    /// The trigger's kind.
    pub fn kind(&self) -> TriggerKind {
        self.trigger.kind()
    }

    /// Whether the job has expired at `now`.
    pub fn is_expired_at(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| now >= e)
    }
}

/// A job's lifecycle state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobStatus {
    /// Watched and firing.
    Active,
    /// Kept, not firing, until resumed.
    Paused,
    /// A one-shot job that fired, or a schedule that ran out.
    Completed,
    /// Reached its expiry.
    Expired,
    /// Deleted by its owner; kept for the record.
    Deleted,
}

impl JobStatus {
    /// All states.
    pub const ALL: [Self; 5] = [
        Self::Active,
        Self::Paused,
        Self::Completed,
        Self::Expired,
        Self::Deleted,
    ];

    /// The lower-case name used in specs, storage and the API.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Paused => "paused",
            Self::Completed => "completed",
            Self::Expired => "expired",
            Self::Deleted => "deleted",
        }
    }

    /// Parses [`as_str`](Self::as_str) output.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|v| v.as_str() == s)
    }

    /// Whether no further change is possible.
    pub const fn is_final(self) -> bool {
        matches!(self, Self::Completed | Self::Expired | Self::Deleted)
    }

    /// Whether a job may move from `self` to `next`.
    pub const fn can_become(self, next: Self) -> bool {
        matches!(
            (self, next),
            (
                Self::Active,
                Self::Paused | Self::Completed | Self::Expired | Self::Deleted
            ) | (Self::Paused, Self::Active | Self::Expired | Self::Deleted)
                | (Self::Completed | Self::Expired, Self::Deleted)
        )
    }
}
