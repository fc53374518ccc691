//! NetBackup REST API versions: the media-type version string (`13.0`) the client sends in
//! `Accept`, and the probe order used by version detection.
//!
//! A leaf at the crate root because two layers need it: `config` parses `apiVersion` into
//! it and `nbu` sends it. `nbu` depends on `config` (a client is built from a `SiteConfig`),
//! never the reverse, so the type cannot live in `nbu`. It knows nothing of HTTP or config
//! files.

use std::fmt;

/// An API version as it appears in `application/vnd.netbackup+json;version=MAJOR.MINOR`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u16,
    pub minor: u16,
}

impl ApiVersion {
    pub const V10_0: ApiVersion = ApiVersion { major: 10, minor: 0 };
    pub const V12_0: ApiVersion = ApiVersion { major: 12, minor: 0 };
    pub const V13_0: ApiVersion = ApiVersion { major: 13, minor: 0 };
    pub const V14_0: ApiVersion = ApiVersion { major: 14, minor: 0 };

    /// Detection order, newest first: a server answers 406 to a version newer than itself.
    pub const DETECTION_ORDER: [ApiVersion; 4] = [Self::V14_0, Self::V13_0, Self::V12_0, Self::V10_0];

    /// Parses `X.Y` (digits only). Does not check that the version is supported.
    pub fn parse(text: &str) -> Option<ApiVersion> {
        let (major, minor) = text.trim().split_once('.')?;
        let digits = |s: &str| !s.is_empty() && s.len() <= 4 && s.bytes().all(|b| b.is_ascii_digit());
        if !digits(major) || !digits(minor) {
            return None;
        }
        Some(ApiVersion {
            major: major.parse().ok()?,
            minor: minor.parse().ok()?,
        })
    }

    pub fn is_supported(self) -> bool {
        Self::DETECTION_ORDER.contains(&self)
    }

    /// The `Accept` header value for this version.
    pub fn media_type(self) -> String {
        format!("application/vnd.netbackup+json;version={self}")
    }

    /// The value of the `nbu_api_version` metric's `version` label and of log lines.
    pub fn as_f64(self) -> f64 {
        f64::from(self.major) + f64::from(self.minor) / 10f64.powi(digits(self.minor))
    }
}

fn digits(n: u16) -> i32 {
    if n == 0 {
        1
    } else {
        (f64::from(n).log10().floor() as i32) + 1
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        assert_eq!(ApiVersion::parse("13.0"), Some(ApiVersion::V13_0));
        assert_eq!(ApiVersion::parse(" 10.0 "), Some(ApiVersion::V10_0));
        for bad in ["13", "13.", ".0", "a.b", "13.0.1", "-1.0", ""] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad}");
        }
        assert_eq!(ApiVersion::V12_0.to_string(), "12.0");
        assert_eq!(
            ApiVersion::V12_0.media_type(),
            "application/vnd.netbackup+json;version=12.0"
        );
        assert!(!ApiVersion::parse("3.0").unwrap().is_supported());
        assert_eq!(ApiVersion::V14_0.as_f64(), 14.0);
        assert_eq!(ApiVersion { major: 11, minor: 25 }.as_f64(), 11.25);
    }
}
