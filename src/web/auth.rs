//! Who may use the dashboard, and how they log in.
//!
//! - `careerbot dashboard` (no Discord): a one-time token printed at start; the admin it
//!   logs in sees everything, as the owner of the machine does.
//! - `careerbot run` with `[web] listen`: Discord's OAuth2 authorization-code flow with the
//!   `identify` and `guilds` scopes. `/login` sends the browser to Discord with a random
//!   `state` that is also kept in a short-lived signed cookie; `/auth/callback` refuses a
//!   missing or different `state` before anything else (so a login cannot be forced on a
//!   browser from another site), trades the code for a token (the client secret goes in the
//!   request's body, never in a URL or a log), and asks Discord who the user is and which
//!   servers they are in. Only the servers the bot is in where the user is the owner or has
//!   Manage Server (or Administrator) count; a user with none is refused. Discord's token is
//!   used once and dropped.
//!
//! The session is a signed cookie (HttpOnly, SameSite=Lax, Secure over https, with an
//! expiry) holding its expiry, its CSRF token and the admin: their name, Discord id and
//! servers. It cannot be forged without the process's key, which is made afresh at each
//! start. Failed logins of both kinds are rate limited.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{FromRequestParts, Query, State};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, Key, SameSite, SignedCookieJar};
use serde::Deserialize;
use tracing::{info, warn};
use url::Url;

use super::{pages, random_hex, App};
use crate::admin::store::Servers;
use crate::config::Secret;

/// The session cookie's name.
const SESSION: &str = "careerbot_session";
/// The cookie holding an OAuth2 login's `state` until Discord sends the browser back.
const LOGIN_STATE: &str = "careerbot_login";
/// How long a login at Discord may take.
const LOGIN_LASTS: Duration = Duration::from_secs(10 * 60);
/// Failed logins allowed per minute before the next are refused outright.
const LOGIN_FAILURES_PER_MINUTE: usize = 10;
/// Discord's permission bits that make a member a server admin here.
const ADMINISTRATOR: u64 = 1 << 3;
const MANAGE_GUILD: u64 = 1 << 5;
/// The most servers one session carries: their ids keep the cookie under 4 KiB, the
/// most a browser keeps (a user may be in 200 servers; one managing more than 100 of the
/// bot's sees 100 of them).
const MAX_GUILDS: usize = 100;
/// The largest answer read from Discord's OAuth2 and user endpoints.
const MAX_ANSWER_BYTES: usize = 1 << 20;

/// How admins log in.
pub enum Login {
    /// The one-time token of `careerbot dashboard`, until used.
    Local(Mutex<Option<String>>),
    /// Discord's OAuth2.
    Discord(Box<OAuth>),
}

/// Discord's OAuth2, as configured for this bot.
pub struct OAuth {
    pub client_id: u64,
    pub client_secret: Secret,
    /// The bot's token, to ask which servers the bot is in.
    pub bot_token: Secret,
    /// Discord's base URL (`[discord] api_base`): `oauth2/authorize`, `api/oauth2/token` and
    /// `api/v10/users/@me...` are under it.
    pub api_base: Url,
    /// Where Discord sends the browser back: `[web] public_url` + `/auth/callback`.
    pub redirect_uri: String,
    pub http: reqwest::Client,
    /// The bot's servers as last asked, and when: asked again after [`SERVED_KEPT`].
    pub served: tokio::sync::Mutex<Option<(Instant, HashSet<u64>)>>,
}

/// How long the list of the bot's servers is trusted.
const SERVED_KEPT: Duration = Duration::from_secs(60);

/// Sessions logged out before their expiry: csrf token → expiry (unix seconds).
#[derive(Default)]
pub struct Revoked(Mutex<HashMap<String, u64>>);

/// Logged-out sessions remembered at most (the oldest expiring go first).
const REVOKED_KEPT: usize = 10_000;

impl Revoked {
    fn add(&self, admin: &Admin) {
        let mut revoked = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = unix_now();
        revoked.retain(|_, expires| *expires > now);
        if revoked.len() >= REVOKED_KEPT {
            if let Some(first) = revoked
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(k, _)| k.clone())
            {
                revoked.remove(&first);
            }
        }
        revoked.insert(admin.csrf.clone(), admin.expires);
    }

    fn contains(&self, admin: &Admin) -> bool {
        let revoked = self.0.lock().unwrap_or_else(|e| e.into_inner());
        revoked.contains_key(&admin.csrf)
    }
}

/// The failed logins of the last minute.
#[derive(Default)]
pub struct Failures(Mutex<VecDeque<Instant>>);

impl Failures {
    /// Whether logins failed too often in the last minute.
    fn too_many(&self) -> bool {
        let failures = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        failures
            .iter()
            .filter(|at| now.duration_since(**at) < Duration::from_secs(60))
            .count()
            >= LOGIN_FAILURES_PER_MINUTE
    }

    fn add(&self) {
        let mut failures = self.0.lock().unwrap_or_else(|e| e.into_inner());
        failures.push_back(Instant::now());
        while failures.len() > LOGIN_FAILURES_PER_MINUTE {
            failures.pop_front();
        }
    }
}

/// Whose data an admin may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Everything: the local admin of `careerbot dashboard`.
    All,
    /// The questions of these servers (and the intents, which every server shares).
    Guilds(Vec<u64>),
}

impl Scope {
    /// Whether a question of `guild` (`None`: a DM) is this admin's to see.
    pub fn sees(&self, guild: Option<u64>) -> bool {
        match self {
            Scope::All => true,
            Scope::Guilds(guilds) => guild.is_some_and(|g| guilds.contains(&g)),
        }
    }

    /// The servers, for a store query.
    /// The servers, `None` for all.
    pub fn guilds(&self) -> Option<&[u64]> {
        match self {
            Scope::All => None,
            Scope::Guilds(guilds) => Some(guilds),
        }
    }

    pub fn servers(&self) -> Servers {
        match self {
            Scope::All => Servers::All,
            Scope::Guilds(guilds) => Servers::Only(guilds.clone()),
        }
    }
}

/// A logged-in admin, and the session's CSRF token.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Their name, as shown and as kept in the audit log.
    pub who: String,
    /// Their Discord user id; `None` for the local admin.
    pub id: Option<u64>,
    pub scope: Scope,
    pub csrf: String,
    /// When the session ends (unix seconds).
    pub expires: u64,
}

impl Admin {
    /// The session cookie's value: `expires.csrf.id.guilds.name`, where `id` is 0 for the
    /// local admin and `guilds` is `*` for every server or ids joined by `,`.
    fn encode(&self, expires: u64) -> String {
        let guilds = match &self.scope {
            Scope::All => "*".to_owned(),
            Scope::Guilds(guilds) => guilds
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(","),
        };
        let id = self.id.unwrap_or(0);
        // Percent-encoded: a cookie's value is visible ASCII without `;` or `,`.
        let who: String = url::form_urlencoded::byte_serialize(self.who.as_bytes()).collect();
        format!("{expires}.{}.{id}.{guilds}.{who}", self.csrf)
    }

    /// The admin of a signed, unexpired session cookie.
    fn of(jar: &SignedCookieJar) -> Option<Admin> {
        let cookie = jar.get(SESSION)?;
        let mut parts = cookie.value().splitn(5, '.');
        let expires: u64 = parts.next()?.parse().ok()?;
        let csrf = parts.next()?.to_owned();
        let id: u64 = parts.next()?.parse().ok()?;
        let scope = match parts.next()? {
            "*" => Scope::All,
            list => Scope::Guilds(
                list.split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .ok()?,
            ),
        };
        let who = url::form_urlencoded::parse(format!("w={}", parts.next()?).as_bytes())
            .next()?
            .1
            .into_owned();
        (expires > unix_now()).then_some(Admin {
            who,
            id: (id != 0).then_some(id),
            scope,
            csrf,
            expires,
        })
    }

    /// Whether `csrf` is this session's token.
    pub fn csrf_ok(&self, csrf: &str) -> bool {
        constant_time_eq(csrf.as_bytes(), self.csrf.as_bytes())
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<App> for Admin {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &App) -> Result<Admin, Response> {
        let jar = SignedCookieJar::<Key>::from_request_parts(parts, state)
            .await
            .unwrap_or_else(|never| match never {});
        Admin::of(&jar)
            .filter(|admin| !state.revoked.contains(admin))
            .ok_or_else(|| {
                let page = match &state.login {
                    Login::Local(_) => pages::refused(
                        "Not logged in",
                        "Open the login link `careerbot dashboard` printed when it started.",
                    ),
                    Login::Discord(_) => pages::log_in(),
                };
                (StatusCode::UNAUTHORIZED, page).into_response()
            })
    }
}

/// A cookie of this dashboard: HttpOnly, SameSite=Lax, for the whole site, Secure when the
/// dashboard's address is https.
fn cookie(app: &App, name: &'static str, value: String, lasts: Duration) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(app.secure)
        .path("/")
        .max_age(time::Duration::seconds(
            i64::try_from(lasts.as_secs()).unwrap_or(i64::MAX),
        ))
        .build()
}

/// Logs `admin` in: a new session cookie, then the overview.
fn start_session(app: &App, jar: SignedCookieJar, admin: &Admin) -> Response {
    let lasts = app.settings.web.session;
    let value = admin.encode(unix_now() + lasts.as_secs());
    // (`admin.expires` is read back from the cookie on each request.)
    let jar = jar
        .remove(Cookie::build(LOGIN_STATE).path("/"))
        .add(cookie(app, SESSION, value, lasts));
    (jar, Redirect::to("/")).into_response()
}

fn too_many() -> Response {
    let page = pages::refused("Too many attempts", "Wait a minute, then try again.");
    (StatusCode::TOO_MANY_REQUESTS, page).into_response()
}

#[derive(Deserialize)]
pub struct LoginQuery {
    token: Option<String>,
}

/// `GET /login`: with Discord, off to Discord's consent page; locally, `?token=` is the
/// one-time link.
pub async fn login(
    State(app): State<App>,
    jar: SignedCookieJar,
    Query(query): Query<LoginQuery>,
) -> Response {
    if app.failures.too_many() {
        return too_many();
    }
    let oauth = match &app.login {
        Login::Local(token) => return local_login(&app, token, jar, query.token),
        Login::Discord(oauth) => oauth,
    };
    let state = random_hex(16);
    let mut authorize = match oauth.api_base.join("oauth2/authorize") {
        Ok(url) => url,
        Err(error) => return server_error(format!("bad api_base: {error}")),
    };
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &oauth.client_id.to_string())
        .append_pair("scope", "identify guilds")
        .append_pair("state", &state)
        .append_pair("redirect_uri", &oauth.redirect_uri)
        .append_pair("prompt", "none");
    let expires = unix_now() + LOGIN_LASTS.as_secs();
    let jar = jar.add(cookie(
        &app,
        LOGIN_STATE,
        format!("{expires}.{state}"),
        LOGIN_LASTS,
    ));
    (jar, Redirect::to(authorize.as_str())).into_response()
}

fn local_login(
    app: &App,
    token: &Mutex<Option<String>>,
    jar: SignedCookieJar,
    given: Option<String>,
) -> Response {
    let given = given.unwrap_or_default();
    let accepted = {
        let mut token = token.lock().unwrap_or_else(|e| e.into_inner());
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
        app.failures.add();
        warn!("a dashboard login with a wrong or used token was refused");
        let page = pages::refused(
            "Login refused",
            "This login link is wrong or was used already. Restart `careerbot dashboard` for a new one.",
        );
        return (StatusCode::FORBIDDEN, page).into_response();
    }
    info!("logged in to the dashboard");
    let admin = Admin {
        who: "local admin".to_owned(),
        id: None,
        scope: Scope::All,
        csrf: random_hex(16),
        expires: 0,
    };
    start_session(app, jar, &admin)
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /auth/callback?code=…&state=…`: Discord sends the browser back here.
pub async fn callback(
    State(app): State<App>,
    jar: SignedCookieJar,
    Query(callback): Query<Callback>,
) -> Response {
    if app.failures.too_many() {
        return too_many();
    }
    let Login::Discord(oauth) = &app.login else {
        return super::not_found().await;
    };
    // The state first: a callback this browser did not start is refused whatever it holds.
    let expected = jar.get(LOGIN_STATE).and_then(|c| {
        let (expires, state) = c.value().split_once('.')?;
        let expires: u64 = expires.parse().ok()?;
        (expires > unix_now()).then(|| state.to_owned())
    });
    let state_ok = match (&expected, &callback.state) {
        (Some(expected), Some(given)) => constant_time_eq(expected.as_bytes(), given.as_bytes()),
        _ => false,
    };
    let jar = jar.remove(Cookie::build(LOGIN_STATE).path("/"));
    if !state_ok {
        // Not counted as a failed login: a state cannot be guessed (128 random bits in a
        // signed cookie), and counting it would let anyone lock every admin out.
        warn!("a dashboard login with a missing or wrong OAuth2 state was refused");
        let page = pages::refused(
            "Login refused",
            "This login did not start here, or took too long. Log in again from the dashboard.",
        );
        return (StatusCode::FORBIDDEN, jar, page).into_response();
    }
    if let Some(error) = callback.error {
        let page = pages::refused(
            "Login cancelled",
            &format!("Discord did not authorize the login ({error})."),
        );
        return (StatusCode::FORBIDDEN, jar, page).into_response();
    }
    let Some(code) = callback.code.filter(|c| !c.is_empty() && c.len() <= 512) else {
        app.failures.add();
        let page = pages::refused("Login refused", "Discord sent no authorization code.");
        return (StatusCode::BAD_REQUEST, jar, page).into_response();
    };
    let user = match oauth.user(&code).await {
        Ok(user) => user,
        Err(error) => {
            app.failures.add();
            warn!("a dashboard login failed at Discord: {error:#}");
            let page = pages::refused(
                "Login failed",
                "Discord did not confirm the login. Try again in a moment.",
            );
            return (StatusCode::BAD_GATEWAY, jar, page).into_response();
        }
    };
    let served = match oauth.bot_guilds().await {
        Ok(served) => served,
        Err(error) => {
            warn!("cannot list the bot's servers: {error:#}");
            let page = pages::refused(
                "Login failed",
                "Discord did not say which servers the bot is in. Try again in a moment.",
            );
            return (StatusCode::BAD_GATEWAY, jar, page).into_response();
        }
    };
    let mut managed: Vec<u64> = user
        .guilds
        .iter()
        .filter(|g| g.admin() && served.contains(&g.id))
        .map(|g| g.id)
        .collect();
    managed.sort_unstable();
    managed.dedup();
    managed.truncate(MAX_GUILDS);
    if managed.is_empty() {
        // Counted: each try costs a look at the bot's servers.
        app.failures.add();
        info!("a Discord user who manages no server of the bot was refused the dashboard");
        let page = pages::refused(
            "Not an admin here",
            "The dashboard is for members with the Manage Server permission (or the owner) \
             of a server careerbot is in, and you have it in none of them.",
        );
        return (StatusCode::FORBIDDEN, jar, page).into_response();
    }
    info!(
        servers = managed.len(),
        "an admin logged in to the dashboard with Discord"
    );
    let admin = Admin {
        who: clean_name(&user.name),
        id: Some(user.id),
        scope: Scope::Guilds(managed),
        csrf: random_hex(16),
        expires: 0,
    };
    start_session(&app, jar, &admin)
}

/// A name for pages and the audit log: at most 64 characters, no control characters.
fn clean_name(name: &str) -> String {
    let name: String = name.chars().filter(|c| !c.is_control()).take(64).collect();
    if name.trim().is_empty() {
        "unnamed".to_owned()
    } else {
        name
    }
}

fn server_error(message: String) -> Response {
    warn!("{message}");
    let page = pages::refused("Something went wrong", "The login could not be started.");
    (StatusCode::INTERNAL_SERVER_ERROR, page).into_response()
}

/// `POST /logout`.
pub async fn logout(
    admin: Admin,
    State(app): State<App>,
    jar: SignedCookieJar,
    Form(form): Form<super::CsrfForm>,
) -> Response {
    if !admin.csrf_ok(&form.csrf) {
        return super::csrf_refused();
    }
    // A copy of the cookie kept elsewhere is logged out too.
    app.revoked.add(&admin);
    let jar = jar.remove(Cookie::build(SESSION).path("/"));
    (jar, Redirect::to("/")).into_response()
}

/// A Discord user, as OAuth2 told.
struct DiscordUser {
    id: u64,
    name: String,
    guilds: Vec<UserGuild>,
}

#[derive(Deserialize)]
struct UserGuild {
    #[serde(deserialize_with = "id")]
    id: u64,
    #[serde(default)]
    owner: bool,
    /// Decimal, as a string.
    #[serde(default)]
    permissions: Option<String>,
}

impl UserGuild {
    fn admin(&self) -> bool {
        let bits: u64 = self
            .permissions
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        self.owner || bits & (MANAGE_GUILD | ADMINISTRATOR) != 0
    }
}

/// A snowflake id, which Discord sends as a string.
fn id<'de, D: serde::Deserializer<'de>>(de: D) -> Result<u64, D::Error> {
    let text = String::deserialize(de)?;
    text.parse().map_err(serde::de::Error::custom)
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
}

#[derive(Deserialize)]
struct Me {
    #[serde(deserialize_with = "id")]
    id: u64,
    username: String,
    #[serde(default)]
    global_name: Option<String>,
}

#[derive(Deserialize)]
struct Application {
    #[serde(deserialize_with = "id")]
    id: u64,
}

impl OAuth {
    fn url(&self, path: &str) -> anyhow::Result<Url> {
        Ok(self.api_base.join(path)?)
    }

    /// Trades `code` for a token, then asks who its user is and which servers they are in.
    async fn user(&self, code: &str) -> anyhow::Result<DiscordUser> {
        let client_id = self.client_id.to_string();
        let form = [
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", self.redirect_uri.as_str()),
            ("client_id", client_id.as_str()),
            ("client_secret", self.client_secret.expose()),
        ];
        let request = self.http.post(self.url("api/oauth2/token")?).form(&form);
        let token: Token = read_json(request).await?;
        let bearer = format!("Bearer {}", token.access_token);
        let me: Me = read_json(
            self.http
                .get(self.url("api/v10/users/@me")?)
                .header(reqwest::header::AUTHORIZATION, &bearer),
        )
        .await?;
        let guilds: Vec<UserGuild> = read_json(
            self.http
                .get(self.url("api/v10/users/@me/guilds")?)
                .header(reqwest::header::AUTHORIZATION, &bearer),
        )
        .await?;
        Ok(DiscordUser {
            id: me.id,
            name: me.global_name.unwrap_or(me.username),
            guilds,
        })
    }

    /// The servers the bot is in, every page of them.
    async fn bot_guilds(&self) -> anyhow::Result<HashSet<u64>> {
        let mut kept = self.served.lock().await;
        if let Some((at, served)) = kept.as_ref() {
            if at.elapsed() < SERVED_KEPT {
                return Ok(served.clone());
            }
        }
        let served = self.ask_bot_guilds().await?;
        *kept = Some((Instant::now(), served.clone()));
        Ok(served)
    }

    async fn ask_bot_guilds(&self) -> anyhow::Result<HashSet<u64>> {
        let mut served = HashSet::new();
        let mut after = 0u64;
        // 200 a page; a bot in more than 100,000 servers is cut off there.
        for _ in 0..500 {
            let mut url = self.url("api/v10/users/@me/guilds")?;
            url.query_pairs_mut()
                .append_pair("limit", "200")
                .append_pair("after", &after.to_string());
            let page: Vec<UserGuild> = read_json(self.http.get(url).header(
                reqwest::header::AUTHORIZATION,
                format!("Bot {}", self.bot_token.expose()),
            ))
            .await?;
            let full = page.len() >= 200;
            for guild in page {
                after = after.max(guild.id);
                served.insert(guild.id);
            }
            if !full {
                break;
            }
        }
        Ok(served)
    }

    /// The bot's application id (the OAuth2 client id), asked with the bot's token.
    pub async fn application_id(
        http: &reqwest::Client,
        api_base: &Url,
        bot_token: &Secret,
    ) -> anyhow::Result<u64> {
        let url = api_base.join("api/v10/oauth2/applications/@me")?;
        let request = http.get(url).header(
            reqwest::header::AUTHORIZATION,
            format!("Bot {}", bot_token.expose()),
        );
        let application: Application = read_json(request).await?;
        Ok(application.id)
    }
}

/// Sends `request` and reads a JSON answer of at most [`MAX_ANSWER_BYTES`]; an error
/// status is an error (with the status only: an answer may echo what was sent).
async fn read_json<T: serde::de::DeserializeOwned>(
    request: reqwest::RequestBuilder,
) -> anyhow::Result<T> {
    let mut response = request.send().await.map_err(|e| e.without_url())?;
    let status = response.status();
    let url = response.url().path().to_owned();
    if !status.is_success() {
        anyhow::bail!("{url}: Discord answered {status}");
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(|e| e.without_url())? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            anyhow::bail!("{url}: the answer is over {MAX_ANSWER_BYTES} bytes");
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| anyhow::anyhow!("{url}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_session_reads_back_as_it_was_written() {
        let admin = Admin {
            who: "ada.lovelace; Ω 1+1".to_owned(),
            id: Some(42),
            scope: Scope::Guilds(vec![7, 9]),
            csrf: "c0ffee".to_owned(),
            expires: 0,
        };
        let value = admin.encode(unix_now() + 60);
        let key = Key::generate();
        let jar = SignedCookieJar::new(key).add(Cookie::new(SESSION, value));
        let back = Admin::of(&jar).unwrap();
        assert_eq!(back.who, "ada.lovelace; Ω 1+1");
        assert_eq!(back.id, Some(42));
        assert_eq!(back.scope, Scope::Guilds(vec![7, 9]));
        assert!(back.csrf_ok("c0ffee") && !back.csrf_ok("c0ffef") && !back.csrf_ok(""));

        let expired = admin.encode(unix_now() - 1);
        let jar = jar.add(Cookie::new(SESSION, expired));
        assert!(Admin::of(&jar).is_none());
    }

    #[test]
    fn only_owners_and_managers_are_admins() {
        let guild = |owner, permissions: &str| UserGuild {
            id: 1,
            owner,
            permissions: Some(permissions.to_owned()),
        };
        assert!(guild(true, "0").admin());
        assert!(guild(false, &MANAGE_GUILD.to_string()).admin());
        assert!(guild(false, &ADMINISTRATOR.to_string()).admin());
        // Send Messages, Manage Messages, Manage Channels: not enough.
        assert!(!guild(false, &((1u64 << 11) | (1 << 13) | (1 << 4)).to_string()).admin());
        assert!(!guild(false, "not a number").admin());
    }

    #[test]
    fn a_scope_sees_its_servers_only() {
        let scope = Scope::Guilds(vec![5]);
        assert!(scope.sees(Some(5)));
        assert!(!scope.sees(Some(6)) && !scope.sees(None));
        assert!(Scope::All.sees(None));
    }
}
