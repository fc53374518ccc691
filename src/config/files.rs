//! What a config names on disk, as validation sees it: a file's bytes and permission bits,
//! and the function that reads one. A leaf, so `validate` and `web` (which both read the
//! files a config names) share it without importing each other.

use std::fmt;
use std::path::Path;

/// A file's content and, on Unix, its permission bits.
#[derive(Clone)]
pub struct FileData {
    pub bytes: Vec<u8>,
    pub mode: Option<u32>,
}

/// The content may be an API key: `Debug` shows only its length.
impl fmt::Debug for FileData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FileData")
            .field("bytes", &format_args!("<{} bytes>", self.bytes.len()))
            .field("mode", &self.mode)
            .finish()
    }
}

/// Reads a file; the error is the OS error text.
pub type ReadFile<'a> = &'a dyn Fn(&Path) -> Result<FileData, String>;
