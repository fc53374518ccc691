//! `${VAR}` expansion in config string values, with the Go exporter's syntax: `${NAME}`
//! where NAME is `[A-Za-z_][A-Za-z0-9_]*`. `$$` is a literal `$`; any other `$` is left as
//! is. One pass: a value coming from the environment is never expanded again.
//!
//! It must not know which keys exist or which values are secret, and it never reads the
//! process environment itself: the caller passes the lookup.

/// How `${VAR}` references are looked up; tests pass a closure over a map.
pub type EnvLookup<'a> = &'a dyn Fn(&str) -> Option<String>;

/// Expands every `${NAME}` in `text`. On failure returns the names of the unset variables,
/// each once, in the order they first appear.
pub fn expand(text: &str, env: EnvLookup) -> Result<String, Vec<String>> {
    if !text.contains('$') {
        return Ok(text.to_owned());
    }
    let mut out = String::with_capacity(text.len());
    let mut missing: Vec<String> = Vec::new();
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(tail) = after.strip_prefix('$') {
            out.push('$');
            rest = tail;
        } else if let Some((name, tail)) = reference(after) {
            match env(name) {
                Some(value) => out.push_str(&value),
                None => {
                    if !missing.iter().any(|m| m == name) {
                        missing.push(name.to_owned());
                    }
                }
            }
            rest = tail;
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// True when `text` is made only of `${NAME}` references (at least one), so the file
/// itself holds none of the value.
pub fn references_only(text: &str) -> bool {
    let mut rest = text.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        match rest.strip_prefix('$').and_then(reference) {
            Some((_, tail)) => rest = tail,
            None => return false,
        }
    }
    true
}

/// Parses `{NAME}` at the start of `s` (the text after a `$`): the name and what follows.
fn reference(s: &str) -> Option<(&str, &str)> {
    let inner = s.strip_prefix('{')?;
    let end = inner.find('}')?;
    let name = &inner[..end];
    let mut bytes = name.bytes();
    let first = bytes.next()?;
    if !(first.is_ascii_alphabetic() || first == b'_') {
        return None;
    }
    if !bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        return None;
    }
    Some((name, &inner[end + 1..]))
}

/// The problem message for unset variables.
pub fn missing_message(names: &[String]) -> String {
    match names {
        [one] => format!("environment variable {one} is not set"),
        _ => format!("environment variables {} are not set", names.join(", ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(name: &str) -> Option<String> {
        match name {
            "HOST" => Some("nbu.example.com".into()),
            "EMPTY" => Some(String::new()),
            "NESTED" => Some("${HOST}".into()),
            "_x1" => Some("ok".into()),
            _ => None,
        }
    }

    fn check(text: &str, expected: Result<&str, &[&str]>) {
        let got = expand(text, &env);
        let want = expected
            .map(str::to_owned)
            .map_err(|names| names.iter().map(|n| n.to_string()).collect::<Vec<_>>());
        assert_eq!(got, want, "{text:?}");
    }

    #[test]
    fn expansion_table() {
        check("plain", Ok("plain"));
        check("${HOST}", Ok("nbu.example.com"));
        check("https://${HOST}:1556", Ok("https://nbu.example.com:1556"));
        check("${HOST}${HOST}", Ok("nbu.example.comnbu.example.com"));
        check("${EMPTY}", Ok(""));
        check("${_x1}", Ok("ok"));
        check("$$", Ok("$"));
        check("$${HOST}", Ok("${HOST}"));
        check("$$$", Ok("$$"));
        check("$HOST", Ok("$HOST"));
        check("${1HOST}", Ok("${1HOST}"));
        check("${HO-ST}", Ok("${HO-ST}"));
        check("${}", Ok("${}"));
        check("${HOST", Ok("${HOST"));
        check("price: 5$", Ok("price: 5$"));
        check("é${HOST}é", Ok("énbu.example.comé"));
        check("${NESTED}", Ok("${HOST}"));
        check("${A}-${B}-${A}", Err(&["A", "B"]));
        check("${HOST}${NOPE}", Err(&["NOPE"]));
    }

    #[test]
    fn references_only_table() {
        for (text, want) in [
            ("${KEY}", true),
            (" ${A}${B} ", true),
            ("", false),
            ("secret", false),
            ("${KEY}x", false),
            ("$${KEY}", false),
        ] {
            assert_eq!(references_only(text), want, "{text:?}");
        }
    }

    #[test]
    fn missing_messages() {
        assert_eq!(
            missing_message(&["A".into()]),
            "environment variable A is not set"
        );
        assert_eq!(
            missing_message(&["A".into(), "B".into()]),
            "environment variables A, B are not set"
        );
    }
}
