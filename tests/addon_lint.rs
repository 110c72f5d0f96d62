//! Lints the Home Assistant app (add-on) in `hass-addon/cam2mqtt/` and the
//! app repository file `repository.yaml` by the Supervisor's rules, so a
//! mistake fails here instead of making the app vanish from the store (the
//! Supervisor skips an app whose `config.yaml` it cannot validate, with only a
//! line in its own log).
//!
//! The rules come from the Supervisor's source (`supervisor/apps/validate.py`:
//! `_SCHEMA_APP_CONFIG`, its defaults and `SCHEMA_ELEMENT`;
//! `supervisor/apps/options.py`: `RE_SCHEMA_ELEMENT` and the check that every
//! option without `?` has a value; `supervisor/store/data.py`: where the
//! repository file and apps are looked for) and from Home Assistant's app
//! linter (`frenck/action-addon-linter`: no key set to its default value, no
//! `watchdog`, no `webui` with ingress, no legacy `map: config`, deprecated
//! architectures). Plus the project's own: the version is Cargo.toml's, every
//! option is translated, the icons have the documented sizes, the Dockerfile's
//! base is Home Assistant's, pinned, with a health check.
//!
//! `lint(root)` returns the problems of a repository checkout rooted at
//! `root`; one test asserts the real one has none, another breaks a copy in
//! many ways and asserts each break is reported.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use yaml_rust2::{Yaml, YamlLoader};

/// Where the app lives, relative to the repository root.
const APP: &str = "hass-addon/cam2mqtt";

/// Keys of `config.yaml` with the value the Supervisor gives them when they
/// are left out (`_SCHEMA_APP_CONFIG`; the linter's `config.schema.json`
/// agrees). Writing one with that value is an error for the linter.
const DEFAULTS: &[(&str, Value)] = &[
    ("startup", Value::Str("application")),
    ("boot", Value::Str("auto")),
    ("init", Value::Bool(true)),
    ("advanced", Value::Bool(false)),
    ("stage", Value::Str("stable")),
    ("ingress", Value::Bool(false)),
    ("ingress_port", Value::Int(8099)),
    ("ingress_stream", Value::Bool(false)),
    ("panel_icon", Value::Str("mdi:puzzle")),
    ("panel_admin", Value::Bool(true)),
    ("host_network", Value::Bool(false)),
    ("host_pid", Value::Bool(false)),
    ("host_ipc", Value::Bool(false)),
    ("host_uts", Value::Bool(false)),
    ("host_dbus", Value::Bool(false)),
    ("udev", Value::Bool(false)),
    ("tmpfs", Value::Bool(false)),
    ("apparmor", Value::Bool(true)),
    ("full_access", Value::Bool(false)),
    ("audio", Value::Bool(false)),
    ("video", Value::Bool(false)),
    ("gpio", Value::Bool(false)),
    ("usb", Value::Bool(false)),
    ("uart", Value::Bool(false)),
    ("devicetree", Value::Bool(false)),
    ("kernel_modules", Value::Bool(false)),
    ("realtime", Value::Bool(false)),
    ("hassio_api", Value::Bool(false)),
    ("hassio_role", Value::Str("default")),
    ("homeassistant_api", Value::Bool(false)),
    ("auth_api", Value::Bool(false)),
    ("docker_api", Value::Bool(false)),
    ("stdin", Value::Bool(false)),
    ("legacy", Value::Bool(false)),
    ("journald", Value::Bool(false)),
    ("backup", Value::Str("hot")),
    ("timeout", Value::Int(10)),
];

/// A default value in [`DEFAULTS`].
#[derive(Debug, Clone, Copy)]
enum Value {
    Bool(bool),
    Int(i64),
    Str(&'static str),
}

impl Value {
    fn matches(self, value: &Yaml) -> bool {
        match (self, value) {
            (Value::Bool(d), Yaml::Boolean(v)) => d == *v,
            (Value::Int(d), Yaml::Integer(v)) => d == *v,
            (Value::Str(d), Yaml::String(v)) => d == v,
            _ => false,
        }
    }
}

/// The architectures Home Assistant still supports (armhf, armv7 and i386
/// are deprecated since 2025.12).
const ARCHES: &[&str] = &["aarch64", "amd64"];

/// The problems of the repository checkout at `root`, each a sentence naming
/// the file. Empty when the app is fine.
pub fn lint(root: &Path) -> Vec<String> {
    let mut problems = Vec::new();
    let app = root.join(APP);

    lint_repository(root, &mut problems);
    let config = match load_yaml(&app.join("config.yaml")) {
        Ok(config) => config,
        Err(e) => {
            problems.push(e);
            return problems;
        }
    };
    lint_config(root, &config, &mut problems);
    match load_yaml(&app.join("translations/en.yaml")) {
        Ok(translations) => lint_translations(&config, &translations, &mut problems),
        Err(e) => problems.push(e),
    }
    lint_pictures(&app, &mut problems);
    lint_dockerfile(root, &config, &mut problems);
    lint_files(root, &config, &mut problems);
    problems
}

// ---------------------------------------------------------------------------
// Files

fn load_yaml(path: &Path) -> Result<Yaml, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    let mut docs = YamlLoader::load_from_str(&text)
        .map_err(|e| format!("{}: not valid YAML: {e}", path.display()))?;
    match docs.len() {
        1 => Ok(docs.remove(0)),
        n => Err(format!(
            "{}: {n} YAML documents, expected one",
            path.display()
        )),
    }
}

fn str_of(yaml: &Yaml) -> Option<&str> {
    yaml.as_str()
}

/// A mapping's entries with string keys, in file order.
fn entries(yaml: &Yaml) -> Vec<(&str, &Yaml)> {
    match yaml {
        Yaml::Hash(hash) => hash
            .iter()
            .filter_map(|(k, v)| k.as_str().map(|k| (k, v)))
            .collect(),
        _ => Vec::new(),
    }
}

fn get<'a>(yaml: &'a Yaml, key: &str) -> Option<&'a Yaml> {
    match &yaml[key] {
        Yaml::BadValue => None,
        value => Some(value),
    }
}

/// Cargo.toml's `[package] version`.
fn cargo_version(root: &Path) -> Option<String> {
    let text = std::fs::read_to_string(root.join("Cargo.toml")).ok()?;
    let mut in_package = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        if let Some(rest) = line.strip_prefix("version") {
            let value = rest.trim_start().strip_prefix('=')?.trim();
            return Some(value.trim_matches('"').to_owned());
        }
    }
    None
}

// ---------------------------------------------------------------------------
// repository.yaml

fn lint_repository(root: &Path, problems: &mut Vec<String>) {
    // The Supervisor reads `repository.{json,yaml,yml}` at the root of the
    // cloned repository only (store/data.py `_read_git_repository`).
    let path = root.join("repository.yaml");
    let repo = match load_yaml(&path) {
        Ok(repo) => repo,
        Err(e) => {
            problems.push(format!(
                "{e} (the Supervisor needs repository.yaml at the repository root)"
            ));
            return;
        }
    };
    match get(&repo, "name").and_then(str_of) {
        Some(name) if !name.trim().is_empty() => {}
        _ => problems.push("repository.yaml: `name` is required".into()),
    }
    if let Some(url) = get(&repo, "url") {
        if !str_of(url).is_some_and(|u| u.starts_with("https://")) {
            problems.push("repository.yaml: `url` must be an https:// URL".into());
        }
    }
    if let Some(maintainer) = get(&repo, "maintainer") {
        if str_of(maintainer).is_none() {
            problems.push("repository.yaml: `maintainer` must be text".into());
        }
    }
}

// ---------------------------------------------------------------------------
// config.yaml

fn lint_config(root: &Path, config: &Yaml, problems: &mut Vec<String>) {
    let file = "config.yaml";
    if !matches!(config, Yaml::Hash(_)) {
        problems.push(format!("{file}: not a mapping"));
        return;
    }

    for key in ["name", "version", "slug", "description", "arch"] {
        let present = match get(config, key) {
            Some(Yaml::String(s)) => !s.trim().is_empty(),
            Some(Yaml::Array(a)) => !a.is_empty(),
            Some(_) => key != "version" && key != "arch",
            None => false,
        };
        if !present {
            problems.push(format!("{file}: required key `{key}` is missing or empty"));
        }
    }
    if let Some(version) = get(config, "version") {
        match (str_of(version), cargo_version(root)) {
            (Some(v), Some(cargo)) if v == cargo => {}
            (Some(v), Some(cargo)) => problems.push(format!(
                "{file}: version {v:?} is not Cargo.toml's package version {cargo:?}"
            )),
            (None, _) => problems.push(format!(
                "{file}: `version` must be a quoted string (e.g. \"0.1.0\")"
            )),
            (_, None) => problems.push("Cargo.toml: no [package] version".into()),
        }
    }
    if let Some(slug) = get(config, "slug").and_then(str_of) {
        if !slug
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            problems.push(format!(
                "{file}: slug {slug:?} may hold only A-Z a-z 0-9 - _ ."
            ));
        }
    }
    match get(config, "arch") {
        Some(Yaml::Array(arches)) => {
            for arch in arches {
                match str_of(arch) {
                    Some(a) if ARCHES.contains(&a) => {}
                    Some(a) => problems.push(format!(
                        "{file}: arch {a:?} is not supported (only aarch64 and amd64 since Home Assistant 2025.12)"
                    )),
                    None => problems.push(format!("{file}: arch entries must be text")),
                }
            }
        }
        Some(_) => problems.push(format!("{file}: `arch` must be a list")),
        None => {}
    }
    if let Some(url) = get(config, "url") {
        if !str_of(url).is_some_and(|u| u.starts_with("https://") || u.starts_with("http://")) {
            problems.push(format!("{file}: `url` must be a URL"));
        }
    }
    if let Some(image) = get(config, "image").and_then(str_of) {
        if image
            .rsplit('/')
            .next()
            .is_some_and(|last| last.contains(':'))
        {
            problems.push(format!(
                "{file}: image {image:?} must be a name without a tag (the tag is `version`)"
            ));
        }
    }

    // Services: `^(mqtt|mysql):(provide|want|need)$`.
    if let Some(services) = get(config, "services") {
        match services {
            Yaml::Array(list) => {
                for service in list {
                    let ok = str_of(service).and_then(|s| s.split_once(':')).is_some_and(
                        |(name, rights)| {
                            matches!(name, "mqtt" | "mysql")
                                && matches!(rights, "provide" | "want" | "need")
                        },
                    );
                    if !ok {
                        problems.push(format!(
                            "{file}: service {service:?} does not match (mqtt|mysql):(provide|want|need)"
                        ));
                    }
                }
            }
            _ => problems.push(format!("{file}: `services` must be a list")),
        }
    }

    // Keys set to their default value.
    for (key, default) in DEFAULTS {
        if let Some(value) = get(config, key) {
            if default.matches(value) {
                problems.push(format!(
                    "{file}: `{key}` is set to its default value; remove it"
                ));
            }
        }
    }

    // Obsolete and conflicting keys.
    if get(config, "watchdog").is_some() {
        problems.push(format!(
            "{file}: `watchdog` is obsolete; use a Docker HEALTHCHECK in the Dockerfile"
        ));
    }
    if get(config, "codenotary").is_some() {
        problems.push(format!("{file}: `codenotary` is no longer used; remove it"));
    }
    let ingress = matches!(get(config, "ingress"), Some(Yaml::Boolean(true)));
    if ingress && get(config, "webui").is_some() {
        problems.push(format!("{file}: `webui` must not be set with ingress"));
    }
    let host_network = matches!(get(config, "host_network"), Some(Yaml::Boolean(true)));
    if ingress && !host_network && matches!(get(config, "ingress_port"), Some(Yaml::Integer(0))) {
        problems.push(format!(
            "{file}: `ingress_port: 0` is only for apps on the host network"
        ));
    }
    lint_map(config, problems);
    lint_options(config, problems);
}

fn lint_map(config: &Yaml, problems: &mut Vec<String>) {
    let file = "config.yaml";
    let Some(map) = get(config, "map") else {
        return;
    };
    let Yaml::Array(entries_) = map else {
        problems.push(format!("{file}: `map` must be a list"));
        return;
    };
    const TYPES: &[&str] = &[
        "addon_config",
        "app_config",
        "homeassistant_config",
        "all_addon_configs",
        "all_app_configs",
        "addons",
        "local_apps",
        "ssl",
        "share",
        "media",
        "backup",
        "data",
    ];
    for (i, entry) in entries_.iter().enumerate() {
        let kind = match entry {
            Yaml::String(s) => s.split(':').next().unwrap_or_default(),
            Yaml::Hash(_) => {
                if matches!(get(entry, "read_only"), Some(Yaml::Boolean(true))) {
                    problems.push(format!(
                        "{file}: map[{i}].read_only is set to its default value (true); remove it"
                    ));
                }
                get(entry, "type").and_then(str_of).unwrap_or_default()
            }
            _ => "",
        };
        if kind == "config" {
            problems.push(format!(
                "{file}: map[{i}]: the legacy `config` folder is replaced by `homeassistant_config` (or `addon_config` for the app's own)"
            ));
        } else if !TYPES.contains(&kind) {
            problems.push(format!("{file}: map[{i}]: unknown folder type {kind:?}"));
        }
    }
}

// ---------------------------------------------------------------------------
// options and schema

/// One or more ASCII digits.
fn digits(s: &str) -> bool {
    !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit())
}

/// True if `typ` is a schema element the Supervisor accepts
/// (`RE_SCHEMA_ELEMENT` in supervisor/apps/options.py): `bool`, `email`,
/// `url`, `port`, `device` / `device(subsystem=x)`, `str`, `password`,
/// `int`, `float` (the last four with an optional `(min,max)`),
/// `match(REGEX)`, `list(a|b)`; each with an optional trailing `?`.
pub fn schema_type_ok(typ: &str) -> bool {
    let t = typ.strip_suffix('?').unwrap_or(typ);
    if matches!(
        t,
        "bool" | "email" | "url" | "port" | "device" | "str" | "password" | "int" | "float"
    ) {
        return true;
    }
    let Some((name, args)) = t.split_once('(') else {
        return false;
    };
    let Some(args) = args.strip_suffix(')') else {
        return false;
    };
    let bounds = |number: fn(&str) -> bool| {
        args.split_once(',').is_some_and(|(lo, hi)| {
            !hi.contains(',') && (lo.is_empty() || number(lo)) && (hi.is_empty() || number(hi))
        })
    };
    match name {
        "str" | "password" => bounds(digits),
        "int" => bounds(|s| digits(s.strip_prefix('-').unwrap_or(s))),
        "float" => bounds(|s| {
            // -?\d*\.?\d+
            let s = s.strip_prefix('-').unwrap_or(s);
            let (int, frac) = s.split_once('.').unwrap_or(("", s));
            (int.is_empty() || int.bytes().all(|b| b.is_ascii_digit())) && digits(frac)
        }),
        "device" => args
            .strip_prefix("subsystem=")
            .is_some_and(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_lowercase())),
        "match" => true,
        "list" => !args.is_empty(),
        _ => false,
    }
}

/// Checks one schema value at `path`; returns its nesting depth (a scalar 0,
/// a list or dict one more than its deepest child).
fn lint_schema_value(path: &str, value: &Yaml, problems: &mut Vec<String>) -> usize {
    let file = "config.yaml";
    match value {
        Yaml::String(typ) => {
            if !schema_type_ok(typ) {
                problems.push(format!(
                    "{file}: schema {path}: unknown type {typ:?} (str, str(min,max), bool, int, int(min,max), float, email, url, password, port, match(REGEX), list(a|b), each with an optional ?)"
                ));
            }
            0
        }
        Yaml::Array(items) => {
            if items.len() != 1 {
                problems.push(format!(
                    "{file}: schema {path}: a list schema holds exactly one element type"
                ));
            }
            let mut depth = 0;
            for item in items {
                if matches!(item, Yaml::Array(_)) {
                    problems.push(format!(
                        "{file}: schema {path}: a list may not directly hold a list"
                    ));
                }
                depth = depth.max(lint_schema_value(path, item, problems));
            }
            depth + 1
        }
        Yaml::Hash(_) => {
            let mut depth = 0;
            for (key, child) in entries(value) {
                depth = depth.max(lint_schema_value(&format!("{path}.{key}"), child, problems));
            }
            depth + 1
        }
        other => {
            problems.push(format!(
                "{file}: schema {path}: {other:?} is not a type (write types as text, e.g. \"int(0,3600)?\")"
            ));
            0
        }
    }
}

/// Whether the Supervisor lets `schema` be missing from the options
/// (`_check_missing_options`): only a text type ending in `?`, or a list
/// whose element is such a text type. A dict (or a list of dicts) must be
/// there, even if empty.
fn may_be_missing(schema: &Yaml) -> bool {
    let element = match schema {
        Yaml::Array(items) if !items.is_empty() => &items[0],
        other => other,
    };
    str_of(element).is_some_and(|t| t.ends_with('?'))
}

fn lint_options(config: &Yaml, problems: &mut Vec<String>) {
    let file = "config.yaml";
    let schema = get(config, "schema");
    let options = get(config, "options");
    let (Some(schema), Some(options)) = (schema, options) else {
        if schema.is_some() != options.is_some() {
            problems.push(format!("{file}: `options` and `schema` go together"));
        }
        return;
    };
    if !matches!(schema, Yaml::Hash(_)) || !matches!(options, Yaml::Hash(_)) {
        problems.push(format!("{file}: `options` and `schema` must be mappings"));
        return;
    }
    for (key, value) in entries(schema) {
        let depth = lint_schema_value(key, value, problems);
        if depth > 2 {
            problems.push(format!(
                "{file}: schema {key}: nested {depth} levels deep; the Supervisor's UI allows 2"
            ));
        }
    }
    check_defaults("", schema, options, problems);
}

/// The defaults in `options` against the schema at the same place: every
/// option is in the schema, no optional (`?`) option has a default, and
/// everything that may not be missing has one.
fn check_defaults(prefix: &str, schema: &Yaml, options: &Yaml, problems: &mut Vec<String>) {
    let file = "config.yaml";
    let schema_keys: BTreeSet<&str> = entries(schema).into_iter().map(|(k, _)| k).collect();
    for (key, value) in entries(options) {
        let path = format!("{prefix}{key}");
        let Some(typ) = get(schema, key) else {
            problems.push(format!(
                "{file}: option {path} is not in the schema (the Supervisor drops it)"
            ));
            continue;
        };
        match (typ, value) {
            (Yaml::String(t), _) if t.ends_with('?') => problems.push(format!(
                "{file}: option {path} is optional ({t}) and must have no default in `options`"
            )),
            (Yaml::Hash(_), Yaml::Hash(_)) => {
                check_defaults(&format!("{path}."), typ, value, problems)
            }
            (Yaml::Hash(_), _) => problems.push(format!("{file}: option {path} must be a mapping")),
            (Yaml::Array(_), Yaml::Array(_)) => {}
            (Yaml::Array(_), _) => problems.push(format!("{file}: option {path} must be a list")),
            (Yaml::String(t), v) => {
                if let Some(allowed) = t.strip_prefix("list(").and_then(|r| r.strip_suffix(')')) {
                    let v = str_of(v).unwrap_or_default();
                    if !allowed.split('|').any(|a| a == v) {
                        problems.push(format!(
                            "{file}: option {path}: default {v:?} is not one of {allowed}"
                        ));
                    }
                }
            }
            _ => {}
        }
    }
    for key in schema_keys {
        let typ = get(schema, key).expect("listed");
        if get(options, key).is_none() && !may_be_missing(typ) {
            problems.push(format!(
                "{file}: schema {prefix}{key} has no value in `options`; the Supervisor would reject the default options (\"Missing option '{key}'\"): give it a default (a section: {{}}) or mark it optional with ?"
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// translations/en.yaml

fn lint_translations(config: &Yaml, translations: &Yaml, problems: &mut Vec<String>) {
    let file = "translations/en.yaml";
    let Some(schema) = get(config, "schema") else {
        return;
    };
    let Some(configuration) = get(translations, "configuration") else {
        problems.push(format!("{file}: no `configuration` section"));
        return;
    };
    check_translated("", schema, configuration, problems, file);
}

/// Every key of `schema` has a `name` and a `description` in
/// `translated`, nested dicts (and the dicts of a list) under `fields`, and
/// nothing is translated that the schema does not have.
fn check_translated(
    prefix: &str,
    schema: &Yaml,
    translated: &Yaml,
    problems: &mut Vec<String>,
    file: &str,
) {
    for (key, typ) in entries(schema) {
        let path = format!("{prefix}{key}");
        let Some(entry) = get(translated, key) else {
            problems.push(format!("{file}: option {path} has no translation"));
            continue;
        };
        for part in ["name", "description"] {
            if get(entry, part)
                .and_then(str_of)
                .is_none_or(|s| s.trim().is_empty())
            {
                problems.push(format!("{file}: option {path} has no {part}"));
            }
        }
        let nested = match typ {
            Yaml::Hash(_) => Some(typ),
            Yaml::Array(items) => items.first().filter(|i| matches!(i, Yaml::Hash(_))),
            _ => None,
        };
        match (nested, get(entry, "fields")) {
            (Some(nested), Some(fields)) => {
                check_translated(&format!("{path}."), nested, fields, problems, file)
            }
            (Some(nested), None) => {
                for (field, _) in entries(nested) {
                    problems.push(format!("{file}: option {path}.{field} has no translation"));
                }
            }
            (None, Some(_)) => problems.push(format!(
                "{file}: option {path} has `fields` but no sub-options"
            )),
            (None, None) => {}
        }
    }
    for (key, _) in entries(translated) {
        if get(schema, key).is_none() {
            problems.push(format!(
                "{file}: {prefix}{key} is translated but is not an option"
            ));
        }
    }
}

// ---------------------------------------------------------------------------
// icon.png, logo.png

/// Width and height from a PNG's IHDR chunk.
fn png_size(path: &Path) -> Result<(u32, u32), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
    if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" || &bytes[12..16] != b"IHDR" {
        return Err(format!("{}: not a PNG file", path.display()));
    }
    let be = |i: usize| u32::from_be_bytes(bytes[i..i + 4].try_into().expect("4 bytes"));
    Ok((be(16), be(20)))
}

fn lint_pictures(app: &Path, problems: &mut Vec<String>) {
    match png_size(&app.join("icon.png")) {
        Ok((128, 128)) => {}
        Ok((w, h)) => problems.push(format!("icon.png: {w}x{h}, must be 128x128")),
        Err(e) => problems.push(e),
    }
    match png_size(&app.join("logo.png")) {
        // "About 250x100": within a fifth of each.
        Ok((w, h)) if (200..=300).contains(&w) && (80..=120).contains(&h) => {}
        Ok((w, h)) => problems.push(format!("logo.png: {w}x{h}, must be about 250x100")),
        Err(e) => problems.push(e),
    }
}

// ---------------------------------------------------------------------------
// Dockerfile

/// The Dockerfile's instructions with continuation lines joined, comments and
/// blank lines dropped.
fn instructions(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if trimmed.starts_with('#') {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            out.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

fn lint_dockerfile(root: &Path, config: &Yaml, problems: &mut Vec<String>) {
    let file = "Dockerfile";
    let path = root.join(APP).join(file);
    let Ok(text) = std::fs::read_to_string(&path) else {
        problems.push(format!("{file}: missing"));
        return;
    };
    let instructions = instructions(&text);
    let keyword = |i: &String| {
        i.split_whitespace()
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase()
    };

    // The final stage is Home Assistant's base image, written out and pinned
    // (the Supervisor no longer supplies BUILD_FROM).
    let froms: Vec<&String> = instructions
        .iter()
        .filter(|i| keyword(i) == "FROM")
        .collect();
    match froms.last() {
        None => problems.push(format!("{file}: no FROM")),
        Some(last) => {
            let image = last
                .split_whitespace()
                .skip(1)
                .find(|w| !w.starts_with("--"))
                .unwrap_or_default();
            let base = "ghcr.io/home-assistant/base";
            match image.strip_prefix(base) {
                None => problems.push(format!(
                    "{file}: the final stage must be FROM {base}:<version>, not {image:?}"
                )),
                Some(rest) => {
                    let tag = rest.strip_prefix(':').unwrap_or_default();
                    let tag = tag.split('@').next().unwrap_or_default();
                    if tag.is_empty() || tag == "latest" || !tag.bytes().any(|b| b.is_ascii_digit())
                    {
                        problems.push(format!(
                            "{file}: the base image {image:?} is not pinned to a version (e.g. {base}:3.24-2026.06.1), got tag {tag:?}"
                        ));
                    }
                }
            }
        }
    }
    if text.contains("BUILD_FROM") {
        problems.push(format!(
            "{file}: BUILD_FROM is no longer supplied by the Supervisor; write the base image out"
        ));
    }

    // A health check on /healthz, on the port ingress uses.
    match instructions.iter().find(|i| keyword(i) == "HEALTHCHECK") {
        None => problems.push(format!("{file}: no HEALTHCHECK (it replaces `watchdog`)")),
        Some(check) => {
            let port = match get(config, "ingress_port") {
                Some(Yaml::Integer(p)) => *p,
                _ => 8099,
            };
            let url = format!("127.0.0.1:{port}/healthz");
            if !check.contains(&url) {
                problems.push(format!(
                    "{file}: the HEALTHCHECK must ask http://{url} (the bridge's health on the ingress port)"
                ));
            }
        }
    }
    for label in ["io.hass.version", "io.hass.type", "io.hass.arch"] {
        if !instructions
            .iter()
            .any(|i| keyword(i) == "LABEL" && i.contains(label))
        {
            problems.push(format!("{file}: no {label} label"));
        }
    }

    // Every file COPY takes from the build context (the repository root)
    // exists, and the Dockerfile's own ignore file lets it in.
    let ignore = std::fs::read_to_string(root.join(APP).join("Dockerfile.dockerignore")).ok();
    for copy in instructions.iter().filter(|i| keyword(i) == "COPY") {
        let words: Vec<&str> = copy.split_whitespace().skip(1).collect();
        if words.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let args: Vec<&str> = words.into_iter().filter(|w| !w.starts_with("--")).collect();
        let Some((_dest, sources)) = args.split_last() else {
            continue;
        };
        for source in sources {
            let source = source.trim_end_matches('/');
            if !root.join(source).exists() {
                problems.push(format!(
                    "{file}: COPY {source}: not in the build context (the repository root)"
                ));
            }
            if let Some(ignore) = &ignore {
                let let_in = ignore.lines().any(|l| {
                    l.trim()
                        .strip_prefix('!')
                        .is_some_and(|p| source.starts_with(p.trim().trim_end_matches('/')))
                });
                if !let_in {
                    problems.push(format!(
                        "Dockerfile.dockerignore: {source} is copied but not let in (add !{source})"
                    ));
                }
            }
        }
    }
    if !instructions
        .iter()
        .any(|i| keyword(i) == "CMD" && i.contains("/run.sh"))
    {
        problems.push(format!("{file}: CMD must start /run.sh"));
    }
}

// ---------------------------------------------------------------------------
// The rest of the folder

fn lint_files(root: &Path, config: &Yaml, problems: &mut Vec<String>) {
    let app = root.join(APP);
    for name in [
        "README.md",
        "DOCS.md",
        "CHANGELOG.md",
        "run.sh",
        "apparmor.txt",
    ] {
        if !app.join(name).is_file() {
            problems.push(format!("{name}: missing"));
        }
    }
    for name in ["build.yaml", "build.yml", "build.json"] {
        if app.join(name).exists() {
            problems.push(format!(
                "{name}: deprecated; the Dockerfile names its base image itself"
            ));
        }
    }
    if let (Ok(apparmor), Some(slug)) = (
        std::fs::read_to_string(app.join("apparmor.txt")),
        get(config, "slug").and_then(str_of),
    ) {
        if !apparmor.contains(&format!("profile {slug} ")) {
            problems.push(format!("apparmor.txt: the profile must be named {slug}"));
        }
    }
    if let Ok(changelog) = std::fs::read_to_string(app.join("CHANGELOG.md")) {
        if let Some(version) = get(config, "version").and_then(str_of) {
            if !changelog.contains(&format!("## {version}")) {
                problems.push(format!("CHANGELOG.md: no \"## {version}\" section"));
            }
        }
    }
    // With `init: false` the base image's s6-overlay runs the script; bashio
    // as its interpreter through with-contenv gives it the environment.
    if let Ok(run) = std::fs::read_to_string(app.join("run.sh")) {
        if run.lines().next() != Some("#!/usr/bin/with-contenv bashio") {
            problems.push("run.sh: the first line must be #!/usr/bin/with-contenv bashio".into());
        }
    }
    // The Supervisor takes every config.{json,yaml,yml} in the repository
    // (outside dot folders and `rootfs`) for an app.
    let mut found = Vec::new();
    find_app_configs(root, root, &mut found);
    for other in found {
        if other != Path::new(APP).join("config.yaml") {
            problems.push(format!(
                "{}: the Supervisor would read this as an app's config.yaml; rename it",
                other.display()
            ));
        }
    }
}

fn find_app_configs(root: &Path, dir: &Path, found: &mut Vec<PathBuf>) {
    let Ok(read) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in read.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "rootfs" || name == "target" {
            continue;
        }
        if path.is_dir() {
            find_app_configs(root, &path, found);
        } else if matches!(&*name, "config.json" | "config.yaml" | "config.yml") {
            found.push(path.strip_prefix(root).unwrap_or(&path).to_path_buf());
        }
    }
}

// ---------------------------------------------------------------------------
// Tests

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn the_app_folder_passes_the_lint() {
    let problems = lint(&repo_root());
    assert!(
        problems.is_empty(),
        "the Home Assistant app has problems:\n  {}",
        problems.join("\n  ")
    );
}

#[test]
fn schema_types_are_checked_as_the_supervisor_does() {
    for good in [
        "str",
        "str?",
        "str(1,)",
        "str(,64)?",
        "password?",
        "password(8,64)",
        "bool",
        "int",
        "int(0,3600)?",
        "int(-5,5)",
        "float",
        "float(0.5,1)",
        "float(-.5,)",
        "email?",
        "url",
        "port",
        "match(^[a-z]+$)",
        "list(demo|pppp|tutk)",
        "list(a)?",
        "device",
        "device(subsystem=tty)",
    ] {
        assert!(schema_type_ok(good), "{good} should be accepted");
    }
    for bad in [
        "",
        "?",
        "string",
        "integer",
        "int(a,b)",
        "int(1,2,3)",
        "int(1)",
        "str=foo",
        "password=secret",
        "list()",
        "bool??",
        "float(1.,2)",
        "device(subsystem=TTY)",
        "int(0,3600",
    ] {
        assert!(!schema_type_ok(bad), "{bad} should be refused");
    }
}

/// A copy of everything the lint reads, in a temporary directory laid out
/// like the repository.
struct Copy {
    dir: tempfile::TempDir,
}

impl Copy {
    fn new() -> Copy {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = repo_root();
        copy_dir(&root.join(APP), &dir.path().join(APP));
        for file in ["Cargo.toml", "Cargo.lock", "repository.yaml"] {
            std::fs::copy(root.join(file), dir.path().join(file)).expect(file);
        }
        // What the Dockerfile copies from the build context: empty stand-ins.
        for folder in ["src", "tests/data"] {
            std::fs::create_dir_all(dir.path().join(folder)).expect(folder);
        }
        Copy { dir }
    }

    fn root(&self) -> &Path {
        self.dir.path()
    }

    /// Replaces `from` (which must be there) by `to` in the app's `file`.
    fn edit(&self, file: &str, from: &str, to: &str) -> &Copy {
        let path = self.path(file);
        let text = std::fs::read_to_string(&path).expect(file);
        assert!(text.contains(from), "{file} has no {from:?} to replace");
        std::fs::write(&path, text.replacen(from, to, 1)).expect(file);
        self
    }

    fn append(&self, file: &str, text: &str) -> &Copy {
        let path = self.path(file);
        let mut old = std::fs::read_to_string(&path).expect(file);
        old.push_str(text);
        std::fs::write(&path, old).expect(file);
        self
    }

    fn path(&self, file: &str) -> PathBuf {
        if file == "repository.yaml" || file == "Cargo.toml" {
            self.root().join(file)
        } else {
            self.root().join(APP).join(file)
        }
    }
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir").flatten() {
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy");
        }
    }
}

#[test]
fn a_broken_copy_reports_each_break() {
    let pristine = Copy::new();
    let problems = lint(pristine.root());
    assert!(
        problems.is_empty(),
        "the untouched copy should pass:\n  {}",
        problems.join("\n  ")
    );

    type Break = fn(&Copy);
    let cases: &[(&str, Break, &str)] = &[
        (
            "a key at its default value",
            |c| {
                c.append("config.yaml", "boot: auto\n");
            },
            "`boot` is set to its default value",
        ),
        (
            "another default: startup",
            |c| {
                c.append("config.yaml", "startup: application\n");
            },
            "`startup` is set to its default value",
        ),
        (
            "ingress_port at its default",
            |c| {
                c.edit(
                    "config.yaml",
                    "ingress: true\n",
                    "ingress: true\ningress_port: 8099\n",
                );
            },
            "`ingress_port` is set to its default value",
        ),
        (
            "init: true (the default)",
            |c| {
                c.edit("config.yaml", "init: false", "init: true");
            },
            "`init` is set to its default value",
        ),
        (
            "a deprecated architecture",
            |c| {
                c.edit("config.yaml", "  - amd64\n", "  - amd64\n  - armv7\n");
            },
            "arch \"armv7\" is not supported",
        ),
        (
            "a bad schema type",
            |c| {
                c.edit(
                    "config.yaml",
                    "live_fps: int(1,30)?",
                    "live_fps: integer(1,30)?",
                );
            },
            "schema live_fps: unknown type \"integer(1,30)?\"",
        ),
        (
            "a bad nested schema type",
            |c| {
                c.edit("config.yaml", "key_id: str?", "key_id: str=none");
            },
            "schema wyze.key_id: unknown type",
        ),
        (
            "a missing translation",
            |c| {
                c.edit(
                "translations/en.yaml",
                "  web_password:\n    name: Web password\n    description: The password for that web user name.\n",
                "",
            );
            },
            "option web_password has no translation",
        ),
        (
            "a missing field translation",
            |c| {
                c.edit(
                    "translations/en.yaml",
                    "      key_id:\n",
                    "      key_idx:\n",
                );
            },
            "option wyze.key_id has no translation",
        ),
        (
            "a version that is not Cargo.toml's",
            |c| {
                c.edit("config.yaml", "version: \"0.1.0\"", "version: \"0.1.1\"");
            },
            "version \"0.1.1\" is not Cargo.toml's package version",
        ),
        (
            "an unpinned base image",
            |c| {
                c.edit(
                    "Dockerfile",
                    "FROM ghcr.io/home-assistant/base:3.24-2026.06.1",
                    "FROM ghcr.io/home-assistant/base:latest",
                );
            },
            "is not pinned to a version",
        ),
        (
            "a base image without a tag",
            |c| {
                c.edit(
                    "Dockerfile",
                    "FROM ghcr.io/home-assistant/base:3.24-2026.06.1",
                    "FROM ghcr.io/home-assistant/base",
                );
            },
            "is not pinned to a version",
        ),
        (
            "BUILD_FROM",
            |c| {
                c.edit(
                    "Dockerfile",
                    "FROM ghcr.io/home-assistant/base:3.24-2026.06.1",
                    "ARG BUILD_FROM\nFROM $BUILD_FROM",
                );
            },
            "BUILD_FROM is no longer supplied",
        ),
        (
            "no health check",
            |c| {
                c.edit("Dockerfile", "HEALTHCHECK ", "# HEALTHCHECK ");
            },
            "no HEALTHCHECK",
        ),
        (
            "a watchdog",
            |c| {
                c.append(
                    "config.yaml",
                    "watchdog: http://[HOST]:[PORT:8099]/healthz\n",
                );
            },
            "`watchdog` is obsolete",
        ),
        (
            "webui with ingress",
            |c| {
                c.append("config.yaml", "webui: http://[HOST]:[PORT:8099]/\n");
            },
            "`webui` must not be set with ingress",
        ),
        (
            "the legacy config map",
            |c| {
                c.edit(
                    "config.yaml",
                    "  - type: addon_config\n",
                    "  - type: addon_config\n  - config:rw\n",
                );
            },
            "the legacy `config` folder",
        ),
        (
            "read_only: true (the default)",
            |c| {
                c.edit(
                    "config.yaml",
                    "  - type: addon_config\n",
                    "  - type: addon_config\n    read_only: true\n",
                );
            },
            "map[0].read_only is set to its default value",
        ),
        (
            "a bad service",
            |c| {
                c.edit("config.yaml", "mqtt:want", "mqtt:maybe");
            },
            "does not match (mqtt|mysql):(provide|want|need)",
        ),
        (
            "a required key missing",
            |c| {
                c.edit("config.yaml", "slug: cam2mqtt\n", "");
            },
            "required key `slug` is missing",
        ),
        (
            "a section missing from the options",
            |c| {
                c.edit("config.yaml", "  wyze: {}\n", "");
            },
            "schema wyze has no value in `options`",
        ),
        (
            "an optional option with a default",
            |c| {
                c.edit(
                    "config.yaml",
                    "  log_level: info\n",
                    "  log_level: info\n  live_fps: 5\n",
                );
            },
            "option live_fps is optional",
        ),
        (
            "a default outside its list",
            |c| {
                c.edit(
                    "config.yaml",
                    "  log_level: info\n",
                    "  log_level: verbose\n",
                );
            },
            "default \"verbose\" is not one of",
        ),
        (
            "a schema nested three deep",
            |c| {
                c.edit(
                    "config.yaml",
                    "      mac: str?\n",
                    "      mac:\n        value: str?\n",
                );
            },
            "schema cameras: nested 3 levels deep",
        ),
        (
            "a list of lists",
            |c| {
                c.edit(
                    "config.yaml",
                    "    unicast_hosts:\n      - str?\n",
                    "    unicast_hosts:\n      - - str?\n",
                );
            },
            "schema discovery.unicast_hosts: a list may not directly hold a list",
        ),
        (
            "an icon of the wrong size",
            |c| {
                std::fs::copy(c.path("logo.png"), c.path("icon.png")).expect("copy");
            },
            "icon.png: 250x100, must be 128x128",
        ),
        (
            "a logo that is not a PNG",
            |c| {
                std::fs::write(c.path("logo.png"), b"GIF89a").expect("write");
            },
            "logo.png: not a PNG file",
        ),
        (
            "no repository.yaml at the root",
            |c| {
                std::fs::remove_file(c.path("repository.yaml")).expect("rm");
            },
            "repository.yaml at the repository root",
        ),
        (
            "a repository.yaml without a name",
            |c| {
                c.edit("repository.yaml", "name: cam2mqtt\n", "");
            },
            "repository.yaml: `name` is required",
        ),
        (
            "a build.yaml",
            |c| {
                std::fs::write(c.path("build.yaml"), "build_from: {}\n").expect("write");
            },
            "build.yaml: deprecated",
        ),
        (
            "a COPY source missing from the context",
            |c| {
                std::fs::remove_dir_all(c.root().join("tests/data")).expect("rm");
            },
            "COPY tests/data: not in the build context",
        ),
        (
            "a stray config.json the store would read",
            |c| {
                std::fs::write(c.root().join("tests/data/config.json"), "{}").expect("write");
            },
            "tests/data/config.json: the Supervisor would read this",
        ),
        (
            "a start script without bashio",
            |c| {
                c.edit("run.sh", "#!/usr/bin/with-contenv bashio", "#!/bin/sh");
            },
            "run.sh: the first line must be",
        ),
        (
            "a translation of an option that is gone",
            |c| {
                c.append(
                    "translations/en.yaml",
                    "  frame_rate:\n    name: Frame rate\n    description: gone\n",
                );
            },
            "frame_rate is translated but is not an option",
        ),
    ];

    let mut failures = Vec::new();
    for (what, break_it, expected) in cases {
        let copy = Copy::new();
        break_it(&copy);
        let problems = lint(copy.root());
        if !problems.iter().any(|p| p.contains(expected)) {
            failures.push(format!(
                "{what}: expected a problem containing {expected:?}, got:\n    {}",
                problems.join("\n    ")
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
