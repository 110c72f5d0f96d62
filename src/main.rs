//! The `cam2mqtt` binary: parse, initialise logging, load config, hand over.
#![forbid(unsafe_code)]

use std::io::IsTerminal as _;

use clap::Parser;
use tracing_subscriber::EnvFilter;

use cam2mqtt::cli::{self, Cli, Command};
use cam2mqtt::config::{Config, ConfigError};

async fn ctrl_c() {
    let _ = tokio::signal::ctrl_c().await;
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                () = ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    ctrl_c().await;
}

/// Threads for blocking work (tokio's default is 512).
const MAX_BLOCKING_THREADS: usize = 8;

fn main() {
    let args = Cli::parse();
    let state_dir = args.state_dir();
    let addon = args.addon_options();
    let config_path = args.config.clone().or_else(|| addon.clone());
    let log_level = args
        .log_level
        .clone()
        .or_else(|| addon.as_deref().and_then(cam2mqtt::addon::log_level))
        .unwrap_or_else(|| "info".into());
    let filter = EnvFilter::try_from_default_env()
        // A bare level also quiets the embedded broker, whose info logs are per-packet.
        .or_else(|_| {
            EnvFilter::try_new(if log_level.contains('=') {
                log_level.clone()
            } else {
                format!("{log_level},rumqttd=off")
            })
        })
        .unwrap_or_else(|_| EnvFilter::new("info"));
    // Colours only on a terminal, and never with NO_COLOR set (no-color.org).
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(ansi)
        .init();
    // Few blocking threads: each one that ever ran keeps a malloc arena, so a
    // burst of blocking jobs (snapshot fits, file writes, DNS lookups) would
    // leave the process tens of MB larger for good. Jobs beyond this queue.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .max_blocking_threads(MAX_BLOCKING_THREADS)
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            std::process::exit(1);
        }
    };
    let result = runtime.block_on(async move {
        let from_file = args.config.is_some() || addon.is_some();
        match args.command.unwrap_or(Command::Run) {
            Command::Demo(a) => cli::demo(a, shutdown_signal()).await,
            Command::Simulate(a) => cli::simulate(a, shutdown_signal()).await,
            command => {
                let cfg = match &addon {
                    Some(options) => {
                        tracing::info!(options = %options.display(), "running as a Home Assistant add-on");
                        cam2mqtt::addon::load(options, Some(&cam2mqtt::addon::user_config_path()))?
                            .config
                    }
                    None => Config::load(args.config.as_deref())?,
                };
                match command {
                    Command::Run => cam2mqtt::app::run(cfg, state_dir, shutdown_signal()).await,
                    Command::Snapshot(a) => cli::snapshot(&cfg, state_dir, a).await,
                    Command::Wifi(a) => cli::wifi(&cfg, state_dir, a).await,
                    Command::Talk(a) => cli::talk(&cfg, state_dir, a).await,
                    Command::Discover(a) => cli::discover(&cfg, state_dir, a).await,
                    Command::CheckConfig => {
                        cli::check_config(&cfg, from_file);
                        Ok(())
                    }
                    Command::Demo(_) | Command::Simulate(_) => unreachable!("handled above"),
                }
            }
        }
    });
    if let Err(mut e) = result {
        // Errors found after loading (a name that does not resolve) name the file too.
        if let Some(c) = e.downcast_mut::<ConfigError>() {
            if c.file.is_none() {
                c.file = config_path;
            }
        }
        eprintln!("error: {e:#}");
        std::process::exit(cli::exit_code(&e));
    }
}
