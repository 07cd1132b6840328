//! `careerbot publish`, and how `careerbot run` finds its set with a PostgreSQL store: the
//! version published in the database, so that every process serves the same one.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context as _;

use crate::admin::reload::{check_dir, published_label, Gate, Refusal, Reloader};
use crate::admin::store::{PgStore, Publication, Published};
use crate::config::{Database, Settings};
use crate::engine::intents;
use crate::engine::Engine;

/// The PostgreSQL store of `settings`, opened (and migrated), or why there is none.
pub fn publisher(settings: &Settings) -> anyhow::Result<PgStore> {
    match &settings.admin.database {
        Some(Database::Postgres(url)) => PgStore::open(url),
        Some(Database::File(path)) => anyhow::bail!(
            "intent sets are published only with a PostgreSQL store, and [admin] database is \
             the SQLite file {}: with SQLite, `careerbot run` serves its intents directory, \
             watched",
            path.display()
        ),
        None => anyhow::bail!(
            "intent sets are published only with a PostgreSQL store, and no database is \
             configured ([admin] database)"
        ),
    }
}

/// The set `careerbot run` serves with a PostgreSQL store: the current published version;
/// when nothing is published yet, `dir`, checked as a reload checks it and published as
/// the first version. `None` after printing why it cannot serve.
pub fn start_published(
    dir: &Path,
    settings: &Settings,
    store: PgStore,
) -> anyhow::Result<Option<Reloader>> {
    for _ in 0..2 {
        if let Some((version, files)) = store.current_intents()? {
            return Ok(serve_version(version, files, dir, settings, store));
        }
        let checked = match check_dir(
            dir,
            &settings.matcher,
            &settings.limits,
            Gate::of(settings).as_ref(),
        ) {
            Ok(checked) => checked,
            Err(refusal) => {
                eprintln!("error: the intents were refused: {}", refusal.text());
                return Ok(None);
            }
        };
        let published = store.publish(
            &checked.files,
            checked.engine.set().digest(),
            checked.engine.intents().len(),
            &format!("careerbot run, first start ({})", dir.display()),
            true,
            None,
        )?;
        match published {
            Published::New(version) => {
                tracing::info!(version, dir = %dir.display(), "nothing was published: published the intents directory");
                return Ok(Some(Reloader::published(
                    checked.engine,
                    version,
                    store,
                    dir,
                    settings,
                )));
            }
            // Another process published first: serve what it published.
            Published::Existing(_) | Published::Unchanged(_) | Published::Stale(_) => continue,
        }
    }
    anyhow::bail!("the published intent set kept changing while starting")
}

fn serve_version(
    version: u32,
    files: Vec<(String, String)>,
    dir: &Path,
    settings: &Settings,
    store: PgStore,
) -> Option<Reloader> {
    match intents::load_texts(&published_label(version), files, &settings.limits) {
        Ok(loaded) => {
            let engine = Engine::build(loaded.set, &settings.matcher);
            tracing::info!(version, "serving the published intent set");
            Some(Reloader::published(engine, version, store, dir, settings))
        }
        Err(refused) => {
            super::print_diagnostics(&refused.diagnostics);
            eprintln!(
                "error: published version {version} does not load in this careerbot; publish \
                 a set it accepts, or roll back (careerbot publish --rollback N)"
            );
            None
        }
    }
}

/// Who publishes from this command line: the user and the host, as the OS says.
fn by(what: &str) -> String {
    let user = std::env::var("USER")
        .or_else(|_| std::env::var("USERNAME"))
        .unwrap_or_else(|_| "someone".to_owned());
    let host = std::fs::read_to_string("/etc/hostname")
        .map(|h| h.trim().to_owned())
        .unwrap_or_default();
    if host.is_empty() {
        format!("{what} by {user}")
    } else {
        format!("{what} by {user}@{host}")
    }
}

/// `careerbot publish [--intents DIR] [--json]`: checks `dir` as a reload does and
/// publishes it as a new version, which every running process takes within seconds.
pub fn publish(dir: &Path, settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        dir.is_dir(),
        "intent directory {} does not exist (set it with --intents DIR)",
        dir.display()
    );
    let store = publisher(settings)?;
    let checked = match check_dir(
        dir,
        &settings.matcher,
        &settings.limits,
        Gate::of(settings).as_ref(),
    ) {
        Ok(checked) => checked,
        Err(refusal) => return refused(&refusal),
    };
    super::print_diagnostics(&checked.warnings);
    let dropped = dropped_examples(&store, &checked.engine, settings);
    if !dropped.is_empty() {
        eprintln!(
            "warning: {} examples of the version in service are not in {} and will no longer \
             be served (triage adds examples to the published set; `careerbot publish --export \
             DIR` writes it out to edit), for instance:",
            dropped.len(),
            dir.display()
        );
        for (intent, example) in dropped.iter().take(5) {
            eprintln!("  {intent}: {example:?}");
        }
    }
    let published = store.publish(
        &checked.files,
        checked.engine.set().digest(),
        checked.engine.intents().len(),
        &by("careerbot publish"),
        false,
        None,
    )?;
    let (version, new) = match published {
        Published::New(version) => (version, true),
        Published::Unchanged(version)
        | Published::Existing(version)
        | Published::Stale(version) => (version, false),
    };
    let intents = checked.engine.intents().len();
    if json {
        let value = serde_json::json!({
            "version": version,
            "published": new,
            "intents": intents,
            "digest": checked.engine.set().digest(),
            "files": checked.files.len(),
        });
        super::emit(&format!("{value:#}\n"))?;
    } else if new {
        super::emit(&format!(
            "published version {version}: {intents} intents from {} files of {}; every \
             running careerbot serves it within seconds\n",
            checked.files.len(),
            dir.display()
        ))?;
    } else {
        super::emit(&format!(
            "unchanged: version {version} in service has exactly these files; nothing was \
             published\n"
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `careerbot publish --rollback N`: makes version N current again, once it has loaded
/// and passed the gate here.
pub fn roll_back(version: u32, settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let store = publisher(settings)?;
    let Some(files) = store.intent_files(version)? else {
        anyhow::bail!("there is no published version {version} (careerbot publish --list)");
    };
    let label = published_label(version);
    let loaded = match intents::load_texts(&label, files, &settings.limits) {
        Ok(loaded) => loaded,
        Err(refused) => return self::refused(&Refusal::Invalid(refused.diagnostics)),
    };
    // Compiled only for the gate: loading alone validated it.
    if let Some(gate) = Gate::of(settings) {
        let engine = Engine::build(loaded.set, &settings.matcher);
        if let Err(refusal) = crate::admin::reload::check_gate(&engine, &gate) {
            return refused(&refusal);
        }
    }
    store.roll_back_to(
        version,
        &by(&format!("careerbot publish --rollback {version}")),
    )?;
    if json {
        let value = serde_json::json!({"version": version, "rolled_back": true});
        super::emit(&format!("{value:#}\n"))?;
    } else {
        super::emit(&format!(
            "version {version} is current again; every running careerbot serves it within \
             seconds\n"
        ))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `careerbot publish --export DIR [--version N]`: the files of a published version,
/// written into a new or empty directory.
pub fn export(settings: &Settings, version: Option<u32>, into: &Path) -> anyhow::Result<ExitCode> {
    let store = publisher(settings)?;
    let (version, files) = match version {
        Some(version) => (
            version,
            store.intent_files(version)?.ok_or_else(|| {
                anyhow::anyhow!(
                    "there is no published version {version} (careerbot publish --list)"
                )
            })?,
        ),
        None => store
            .current_intents()?
            .ok_or_else(|| anyhow::anyhow!("nothing is published yet"))?,
    };
    if into.exists() {
        anyhow::ensure!(
            into.is_dir() && std::fs::read_dir(into)?.next().is_none(),
            "{} is not an empty directory: export into a new or empty one",
            into.display()
        );
    } else {
        std::fs::create_dir_all(into)
            .with_context(|| format!("cannot create {}", into.display()))?;
    }
    for (name, text) in &files {
        let path = into.join(name);
        std::fs::write(&path, text).with_context(|| format!("cannot write {}", path.display()))?;
    }
    super::emit(&format!(
        "wrote the {} files of version {version} into {}\n",
        files.len(),
        into.display()
    ))?;
    Ok(ExitCode::SUCCESS)
}

/// Examples of the version in service that the new set does not have (added by triage,
/// most likely, to a version the directory was not exported from).
fn dropped_examples(store: &PgStore, new: &Engine, settings: &Settings) -> Vec<(String, String)> {
    let Ok(Some((version, files))) = store.current_intents() else {
        return Vec::new();
    };
    let Ok(loaded) = intents::load_texts(&published_label(version), files, &settings.limits) else {
        return Vec::new();
    };
    // Only the examples are compared: the set is validated, not compiled into a model.
    let kept: std::collections::HashSet<(&str, &str)> = new
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().map(move |e| (i.id.as_str(), e.as_str())))
        .collect();
    loaded
        .set
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().map(move |e| (i.id.clone(), e.clone())))
        .filter(|(id, example)| !kept.contains(&(id.as_str(), example.as_str())))
        .collect()
}

/// `careerbot publish --list`: every published version, newest first.
pub fn list(settings: &Settings, json: bool) -> anyhow::Result<ExitCode> {
    let store = publisher(settings)?;
    let publications = store.publications()?;
    if json {
        super::emit(&format!(
            "{}\n",
            serde_json::to_string_pretty(&publications)?
        ))?;
        return Ok(ExitCode::SUCCESS);
    }
    if publications.is_empty() {
        super::emit("nothing is published yet\n")?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut text = String::new();
    for Publication {
        version,
        digest,
        published_by,
        published_at_ms,
        intents,
        current,
    } in publications
    {
        text.push_str(&format!(
            "{} v{version:<5} {}  {intents:>5} intents  {digest}  {published_by}\n",
            if current { "*" } else { " " },
            crate::admin::report::utc(published_at_ms),
        ));
    }
    super::emit(&text)?;
    Ok(ExitCode::SUCCESS)
}

/// A refused set: every line, and exit 1.
fn refused(refusal: &Refusal) -> anyhow::Result<ExitCode> {
    eprintln!("error: not published: {}", refusal.summary());
    for line in refusal.lines() {
        eprintln!("{line}");
    }
    Ok(ExitCode::from(1))
}
