//! The NetBackup REST API versions the simulator can answer: the `version=MAJOR.MINOR`
//! parameter of its media types (`application/vnd.netbackup+json;version=13.0`).
//!
//! The simulator's own copy, on purpose: it must not share the exporter's version type, so
//! a parsing or ordering bug there cannot cancel itself out in the tests. It knows nothing
//! of HTTP; negotiation against an `Accept` header lives in `routes`.

use std::fmt;

/// An API version as it appears in a NetBackup media type.
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

    /// Every version the simulator knows, newest first: what a current primary server
    /// answers, and what a new [`SimServer`](crate::SimServer) accepts by default.
    pub const ALL: [ApiVersion; 4] = [Self::V14_0, Self::V13_0, Self::V12_0, Self::V10_0];

    /// Parses `X.Y` (one to four digits each). Any such pair parses; whether it is
    /// answered depends on the versions the server was given.
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
    fn parse_display_and_order() {
        assert_eq!(ApiVersion::parse("13.0"), Some(ApiVersion::V13_0));
        assert_eq!(ApiVersion::parse(" 10.0 "), Some(ApiVersion::V10_0));
        assert_eq!(ApiVersion::parse("9.1"), Some(ApiVersion { major: 9, minor: 1 }));
        for bad in ["13", "13.", ".0", "a.b", "13.0.1", "-1.0", "+1.0", "12345.0", ""] {
            assert_eq!(ApiVersion::parse(bad), None, "{bad}");
        }
        assert_eq!(ApiVersion::V12_0.to_string(), "12.0");
        assert!(ApiVersion::V14_0 > ApiVersion::V13_0);
        assert!(ApiVersion { major: 13, minor: 10 } > ApiVersion { major: 13, minor: 9 });
        assert_eq!(ApiVersion::ALL.iter().max(), Some(&ApiVersion::V14_0));
    }
}
