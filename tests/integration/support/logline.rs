//! Strict readers of the exporter's log lines: logfmt as its writer promises it, and JSON
//! objects. A line either reads back into its fields or is rejected with the reason.

use std::collections::BTreeMap;

/// The fields of one line, by key.
pub type Fields = BTreeMap<String, String>;

/// Reads one logfmt line strictly: `key=value` pairs separated by exactly one space, no
/// leading or trailing space, every key once. A key is one or more characters other than
/// space, `=`, `"`, `\` and control characters. A value is either bare (one or more of
/// those same characters) or double-quoted with only `\"`, `\\`, `\n`, `\r`, `\t` and
/// `\uXXXX` escapes and no raw control character. Every line must have `level` and `msg`.
pub fn parse_logfmt(line: &str) -> Result<Fields, String> {
    let mut fields = Fields::new();
    let mut chars = line.chars().peekable();
    let plain = |c: char| !(c == ' ' || c == '=' || c == '"' || c == '\\' || c.is_control());
    loop {
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' {
                break;
            }
            if !plain(c) {
                return Err(format!("{c:?} in a key"));
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() {
            return Err("empty key".into());
        }
        if chars.next() != Some('=') {
            return Err(format!("key {key:?} without `=`"));
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            loop {
                match chars.next() {
                    None => return Err(format!("unterminated quoted value of {key:?}")),
                    Some('"') => break,
                    Some('\\') => match chars.next() {
                        Some('"') => value.push('"'),
                        Some('\\') => value.push('\\'),
                        Some('n') => value.push('\n'),
                        Some('r') => value.push('\r'),
                        Some('t') => value.push('\t'),
                        Some('u') => {
                            let hex: String = (0..4).filter_map(|_| chars.next()).collect();
                            let code = u32::from_str_radix(&hex, 16)
                                .ok()
                                .filter(|_| hex.len() == 4)
                                .and_then(char::from_u32)
                                .ok_or_else(|| format!("bad \\u escape {hex:?} in {key:?}"))?;
                            value.push(code);
                        }
                        other => return Err(format!("bad escape {other:?} in {key:?}")),
                    },
                    Some(c) if c.is_control() => return Err(format!("raw {c:?} in the value of {key:?}")),
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c == ' ' {
                    break;
                }
                if !plain(c) {
                    return Err(format!("{c:?} in the bare value of {key:?}"));
                }
                value.push(c);
                chars.next();
            }
            if value.is_empty() {
                return Err(format!("empty bare value of {key:?}"));
            }
        }
        if fields.insert(key.clone(), value).is_some() {
            return Err(format!("key {key:?} twice"));
        }
        match chars.next() {
            None => break,
            Some(' ') if chars.peek().is_some_and(|&c| c != ' ') => {}
            Some(c) => return Err(format!("{c:?} after the value of {key:?}")),
        }
    }
    for required in ["level", "msg"] {
        if !fields.contains_key(required) {
            return Err(format!("no {required}"));
        }
    }
    Ok(fields)
}

/// Reads one line as a JSON object with string `ts`, `level` and `msg`; other values are
/// given as their JSON text, strings unquoted.
pub fn parse_json(line: &str) -> Result<Fields, String> {
    let value: serde_json::Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let object = value.as_object().ok_or("not an object")?;
    for required in ["ts", "level", "msg"] {
        if !object.get(required).is_some_and(|v| v.is_string()) {
            return Err(format!("no string {required}"));
        }
    }
    Ok(object
        .iter()
        .map(|(k, v)| {
            let text = v.as_str().map_or_else(|| v.to_string(), str::to_string);
            (k.clone(), text)
        })
        .collect())
}

/// Either format, told apart by the first character.
pub fn parse_any(line: &str) -> Result<Fields, String> {
    if line.starts_with('{') {
        parse_json(line)
    } else {
        parse_logfmt(line)
    }
}

#[test]
fn the_logfmt_reader_is_strict() {
    let ok =
        parse_logfmt(r#"ts=2026-01-01T00:00:00.000Z level=warn msg="a \"b\" \\ c\nd" n=7 e="""#).unwrap();
    assert_eq!(ok["msg"], "a \"b\" \\ c\nd");
    assert_eq!(ok["e"], "");
    assert_eq!(parse_logfmt(r#"level=info msg=x u="\u00e9""#).unwrap()["u"], "é");
    for bad in [
        "",
        "level=info",
        "msg=x",
        "level=info msg=x ",
        " level=info msg=x",
        "level=info  msg=x",
        "level=info msg=two words",
        "level=info msg=x problems=a; b",
        "level=info msg=x k=",
        "level=info msg=x k=a=b",
        "level=info msg=x k=a\"b",
        "level=info msg=x k=\"open",
        "level=info msg=x k=\"bad \\q\"",
        "level=info msg=x k=\"tab\there\"",
        "level=info msg=x k=C:\\dir",
        "level=info msg=x msg=y",
        "level=info msg=x =v",
        "level=info msg=x k\"=v",
        "2026-01-01T00:00:00.000Z INFO  config reload rejected trigger=http problems=x",
    ] {
        assert!(parse_logfmt(bad).is_err(), "accepted {bad:?}");
    }
}

#[test]
fn the_json_reader_wants_the_common_keys() {
    assert!(parse_json(r#"{"ts":"t","level":"info","msg":"m","n":1}"#).is_ok());
    assert!(parse_json(r#"{"level":"info","msg":"m"}"#).is_err());
    assert!(parse_json(r#"["ts","level","msg"]"#).is_err());
    assert!(parse_json("ts=t level=info msg=m").is_err());
}
