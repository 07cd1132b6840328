//! The admin dashboard: a web front end over the same machinery as `/careerbot` (the
//! reloader's set in service, the store's reports). axum serves it on the bot's tokio
//! runtime; pages are maud templates, which escape every value, rendered on the server, with
//! the charts as SVG, so it works with JavaScript off. Nothing here edits the intents but
//! through the admin layer's validated, gated path.
//!
//! Sessions live in signed cookies (HttpOnly, SameSite=Lax, with an expiry); every form
//! carries the session's CSRF token. `careerbot dashboard` logs its admin in with a
//! one-time link printed at start.

mod auth;
mod chart;
mod markdown;
mod pages;

use auth::Login;
pub use auth::{Admin, OAuth, Scope};

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use anyhow::Context as _;
use axum::extract::{FromRef, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::Key;
use serde::Deserialize;
use tracing::{error, info, warn};

use crate::admin::audit::AuditEntry;
use crate::admin::edit::Change;
use crate::admin::reload::Reloader;
use crate::admin::report;
use crate::admin::store::{now_ms, Database, Store};
use crate::admin::triage::{self, Filed};
use crate::admin::unanswered::Group;
use crate::config::{Secret, Settings};

/// The longest question the playground takes, in bytes (as `/ask`'s 1,000 characters).
const MAX_QUESTION: usize = 4_000;

/// The dashboard's shared state.
pub struct Dashboard {
    reloader: Arc<Reloader>,
    settings: Settings,
    /// The store reports read, if any.
    database: Option<Database>,
    /// Signs session cookies; made afresh each start, so sessions end with the process.
    key: Key,
    login: Login,
    failures: auth::Failures,
    revoked: auth::Revoked,
    /// Whether cookies are marked Secure (the dashboard's address is https).
    secure: bool,
    /// Held from an edit of the intents to the reload's verdict, one at a time: shared
    /// with the bot's `/careerbot unanswered` when both run, so one's undo can never take
    /// back the other's edit.
    filing: Arc<tokio::sync::Mutex<()>>,
}

/// The routes' state: the dashboard, shared.
#[derive(Clone)]
pub struct App(Arc<Dashboard>);

impl std::ops::Deref for App {
    type Target = Dashboard;
    fn deref(&self) -> &Dashboard {
        &self.0
    }
}

impl FromRef<App> for Key {
    fn from_ref(app: &App) -> Key {
        app.key.clone()
    }
}

/// `n` random bytes from the operating system, as hex.
fn random_hex(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    getrandom::fill(&mut bytes).expect("the operating system gives random bytes");
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl Dashboard {
    /// The local dashboard over `reloader`'s set and the configured store, and its one-time
    /// login token.
    pub fn local(reloader: Arc<Reloader>, settings: Settings) -> (Arc<Dashboard>, String) {
        let token = random_hex(32);
        let login = Login::Local(Mutex::new(Some(token.clone())));
        let filing = Arc::default();
        (
            Dashboard::new(reloader, settings, login, false, filing),
            token,
        )
    }

    /// The dashboard of `careerbot run`, logged into with Discord; `filing` is the lock the
    /// bot's own triage holds.
    pub fn discord(
        reloader: Arc<Reloader>,
        settings: Settings,
        oauth: OAuth,
        filing: Arc<tokio::sync::Mutex<()>>,
    ) -> Arc<Dashboard> {
        let secure = settings
            .web
            .base_url()
            .is_some_and(|url| url.scheme() == "https");
        Dashboard::new(
            reloader,
            settings,
            Login::Discord(Box::new(oauth)),
            secure,
            filing,
        )
    }

    fn new(
        reloader: Arc<Reloader>,
        settings: Settings,
        login: Login,
        secure: bool,
        filing: Arc<tokio::sync::Mutex<()>>,
    ) -> Arc<Dashboard> {
        let mut key = [0u8; 64];
        getrandom::fill(&mut key).expect("the operating system gives random bytes");
        Arc::new(Dashboard {
            reloader,
            database: settings.admin.database.clone(),
            settings,
            key: Key::from(&key),
            login,
            failures: auth::Failures::default(),
            revoked: auth::Revoked::default(),
            secure,
            filing,
        })
    }
}

/// The routes.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/login", get(auth::login))
        .route("/auth/callback", get(auth::callback))
        .route("/logout", post(auth::logout))
        .route("/playground", get(playground).post(ask))
        .route("/intents", get(intents))
        .route("/intents/{id}", get(intent).post(edit_intent))
        .route("/history", get(history))
        .route("/unanswered", get(unanswered).post(file_group))
        .route("/static/style.css", get(style))
        .fallback(not_found)
        .with_state(App(dashboard))
}

/// Serves `dashboard` on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    dashboard: Arc<Dashboard>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let address: SocketAddr = listener.local_addr()?;
    info!(%address, "serving the dashboard");
    axum::serve(listener, router(dashboard))
        .with_graceful_shutdown(shutdown)
        .await
}

/// The environment variable holding the OAuth2 client secret (never read from a file).
pub const CLIENT_SECRET_VARIABLE: &str = "DISCORD_CLIENT_SECRET";

/// The OAuth2 client secret from [`CLIENT_SECRET_VARIABLE`], which `careerbot run` needs
/// when it serves the dashboard.
pub fn client_secret() -> anyhow::Result<Secret> {
    match std::env::var(CLIENT_SECRET_VARIABLE) {
        Ok(secret) if !secret.trim().is_empty() => Ok(Secret::new(secret.trim())),
        _ => anyhow::bail!(
            "[web] listen is set, so the dashboard needs the application's OAuth2 client \
             secret (Developer Portal > OAuth2) in {CLIENT_SECRET_VARIABLE}"
        ),
    }
}

/// The dashboard `careerbot run` serves; it stops when this is dropped.
pub struct Serving(tokio::task::JoinHandle<()>);

impl Drop for Serving {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the dashboard of `careerbot run` on `[web] listen`, logged into with Discord:
/// binds at once (so an address in use stops the bot with one line), then serves in a task
/// of the bot's runtime. `http` calls Discord (bounded in time); `filing` is the bot's
/// triage lock.
pub async fn start(
    reloader: Arc<Reloader>,
    settings: Settings,
    bot_token: Secret,
    client_secret: Secret,
    http: reqwest::Client,
    filing: Arc<tokio::sync::Mutex<()>>,
) -> anyhow::Result<Serving> {
    let web = &settings.web;
    let listen = web.listen.context("[web] listen is not set")?;
    let api_base = settings.discord.api_base.clone();
    let client_id = match web.client_id {
        Some(id) => id.get(),
        None => OAuth::application_id(&http, &api_base, &bot_token)
            .await
            .context("cannot ask Discord for the application id ([web] client_id = 0)")?,
    };
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .with_context(|| format!("the dashboard cannot listen on {listen} ([web] listen)"))?;
    // The address as bound (`listen` may ask for any free port) when no public one is set.
    let base = match &web.public_url {
        Some(url) => url.as_str().trim_end_matches('/').to_owned(),
        None => format!("http://{}", listener.local_addr()?),
    };
    let oauth = OAuth {
        client_id,
        client_secret,
        bot_token,
        api_base,
        redirect_uri: format!("{base}/auth/callback"),
        http,
        served: tokio::sync::Mutex::new(None),
    };
    info!(redirect_uri = %oauth.redirect_uri, "the dashboard logs in with Discord");
    let dashboard = Dashboard::discord(reloader, settings, oauth, filing);
    let task = tokio::spawn(async move {
        if let Err(error) = serve(listener, dashboard, std::future::pending()).await {
            error!("the dashboard stopped: {error}");
        }
    });
    Ok(Serving(task))
}

/// A form with only its CSRF token; a form without one is refused like a wrong one.
#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

fn csrf_refused() -> Response {
    let page = pages::refused(
        "Form refused",
        "The form's security token does not match your session. Reload the page and try again.",
    );
    (StatusCode::FORBIDDEN, page).into_response()
}

#[derive(Deserialize)]
struct Period {
    days: Option<u32>,
}

/// The periods the overview offers, in days.
const PERIODS: [u32; 3] = [7, 30, 90];

/// `GET /?days=N`: questions per day by decision, the top intents, helpfulness and the
/// unanswered count.
async fn overview(
    admin: Admin,
    State(dashboard): State<App>,
    Query(period): Query<Period>,
) -> Response {
    let days = period
        .days
        .filter(|d| PERIODS.contains(d))
        .unwrap_or(PERIODS[0]);
    let below = dashboard.settings.admin.unanswered_below;
    let similarity = dashboard.settings.admin.group_similarity;
    let until = now_ms();
    let since = until - i64::from(days) * 86_400_000;
    let servers = admin.scope.servers();
    let built = read_store(&dashboard, move |store| {
        report::build(store, since, until, below, similarity, &servers)
    })
    .await;
    match built {
        Ok(Some(report)) => pages::overview(&admin, days, &PERIODS, &report).into_response(),
        Ok(None) => {
            pages::overview_without_store(&admin, dashboard.database.is_some()).into_response()
        }
        Err(page) => page,
    }
}

/// Reads the store off the runtime: `None` when there is none (yet), an error page when
/// it cannot be read.
async fn read_store<T: Send + 'static>(
    dashboard: &Dashboard,
    read: impl FnOnce(&Store) -> anyhow::Result<T> + Send + 'static,
) -> Result<Option<T>, Response> {
    let Some(database) = dashboard.database.clone() else {
        return Ok(None);
    };
    if matches!(&database, Database::File(path) if !path.exists()) {
        return Ok(None);
    }
    let read = tokio::task::spawn_blocking(move || read(&Store::open_read_only(&database)?)).await;
    match read {
        Ok(Ok(value)) => Ok(Some(value)),
        Ok(Err(error)) => {
            warn!("the dashboard could not read the store: {error:#}");
            let page = pages::refused(
                "The store cannot be read",
                "The database did not answer as it should; the bot's log says why.",
            );
            Err((StatusCode::SERVICE_UNAVAILABLE, page).into_response())
        }
        Err(error) => Err((StatusCode::INTERNAL_SERVER_ERROR, error.to_string()).into_response()),
    }
}

/// `GET /intents`: every intent in service, with its answers and votes of the last 30 days.
async fn intents(admin: Admin, State(dashboard): State<App>) -> Response {
    const DAYS: u32 = 30;
    let until = now_ms();
    let since = until - i64::from(DAYS) * 86_400_000;
    let servers = admin.scope.servers();
    let figures = read_store(&dashboard, move |store| {
        // Every intent (the report cuts its lists to the top few).
        store.aggregates(since, until, 10_000, 0, &servers)
    })
    .await;
    let figures = match figures {
        Ok(figures) => figures,
        Err(page) => return page,
    };
    let served = dashboard.reloader.served();
    let rows: Vec<pages::IntentRow<'_>> = served
        .engine
        .intents()
        .iter()
        .map(|intent| {
            let answers = figures.as_ref().map_or(0, |f| {
                f.top_intents
                    .iter()
                    .find(|c| c.intent == intent.id)
                    .map_or(0, |c| c.count)
            });
            let (up, down) = figures.as_ref().map_or((0, 0), |f| {
                f.helpfulness
                    .iter()
                    .find(|h| h.intent == intent.id)
                    .map_or((0, 0), |h| (h.up, h.down))
            });
            pages::IntentRow {
                intent,
                answers,
                up,
                down,
            }
        })
        .collect();
    let days = figures.is_some().then_some(DAYS);
    pages::intents(&admin, days, &rows).into_response()
}

/// `GET /intents/{id}`.
async fn intent(
    admin: Admin,
    State(dashboard): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Response {
    let served = dashboard.reloader.served();
    let Some(intent) = served.engine.intent(&id) else {
        return not_found().await;
    };
    let editing = pages::Editing {
        notice: None,
        answer: &intent.answer,
        draft: false,
        answer_errors: &[],
        example: "",
        example_errors: &[],
    };
    pages::intent(&admin, &served.engine, intent, &editing).into_response()
}

#[derive(Deserialize)]
struct EditForm {
    #[serde(default)]
    csrf: String,
    /// `preview`, `answer` (save it), `add` or `remove` (an example).
    #[serde(default)]
    action: String,
    #[serde(default)]
    answer: String,
    #[serde(default)]
    example: String,
}

/// The longest answer or example a form may post, in bytes; the edit itself holds them to
/// their own limits.
const MAX_FIELD: usize = 16_000;

/// `POST /intents/{id}`: previews or saves the answer, adds or removes an example; every
/// change through the same validated, gated reload as triage, one at a time.
async fn edit_intent(
    admin: Admin,
    State(dashboard): State<App>,
    axum::extract::Path(id): axum::extract::Path<String>,
    Form(form): Form<EditForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return csrf_refused();
    }
    if dashboard.reloader.served().engine.intent(&id).is_none() {
        return not_found().await;
    }
    let answer = form.answer.replace("\r\n", "\n");
    let oversized = answer.len() > MAX_FIELD || form.example.len() > MAX_FIELD;
    let change = match form.action.as_str() {
        _ if oversized => None,
        "answer" => Some(Change::SetAnswer(answer.clone())),
        "add" => Some(Change::AddExample(form.example.clone())),
        "remove" => Some(Change::RemoveExample(form.example.clone())),
        _ => None,
    };
    let on_answer = matches!(form.action.as_str(), "answer" | "preview");
    let mut errors: Vec<String> = Vec::new();
    let mut notice = None;
    let mut changed = false;
    if oversized {
        errors.push(format!("Too long: at most {MAX_FIELD} bytes."));
    } else if let Some(change) = change {
        let _one_at_a_time = dashboard.filing.lock().await;
        let reloader = Arc::clone(&dashboard.reloader);
        let by = format!("dashboard ({})", admin.who);
        let (intent, edit) = (id.clone(), change.clone());
        let done =
            tokio::task::spawn_blocking(move || triage::change(&reloader, &intent, &edit, &by))
                .await;
        let outcome = match done {
            Ok(Filed::Added { reloaded, .. }) => {
                changed = true;
                notice = Some(pages::Notice {
                    ok: true,
                    text: format!(
                        "Saved: {}. {} intents in service.",
                        describe(&change),
                        reloaded.intents
                    ),
                    lines: reloaded.warnings.iter().map(ToString::to_string).collect(),
                });
                "done".to_owned()
            }
            Ok(Filed::Duplicate { intent, .. }) => {
                errors.push(format!("That example is already listed under {intent}."));
                "refused: a duplicate".to_owned()
            }
            Ok(Filed::Refused { refusal, kept }) => {
                errors.push(format!(
                    "Not saved: {}. The set in service is unchanged.{}",
                    refusal.summary(),
                    kept.map(|why| format!(" {why}")).unwrap_or_default()
                ));
                errors.extend(refusal.lines());
                format!("refused: {}", refusal.summary())
            }
            Ok(Filed::Failed(error)) => {
                errors.push(format!("Not saved: {error}."));
                format!("refused: {error}")
            }
            Err(error) => {
                errors.push(format!("Not saved: {error}."));
                format!("failed: {error}")
            }
        };
        audit_change(&dashboard, &admin, &id, &change, outcome).await;
    }
    let served = dashboard.reloader.served();
    let Some(intent) = served.engine.intent(&id) else {
        // Gone with the reload (an admin's other edit): back to the list.
        return axum::response::Redirect::to("/intents").into_response();
    };
    // A saved answer shows as it is in service; a preview or a refused one as written.
    let draft = on_answer && !changed;
    let none: &[String] = &[];
    let editing = pages::Editing {
        notice: notice.as_ref(),
        answer: if draft { &answer } else { &intent.answer },
        draft,
        answer_errors: if on_answer { &errors } else { none },
        example: if !on_answer && !changed && form.action == "add" {
            &form.example
        } else {
            ""
        },
        example_errors: if on_answer { none } else { &errors },
    };
    pages::intent(&admin, &served.engine, intent, &editing).into_response()
}

/// What a change did, in words.
fn describe(change: &Change) -> String {
    match change {
        Change::AddExample(example) => format!("added the example “{example}”"),
        Change::RemoveExample(example) => format!("removed the example “{example}”"),
        Change::SetAnswer(_) => "the new answer".to_owned(),
    }
}

/// Keeps an admin's change in the audit log (when there is a store); a failure to is logged.
async fn audit_change(
    dashboard: &Dashboard,
    admin: &Admin,
    intent: &str,
    change: &Change,
    outcome: String,
) {
    let (action, detail) = match change {
        Change::AddExample(example) => ("add_example", format!("{intent}: “{example}”")),
        Change::RemoveExample(example) => ("remove_example", format!("{intent}: “{example}”")),
        Change::SetAnswer(answer) => (
            "set_answer",
            format!("{intent}: {} characters", answer.chars().count()),
        ),
    };
    record(dashboard, admin, None, action, detail, outcome).await;
}

/// Writes one entry of the audit log.
async fn record(
    dashboard: &Dashboard,
    admin: &Admin,
    guild: Option<u64>,
    action: &str,
    detail: String,
    outcome: String,
) {
    let Some(database) = dashboard.database.clone() else {
        return;
    };
    let entry = AuditEntry::dashboard(&admin.who, admin.id, guild, action, detail, outcome);
    let written =
        tokio::task::spawn_blocking(move || Store::open(&database)?.record_audit(&entry)).await;
    match written {
        Ok(Ok(_)) => {}
        Ok(Err(error)) => warn!("could not write the audit log: {error:#}"),
        Err(error) => warn!("could not write the audit log: {error}"),
    }
}

/// Audit actions whose detail holds members' questions.
const QUEUE_ACTIONS: [&str; 2] = ["file_example", "ignore_group"];

/// `GET /history`: reloads, published versions and the audit log.
async fn history(admin: Admin, State(dashboard): State<App>) -> Response {
    const SHOWN: usize = 200;
    let reloads = dashboard.reloader.history();
    let publications = match dashboard.reloader.publisher() {
        Some(store) => {
            let store = store.clone();
            match tokio::task::spawn_blocking(move || store.publications()).await {
                Ok(Ok(publications)) => Some(publications),
                Ok(Err(error)) => {
                    warn!("could not read the published versions: {error:#}");
                    None
                }
                Err(_) => None,
            }
        }
        None => None,
    };
    let entries = match read_store(&dashboard, |store| store.audit_log(None, SHOWN)).await {
        Ok(entries) => entries.map(|entries| {
            entries
                .into_iter()
                // A server's changes to its admins; intent edits (which every server
                // shares) to all; a queue's questions of no one server to who filed them.
                .filter(|e| match e.guild {
                    Some(_) => admin.scope.sees(e.guild),
                    None => {
                        !QUEUE_ACTIONS.contains(&e.action.as_str())
                            || admin.scope == Scope::All
                            || (e.admin_id.is_some() && e.admin_id == admin.id)
                    }
                })
                .collect::<Vec<_>>()
        }),
        Err(page) => return page,
    };
    let entries = match (&entries, &dashboard.database) {
        (None, Some(_)) => Some(Vec::new()),
        _ => entries,
    };
    pages::history(
        &admin,
        &reloads,
        publications.as_deref(),
        entries.as_deref(),
    )
    .into_response()
}

/// Groups of the queue offered at most.
const GROUPS_SHOWN: usize = 50;
/// Intents offered for one group.
const INTENTS_OFFERED: usize = 8;
/// The menu value that drops a group from the queue.
const IGNORE: &str = "ignore";

/// The queue's groups, biggest first (`None` without a store).
async fn queue(dashboard: &Dashboard, scope: &Scope) -> Result<Option<Vec<Group>>, Response> {
    let below = dashboard.settings.admin.unanswered_below;
    let similarity = dashboard.settings.admin.group_similarity;
    let servers = scope.servers();
    read_store(dashboard, move |store| {
        let questions = store.unanswered_between(0, i64::MAX, below, 10_000, &servers)?;
        Ok(crate::admin::unanswered::group(&questions, similarity).groups)
    })
    .await
}

/// The unanswered page over `groups`, with `notice` above.
fn queue_page(
    dashboard: &Dashboard,
    admin: &Admin,
    groups: &[Group],
    notice: Option<&pages::Notice>,
) -> Response {
    let served = dashboard.reloader.served();
    let engine = &served.engine;
    let rows: Vec<pages::QueueRow<'_>> = groups
        .iter()
        .take(GROUPS_SHOWN)
        .map(|group| {
            let offered = group
                .likely_intents(engine, INTENTS_OFFERED)
                .into_iter()
                .map(|intent| (intent.id.as_str(), intent.title.as_str()))
                .collect();
            pages::QueueRow { group, offered }
        })
        .collect();
    pages::unanswered(admin, &rows, notice).into_response()
}

/// `GET /unanswered`: the queue's groups, as `/careerbot unanswered` groups them.
async fn unanswered(admin: Admin, State(dashboard): State<App>) -> Response {
    match queue(&dashboard, &admin.scope).await {
        Ok(groups) => queue_page(&dashboard, &admin, &groups.unwrap_or_default(), None),
        Err(page) => page,
    }
}

#[derive(Deserialize)]
struct FileForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    text: String,
    #[serde(default)]
    choice: String,
}

/// `POST /unanswered`: files a group under an intent, or ignores it.
async fn file_group(
    admin: Admin,
    State(dashboard): State<App>,
    Form(form): Form<FileForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return csrf_refused();
    }
    // Held from reading the queue: another admin's filing of the same group (here or
    // from Discord) is seen, not redone.
    let _one_at_a_time = dashboard.filing.lock().await;
    let groups = match queue(&dashboard, &admin.scope).await {
        Ok(groups) => groups.unwrap_or_default(),
        Err(page) => return page,
    };
    // The group as the queue holds it now, not as the form says it was.
    let Some(group) = groups.iter().find(|g| g.text == form.text).cloned() else {
        let notice = pages::Notice {
            ok: false,
            text: "That group is no longer in the queue: nothing was changed.".to_owned(),
            lines: Vec::new(),
        };
        return queue_page(&dashboard, &admin, &groups, Some(&notice));
    };
    let known = form.choice == IGNORE
        || dashboard
            .reloader
            .served()
            .engine
            .intent(&form.choice)
            .is_some();
    if !known {
        let notice = failed("No such intent: nothing was changed.".to_owned());
        return queue_page(&dashboard, &admin, &groups, Some(&notice));
    }
    let notice = file_or_ignore(&dashboard, &admin, &group, &form.choice).await;
    let what = if form.choice == IGNORE {
        (
            "ignore_group",
            format!("“{}” ({} questions)", group.text, group.count),
        )
    } else {
        (
            "file_example",
            format!(
                "{}: “{}” ({} questions)",
                form.choice, group.text, group.count
            ),
        )
    };
    let outcome = if notice.ok {
        "done".to_owned()
    } else {
        format!("refused: {}", notice.text)
    };
    // The questions' server, for a Discord admin of one (what they see is theirs); for
    // several, none: the History page then shows it to this admin only.
    let guild = match admin.scope.guilds() {
        Some([only]) => Some(*only),
        _ => None,
    };
    record(&dashboard, &admin, guild, what.0, what.1, outcome).await;
    match queue(&dashboard, &admin.scope).await {
        Ok(groups) => queue_page(
            &dashboard,
            &admin,
            &groups.unwrap_or_default(),
            Some(&notice),
        ),
        Err(page) => page,
    }
}

/// Files `group` under the intent `choice`, or ignores it: what became of it.
async fn file_or_ignore(
    dashboard: &Dashboard,
    admin: &Admin,
    group: &Group,
    choice: &str,
) -> pages::Notice {
    if choice == IGNORE {
        match resolve(dashboard, group, IGNORE).await {
            Ok(()) => pages::Notice {
                ok: true,
                text: format!("Ignored “{}” ({} questions).", group.text, group.count),
                lines: Vec::new(),
            },
            Err(error) => failed(format!("Could not update the queue: {error:#}")),
        }
    } else {
        let reloader = Arc::clone(&dashboard.reloader);
        let (intent, example) = (choice.to_owned(), group.text.clone());
        let by = format!("dashboard ({})", admin.who);
        let filed =
            tokio::task::spawn_blocking(move || triage::file(&reloader, &intent, &example, &by))
                .await;
        match filed {
            Ok(Filed::Added { done, reloaded }) => {
                let resolved = resolve(dashboard, group, &done.intent).await;
                info!(intent = %done.intent, "filed an unanswered question from the dashboard");
                pages::Notice {
                    ok: true,
                    text: format!(
                        "Added “{}” as an example of {}: {} intents in service.{}",
                        done.example,
                        done.intent,
                        reloaded.intents,
                        resolved.err().map_or(String::new(), |e| format!(
                            " (The queue could not be updated: {e:#}.)"
                        ))
                    ),
                    lines: Vec::new(),
                }
            }
            Ok(Filed::Duplicate { intent, .. }) => {
                let _ = resolve(dashboard, group, &intent).await;
                pages::Notice {
                    ok: true,
                    text: format!(
                        "“{}” is already an example of {intent}, so nothing was added; the group left the queue.",
                        group.text
                    ),
                    lines: Vec::new(),
                }
            }
            Ok(Filed::Refused { refusal, kept }) => pages::Notice {
                ok: false,
                text: format!(
                    "The example was not kept: {}. The set in service is unchanged.{}",
                    refusal.summary(),
                    kept.map(|why| format!(" {why}")).unwrap_or_default()
                ),
                lines: refusal.lines(),
            },
            Ok(Filed::Failed(error)) => failed(format!("Could not add the example: {error}")),
            Err(error) => failed(format!("Could not add the example: {error}")),
        }
    }
}

fn failed(text: String) -> pages::Notice {
    pages::Notice {
        ok: false,
        text,
        lines: Vec::new(),
    }
}

/// Takes `group` out of the queue, settled as `action`.
async fn resolve(dashboard: &Dashboard, group: &Group, action: &str) -> anyhow::Result<()> {
    let Some(database) = dashboard.database.clone() else {
        anyhow::bail!("no database is configured");
    };
    let (ids, action) = (group.ids.clone(), action.to_owned());
    tokio::task::spawn_blocking(move || {
        Store::open(&database)?.resolve(&ids, &action, now_ms())?;
        anyhow::Ok(())
    })
    .await?
}

/// `GET /playground`.
async fn playground(admin: Admin) -> Response {
    pages::playground(&admin, None, None).into_response()
}

#[derive(Deserialize)]
struct AskForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    question: String,
}

/// `POST /playground`: the reply to a question, and why.
async fn ask(admin: Admin, State(dashboard): State<App>, Form(form): Form<AskForm>) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return csrf_refused();
    }
    let mut question = form.question;
    if question.len() > MAX_QUESTION {
        let mut cut = MAX_QUESTION;
        while !question.is_char_boundary(cut) {
            cut -= 1;
        }
        question.truncate(cut);
    }
    let served = dashboard.reloader.served();
    let reply = served.engine.reply(&question);
    pages::playground(&admin, Some(&question), Some((&served.engine, &reply))).into_response()
}

/// The stylesheet, embedded in the binary.
async fn style() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("style.css"),
    )
        .into_response()
}

pub(crate) async fn not_found() -> Response {
    let page = pages::refused("Not found", "There is no such page.");
    (StatusCode::NOT_FOUND, page).into_response()
}
