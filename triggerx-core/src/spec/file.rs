//! Reading specs from text and files, in any supported format.

use std::path::Path;

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::{
    legacy::{self, CreateJobData},
    model::JobSpec,
    validate::{ValidationContext, validate},
};
use crate::{ValidationErrors, types::Job};

/// A text format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// JSON: the native spec, or the original `CreateJobData` (an object or the API's array).
    Json,
    /// TOML: the native spec.
    Toml,
}

impl Format {
    /// The format for a file name's extension (`.json`, `.toml`).
    pub fn from_path(path: &Path) -> Option<Self> {
        match path.extension()?.to_str()?.to_ascii_lowercase().as_str() {
            "json" => Some(Self::Json),
            "toml" => Some(Self::Toml),
            _ => None,
        }
    }
}

/// A parsed spec document.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    /// A native [`JobSpec`].
    Native(Box<JobSpec>),
    /// Original-format `CreateJobData` objects (one, or the API's array).
    Legacy(Vec<CreateJobData>),
}

/// Why a file could not be validated.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FileError {
    /// The file could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The file's extension names no supported format.
    #[error("unsupported file type (expected .json or .toml)")]
    UnsupportedFormat,
    /// The content is not a valid spec; every problem is listed.
    #[error(transparent)]
    Invalid(#[from] ValidationErrors),
}

fn single(path: impl Into<String>, message: impl Into<String>) -> ValidationErrors {
    let mut e = ValidationErrors::default();
    e.push(path, message);
    e
}

fn path_string(p: &serde_path_to_error::Path) -> String {
    let s = p.to_string();
    if s == "." { String::new() } else { s }
}

fn json_at<T: DeserializeOwned>(text: &str) -> Result<T, ValidationErrors> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let value: T = serde_path_to_error::deserialize(&mut *de).map_err(|err| {
        let path = path_string(err.path());
        single(path, err.into_inner().to_string())
    })?;
    de.end().map_err(|err| single("", err.to_string()))?;
    Ok(value)
}

/// Parses a native spec from JSON. Errors name the field path and the line.
///
/// # Errors
/// The first structural problem (syntax, unknown field, wrong type, missing field).
pub fn parse_json(text: &str) -> Result<JobSpec, ValidationErrors> {
    json_at(text)
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset).map_or(0, |s| s.matches('\n').count()) + 1
}

/// Parses a native spec from TOML. Errors name the field path and the line.
///
/// # Errors
/// The first structural problem (syntax, unknown field, wrong type, missing field).
pub fn parse_toml(text: &str) -> Result<JobSpec, ValidationErrors> {
    let located = |err: toml::de::Error| {
        let line = err
            .span()
            .map(|s| format!(" at line {}", line_of(text, s.start)))
            .unwrap_or_default();
        format!("{}{line}", err.message().trim())
    };
    let de = toml::de::Deserializer::parse(text).map_err(|err| single("", located(err)))?;
    serde_path_to_error::deserialize(de).map_err(|err| {
        let path = path_string(err.path());
        single(path, located(err.into_inner()))
    })
}

/// Parses a document of `format`: for JSON, a top-level array or an object with
/// `task_definition_id` is the original `CreateJobData`, anything else the native spec.
///
/// # Errors
/// The first structural problem.
pub fn parse_document(text: &str, format: Format) -> Result<Document, ValidationErrors> {
    match format {
        Format::Toml => parse_toml(text).map(|s| Document::Native(Box::new(s))),
        Format::Json => {
            let probe: Value = serde_json::from_str(text).map_err(|e| single("", e.to_string()))?;
            match &probe {
                Value::Array(_) => json_at::<Vec<CreateJobData>>(text).map(Document::Legacy),
                Value::Object(m) if m.contains_key("task_definition_id") => {
                    json_at::<CreateJobData>(text).map(|d| Document::Legacy(vec![d]))
                }
                _ => parse_json(text).map(|s| Document::Native(Box::new(s))),
            }
        }
    }
}

/// Validates a document into its jobs (one for a native spec; one per `CreateJobData`).
/// Errors of the i-th element of a legacy array are prefixed `[i].`.
///
/// # Errors
/// Every problem in every job.
pub fn validate_document(
    doc: &Document,
    ctx: &ValidationContext,
) -> Result<Vec<Job>, ValidationErrors> {
    match doc {
        Document::Native(spec) => validate(spec, ctx).map(|j| vec![j]),
        Document::Legacy(items) => {
            let many = items.len() > 1;
            if items.is_empty() {
                return Err(single("", "the CreateJobData array is empty"));
            }
            let mut all = ValidationErrors::default();
            let mut jobs = Vec::with_capacity(items.len());
            for (i, item) in items.iter().enumerate() {
                match legacy::validate(item, ctx) {
                    Ok(j) => jobs.push(j),
                    Err(errs) => all.0.extend(errs.0.into_iter().map(|mut fe| {
                        if many {
                            fe.path = if fe.path.is_empty() {
                                format!("[{i}]")
                            } else {
                                format!("[{i}].{}", fe.path)
                            };
                        }
                        fe
                    })),
                }
            }
            all.into_result(jobs)
        }
    }
}

/// Reads and parses a spec file, choosing the format by extension.
///
/// # Errors
/// Unreadable file, unsupported extension, or a structural problem.
pub fn load(path: impl AsRef<Path>) -> Result<Document, FileError> {
    let path = path.as_ref();
    let format = Format::from_path(path).ok_or(FileError::UnsupportedFormat)?;
    let text = std::fs::read_to_string(path)?;
    Ok(parse_document(&text, format)?)
}

/// Reads, parses and validates a spec file.
///
/// # Errors
/// Unreadable file, unsupported extension, or every problem in its jobs.
pub fn validate_file(
    path: impl AsRef<Path>,
    ctx: &ValidationContext,
) -> Result<Vec<Job>, FileError> {
    let doc = load(path)?;
    Ok(validate_document(&doc, ctx)?)
}
