//! The admin dashboard: a web front end over the same machinery as `/careerbot` (the
//! reloader's set in service, the store's reports). axum serves it on the bot's tokio
//! runtime; pages are maud templates, which escape every value, rendered on the server, with
//! the charts as SVG, so it works with JavaScript off. Nothing here edits the intents but
//! through the admin layer's validated, gated path.
//!
//! Sessions live in signed cookies (HttpOnly, SameSite=Lax, with an expiry); every form
//! carries the session's CSRF token. `careerbot dashboard` logs its admin in with a
//! one-time link printed at start.

mod chart;
mod pages;

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRef, FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Form, Router};
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use serde::Deserialize;
use tracing::{info, warn};

use crate::admin::reload::Reloader;
use crate::admin::report;
use crate::admin::store::{now_ms, Database, Store};
use crate::admin::triage::{self, Filed};
use crate::admin::unanswered::Group;
use crate::config::Settings;

/// The session cookie's name.
const SESSION: &str = "careerbot_session";
/// How long a session lasts.
const SESSION_LASTS: Duration = Duration::from_secs(12 * 3600);
/// Failed logins allowed per minute before the next are refused outright.
const LOGIN_FAILURES_PER_MINUTE: usize = 10;
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
    /// The one-time login token of the local dashboard, until used.
    token: Mutex<Option<String>>,
    /// When logins failed lately.
    failures: Mutex<VecDeque<Instant>>,
    /// Held from filing a question to the reload's verdict: one at a time.
    filing: tokio::sync::Mutex<()>,
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
        let mut key = [0u8; 64];
        getrandom::fill(&mut key).expect("the operating system gives random bytes");
        let token = random_hex(32);
        let dashboard = Dashboard {
            reloader,
            database: settings.admin.database.clone(),
            settings,
            key: Key::from(&key),
            token: Mutex::new(Some(token.clone())),
            failures: Mutex::new(VecDeque::new()),
            filing: tokio::sync::Mutex::new(()),
        };
        (Arc::new(dashboard), token)
    }

    /// Whether logins failed too often in the last minute (and counts this one if so).
    fn too_many_failures(&self) -> bool {
        let failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        failures
            .iter()
            .filter(|at| now.duration_since(**at) < Duration::from_secs(60))
            .count()
            >= LOGIN_FAILURES_PER_MINUTE
    }

    fn failed_login(&self) {
        let mut failures = self.failures.lock().unwrap_or_else(|e| e.into_inner());
        failures.push_back(Instant::now());
        while failures.len() > LOGIN_FAILURES_PER_MINUTE {
            failures.pop_front();
        }
    }
}

/// The routes.
pub fn router(dashboard: Arc<Dashboard>) -> Router {
    Router::new()
        .route("/", get(overview))
        .route("/login", get(login))
        .route("/logout", post(logout))
        .route("/playground", get(playground).post(ask))
        .route("/intents", get(intents))
        .route("/intents/{id}", get(intent))
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

/// A logged-in admin: who, and the session's CSRF token.
pub struct Admin {
    pub who: String,
    pub csrf: String,
}

/// A session cookie's value: `expires.csrf.who` (signed by the jar).
fn session_value(expires: u64, csrf: &str, who: &str) -> String {
    format!("{expires}.{csrf}.{who}")
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

impl Admin {
    /// The admin of a signed, unexpired session cookie.
    fn of(jar: &SignedCookieJar) -> Option<Admin> {
        let cookie = jar.get(SESSION)?;
        let mut parts = cookie.value().splitn(3, '.');
        let expires: u64 = parts.next()?.parse().ok()?;
        let csrf = parts.next()?.to_owned();
        let who = parts.next()?.to_owned();
        (expires > unix_now()).then_some(Admin { who, csrf })
    }
}

impl FromRequestParts<App> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Admin, Response> {
        let jar = SignedCookieJar::<Key>::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        Admin::of(&jar).ok_or_else(|| {
            let page = pages::refused(
                "Not logged in",
                "Open the login link `careerbot dashboard` printed when it started.",
            );
            (StatusCode::UNAUTHORIZED, page).into_response()
        })
    }
}

#[derive(Deserialize)]
struct LoginQuery {
    token: Option<String>,
}

/// `GET /login?token=…`: the one-time link of the local dashboard.
async fn login(
    State(dashboard): State<App>,
    jar: SignedCookieJar,
    Query(query): Query<LoginQuery>,
) -> Response {
    if dashboard.too_many_failures() {
        let page = pages::refused("Too many attempts", "Wait a minute, then try again.");
        return (StatusCode::TOO_MANY_REQUESTS, page).into_response();
    }
    let given = query.token.unwrap_or_default();
    let accepted = {
        let mut token = dashboard.token.lock().unwrap_or_else(|e| e.into_inner());
        let matches = token
            .as_deref()
            .is_some_and(|expected| constant_time_eq(expected.as_bytes(), given.as_bytes()));
        if matches {
            // One time only: a link seen in a terminal's scrollback cannot log in again.
            *token = None;
        }
        matches
    };
    if !accepted {
        dashboard.failed_login();
        warn!("a dashboard login with a wrong or used token was refused");
        let page = pages::refused(
            "Login refused",
            "This login link is wrong or was used already. Restart `careerbot dashboard` for a new one.",
        );
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    let expires = unix_now() + SESSION_LASTS.as_secs();
    let cookie = Cookie::build((SESSION, session_value(expires, &random_hex(16), "local")))
        .http_only(true)
        .same_site(SameSite::Lax)
        .path("/")
        .max_age(time::Duration::seconds(SESSION_LASTS.as_secs() as i64))
        .build();
    info!("logged in to the dashboard");
    (jar.add(cookie), Redirect::to("/")).into_response()
}

/// Compares two secrets in time independent of where they differ.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A form with only its CSRF token; a form without one is refused like a wrong one.
#[derive(Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`.
async fn logout(admin: Admin, jar: SignedCookieJar, Form(form): Form<CsrfForm>) -> Response {
    if !constant_time_eq(form.csrf.as_bytes(), admin.csrf.as_bytes()) {
        return csrf_refused();
    }
    (jar.remove(Cookie::from(SESSION)), Redirect::to("/login")).into_response()
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
    let built = read_store(&dashboard, move |store| {
        report::build(store, since, until, below, similarity)
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
            let page = pages::refused("The store cannot be read", &format!("{error:#}"));
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
    let figures = read_store(&dashboard, move |store| {
        // Every intent (the report cuts its lists to the top few).
        store.aggregates(since, until, 10_000, 0)
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
    match served.engine.intent(&id) {
        Some(intent) => pages::intent(&admin, &served.engine, intent).into_response(),
        None => not_found().await,
    }
}

/// Groups of the queue offered at most.
const GROUPS_SHOWN: usize = 50;
/// Intents offered for one group.
const INTENTS_OFFERED: usize = 8;
/// The menu value that drops a group from the queue.
const IGNORE: &str = "ignore";

/// The queue's groups, biggest first (`None` without a store).
async fn queue(dashboard: &Dashboard) -> Result<Option<Vec<Group>>, Response> {
    let below = dashboard.settings.admin.unanswered_below;
    let similarity = dashboard.settings.admin.group_similarity;
    read_store(dashboard, move |store| {
        let questions = store.unanswered(0, below, 10_000)?;
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
    match queue(&dashboard).await {
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
    if !constant_time_eq(form.csrf.as_bytes(), admin.csrf.as_bytes()) {
        return csrf_refused();
    }
    let groups = match queue(&dashboard).await {
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
    let _one_at_a_time = dashboard.filing.lock().await;
    let notice = if form.choice == IGNORE {
        match resolve(&dashboard, &group, IGNORE).await {
            Ok(()) => pages::Notice {
                ok: true,
                text: format!("Ignored “{}” ({} questions).", group.text, group.count),
                lines: Vec::new(),
            },
            Err(error) => failed(format!("Could not update the queue: {error:#}")),
        }
    } else {
        let reloader = Arc::clone(&dashboard.reloader);
        let (intent, example) = (form.choice.clone(), group.text.clone());
        let by = format!("dashboard ({})", admin.who);
        let filed =
            tokio::task::spawn_blocking(move || triage::file(&reloader, &intent, &example, &by))
                .await;
        match filed {
            Ok(Filed::Added { done, reloaded }) => {
                let resolved = resolve(&dashboard, &group, &done.intent).await;
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
                let _ = resolve(&dashboard, &group, &intent).await;
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
    };
    match queue(&dashboard).await {
        Ok(groups) => queue_page(
            &dashboard,
            &admin,
            &groups.unwrap_or_default(),
            Some(&notice),
        ),
        Err(page) => page,
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
    if !constant_time_eq(form.csrf.as_bytes(), admin.csrf.as_bytes()) {
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

async fn not_found() -> Response {
    let page = pages::refused("Not found", "There is no such page.");
    (StatusCode::NOT_FOUND, page).into_response()
}
