//! The per-service hosts (`triggerx keeper | scheduler | aggregator | registrar | health`):
//! each loads its [`config`], sets up logs, metrics and shutdown, and runs one role over libp2p
//! with the same wiring functions the devnet uses (`crate::roles`).

pub(crate) mod config;
