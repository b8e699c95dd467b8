//! The crate's error type.

use std::fmt;

/// Result with [`Error`] as the default error.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Errors from validation, storage and the other core seams.
///
/// Retry semantics live in the type: see [`Error::is_retryable`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A job spec or other input failed validation; every problem is listed with its field.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
    /// The entity does not exist.
    #[error("{entity} {id} not found")]
    NotFound {
        /// What kind of thing (`job`, `task`, …).
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// A compare-and-set write found a different state than expected.
    #[error("{entity} {id} is {found}, expected {expected}")]
    Conflict {
        /// What kind of thing.
        entity: &'static str,
        /// Its id.
        id: String,
        /// The state the caller expected.
        expected: String,
        /// The state found.
        found: String,
    },
    /// A write would create something that already exists.
    #[error("{entity} {id} already exists")]
    AlreadyExists {
        /// What kind of thing.
        entity: &'static str,
        /// Its id.
        id: String,
    },
    /// A requested state change is not allowed.
    #[error("{entity} {id}: cannot go from {from} to {to}")]
    InvalidTransition {
        /// What kind of thing.
        entity: &'static str,
        /// Its id.
        id: String,
        /// Current state.
        from: String,
        /// Requested state.
        to: String,
    },
    /// The storage backend failed.
    #[error("{backend} storage: {message}")]
    Storage {
        /// Which backend (`sqlite`, `redb`, `memory`).
        backend: &'static str,
        /// What failed.
        message: String,
        /// Whether the same call may succeed later (busy, locked, I/O hiccup).
        retryable: bool,
    },
    /// Stored data could not be decoded.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
}

impl Error {
    /// Whether retrying the same operation later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::Storage {
                retryable: true,
                ..
            }
        )
    }

    /// A [`Error::NotFound`].
    pub fn not_found(entity: &'static str, id: impl fmt::Display) -> Self {
        Self::NotFound {
            entity,
            id: id.to_string(),
        }
    }
}

/// One problem in an input, located by its field path (`trigger.cron`, `action.args[1]`).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldError {
    /// Dotted path of the field, with `[i]` for list elements.
    pub path: String,
    /// What is wrong, in words.
    pub message: String,
}

impl FieldError {
    /// A field error.
    pub fn new(path: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            path: path.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.path, self.message)
        }
    }
}

/// Every problem found in one input. Never empty when returned as an error.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct ValidationErrors(pub Vec<FieldError>);

impl ValidationErrors {
    /// Adds a problem.
    pub fn push(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(FieldError::new(path, message));
    }

    /// Whether no problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// `Ok(value)` when empty, otherwise `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Self> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ValidationErrors {}
