use std::time::Duration;

use super::*;

fn vars(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

fn parse(text: &str, env: &[(&str, &str)]) -> anyhow::Result<Config> {
    Config::from_parts(Some(text), Some("test.toml".into()), vars(env))
}

/// Every key of a table, as dotted paths.
fn keys(prefix: &str, t: &toml::Table, out: &mut Vec<String>) {
    for (k, v) in t {
        let p = if prefix.is_empty() {
            k.clone()
        } else {
            format!("{prefix}.{k}")
        };
        if let toml::Value::Table(inner) = v {
            keys(&p, inner, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn the_example_parses_back_to_the_defaults() {
    assert_eq!(parse(EXAMPLE, &[]).unwrap(), Config::default());
}

#[test]
fn the_example_lists_every_field_with_a_default() {
    let mut in_example = Vec::new();
    keys("", &toml::from_str(EXAMPLE).unwrap(), &mut in_example);
    let mut defaults = Vec::new();
    keys(
        "",
        &toml::Table::try_from(Config::default()).unwrap(),
        &mut defaults,
    );
    in_example.sort();
    defaults.sort();
    assert_eq!(in_example, defaults);
}

#[test]
fn the_examples_optional_fields_are_real_fields() {
    // Uncomment every `# name = value` line and `# [section]` header: still a valid config,
    // with every optional field set.
    let uncommented: String = EXAMPLE
        .lines()
        .map(|l| {
            let rest = l.strip_prefix("# ").unwrap_or(l);
            let is_field = rest.split_once(" = ").is_some_and(|(k, _)| {
                !k.is_empty() && k.chars().all(|c| c.is_ascii_lowercase() || c == '_')
            });
            if l.starts_with("# ") && (is_field || rest.starts_with('[')) {
                rest.to_owned()
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let c = parse(&uncommented, &[]).unwrap();
    assert_eq!(c.chain.chain_id, Some(31337));
    assert!(c.chain.task_hub.is_some() && c.chain.job_registry.is_some());
    assert!(c.network.scheduler.is_some() && c.network.health.is_some());
    assert!(c.keeper.key.is_some() && c.keeper.key_file.is_some());
    assert!(c.health.webhook_url.is_some());
    let t = c.health.telegram.unwrap();
    assert_eq!(t.chat_id, "-1001234567890");
}

#[test]
fn a_bad_value_in_the_file_names_its_field() {
    let e = parse("[keeper.engine]\nconfirmations = \"two\"\n", &[]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("test.toml"), "{msg}");
    assert!(msg.contains("keeper.engine.confirmations"), "{msg}");
}

#[test]
fn unknown_fields_are_refused_by_name() {
    let e = parse("[keeper]\ncheckin = \"5s\"\n", &[]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(msg.contains("field `keeper.checkin`"), "{msg}");
    let e = parse("[keeper.engine]\nconfirmation = 1\n", &[]).unwrap_err();
    assert!(
        format!("{e:#}").contains("keeper.engine.confirmation"),
        "{e:#}"
    );
    let e = parse("[chians]\n", &[]).unwrap_err();
    assert!(format!("{e:#}").contains("chians"), "{e:#}");
}

#[test]
fn environment_overrides_apply_on_top_of_the_file_with_the_fields_type() {
    let file = "[keeper.engine]\nconfirmations = 3\n[chain]\nrpc_urls = [\"http://a\"]\n";
    let c = parse(
        file,
        &[
            ("TRIGGERX__KEEPER__ENGINE__CONFIRMATIONS", "5"),
            ("TRIGGERX__CHAIN__RPC_URLS", "http://x:1, http://y:2"),
            ("TRIGGERX__CHAIN__CHAIN_ID", "31337"),
            (
                "TRIGGERX__CHAIN__TASK_HUB",
                "0x5FbDB2315678afecb367f032d93F642f64180aa3",
            ),
            ("TRIGGERX__SCHEDULER__NEW_HEADS", "false"),
            ("TRIGGERX__HEALTH__SILENCE", "20s"),
            ("TRIGGERX__KEEPER__KEY_FILE", "/run/k.key"),
            ("TRIGGERX__NETWORK__BOOTSTRAP", "[\"/ip4/127.0.0.1/tcp/1\"]"),
            ("TRIGGERX__HEALTH__TELEGRAM__TOKEN", "t0k"),
            ("TRIGGERX__HEALTH__TELEGRAM__CHAT_ID", "-100"),
            ("TRIGGERX_ANVIL", "not an override"),
            ("PATH", "/bin"),
        ],
    )
    .unwrap();
    assert_eq!(c.keeper.engine.confirmations, 5);
    assert_eq!(c.chain.rpc_urls, ["http://x:1", "http://y:2"]);
    assert_eq!(c.chain.chain_id, Some(31337));
    assert!(c.chain.task_hub.is_some());
    assert!(!c.scheduler.new_heads);
    assert_eq!(c.health.silence, Duration::from_secs(20));
    assert_eq!(
        c.keeper.key_file.as_deref(),
        Some(std::path::Path::new("/run/k.key"))
    );
    assert_eq!(c.network.bootstrap, ["/ip4/127.0.0.1/tcp/1"]);
    let t = c.health.telegram.unwrap();
    assert_eq!((t.token.expose(), t.chat_id.as_str()), ("t0k", "-100"));
    assert_eq!(t.base_url, "https://api.telegram.org");
    // Untouched fields keep the file's or the default value.
    assert_eq!(c.keeper.engine.bump_percent, 12);
}

#[test]
fn a_bad_override_names_its_variable() {
    let e = parse("", &[("TRIGGERX__KEEPER__ENGINE__CONFIRMATIONS", "many")]).unwrap_err();
    assert!(
        format!("{e:#}").contains("TRIGGERX__KEEPER__ENGINE__CONFIRMATIONS"),
        "{e:#}"
    );
    let e = parse("", &[("TRIGGERX__HEALTH__SILENCE", "soon")]).unwrap_err();
    let msg = format!("{e:#}");
    assert!(
        msg.contains("TRIGGERX__HEALTH__SILENCE") && msg.contains("health.silence"),
        "{msg}"
    );
    let e = parse("", &[("TRIGGERX__CHAIN__TASK_HUB", "0x12")]).unwrap_err();
    assert!(
        format!("{e:#}").contains("TRIGGERX__CHAIN__TASK_HUB"),
        "{e:#}"
    );
    let e = parse("", &[("TRIGGERX__KEEPER__KEYFILE", "/k")]).unwrap_err();
    assert!(
        format!("{e:#}").contains("TRIGGERX__KEEPER__KEYFILE"),
        "{e:#}"
    );
    let e = parse("", &[("TRIGGERX__KEEPER", "x")]).unwrap_err();
    assert!(format!("{e:#}").contains("is a section"), "{e:#}");
    let e = parse("", &[("TRIGGERX__METRICS__ENABLED", "yes")]).unwrap_err();
    assert!(format!("{e:#}").contains("true or false"), "{e:#}");
}

#[test]
fn secrets_never_print() {
    let key = "59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
    let c = parse(
        "[health]\nwebhook_url = \"https://user:pw@hooks\"\n",
        &[("TRIGGERX__KEEPER__KEY", key)],
    )
    .unwrap();
    assert_eq!(c.keeper.key.as_ref().unwrap().expose(), key);
    let shown = format!("{}\n{c:?}", c.to_toml_redacted());
    assert!(!shown.contains(key), "{shown}");
    assert!(!shown.contains("pw@hooks"), "{shown}");
    assert!(shown.contains(secret::REDACTED));
}

#[test]
fn no_file_means_defaults_plus_environment() {
    let c = Config::from_parts(None, None, vars(&[("TRIGGERX__LOG__FORMAT", "json")])).unwrap();
    assert_eq!(c.log.format, LogFormat::Json);
    assert_eq!(c.store, Store::default());
}
