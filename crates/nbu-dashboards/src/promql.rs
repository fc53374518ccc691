//! Just enough PromQL reading to check a dashboard against the exporter: the vector
//! selectors of an expression, each with its metric name and label matchers.
//!
//! Function and aggregation names, keywords (`by`, `without`, `on`, `ignoring`,
//! `group_left`, `group_right`, `and`, `or`, `unless`, `bool`, `offset`), the label lists
//! that follow grouping keywords, numbers, durations, range and subquery brackets, string
//! literals and Grafana variables outside matchers are skipped. It is not a validator: that
//! every expression parses is `promtool check rules`' job (see `.ci/check-dashboards.sh`).
//! It must not know which metrics exist.

/// One label matcher, e.g. `site=~"$site"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Matcher {
    pub label: String,
    /// `=`, `!=`, `=~` or `!~`.
    pub op: &'static str,
    /// The value with its quotes removed and escapes resolved.
    pub value: String,
}

/// One vector selector, e.g. `nbu_up{site=~"$site"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selector {
    pub metric: String,
    pub matchers: Vec<Matcher>,
}

impl Selector {
    /// The matcher on `label`, if the selector has one.
    pub fn matcher(&self, label: &str) -> Option<&Matcher> {
        self.matchers.iter().find(|m| m.label == label)
    }
}

/// Identifiers that are never metric names where they appear.
const KEYWORDS: &[&str] = &[
    "and",
    "or",
    "unless",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
    "start",
    "end",
];
/// Aggregation operators: `sum by (x) (...)` puts a keyword, not `(`, after the name.
const AGGREGATIONS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
];
/// Keywords followed by a parenthesised label list.
const LABEL_LIST_KEYWORDS: &[&str] = &["by", "without", "on", "ignoring", "group_left", "group_right"];

/// The selectors of `expr`, in order of appearance; `Err` says what could not be read and
/// at which byte offset.
pub fn selectors(expr: &str) -> Result<Vec<Selector>, String> {
    let mut reader = Reader {
        text: expr.as_bytes(),
        at: 0,
    };
    let mut out = Vec::new();
    while let Some(c) = reader.skip_space() {
        match c {
            b'"' | b'\'' | b'`' => {
                reader.string()?;
            }
            b'[' => reader.skip_past(b']')?,
            b'{' => {
                let matchers = reader.matchers()?;
                let Some(name) = matchers.iter().find(|m| m.label == "__name__" && m.op == "=") else {
                    return Err(format!("selector without a metric name at byte {}", reader.at));
                };
                let metric = name.value.clone();
                let matchers = matchers.into_iter().filter(|m| m.label != "__name__").collect();
                out.push(Selector { metric, matchers });
            }
            b'$' => {
                reader.at += 1;
                if reader.peek() == Some(b'{') {
                    reader.skip_past(b'}')?;
                } else {
                    reader.identifier();
                }
            }
            c if c.is_ascii_digit() || c == b'.' => {
                while reader
                    .peek()
                    .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'.' || c == b'_')
                {
                    reader.at += 1;
                }
            }
            c if c.is_ascii_alphabetic() || c == b'_' || c == b':' => {
                let word = reader.identifier();
                let next = reader.skip_space();
                if LABEL_LIST_KEYWORDS.contains(&word.as_str()) {
                    if next == Some(b'(') {
                        reader.skip_past(b')')?;
                    }
                } else if KEYWORDS.contains(&word.as_str())
                    || AGGREGATIONS.contains(&word.as_str())
                    || next == Some(b'(')
                {
                    // A keyword, an aggregation or a function call: not a selector.
                } else if next == Some(b'{') {
                    let matchers = reader.matchers()?;
                    out.push(Selector {
                        metric: word,
                        matchers,
                    });
                } else {
                    out.push(Selector {
                        metric: word,
                        matchers: Vec::new(),
                    });
                }
            }
            _ => reader.at += 1,
        }
    }
    Ok(out)
}

struct Reader<'a> {
    text: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn peek(&self) -> Option<u8> {
        self.text.get(self.at).copied()
    }

    /// Skips whitespace and `#` comments; returns the next byte without consuming it.
    fn skip_space(&mut self) -> Option<u8> {
        while let Some(c) = self.peek() {
            if c.is_ascii_whitespace() {
                self.at += 1;
            } else if c == b'#' {
                while self.peek().is_some_and(|c| c != b'\n') {
                    self.at += 1;
                }
            } else {
                return Some(c);
            }
        }
        None
    }

    fn identifier(&mut self) -> String {
        let start = self.at;
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        {
            self.at += 1;
        }
        String::from_utf8_lossy(&self.text[start..self.at]).into_owned()
    }

    /// Skips to just past the `close` byte matching the opening one under the cursor,
    /// stepping over string literals and nested pairs of the same kind.
    fn skip_past(&mut self, close: u8) -> Result<(), String> {
        let open = self.text[self.at];
        let start = self.at;
        let mut depth = 0usize;
        while let Some(c) = self.peek() {
            match c {
                b'"' | b'\'' | b'`' => {
                    self.string()?;
                    continue;
                }
                c if c == open => depth += 1,
                c if c == close => {
                    depth -= 1;
                    if depth == 0 {
                        self.at += 1;
                        return Ok(());
                    }
                }
                _ => {}
            }
            self.at += 1;
        }
        Err(format!("`{}` at byte {start} is never closed", open as char))
    }

    /// A string literal under the cursor; returns its value.
    fn string(&mut self) -> Result<String, String> {
        let quote = self.text[self.at];
        let start = self.at;
        self.at += 1;
        let mut value = Vec::new();
        while let Some(c) = self.peek() {
            self.at += 1;
            if c == quote {
                return Ok(String::from_utf8_lossy(&value).into_owned());
            }
            if c == b'\\' && quote != b'`' {
                match self.peek() {
                    Some(escaped) => {
                        self.at += 1;
                        value.push(match escaped {
                            b'n' => b'\n',
                            b't' => b'\t',
                            other => other,
                        });
                    }
                    None => break,
                }
            } else {
                value.push(c);
            }
        }
        Err(format!("string at byte {start} is never closed"))
    }

    /// `{label op "value", ...}` under the cursor.
    fn matchers(&mut self) -> Result<Vec<Matcher>, String> {
        let open = self.at;
        self.at += 1;
        let mut out = Vec::new();
        loop {
            match self.skip_space() {
                Some(b'}') => {
                    self.at += 1;
                    return Ok(out);
                }
                Some(b',') if !out.is_empty() => {
                    self.at += 1;
                    continue;
                }
                Some(c) if c.is_ascii_alphabetic() || c == b'_' => {}
                Some(c) => {
                    return Err(format!(
                        "unexpected `{}` at byte {} in the matchers opened at byte {open}",
                        c as char, self.at
                    ))
                }
                None => return Err(format!("`{{` at byte {open} is never closed")),
            }
            let label = self.identifier();
            self.skip_space();
            let rest = &self.text[self.at..];
            let op = ["=~", "!~", "!=", "="]
                .into_iter()
                .find(|op| rest.starts_with(op.as_bytes()))
                .ok_or_else(|| format!("no operator after label `{label}` at byte {}", self.at))?;
            self.at += op.len();
            match self.skip_space() {
                Some(b'"' | b'\'' | b'`') => {}
                _ => return Err(format!("label `{label}` at byte {} has no quoted value", self.at)),
            }
            let value = self.string()?;
            out.push(Matcher { label, op, value });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Each selector as `metric{label op value,...}`, values unquoted, for compact tables.
    fn check(expr: &str, want: &[&str]) {
        let got: Vec<String> = selectors(expr)
            .unwrap_or_else(|e| panic!("{expr}: {e}"))
            .iter()
            .map(|s| {
                let m: Vec<String> = s
                    .matchers
                    .iter()
                    .map(|m| format!("{}{}{}", m.label, m.op, m.value))
                    .collect();
                if m.is_empty() {
                    s.metric.clone()
                } else {
                    format!("{}{{{}}}", s.metric, m.join(","))
                }
            })
            .collect();
        assert_eq!(got, want, "{expr}");
    }

    #[test]
    fn finds_metric_names_and_matchers() {
        check("nbu_up", &["nbu_up"]);
        check(r#"nbu_up{site=~"$site"}"#, &["nbu_up{site=~$site}"]);
        check(
            r#"nbu_disk_bytes{site=~"$site", size="used",} / ignoring (size) nbu_disk_capacity_bytes{site!="x"}"#,
            &[
                "nbu_disk_bytes{site=~$site,size=used}",
                "nbu_disk_capacity_bytes{site!=x}",
            ],
        );
        check(r#"{__name__="nbu_up", site!~'a|b'}"#, &["nbu_up{site!~a|b}"]);
        check("job:nbu_up:sum", &["job:nbu_up:sum"]);
    }

    #[test]
    fn skips_functions_aggregations_and_keywords() {
        check(
            r#"sum by (site, action) (rate(nbu_exporter_nbu_requests_total{site=~"$site"}[$__rate_interval]))"#,
            &["nbu_exporter_nbu_requests_total{site=~$site}"],
        );
        check(
            "histogram_quantile(0.9, sum without (instance) (nbu_job_duration_seconds_bucket))",
            &["nbu_job_duration_seconds_bucket"],
        );
        check(
            r#"max(nbu_exporter_config_generation and on (instance) nbu_up{site=~"$site"})"#,
            &["nbu_exporter_config_generation", "nbu_up{site=~$site}"],
        );
        check(
            "a * on (site) group_left (version) b unless c or d > bool 1",
            &["a", "b", "c", "d"],
        );
        check("count(x == 0) or vector(0)", &["x"]);
        check("topk(5, x) offset 1h", &["x"]);
        check("sum(x)by(site)", &["x"]);
    }

    #[test]
    fn skips_numbers_durations_strings_and_variables() {
        check("time() - x > 1.5e3", &["x"]);
        check("max_over_time(x[1h30m:5m]) @ end()", &["x"]);
        check(r#"label_replace(x, "dst", "$1", "src", "(.*)")"#, &["x"]);
        check("increase(x[$__range]) / ${factor}", &["x"]);
        check("increase(x[${__range}])", &["x"]);
        check(
            r#"x{a="quoted \" and } brace"}"#,
            &[r#"x{a=quoted " and } brace}"#],
        );
        check("# a comment naming no_metric\nx", &["x"]);
    }

    #[test]
    fn reports_what_it_cannot_read() {
        let cases = [
            (r#"x{site="a""#, "`{` at byte 1 is never closed"),
            (r#"x{site="a"#, "string at byte 7 is never closed"),
            ("x{site}", "no operator after label `site` at byte 6"),
            ("x{site=a}", "label `site` at byte 7 has no quoted value"),
            (r#"{site="a"}"#, "selector without a metric name at byte 10"),
            ("rate(x[5m)", "`[` at byte 6 is never closed"),
            (
                r#"x{,a="b"}"#,
                "unexpected `,` at byte 2 in the matchers opened at byte 1",
            ),
        ];
        for (expr, want) in cases {
            assert_eq!(selectors(expr), Err(want.to_string()), "{expr}");
        }
    }
}
