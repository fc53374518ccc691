//! The OData `filter` subset `/admin/jobs` accepts: `attribute op value` clauses joined by
//! `and`, over the time, integer and text attributes the exporter filters on. Anything
//! else (`or`, `not`, functions, other attributes, wrongly quoted values) is an error
//! whose message says what, which `paging` answers as a 400.
//!
//! It parses text and matches records; it knows nothing of HTTP or paging.

use crate::data::SimJob;
use crate::time::{parse_rfc3339, UnixMillis};
use crate::wire;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cmp {
    Eq,
    Ne,
    Lt,
    Gt,
    Le,
    Ge,
}

impl Cmp {
    fn parse(op: &str) -> Option<Cmp> {
        Some(match op {
            "eq" => Cmp::Eq,
            "ne" => Cmp::Ne,
            "lt" => Cmp::Lt,
            "gt" => Cmp::Gt,
            "le" => Cmp::Le,
            "ge" => Cmp::Ge,
            _ => return None,
        })
    }

    fn holds<T: Ord>(self, left: T, right: T) -> bool {
        match self {
            Cmp::Eq => left == right,
            Cmp::Ne => left != right,
            Cmp::Lt => left < right,
            Cmp::Gt => left > right,
            Cmp::Le => left <= right,
            Cmp::Ge => left >= right,
        }
    }
}

/// One `attribute op value` clause of the supported OData subset.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Clause {
    /// startTime, endTime, lastUpdateTime. A job without that time never matches.
    Time(&'static str, Cmp, UnixMillis),
    /// jobId, parentJobId, status.
    Int(&'static str, Cmp, i64),
    /// state, jobType, policyType, clientName, policyName: eq/ne only.
    Text(&'static str, bool, String),
}

impl Clause {
    pub(crate) fn matches(&self, job: &SimJob, now: UnixMillis) -> bool {
        match self {
            Clause::Time(field, cmp, value) => {
                let t = match *field {
                    "startTime" => job.start_time,
                    "endTime" => job.end_time,
                    _ => Some(wire::last_update(job, now)),
                };
                t.is_some_and(|t| cmp.holds(t, *value))
            }
            Clause::Int(field, cmp, value) => {
                let v = match *field {
                    "jobId" => job.job_id,
                    "parentJobId" => job.parent_job_id,
                    _ => job.status,
                };
                cmp.holds(v, *value)
            }
            Clause::Text(field, eq, value) => {
                let v = match *field {
                    "state" => &job.state,
                    "jobType" => &job.job_type,
                    "clientName" => &job.client_name,
                    "policyName" => &job.policy_name,
                    _ => &job.policy_type,
                };
                (v == value) == *eq
            }
        }
    }
}

const TIME_FIELDS: [&str; 3] = ["startTime", "endTime", "lastUpdateTime"];
const INT_FIELDS: [&str; 3] = ["jobId", "parentJobId", "status"];
const TEXT_FIELDS: [&str; 5] = ["state", "jobType", "policyType", "clientName", "policyName"];

#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Token {
    Word(String),
    Quoted(String),
}

pub(crate) fn tokenize(filter: &str) -> Result<Vec<Token>, String> {
    let mut tokens = Vec::new();
    let mut chars = filter.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '\'' {
            chars.next();
            let mut s = String::new();
            loop {
                match chars.next() {
                    None => return Err("unterminated string literal".into()),
                    Some('\'') if chars.peek() == Some(&'\'') => {
                        chars.next();
                        s.push('\'');
                    }
                    Some('\'') => break,
                    Some(c) => s.push(c),
                }
            }
            tokens.push(Token::Quoted(s));
        } else {
            let mut word = String::new();
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() || c == '\'' {
                    break;
                }
                if c == '(' || c == ')' {
                    return Err(
                        "parentheses and functions such as contains() are not supported by the simulator"
                            .into(),
                    );
                }
                word.push(c);
                chars.next();
            }
            tokens.push(Token::Word(word));
        }
    }
    Ok(tokens)
}

/// Parses the supported subset: `attr op value` clauses joined by `and`.
pub(crate) fn parse_filter(filter: &str) -> Result<Vec<Clause>, String> {
    let tokens = tokenize(filter)?;
    if tokens.is_empty() {
        return Err("empty filter".into());
    }
    let mut clauses = Vec::new();
    let mut rest = &tokens[..];
    loop {
        let (attr, op, value) = match rest {
            [Token::Word(a), Token::Word(o), v, ..] => (a.as_str(), o.as_str(), v),
            [Token::Word(w), ..] if w == "not" => {
                return Err("'not' is not supported by the simulator".into())
            }
            [Token::Quoted(q), ..] => return Err(format!("expected an attribute name, found '{q}'")),
            _ => return Err(format!("incomplete clause in filter {filter:?}")),
        };
        clauses.push(clause(attr, op, value)?);
        rest = &rest[3..];
        match rest {
            [] => return Ok(clauses),
            [Token::Word(w), more @ ..] if w == "and" && !more.is_empty() => rest = more,
            [Token::Word(w), ..] if w == "or" => {
                return Err("'or' is not supported by the simulator (only clauses joined by 'and')".into())
            }
            _ => return Err(format!("expected 'and' between clauses in filter {filter:?}")),
        }
    }
}

fn clause(attr: &str, op: &str, value: &Token) -> Result<Clause, String> {
    let cmp = Cmp::parse(op).ok_or_else(|| format!("unsupported filter operator '{op}' after '{attr}'"))?;
    if let Some(field) = TIME_FIELDS.iter().find(|f| **f == attr) {
        let text = match value {
            Token::Word(w) | Token::Quoted(w) => w,
        };
        let t = parse_rfc3339(text).ok_or_else(|| format!("invalid date-time '{text}' for {attr}"))?;
        return Ok(Clause::Time(field, cmp, t));
    }
    if let Some(field) = INT_FIELDS.iter().find(|f| **f == attr) {
        let Token::Word(text) = value else {
            return Err(format!("{attr} takes an unquoted integer"));
        };
        let n = text
            .parse()
            .map_err(|_| format!("invalid integer '{text}' for {attr}"))?;
        return Ok(Clause::Int(field, cmp, n));
    }
    if let Some(field) = TEXT_FIELDS.iter().find(|f| **f == attr) {
        let Token::Quoted(text) = value else {
            return Err(format!("{attr} takes a quoted string such as '{attr}' eq 'X'"));
        };
        return match cmp {
            Cmp::Eq | Cmp::Ne => Ok(Clause::Text(field, cmp == Cmp::Eq, text.clone())),
            _ => Err(format!(
                "operator '{op}' is not supported for {attr} (only eq and ne)"
            )),
        };
    }
    Err(format!(
        "unsupported filter attribute '{attr}' (the simulator supports {}, {} and {})",
        TIME_FIELDS.join(", "),
        INT_FIELDS.join(", "),
        TEXT_FIELDS.join(", ")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::SimData;
    use crate::server::SimServer;
    use crate::testing::*;
    use crate::time::{format_rfc3339_millis, now_millis};

    fn filtered_ids(server: &SimServer, filter: &str) -> Vec<i64> {
        let (mut ids, _) = all_job_ids(
            server,
            &format!("page%5Blimit%5D=100&sort=jobId&filter={}", enc(filter)),
        );
        ids.sort_unstable();
        ids
    }

    #[test]
    fn filters() {
        let now = now_millis();
        let server = start(SimData::known(now));
        let hour_ago = format_rfc3339_millis(now - 3_600_000);
        let ended = vec![101, 102, 103, 104, 105, 106, 107, 108];
        assert_eq!(filtered_ids(&server, &format!("endTime ge {hour_ago}")), ended);
        assert_eq!(filtered_ids(&server, &format!("endTime gt '{hour_ago}'")), ended);
        assert_eq!(
            filtered_ids(&server, &format!("endTime lt {hour_ago}")),
            vec![109]
        );
        assert_eq!(filtered_ids(&server, "state ne 'DONE'"), vec![110, 111, 112, 113]);
        assert_eq!(
            filtered_ids(&server, "state eq 'QUEUED' and jobType eq 'DUPLICATE'"),
            vec![113]
        );
        assert_eq!(filtered_ids(&server, "status gt 1"), vec![105]);
        assert_eq!(filtered_ids(&server, "policyType eq ''"), vec![107]);
        assert_eq!(filtered_ids(&server, "jobId ge 112"), vec![112, 113]);
        let lut = filtered_ids(&server, &format!("lastUpdateTime ge {hour_ago}"));
        assert_eq!(
            lut,
            vec![101, 102, 103, 104, 105, 106, 107, 108, 110, 111, 112, 113]
        );
        let start = filtered_ids(&server, &format!("startTime ge {hour_ago} and state eq 'DONE'"));
        assert_eq!(start, vec![101, 102, 103, 104, 105, 106, 107]);
        let offset = format_rfc3339_millis(now - 7_200_000).replace('Z', "+00:00");
        assert_eq!(
            filtered_ids(&server, &format!("endTime ge {offset} and jobType ne 'BACKUP'")),
            vec![106, 107]
        );
    }

    #[test]
    fn unsupported_filters_are_400_saying_what() {
        let server = start(SimData::known(now_millis()));
        for (filter, says) in [
            ("scheduleName eq 'x'", "scheduleName"),
            ("clientName eq x", "quoted"),
            ("state ge 'DONE'", "ge"),
            ("state eq DONE", "quoted"),
            ("status eq '0'", "unquoted"),
            ("endTime ge yesterday", "yesterday"),
            ("state eq 'A' or state eq 'B'", "'or'"),
            ("contains(policyName,'x')", "contains()"),
            ("endTime", "incomplete"),
            ("state eq 'A' and", "expected 'and'"),
            ("jobId eqq 5", "eqq"),
            ("", "empty"),
            ("state eq 'unterminated", "unterminated"),
        ] {
            let reply = get(&server, &format!("/admin/jobs?filter={}", enc(filter)));
            assert_eq!(reply.status, 400, "{filter}");
            let body = reply.json();
            let message = body["errorMessage"].as_str().unwrap();
            assert!(message.contains(says), "{filter}: {message}");
            assert_eq!(body["attributeErrors"]["filter"], message);
        }
        // A '+' in a time offset that was not percent-encoded decodes to a space: 400.
        let reply = get(
            &server,
            "/admin/jobs?filter=endTime%20ge%202025-01-01T00:00:00+02:00",
        );
        assert_eq!(reply.status, 400);
    }

    #[test]
    fn filter_parser_survives_random_token_soup() {
        use crate::data::XorShift;
        let words = [
            "endTime",
            "state",
            "status",
            "jobId",
            "eq",
            "ne",
            "ge",
            "lt",
            "and",
            "or",
            "not",
            "'DONE'",
            "''",
            "'",
            "5",
            "-1",
            "2025-01-01T00:00:00Z",
            "'2025-01-01T00:00:00Z'",
            "(",
            ")",
            "contains(x,'y')",
            "9999999999999999999999",
        ];
        let mut rng = XorShift::new(7);
        for _ in 0..5_000 {
            let n = 1 + rng.next_u64() % 8;
            let text: Vec<&str> = (0..n)
                .map(|_| words[(rng.next_u64() % words.len() as u64) as usize])
                .collect();
            let _ = parse_filter(&text.join(" "));
        }
        assert_eq!(parse_filter("status lt 2 and state eq 'it''s'").unwrap().len(), 2);
    }
}
