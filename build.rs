//! Stamps the build's identity into the binary (`src/version.rs` reads it): the git
//! revision of this checkout (`unknown` without `.git`, so a source tarball builds; a
//! packager may set `NBU_EXPORTER_REVISION`), the compiler version and the target.

use std::path::{Path, PathBuf};
use std::process::Command;

#[path = "src/version/probe.rs"]
#[allow(dead_code)]
mod probe;

fn main() {
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let mut git = |args: &[&str]| run(Command::new("git").arg("-C").arg(&dir).args(args));
    let overridden = std::env::var("NBU_EXPORTER_REVISION").ok();
    let revision = probe::revision(&dir, overridden.as_deref(), &mut git);
    let watched = probe::watched_git_files(&dir, &mut git);

    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let rustc_version = probe::rustc_version(run(Command::new(rustc).arg("--version")).as_deref());
    let target = std::env::var("TARGET").unwrap_or_else(|_| probe::UNKNOWN.to_string());

    println!("cargo:rustc-env=NBU_BUILD_REVISION={revision}");
    println!("cargo:rustc-env=NBU_BUILD_RUSTC_VERSION={rustc_version}");
    println!("cargo:rustc-env=NBU_BUILD_TARGET={target}");
    println!("cargo:rerun-if-env-changed=NBU_EXPORTER_REVISION");
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=src/version/probe.rs");
    for file in watched {
        println!("cargo:rerun-if-changed={}", display(&file));
    }
}

/// A command's trimmed standard output when it exits 0.
fn run(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    String::from_utf8(output.stdout)
        .ok()
        .map(|s| s.trim().to_string())
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}
