//! The command-line front end: flags parsed by clap, then one function per subcommand.
//!
//! Every subcommand takes `--intents DIR` and `--config FILE`; errors reach `main` as
//! `anyhow` errors and user mistakes in intent files are printed as `path:line:col: message`.

/// `writeln!` into a `String` report (writing to a `String` cannot fail).
macro_rules! line {
    ($buf:expr) => {
        $buf.push('\n')
    };
    ($buf:expr, $($arg:tt)*) => {{
        use std::fmt::Write as _;
        let _ = writeln!($buf, $($arg)*);
    }};
}

mod bench;
mod chat;
mod dashboard;
mod eval;
mod publish;
mod render;
mod report;
mod store;

use std::io::{IsTerminal as _, Write as _};
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

use crate::admin::reload::Reloader;
use crate::config::{parse_shard_range, Database, Settings, Sharding};
use crate::engine::catalog::CourseFilter;
use crate::engine::intents::{self, Level, Severity};
use crate::engine::{confusions, Engine};

/// careerbot answers questions about becoming and growing as a backend software engineer.
#[derive(Debug, Parser)]
#[command(version, about, long_about = None)]
pub struct Cli {
    /// Directory of intent files (default: `intents_dir` from the config).
    #[arg(long, global = true, value_name = "DIR")]
    pub intents: Option<PathBuf>,
    /// Settings file layered over the built-in defaults (config/default.toml).
    #[arg(long, global = true, value_name = "FILE")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Discord bot (token from the DISCORD_TOKEN environment variable).
    Run {
        /// Run only shards A to B-1 (B excluded) of --total-shards, so that several
        /// processes share the bot (default: `discord.shards`, all of them).
        #[arg(long, value_name = "A..B", value_parser = parse_shard_range)]
        shards: Option<(u32, u32)>,
        /// How many shards the bot has in all (default: `discord.total_shards`, or as many
        /// as Discord recommends).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
        total_shards: Option<u32>,
    },
    /// Answer one question, as the bot would.
    Ask {
        /// The question, in plain words.
        question: String,
        /// Print the reply as JSON (decision, intent, confidence, candidates, ...).
        #[arg(long)]
        json: bool,
    },
    /// Talk to the bot in the terminal (reads lines from stdin when it is not a terminal).
    Chat,
    /// Search the course catalog.
    Courses {
        /// Words to look for in titles, topics and providers (empty lists everything).
        #[arg(default_value = "")]
        query: String,
        /// Only courses of this level: beginner, intermediate or advanced.
        #[arg(long, value_name = "L")]
        level: Option<Level>,
        /// Only free courses.
        #[arg(long)]
        free: bool,
        /// Print the hits (or the relevance figures) as JSON.
        #[arg(long)]
        json: bool,
        /// Measure the search on a relevance table instead (TOML `[[query]]` tables with
        /// `text`, `best` and `relevant` course ids): precision at 1 and 3, fragment matches.
        #[arg(long, value_name = "FILE", conflicts_with_all = ["query", "level", "free"])]
        relevance: Option<PathBuf>,
    },
    /// Validate the intent files: exit 0 when clean, 1 with every error listed.
    Check {
        /// Skip the (slower) search for confusable examples.
        #[arg(long)]
        no_confusions: bool,
    },
    /// Measure the matcher on labelled questions (JSON lines: {"text", "intent" | null}).
    Eval {
        /// The cases file (at most 64 MiB).
        cases: PathBuf,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Exit 1 when accuracy is below this fraction (e.g. 0.95).
        #[arg(long, value_name = "FRACTION", value_parser = fraction)]
        min_accuracy: Option<f64>,
    },
    /// Benchmark on a CLINC150-format file: accuracy, out-of-scope detection, speed.
    BenchClinc {
        /// The data file (keys train, val, test, oos_train, oos_val, oos_test).
        file: PathBuf,
        /// The split to evaluate; the out-of-scope threshold is always chosen on val.
        #[arg(long, value_enum, default_value_t = bench::Split::Val)]
        split: bench::Split,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
        /// Lowest out-of-scope precision the threshold choice may accept.
        #[arg(long, default_value_t = 0.85, value_name = "FRACTION", value_parser = fraction)]
        min_oos_precision: f64,
    },
    /// Benchmark matching speed and memory on a generated set of many intents.
    BenchScale {
        /// Number of generated intents.
        #[arg(long = "intent-count", default_value_t = 2000)]
        intent_count: usize,
        /// Examples per generated intent.
        #[arg(long = "examples-per-intent", default_value_t = 25)]
        examples_per_intent: usize,
        /// Print the figures as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Publish the intents directory to every process sharing the PostgreSQL store (checked
    /// as a reload checks it), or make an older version current again.
    Publish {
        /// Make published version N current again (after checking it loads and passes the
        /// gate) instead of publishing the directory.
        #[arg(long, value_name = "N", conflicts_with = "list")]
        rollback: Option<u32>,
        /// List the published versions, newest first (`*` marks the one in service).
        #[arg(long, conflicts_with = "export")]
        list: bool,
        /// Write the files of the version in service (or of --version N) into DIR, a new or
        /// empty directory, instead of publishing: to edit what triage published.
        #[arg(long, value_name = "DIR", conflicts_with = "rollback")]
        export: Option<PathBuf>,
        /// The version --export writes (default: the one in service).
        #[arg(long, value_name = "N", requires = "export")]
        version: Option<u32>,
        /// Print the outcome as JSON.
        #[arg(long)]
        json: bool,
    },
    /// Serve the admin dashboard on this machine only (127.0.0.1), over the local intents
    /// and database, without Discord; prints a one-time login link.
    Dashboard {
        /// Where to listen: a loopback address and port (port 0 picks a free one).
        #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8787")]
        listen: std::net::SocketAddr,
    },
    /// Manage the bot's database.
    Store {
        #[command(subcommand)]
        action: StoreAction,
    },
    /// Questions, answer rates, helpfulness and unanswered questions from the bot's database.
    Report {
        /// The period: the last `Nd`, `Nh` or `Nm` (days, hours, minutes), or `all`.
        #[arg(long, default_value = "7d")]
        since: String,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
    },
}

/// `careerbot store ...`.
#[derive(Debug, Subcommand)]
pub enum StoreAction {
    /// Copy every question and vote of one database into another, such as an SQLite file
    /// into PostgreSQL. Records keep their numbers, so running it again copies only what is
    /// new; a question's triage state, the servers' settings and the audit log of admins'
    /// changes come along. Prints the counts.
    Migrate {
        /// The database to copy: an SQLite file, or a postgres:// URL.
        #[arg(long, value_name = "FILE|URL")]
        from: String,
        /// The database to copy into (created and migrated as needed).
        #[arg(long, value_name = "FILE|URL")]
        to: String,
        /// Print the counts as JSON.
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    /// Runs the chosen subcommand.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let settings = Settings::load(self.config.as_deref())?;
        init_tracing(&settings.log.level);
        let dir = self.intents.unwrap_or_else(|| settings.intents_dir.clone());
        match self.command {
            Command::Run {
                shards,
                total_shards,
            } => {
                let mut settings = settings;
                let configured = settings.discord.sharding;
                let total = total_shards.and_then(NonZeroU32::new).or(configured.total);
                match Sharding::new(shards.or(configured.range), total) {
                    Ok(sharding) => settings.discord.sharding = sharding,
                    Err(error) => {
                        eprintln!("error: {error}");
                        return Ok(ExitCode::from(2));
                    }
                }
                run_bot(dir, settings)
            }
            Command::Ask { question, json } => {
                let Some(engine) = load_engine(&dir, &settings)? else {
                    return Ok(ExitCode::FAILURE);
                };
                // One message, no conversation: two questions in it are both answered.
                let rule = settings.conversation.rule();
                let mut reply = engine.reply_after(&question, None, &rule);
                // What a watched channel or a forum post would need to answer it unasked.
                let channel = settings.discord.channel_min_confidence;
                reply.explanation.bar = Some(engine.unprompted_bar(&reply, channel));
                let mut out = std::io::stdout().lock();
                if json {
                    // Text first: serde_json's own error would hide a closed pipe's.
                    writeln!(out, "{}", serde_json::to_string_pretty(&reply)?)?;
                } else {
                    writeln!(out, "{}", render::reply(&engine, &settings.replies, &reply))?;
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Chat => {
                let Some(reloader) = start_reloader(&dir, &settings)? else {
                    return Ok(ExitCode::FAILURE);
                };
                let reloader = std::sync::Arc::new(reloader);
                let _watch = chat::watch(&reloader, &settings);
                let (input, output) = (std::io::stdin().lock(), std::io::stdout().lock());
                chat::run(&reloader, &settings, input, output)?;
                Ok(ExitCode::SUCCESS)
            }
            Command::Courses {
                query,
                level,
                free,
                json,
                relevance,
            } => {
                let Some(engine) = load_engine(&dir, &settings)? else {
                    return Ok(ExitCode::FAILURE);
                };
                if let Some(table) = relevance {
                    return eval::course_relevance(&engine, &table, json);
                }
                let filter = CourseFilter {
                    level,
                    free_only: free,
                };
                let hits = engine.catalog().search(&query, &filter, 25);
                let mut out = std::io::stdout().lock();
                if json {
                    let rows: Vec<_> = hits.iter().map(render::course_json).collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&rows)?)?;
                } else if hits.is_empty() {
                    writeln!(out, "No course matches {query:?}.")?;
                } else {
                    for hit in &hits {
                        writeln!(out, "{}", render::course_line(hit.course))?;
                    }
                }
                Ok(ExitCode::SUCCESS)
            }
            Command::Check { no_confusions } => check(&dir, &settings, !no_confusions),
            Command::Eval {
                cases,
                json,
                min_accuracy,
            } => {
                let Some(engine) = load_engine(&dir, &settings)? else {
                    return Ok(ExitCode::FAILURE);
                };
                eval::run(&engine, &cases, json, min_accuracy)
            }
            Command::BenchClinc {
                file,
                split,
                json,
                min_oos_precision,
            } => bench::clinc(&file, split, json, min_oos_precision, &settings),
            Command::BenchScale {
                intent_count,
                examples_per_intent,
                json,
            } => bench::scale(intent_count, examples_per_intent, json, &settings),
            Command::Report { since, json } => report::run(&settings, &since, json),
            Command::Dashboard { listen } => dashboard::run(dir, settings, listen),
            Command::Store {
                action: StoreAction::Migrate { from, to, json },
            } => store::migrate(&from, &to, json),
            Command::Publish {
                rollback: Some(version),
                json,
                ..
            } => publish::roll_back(version, &settings, json),
            Command::Publish {
                list: true, json, ..
            } => publish::list(&settings, json),
            Command::Publish {
                export: Some(into),
                version,
                ..
            } => publish::export(&settings, version, &into),
            Command::Publish { json, .. } => publish::publish(&dir, &settings, json),
        }
    }
}

/// `careerbot run`: check the token, load the intents, then serve Discord until SIGINT or
/// SIGTERM.
/// A missing or malformed token exits with code 2 before anything connects. The signals
/// are listened for before the intents load, so one that comes while they load (which may
/// take a while: a big set, a slow disk, a reload gate over many cases) stops `run`
/// cleanly too.
fn run_bot(dir: PathBuf, settings: Settings) -> anyhow::Result<ExitCode> {
    let token = match settings.discord.token() {
        Ok(token) => token,
        Err(error) => {
            eprintln!("error: {error}");
            return Ok(ExitCode::from(2));
        }
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")?;
    let served = runtime.block_on(async {
        let shutdown = shutdown_signal();
        let hangups = crate::bot::Hangups::listen();
        let mut shutdown = std::pin::pin!(shutdown);
        tracing::info!(dir = %dir.display(), "loading the intents");
        let reloader = tokio::select! {
            loaded = load_in_background(dir, settings.clone()) => loaded?,
            () = &mut shutdown => {
                tracing::info!("shutting down while loading the intents");
                return Ok(true);
            }
        };
        let Some(reloader) = reloader else {
            return Ok(false);
        };
        crate::bot::run(settings, token, reloader, hangups, shutdown)
            .await
            .map(|()| true)
    });
    // A load still running (a signal came first) is left behind, not waited for.
    runtime.shutdown_background();
    Ok(if served? {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// [`start_reloader`] on a thread of its own, so that the caller can stop waiting for it;
/// a blocking task of the runtime would hold the runtime's end instead.
async fn load_in_background(dir: PathBuf, settings: Settings) -> anyhow::Result<Option<Reloader>> {
    let (done, loaded) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name("load-intents".to_owned())
        .spawn(move || {
            let _ = done.send(start_reloader(&dir, &settings));
        })
        .context("cannot start loading the intents")?;
    loaded
        .await
        .context("loading the intents stopped unexpectedly")?
}

/// A number from 0 to 1 (`nan` is not one: every comparison with it is false, so a gate at
/// `nan` would pass anything).
fn fraction(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(value) if (0.0..=1.0).contains(&value) => Ok(value),
        _ => Err(format!(
            "expected a fraction from 0 to 1 such as 0.95, not {text:?}"
        )),
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM. The handlers are installed by this call, not at
/// the first poll, so a signal that comes early is still caught. Needs a tokio runtime.
fn shutdown_signal() -> impl std::future::Future<Output = ()> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let listen = |kind: SignalKind| {
            signal(kind)
                .inspect_err(|error| tracing::warn!(%error, "cannot listen for a shutdown signal"))
                .ok()
        };
        let (interrupt, terminate) = (
            listen(SignalKind::interrupt()),
            listen(SignalKind::terminate()),
        );
        let wait = |signal: Option<tokio::signal::unix::Signal>| async move {
            match signal {
                Some(mut signal) => {
                    signal.recv().await;
                }
                None => std::future::pending().await,
            }
        };
        async move {
            tokio::select! {
                () = wait(interrupt) => {}
                () = wait(terminate) => {}
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Loads and compiles the intents, or prints every error and returns `None`.
fn load_engine(dir: &std::path::Path, settings: &Settings) -> anyhow::Result<Option<Engine>> {
    anyhow::ensure!(
        dir.is_dir(),
        "intent directory {} does not exist (set it with --intents DIR)",
        dir.display()
    );
    match Engine::load(dir, &settings.matcher, &settings.limits) {
        Ok((engine, _warnings)) => Ok(Some(engine)),
        Err(diagnostics) => {
            print_diagnostics(&diagnostics);
            Ok(None)
        }
    }
}

/// The first set, loaded and passed through the reload gate, ready to serve and reload; or
/// `None` after printing every error or the gate's refusal.
fn start_reloader(dir: &std::path::Path, settings: &Settings) -> anyhow::Result<Option<Reloader>> {
    if let Some(Database::Postgres(_)) = &settings.admin.database {
        return publish::start_published(dir, settings, publish::publisher(settings)?);
    }
    let Some(engine) = load_engine(dir, settings)? else {
        return Ok(None);
    };
    match Reloader::new(engine, dir, settings) {
        Ok(reloader) => Ok(Some(reloader)),
        Err(refusal) => {
            eprintln!("error: the intents were refused: {}", refusal.text());
            Ok(None)
        }
    }
}

fn print_diagnostics(diagnostics: &[intents::Diagnostic]) {
    let mut err = std::io::stderr().lock();
    for d in diagnostics {
        let _ = writeln!(err, "{d}");
    }
}

/// `careerbot check`: every error and warning, then a one-line verdict.
fn check(dir: &std::path::Path, settings: &Settings, confusable: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        dir.is_dir(),
        "intent directory {} does not exist",
        dir.display()
    );
    let (diagnostics, counts) = match intents::load_dir(dir, &settings.limits) {
        Ok(loaded) => {
            let mut diagnostics = loaded.warnings;
            if confusable {
                diagnostics.extend(confusions::find(&loaded.set, &settings.matcher));
            }
            (diagnostics, loaded.set.counts())
        }
        Err(refused) => (refused.diagnostics, refused.read),
    };
    let errors = diagnostics
        .iter()
        .filter(|d| d.severity == Severity::Error)
        .count();
    print_diagnostics(&diagnostics);
    let warnings = diagnostics.len() - errors;
    let summary = format!(
        "{}: {} intents, {} examples, {} courses; {errors} errors, {warnings} warnings",
        intents::printable_path(dir),
        counts.intents,
        counts.examples,
        counts.courses,
    );
    if errors > 0 {
        eprintln!("{summary}");
        Ok(ExitCode::FAILURE)
    } else {
        emit(&format!("{summary}\n"))?;
        Ok(ExitCode::SUCCESS)
    }
}

/// Writes to stdout; a reader that went away (`careerbot eval ... | head`) is not an error.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Reads a whole small file with a helpful error.
fn read_text(path: &std::path::Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))
}

/// Crates whose debug and trace output shows raw traffic: tungstenite prints every gateway
/// frame (the IDENTIFY frame holds the token), the HTTP stack prints requests.
const WIRE_CRATES: [&str; 7] = [
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "h2",
    "reqwest",
    "rustls",
];

/// Logs go to stderr (coloured only on a terminal), filtered by `RUST_LOG` (default: `log.level`). Whatever `RUST_LOG`
/// says, the wire crates log at info at most, so no log level can print the token.
pub fn init_tracing(level: &str) {
    use tracing_subscriber::prelude::*;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(level))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let no_wire = tracing_subscriber::filter::filter_fn(|meta| {
        *meta.level() <= tracing::Level::INFO
            || !WIRE_CRATES.iter().any(|krate| {
                let target = meta.target();
                target
                    .strip_prefix(krate)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
            })
    });
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                // Colour codes are for a terminal; in a file or a journal they are noise.
                .with_ansi(std::io::stderr().is_terminal())
                .with_filter(no_wire),
        )
        .try_init();
}
