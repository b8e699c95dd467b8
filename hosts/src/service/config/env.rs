//! Environment overrides: `TRIGGERX__<SECTION>__<FIELD>=value`, a double underscore per level
//! of nesting, names case-insensitive (`TRIGGERX__KEEPER__ENGINE__CONFIRMATIONS=2` sets
//! `keeper.engine.confirmations`). They apply on top of the file.
//!
//! A value is read as the type the field has: integers, booleans (`true`/`false`) and text
//! as written; lists as comma-separated items (`a,b`) or a TOML array (`["a", "b"]`); a field
//! without a default (an optional address, a key) as an integer when it is one, else as text.

use anyhow::bail;
use toml::{Table, Value};

/// The prefix every override starts with.
pub(crate) const ENV_PREFIX: &str = "TRIGGERX__";

/// The variables that were applied, and the field each one set.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides(Vec<(String, String)>);

impl Overrides {
    /// Applies the `TRIGGERX__…` variables among `vars` to `table` (the file's contents), typed
    /// after the field's value in `table` or, when absent, in `defaults`.
    pub(crate) fn apply(
        table: &mut Table,
        defaults: &Table,
        vars: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Self> {
        let mut applied = Vec::new();
        let mut vars: Vec<_> = vars
            .into_iter()
            .filter(|(k, _)| k.starts_with(ENV_PREFIX))
            .collect();
        vars.sort();
        for (var, raw) in vars {
            let segments: Vec<String> = var[ENV_PREFIX.len()..]
                .split("__")
                .map(str::to_ascii_lowercase)
                .collect();
            if segments.iter().any(String::is_empty) {
                bail!("{var}: empty name between `__` (use TRIGGERX__SECTION__FIELD)");
            }
            let path = segments.join(".");
            let like = lookup(table, &segments).or_else(|| lookup(defaults, &segments));
            let value = typed(&var, &path, &raw, like)?;
            set(table, &segments, value).map_err(|e| anyhow::anyhow!("{var}: {e}"))?;
            applied.push((var, path));
        }
        Ok(Self(applied))
    }

    /// The variable that set the field at `path`, if one did.
    pub(crate) fn var_for(&self, path: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(_, p)| p == path)
            .map(|(v, _)| v.as_str())
    }
}

fn lookup<'a>(table: &'a Table, path: &[String]) -> Option<&'a Value> {
    let (last, parents) = path.split_last()?;
    let mut t = table;
    for p in parents {
        t = t.get(p)?.as_table()?;
    }
    t.get(last)
}

fn set(table: &mut Table, path: &[String], value: Value) -> Result<(), String> {
    let (last, parents) = path.split_last().expect("a path has a field");
    let mut t = table;
    for (i, p) in parents.iter().enumerate() {
        let entry = t
            .entry(p.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        t = match entry {
            Value::Table(inner) => inner,
            _ => {
                return Err(format!(
                    "`{}` is a value, not a section",
                    parents[..=i].join(".")
                ));
            }
        };
    }
    t.insert(last.clone(), value);
    Ok(())
}

/// `raw` as a value shaped like `like`.
fn typed(var: &str, path: &str, raw: &str, like: Option<&Value>) -> anyhow::Result<Value> {
    let s = raw.trim();
    Ok(match like {
        Some(Value::Integer(_)) => match s.parse::<i64>() {
            Ok(i) => Value::Integer(i),
            Err(_) => bail!("{var} (field `{path}`): expected an integer, found {raw:?}"),
        },
        Some(Value::Float(_)) => match s.parse::<f64>() {
            Ok(f) => Value::Float(f),
            Err(_) => bail!("{var} (field `{path}`): expected a number, found {raw:?}"),
        },
        Some(Value::Boolean(_)) => match s {
            "true" => Value::Boolean(true),
            "false" => Value::Boolean(false),
            _ => bail!("{var} (field `{path}`): expected true or false, found {raw:?}"),
        },
        Some(Value::Array(_)) => list(var, path, s)?,
        Some(Value::Table(_)) => {
            bail!("{var}: `{path}` is a section; set its fields ({var}__<FIELD>)")
        }
        Some(_) => Value::String(raw.to_owned()),
        None => {
            if let Ok(i) = s.parse::<i64>() {
                Value::Integer(i)
            } else if s == "true" || s == "false" {
                Value::Boolean(s == "true")
            } else {
                Value::String(raw.to_owned())
            }
        }
    })
}

fn list(var: &str, path: &str, s: &str) -> anyhow::Result<Value> {
    if s.starts_with('[') {
        let t: Table = toml::from_str(&format!("v = {s}")).map_err(|e| {
            anyhow::anyhow!("{var} (field `{path}`): not a TOML array: {}", e.message())
        })?;
        return Ok(t.get("v").cloned().expect("parsed"));
    }
    Ok(Value::Array(
        s.split(',')
            .map(str::trim)
            .filter(|i| !i.is_empty())
            .map(|i| Value::String(i.to_owned()))
            .collect(),
    ))
}
