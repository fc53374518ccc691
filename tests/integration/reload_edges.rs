//! Reload paths the main reload suite does not reach (found by measuring coverage): a
//! config file that disappears, turns into a directory or grows past the size limit; a
//! watcher that fails and is re-armed; a read that hangs; polling switched on by a reload;
//! and the `reload` client run in-process against a live daemon, for each of its exit codes.

use std::process::ExitCode;
use std::time::Duration;

use nbu_exporter::reload::command;
use nbu_exporter::reload::watch::WatchMode;
use nbu_exporter::state::{Event, StatusBoard};
use serde_json::Value;

use crate::support::*;

const LONG: Duration = Duration::from_secs(20);

fn config(sim: &nbu_sim::SimServer, interval: &str) -> String {
    config_yaml(
        &format!("  collectionInterval: {interval}\n"),
        &[site_yaml("paris", sim, "")],
    )
}

fn interval(d: &TestDaemon) -> Duration {
    d.daemon().shared().current().config.server.collection_interval
}

/// The first attempt in the history matching `pick`.
fn find_attempt(d: &TestDaemon, pick: impl Fn(&Value) -> bool) -> Option<Value> {
    d.status()["history"]
        .as_array()?
        .iter()
        .find(|a| pick(a))
        .cloned()
}

#[test]
fn a_deleted_config_is_reported_after_a_grace_and_the_running_one_kept() {
    let sim = known_site();
    let d = TestDaemon::start(&config(&sim, "30s"));
    // Deleted once the watch is armed, so the watcher sees it.
    wait_until(LONG, "watcher up", || d.status()["watcher"] == "inotify");
    std::fs::remove_file(&d.path).unwrap();

    // The watcher waits out the grace (an editor may be between unlink and create), then
    // records one failed attempt.
    let failed = wait_for(LONG, "a failed watch attempt", || {
        find_attempt(&d, |a| a["trigger"] == "watch" && a["result"] == "failed")
    });
    assert!(
        failed["reason"].as_str().unwrap().contains("is missing"),
        "{failed}"
    );

    // An explicit reload reports it at once.
    let reason = failed_reload_reason(&d);
    assert!(
        reason.contains("is missing; keeping the running config"),
        "{reason}"
    );
    assert_eq!(d.generation(), 1);
    assert_eq!(interval(&d), Duration::from_secs(30));

    // Back again, with a change: applied by the watcher.
    d.write_config(&config(&sim, "45s"));
    wait_until(LONG, "the recreated config applied", || {
        interval(&d) == Duration::from_secs(45)
    });
}

#[test]
fn an_unreadable_or_oversized_config_fails_the_reload() {
    let sim = known_site();
    let d = TestDaemon::start(&config(&sim, "30s"));

    std::fs::remove_file(&d.path).unwrap();
    std::fs::create_dir(&d.path).unwrap();
    let reason = failed_reload_reason(&d);
    assert!(reason.starts_with("cannot read config file "), "{reason}");
    std::fs::remove_dir(&d.path).unwrap();

    let mut big = config(&sim, "45s");
    big.push_str(&format!("# {}\n", "x".repeat(4 * 1024 * 1024)));
    d.write_config(&big);
    let reason = failed_reload_reason(&d);
    assert!(reason.contains("more than the 4194304 byte limit"), "{reason}");

    assert_eq!(d.generation(), 1);
    assert_eq!(interval(&d), Duration::from_secs(30));
}

#[test]
fn a_failed_watcher_is_rearmed_and_checks_the_file_meanwhile() {
    let sim = known_site();
    let d = TestDaemon::start(&config(&sim, "30s"));
    let shared = d.daemon().shared();
    wait_until(LONG, "watcher up", || d.status()["watcher"] == "inotify");

    shared
        .events
        .send(Event::WatcherFailed("injected failure".into()))
        .unwrap();
    // Events may have been lost: the worker checks the content once.
    wait_for(LONG, "a watch check after the failure", || {
        find_attempt(&d, |a| a["trigger"] == "watch" && a["result"] == "unchanged")
    });
    // The failed watcher was dropped and polling is off: only a re-armed watcher can see
    // this change.
    wait_until(LONG, "watcher re-armed", || d.status()["watcher"] == "inotify");
    d.write_config(&config(&sim, "45s"));
    wait_until(LONG, "change seen by the new watcher", || {
        interval(&d) == Duration::from_secs(45)
    });
}

#[test]
fn a_reload_can_switch_polling_on() {
    let sim = known_site();
    let d = TestDaemon::start_with(&config(&sim, "30s"), |o| o.watch_mode = WatchMode::Unavailable);
    wait_until(LONG, "no watcher, no polling", || {
        d.status()["watcher"] == "none (watcher down and polling disabled)"
    });

    let polling = |interval: &str| config(&sim, interval).replace("pollInterval: 0", "pollInterval: 1s");
    d.write_config(&polling("30s"));
    let (_, body) = d.reload();
    assert_eq!(
        body["changes"],
        serde_json::json!(["reload.pollInterval"]),
        "{body}"
    );
    // The answer is sent before the watcher line is updated: wait for it.
    wait_until(LONG, "polling announced", || {
        d.status()["watcher"] == "polling every 1s"
    });

    d.write_config(&polling("45s"));
    wait_until(LONG, "the poll applies the change", || {
        interval(&d) == Duration::from_secs(45)
    });
    assert!(find_attempt(&d, |a| a["trigger"] == "poll" && a["result"] == "applied").is_some());
}

/// `nbu-exporter reload --url` read the `POST /-/reload` answer as a status-page attempt
/// (`id`, `trigger`), which that answer does not have (`attempt`), so every HTTP reload
/// ended in exit 2, "unreachable". Found by measuring coverage.
#[test]
fn regression_reload_client_over_http_reads_the_reload_answer() {
    let sim = known_site();
    let d = TestDaemon::start(&config(&sim, "30s"));
    let run = || command::run(&d.path, None, Some(format!("{}/", d.base())), "10s");

    assert_eq!(run(), ExitCode::SUCCESS, "unchanged");
    d.write_config(&config(&sim, "45s"));
    assert_eq!(run(), ExitCode::SUCCESS, "applied");
    assert_eq!(interval(&d), Duration::from_secs(45));
    d.write_config(&format!(
        "{}# a comment changes the bytes, not the config\n",
        config(&sim, "45s")
    ));
    assert_eq!(run(), ExitCode::SUCCESS, "applied without changes");
    assert_eq!(d.generation(), 3);
    d.write_config(&config(&sim, "45s").replace("collectionInterval: 45s", "collectionInterval: soon"));
    assert_eq!(run(), ExitCode::from(1), "rejected");
    assert_eq!(interval(&d), Duration::from_secs(45));
}

#[test]
fn the_reload_client_reports_an_unreachable_daemon_with_exit_2() {
    let sim = known_site();
    let d = TestDaemon::start(&config(&sim, "30s"));
    let base = d.base();
    let run = |url: &str, pid: Option<i32>, timeout: &str| {
        command::run(&d.path, pid, Some(url.to_string()), timeout)
    };
    let unreachable = ExitCode::from(2);

    assert_eq!(run(&base, None, "ten seconds"), unreachable, "bad --timeout");
    assert_eq!(
        run(&format!("{base}/nope"), None, "10s"),
        unreachable,
        "HTTP 404 for the status"
    );
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}", listener.local_addr().unwrap())
    };
    assert_eq!(run(&closed, None, "2s"), unreachable, "nothing listening");
    assert_eq!(run(&base, Some(1), "10s"), unreachable, "init is never signalled");
    assert_eq!(run(&base, Some(i32::MAX), "10s"), unreachable, "no such process");

    // A process that takes the SIGHUP but never reloads: no outcome before the timeout.
    let mut deaf = std::process::Command::new("sleep")
        .arg("30")
        .spawn()
        .expect("spawn sleep");
    assert_eq!(
        run(&base, Some(deaf.id() as i32), "1s"),
        unreachable,
        "no outcome in time"
    );
    let _ = deaf.kill();
    let _ = deaf.wait();

    // Something that answers the status page but not the reload with an attempt.
    assert_eq!(
        run(&odd_server(), None, "10s"),
        unreachable,
        "reload answer is not an attempt"
    );

    let locked =
        TestDaemon::start(&config(&sim, "30s").replace("enableLifecycle: true", "enableLifecycle: false"));
    assert_eq!(
        command::run(&locked.path, None, Some(locked.base()), "10s"),
        unreachable,
        "lifecycle API disabled"
    );
}

/// An HTTP server on 127.0.0.1:0 whose status page is fine and whose `POST /-/reload`
/// answers with text (as a daemon that is shutting down does). Serves two requests.
fn odd_server() -> String {
    let server = tiny_http::Server::http("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", server.server_addr().to_ip().expect("ip address"));
    std::thread::spawn(move || {
        for _ in 0..2 {
            let Ok(request) = server.recv() else { return };
            let response = if request.url() == "/-/config-status" {
                tiny_http::Response::from_string(r#"{"attempts": 0, "generation": 1, "history": []}"#)
            } else {
                tiny_http::Response::from_string("the daemon is shutting down").with_status_code(503)
            };
            let _ = request.respond(response);
        }
    });
    url
}

/// A read that never returns (a hung network filesystem, here a FIFO nobody writes)
/// fails the reload after the 10 s phase timeout; the control loop and scrapes go on.
#[test]
fn a_hung_config_read_fails_the_reload_after_the_timeout() {
    let sim = known_site();
    let d = TestDaemon::start_with(&config(&sim, "30s"), |o| o.watch_mode = WatchMode::Unavailable);
    // Served after the startup check, so only the request below reads the FIFO.
    assert_eq!(d.reload().1["result"], "unchanged");
    std::fs::remove_file(&d.path).unwrap();
    let made = std::process::Command::new("mkfifo")
        .arg(&d.path)
        .status()
        .expect("mkfifo");
    assert!(made.success());

    assert_eq!(
        failed_reload_reason(&d),
        "reading and validating took longer than 10s"
    );
    assert_eq!(d.get("/metrics").0, 200);
    assert_eq!(d.generation(), 1);

    // Release the reader still blocked on the FIFO: a writer opens it and closes it.
    drop(
        std::fs::OpenOptions::new()
            .write(true)
            .open(&d.path)
            .expect("open the FIFO for writing"),
    );
    std::fs::remove_file(&d.path).unwrap();
}

#[test]
fn a_new_status_board_is_idle_and_starting() {
    let snapshot = StatusBoard::default().snapshot();
    assert_eq!((snapshot.attempts, snapshot.watcher.as_str()), (0, "starting"));
    assert!(snapshot.last_attempt.is_none());
}

/// `POST /-/reload`, which must answer 500 "failed"; the reason it gives.
fn failed_reload_reason(d: &TestDaemon) -> String {
    let (status, body) = d.reload();
    assert_eq!((status, body["result"].as_str()), (500, Some("failed")), "{body}");
    body["reason"].as_str().unwrap_or_default().to_string()
}

/// Storage listings the site has been asked for: one a sweep.
fn sweeps_of(sim: &nbu_sim::SimServer) -> usize {
    sim.handle()
        .requests()
        .iter()
        .filter(|r| r.path == "/netbackup/storage/storage-units")
        .count()
}

/// A reload that lengthens the interval does not wake the poller (it reads the interval
/// when its wait ends), and the sweep waits for the new interval; one that shortens it
/// wakes the poller, and the sweeps follow the shorter cadence at once.
#[test]
fn a_reloaded_interval_sets_the_next_sweep_longer_or_shorter() {
    let sim = known_site();
    let d = TestDaemon::start_http_only(&config(&sim, "1s"));
    d.wait_ready();
    let at_start = sweeps_of(&sim);
    wait_until(LONG, "sweeps every second", || sweeps_of(&sim) >= at_start + 2);

    d.write_config(&config(&sim, "1h"));
    assert_eq!(d.reload().0, 200);
    assert_eq!(interval(&d), Duration::from_secs(3600));
    // A sweep already under way when the reload came may still end; after that, none.
    let settled = sweeps_of(&sim) + 1;
    // Watched for three of the old intervals: bounded in time, checked every 50 ms.
    let watch_until = std::time::Instant::now() + Duration::from_secs(3);
    while std::time::Instant::now() < watch_until {
        assert!(
            sweeps_of(&sim) <= settled,
            "a sweep came on the 1 s cadence after a reload to 1h"
        );
        std::thread::sleep(Duration::from_millis(50));
    }

    d.write_config(&config(&sim, "1s"));
    assert_eq!(d.reload().0, 200);
    let after = sweeps_of(&sim);
    wait_until(Duration::from_secs(10), "sweeps every second again", || {
        sweeps_of(&sim) >= after + 2
    });
}
