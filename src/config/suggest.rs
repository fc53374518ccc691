//! "Did you mean ...?" hints for unknown config keys: the known key nearest to a typo by
//! edit distance (case-insensitive, adjacent transpositions count as one edit).
//!
//! It must not know the schema; callers pass the keys that are valid where the typo was.

/// The known key closest to `unknown`, when it is close enough to be a likely typo.
pub fn closest<'a>(unknown: &str, known: &[&'a str]) -> Option<&'a str> {
    let typed: Vec<char> = unknown.to_lowercase().chars().collect();
    if typed.is_empty() || typed.len() > 64 {
        return None;
    }
    let mut best: Option<(usize, &'a str)> = None;
    for &candidate in known {
        let wanted: Vec<char> = candidate.to_lowercase().chars().collect();
        let distance = edit_distance(&typed, &wanted);
        let allowed = (wanted.len() / 3).clamp(1, 3);
        if distance <= allowed && best.is_none_or(|(d, _)| distance < d) {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, key)| key)
}

/// Optimal string alignment distance (Levenshtein plus adjacent transpositions).
fn edit_distance(a: &[char], b: &[char]) -> usize {
    let width = b.len() + 1;
    let mut rows = vec![0usize; (a.len() + 1) * width];
    let at = |i: usize, j: usize| i * width + j;
    for i in 0..=a.len() {
        rows[at(i, 0)] = i;
    }
    for j in 0..=b.len() {
        rows[at(0, j)] = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut d = (rows[at(i - 1, j)] + 1)
                .min(rows[at(i, j - 1)] + 1)
                .min(rows[at(i - 1, j - 1)] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d = d.min(rows[at(i - 2, j - 2)] + 1);
            }
            rows[at(i, j)] = d;
        }
    }
    rows[at(a.len(), b.len())]
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEYS: &[&str] = &[
        "host",
        "port",
        "uri",
        "scrapingInterval",
        "collectionInterval",
        "collectionTimeout",
        "apiKey",
        "apiKeyFile",
    ];

    fn check(typed: &str, expected: Option<&str>) {
        assert_eq!(closest(typed, KEYS), expected, "{typed:?}");
    }

    #[test]
    fn suggestions() {
        check("colectionInterval", Some("collectionInterval"));
        check("scrappingInterval", Some("scrapingInterval"));
        check("collectionTimout", Some("collectionTimeout"));
        check("apikey", Some("apiKey"));
        check("apiKeyfile", Some("apiKeyFile"));
        check("hots", Some("host"));
        check("url", Some("uri"));
        check("prot", Some("port"));
        check("hostname", None);
        check("banana", None);
        check("", None);
        check(&"x".repeat(500), None);
    }
}
