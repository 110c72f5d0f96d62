//! The crate's module layering, checked from the source text: which top-level
//! module under `src/` may name which other one through a `crate::` path.
//!
//! A module is the first path segment under `src/` (`src/proto/demo/wire.rs`
//! is `proto`, `src/model.rs` is `model`); `src/lib.rs` and `src/main.rs` are
//! not checked. A reference is any `crate::X` or `$crate::X` path in code —
//! `use` statements (brace groups included, over any number of lines) and
//! inline paths alike — after comments, doc comments and string literals are
//! stripped. `#[cfg(test)]` modules count too: tests obey the layering.
//!
//! Like `tests/sans_io.rs` this is independent of the compiler: it reads text.

use std::path::{Path, PathBuf};

/// What a module may reference besides itself.
enum Rule {
    /// It may reference only these modules.
    Only(&'static [&'static str]),
    /// It may reference anything but these modules.
    Not(&'static [&'static str]),
}

impl Rule {
    fn allows(&self, own: &str, target: &str) -> bool {
        own == target
            || match self {
                Rule::Only(allowed) => allowed.contains(&target),
                Rule::Not(forbidden) => !forbidden.contains(&target),
            }
    }
}

/// The layering. One entry per module; modules without an entry are unchecked.
const RULES: &[(&str, Rule)] = &[
    // Protocol cores: sans-IO state machines over the shared model (and the
    // redacting `Secret`, a leaf type, for ENRs and passwords on their way
    // to the wire).
    ("proto", Rule::Only(&["proto", "model", "secret"])),
    // A leaf: the secret type depends on nothing of ours.
    ("secret", Rule::Only(&["secret"])),
    // The driver: sockets and clock, below everything that runs a camera.
    (
        "io",
        Rule::Not(&["sim", "publisher", "supervisor", "discovery", "app", "cli"]),
    ),
    ("supervisor", Rule::Not(&["publisher", "http"])),
    // The MQTT front end sees cameras only through the hub.
    ("publisher", Rule::Not(&["supervisor", "proto", "http"])),
    // The HTTP front end: the hub, the command rules, the shared vocabulary,
    // its config, and media for encoding.
    (
        "http",
        Rule::Only(&[
            "http", "bus", "command", "model", "config", "media", "secret",
        ]),
    ),
    // Command parsing is pure: the vocabulary only.
    ("command", Rule::Only(&["command", "model", "secret"])),
    // The vocabulary everyone shares.
    ("model", Rule::Only(&["model", "secret"])),
    // The hub: the vocabulary, and the clock (`io::clock`) for frame ages.
    ("bus", Rule::Only(&["model", "secret", "bus", "io"])),
    (
        "media",
        Rule::Not(&["publisher", "supervisor", "io", "sim", "discovery"]),
    ),
    ("discovery", Rule::Not(&["publisher"])),
    // The RTSP front end, like HTTP: cameras only through the hub; and io
    // for the clock and its UDP port pair.
    (
        "rtsp",
        Rule::Only(&[
            "rtsp", "bus", "command", "model", "config", "media", "secret", "io",
        ]),
    ),
    // Simulators are the camera side: they share only wire codecs and io.
    (
        "sim",
        Rule::Not(&["publisher", "supervisor", "discovery", "app", "cli"]),
    ),
];

// ---------------------------------------------------------------------------
// Tokenizer: just enough Rust lexing to find `crate::` paths in code.

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
struct Token {
    text: String,
    line: usize,
}

fn is_ident_start(c: char) -> bool {
    c.is_alphabetic() || c == '_'
}

fn is_ident_continue(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Splits `source` into identifiers (and number-ish words), `::` and single
/// punctuation characters. Comments (line, doc and nested block comments),
/// string literals (plain, byte, C and raw) and char literals are dropped.
/// Never panics: unterminated comments and literals run to the end of input.
fn tokenize(source: &str) -> Vec<Token> {
    let chars: Vec<char> = source.chars().collect();
    let at = |i: usize| chars.get(i).copied();
    let mut tokens = Vec::new();
    let mut line = 1;
    let mut i = 0;
    // Advances past chars[from..to], counting newlines.
    let skip = |from: usize, to: usize, line: &mut usize| {
        let to = to.min(chars.len());
        *line += chars[from.min(to)..to]
            .iter()
            .filter(|&&c| c == '\n')
            .count();
        to
    };
    // Index just past a (non-raw) string body starting after the opening quote.
    let string_end = |mut j: usize| {
        while let Some(c) = at(j) {
            match c {
                '\\' => j += 2,
                '"' => return j + 1,
                _ => j += 1,
            }
        }
        chars.len()
    };
    while let Some(c) = at(i) {
        if c == '/' && at(i + 1) == Some('/') {
            // Line comment, including `///` and `//!` doc comments.
            let mut j = i;
            while at(j).is_some_and(|c| c != '\n') {
                j += 1;
            }
            i = j;
        } else if c == '/' && at(i + 1) == Some('*') {
            // Block comment; these nest.
            let mut depth = 0usize;
            let mut j = i;
            while j < chars.len() {
                if at(j) == Some('/') && at(j + 1) == Some('*') {
                    depth += 1;
                    j += 2;
                } else if at(j) == Some('*') && at(j + 1) == Some('/') {
                    depth -= 1;
                    j += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    j += 1;
                }
            }
            i = skip(i, j, &mut line);
        } else if c == '"' {
            let end = string_end(i + 1);
            i = skip(i, end, &mut line);
        } else if c == '\'' {
            if at(i + 1) == Some('\\') {
                // Escaped char literal: '\n', '\'', '\u{1F600}'.
                let mut j = i + 3;
                while at(j).is_some_and(|c| c != '\'' && c != '\n') {
                    j += 1;
                }
                i = skip(i, j + 1, &mut line);
            } else if at(i + 2) == Some('\'') {
                i = skip(i, i + 3, &mut line);
            } else {
                // A lifetime or a label: the name that follows is harmless.
                i += 1;
            }
        } else if is_ident_start(c) || c.is_ascii_digit() {
            let mut j = i;
            while at(j).is_some_and(is_ident_continue) {
                j += 1;
            }
            let word: String = chars[i..j].iter().collect();
            // Raw strings r"…", r#"…"#, br"…", cr"…"; byte and C strings b"…", c"…".
            if matches!(word.as_str(), "r" | "br" | "cr") {
                let mut k = j;
                while at(k) == Some('#') {
                    k += 1;
                }
                if at(k) == Some('"') {
                    let hashes = k - j;
                    let mut m = k + 1;
                    let end = loop {
                        match at(m) {
                            None => break chars.len(),
                            Some('"') if (1..=hashes).all(|h| at(m + h) == Some('#')) => {
                                break m + 1 + hashes;
                            }
                            Some(_) => m += 1,
                        }
                    };
                    i = skip(i, end, &mut line);
                    continue;
                }
            }
            if matches!(word.as_str(), "b" | "c") && at(j) == Some('"') {
                let end = string_end(j + 1);
                i = skip(i, end, &mut line);
                continue;
            }
            tokens.push(Token { text: word, line });
            i = j;
        } else if c == ':' && at(i + 1) == Some(':') {
            tokens.push(Token {
                text: "::".into(),
                line,
            });
            i += 2;
        } else if c.is_whitespace() {
            if c == '\n' {
                line += 1;
            }
            i += 1;
        } else {
            tokens.push(Token {
                text: c.to_string(),
                line,
            });
            i += 1;
        }
    }
    tokens
}

fn is_ident(token: Option<&Token>) -> bool {
    token.is_some_and(|t| t.text.chars().next().is_some_and(is_ident_start))
}

fn text(tokens: &[Token], i: usize) -> &str {
    tokens.get(i).map_or("", |t| t.text.as_str())
}

/// The path starting at `tokens[i]` (`a::b::{c, d::e}::*`), rendered, and the
/// index just past it.
fn path_at(tokens: &[Token], mut i: usize) -> (String, usize) {
    let mut out = String::new();
    loop {
        match text(tokens, i) {
            "{" => {
                let mut depth = 0usize;
                while let Some(t) = tokens.get(i) {
                    match t.text.as_str() {
                        "{" => depth += 1,
                        "}" => depth = depth.saturating_sub(1),
                        _ => {}
                    }
                    out.push_str(&t.text);
                    if t.text == "," {
                        out.push(' ');
                    }
                    i += 1;
                    if depth == 0 {
                        break;
                    }
                }
            }
            "*" => {
                out.push('*');
                i += 1;
            }
            _ if is_ident(tokens.get(i)) => {
                out.push_str(text(tokens, i));
                i += 1;
            }
            _ => break,
        }
        if text(tokens, i) == "::" {
            out.push_str("::");
            i += 1;
        } else {
            break;
        }
    }
    (out, i)
}

/// Every module named by a `crate::X` or `$crate::X` path in `source`, as
/// (line, module, the path as written). Brace groups such as
/// `use crate::{model::A, publisher::{B, C}}` yield one entry per item.
/// Macros at the crate root (`crate::timer_kind!`) are not modules and are
/// skipped, as are `crate::{self, …}` and globs.
fn referenced_modules(source: &str) -> Vec<(usize, String, String)> {
    let tokens = tokenize(source);
    let mut found = Vec::new();
    for (i, token) in tokens.iter().enumerate() {
        if token.text != "crate" || text(&tokens, i + 1) != "::" {
            continue;
        }
        let prefix = if i > 0 && text(&tokens, i - 1) == "$" {
            "$crate::"
        } else {
            "crate::"
        };
        let mut record = |at: usize| {
            let Some(first) = tokens.get(at) else { return };
            if !is_ident(Some(first)) || first.text == "self" || text(&tokens, at + 1) == "!" {
                return;
            }
            let (path, _) = path_at(&tokens, at);
            found.push((first.line, first.text.clone(), format!("{prefix}{path}")));
        };
        if text(&tokens, i + 2) == "{" {
            // `crate::{a::B, c::{D, E}, f}`: the first segment of each item.
            let mut depth = 0usize;
            let mut item_starts = true;
            for (j, t) in tokens.iter().enumerate().skip(i + 2) {
                match t.text.as_str() {
                    "{" => {
                        depth += 1;
                        item_starts = depth == 1;
                    }
                    "}" => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            break;
                        }
                    }
                    "," => item_starts = depth == 1,
                    _ => {
                        if item_starts && depth == 1 {
                            record(j);
                        }
                        item_starts = false;
                    }
                }
            }
        } else {
            record(i + 2);
        }
    }
    found
}

// ---------------------------------------------------------------------------
// Walking the tree.

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let Ok(kind) = entry.file_type() else {
            continue;
        };
        if kind.is_dir() {
            rust_files(&path, out);
        } else if kind.is_file() && path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The module a file under `src_root` belongs to, or `None` for the crate roots.
fn module_of(relative: &Path) -> Option<String> {
    let mut parts = relative.components();
    let first = parts.next()?.as_os_str().to_string_lossy().into_owned();
    let is_file = parts.next().is_none();
    if is_file && (first == "lib.rs" || first == "main.rs") {
        return None;
    }
    Some(match first.strip_suffix(".rs") {
        Some(stem) if is_file => stem.to_string(),
        _ => first,
    })
}

/// The line of a trailing `#[cfg(test)]` followed by `mod tests {`, if any.
fn test_module_line(source: &str) -> Option<usize> {
    let lines: Vec<&str> = source.lines().collect();
    lines
        .windows(2)
        .position(|w| w[0].trim() == "#[cfg(test)]" && w[1].trim_start().starts_with("mod tests"))
        .map(|i| i + 1)
}

/// Every layering violation under `src_root`, one line each:
/// `src/proto/demo/assembler.rs:280: proto → media (crate::media::jpeg::decode_bounded)`.
fn violations(src_root: &Path) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src_root, &mut files);
    files.sort();
    let mut out = Vec::new();
    for file in files {
        let relative = file.strip_prefix(src_root).unwrap_or(&file);
        let shown = format!(
            "src/{}",
            relative
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/")
        );
        let Some(module) = module_of(relative) else {
            continue;
        };
        let Some((_, rule)) = RULES.iter().find(|(m, _)| *m == module) else {
            continue;
        };
        let source = match std::fs::read(&file) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(e) => {
                out.push(format!("{shown}: unreadable, not checked: {e}"));
                continue;
            }
        };
        // Unit-test code may use the simulators and the lossy link (test
        // tooling, compiled into the library for exactly that, ARCHITECTURE
        // "Camera simulators"): a `tests.rs` file, or a file's trailing
        // `#[cfg(test)] mod tests { … }`. Every other rule holds there too.
        let test_from = if relative.file_name().is_some_and(|f| f == "tests.rs") {
            1
        } else {
            test_module_line(&source).unwrap_or(usize::MAX)
        };
        for (line, target, snippet) in referenced_modules(&source) {
            if line >= test_from && target == "sim" {
                continue;
            }
            if !rule.allows(&module, &target) {
                out.push(format!("{shown}:{line}: {module} → {target} ({snippet})"));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------
// The checks.

fn src_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

#[test]
fn the_module_layering_holds() {
    let root = src_root();
    let mut files = Vec::new();
    rust_files(&root.join("proto"), &mut files);
    assert!(
        files.len() >= 5,
        "found the sources under {}",
        root.display()
    );
    let found = violations(&root);
    assert!(
        found.is_empty(),
        "{} layering violation(s):\n{}",
        found.len(),
        found.join("\n")
    );
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy file");
        }
    }
}

/// Appends `line` to `file` on a line of its own and returns its line number.
fn append_line(file: &Path, line: &str) -> usize {
    let mut text = std::fs::read_to_string(file).expect("read source");
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    let number = text.lines().count() + 1;
    text.push_str(line);
    text.push('\n');
    std::fs::write(file, text).expect("write source");
    number
}

#[test]
fn a_deliberately_broken_tree_is_caught() {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("src");
    copy_tree(&src_root(), &copy);
    let before = violations(&copy);
    assert_eq!(
        before,
        violations(&src_root()),
        "the copy reads like the original"
    );

    let proto_line = append_line(&copy.join("proto/mod.rs"), "use crate::media::jpeg;");
    let model_line = append_line(
        &copy.join("model.rs"),
        "pub fn _x() { let _ = crate::publisher::topics::Topics::new; }",
    );
    let http_line = append_line(
        &copy.join("http/api.rs"),
        "use crate::supervisor::CameraSettings;",
    );
    let publisher_line = append_line(
        &copy.join("publisher/core.rs"),
        "pub fn _y() { let _ = crate::proto::testing::t0; }",
    );
    let bus_line = append_line(&copy.join("bus/view.rs"), "use crate::publisher::Qos;");
    let after = violations(&copy);
    let expected = [
        format!("src/proto/mod.rs:{proto_line}: proto → media (crate::media::jpeg)"),
        format!(
            "src/model.rs:{model_line}: model → publisher (crate::publisher::topics::Topics::new)"
        ),
        format!(
            "src/http/api.rs:{http_line}: http → supervisor (crate::supervisor::CameraSettings)"
        ),
        format!(
            "src/publisher/core.rs:{publisher_line}: publisher → proto (crate::proto::testing::t0)"
        ),
        format!("src/bus/view.rs:{bus_line}: bus → publisher (crate::publisher::Qos)"),
    ];
    for line in &expected {
        assert!(
            after.contains(line),
            "missing {line:?} in:\n{}",
            after.join("\n")
        );
    }
    assert_eq!(
        after.len(),
        before.len() + expected.len(),
        "exactly the injected violations are new:\n{}",
        after.join("\n")
    );
}

#[test]
fn every_module_has_at_most_one_rule_and_only_lists_name_themselves() {
    for (i, (module, rule)) in RULES.iter().enumerate() {
        assert!(
            RULES[i + 1..].iter().all(|(m, _)| m != module),
            "{module} has two rules"
        );
        if let Rule::Only(allowed) = rule {
            assert!(allowed.contains(module), "{module} must list itself");
        }
    }
}

#[test]
fn module_of_takes_the_first_segment_under_src() {
    assert_eq!(
        module_of(Path::new("proto/demo/wire.rs")).as_deref(),
        Some("proto")
    );
    assert_eq!(module_of(Path::new("model.rs")).as_deref(), Some("model"));
    assert_eq!(module_of(Path::new("bus.rs")).as_deref(), Some("bus"));
    assert_eq!(module_of(Path::new("io/mod.rs")).as_deref(), Some("io"));
    assert_eq!(module_of(Path::new("lib.rs")), None);
    assert_eq!(module_of(Path::new("main.rs")), None);
}

// ---------------------------------------------------------------------------
// `referenced_modules` on small inputs.

fn refs(source: &str) -> Vec<(usize, String, String)> {
    referenced_modules(source)
}

fn r(line: usize, module: &str, snippet: &str) -> (usize, String, String) {
    (line, module.to_string(), snippet.to_string())
}

#[test]
fn a_single_use_is_found() {
    assert_eq!(
        refs("use std::fmt;\nuse crate::media::jpeg::decode_bounded;\n"),
        [r(2, "media", "crate::media::jpeg::decode_bounded")]
    );
    assert_eq!(
        refs("pub use crate::model as m;"),
        [r(1, "model", "crate::model")]
    );
}

#[test]
fn a_nested_brace_use_over_several_lines_yields_each_module() {
    let source = "use crate::{\n    model::A,\n    publisher::{\n        B,\n        topics::C,\n    },\n    self,\n    io,\n};\nuse crate::{secret::{Secret}, proto::*};\n";
    assert_eq!(
        refs(source),
        [
            r(2, "model", "crate::model::A"),
            r(3, "publisher", "crate::publisher::{B, topics::C, }"),
            r(8, "io", "crate::io"),
            r(10, "secret", "crate::secret::{Secret}"),
            r(10, "proto", "crate::proto::*"),
        ]
    );
}

#[test]
fn inline_paths_are_found() {
    let source = "fn f(j: &[u8]) -> bool {\n    crate::media::jpeg::decode_bounded(j).is_ok()\n        && crate :: io :: clock :: now() > x\n}\n";
    assert_eq!(
        refs(source),
        [
            r(2, "media", "crate::media::jpeg::decode_bounded"),
            r(3, "io", "crate::io::clock::now"),
        ]
    );
    assert_eq!(
        refs("let e = crate::media::jpeg::JpegError::TooBig { max };"),
        [r(1, "media", "crate::media::jpeg::JpegError::TooBig")]
    );
}

#[test]
fn dollar_crate_in_macros_counts() {
    let source =
        "macro_rules! m {\n    () => { impl $crate::proto::timer::TimerKind for T {} };\n}\n";
    assert_eq!(
        refs(source),
        [r(2, "proto", "$crate::proto::timer::TimerKind")]
    );
}

#[test]
fn comments_and_doc_comments_are_ignored() {
    let source = "//! see [`crate::io::driver`]\n/// uses [`crate::sim::demo`]\n// use crate::publisher;\n/* crate::app /* nested crate::cli */ still crate::cli */\n/** crate::media */\nfn f() {} // crate::supervisor::x\nuse crate::model::Id;\n";
    assert_eq!(refs(source), [r(7, "model", "crate::model::Id")]);
}

#[test]
fn string_and_char_literals_are_ignored() {
    let source = concat!(
        "let a = \"crate::publisher::x \\\" crate::app\";\n",
        "let b = r#\"crate::cli \"quoted\" \"#;\n",
        "let c = b\"crate::sim\"; let d = br\"crate::io\";\n",
        "let q = '\"'; let e = '\\''; fn g<'a>(x: &'a str) {}\n",
        "let z = crate::model::X;\n",
    );
    assert_eq!(refs(source), [r(5, "model", "crate::model::X")]);
}

#[test]
fn macros_at_the_crate_root_and_visibility_are_not_references() {
    let source = "crate::timer_kind!(T { A });\npub(crate) fn f() {}\nextern crate alloc;\npub(in crate::proto) fn g() {}\n";
    assert_eq!(refs(source), [r(4, "proto", "crate::proto")]);
}

#[test]
fn odd_input_does_not_panic() {
    for source in [
        "",
        "crate",
        "crate::",
        "crate::{",
        "use crate::{model::{",
        "$crate::",
        "\"unterminated crate::io",
        "r#\"unterminated",
        "/* unterminated /* nested",
        "'",
        "'\\",
        "b'",
        "*/ } } crate::{,,}",
        "é crate::ünïcode::x 'é'",
    ] {
        let _ = refs(source);
    }
    assert_eq!(
        refs("é crate::ünïcode::x 'é'"),
        [r(1, "ünïcode", "crate::ünïcode::x")]
    );
}

#[test]
fn unit_test_code_may_use_the_simulators_and_nothing_else_new() {
    let source = "use crate::model::A;\nfn f() {}\n\n#[cfg(test)]\nmod tests {\n    use crate::sim::netem::Netem;\n    use crate::publisher::X;\n}\n";
    assert_eq!(test_module_line(source), Some(4));
    let dir = tempfile::tempdir().unwrap();
    let proto = dir.path().join("proto");
    std::fs::create_dir_all(&proto).unwrap();
    std::fs::write(proto.join("a.rs"), source).unwrap();
    std::fs::write(proto.join("tests.rs"), "use crate::sim::pattern;\n").unwrap();
    std::fs::write(proto.join("b.rs"), "use crate::sim::pattern;\n").unwrap();
    let found = violations(dir.path());
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found
            .iter()
            .any(|v| v.contains("a.rs:7: proto → publisher")),
        "{found:?}"
    );
    assert!(
        found.iter().any(|v| v.contains("b.rs:1: proto → sim")),
        "{found:?}"
    );
}

/// The CLI runs cameras the way the bridge does (the supervisor on a hub),
/// never with a session runner of its own: it names neither the session
/// driver nor an event sink.
#[test]
fn the_cli_has_no_session_runner_of_its_own() {
    let text = std::fs::read_to_string(src_root().join("cli.rs")).expect("src/cli.rs");
    let idents: Vec<String> = tokenize(&text).into_iter().map(|t| t.text).collect();
    for banned in ["run_session", "EventSink", "SessionCommand", "bind_all"] {
        assert!(
            !idents.iter().any(|t| t == banned),
            "src/cli.rs uses {banned}: run the camera through supervisor::Supervisor on a bus::Hub (cli::with_camera)"
        );
    }
}
