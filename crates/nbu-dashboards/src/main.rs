//! `nbu-dashboards`: writes the generated dashboards to `deploy/grafana/` (or a directory
//! given as argument), or with `rules FILE` the dashboard expressions as Prometheus
//! recording rules for `promtool check rules`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

const USAGE: &str = "usage: nbu-dashboards [DIR]      write the dashboards (default: deploy/grafana of the repository)\n       nbu-dashboards rules FILE   write every expression as a recording rule, for promtool";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        [] => write_dashboards(&default_dir()),
        ["rules", file] => write(Path::new(file), &nbu_dashboards::recording_rules()),
        ["-h" | "--help"] => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        [dir] if !dir.starts_with('-') => write_dashboards(Path::new(dir)),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nbu-dashboards: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `deploy/grafana` of the repository this crate lives in.
fn default_dir() -> PathBuf {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    // crates/nbu-dashboards -> the repository root.
    let root = crate_dir.ancestors().nth(2).unwrap_or(crate_dir);
    root.join("deploy/grafana")
}

fn write_dashboards(dir: &Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("create {}: {e}", dir.display()))?;
    for (file, text) in nbu_dashboards::render_all() {
        write(&dir.join(&file), &text)?;
    }
    Ok(())
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("write {}: {e}", path.display()))?;
    // A closed stdout (`| head`) must not stop the writing.
    let _ = writeln!(std::io::stdout(), "wrote {}", path.display());
    Ok(())
}
