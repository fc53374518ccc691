//! A small writer for the Prometheus text exposition format 0.0.4, straight into one
//! `Vec<u8>`: family headers, samples with escaped labels, numbers formatted as Prometheus
//! reads them. No intermediate metric objects, no allocation per sample.
//!
//! It knows the text format and nothing else: not which families exist, not NetBackup, not
//! HTTP. Callers are responsible for writing each family once and its samples together.

use std::io::Write as _;

/// A sample value. Integers are written exactly; floats in the shortest form that reads
/// back to the same number, with `+Inf`, `-Inf` and `NaN` spelled as Prometheus expects.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Value {
    U(u64),
    I(i64),
    F(f64),
}

/// Where a family's header started and ended, so an empty family can be taken back.
#[must_use]
pub struct FamilyMark {
    start: usize,
    after_header: usize,
}

/// Where one written family lies in the buffer: its header from `start`, its samples from
/// `after_header` to `end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FamilySpan {
    pub start: usize,
    pub after_header: usize,
    pub end: usize,
}

pub struct TextWriter {
    buf: Vec<u8>,
    /// Every family that kept at least one sample, in writing order.
    families: Vec<FamilySpan>,
}

impl TextWriter {
    /// Writes after what `buf` holds, in its memory.
    pub fn over(buf: Vec<u8>) -> TextWriter {
        TextWriter {
            buf,
            families: Vec::new(),
        }
    }

    pub fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    /// The bytes and where each family written through this writer lies in them.
    pub fn into_parts(self) -> (Vec<u8>, Vec<FamilySpan>) {
        (self.buf, self.families)
    }

    /// Bytes that an encoder outside this writer (the registry's) appends.
    pub fn buf_mut(&mut self) -> &mut Vec<u8> {
        &mut self.buf
    }

    /// Writes `# HELP` and `# TYPE`. Pair it with [`TextWriter::end_family`].
    pub fn begin_family(&mut self, name: &str, help: &str, kind: &str) -> FamilyMark {
        let start = self.buf.len();
        self.buf.extend_from_slice(b"# HELP ");
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b' ');
        escape_help(&mut self.buf, help);
        self.buf.extend_from_slice(b"\n# TYPE ");
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.push(b' ');
        self.buf.extend_from_slice(kind.as_bytes());
        self.buf.push(b'\n');
        FamilyMark {
            start,
            after_header: self.buf.len(),
        }
    }

    /// Removes the header again when no sample followed it, so a family with no data is
    /// absent rather than an orphan header. Returns whether any sample was written.
    pub fn end_family(&mut self, mark: FamilyMark) -> bool {
        if self.buf.len() == mark.after_header {
            self.buf.truncate(mark.start);
            false
        } else {
            self.families.push(FamilySpan {
                start: mark.start,
                after_header: mark.after_header,
                end: self.buf.len(),
            });
            true
        }
    }

    /// Starts a sample line named `name` followed by `suffix` (`""`, `_bucket`, `_sum`, ...).
    pub fn sample(&mut self, name: &str, suffix: &str) -> Sample<'_> {
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(suffix.as_bytes());
        Sample {
            buf: &mut self.buf,
            open: false,
        }
    }
}

/// One sample line being written: labels in call order, then the value ends the line.
pub struct Sample<'w> {
    buf: &'w mut Vec<u8>,
    open: bool,
}

impl Sample<'_> {
    fn label_name(&mut self, name: &str) {
        self.buf.push(if self.open { b',' } else { b'{' });
        self.open = true;
        self.buf.extend_from_slice(name.as_bytes());
        self.buf.extend_from_slice(b"=\"");
    }

    /// Adds `name="value"`, escaping the value.
    pub fn label(mut self, name: &str, value: &str) -> Self {
        self.label_name(name);
        escape_label_value(self.buf, value);
        self.buf.push(b'"');
        self
    }

    /// Adds a label whose value went through [`escape_label_value`] already.
    pub fn label_escaped(mut self, name: &str, escaped: &str) -> Self {
        self.label_name(name);
        self.buf.extend_from_slice(escaped.as_bytes());
        self.buf.push(b'"');
        self
    }

    /// Adds the `le` label of a histogram bucket.
    pub fn label_f64(mut self, name: &str, value: f64) -> Self {
        self.label_name(name);
        write_f64(self.buf, value);
        self.buf.push(b'"');
        self
    }

    /// Writes the value and ends the line.
    pub fn value(self, value: Value) {
        if self.open {
            self.buf.push(b'}');
        }
        self.buf.push(b' ');
        match value {
            Value::U(v) => write_u64(self.buf, v),
            Value::I(v) => write_i64(self.buf, v),
            Value::F(v) => write_f64(self.buf, v),
        }
        self.buf.push(b'\n');
    }
}

/// Escapes a label value: backslash, double quote and line feed.
pub fn escape_label_value(buf: &mut Vec<u8>, value: &str) {
    escape::<true>(buf, value);
}

/// A label value escaped once, for a label repeated on many samples (the site).
pub fn escaped_label_value(value: &str) -> String {
    let mut buf = Vec::with_capacity(value.len());
    escape_label_value(&mut buf, value);
    // Escaping replaces ASCII bytes with ASCII bytes, so valid UTF-8 stays valid.
    String::from_utf8(buf).unwrap_or_default()
}

/// Escapes HELP text: backslash and line feed.
fn escape_help(buf: &mut Vec<u8>, help: &str) {
    escape::<false>(buf, help);
}

/// One pass: copies the runs between special bytes whole.
fn escape<const QUOTE: bool>(buf: &mut Vec<u8>, text: &str) {
    let bytes = text.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let replacement: &[u8] = match b {
            b'\\' => b"\\\\",
            b'\n' => b"\\n",
            b'"' if QUOTE => b"\\\"",
            _ => continue,
        };
        buf.extend_from_slice(&bytes[start..i]);
        buf.extend_from_slice(replacement);
        start = i + 1;
    }
    buf.extend_from_slice(&bytes[start..]);
}

pub fn write_u64(buf: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    buf.extend_from_slice(&digits[i..]);
}

pub fn write_i64(buf: &mut Vec<u8>, n: i64) {
    if n < 0 {
        buf.push(b'-');
    }
    write_u64(buf, n.unsigned_abs());
}

/// Integral values below 1e15 as integers (`60`, not `60.0` or `6e1`); other finite values
/// in Rust's shortest round-trip form, with an exponent only for very large or very small
/// magnitudes. Both forms are valid for Prometheus' parser.
pub fn write_f64(buf: &mut Vec<u8>, v: f64) {
    if v.is_nan() {
        buf.extend_from_slice(b"NaN");
    } else if v.is_infinite() {
        buf.extend_from_slice(if v > 0.0 { b"+Inf" } else { b"-Inf" });
    } else if v.fract() == 0.0 && v.abs() < 1e15 {
        write_i64(buf, v as i64);
    } else {
        let a = v.abs();
        // Writing into a Vec cannot fail.
        let _ = if !(1e-4..1e15).contains(&a) {
            write!(buf, "{v:e}")
        } else {
            write!(buf, "{v}")
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(v: f64) -> String {
        let mut b = Vec::new();
        write_f64(&mut b, v);
        String::from_utf8(b).unwrap()
    }

    #[test]
    fn floats() {
        for (v, want) in [
            (0.0, "0"),
            (-0.0, "0"),
            (60.0, "60"),
            (86400.0, "86400"),
            (-3.0, "-3"),
            (2.5, "2.5"),
            (1_700_000_000.123, "1700000000.123"),
            (0.1, "0.1"),
            (0.00001, "1e-5"),
            (1e15, "1e15"),
            (1.5e20, "1.5e20"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (f64::NAN, "NaN"),
        ] {
            assert_eq!(f(v), want, "{v}");
            if v.is_finite() {
                assert_eq!(want.parse::<f64>().unwrap(), v);
            }
        }
    }

    #[test]
    fn integers() {
        for (v, want) in [
            (0i64, "0"),
            (7, "7"),
            (-12, "-12"),
            (i64::MIN, "-9223372036854775808"),
        ] {
            let mut b = Vec::new();
            write_i64(&mut b, v);
            assert_eq!(String::from_utf8(b).unwrap(), want);
        }
        let mut b = Vec::new();
        write_u64(&mut b, u64::MAX);
        assert_eq!(String::from_utf8(b).unwrap(), u64::MAX.to_string());
    }

    #[test]
    fn label_value_escaping() {
        assert_eq!(escaped_label_value("plain"), "plain");
        assert_eq!(escaped_label_value("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        let mut b = Vec::new();
        escape_help(&mut b, "q\"uote \\ and\nline");
        assert_eq!(String::from_utf8(b).unwrap(), "q\"uote \\\\ and\\nline");
    }

    #[test]
    fn empty_family_is_taken_back() {
        let mut w = TextWriter::over(Vec::new());
        let m = w.begin_family("a", "help", "gauge");
        assert!(!w.end_family(m));
        let m = w.begin_family("b", "help", "gauge");
        w.sample("b", "")
            .label("x", "1")
            .label("y", "2")
            .value(Value::U(3));
        w.sample("b", "_sum").value(Value::F(0.5));
        assert!(w.end_family(m));
        assert_eq!(
            String::from_utf8(w.into_bytes()).unwrap(),
            "# HELP b help\n# TYPE b gauge\nb{x=\"1\",y=\"2\"} 3\nb_sum 0.5\n"
        );
    }
}
