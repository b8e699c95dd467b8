//! Invalid specs: TOML.

use super::*;

pub(super) fn cases() -> Vec<Case> {
    vec![
        (toml("title = \"x\"\nowner = [\n"), "", "line"),
        (
            tt("[trigger]\nkind = \"time\"\nevry = \"5m\"\n"),
            "trigger.evry",
            "unknown field `evry`",
        ),
        (
            tt("[trigger]\nkind = \"time\"\nevery = \"5m\"\n")
                .1
                .replace("title = \"Valid title\"", "title = 5")
                .pipe_toml(),
            "title",
            "invalid type",
        ),
        (
            toml(&format!(
                "{TOML_HEAD}expires_at = 2027-01-01T00:00:00\n[trigger]\nkind = \"time\"\nevery = \"5m\"\n{TOML_ACTION}"
            )),
            "expires_at",
            "no time zone offset",
        ),
        (
            tt("[trigger]\nkind = \"time\"\ncron = \"0 0 *\"\n"),
            "trigger.cron",
            "expected 6 fields",
        ),
        (
            tt("[trigger]\nkind = \"time\"\nevery = \"5m\"\n")
                .1
                .replace("args = [\"5\"]", "args = [5.0]")
                .pipe_toml(),
            "action.args[0]",
            "floating-point",
        ),
        (
            tt(
                "[trigger]\nkind = \"condition\"\nop = \"greater_than\"\nvalue = 2500.5\nsource = { type = \"http\", url = \"http://127.0.0.1:9/\" }\n",
            ),
            "trigger.value",
            "write exact decimals as strings",
        ),
    ]
}
