//! The service hosts' configuration: one TOML schema for every service, with a default for
//! every field where one makes sense, unknown fields refused, and environment overrides
//! (`TRIGGERX__SECTION__FIELD`, see [`env`]) applied on top of the file.
//!
//! Errors name the field path (`keeper.engine.confirmations`) and where the bad value came
//! from (the file or the environment variable). Secrets ([`Secret`]) never print.
//!
//! `triggerx config example` prints [`EXAMPLE`], a commented full configuration that parses
//! back to [`Config::default`] (tested).

mod env;
mod schema;
mod secret;

use std::path::Path;

use anyhow::{Context, bail};

pub(crate) use self::{
    env::{ENV_PREFIX, Overrides},
    schema::*,
    secret::Secret,
};

/// A commented configuration with every field at its default.
pub(crate) const EXAMPLE: &str = include_str!("example.toml");

/// Where a configuration's values came from, to name them in errors.
#[derive(Debug, Clone, Default)]
pub(crate) struct Sources {
    file: Option<String>,
    env: Overrides,
}

impl Config {
    /// Reads `file` (when given), applies the `TRIGGERX__…` variables of `vars` on top, and
    /// checks the result against the schema.
    pub(crate) fn load(
        file: Option<&Path>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let text = match file {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading the configuration {}", path.display()))?,
            ),
            None => None,
        };
        let name = file.map(|p| p.display().to_string());
        Self::from_parts(text.as_deref(), name, vars)
    }

    /// [`Config::load`] from text already read; `name` is what errors call the file.
    pub(crate) fn from_parts(
        text: Option<&str>,
        name: Option<String>,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let file_name = name.clone().unwrap_or_else(|| "the configuration".into());
        let mut table = match text {
            Some(t) => toml::from_str::<toml::Table>(t)
                .with_context(|| format!("{file_name} is not valid TOML"))?,
            None => toml::Table::new(),
        };
        let defaults = toml::Table::try_from(Config::default()).expect("defaults serialize");
        let env = Overrides::apply(&mut table, &defaults, vars)?;
        let sources = Sources { file: name, env };
        let value = toml::Value::Table(table);
        match serde_path_to_error::deserialize::<_, Config>(value) {
            Ok(config) => Ok(config),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner();
                bail!("{}", sources.describe(&path, &inner.to_string()))
            }
        }
    }

    /// The effective configuration as TOML, secrets redacted.
    pub(crate) fn to_toml_redacted(&self) -> String {
        toml::to_string(self).expect("a configuration serializes")
    }
}

impl Sources {
    /// An error message for the value at `path`, naming the variable that set it if one did.
    fn describe(&self, path: &str, message: &str) -> String {
        // An unknown field's name is in the message; make sure the path ends with it.
        let field = unknown_field(message)
            .map(|f| {
                if path == "." || path.is_empty() {
                    f.to_owned()
                } else if path == f || path.ends_with(&format!(".{f}")) {
                    path.to_owned()
                } else {
                    format!("{path}.{f}")
                }
            })
            .unwrap_or_else(|| path.to_owned());
        if let Some(var) = self.env.var_for(&field) {
            return format!("{var} (field `{field}`): {message}");
        }
        let file = self.file.as_deref().unwrap_or("the configuration");
        if field == "." || field.is_empty() {
            format!("{file}: {message}")
        } else {
            format!("{file}: field `{field}`: {message}")
        }
    }
}

/// The field named by serde's "unknown field `x`, expected …" message.
fn unknown_field(message: &str) -> Option<&str> {
    let rest = message.strip_prefix("unknown field `")?;
    rest.split('`').next()
}

#[cfg(test)]
mod tests;
