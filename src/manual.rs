//! The generated manual: the man pages and the shell completion scripts, both built from
//! the clap definitions `cli` hands in (`Cli::command()`), so they cannot drift from the
//! real command line. The
//! packaging scripts call `nbu-exporter man DIR` and `nbu-exporter completions SHELL`.
//!
//! Owns the few man page sections clap knows nothing about (files, signals, exit status).
//! Must not know what a command does beyond what `cli` declares about it.

use std::io;
use std::path::{Path, PathBuf};

use clap_complete::Shell;
use clap_mangen::roff::{bold, italic, roman, Roff};
use clap_mangen::Man;

/// The name every generated file uses: the installed binary's.
const BIN: &str = "nbu-exporter";

/// The completion script for `shell`.
pub fn completion_script(shell: Shell, mut command: clap::Command) -> Vec<u8> {
    let mut script = Vec::new();
    // Into a Vec first: clap_complete panics on a failed write, and stdout may be a closed
    // pipe; the caller reports that as an error instead.
    clap_complete::generate(shell, &mut command, BIN, &mut script);
    if shell == Shell::Bash {
        return fix_bash_hyphenated_bin(&script);
    }
    script
}

/// clap_complete (4.6.12 and before, clap-rs/clap#6421) spells the bash state of a
/// subcommand `nbu__exporter__subcmd__reload` where it sets it and
/// `nbu__subcmd__exporter__subcmd__reload` where it matches it, so for a binary with a
/// hyphen nothing after a subcommand completes (`nbu-exporter reload --<TAB>`). Respell the
/// match arms the way the state is set; once clap_complete is fixed this replaces nothing.
fn fix_bash_hyphenated_bin(script: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(script);
    let matched = format!("{}__subcmd__", BIN.replace('-', "__subcmd__"));
    let set = format!("{}__subcmd__", BIN.replace('-', "__"));
    text.replace(&matched, &set).into_bytes()
}

/// Writes `nbu-exporter.1` and one `nbu-exporter-COMMAND.1` per visible subcommand (the
/// main page's SUBCOMMANDS section refers to them) into `dir`. Returns the written paths.
pub fn write_man_pages(dir: &Path, command: clap::Command) -> io::Result<Vec<PathBuf>> {
    let mut written = Vec::new();
    let main = dir.join(format!("{BIN}.1"));
    let command = built(command);
    std::fs::write(&main, main_page(command.clone())?)?;
    written.push(main);
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        let page = Man::new(sub.clone());
        let path = dir.join(page.get_filename());
        let mut text = Vec::new();
        page.render(&mut text)?;
        std::fs::write(&path, text)?;
        written.push(path);
    }
    Ok(written)
}

/// The main page: clap_mangen's sections, with a DESCRIPTION longer than the one-line
/// `about`, then FILES, SIGNALS, EXIT STATUS and SEE ALSO.
pub fn main_page(command: clap::Command) -> io::Result<Vec<u8>> {
    let page = Man::new(built(command));
    let mut text = Vec::new();
    page.render_title(&mut text)?;
    page.render_name_section(&mut text)?;
    page.render_synopsis_section(&mut text)?;
    description().to_writer(&mut text)?;
    page.render_options_section(&mut text)?;
    page.render_subcommands_section(&mut text)?;
    extra_sections().to_writer(&mut text)?;
    page.render_version_section(&mut text)?;
    Ok(text)
}

/// The command tree as the pages show it: built (so subcommands get their
/// `nbu-exporter-COMMAND` display names) and without clap's `help` subcommand.
fn built(command: clap::Command) -> clap::Command {
    let mut command = command.disable_help_subcommand(true);
    command.build();
    command
}

fn description() -> Roff {
    let mut roff = Roff::default();
    roff.control("SH", ["DESCRIPTION"]);
    roff.text([roman(
        "nbu-exporter polls the NetBackup REST API of one or more primary servers in the background \
         and serves the results as Prometheus metrics. It keeps the configuration keys and metric \
         names of the Go nbu_exporter.",
    )]);
    roff.control("PP", []);
    roff.text([roman(
        "Every configuration key reloads live. A reload is triggered by SIGHUP, by a change to the \
         file (its directory is watched), by a periodic content check, or by POST /-/reload. \
         The new file is validated in full before anything changes: a file with any problem is \
         rejected and the running configuration keeps serving.",
    )]);
    roff.control("PP", []);
    roff.text([
        roman("Without a command, nbu-exporter runs the exporter. Check a file with "),
        bold("nbu-exporter check-config"),
        roman(" before installing it, and reload a running exporter with "),
        bold("nbu-exporter reload"),
        roman(", which waits for the outcome of that reload."),
    ]);
    roff
}

fn extra_sections() -> Roff {
    let mut roff = Roff::default();
    let item = |roff: &mut Roff, term: &str, text: &str| {
        roff.control("TP", []);
        roff.text([bold(term)]);
        roff.text([roman(text)]);
    };

    roff.control("SH", ["FILES"]);
    item(
        &mut roff,
        "/etc/nbu-exporter/config.yaml",
        "The configuration the packaged systemd units run with (root:nbu-exporter, mode 0640). \
         Every key reloads live: save the file, run systemctl reload nbu-exporter, or POST /-/reload. \
         The file documents every key.",
    );
    item(
        &mut roff,
        "/etc/default/nbu-exporter",
        "Optional environment of the systemd units, for example the variables a config refers to as ${NAME}.",
    );
    item(
        &mut roff,
        "/usr/share/doc/nbu-exporter/",
        "The README and the operator guide (install, reload, alerting, troubleshooting).",
    );

    roff.control("SH", ["SIGNALS"]);
    item(
        &mut roff,
        "SIGHUP",
        "Reload the configuration. A rejected file keeps the running one.",
    );
    item(
        &mut roff,
        "SIGTERM, SIGINT",
        "Stop after in-flight scrapes finish; a second signal stops at once with status 130.",
    );

    roff.control("SH", ["EXIT STATUS"]);
    item(
        &mut roff,
        "0",
        "Success: a clean stop, a valid config, an applied or unchanged reload.",
    );
    item(
        &mut roff,
        "1",
        "Startup failed, check-config found a problem, or the reload was rejected.",
    );
    item(
        &mut roff,
        "2",
        "reload: the exporter was unreachable or did not answer in time.",
    );

    roff.control("SH", ["SEE ALSO"]);
    roff.text([
        bold("systemctl"),
        roman("(1), "),
        bold("systemd.service"),
        roman("(5), "),
        italic("/usr/share/doc/nbu-exporter/operations.md"),
    ]);
    roff
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    fn cli() -> clap::Command {
        crate::cli::Cli::command()
    }

    fn completion_script_of(shell: Shell) -> Vec<u8> {
        completion_script(shell, cli())
    }
    use std::process::Command;

    fn text(bytes: Vec<u8>) -> String {
        String::from_utf8(bytes).expect("generated text is UTF-8")
    }

    /// Sources the bash completion in a real bash, completes `words` with the cursor on the
    /// last one, and returns what bash would offer.
    fn bash_complete(words: &[&str]) -> Vec<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("nbu-exporter.bash");
        std::fs::write(&script, completion_script_of(Shell::Bash)).expect("write script");
        let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
        let line = words.join(" ");
        let program = format!(
            "source '{}'\n\
             COMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT={}\n\
             function=$(complete -p nbu-exporter | sed -n 's/.* -F \\([^ ]*\\) .*/\\1/p')\n\
             \"$function\" nbu-exporter '{}' '{}'\n\
             printf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
            script.display(),
            quoted.join(" "),
            words.len() - 1,
            line.len(),
            words[words.len() - 1],
            words[words.len().saturating_sub(2)],
        );
        let output = Command::new("bash")
            .arg("--norc")
            .arg("-c")
            .arg(&program)
            .output()
            .expect("run bash");
        assert!(
            output.status.success(),
            "bash failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        text(output.stdout).lines().map(str::to_owned).collect()
    }

    #[test]
    fn bash_completes_re_to_reload() {
        assert_eq!(bash_complete(&["nbu-exporter", "re"]), ["reload"]);
    }

    #[test]
    fn bash_completes_the_shells_of_completions() {
        let offered = bash_complete(&["nbu-exporter", "completions", ""]);
        for shell in ["bash", "zsh", "fish"] {
            assert!(offered.iter().any(|o| o == shell), "{shell} not in {offered:?}");
        }
    }

    #[test]
    fn bash_completes_the_options_of_a_subcommand() {
        let offered = bash_complete(&["nbu-exporter", "reload", "--ti"]);
        assert_eq!(offered, ["--timeout"]);
    }

    #[test]
    fn bash_accepts_the_bash_script() {
        let dir = tempfile::tempdir().expect("temp dir");
        let script = dir.path().join("nbu-exporter.bash");
        std::fs::write(&script, completion_script_of(Shell::Bash)).expect("write script");
        let status = Command::new("bash")
            .arg("-n")
            .arg(&script)
            .status()
            .expect("run bash");
        assert!(status.success());
    }

    #[test]
    fn zsh_and_fish_scripts_name_the_binary_and_its_commands() {
        let zsh = text(completion_script_of(Shell::Zsh));
        assert!(zsh.starts_with("#compdef nbu-exporter\n"), "{}", &zsh[..40]);
        let fish = text(completion_script_of(Shell::Fish));
        assert!(fish.contains("complete -c nbu-exporter"));
        for command in ["check-config", "reload", "demo", "completions"] {
            assert!(
                zsh.contains(command) && fish.contains(command),
                "{command} missing"
            );
        }
    }

    #[test]
    fn main_page_has_the_sections_and_lists_the_visible_commands() {
        let page = text(main_page(cli()).expect("render"));
        assert!(page.contains("\n.TH nbu-exporter 1 "), "{}", &page[..200]);
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH OPTIONS",
            ".SH SUBCOMMANDS",
            ".SH FILES",
            ".SH \"EXIT STATUS\"",
        ] {
            assert!(page.contains(section), "{section} missing");
        }
        assert!(page.contains("nbu\\-exporter\\-reload(1)"));
        assert!(page.contains("/etc/nbu\\-exporter/config.yaml"));
        assert!(
            !page.contains("nbu\\-exporter\\-help(1)"),
            "clap's help command is listed"
        );
    }

    #[test]
    fn man_pages_are_written_one_per_visible_command() {
        let dir = tempfile::tempdir().expect("temp dir");
        let written = write_man_pages(dir.path(), cli()).expect("write pages");
        let names: Vec<String> = written
            .iter()
            .map(|p| p.file_name().expect("file name").to_string_lossy().into_owned())
            .collect();
        for expected in [
            "nbu-exporter.1",
            "nbu-exporter-check-config.1",
            "nbu-exporter-reload.1",
            "nbu-exporter-completions.1",
            "nbu-exporter-man.1",
        ] {
            assert!(names.iter().any(|n| n == expected), "{expected} not in {names:?}");
        }
        assert!(
            !names.iter().any(|n| n == "nbu-exporter-help.1"),
            "a page for clap's help"
        );
        let visible = built(cli())
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .count();
        assert_eq!(names.len(), 1 + visible, "{names:?}");
        let reload = std::fs::read_to_string(dir.path().join("nbu-exporter-reload.1")).expect("read");
        assert!(
            reload.contains("\\-\\-timeout"),
            "the reload page lacks its options"
        );
    }
}
