//! Reading `palisade.yaml` and `-o key=value` overrides into a [`Config`].
//!
//! The YAML is read with the rules crate's positioned tree (`palisade_rules::yaml`: serde_yaml
//! keeps no positions and is archived), turned into a JSON value, overridden, then deserialized
//! with serde; `serde_path_to_error` names the key that failed, and the tree gives its line and
//! column.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use palisade_rules::yaml::{parse_documents, Node, NodeKind, Pos};
use serde::Deserialize;
use serde_json::{Map, Value};

use super::{dropins, falco_keys, falco_sections, Config};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("read {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{origin}:{}:{}: {message}", pos.line, pos.col)]
    At { origin: String, pos: Pos, message: String },
    #[error("{origin}: {message}")]
    Invalid { origin: String, message: String },
    #[error("-o {arg}: {message}")]
    Override { arg: String, message: String },
}

/// Reads `path` (a missing file is an error: the caller decides whether a file is required),
/// merges the files its `config_files` names, and applies `overrides` (`key.sub=value`,
/// `list[]=value` appends) on top.
pub fn load(path: &Path, overrides: &[String]) -> Result<Config, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
    parse(&text, &path.display().to_string(), overrides)
}

/// One configuration file read: the main one or a `config_files` drop-in.
pub(super) struct Source {
    pub(super) origin: String,
    root: Option<Node>,
    /// Top-level keys whose value a later file (this one) set: errors and warnings about them
    /// point here. The main file owns every key no drop-in took.
    pub(super) owns: HashSet<String>,
}

impl Source {
    pub(super) fn read(path: &Path) -> Result<Source, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_owned(), source })?;
        Source::parse(&text, &path.display().to_string())
    }

    fn parse(text: &str, origin: &str) -> Result<Source, ConfigError> {
        let docs = parse_documents(text)
            .map_err(|e| ConfigError::At { origin: origin.into(), pos: e.pos, message: e.message })?;
        let root = match docs.as_slice() {
            [] => None,
            [doc] if doc.is_null() => None,
            [doc] if doc.as_map().is_some() => docs.into_iter().next(),
            [doc] => {
                return Err(ConfigError::At {
                    origin: origin.into(),
                    pos: doc.pos,
                    message: format!("the configuration must be a mapping, found a {}", doc.kind_name()),
                })
            }
            [_, second, ..] => {
                return Err(ConfigError::At {
                    origin: origin.into(),
                    pos: second.pos,
                    message: "one YAML document expected".into(),
                })
            }
        };
        Ok(Source { origin: origin.into(), root, owns: HashSet::new() })
    }

    pub(super) fn value(&self) -> Value {
        self.root.as_ref().map_or_else(|| Value::Object(Map::new()), to_json)
    }

    /// Where top-level `key` is written in this file.
    pub(super) fn key_pos(&self, key: &str) -> Option<Pos> {
        self.root.as_ref()?.as_map()?.iter().find(|(k, _)| k.as_str() == Some(key)).map(|(k, _)| k.pos)
    }
}

/// The file that set top-level `key` (the last drop-in that took it, else the main file).
fn owner<'a>(sources: &'a [Source], key: &str) -> Option<&'a Source> {
    sources.iter().rev().find(|s| s.owns.contains(key)).or_else(|| sources.first())
}

/// `file:line:col` of dotted `key` (`plugins[x].init_config.y` looks up `plugins`, then as
/// deep as it can), when its top-level key is in a file.
fn locate(sources: &[Source], key: &str) -> Option<String> {
    let path: Vec<String> =
        key.split('.').map(|s| s.split_once('[').map_or(s, |(name, _)| name).to_owned()).collect();
    let source = owner(sources, path.first()?)?;
    source.key_pos(path.first()?)?;
    let pos = position(source.root.as_ref()?, &path)?;
    Some(format!("{}:{}:{}", source.origin, pos.line, pos.col))
}

/// Parses configuration `text` read from `origin` (drop-ins it names are read from disk).
pub fn parse(text: &str, origin: &str, overrides: &[String]) -> Result<Config, ConfigError> {
    let main = Source::parse(text, origin)?;
    let mut value = main.value();
    let mut sources = vec![main];
    dropins::merge(&mut value, &mut sources)?;
    for arg in overrides {
        apply_override(&mut value, arg)?;
    }
    let mut warnings = falco_keys::apply(&mut value);
    for w in &mut warnings {
        w.at = locate(&sources, &w.key);
    }
    let mut config: Config = serde_path_to_error::deserialize(value).map_err(|e| {
        let path: Vec<String> = e
            .path()
            .iter()
            .map(|s| match s {
                serde_path_to_error::Segment::Seq { index } => index.to_string(),
                other => other.to_string(),
            })
            .collect();
        let message = format!("{}: {}", e.path(), e.inner());
        let source = path.first().and_then(|k| owner(&sources, k)).or_else(|| sources.first());
        match source.and_then(|s| Some((s, position(s.root.as_ref()?, &path)?))) {
            Some((s, pos)) => ConfigError::At { origin: s.origin.clone(), pos, message },
            None => ConfigError::Invalid { origin: origin.into(), message },
        }
    })?;
    validate(&config).map_err(|message| ConfigError::Invalid { origin: origin.into(), message })?;
    let mut partial = falco_sections::warnings(&config);
    for w in &mut partial {
        w.at = locate(&sources, &w.key);
    }
    warnings.extend(partial);
    config.warnings = warnings;
    config.included_files = sources.iter().skip(1).map(|s| PathBuf::from(&s.origin)).collect();
    Ok(config)
}

/// Value checks serde's types cannot express.
fn validate(c: &Config) -> Result<(), String> {
    c.priority
        .parse::<palisade_rules::Priority>()
        .map_err(|_| format!("priority: unknown priority {:?} (emergency ... debug)", c.priority))?;
    if !matches!(c.rule_matching.as_str(), "first" | "all") {
        return Err(format!("rule_matching: {:?} is neither `first` nor `all`", c.rule_matching));
    }
    let healthz = &c.webserver.k8s_healthz_endpoint;
    if !healthz.starts_with('/') || healthz == "/metrics" || healthz.chars().any(|ch| ch.is_whitespace() || ch == '?') {
        return Err(format!(
            "webserver.k8s_healthz_endpoint: {healthz:?} is not a path of its own (it starts with /, is not /metrics, has no blank or query)"
        ));
    }
    if c.hook_socket_max_connections == 0 {
        return Err("hook_socket_max_connections: must be at least 1".into());
    }
    let max = crate::kernel::MAX_RING_MIB;
    if !c.ring_buffer_mib.is_power_of_two() || c.ring_buffer_mib > max {
        return Err(format!("ring_buffer_mib: {} is not a power of two within 1 ..= {max}", c.ring_buffer_mib));
    }
    if c.outputs_queue.capacity == 0 {
        return Err("outputs_queue.capacity: must be at least 1 (the queue is bounded; Falco's 0 is read as a bound)".into());
    }
    let budget = &c.syscall_budget;
    for (key, value, max) in [
        ("rate", budget.rate, palisade_ebpf::abi::BUDGET_MAX_RATE),
        ("burst", budget.burst, palisade_ebpf::abi::BUDGET_MAX_BURST),
        ("rare_rate", budget.rare_rate, palisade_ebpf::abi::BUDGET_MAX_RATE),
        ("rare_burst", budget.rare_burst, palisade_ebpf::abi::BUDGET_MAX_BURST),
    ] {
        if !(1..=max).contains(&value) {
            return Err(format!("syscall_budget.{key}: {value} is not within 1 ..= {max}"));
        }
    }
    if c.http_output.enabled && c.http_output.url.is_empty() {
        return Err("http_output.url: required when http_output.enabled".into());
    }
    if c.program_output.enabled && c.program_output.program.trim().is_empty() {
        return Err("program_output.program: required when program_output.enabled".into());
    }
    if c.file_output.enabled && c.file_output.filename.as_os_str().is_empty() {
        return Err("file_output.filename: required when file_output.enabled".into());
    }
    let window = c.alert_aggregation.window;
    if window < std::time::Duration::from_millis(1) || window > std::time::Duration::from_secs(3600) {
        return Err(format!("alert_aggregation.window: {window:?} is outside 1ms ..= 1h"));
    }
    crate::webserver::validate(c)?;
    for (i, ns) in c.mode_annotation.loosen_namespaces.iter().enumerate() {
        if ns.is_empty() {
            return Err(format!("mode_annotation.loosen_namespaces[{i}]: empty pattern"));
        }
        palisade_profiles::glob::Glob::new(ns, palisade_profiles::glob::GlobKind::Image)
            .map_err(|e| format!("mode_annotation.loosen_namespaces[{i}]: {ns:?}: {e}"))?;
    }
    Ok(())
}

/// A duration: `500ms`, `1s`, `2m`, `1h`, or a number of seconds (`0.5`).
pub(super) fn duration<'de, D: serde::Deserializer<'de>>(d: D) -> Result<std::time::Duration, D::Error> {
    use serde::de::Error;
    let value = Value::deserialize(d)?;
    let bad = || D::Error::custom(format!("{value} is not a duration (500ms, 1s, 2m, 1h, or seconds)"));
    let secs = match &value {
        Value::Number(n) => n.as_f64().ok_or_else(bad)?,
        Value::String(s) => {
            let s = s.trim();
            let (number, unit) = s.split_at(s.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(s.len()));
            let n: f64 = number.trim().parse().map_err(|_| bad())?;
            n * match unit {
                "ms" => 0.001,
                "" | "s" => 1.0,
                "m" => 60.0,
                "h" => 3600.0,
                _ => return Err(bad()),
            }
        }
        _ => return Err(bad()),
    };
    std::time::Duration::try_from_secs_f64(secs).map_err(|_| bad())
}

/// YAML 1.2 core-schema typing of an unquoted scalar.
fn scalar(text: &str, quoted: bool) -> Value {
    if quoted {
        return Value::String(text.into());
    }
    match text {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    if let Ok(i) = text.parse::<i64>() {
        return Value::from(i);
    }
    if let Ok(f) = text.parse::<f64>() {
        if text.chars().any(|c| c.is_ascii_digit()) {
            return Value::from(f);
        }
    }
    Value::String(text.into())
}

fn to_json(node: &Node) -> Value {
    match &node.kind {
        NodeKind::Null => Value::Null,
        NodeKind::Scalar(s, quoted) => scalar(s, *quoted),
        NodeKind::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        NodeKind::Map(pairs) => Value::Object(
            pairs.iter().map(|(k, v)| (k.as_str().unwrap_or_default().to_owned(), to_json(v))).collect(),
        ),
    }
}

/// Where the value at `path` (keys and sequence indexes) is declared: the deepest key (or
/// sequence item) of the path that exists in the file.
fn position(root: &Node, path: &[String]) -> Option<Pos> {
    let mut node = root;
    let mut pos = root.pos;
    for seg in path {
        let next = match &node.kind {
            NodeKind::Map(pairs) => pairs.iter().find(|(k, _)| k.as_str() == Some(seg.as_str())).map(|(k, v)| (k.pos, v)),
            NodeKind::Seq(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)).map(|n| (n.pos, n)),
            _ => None,
        };
        let Some((at, n)) = next else { break };
        pos = at;
        node = n;
    }
    Some(pos)
}

/// `key.sub=value` sets (creating mappings on the way); `key[]=value` appends to a list. The
/// value is typed as a YAML scalar (`true`, `8765`, text).
fn apply_override(root: &mut Value, arg: &str) -> Result<(), ConfigError> {
    let err = |message: &str| ConfigError::Override { arg: arg.into(), message: message.into() };
    let (key, raw) = arg.split_once('=').ok_or_else(|| err("expected KEY=VALUE"))?;
    let (key, append) = match key.strip_suffix("[]") {
        Some(k) => (k, true),
        None => (key, false),
    };
    if key.is_empty() || key.split('.').any(str::is_empty) {
        return Err(err("empty key"));
    }
    let value = scalar(raw, false);
    let mut node = root;
    let parts: Vec<&str> = key.split('.').collect();
    for (i, part) in parts.iter().enumerate() {
        let map = node.as_object_mut().ok_or_else(|| err(&format!("{} is not a mapping", parts[..i].join("."))))?;
        if i + 1 == parts.len() {
            if append {
                let list = map.entry(*part).or_insert_with(|| Value::Array(Vec::new()));
                list.as_array_mut().ok_or_else(|| err(&format!("{key} is not a list")))?.push(value);
            } else {
                map.insert((*part).to_owned(), value);
            }
            return Ok(());
        }
        node = map.entry(*part).or_insert_with(|| Value::Object(Map::new()));
    }
    Ok(())
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;
