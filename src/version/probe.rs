//! How `build.rs` finds what it stamps into the binary: the git revision (only from a
//! checkout of this very directory, so a source tarball unpacked inside some other
//! repository never reports that repository's commit), the compiler version, and the
//! `unknown` fallback. Std only: `build.rs` includes this file with `#[path]`, and the
//! crate compiles it for its tests alone. It must not run anything itself; callers pass
//! the command runner.

use std::path::Path;

/// What a build reports when it cannot tell.
pub const UNKNOWN: &str = "unknown";

/// Runs `git` with these arguments in the package directory; its trimmed standard output
/// when it succeeds.
pub type Git<'a> = &'a mut dyn FnMut(&[&str]) -> Option<String>;

/// The revision to report: `overridden` (a packager's `NBU_EXPORTER_REVISION`) when it
/// is a plausible revision, else `HEAD` of the git checkout at `dir` when `dir/.git`
/// exists, else `unknown`.
pub fn revision(dir: &Path, overridden: Option<&str>, git: Git) -> String {
    if let Some(text) = overridden.map(str::trim).filter(|t| plausible_override(t)) {
        return text.to_string();
    }
    if !dir.join(".git").exists() {
        return UNKNOWN.to_string();
    }
    git(&["rev-parse", "--verify", "HEAD^{commit}"])
        .as_deref()
        .and_then(parse_commit)
        .unwrap_or_else(|| UNKNOWN.to_string())
}

/// A full commit id (40 hex digits, or 64 in a SHA-256 repository), lower-cased.
pub fn parse_commit(output: &str) -> Option<String> {
    let id = output.trim();
    let hex = id.chars().all(|c| c.is_ascii_hexdigit());
    (hex && (id.len() == 40 || id.len() == 64)).then(|| id.to_ascii_lowercase())
}

/// 1 to 64 printable ASCII characters, no space, quote or backslash: safe in a label,
/// on one line and unquoted in a log field.
pub fn plausible_override(text: &str) -> bool {
    (1..=64).contains(&text.len())
        && text
            .chars()
            .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\')
}

/// `1.88.0` from `rustc 1.88.0 (6b00bc388 2025-06-23)`; `unknown` otherwise.
pub fn rustc_version(output: Option<&str>) -> String {
    output
        .and_then(|text| text.trim().strip_prefix("rustc "))
        .and_then(|rest| rest.split_whitespace().next())
        .filter(|v| v.chars().next().is_some_and(|c| c.is_ascii_digit()) && plausible_override(v))
        .map_or_else(|| UNKNOWN.to_string(), str::to_string)
}

/// The files whose change means `HEAD` may point elsewhere: `HEAD` itself, the branch it
/// names and `packed-refs`, as `git rev-parse --git-path` spells them (relative paths
/// are relative to `dir`). Only those that exist are returned: Cargo reruns a build
/// script on every build when a watched file is missing. A branch whose ref is only in
/// `packed-refs` is watched through its directory, where the next commit writes it.
pub fn watched_git_files(dir: &Path, git: Git) -> Vec<std::path::PathBuf> {
    if !dir.join(".git").exists() {
        return Vec::new();
    }
    let path = |git: &mut dyn FnMut(&[&str]) -> Option<String>, name: &str| {
        git(&["rev-parse", "--git-path", name]).map(|p| dir.join(p))
    };
    let mut files: Vec<std::path::PathBuf> = ["HEAD", "packed-refs"]
        .iter()
        .filter_map(|name| path(&mut *git, name))
        .filter(|p| p.exists())
        .collect();
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]).and_then(|b| path(&mut *git, &b)) {
        if branch.exists() {
            files.push(branch);
        } else if let Some(parent) = branch.parent().filter(|p| p.is_dir()) {
            files.push(parent.to_path_buf());
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "9811571d3c4e0b5f6a7b8c9d0e1f2a3b4c5d6e7f";

    #[test]
    fn a_checkout_reports_its_head() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        let mut asked = Vec::new();
        let mut git = |args: &[&str]| {
            asked.push(args.join(" "));
            Some(format!("{}\n", SHA.to_uppercase()))
        };
        assert_eq!(revision(dir.path(), None, &mut git), SHA);
        assert_eq!(asked, ["rev-parse --verify HEAD^{commit}"]);
    }

    #[test]
    fn a_copy_without_git_is_unknown_and_never_asks_git() {
        let dir = tempfile::tempdir().unwrap();
        let mut git = |_: &[&str]| -> Option<String> { panic!("git must not run outside a checkout") };
        assert_eq!(revision(dir.path(), None, &mut git), UNKNOWN);
        assert!(watched_git_files(dir.path(), &mut git).is_empty());
    }

    #[test]
    fn a_worktree_git_file_counts_as_a_checkout() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(".git"), "gitdir: /elsewhere\n").unwrap();
        let mut git = |_: &[&str]| Some(SHA.to_string());
        assert_eq!(revision(dir.path(), None, &mut git), SHA);
    }

    #[test]
    fn git_failing_or_printing_junk_is_unknown() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join(".git")).unwrap();
        assert_eq!(revision(dir.path(), None, &mut |_: &[&str]| None), UNKNOWN);
        let mut junk = |_: &[&str]| Some("fatal: not a git repository".to_string());
        assert_eq!(revision(dir.path(), None, &mut junk), UNKNOWN);
        assert_eq!(parse_commit("abc123"), None);
        assert_eq!(parse_commit(&"a".repeat(64)), Some("a".repeat(64)));
    }

    #[test]
    fn an_override_wins_when_plausible() {
        let dir = tempfile::tempdir().unwrap();
        let mut none = |_: &[&str]| None;
        assert_eq!(
            revision(dir.path(), Some(" v0.1.0-deb1 "), &mut none),
            "v0.1.0-deb1"
        );
        assert_eq!(revision(dir.path(), Some(""), &mut none), UNKNOWN);
        assert_eq!(revision(dir.path(), Some("two words"), &mut none), UNKNOWN);
        assert_eq!(revision(dir.path(), Some(&"x".repeat(65)), &mut none), UNKNOWN);
    }

    #[test]
    fn rustc_versions() {
        assert_eq!(
            rustc_version(Some("rustc 1.88.0 (6b00bc388 2025-06-23)\n")),
            "1.88.0"
        );
        assert_eq!(
            rustc_version(Some("rustc 1.90.0-nightly (abc 2025-07-01)")),
            "1.90.0-nightly"
        );
        assert_eq!(rustc_version(Some("clippy-driver 0.1")), UNKNOWN);
        assert_eq!(rustc_version(None), UNKNOWN);
    }

    #[test]
    fn watched_files_exist_and_follow_the_branch() {
        let dir = tempfile::tempdir().unwrap();
        let git_dir = dir.path().join(".git");
        std::fs::create_dir_all(git_dir.join("refs/heads")).unwrap();
        std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/main\n").unwrap();
        std::fs::write(git_dir.join("refs/heads/main"), SHA).unwrap();
        let mut git = |args: &[&str]| match args {
            ["symbolic-ref", "-q", "HEAD"] => Some("refs/heads/main".to_string()),
            ["rev-parse", "--git-path", name] => Some(format!(".git/{name}")),
            _ => None,
        };
        let files = watched_git_files(dir.path(), &mut git);
        // packed-refs does not exist here, so it is not watched.
        assert_eq!(files, [git_dir.join("HEAD"), git_dir.join("refs/heads/main")]);

        // A branch known only from packed-refs: its directory is watched instead.
        std::fs::remove_file(git_dir.join("refs/heads/main")).unwrap();
        std::fs::write(git_dir.join("packed-refs"), format!("{SHA} refs/heads/main\n")).unwrap();
        let files = watched_git_files(dir.path(), &mut git);
        assert_eq!(
            files,
            [
                git_dir.join("HEAD"),
                git_dir.join("packed-refs"),
                git_dir.join("refs/heads")
            ]
        );
    }
}
