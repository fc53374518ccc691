//! What the renderer of an opt-in collector part is given: each site's escaped `site` label
//! with that part's last good data, type-erased so the collectors table in
//! `collect::collectors` can hold every part's renderer in one list. [`typed`] gets the
//! concrete data back; [`family`] writes one family across all sites.
//!
//! Pure; it must not know which parts exist.

use std::any::Any;

use super::text::TextWriter;

/// One site's data for one part.
pub struct PartSite<'a> {
    /// The `site` label value, already escaped.
    pub label: &'a str,
    pub data: &'a (dyn Any + Send + Sync),
}

/// The sites whose data is a `T` (all of them, unless the table pairs a renderer with the
/// wrong part, which the tests would show as missing series).
pub(crate) fn typed<'a, T: 'static>(sites: &[PartSite<'a>]) -> Vec<(&'a str, &'a T)> {
    sites
        .iter()
        .filter_map(|s| s.data.downcast_ref::<T>().map(|d| (s.label, d)))
        .collect()
}

/// Writes gauge family `name`: the header, then `each` for every site.
pub(crate) fn family<T>(
    w: &mut TextWriter,
    sites: &[(&str, &T)],
    name: &str,
    help: &str,
    mut each: impl FnMut(&mut TextWriter, &str, &T),
) {
    let mark = w.begin_family(name, help, "gauge");
    for (label, data) in sites {
        each(w, label, data);
    }
    w.end_family(mark);
}
