//! The `demo` and `simulate` subcommands: the exporter against built-in simulated NetBackup
//! sites, and the simulator alone. Only in binaries built with the `demo` feature (the
//! default), since it embeds the `nbu-sim` crate.
//!
//! It owns the demo's temporary config and its console output; the exporter itself runs
//! through `daemon` exactly as `run` starts it, and the simulator knows nothing of it.

use std::io::Write;
use std::process::ExitCode;

use nbu_sim::{
    now_millis, DataSpec, ResourceSpec, SimData, SimOptions, SimResources, SimServer, Workload, WorkloadSpec,
};

use crate::daemon::{Daemon, DaemonOptions};
use crate::reload::signals::Registered;

/// The API key the demo's simulated servers accept.
const DEMO_KEY: &str = "demo-api-key";

/// Every opt-in collector, so the demo shows all of their series.
const DEMO_COLLECTORS: &str = "collectors:\n\
  \x20 alerts: {enabled: true}\n\
  \x20 malware: {enabled: true}\n\
  \x20 catalog: {enabled: true}\n\
  \x20 slo: {enabled: true}\n\
  \x20 tape: {enabled: true}\n\
  \x20 perClient: {enabled: true, allowlist: [client0001.sim.example, client0002.sim.example, no-such-client]}\n";

/// `data` plus tape, disk pools, alerts, malware, catalog and SLO records (seeded).
fn with_resources(data: SimData, seed: u64, now: nbu_sim::UnixMillis) -> SimData {
    SimData {
        resources: SimResources::generate(
            &ResourceSpec {
                seed,
                ..ResourceSpec::default()
            },
            now,
        ),
        ..data
    }
}

/// How often the larger site's evolving jobs are brought up to date.
const WORKLOAD_TICK: std::time::Duration = std::time::Duration::from_secs(1);

pub fn demo(
    host: std::net::IpAddr,
    port: u16,
    jobs_per_hour: usize,
    signals: Option<Registered>,
) -> ExitCode {
    crate::logging::init(log::LevelFilter::Info);
    let now = now_millis();
    let big = WorkloadSpec {
        jobs_per_hour: u32::try_from(jobs_per_hour).unwrap_or(u32::MAX),
        storage_units: 150,
        tape_units: 6,
        seed: 7,
        ..WorkloadSpec::default()
    };
    let started = (|| -> std::io::Result<(SimServer, SimServer)> {
        let mut paris = SimServer::start(SimOptions::new(DEMO_KEY, SimData::default()))?;
        let resources = SimResources::generate(
            &ResourceSpec {
                seed: 9,
                ..ResourceSpec::default()
            },
            now,
        );
        paris.drive(Workload::new(big, now).with_resources(resources), WORKLOAD_TICK)?;
        Ok((
            paris,
            SimServer::start(SimOptions::new(
                DEMO_KEY,
                with_resources(SimData::known(now), 3, now),
            ))?,
        ))
    })();
    let (paris, london) = match started {
        Ok(pair) => pair,
        Err(e) => {
            eprintln!("error: cannot start the simulated NetBackup servers: {e}");
            return ExitCode::from(1);
        }
    };
    let dir = std::env::temp_dir().join(format!("nbu-exporter-demo-{}", std::process::id()));
    let config_path = dir.join("config.yaml");
    let yaml = format!(
        "# nbu-exporter demo config: edit and save to see a hot reload.\n\
         server:\n  host: \"{host}\"\n  port: {port}\n  uri: /metrics\n  scrapingInterval: 1h\n  collectionInterval: 30s\n  enableLifecycle: true\n\
         nbuservers:\n\
         \x20 - site: paris\n    scheme: http\n    host: 127.0.0.1\n    port: {}\n    apiKey: {DEMO_KEY}\n\
         \x20 - site: london\n    scheme: http\n    host: 127.0.0.1\n    port: {}\n    apiKey: {DEMO_KEY}\n",
        paris.port(),
        london.port()
    ) + DEMO_COLLECTORS;
    let written = std::fs::create_dir_all(&dir).and_then(|()| {
        use std::os::unix::fs::OpenOptionsExt;
        // 0600: the file holds an API key (a demo one, but the exporter checks anyway).
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&config_path)?;
        file.write_all(yaml.as_bytes())
    });
    if let Err(e) = written {
        eprintln!("error: cannot write the demo config in {}: {e}", dir.display());
        return ExitCode::from(1);
    }
    let mut options = DaemonOptions::new(&config_path);
    options.signals = signals;
    let code = match Daemon::start(options) {
        Ok(daemon) => {
            println!("nbu-exporter demo is running");
            let addr = daemon.local_addr();
            println!("  metrics:        http://{addr}/metrics");
            println!("  reload status:  http://{addr}/-/config-status");
            println!(
                "  simulated NetBackup: paris {}  london {}",
                paris.base_url(),
                london.base_url()
            );
            println!(
                "  config: {}  (edit it, or: curl -X POST http://{addr}/-/reload)",
                config_path.display()
            );
            println!("press Ctrl-C to stop");
            let _ = std::io::stdout().flush();
            daemon.wait();
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            if e.to_string().contains("cannot listen") {
                eprintln!("hint: pick another port with `nbu-exporter demo --port 9555`");
            }
            ExitCode::from(1)
        }
    };
    let _ = std::fs::remove_dir_all(&dir);
    paris.shutdown();
    london.shutdown();
    code
}

pub fn simulate(
    port: u16,
    api_key: &str,
    jobs: usize,
    storage_units: usize,
    signals: Option<Registered>,
) -> ExitCode {
    let spec = DataSpec {
        jobs,
        active_jobs: jobs / 50,
        queued_jobs: jobs / 100,
        storage_units,
        tape_units: 2,
        seed: 1,
    };
    let mut options = SimOptions::new(api_key, SimData::generate(&spec, now_millis()));
    options.bind = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let server = match SimServer::start(options) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: cannot start the simulator on 127.0.0.1:{port}: {e}");
            return ExitCode::from(1);
        }
    };
    println!(
        "simulated NetBackup at {} (API key {api_key:?}); Ctrl-C to stop",
        server.base_url()
    );
    let _ = std::io::stdout().flush();
    // Wait for SIGINT/SIGTERM through the registered handlers.
    if let Some(registered) = signals {
        let (tx, rx) = crossbeam_channel::unbounded();
        if let Ok(thread) = registered.start(tx) {
            loop {
                match rx.recv() {
                    Ok(crate::state::Event::Shutdown) | Err(_) => break,
                    Ok(_) => {}
                }
            }
            thread.close();
        }
    }
    server.shutdown();
    ExitCode::SUCCESS
}
