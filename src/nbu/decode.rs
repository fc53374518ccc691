//! Lenient serde field decoders shared by the resource modules: one odd value (a number
//! sent as a string, a null, an object where a scalar belongs) becomes a default instead
//! of failing the whole page. Only the shape that matters is strict: the body must be a
//! JSON object and `data`, when present and not null, an array.
//!
//! Used through `#[serde(deserialize_with = "…")]` on small derived structs, so unused
//! attributes are skipped by the parser without building a `serde_json::Value`. It must not
//! know which resource it decodes.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{Deserialize, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::timefmt::{parse_rfc3339, UnixMillis};

/// Times before this are NetBackup's "no time" placeholders (`0001-01-01T00:00:00Z`).
const EARLIEST_REAL_TIME: UnixMillis = 365 * 86_400 * 1000; // 1971-01-01T00:00:00Z

/// Any JSON value, reduced to what a scalar field can use.
enum Scalar<'de> {
    Int(i64),
    UInt(u64),
    Float(f64),
    Str(Cow<'de, str>),
    Bool(bool),
    Null,
    /// An object or array: skipped.
    Other,
}

struct ScalarVisitor;

impl<'de> Visitor<'de> for ScalarVisitor {
    type Value = Scalar<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Scalar::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Scalar::Int(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Scalar::UInt(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Scalar::Float(v))
    }
    fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v.to_string())))
    }
    fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
        Ok(Scalar::Str(Cow::Owned(v)))
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Scalar::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Scalar::Other)
    }
}

fn scalar<'de, D: Deserializer<'de>>(d: D) -> Result<Scalar<'de>, D::Error> {
    d.deserialize_any(ScalarVisitor)
}

/// An integer: JSON integers, integral floats, and numeric strings. `u64` above `i64::MAX`
/// saturates. Anything else is `None`.
pub(crate) fn opt_i64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(v) => Some(v),
        Scalar::UInt(v) => Some(i64::try_from(v).unwrap_or(i64::MAX)),
        Scalar::Float(v) => float_to_i64(v),
        Scalar::Str(s) => {
            let s = s.trim();
            s.parse::<i64>()
                .ok()
                .or_else(|| s.parse::<f64>().ok().and_then(float_to_i64))
        }
        Scalar::Bool(_) | Scalar::Null | Scalar::Other => None,
    })
}

fn float_to_i64(v: f64) -> Option<i64> {
    // `as` saturates at the i64 range; NaN and infinities are not numbers we can use.
    v.is_finite().then_some(v.trunc() as i64)
}

/// A float: JSON numbers of any kind and numeric strings; anything else is `None`.
pub(crate) fn opt_f64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Int(v) => Some(v as f64),
        Scalar::UInt(v) => Some(v as f64),
        Scalar::Float(v) => Some(v),
        Scalar::Str(s) => s.trim().parse::<f64>().ok().filter(|v| v.is_finite()),
        Scalar::Bool(_) | Scalar::Null | Scalar::Other => None,
    })
}

/// A string; numbers and booleans are written out, null and objects become "".
pub(crate) fn string<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Str(s) => s.into_owned(),
        Scalar::Int(v) => v.to_string(),
        Scalar::UInt(v) => v.to_string(),
        Scalar::Float(v) => v.to_string(),
        Scalar::Bool(v) => v.to_string(),
        Scalar::Null | Scalar::Other => String::new(),
    })
}

/// Like `string`, but an absent meaning (null, "", an object) is `None`. For opaque cursors.
pub(crate) fn opt_string<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    let s = string(d)?;
    Ok((!s.trim().is_empty()).then_some(s))
}

/// A boolean; also `"true"`/`"false"` and 0/1. Anything else is `false`.
pub(crate) fn flag<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Bool(v) => v,
        Scalar::Int(v) => v == 1,
        Scalar::UInt(v) => v == 1,
        Scalar::Str(s) => s.trim().eq_ignore_ascii_case("true"),
        Scalar::Float(_) | Scalar::Null | Scalar::Other => false,
    })
}

/// An RFC 3339 time. Absent, null, "", unparsable, and placeholders before 1971 are `None`.
pub(crate) fn opt_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<UnixMillis>, D::Error> {
    Ok(match scalar(d)? {
        Scalar::Str(s) => parse_rfc3339(&s).filter(|ms| *ms >= EARLIEST_REAL_TIME),
        _ => None,
    })
}

/// A JSON object decoded as `T`; anything else (null, a scalar, an array) is `None`.
pub(crate) fn opt_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(ObjectVisitor(PhantomData))
}

struct ObjectVisitor<T>(PhantomData<T>);

impl<'de, T: Deserialize<'de>> Visitor<'de> for ObjectVisitor<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object")
    }
    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        T::deserialize(MapAccessDeserializer::new(map)).map(Some)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

/// The `data` array: absent or null is empty; an array keeps its objects and skips any
/// element that is not one; anything else is an error.
pub(crate) fn records<'de, D, T>(d: D) -> Result<Vec<T>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    d.deserialize_any(RecordsVisitor(PhantomData))
}

struct RecordsVisitor<T>(PhantomData<T>);

/// One array element: an object decoded as `T`, or skipped.
struct Record<T>(Option<T>);

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Record<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        opt_object(d).map(Record)
    }
}

impl<'de, T: Deserialize<'de>> Visitor<'de> for RecordsVisitor<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("`data` to be an array of records")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(1000));
        while let Some(Record(item)) = seq.next_element::<Record<T>>()? {
            if let Some(item) = item {
                out.push(item);
            }
        }
        Ok(out)
    }
    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_any(self)
    }
    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(Vec::new())
    }
}

/// A field of the opt-in collectors' records, decoded strictly: JSON null or absence is the
/// type's default, any other value must have the field's type or the page fails to decode.
pub(crate) fn nullable<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// Decodes a whole response body as `T`, with an error text for a page decode failure.
/// An empty (or all-whitespace) body, which NetBackup may send when nothing matches, is
/// decoded as `{}`.
pub(crate) fn body<'de, T: Deserialize<'de>>(body: &'de [u8]) -> Result<T, String> {
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let body = match first {
        None => &b"{}"[..],
        // A derived struct would also accept an array; a page is always an object.
        Some(b'[') => return Err("unexpected JSON shape: the body is an array, expected an object".into()),
        Some(_) => body,
    };
    serde_json::from_slice(body).map_err(|e| {
        use serde_json::error::Category;
        match e.classify() {
            Category::Data => format!("unexpected JSON shape: {e}"),
            Category::Syntax | Category::Eof | Category::Io => format!("not JSON: {e}"),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug, PartialEq)]
    struct Probe {
        #[serde(default, deserialize_with = "opt_i64")]
        i: Option<i64>,
        #[serde(default, deserialize_with = "opt_f64")]
        f: Option<f64>,
        #[serde(default, deserialize_with = "string")]
        s: String,
        #[serde(default, deserialize_with = "flag")]
        b: bool,
        #[serde(default, deserialize_with = "opt_time")]
        t: Option<UnixMillis>,
        #[serde(default, deserialize_with = "opt_string")]
        c: Option<String>,
    }

    fn probe(json: &str) -> Probe {
        body::<Probe>(json.as_bytes()).unwrap()
    }

    #[test]
    fn integers() {
        let cases: &[(&str, Option<i64>)] = &[
            (r#"{"i": 5}"#, Some(5)),
            (r#"{"i": -99}"#, Some(-99)),
            (r#"{"i": 10737418240000}"#, Some(10_737_418_240_000)),
            (r#"{"i": 18446744073709551615}"#, Some(i64::MAX)),
            (r#"{"i": 2.0}"#, Some(2)),
            (r#"{"i": 1e30}"#, Some(i64::MAX)),
            (r#"{"i": "42"}"#, Some(42)),
            (r#"{"i": " 7 "}"#, Some(7)),
            (r#"{"i": "x"}"#, None),
            (r#"{"i": null}"#, None),
            (r#"{"i": true}"#, None),
            (r#"{"i": {"a": [1, 2]}}"#, None),
            (r#"{"i": [1]}"#, None),
            (r#"{}"#, None),
        ];
        for (json, want) in cases {
            assert_eq!(probe(json).i, *want, "{json}");
        }
    }

    #[test]
    fn floats_strings_bools() {
        assert_eq!(probe(r#"{"f": 2.5}"#).f, Some(2.5));
        assert_eq!(probe(r#"{"f": 3}"#).f, Some(3.0));
        assert_eq!(probe(r#"{"f": "1.5"}"#).f, Some(1.5));
        assert_eq!(probe(r#"{"f": null}"#).f, None);
        assert_eq!(probe(r#"{"s": "a\"b"}"#).s, "a\"b");
        assert_eq!(probe(r#"{"s": 12}"#).s, "12");
        assert_eq!(probe(r#"{"s": null}"#).s, "");
        assert_eq!(probe(r#"{"s": {"x": 1}}"#).s, "");
        for (json, want) in [
            (r#"{"b": true}"#, true),
            (r#"{"b": "TRUE"}"#, true),
            (r#"{"b": 1}"#, true),
            (r#"{"b": false}"#, false),
            (r#"{"b": null}"#, false),
            (r#"{"b": 0}"#, false),
            (r#"{}"#, false),
        ] {
            assert_eq!(probe(json).b, want, "{json}");
        }
        assert_eq!(probe(r#"{"c": "abc"}"#).c.as_deref(), Some("abc"));
        assert_eq!(
            probe(r#"{"c": 9007199254740993}"#).c.as_deref(),
            Some("9007199254740993")
        );
        assert_eq!(probe(r#"{"c": ""}"#).c, None);
        assert_eq!(probe(r#"{"c": null}"#).c, None);
    }

    #[test]
    fn times() {
        let cases: &[(&str, Option<UnixMillis>)] = &[
            (r#"{"t": "2025-01-01T10:00:00.123Z"}"#, Some(1_735_725_600_123)),
            (r#"{"t": "2025-01-01T12:00:00+02:00"}"#, Some(1_735_725_600_000)),
            (r#"{"t": "1971-01-01T00:00:00Z"}"#, Some(EARLIEST_REAL_TIME)),
            (r#"{"t": "1970-06-01T00:00:00Z"}"#, None),
            (r#"{"t": "0001-01-01T00:00:00Z"}"#, None),
            (r#"{"t": ""}"#, None),
            (r#"{"t": null}"#, None),
            (r#"{"t": "yesterday"}"#, None),
            (r#"{"t": 1735725600123}"#, None),
            (r#"{}"#, None),
        ];
        for (json, want) in cases {
            assert_eq!(probe(json).t, *want, "{json}");
        }
    }

    #[derive(Deserialize, Debug, PartialEq)]
    struct Page {
        #[serde(default, deserialize_with = "records")]
        data: Vec<Item>,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    struct Item {
        #[serde(default, deserialize_with = "opt_i64")]
        n: Option<i64>,
    }

    #[test]
    fn data_arrays() {
        let ok: &[(&str, usize)] = &[
            (r#"{"data": [{"n": 1}, {"n": 2}]}"#, 2),
            (r#"{"data": []}"#, 0),
            (r#"{"data": null}"#, 0),
            (r#"{}"#, 0),
            ("", 0),
            ("  \n", 0),
            (r#"{"data": [{"n": 1}, null, 7, "x", [1], {"n": 2}]}"#, 2),
        ];
        for (json, n) in ok {
            assert_eq!(
                body::<Page>(json.as_bytes()).map(|p| p.data.len()),
                Ok(*n),
                "{json}"
            );
        }
        let bad: &[(&str, &str)] = &[
            (
                r#"{"data": {"n": 1}}"#,
                "unexpected JSON shape: invalid type: map, expected `data` to be an array",
            ),
            (r#"{"data": "x"}"#, "unexpected JSON shape"),
            (r#"[]"#, "unexpected JSON shape"),
            ("<html>", "not JSON"),
            (r#"{"data": [{"n": 1}"#, "not JSON"),
        ];
        for (json, want) in bad {
            let err = body::<Page>(json.as_bytes()).unwrap_err();
            assert!(err.starts_with(want), "{json}: {err}");
        }
    }
}
