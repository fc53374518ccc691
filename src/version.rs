//! What this build is: the package version, the git revision, the compiler and the target,
//! stamped at build time by `build.rs` (`unknown` where it could not tell, as in a build
//! from a source tarball). `--version`, `nbu_exporter_build_info`, the start log line and
//! the landing page read them here. It must not compute anything at run time.

#[cfg(test)]
mod probe;

/// The package version (`Cargo.toml`).
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The full git commit the binary was built from, or `unknown`.
pub const REVISION: &str = env!("NBU_BUILD_REVISION");
/// The compiler's version, such as `1.88.0`, or `unknown`.
pub const RUSTC_VERSION: &str = env!("NBU_BUILD_RUSTC_VERSION");
/// The target triple, such as `x86_64-unknown-linux-gnu`.
pub const TARGET: &str = env!("NBU_BUILD_TARGET");

/// What `--version` prints after the program name.
pub const LONG: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("NBU_BUILD_REVISION"),
    ", rustc ",
    env!("NBU_BUILD_RUSTC_VERSION"),
    ", target ",
    env!("NBU_BUILD_TARGET"),
    ")"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamped_values_have_their_shapes() {
        // A commit, `unknown`, or a packager's NBU_EXPORTER_REVISION.
        assert!(probe::plausible_override(REVISION), "{REVISION:?}");
        assert!(
            RUSTC_VERSION == probe::UNKNOWN || RUSTC_VERSION.starts_with("1."),
            "{RUSTC_VERSION}"
        );
        assert!(TARGET.contains('-'), "{TARGET}");
        assert_eq!(
            LONG,
            format!("{VERSION} (revision {REVISION}, rustc {RUSTC_VERSION}, target {TARGET})")
        );
    }
}
