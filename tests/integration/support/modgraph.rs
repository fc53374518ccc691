//! The file-level dependency graph of a Rust source tree and its cycles, for the module
//! cycle check (`module_cycles.rs`).
//!
//! Files are found the way rustc finds them: from the crate root through `mod NAME;`
//! declarations (`NAME.rs` or `NAME/mod.rs`, `#[path]` honoured). A file depends on
//! another when it names an item defined there: in a `use` declaration (`crate::`,
//! `super::`, `self::` or a child module first, grouped `use a::{b, c::d}` trees, globs,
//! aliases), or in a `crate::`, `super::` or `self::` path anywhere in its code. A path
//! through a module that re-exports the item (`pub use child::Item` in a `mod.rs`) leads
//! to the file that defines it, and such a re-export of a module's own descendants is not
//! an edge of the re-exporting file. `mod` declarations are not edges. Test-only code is
//! left out: items under `#[cfg(test)]` (or `cfg(all(test, ..))`) or `#[test]`, and files
//! declared by a test-only `mod`.
//!
//! Limits, on purpose: paths written from a child module's name without `use` (`raw::parse`
//! in `config/mod.rs`) and paths inside string literals (`#[serde(with = "..")]`) are not
//! read; an item re-exported through a glob is attributed to the globbing module; a parent
//! that both re-exports a child's item and uses it shows no edge to that child. It knows
//! nothing of this project; tests feed it synthetic trees.

use std::collections::{BTreeMap, BTreeSet};

/// Files (as `src/a/b.rs`) and their dependencies on other files.
#[derive(Debug, Default)]
pub struct Graph {
    /// File -> file it depends on -> the first place that shows it (`LINE: PATH`, e.g.
    /// `15: crate::cli::parse_timeout`).
    pub edges: BTreeMap<String, BTreeMap<String, String>>,
    /// File -> files whose re-exports its paths pass through on the way to a definition
    /// (not dependencies at file level, but they say which modules a file names).
    pub via: BTreeMap<String, BTreeSet<String>>,
    /// Files declared by `mod` but not found, and other oddities worth failing on.
    pub problems: Vec<String>,
}

impl Graph {
    /// Builds the graph of the crate whose root file is `root` (e.g. `src/lib.rs`);
    /// `read` returns a file's text by its `/`-separated path.
    pub fn build(root: &str, read: &dyn Fn(&str) -> Option<String>) -> Graph {
        let mut tree = ModuleTree::default();
        let mut problems = Vec::new();
        // Discover every non-test file from the root, depth first.
        let mut pending = vec![(root.to_string(), Vec::<String>::new())];
        while let Some((file, module)) = pending.pop() {
            let Some(text) = read(&file) else {
                problems.push(format!("{file}: declared but not readable"));
                continue;
            };
            let facts = FileFacts::parse(&text, &module);
            for child in &facts.child_files {
                let dir = child_dir(&file, root, &child.inline_path);
                let candidates: Vec<String> = match &child.path_attr {
                    Some(p) => vec![join(&parent_dir(&file), p)],
                    None => vec![
                        format!("{dir}/{}.rs", child.name),
                        format!("{dir}/{}/mod.rs", child.name),
                    ],
                };
                match candidates.iter().find(|c| read(c).is_some()) {
                    Some(found) => pending.push((found.clone(), child.module.clone())),
                    None => problems.push(format!(
                        "{file}: mod {} declared, none of {} found",
                        child.name,
                        candidates.join(", ")
                    )),
                }
            }
            tree.add(&file, facts);
        }
        tree.bind();
        let mut graph = Graph {
            edges: BTreeMap::new(),
            via: BTreeMap::new(),
            problems,
        };
        for (file, facts) in &tree.files {
            let edges = graph.edges.entry(file.clone()).or_default();
            let via = graph.via.entry(file.clone()).or_default();
            for reference in &facts.references {
                let Some(target) = tree.resolve(&reference.from_module, &reference.segments) else {
                    continue;
                };
                via.extend(target.through.iter().filter(|f| *f != file).cloned());
                if reference.is_pub_use && is_within(&target.module, &reference.from_module) {
                    continue; // a module re-exporting its own descendants
                }
                if target.file != *file {
                    edges
                        .entry(target.file.clone())
                        .or_insert_with(|| format!("{}: {}", reference.line, reference.segments.join("::")));
                }
            }
        }
        graph
    }

    /// Every cycle, one per strongly connected component: the shortest chain from the
    /// component's first file back to itself, e.g. `[a, b, a]`.
    pub fn cycles(&self) -> Vec<Vec<String>> {
        self.tangles()
            .iter()
            .map(|component| shortest_cycle(&self.edges, component))
            .collect()
    }

    /// The groups of files that all reach each other (strongly connected components of
    /// more than one file), each sorted.
    pub fn tangles(&self) -> Vec<Vec<String>> {
        strongly_connected(&self.edges)
            .into_iter()
            .filter(|c| c.len() > 1)
            .collect()
    }

    /// Removes the edges of a chain (`[a, b, a]` removes `a -> b` and `b -> a`); returns
    /// the ones that were not there.
    pub fn remove_chain(&mut self, chain: &[&str]) -> Vec<String> {
        let mut missing = Vec::new();
        for pair in chain.windows(2) {
            let removed = self.edges.get_mut(pair[0]).and_then(|e| e.remove(pair[1]));
            if removed.is_none() {
                missing.push(format!("{} -> {}", pair[0], pair[1]));
            }
        }
        missing
    }

    /// A chain written out with the line that makes each edge.
    pub fn describe(&self, chain: &[String]) -> String {
        let mut out = chain.join(" -> ");
        for pair in chain.windows(2) {
            let because = self.edges.get(&pair[0]).and_then(|e| e.get(&pair[1]));
            out.push_str(&format!(
                "\n    {}:{}",
                pair[0],
                because.map(String::as_str).unwrap_or("?")
            ));
        }
        out
    }
}

fn is_within(module: &[String], ancestor: &[String]) -> bool {
    module.len() > ancestor.len() && module.starts_with(ancestor)
}

fn parent_dir(file: &str) -> String {
    match file.rfind('/') {
        Some(i) => file[..i].to_string(),
        None => String::new(),
    }
}

fn join(dir: &str, rel: &str) -> String {
    if dir.is_empty() {
        rel.to_string()
    } else {
        format!("{dir}/{rel}")
    }
}

/// The directory holding the files of modules declared in `file` (inside the inline
/// modules `inline_path` of that file).
fn child_dir(file: &str, root: &str, inline_path: &[String]) -> String {
    let dir = parent_dir(file);
    let owns_dir = file == root || file.ends_with("/mod.rs") || file.ends_with("/main.rs");
    let mut dir = if owns_dir {
        dir
    } else {
        join(
            &dir,
            file.rsplit('/').next().unwrap_or(file).trim_end_matches(".rs"),
        )
    };
    for name in inline_path {
        dir = join(&dir, name);
    }
    dir
}

#[derive(Clone, Debug)]
struct Target {
    module: Vec<String>,
    file: String,
    /// Files of the modules whose re-exports led here.
    through: Vec<String>,
}

/// Every module of the crate (inline ones too) and what it binds by `use`.
#[derive(Default)]
struct ModuleTree {
    /// Module path -> the file holding it.
    modules: BTreeMap<Vec<String>, String>,
    /// Module path -> name bound by a `use` -> the absolute path it stands for.
    bindings: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>>,
    files: BTreeMap<String, FileFacts>,
}

impl ModuleTree {
    fn add(&mut self, file: &str, facts: FileFacts) {
        for module in &facts.modules {
            self.modules.insert(module.clone(), file.to_string());
        }
        self.files.insert(file.to_string(), facts);
    }

    /// Binds each `use` name once every module is known (a `use` can name a module
    /// declared later in the walk).
    fn bind(&mut self) {
        let mut bindings: BTreeMap<Vec<String>, BTreeMap<String, Vec<String>>> = BTreeMap::new();
        for facts in self.files.values() {
            for reference in facts.references.iter().filter(|r| r.binds.is_some()) {
                if let Some(path) = self.absolute(&reference.from_module, &reference.segments) {
                    let name = reference.binds.clone().unwrap_or_default();
                    bindings
                        .entry(reference.from_module.clone())
                        .or_default()
                        .insert(name, path);
                }
            }
        }
        self.bindings = bindings;
    }

    /// `segments` made absolute (`crate` dropped), or `None` when the path is not ours
    /// (an extern crate, a local name).
    fn absolute(&self, from: &[String], segments: &[String]) -> Option<Vec<String>> {
        let (first, rest) = segments.split_first()?;
        let mut base: Vec<String> = match first.as_str() {
            "crate" => Vec::new(),
            "self" => from.to_vec(),
            "super" => from[..from.len().checked_sub(1)?].to_vec(),
            name => {
                let mut child = from.to_vec();
                child.push(name.to_string());
                if !self.modules.contains_key(&child) {
                    return None;
                }
                return Some([child, rest.to_vec()].concat());
            }
        };
        let mut rest = rest;
        while let Some(("super", tail)) = rest.split_first().map(|(h, t)| (h.as_str(), t)) {
            base.pop()?;
            rest = tail;
        }
        Some([base, rest.to_vec()].concat())
    }

    fn resolve(&self, from: &[String], segments: &[String]) -> Option<Target> {
        let path = self.absolute(from, segments)?;
        self.resolve_absolute(path, 0)
    }

    fn resolve_absolute(&self, path: Vec<String>, depth: usize) -> Option<Target> {
        let mut module: Vec<String> = Vec::new();
        let mut rest = path.as_slice();
        while let Some((head, tail)) = rest.split_first() {
            if head == "self" {
                rest = tail;
                continue;
            }
            let mut next = module.clone();
            next.push(head.clone());
            if !self.modules.contains_key(&next) {
                break;
            }
            module = next;
            rest = tail;
        }
        if depth < 16 {
            if let Some(item) = rest.first() {
                if let Some(bound) = self.bindings.get(&module).and_then(|b| b.get(item)) {
                    let followed = [bound.clone(), rest[1..].to_vec()].concat();
                    if followed != path {
                        if let Some(mut target) = self.resolve_absolute(followed, depth + 1) {
                            if let Some(file) = self.modules.get(&module) {
                                target.through.push(file.clone());
                            }
                            return Some(target);
                        }
                    }
                }
            }
        }
        let file = self.modules.get(&module)?.clone();
        Some(Target {
            module,
            file,
            through: Vec::new(),
        })
    }
}

/// A path a file names.
#[derive(Clone, Debug)]
struct Reference {
    from_module: Vec<String>,
    segments: Vec<String>,
    line: usize,
    /// From a `pub use` (any `pub(..)`).
    is_pub_use: bool,
    /// For a `use`: the name it binds (`None` for a glob and for other paths).
    binds: Option<String>,
}

#[derive(Clone, Debug)]
struct ChildFile {
    name: String,
    module: Vec<String>,
    /// The inline modules of the declaring file the `mod` sits in.
    inline_path: Vec<String>,
    path_attr: Option<String>,
}

/// What one file declares and names, test-only code left out.
#[derive(Clone, Debug, Default)]
struct FileFacts {
    /// The file's own module and its inline modules.
    modules: Vec<Vec<String>>,
    child_files: Vec<ChildFile>,
    references: Vec<Reference>,
}

impl FileFacts {
    fn parse(text: &str, module: &[String]) -> FileFacts {
        let tokens = lex(text);
        let mut facts = FileFacts {
            modules: vec![module.to_vec()],
            ..FileFacts::default()
        };
        let mut parser = Parser {
            tokens: &tokens,
            pos: 0,
            facts: &mut facts,
        };
        parser.block(module, &[], true);
        facts
    }
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Ident(String),
    /// `::`
    PathSep,
    Punct(char),
    /// A plain string literal, escapes left as written.
    Str(String),
    /// Any other literal (contents dropped).
    Literal,
}

#[derive(Clone, Debug)]
struct Token {
    tok: Tok,
    line: usize,
}

/// Tokens without comments; literals reduced to `Literal`, lifetimes dropped.
fn lex(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut line = 1;
    let mut i = 0;
    let at = |i: usize| chars.get(i).copied().unwrap_or('\0');
    // Skips a quoted literal whose opening quote is at `i`; returns the index after it.
    let skip_quoted = |mut i: usize, quote: char, line: &mut usize| -> usize {
        i += 1;
        while i < chars.len() {
            match chars[i] {
                '\\' => i += 1,
                '\n' => *line += 1,
                c if c == quote => return i + 1,
                _ => {}
            }
            i += 1;
        }
        i
    };
    while i < chars.len() {
        let c = chars[i];
        if c == '\n' {
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && at(i + 1) == '/' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && at(i + 1) == '*' {
            let mut depth = 0;
            while i < chars.len() {
                if chars[i] == '/' && at(i + 1) == '*' {
                    depth += 1;
                    i += 2;
                } else if chars[i] == '*' && at(i + 1) == '/' {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
            }
        } else if c == '"' {
            let start = line;
            let end = skip_quoted(i, '"', &mut line);
            let text: String = chars[i + 1..end.saturating_sub(1).max(i + 1)].iter().collect();
            i = end;
            out.push(Token {
                tok: Tok::Str(text),
                line: start,
            });
        } else if c == '\'' {
            if at(i + 1) == '\\' || (at(i + 2) == '\'' && at(i + 1) != '\'') {
                i = skip_quoted(i, '\'', &mut line);
                out.push(Token {
                    tok: Tok::Literal,
                    line,
                });
            } else {
                // A lifetime or a label: drop the quote and the name.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
            }
        } else if c.is_alphanumeric() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let raw_string = matches!(word.as_str(), "r" | "br" | "cr")
                && (at(i) == '"' || (at(i) == '#' && (at(i + 1) == '"' || at(i + 1) == '#')));
            if raw_string {
                let mut hashes = 0;
                while at(i) == '#' {
                    hashes += 1;
                    i += 1;
                }
                i += 1; // the opening quote
                let start_line = line;
                while i < chars.len() {
                    if chars[i] == '"' && (1..=hashes).all(|k| at(i + k) == '#') {
                        i += 1 + hashes;
                        break;
                    }
                    if chars[i] == '\n' {
                        line += 1;
                    }
                    i += 1;
                }
                out.push(Token {
                    tok: Tok::Literal,
                    line: start_line,
                });
            } else if matches!(word.as_str(), "b" | "c") && at(i) == '"' {
                let start_line = line;
                i = skip_quoted(i, '"', &mut line);
                out.push(Token {
                    tok: Tok::Literal,
                    line: start_line,
                });
            } else if word == "b" && at(i) == '\'' {
                i = skip_quoted(i, '\'', &mut line);
                out.push(Token {
                    tok: Tok::Literal,
                    line,
                });
            } else if word == "r" && at(i) == '#' {
                i += 1; // a raw identifier: `r#type` is `type`
            } else if word.starts_with(|c: char| c.is_ascii_digit()) {
                out.push(Token {
                    tok: Tok::Literal,
                    line,
                });
            } else {
                out.push(Token {
                    tok: Tok::Ident(word),
                    line,
                });
            }
        } else if c == ':' && at(i + 1) == ':' {
            out.push(Token {
                tok: Tok::PathSep,
                line,
            });
            i += 2;
        } else {
            out.push(Token {
                tok: Tok::Punct(c),
                line,
            });
            i += 1;
        }
    }
    out
}

struct Parser<'a> {
    tokens: &'a [Token],
    pos: usize,
    facts: &'a mut FileFacts,
}

/// Item keywords: after a test-only attribute, an item that starts with one ends at its
/// `;` or at the end of its first `{ }` body.
const ITEM_KEYWORDS: [&str; 13] = [
    "fn",
    "mod",
    "impl",
    "struct",
    "enum",
    "union",
    "trait",
    "use",
    "extern",
    "macro_rules",
    "unsafe",
    "async",
    "auto",
];
/// Items that end at `;` even after a `{ }` (`const X: T = T { .. };`).
const SEMI_ITEMS: [&str; 4] = ["const", "static", "type", "let"];

impl Parser<'_> {
    fn peek(&self, k: usize) -> Option<&Tok> {
        self.tokens.get(self.pos + k).map(|t| &t.tok)
    }

    fn ident(&self, k: usize) -> Option<&str> {
        match self.peek(k) {
            Some(Tok::Ident(s)) => Some(s),
            _ => None,
        }
    }

    fn is_punct(&self, k: usize, c: char) -> bool {
        self.peek(k) == Some(&Tok::Punct(c))
    }

    /// Reads items and paths until the `}` closing this block (consumed) or the end.
    /// `inline` is the path of inline modules of this file the block sits in.
    fn block(&mut self, module: &[String], inline: &[String], top: bool) {
        let mut test_only = false;
        let mut path_attr: Option<String> = None;
        let mut is_pub = false;
        while let Some(tok) = self.peek(0).cloned() {
            match tok {
                Tok::Punct('}') => {
                    self.pos += 1;
                    if !top {
                        return;
                    }
                }
                Tok::Punct('#') => {
                    let inner = self.is_punct(1, '!');
                    let (test, path) = self.attribute();
                    if inner && test {
                        self.skip_to_block_end();
                        if !top {
                            return;
                        }
                    }
                    test_only |= test && !inner;
                    if path.is_some() {
                        path_attr = path;
                    }
                    continue; // attributes and visibility stay pending for the item
                }
                _ if test_only => {
                    self.skip_item();
                    test_only = false;
                    path_attr = None;
                    is_pub = false;
                    continue;
                }
                Tok::Ident(word) if word == "pub" => {
                    self.pos += 1;
                    if self.is_punct(0, '(') {
                        self.skip_group();
                    }
                    is_pub = true;
                    continue;
                }
                Tok::Ident(word) if word == "use" => {
                    self.pos += 1;
                    self.use_tree(module, is_pub);
                }
                Tok::Ident(word) if word == "mod" && self.ident(1).is_some() => {
                    let name = self.ident(1).unwrap_or_default().to_string();
                    let mut child = module.to_vec();
                    child.push(name.clone());
                    self.pos += 2;
                    if self.is_punct(0, ';') {
                        self.pos += 1;
                        self.facts.child_files.push(ChildFile {
                            name,
                            module: child,
                            inline_path: inline.to_vec(),
                            path_attr: path_attr.take(),
                        });
                    } else if self.is_punct(0, '{') {
                        self.pos += 1;
                        self.facts.modules.push(child.clone());
                        let inner_inline = [inline.to_vec(), vec![name]].concat();
                        self.block(&child, &inner_inline, false);
                    }
                }
                Tok::Ident(word) if matches!(word.as_str(), "crate" | "super" | "self") => {
                    if self.peek(1) == Some(&Tok::PathSep) {
                        let line = self.tokens[self.pos].line;
                        let segments = self.path();
                        self.facts.references.push(Reference {
                            from_module: module.to_vec(),
                            segments,
                            line,
                            is_pub_use: false,
                            binds: None,
                        });
                    } else {
                        self.pos += 1;
                    }
                }
                Tok::Punct('{') => {
                    self.pos += 1;
                    self.block(module, inline, false);
                }
                _ => self.pos += 1,
            }
            test_only = false;
            path_attr = None;
            is_pub = false;
        }
    }

    /// `ident (:: ident)*` from the current token.
    fn path(&mut self) -> Vec<String> {
        let mut segments = Vec::new();
        while let Some(word) = self.ident(0) {
            segments.push(word.to_string());
            self.pos += 1;
            if self.peek(0) == Some(&Tok::PathSep) && self.ident(1).is_some() {
                self.pos += 1;
            } else {
                break;
            }
        }
        segments
    }

    /// Reads `#[...]` or `#![...]`: whether it makes the item test-only, and a
    /// `#[path = "..."]` value.
    fn attribute(&mut self) -> (bool, Option<String>) {
        self.pos += 1;
        if self.is_punct(0, '!') {
            self.pos += 1;
        }
        if !self.is_punct(0, '[') {
            return (false, None);
        }
        let start = self.pos + 1;
        self.skip_group();
        let body = &self.tokens[start..self.pos.saturating_sub(1).max(start)];
        let words: Vec<&Tok> = body.iter().map(|t| &t.tok).collect();
        match words.first() {
            Some(Tok::Ident(w)) if w == "test" && words.len() == 1 => (true, None),
            Some(Tok::Ident(w)) if w == "cfg" => (cfg_requires_test(&words[1..]), None),
            Some(Tok::Ident(w)) if w == "path" => match words.get(2) {
                Some(Tok::Str(path)) => (false, Some(path.clone())),
                _ => (false, None),
            },
            _ => (false, None),
        }
    }

    /// Skips a balanced `( )`, `[ ]` or `{ }` group starting at the current token.
    fn skip_group(&mut self) {
        let mut depth = 0usize;
        while let Some(tok) = self.peek(0).cloned() {
            self.pos += 1;
            match tok {
                Tok::Punct('(' | '[' | '{') => depth += 1,
                Tok::Punct(')' | ']' | '}') => {
                    depth = depth.saturating_sub(1);
                    if depth == 0 {
                        return;
                    }
                }
                _ => {}
            }
        }
    }

    /// Skips to the `}` closing the current block, leaving it unconsumed.
    fn skip_to_block_end(&mut self) {
        while let Some(tok) = self.peek(0).cloned() {
            match tok {
                Tok::Punct('}') => return,
                Tok::Punct('(' | '[' | '{') => self.skip_group(),
                _ => self.pos += 1,
            }
        }
    }

    /// The first word of the item at the current token, past its visibility.
    fn item_keyword(&self) -> String {
        let mut k = 0;
        if self.ident(0) == Some("pub") {
            k = 1;
            if self.is_punct(1, '(') {
                let mut depth = 0usize;
                while let Some(tok) = self.peek(k).cloned() {
                    k += 1;
                    match tok {
                        Tok::Punct('(') => depth += 1,
                        Tok::Punct(')') => {
                            depth = depth.saturating_sub(1);
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                }
            }
        }
        self.ident(k).unwrap_or_default().to_string()
    }

    /// Skips one test-only item, field, variant, statement or match arm.
    fn skip_item(&mut self) {
        let first = self.item_keyword();
        let is_item = ITEM_KEYWORDS.contains(&first.as_str());
        let semi_only = SEMI_ITEMS.contains(&first.as_str());
        while let Some(tok) = self.peek(0).cloned() {
            match tok {
                Tok::Punct(')' | ']' | '}') => return, // the enclosing block ends
                Tok::Punct(';') => {
                    self.pos += 1;
                    return;
                }
                Tok::Punct(',') if !is_item && !semi_only => {
                    self.pos += 1;
                    return;
                }
                Tok::Punct('{') => {
                    self.skip_group();
                    if !semi_only {
                        return;
                    }
                }
                Tok::Punct('(' | '[') => self.skip_group(),
                _ => self.pos += 1,
            }
        }
    }

    /// Reads a use tree after `use` up to and including its `;`.
    fn use_tree(&mut self, module: &[String], is_pub: bool) {
        let line = self.tokens.get(self.pos).map_or(0, |t| t.line);
        let mut leaves = Vec::new();
        if self.peek(0) == Some(&Tok::PathSep) {
            self.pos += 1; // `use ::extern_crate::..`: never ours
            self.skip_to_semicolon();
            return;
        }
        self.tree(&mut Vec::new(), &mut leaves);
        self.skip_to_semicolon();
        for (segments, binds) in leaves {
            self.facts.references.push(Reference {
                from_module: module.to_vec(),
                segments,
                line,
                is_pub_use: is_pub,
                binds,
            });
        }
    }

    fn skip_to_semicolon(&mut self) {
        while let Some(tok) = self.peek(0).cloned() {
            self.pos += 1;
            if tok == Tok::Punct(';') {
                return;
            }
        }
    }

    /// One use (sub)tree below `prefix`; pushes `(full path, bound name)` per leaf.
    fn tree(&mut self, prefix: &mut Vec<String>, leaves: &mut Vec<(Vec<String>, Option<String>)>) {
        let depth = prefix.len();
        loop {
            match self.peek(0).cloned() {
                Some(Tok::Ident(word)) => {
                    self.pos += 1;
                    prefix.push(word);
                    if self.peek(0) == Some(&Tok::PathSep) {
                        self.pos += 1;
                        continue;
                    }
                    let mut name = prefix.last().cloned();
                    if name.as_deref() == Some("self") {
                        prefix.pop();
                        name = prefix.last().cloned();
                    }
                    if self.ident(0) == Some("as") {
                        name = self.ident(1).map(str::to_string);
                        self.pos += 2;
                    }
                    leaves.push((prefix.clone(), name.filter(|n| n != "_")));
                }
                Some(Tok::Punct('*')) => {
                    self.pos += 1;
                    leaves.push((prefix.clone(), None));
                }
                Some(Tok::Punct('{')) => {
                    self.pos += 1;
                    loop {
                        let mut inner = prefix.clone();
                        self.tree(&mut inner, leaves);
                        match self.peek(0) {
                            Some(Tok::Punct(',')) => self.pos += 1,
                            _ => break,
                        }
                        if self.is_punct(0, '}') {
                            break;
                        }
                    }
                    if self.is_punct(0, '}') {
                        self.pos += 1;
                    }
                }
                _ => {}
            }
            break;
        }
        prefix.truncate(depth);
    }
}

/// Whether a `cfg(...)` predicate (its tokens after `cfg`) holds only under `cfg(test)`.
fn cfg_requires_test(tokens: &[&Tok]) -> bool {
    fn predicate(tokens: &[&Tok], pos: &mut usize) -> bool {
        let word = match tokens.get(*pos) {
            Some(Tok::Ident(w)) => w.clone(),
            _ => {
                *pos += 1;
                return false;
            }
        };
        *pos += 1;
        if tokens.get(*pos) != Some(&&Tok::Punct('(')) {
            // `test`, or `feature = "x"` (the literal follows)
            if tokens.get(*pos) == Some(&&Tok::Punct('=')) {
                *pos += 2;
            }
            return word == "test";
        }
        *pos += 1;
        let mut parts = Vec::new();
        while *pos < tokens.len() && tokens[*pos] != &Tok::Punct(')') {
            if tokens[*pos] == &Tok::Punct(',') {
                *pos += 1;
                continue;
            }
            parts.push(predicate(tokens, pos));
        }
        *pos += 1;
        match word.as_str() {
            "all" => parts.iter().any(|&p| p),
            "any" => !parts.is_empty() && parts.iter().all(|&p| p),
            _ => false, // `not(..)`: never only-in-test
        }
    }
    // tokens: `( predicate )`
    if tokens.first() != Some(&&Tok::Punct('(')) {
        return false;
    }
    let mut pos = 1;
    predicate(tokens, &mut pos)
}

/// Tarjan's algorithm, iterative; components in no particular order.
fn strongly_connected(edges: &BTreeMap<String, BTreeMap<String, String>>) -> Vec<Vec<String>> {
    let nodes: Vec<&String> = edges
        .keys()
        .chain(edges.values().flat_map(|e| e.keys()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    let index_of: BTreeMap<&String, usize> = nodes.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let succ: Vec<Vec<usize>> = nodes
        .iter()
        .map(|n| {
            edges
                .get(*n)
                .map_or(Vec::new(), |e| e.keys().map(|t| index_of[t]).collect())
        })
        .collect();
    let n = nodes.len();
    let (mut index, mut low, mut on_stack) = (vec![usize::MAX; n], vec![0; n], vec![false; n]);
    let (mut stack, mut components, mut next) = (Vec::new(), Vec::new(), 0);
    for start in 0..n {
        if index[start] != usize::MAX {
            continue;
        }
        let mut work = vec![(start, 0usize)];
        while let Some(&mut (v, ref mut child)) = work.last_mut() {
            if *child == 0 && index[v] == usize::MAX {
                index[v] = next;
                low[v] = next;
                next += 1;
                stack.push(v);
                on_stack[v] = true;
            }
            if let Some(&w) = succ[v].get(*child) {
                *child += 1;
                if index[w] == usize::MAX {
                    work.push((w, 0));
                } else if on_stack[w] {
                    low[v] = low[v].min(index[w]);
                }
                continue;
            }
            work.pop();
            if let Some(&(parent, _)) = work.last() {
                low[parent] = low[parent].min(low[v]);
            }
            if low[v] == index[v] {
                let mut component = Vec::new();
                while let Some(w) = stack.pop() {
                    on_stack[w] = false;
                    component.push(nodes[w].clone());
                    if w == v {
                        break;
                    }
                }
                component.sort();
                components.push(component);
            }
        }
    }
    components.sort();
    components
}

/// Breadth first from the component's first file back to it, inside the component.
fn shortest_cycle(edges: &BTreeMap<String, BTreeMap<String, String>>, component: &[String]) -> Vec<String> {
    let inside: BTreeSet<&String> = component.iter().collect();
    let start = &component[0];
    let mut came_from: BTreeMap<&String, &String> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start]);
    while let Some(v) = queue.pop_front() {
        for w in edges.get(v).into_iter().flat_map(|e| e.keys()) {
            if !inside.contains(w) {
                continue;
            }
            if w == start {
                let mut chain = vec![start.clone()];
                let mut at = v;
                while at != start {
                    chain.push(at.clone());
                    at = came_from[at];
                }
                chain.push(start.clone());
                chain.reverse();
                return chain;
            }
            if !came_from.contains_key(w) {
                came_from.insert(w, v);
                queue.push_back(w);
            }
        }
    }
    component.to_vec() // unreachable for a strongly connected component
}
