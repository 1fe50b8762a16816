//! Stage 1 of loading: read a rules file's YAML documents into collector calls, validating
//! each item's shape with Falco's messages (`rule_loader_reader`). Unlike Falco, which stops a
//! file at its first error, we report every item's error and keep reading the others, so one
//! run shows all the problems; any error still rejects the whole ruleset.

use std::collections::BTreeSet;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use super::collector::{messages, Collector, Entry, ExceptionInfo, ListInfo, MacroInfo, RuleInfo, RuleUpdate};
use super::diagnostic::{ItemKind, Location, SourceText};
use super::text::CondText;
use super::{validate_exception, EngineVersion, Report, ENGINE_VERSION};
use crate::fields::Source;
use crate::priority::Priority;
use crate::yaml::{parse_documents_until, Node, NodeKind};

type RResult<T> = Result<T, (String, Location)>;

struct Reader<'a> {
    src: Arc<SourceText>,
    col: &'a mut Collector,
    report: &'a mut Report,
}

/// Read one rules file into the collector, adding diagnostics to `report`.
pub(super) fn read(src: Arc<SourceText>, col: &mut Collector, report: &mut Report, cancel: Option<&AtomicBool>) {
    let docs = match parse_documents_until(&src.text, cancel) {
        Ok(d) => d,
        Err(e) => {
            let loc = Location::new(src.name.clone(), e.pos, None);
            report.error(&src, loc, format!("invalid YAML: {}", e.message));
            return;
        }
    };
    let mut r = Reader { src: src.clone(), col, report };
    for doc in &docs {
        if doc.is_null() {
            continue;
        }
        let Some(items) = doc.as_seq() else {
            let loc = r.loc(doc, None);
            let msg = if doc.as_map().is_some() {
                "Rules content is not yaml array of objects"
            } else {
                "Rules content is not yaml"
            };
            r.report.error(&src, loc, msg.to_owned());
            continue;
        };
        for item in items.iter().filter(|i| !i.is_null()) {
            if super::is_cancelled(cancel) {
                return;
            }
            if let Err((msg, loc)) = r.read_item(item) {
                r.report.error(&src, loc, msg);
            }
        }
    }
}

fn is_identifier(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty() && b[0].is_ascii_alphabetic() && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'_')
}

fn is_bare_str(s: &str) -> bool {
    !s.is_empty()
        && s.bytes().all(|c| !matches!(c, b'(' | b')' | b'"' | b'\'' | b'=' | b',' | b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))
}

/// yaml-cpp's boolean spellings.
fn parse_bool(s: &str) -> Option<bool> {
    match s.to_ascii_lowercase().as_str() {
        "true" | "yes" | "on" | "y" => Some(true),
        "false" | "no" | "off" | "n" => Some(false),
        _ => None,
    }
}

impl Reader<'_> {
    fn loc(&self, node: &Node, item: Option<(ItemKind, &str)>) -> Location {
        Location::new(self.src.name.clone(), node.pos, item.map(|(k, n)| (k, n.to_owned())))
    }

    fn warn(&mut self, loc: Location, msg: impl Into<String>) {
        let src = self.src.clone();
        self.report.warning(&src, loc, msg.into());
    }

    /// A required, non-empty scalar.
    fn scalar<'n>(&self, item: &'n Node, key: &str, loc: &Location) -> RResult<&'n Node> {
        let Some(v) = item.get(key) else {
            return Err((format!("Item has no mapping for key '{key}'"), loc.clone()));
        };
        self.non_empty_scalar(v, key, loc)
    }

    fn non_empty_scalar<'n>(&self, v: &'n Node, key: &str, loc: &Location) -> RResult<&'n Node> {
        let vloc = Location { pos: v.pos, ..loc.clone() };
        match &v.kind {
            NodeKind::Null => Err((format!("Mapping for key '{key}' is empty"), loc.clone())),
            NodeKind::Scalar(s, _) if s.is_empty() => Err(("Value must be non-empty".into(), vloc)),
            NodeKind::Scalar(..) => Ok(v),
            _ => Err(("Value is not a scalar value".into(), vloc)),
        }
    }

    fn string(&self, item: &Node, key: &str, loc: &Location) -> RResult<String> {
        Ok(self.scalar(item, key, loc)?.as_str().unwrap_or_default().to_owned())
    }

    fn opt_string(&self, item: &Node, key: &str, loc: &Location) -> RResult<Option<String>> {
        item.get(key).map(|v| self.non_empty_scalar(v, key, loc).map(|n| n.as_str().unwrap_or_default().to_owned())).transpose()
    }

    fn bool_of(&self, v: &Node, key: &str, loc: &Location) -> RResult<bool> {
        let n = self.non_empty_scalar(v, key, loc)?;
        parse_bool(n.as_str().unwrap_or_default())
            .ok_or_else(|| ("Can't decode YAML scalar value".into(), Location { pos: n.pos, ..loc.clone() }))
    }

    fn opt_bool(&self, item: &Node, key: &str, loc: &Location) -> RResult<Option<bool>> {
        item.get(key).map(|v| self.bool_of(v, key, loc)).transpose()
    }

    fn opt_u32(&self, item: &Node, key: &str, loc: &Location) -> RResult<Option<u32>> {
        item.get(key)
            .map(|v| {
                let n = self.non_empty_scalar(v, key, loc)?;
                n.as_str().unwrap_or_default().parse::<u32>().map_err(|_| {
                    ("Can't decode YAML scalar value".into(), Location { pos: n.pos, ..loc.clone() })
                })
            })
            .transpose()
    }

    fn cond_text(&self, item: &Node, key: &str, loc: &Location) -> RResult<CondText> {
        let n = self.scalar(item, key, loc)?;
        Ok(CondText::new(n.as_str().unwrap_or_default().to_owned(), self.src.clone(), n.pos))
    }

    fn seq_of_scalars(&self, item: &Node, key: &str, loc: &Location) -> RResult<Option<Vec<String>>> {
        let Some(v) = item.get(key) else { return Ok(None) };
        let vloc = Location { pos: v.pos, ..loc.clone() };
        let Some(seq) = v.as_seq() else {
            return Err(("Value is not a sequence".into(), vloc));
        };
        seq.iter()
            .map(|x| match &x.kind {
                NodeKind::Scalar(s, _) => Ok(s.clone()),
                NodeKind::Null => Ok(String::new()),
                _ => Err(("sequence value is not scalar".into(), Location { pos: x.pos, ..loc.clone() })),
            })
            .collect::<RResult<Vec<_>>>()
            .map(Some)
    }

    fn tags(&self, item: &Node, loc: &Location) -> RResult<Option<BTreeSet<String>>> {
        Ok(self.seq_of_scalars(item, "tags", loc)?.map(|v| v.into_iter().collect()))
    }

    fn warn_unknown_keys(&mut self, item: &Node, expected: &[&str], loc: &Location) {
        let unknown: Vec<String> = item
            .as_map()
            .unwrap_or_default()
            .iter()
            .filter_map(|(k, _)| k.as_str())
            .filter(|k| !expected.contains(k))
            .map(str::to_owned)
            .collect();
        for key in unknown {
            self.warn(loc.clone(), format!("Unknown key '{key}'. The key will be ignored."));
        }
    }

    /// `override:` → (append keys, replace keys).
    fn overrides(
        &self,
        item: &Node,
        appendable: &[&str],
        replaceable: &[&str],
        loc: &Location,
    ) -> RResult<(BTreeSet<String>, BTreeSet<String>)> {
        let (mut app, mut rep) = (BTreeSet::new(), BTreeSet::new());
        let Some(ov) = item.get("override") else { return Ok((app, rep)) };
        let Some(pairs) = ov.as_map() else {
            return Err(("Value of 'override' must be a mapping".into(), Location { pos: ov.pos, ..loc.clone() }));
        };
        for (k, v) in pairs {
            let key = k.as_str().unwrap_or_default();
            let op = v.as_str().unwrap_or_default();
            let kloc = Location { pos: k.pos, ..loc.clone() };
            match op {
                "append" if appendable.contains(&key) => {
                    app.insert(key.to_owned());
                }
                "append" => {
                    return Err((format!("Key '{key}' cannot be appended to, use 'replace' instead"), kloc))
                }
                "replace" if replaceable.contains(&key) => {
                    rep.insert(key.to_owned());
                }
                "replace" => return Err((format!("Key '{key}' cannot be replaced"), kloc)),
                _ => {
                    let mut allowed = String::new();
                    if appendable.contains(&key) {
                        allowed.push_str("append ");
                    }
                    if replaceable.contains(&key) {
                        allowed.push_str("replace ");
                    }
                    return Err((
                        format!("Invalid override operation for key '{key}': '{op}'. Allowed values are: {allowed}"),
                        Location { pos: v.pos, ..loc.clone() },
                    ));
                }
            }
        }
        Ok((app, rep))
    }

    fn read_item(&mut self, item: &Node) -> RResult<()> {
        let loc = self.loc(item, Some((ItemKind::Item, "")));
        if item.as_map().is_none() {
            return Err(("Unexpected element type. Each element should be a yaml associative array.".into(), loc));
        }
        if item.get("required_engine_version").is_some() {
            self.read_engine_version(item)
        } else if item.get("required_plugin_versions").is_some() {
            self.read_plugin_versions(item)
        } else if item.get("list").is_some() {
            self.read_list(item)
        } else if item.get("macro").is_some() {
            self.read_macro(item)
        } else if item.get("rule").is_some() {
            self.read_rule(item)
        } else {
            self.warn(loc, "Unknown top level item");
            Ok(())
        }
    }

    fn read_engine_version(&mut self, item: &Node) -> RResult<()> {
        let loc = self.loc(item, Some((ItemKind::RequiredEngineVersion, "")));
        let v = self.string(item, "required_engine_version", &loc)?;
        let version = match v.parse::<u32>() {
            Ok(n) => EngineVersion(0, n, 0),
            Err(_) => EngineVersion::parse(&v).ok_or_else(|| {
                (format!("Unable to parse engine version '{v}' as a semver string. Expected \"x.y.z\" semver format."), loc.clone())
            })?,
        };
        if !ENGINE_VERSION.compatible_with(version) {
            return Err((format!("Rules require engine version {version}, but engine version is {ENGINE_VERSION}"), loc));
        }
        self.report.required_engine_version = self.report.required_engine_version.max(version);
        self.warn_unknown_keys(item, &["required_engine_version"], &loc);
        Ok(())
    }

    fn read_plugin_versions(&mut self, item: &Node) -> RResult<()> {
        let node = item.get("required_plugin_versions").expect("checked by caller");
        let loc = self.loc(node, Some((ItemKind::RequiredPluginVersions, "")));
        let Some(entries) = node.as_seq() else {
            return Err(("Value of required_plugin_versions must be a sequence".into(), loc));
        };
        for plugin in entries {
            let ploc = self.loc(plugin, Some((ItemKind::RequiredPluginVersions, "")));
            if plugin.as_map().is_none() {
                return Err(("Plugin version must be a mapping".into(), ploc));
            }
            let mut alternatives = vec![(self.string(plugin, "name", &ploc)?, self.string(plugin, "version", &ploc)?)];
            if let Some(alts) = plugin.get("alternatives") {
                let Some(alts) = alts.as_seq() else {
                    return Err(("Value of plugin version alternatives must be a sequence".into(), ploc));
                };
                for alt in alts {
                    let aloc = self.loc(alt, Some((ItemKind::RequiredPluginVersions, "")));
                    if alt.as_map().is_none() {
                        return Err(("Plugin version alternative must be a mapping".into(), aloc));
                    }
                    alternatives.push((self.string(alt, "name", &aloc)?, self.string(alt, "version", &aloc)?));
                }
            }
            let mut seen = BTreeSet::new();
            for (name, version) in &alternatives {
                if EngineVersion::parse(version).is_none() {
                    return Err((format!("Invalid required version '{version}' for plugin '{name}'"), ploc));
                }
                if !seen.insert(name.clone()) {
                    return Err((format!("Defined multiple alternative version requirements for plugin '{name}'"), ploc));
                }
            }
            self.report.required_plugin_versions.push(alternatives);
        }
        let iloc = self.loc(item, Some((ItemKind::RequiredPluginVersions, "")));
        self.warn_unknown_keys(item, &["required_plugin_versions"], &iloc);
        Ok(())
    }

    fn legacy_append(&mut self, item: &Node, loc: &Location) -> RResult<bool> {
        let append = self.opt_bool(item, "append", loc)?.unwrap_or(false);
        if append {
            self.warn(loc.clone(), messages::WARNING_APPEND);
        }
        Ok(append)
    }

    fn read_list(&mut self, item: &Node) -> RResult<()> {
        let tmp = self.loc(item, Some((ItemKind::List, "")));
        let name = self.string(item, "list", &tmp)?;
        let loc = self.loc(item, Some((ItemKind::List, &name)));
        if !is_bare_str(&name) {
            self.warn(loc.clone(), "List has an invalid name. List names should match a regular expression: ([^()\"'[:space:]=,]+)");
        }
        let Some(items) = self.seq_of_scalars(item, "items", &loc)? else {
            return Err(("Item has no mapping for key 'items'".into(), loc));
        };
        let mut append = self.legacy_append(item, &loc)?;
        let (app, rep) = self.overrides(item, &["items"], &["items"], &loc)?;
        if append && !(app.is_empty() && rep.is_empty()) {
            return Err((messages::ERROR_OVERRIDE_APPEND.into(), loc));
        }
        append |= app.contains("items");
        let info = ListInfo { loc: loc.clone(), name, items, index: 0, visibility: 0 };
        if append {
            self.col.append_list(info)?;
        } else {
            self.col.define_list(info);
        }
        self.warn_unknown_keys(item, &["list", "items", "append", "override"], &loc);
        Ok(())
    }

    fn read_macro(&mut self, item: &Node) -> RResult<()> {
        let tmp = self.loc(item, Some((ItemKind::Macro, "")));
        let name = self.string(item, "macro", &tmp)?;
        let loc = self.loc(item, Some((ItemKind::Macro, &name)));
        if !is_identifier(&name) {
            self.warn(loc.clone(), "Macro has an invalid name. Macro names should match a regular expression: ([a-zA-Z]+[a-zA-Z0-9_]*)");
        }
        let cond = self.cond_text(item, "condition", &loc)?;
        let mut append = self.legacy_append(item, &loc)?;
        let (app, rep) = self.overrides(item, &["condition"], &["condition"], &loc)?;
        if append && !(app.is_empty() && rep.is_empty()) {
            return Err((messages::ERROR_OVERRIDE_APPEND.into(), loc));
        }
        append |= app.contains("condition");
        let info = MacroInfo { loc: loc.clone(), name, cond, index: 0, visibility: 0 };
        if append {
            self.col.append_macro(info)?;
        } else {
            self.col.define_macro(info);
        }
        self.warn_unknown_keys(item, &["macro", "condition", "append", "override"], &loc);
        Ok(())
    }

    fn read_rule(&mut self, item: &Node) -> RResult<()> {
        const APPENDABLE: [&str; 5] = ["condition", "output", "desc", "tags", "exceptions"];
        const REPLACEABLE: [&str; 11] = [
            "condition", "output", "desc", "priority", "capture", "capture_duration", "tags",
            "exceptions", "enabled", "warn_evttypes", "skip-if-unknown-filter",
        ];
        const RULE_KEYS: [&str; 15] = [
            "rule", "condition", "output", "desc", "priority", "source", "enabled", "capture",
            "capture_duration", "warn_evttypes", "skip-if-unknown-filter", "tags", "exceptions",
            "override", "append",
        ];
        let tmp = self.loc(item, Some((ItemKind::Rule, "")));
        let name = self.string(item, "rule", &tmp)?;
        let loc = self.loc(item, Some((ItemKind::Rule, &name)));
        let source = match item.get("source") {
            Some(v) if !v.is_null() && v.as_str() != Some("") => Some(self.non_empty_scalar(v, "source", &loc)?.as_str().unwrap_or_default().to_owned()),
            _ => None,
        };
        let has_append_flag = self.legacy_append(item, &loc)?;
        let (app, rep) = self.overrides(item, &APPENDABLE, &REPLACEABLE, &loc)?;
        let has_overrides = !app.is_empty() || !rep.is_empty();
        if has_append_flag && has_overrides {
            return Err((messages::ERROR_OVERRIDE_APPEND.into(), loc));
        }
        if has_overrides {
            let mut expected: BTreeSet<&str> =
                APPENDABLE.iter().chain(REPLACEABLE.iter()).copied().filter(|k| item.get(k).is_some()).collect();
            for (ops, kind) in [(&app, "append"), (&rep, "replace")] {
                if ops.is_empty() {
                    continue;
                }
                let mut upd = RuleUpdate::default();
                for key in ops {
                    if !expected.remove(key.as_str()) {
                        return Err((format!("An {kind} override for '{key}' was specified but '{key}' is not defined"), loc.clone()));
                    }
                    match key.as_str() {
                        "condition" => {
                            upd.source = source.clone();
                            upd.cond = Some(self.cond_text(item, "condition", &loc)?);
                        }
                        "exceptions" => upd.exceptions = Some(self.exceptions(item, &loc, kind == "append")?),
                        "output" => upd.output = Some(self.string(item, "output", &loc)?),
                        "desc" => upd.desc = Some(self.string(item, "desc", &loc)?),
                        "tags" => upd.tags = self.tags(item, &loc)?,
                        "priority" => upd.priority = Some(self.priority(item, &loc)?),
                        "capture" => upd.capture = self.opt_bool(item, "capture", &loc)?,
                        "capture_duration" => upd.capture_duration = self.opt_u32(item, "capture_duration", &loc)?,
                        "enabled" => upd.enabled = self.opt_bool(item, "enabled", &loc)?,
                        "warn_evttypes" => upd.warn_evttypes = self.opt_bool(item, "warn_evttypes", &loc)?,
                        "skip-if-unknown-filter" => {
                            upd.skip_if_unknown_filter = self.opt_bool(item, "skip-if-unknown-filter", &loc)?
                        }
                        _ => {}
                    }
                }
                if kind == "append" {
                    let validate = |src: &str, ex: &mut ExceptionInfo| validate_exception(Source::from_name(src), ex);
                    self.col.append_rule(&name, upd, &loc, &validate)?;
                } else {
                    self.col.replace_rule(&name, upd, &loc)?;
                }
            }
            if let Some(key) = expected.into_iter().next() {
                let kloc = item.get(key).map_or(loc.clone(), |n| Location { pos: n.pos, ..loc.clone() });
                return Err((format!("Unexpected key '{key}': no corresponding entry under 'override' is defined."), kloc));
            }
        } else if has_append_flag {
            let mut upd = RuleUpdate { source: source.clone(), ..RuleUpdate::default() };
            if item.get("condition").is_some() {
                upd.cond = Some(self.cond_text(item, "condition", &loc)?);
            }
            if item.get("exceptions").is_some() {
                upd.exceptions = Some(self.exceptions(item, &loc, true)?);
            }
            let validate = |src: &str, ex: &mut ExceptionInfo| validate_exception(Source::from_name(src), ex);
            self.col.append_rule(&name, upd, &loc, &validate)?;
        } else if ["condition", "output", "desc", "priority"].iter().all(|k| item.get(k).is_none()) {
            let Some(v) = item.get("enabled") else {
                return Err(("Item has no mapping for key 'enabled'".into(), loc));
            };
            let enabled = self.bool_of(v, "enabled", &loc)?;
            self.warn(loc.clone(), messages::WARNING_ENABLED);
            self.col.enable_rule(&name, enabled, &loc)?;
        } else {
            let cond = self.cond_text(item, "condition", &loc)?;
            let out_node = self.scalar(item, "output", &loc)?;
            let output = out_node.as_str().unwrap_or_default().trim().to_owned();
            let output_loc = Location { pos: out_node.pos, ..loc.clone() };
            let desc = self.string(item, "desc", &loc)?;
            let priority = self.priority(item, &loc)?;
            let source = self.opt_string(item, "source", &loc)?.unwrap_or_else(|| "syscall".to_owned());
            let known = Source::from_name(&source);
            if known.is_none() {
                self.warn(loc.clone(), format!("Unknown source {source}, skipping"));
            }
            let mut exceptions = self.exceptions(item, &loc, false)?;
            for ex in &mut exceptions {
                if ex.fields.is_none() {
                    return Err(("Rule exception item must have fields property with a list of fields".into(), ex.loc.clone()));
                }
                validate_exception(known, ex)?;
            }
            let info = RuleInfo {
                loc: loc.clone(),
                name: name.clone(),
                cond,
                output,
                output_loc,
                desc,
                priority,
                unknown_source: known.is_none(),
                source,
                enabled: self.opt_bool(item, "enabled", &loc)?.unwrap_or(true),
                capture: self.opt_bool(item, "capture", &loc)?.unwrap_or(false),
                capture_duration: self.opt_u32(item, "capture_duration", &loc)?.unwrap_or(0),
                warn_evttypes: self.opt_bool(item, "warn_evttypes", &loc)?.unwrap_or(true),
                skip_if_unknown_filter: self.opt_bool(item, "skip-if-unknown-filter", &loc)?.unwrap_or(false),
                tags: self.tags(item, &loc)?.unwrap_or_default(),
                exceptions,
                index: 0,
            };
            self.col.define_rule(info)?;
        }
        self.warn_unknown_keys(item, &RULE_KEYS, &loc);
        Ok(())
    }

    fn priority(&self, item: &Node, loc: &Location) -> RResult<Priority> {
        let n = self.scalar(item, "priority", loc)?;
        n.as_str()
            .unwrap_or_default()
            .parse()
            .map_err(|e: crate::priority::UnknownPriority| (format!("Invalid priority: {e}"), Location { pos: n.pos, ..loc.clone() }))
    }

    fn entry(&self, v: &Node, key: &str, loc: &Location) -> RResult<Entry> {
        let vloc = Location { pos: v.pos, ..loc.clone() };
        match &v.kind {
            NodeKind::Scalar(s, _) if s.is_empty() => Err(("Value must be non-empty".into(), vloc)),
            NodeKind::Scalar(s, _) => Ok(Entry::Scalar(s.clone())),
            NodeKind::Seq(items) => items.iter().map(|x| self.entry(x, key, loc)).collect::<RResult<_>>().map(Entry::List),
            NodeKind::Null => Err((format!("Mapping for key '{key}' is empty"), vloc)),
            NodeKind::Map(_) => Err(("Value is not a scalar value".into(), vloc)),
        }
    }

    fn exceptions(&mut self, item: &Node, loc: &Location, append: bool) -> RResult<Vec<ExceptionInfo>> {
        let Some(exs) = item.get("exceptions") else { return Ok(Vec::new()) };
        if exs.is_null() {
            return Ok(Vec::new());
        }
        let Some(seq) = exs.as_seq() else {
            return Err(("Rule exceptions must be a sequence".into(), Location { pos: exs.pos, ..loc.clone() }));
        };
        let mut out: Vec<ExceptionInfo> = Vec::new();
        for ex in seq {
            let tmp = Location { pos: ex.pos, item: Some((ItemKind::Exception, String::new())), ..loc.clone() };
            if ex.as_map().is_none() {
                return Err(("Rule exception must be a mapping".into(), tmp));
            }
            let name = self.string(ex, "name", &tmp)?;
            let tmp = Location { item: Some((ItemKind::Exception, name.clone())), ..tmp };
            if out.iter().any(|e| e.name == name) {
                self.warn(tmp.clone(), format!("Multiple definitions of exception '{name}' in the same rule"));
            }
            let fields = match ex.get("fields") {
                Some(f) => Some(self.entry(f, "fields", &tmp)?),
                None if append => None,
                None => return Err(("Item has no mapping for key 'fields'".into(), tmp)),
            };
            let comps = ex.get("comps").map(|c| self.entry(c, "comps", &tmp)).transpose()?;
            let mut values = Vec::new();
            match ex.get("values") {
                Some(vals) => {
                    let vloc = Location { pos: vals.pos, ..tmp.clone() };
                    let Some(vals) = vals.as_seq() else {
                        return Err(("Rule exception values must be a sequence".into(), vloc));
                    };
                    for v in vals {
                        values.push(self.entry(v, "values", &tmp)?);
                    }
                }
                None if append => self.warn(tmp.clone(), "Overriding/appending exception with no values"),
                None => {}
            }
            out.push(ExceptionInfo { loc: tmp, name, fields, comps, values });
        }
        Ok(out)
    }
}
