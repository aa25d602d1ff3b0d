//! The `regiocal` binary: parses the command line, sets up logging, loads the config and hands
//! over to [`regiocal::app`].

use anyhow::Context;
use clap::{Parser, Subcommand};
use regiocal::app::{self, App, ExportFormat};
use regiocal::config::Config;
use regiocal::ingest::{Outcome, Report};
use regiocal::output::Filter;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::process::ExitCode;

/// jemalloc instead of the system allocator. An import or export allocates and frees millions
/// of small strings: with glibc's malloc that took about a sixth of the CPU, and its
/// fragmentation kept the export's peak higher. Measured at 100 feeds x 1,000 events: fetch
/// and export each about 15 % faster, the export's peak 15 MB lower (docs/performance.md).
/// Its background threads (the `background_threads` feature) purge freed pages on their own:
/// without them pages freed after a snapshot rebuild stay resident until the next burst of
/// allocations, which an idle server may not see for an hour.
#[cfg(not(target_env = "msvc"))]
#[global_allocator]
static GLOBAL: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Open-data regional event calendar: pulls local feeds, merges them, serves one calendar.
#[derive(Parser)]
#[command(name = "regiocal", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the scheduler and the HTTP server (stops gracefully on SIGINT/SIGTERM).
    Serve {
        /// Config file [default: $REGIOCAL_CONFIG or config/regiocal.toml]
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Fetch, parse, normalise and store every source (or one) once.
    Fetch {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Only this source.
        #[arg(long)]
        source: Option<String>,
    },
    /// Write the merged calendar from the store to stdout, or several formats into a folder.
    Export {
        #[arg(long)]
        config: Option<PathBuf>,
        /// Output format; repeat it with --out to write several from one snapshot.
        #[arg(long, value_enum, required = true)]
        format: Vec<ExportFormat>,
        /// Write into this folder (calendar.ics, events.json, events.jsonld, feed.atom,
        /// calendar.jcal, calendar.xcs) instead of to stdout.
        #[arg(long)]
        out: Option<PathBuf>,
        /// First day (YYYY-MM-DD, calendar time zone).
        #[arg(long)]
        from: Option<String>,
        /// Last day, inclusive.
        #[arg(long)]
        to: Option<String>,
        /// Only events in this category (repeatable).
        #[arg(long)]
        category: Vec<String>,
        /// Only events of this source (repeatable).
        #[arg(long)]
        source: Vec<String>,
    },
    /// Validate the config and try every source once without storing (feed doctor).
    Check {
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Copy the SQLite store to a new file while the daemon runs (a consistent snapshot,
    /// `VACUUM INTO`). For PostgreSQL use `pg_dump` (see docs/deployment.md).
    Backup {
        #[arg(long)]
        config: Option<PathBuf>,
        /// The backup file to write (must not exist).
        #[arg(long)]
        to: PathBuf,
    },
    /// Push API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Print a new random token for an actor (once) and the config line with its digest.
    New {
        /// The actor's id (as in `[[actor]] id`).
        #[arg(long)]
        actor: String,
    },
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| "regiocal=info".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if std::env::var("REGIOCAL_LOG_FORMAT").is_ok_and(|v| v == "json") {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn load(flag: Option<PathBuf>) -> anyhow::Result<Config> {
    let path = Config::resolve_path(flag.as_deref());
    Ok(Config::load(&path)?)
}

async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Serve { config } => {
            let app = App::open_waiting(load(config)?).await?;
            let listener = app.bind().await?;
            let addr = listener.local_addr().context("listener address")?;
            tracing::info!(%addr, sources = app.config.sources.len(), "Serving http://{addr}/calendar.ics and http://{addr}/api/v1/events");
            app.serve(listener, shutdown_signal()).await?;
            tracing::info!("Stopped.");
            Ok(ExitCode::SUCCESS)
        }
        Command::Fetch { config, source } => {
            let app = App::open(load(config)?).await?;
            let total = source.as_ref().map_or(app.config.sources.len(), |_| 1) as u64;
            let bar = indicatif::ProgressBar::new(total);
            if !std::io::stderr().is_terminal() {
                bar.set_draw_target(indicatif::ProgressDrawTarget::hidden());
            }
            if let Ok(style) = indicatif::ProgressStyle::with_template("{bar:30} {pos}/{len} {msg}")
            {
                bar.set_style(style);
            }
            let reports = app
                .fetch_all(source.as_deref(), |r| {
                    bar.set_message(r.source.clone());
                    bar.inc(1);
                })
                .await?;
            bar.finish_and_clear();
            print_summary(&reports);
            Ok(if app::all_failed(&reports) {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
        Command::Backup { config, to } => {
            let cfg = load(config)?;
            if cfg.store.url.is_some() {
                anyhow::bail!(
                    "the store is PostgreSQL: back it up with pg_dump (see docs/deployment.md)"
                );
            }
            if to.exists() {
                anyhow::bail!("{} exists already; choose a new file", to.display());
            }
            let store = regiocal::store::SqliteStore::open(&cfg.store.path).await?;
            store.backup_to(&to).await?;
            eprintln!(
                "Backed up {} to {}.",
                cfg.store.path.display(),
                to.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Export {
            config,
            format,
            out,
            from,
            to,
            category,
            source,
        } => {
            let app = App::open(load(config)?).await?;
            let date = |name: &'static str, v: Option<String>| -> anyhow::Result<_> {
                v.map(|v| {
                    regiocal::server::parse_date(name, &v)
                        .map_err(|e| anyhow::anyhow!("--{name}: {}", e.message))
                })
                .transpose()
            };
            let filter = Filter {
                from: date("from", from)?,
                to: date("to", to)?,
                categories: category,
                sources: source,
                ..Filter::default()
            };
            if let Some(dir) = out {
                for (path, bytes) in app.export_to_dir(&format, &filter, &dir).await? {
                    eprintln!("Wrote {} ({bytes} bytes).", path.display());
                }
                return Ok(ExitCode::SUCCESS);
            }
            let [format] = format[..] else {
                anyhow::bail!("--format: give one format for stdout, or several with --out DIR");
            };
            app.export_to_stdout(format, &filter).await?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Token {
            command: TokenCommand::New { actor },
        } => {
            let (token, digest) = regiocal::server::push::new_token()
                .map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
            println!(
                "Token for actor {actor:?} (shown once; give it to the actor, keep no copy):\n\n    {token}\n"
            );
            println!(
                "Put its digest into the actor's entry in the config:\n\n[[actor]]\nid = \"{actor}\"\nname = \"...\"\nsources = [\"...\"]\ntoken_sha256 = \"{digest}\""
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Check { config } => {
            let cfg = load(config)?;
            println!(
                "config {}: OK ({} sources)",
                cfg.path.display(),
                cfg.sources.len()
            );
            let fetcher = regiocal::fetch::Fetcher::new(&cfg.fetch)?;
            let mut failed = 0;
            for s in &cfg.sources {
                if s.location == regiocal::config::SourceLocation::Push {
                    println!(
                        "PUSH  {:<20} push-only: events arrive through the push API",
                        s.id
                    );
                    continue;
                }
                let r = regiocal::ingest::check_source(&cfg, &fetcher, s).await;
                match &r.error {
                    Some(e) => {
                        failed += 1;
                        println!("ERROR {:<20} {e}", s.id);
                    }
                    None => println!(
                        "OK    {:<20} {}{}, {} events, {} warnings",
                        s.id,
                        r.format.map_or("-", |f| f.name()),
                        if r.pages > 1 {
                            format!(" ({} pages)", r.pages)
                        } else {
                            String::new()
                        },
                        r.events,
                        r.warnings.len()
                    ),
                }
                for w in &r.warnings {
                    println!("      {:<20} warning: {w}", "");
                }
                if !r.unmapped_categories.is_empty() {
                    let terms: Vec<String> = r
                        .unmapped_categories
                        .iter()
                        .map(|(t, n)| format!("{t:?} ({n})"))
                        .collect();
                    println!(
                        "      {:<20} note: categories not in the vocabulary (dropped; map them with [source.category_map]): {}",
                        "",
                        terms.join(", ")
                    );
                }
            }
            // Overrides that no longer match anything in the stored calendar.
            if !cfg.overrides.is_empty() && (cfg.store.url.is_some() || cfg.store.path.exists()) {
                let app = regiocal::app::App::open(cfg.clone()).await?;
                let snap = app.snapshot().await?;
                if snap.unmatched_overrides.is_empty() {
                    println!("OK    {:<20} every override matches an event", "overrides");
                }
                for u in &snap.unmatched_overrides {
                    println!("WARN  {:<20} {u} matches nothing any more", "overrides");
                }
            }
            Ok(if failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

fn print_summary(reports: &[Report]) {
    println!(
        "{:<24} {:<10} {:>7} {:>9}  error",
        "source", "outcome", "events", "warnings"
    );
    for r in reports {
        let outcome = match r.outcome {
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::HeldBack => "held-back",
            Outcome::Failed => "FAILED",
        };
        println!(
            "{:<24} {:<10} {:>7} {:>9}  {}",
            r.source,
            outcome,
            r.events,
            r.warnings.len(),
            r.error.as_deref().unwrap_or("")
        );
    }
    let failed = reports
        .iter()
        .filter(|r| r.outcome == Outcome::Failed)
        .count();
    println!("{} sources, {} failed", reports.len(), failed);
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("Shutdown requested; finishing in-flight requests.");
}
