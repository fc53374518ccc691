//! What is wrong with a config file: one [`Problem`] per key path, and all of them for one
//! file in a [`LoadError`], the error of the whole load path.
//!
//! Plain data shared by every step of loading (`raw`, `validate`, `config::load`); it must
//! not know how problems are found.

use std::fmt;
use std::path::PathBuf;

/// One thing wrong with a config, at a key path such as `nbuservers[1].port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// Empty for problems with the file as a whole (syntax, empty file).
    pub key: String,
    pub message: String,
}

impl Problem {
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Problem {
        Problem {
            key: key.into(),
            message: message.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.key.is_empty() {
            f.write_str(&self.message)
        } else {
            write!(f, "{}: {}", self.key, self.message)
        }
    }
}

/// Every problem found in one config file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LoadError {
    pub path: PathBuf,
    pub problems: Vec<Problem>,
    /// SHA-256 over the config bytes and every file it named as read (content or error):
    /// equal for the same failing inputs, different once any of them changes, so a retry
    /// can tell "the same rejected inputs" from "a fixed key file beside the same config".
    pub inputs_sha256: [u8; 32],
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.problems.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{}: {problem}", self.path.display())?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}
