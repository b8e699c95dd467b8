//! The chain client's error type, with the kinds a transaction engine must tell apart and the
//! retry semantics a failover client needs.

use std::time::Duration;

use alloy::transports::{RpcError, TransportErrorKind};
use alloy_primitives::Bytes;

/// Result with the chain [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong talking to a chain node.
///
/// [`Error::is_retryable`] says whether the same request may succeed later or on another
/// endpoint (transport failures, timeouts, 5xx, rate limits). Everything else — node verdicts on
/// the request itself, such as a revert or a nonce conflict — is surfaced at once.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The transaction's nonce is below the account's next nonce: that nonce is already used.
    #[error("nonce too low: {message}")]
    NonceTooLow {
        /// The node's message.
        message: String,
    },
    /// The transaction's nonce is above what the node accepts (a gap).
    #[error("nonce too high: {message}")]
    NonceTooHigh {
        /// The node's message.
        message: String,
    },
    /// A transaction with the same nonce is pending and this one does not pay enough more.
    #[error("replacement transaction underpriced: {message}")]
    ReplacementUnderpriced {
        /// The node's message.
        message: String,
    },
    /// The node already has this exact transaction (sending the same signed bytes again).
    #[error("transaction already known")]
    AlreadyKnown,
    /// The sender cannot pay for gas and value.
    #[error("insufficient funds: {message}")]
    InsufficientFunds {
        /// The node's message.
        message: String,
    },
    /// The fee is below what the node or block accepts (base fee, pool minimum).
    #[error("fee too low: {message}")]
    FeeTooLow {
        /// The node's message.
        message: String,
    },
    /// The call or gas estimate reverted.
    #[error("execution reverted: {}", reason.as_deref().unwrap_or("(no reason)"))]
    Reverted {
        /// The decoded reason (`Error(string)`, `Panic(uint256)`), when it could be decoded.
        reason: Option<String>,
        /// The raw revert data, when the node returned it.
        data: Option<Bytes>,
    },
    /// Any other JSON-RPC error response.
    #[error("rpc error {code}: {message}")]
    Rpc {
        /// The JSON-RPC error code.
        code: i64,
        /// The message.
        message: String,
    },
    /// The endpoint asked us to slow down (HTTP 429 or a rate-limit error code).
    #[error("rate limited")]
    RateLimited {
        /// The delay the server asked for, when it gave one.
        retry_after: Option<Duration>,
    },
    /// The request did not complete in time. For a send, the transaction may have reached the
    /// node: find out (by hash) before sending anything different for its nonce.
    #[error("{method} timed out after {after:?}")]
    Timeout {
        /// The RPC method.
        method: &'static str,
        /// The time allowed.
        after: Duration,
    },
    /// The connection failed, was closed, or returned a server error (5xx).
    #[error("transport: {message}")]
    Transport {
        /// What failed.
        message: String,
    },
    /// A non-retryable HTTP status (4xx other than 408/429).
    #[error("http status {status}: {body}")]
    Http {
        /// The status code.
        status: u16,
        /// The response body.
        body: String,
    },
    /// The response could not be decoded (truncated, null where a value was required).
    #[error("invalid response: {message}")]
    InvalidResponse {
        /// What was wrong.
        message: String,
    },
    /// The request could not be built or the client was misused (bad URL, serialization).
    #[error("local error: {message}")]
    Local {
        /// What went wrong.
        message: String,
    },
    /// Every endpoint failed with retryable errors for every round.
    #[error("{method}: all endpoints failed after {attempts} attempts; last: {last}")]
    Exhausted {
        /// The RPC method.
        method: &'static str,
        /// How many attempts were made in total.
        attempts: u32,
        /// The last error seen.
        last: Box<Error>,
    },
}

impl Error {
    /// Whether the same request may succeed later or on another endpoint.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::RateLimited { .. }
            | Self::Timeout { .. }
            | Self::Transport { .. }
            | Self::InvalidResponse { .. } => true,
            Self::Exhausted { last, .. } => last.is_retryable(),
            _ => false,
        }
    }

    /// The innermost error: the last one seen for [`Error::Exhausted`], otherwise `self`.
    pub fn root(&self) -> &Self {
        match self {
            Self::Exhausted { last, .. } => last.root(),
            other => other,
        }
    }

    /// Classifies a JSON-RPC error response by its code, message and raw JSON `data`.
    pub fn from_rpc_error(code: i64, message: &str, data: Option<&str>) -> Self {
        let message = message.to_owned();
        let lower = message.to_ascii_lowercase();
        if code == 3 || lower.contains("execution reverted") || lower.contains("revert") {
            let data = data.and_then(revert_data);
            let reason = data
                .as_deref()
                .and_then(|d| alloy_sol_types::decode_revert_reason(d))
                .or_else(|| reason_from_message(&message));
            return Self::Reverted { reason, data };
        }
        if lower.contains("nonce too low") || lower.contains("nonce is too low") {
            Self::NonceTooLow { message }
        } else if lower.contains("nonce too high") || lower.contains("nonce is too high") {
            Self::NonceTooHigh { message }
        } else if lower.contains("replacement transaction underpriced")
            || lower.contains("replacement underpriced")
        {
            Self::ReplacementUnderpriced { message }
        } else if lower.contains("already known")
            || lower.contains("already imported")
            || lower.contains("known transaction")
        {
            Self::AlreadyKnown
        } else if lower.contains("insufficient funds") {
            Self::InsufficientFunds { message }
        } else if lower.contains("underpriced")
            || lower.contains("less than block base fee")
            || lower.contains("fee cap less than")
            || lower.contains("max fee per gas less than")
        {
            Self::FeeTooLow { message }
        } else if code == -32005 || lower.contains("rate limit") {
            Self::RateLimited { retry_after: None }
        } else {
            Self::Rpc { code, message }
        }
    }
}

/// Revert data from a JSON-RPC error's `data` member: a hex string, or an object holding one
/// under `data`.
fn revert_data(raw: &str) -> Option<Bytes> {
    let value: serde_json::Value = serde_json::from_str(raw).ok()?;
    let text = match &value {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Object(map) => map.get("data")?.as_str()?.to_owned(),
        _ => return None,
    };
    text.parse().ok()
}

/// The reason in a node message of the form `execution reverted: <reason>`.
fn reason_from_message(message: &str) -> Option<String> {
    let (_, rest) = message.split_once("execution reverted:")?;
    let rest = rest.trim();
    (!rest.is_empty()).then(|| rest.to_owned())
}

impl From<RpcError<TransportErrorKind>> for Error {
    fn from(err: RpcError<TransportErrorKind>) -> Self {
        match err {
            RpcError::ErrorResp(payload) => Self::from_rpc_error(
                payload.code,
                &payload.message,
                payload.data.as_ref().map(|raw| raw.get()),
            ),
            RpcError::NullResp => Self::InvalidResponse {
                message: "null response".into(),
            },
            RpcError::DeserError { err, text } => {
                let mut snippet: String = text.chars().take(200).collect();
                if snippet.len() < text.len() {
                    snippet.push('…');
                }
                Self::InvalidResponse {
                    message: format!("{err}: {snippet}"),
                }
            }
            RpcError::Transport(kind) => from_transport(kind),
            other => Self::Local {
                message: other.to_string(),
            },
        }
    }
}

fn from_transport(kind: TransportErrorKind) -> Error {
    match kind {
        TransportErrorKind::HttpError(http) => match http.status {
            429 => Error::RateLimited { retry_after: None },
            408 | 500..=599 => Error::Transport {
                message: format!("http {}: {}", http.status, http.body),
            },
            status => Error::Http {
                status,
                body: http.body,
            },
        },
        TransportErrorKind::HttpErrorWithRetryAfter { error, retry_after } => {
            if error.status == 429 {
                Error::RateLimited {
                    retry_after: Some(retry_after),
                }
            } else if error.status >= 500 || error.status == 408 {
                Error::Transport {
                    message: error.to_string(),
                }
            } else {
                Error::Http {
                    status: error.status,
                    body: error.body,
                }
            }
        }
        TransportErrorKind::NonRetryable(e) => Error::Local {
            message: e.to_string(),
        },
        other => Error::Transport {
            message: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn payload(code: i64, message: &str, data: Option<&str>) -> Error {
        Error::from_rpc_error(code, message, data)
    }

    #[test]
    fn classifies_node_messages() {
        let cases = [
            ("nonce too low", "NonceTooLow"),
            ("nonce too low: next nonce 5, tx nonce 3", "NonceTooLow"),
            ("nonce too high", "NonceTooHigh"),
            (
                "replacement transaction underpriced",
                "ReplacementUnderpriced",
            ),
            ("transaction already imported", "AlreadyKnown"),
            ("already known", "AlreadyKnown"),
            (
                "insufficient funds for gas * price + value",
                "InsufficientFunds",
            ),
            ("max fee per gas less than block base fee", "FeeTooLow"),
            ("method not found", "Rpc"),
        ];
        for (message, kind) in cases {
            let err = payload(-32003, message, None);
            assert!(format!("{err:?}").starts_with(kind), "{message}: {err:?}");
            assert!(!err.is_retryable(), "{message}");
        }
    }

    #[test]
    fn decodes_revert_data() {
        // Error(string) "boom"
        let data = "0x08c379a0\
            0000000000000000000000000000000000000000000000000000000000000020\
            0000000000000000000000000000000000000000000000000000000000000004\
            626f6f6d00000000000000000000000000000000000000000000000000000000";
        let err = payload(3, "execution reverted", Some(&format!("\"{data}\"")));
        match err {
            Error::Reverted {
                reason,
                data: Some(bytes),
            } => {
                assert_eq!(reason.as_deref(), Some("revert: boom"));
                assert_eq!(&bytes[..4], &[0x08, 0xc3, 0x79, 0xa0]);
            }
            other => panic!("unexpected {other:?}"),
        }
        let err = payload(-32000, "execution reverted: nope", None);
        assert!(matches!(err, Error::Reverted { reason: Some(r), data: None } if r == "nope"));
    }

    #[test]
    fn transport_errors_are_retryable_and_4xx_are_not() {
        let e: Error = RpcError::Transport(TransportErrorKind::HttpError(
            alloy::transports::HttpError {
                status: 503,
                body: String::new(),
            },
        ))
        .into();
        assert!(e.is_retryable());
        let e: Error = RpcError::Transport(TransportErrorKind::HttpError(
            alloy::transports::HttpError {
                status: 429,
                body: String::new(),
            },
        ))
        .into();
        assert!(matches!(e, Error::RateLimited { .. }) && e.is_retryable());
        let e: Error = RpcError::Transport(TransportErrorKind::HttpError(
            alloy::transports::HttpError {
                status: 401,
                body: "no".into(),
            },
        ))
        .into();
        assert!(!e.is_retryable());
        let e: Error = RpcError::Transport(TransportErrorKind::BackendGone).into();
        assert!(e.is_retryable());
        let wrapped = Error::Exhausted {
            method: "eth_call",
            attempts: 3,
            last: Box::new(e),
        };
        assert!(wrapped.is_retryable());
    }
}
