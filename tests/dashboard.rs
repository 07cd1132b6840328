//! The admin dashboard over HTTP: the real `careerbot dashboard` binary, asked with reqwest.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};

use careerbot::admin::store::{now_ms, Database, Store};
use careerbot::engine::matcher::Decision;
use reqwest::header::{COOKIE, SET_COOKIE};
use reqwest::StatusCode;

use crate::store::question;
use crate::support::{bin, shipped};

/// Questions whose text tries to run script in the page.
const HOSTILE: [&str; 2] = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
];

/// A `careerbot dashboard` on a free loopback port; killed when dropped. The browser tests
/// (`browser`) start it too.
pub(crate) struct Dashboard {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub(crate) base: String,
    /// The one-time login link it printed.
    pub(crate) link: String,
    client: reqwest::Client,
    _dir: tempfile::TempDir,
}

impl Dashboard {
    /// Starts the dashboard over the shipped intents and the SQLite store at `database`
    /// (none: a file in a folder of its own, not created).
    pub(crate) fn start(database: Option<&Path>) -> Dashboard {
        Dashboard::start_on(database, &shipped())
    }

    /// [`Dashboard::start`] over the intents in `intents`.
    pub(crate) fn start_on(database: Option<&Path>, intents: &Path) -> Dashboard {
        let dir = tempfile::tempdir().unwrap();
        let database = database.map_or_else(|| dir.path().join("db.sqlite3"), Path::to_owned);
        let mut child = Command::new(bin())
            .args(["dashboard", "--listen", "127.0.0.1:0", "--intents"])
            .arg(intents)
            .env("CAREERBOT_ADMIN__DATABASE", &database)
            .env("RUST_LOG", "careerbot=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut link = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut link)
            .unwrap();
        let link = link.trim().to_owned();
        assert!(link.contains("/login?token="), "{link:?}");
        let base = link.split("/login").next().unwrap().to_owned();
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Dashboard {
            child,
            base,
            link,
            client,
            _dir: dir,
        }
    }

    async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
        let mut request = self.client.get(format!("{}{path}", self.base));
        if let Some(cookie) = cookie {
            request = request.header(COOKIE, cookie);
        }
        request.send().await.unwrap()
    }

    /// The page a form posted to `path` answers with.
    async fn post_text(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> String {
        self.post(path, cookie, form).await.text().await.unwrap()
    }

    async fn post(&self, path: &str, cookie: &str, form: &[(&str, &str)]) -> reqwest::Response {
        let body: String = form
            .iter()
            .map(|(k, v)| format!("{k}={}", urlencode(v)))
            .collect::<Vec<_>>()
            .join("&");
        self.client
            .post(format!("{}{path}", self.base))
            .header(COOKIE, cookie)
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Logs in with the link: the session cookie (`name=value`) and its attributes.
    async fn log_in(&self) -> (String, String) {
        let response = self.client.get(&self.link).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::SEE_OTHER);
        let set = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
        let pair = set.split(';').next().unwrap().to_owned();
        (pair, set)
    }
}

impl Drop for Dashboard {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn urlencode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

/// The CSRF token of the first form of `page`.
fn csrf_of(page: &str) -> String {
    let at = page
        .find("name=\"csrf\" value=\"")
        .expect("a form with a CSRF token")
        + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_dashboard_logs_in_once_with_its_link_and_refuses_everyone_else() {
    let dashboard = Dashboard::start(None);
    assert_eq!(
        dashboard.get("/", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        dashboard.get("/login?token=0123", None).await.status(),
        StatusCode::FORBIDDEN
    );
    let (cookie, attributes) = dashboard.log_in().await;
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=43200"] {
        assert!(attributes.contains(attribute), "{attributes}");
    }
    // The link works once.
    let again = dashboard.client.get(&dashboard.link).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::FORBIDDEN);
    let overview = dashboard.get("/", Some(&cookie)).await;
    assert_eq!(overview.status(), StatusCode::OK);
    assert!(overview
        .text()
        .await
        .unwrap()
        .contains("No questions recorded yet"));
    // A cookie whose value was changed is not signed by the dashboard.
    let (name, value) = cookie.split_once('=').unwrap();
    let forged = format!("{name}={}", value.replace(".local", ".admin"));
    assert_eq!(
        dashboard.get("/", Some(&forged)).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        dashboard.get("/static/style.css", None).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        dashboard.get("/nowhere", Some(&cookie)).await.status(),
        StatusCode::NOT_FOUND
    );
    // Logging out needs the form's token too.
    let page = dashboard.get("/playground", Some(&cookie)).await;
    let csrf = csrf_of(&page.text().await.unwrap());
    let refused = dashboard.post("/logout", &cookie, &[("csrf", "x")]).await;
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    let out = dashboard.post("/logout", &cookie, &[("csrf", &csrf)]).await;
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let cleared = out.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    // A copy of the cookie kept elsewhere is logged out too.
    assert_eq!(
        dashboard.get("/", Some(&cookie)).await.status(),
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_attempts_are_rate_limited() {
    let dashboard = Dashboard::start(None);
    for _ in 0..10 {
        let refused = dashboard.get("/login?token=wrong", None).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    // The right link too, for the rest of the minute.
    let limited = dashboard.client.get(&dashboard.link).send().await.unwrap();
    assert_eq!(limited.status(), StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_playground_needs_the_form_s_token_and_shows_questions_as_text() {
    let dashboard = Dashboard::start(None);
    let (cookie, _) = dashboard.log_in().await;
    let page = dashboard.get("/playground", Some(&cookie)).await;
    let csrf = csrf_of(&page.text().await.unwrap());
    let engine = crate::support::shipped_engine();
    let (question, intent) = crate::bot::confident_question(engine, 0.8);
    for form in [
        vec![("question", question.as_str())],
        vec![("csrf", "forged"), ("question", question.as_str())],
    ] {
        let refused = dashboard.post("/playground", &cookie, &form).await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
    }
    let answered = dashboard
        .post(
            "/playground",
            &cookie,
            &[("csrf", &csrf), ("question", &question)],
        )
        .await;
    assert_eq!(answered.status(), StatusCode::OK);
    let page = answered.text().await.unwrap();
    assert!(page.contains(&format!("<code>{intent}</code>")), "{page}");
    assert!(page.contains("Why this answer"), "{page}");
    for hostile in HOSTILE {
        let shown = dashboard
            .post_text(
                "/playground",
                &cookie,
                &[("csrf", &csrf), ("question", hostile)],
            )
            .await;
        assert!(!shown.contains(hostile), "{shown}");
        assert!(!shown.contains("<script>alert") && !shown.contains("<img src=x"));
        assert!(shown.contains("&lt;"), "{shown}");
    }
}

/// A store in `dir` with an answered question and the [`HOSTILE`] ones, unanswered.
fn seeded_store(dir: &Path) -> std::path::PathBuf {
    let database = dir.join("careerbot.sqlite3");
    let mut store = Store::open(&Database::file(&database)).unwrap();
    let now = now_ms();
    let mut records = vec![question(1, now - 1_000, "how much", "answer", 0.9)];
    for (n, hostile) in HOSTILE.iter().enumerate() {
        records.push(question(n as u64 + 2, now, hostile, "fallback", 0.1));
    }
    store.write(&records).unwrap();
    database
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_overview_charts_the_store_and_shows_its_questions_as_text() {
    let dir = tempfile::tempdir().unwrap();
    let dashboard = Dashboard::start(Some(&seeded_store(dir.path())));
    let (cookie, _) = dashboard.log_in().await;
    let overview = dashboard.get("/?days=30", Some(&cookie)).await;
    assert_eq!(overview.status(), StatusCode::OK);
    let page = overview.text().await.unwrap();
    assert!(page.contains("<svg"), "{page}");
    assert!(page.contains("<rect"), "{page}");
    assert!(page.contains("<strong>last 30 days</strong>"), "{page}");
    for hostile in HOSTILE {
        assert!(!page.contains(hostile), "{page}");
    }
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{page}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intents_and_the_unanswered_queue_are_listed() {
    let dir = tempfile::tempdir().unwrap();
    let dashboard = Dashboard::start(Some(&seeded_store(dir.path())));
    let (cookie, _) = dashboard.log_in().await;
    assert_eq!(
        dashboard.get("/intents", None).await.status(),
        StatusCode::UNAUTHORIZED
    );
    let list = dashboard.get("/intents", Some(&cookie)).await;
    assert_eq!(list.status(), StatusCode::OK);
    let list = list.text().await.unwrap();
    let engine = crate::support::shipped_engine();
    for intent in engine.intents() {
        let link = format!("href=\"/intents/{}\"", intent.id);
        assert!(list.contains(&link), "{}", intent.id);
    }
    let intent = &engine.intents()[0];
    let page = dashboard
        .get(&format!("/intents/{}", intent.id), Some(&cookie))
        .await;
    assert_eq!(page.status(), StatusCode::OK);
    let page = page.text().await.unwrap();
    for example in &intent.examples {
        let shown = maud::html! { (example) }.into_string();
        assert!(page.contains(&shown), "{example}");
    }
    let unknown = dashboard
        .get("/intents/no.such.intent", Some(&cookie))
        .await;
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let queue = dashboard.get("/unanswered", Some(&cookie)).await;
    assert_eq!(queue.status(), StatusCode::OK);
    let queue = queue.text().await.unwrap();
    for hostile in HOSTILE {
        assert!(!queue.contains(hostile), "{queue}");
        let shown = maud::html! { (hostile) }.into_string();
        assert!(queue.contains(&shown), "{queue}");
    }
}

/// The reply the playground gives to `question`: the answered intent's id, if any.
async fn playground_intent(
    dashboard: &Dashboard,
    cookie: &str,
    csrf: &str,
    question: &str,
) -> String {
    let page = dashboard
        .post_text(
            "/playground",
            cookie,
            &[("csrf", csrf), ("question", question)],
        )
        .await;
    let at = page.find(", intent <code>").map(|at| at + 15);
    at.map(|at| page[at..].split('<').next().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn filing_an_unanswered_question_goes_live_at_once_and_a_broken_set_changes_nothing() {
    let intents = crate::admin::intents_copy();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("careerbot.sqlite3");
    let engine = crate::support::shipped_engine();
    let (asked, filed, ignored) = (
        "zebra stripes and camouflage",
        "what do quokkas eat all day",
        "how tall do giraffes grow",
    );
    for question in [asked, filed, ignored] {
        assert_ne!(
            engine.reply(question).decision,
            Decision::Answer,
            "{question}"
        );
    }
    let mut store = Store::open(&Database::file(&database)).unwrap();
    let now = now_ms();
    let records: Vec<_> = [asked, filed, ignored]
        .iter()
        .enumerate()
        .map(|(n, text)| question(n as u64 + 1, now, text, "fallback", 0.1))
        .collect();
    store.write(&records).unwrap();
    drop(store);
    let dashboard = Dashboard::start_on(Some(&database), intents.path());
    let (cookie, _) = dashboard.log_in().await;
    let page = dashboard
        .get("/unanswered", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let target = engine.intents()[0].id.clone();
    let forged = dashboard
        .post(
            "/unanswered",
            &cookie,
            &[("text", filed), ("choice", &target)],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // Filed: in the intent's file, in service at once, out of the queue.
    let done = dashboard
        .post_text(
            "/unanswered",
            &cookie,
            &[("csrf", &csrf), ("text", filed), ("choice", &target)],
        )
        .await;
    assert!(
        done.contains("Added “what do quokkas eat all day”"),
        "{done}"
    );
    assert!(
        !done.contains("value=\"what do quokkas eat all day\""),
        "{done}"
    );
    assert_eq!(
        playground_intent(&dashboard, &cookie, &csrf, filed).await,
        target
    );
    let written: String = std::fs::read_dir(intents.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(written.contains(filed));

    // Ignored: out of the queue, nothing written.
    let ignoring = dashboard
        .post_text(
            "/unanswered",
            &cookie,
            &[("csrf", &csrf), ("text", ignored), ("choice", "ignore")],
        )
        .await;
    assert!(
        ignoring.contains("Ignored “how tall do giraffes grow”"),
        "{ignoring}"
    );
    assert!(!ignoring.contains("value=\"how tall do giraffes grow\""));

    // A broken file beside it: the set with the example is refused, the example taken back,
    // the old set still answering.
    let located = break_beside(intents.path());
    let refused = dashboard
        .post_text(
            "/unanswered",
            &cookie,
            &[("csrf", &csrf), ("text", asked), ("choice", &target)],
        )
        .await;
    assert!(refused.contains("The example was not kept"), "{refused}");
    assert!(located.is_match(&refused), "{refused}");
    assert!(
        refused.contains("value=\"zebra stripes and camouflage\""),
        "still queued"
    );
    let written: String = std::fs::read_dir(intents.path())
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
        .collect();
    assert!(!written.contains(asked));
    assert_ne!(
        playground_intent(&dashboard, &cookie, &csrf, asked).await,
        target
    );
    assert_eq!(
        playground_intent(&dashboard, &cookie, &csrf, filed).await,
        target
    );
}

#[test]
fn the_local_dashboard_listens_on_this_machine_only() {
    let out = crate::support::careerbot(["dashboard", "--listen", "0.0.0.0:0"]).run();
    out.expect_code(2);
    assert!(
        out.stderr.contains("on this machine only"),
        "{}",
        out.stderr
    );
}

/// Writes a broken intent file into `dir`: the pattern of the place (`path:line:col: `)
/// every refusal of a set read from it names.
fn break_beside(dir: &Path) -> regex::Regex {
    std::fs::write(
        dir.join("zz-broken.toml"),
        "[[intent]]\nid = \"broken\"\ntitle = 5\n",
    )
    .unwrap();
    regex::Regex::new(r"zz-broken\.toml:\d+:\d+: ").unwrap()
}

/// The text of the `ul.field-errors` lists of `page`, joined.
fn field_errors(page: &str) -> String {
    page.split("<ul class=\"field-errors\"")
        .skip(1)
        .map(|rest| rest.split("</ul>").next().unwrap_or_default())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_intent_is_edited_through_the_gate_and_its_errors_show_beside_the_field() {
    let intents = crate::admin::intents_copy();
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("careerbot.sqlite3");
    Store::open(&Database::file(&database)).unwrap();
    let engine = crate::support::shipped_engine();
    let intent = &engine.intents()[0];
    let (id, asked) = (intent.id.as_str(), intent.examples[0].as_str());
    let dashboard = Dashboard::start_on(Some(&database), intents.path());
    let (cookie, _) = dashboard.log_in().await;
    let path = format!("/intents/{id}");
    let page = dashboard
        .get(&path, Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    let csrf = csrf_of(&page);
    let file_text = || -> String {
        std::fs::read_dir(intents.path())
            .unwrap()
            .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap_or_default())
            .collect()
    };
    let before = file_text();

    // No token, no edit.
    let forged = dashboard
        .post(
            &path,
            &cookie,
            &[("action", "answer"), ("answer", "hijacked")],
        )
        .await;
    assert_eq!(forged.status(), StatusCode::FORBIDDEN);

    // A preview renders the markdown, shows markup as text, and writes nothing.
    let draft = "**Bold** move <script>alert(1)</script> [x](javascript:alert(2))";
    let preview = dashboard
        .post_text(
            &path,
            &cookie,
            &[("csrf", &csrf), ("action", "preview"), ("answer", draft)],
        )
        .await;
    let shown = preview
        .split("<div class=\"discord\">")
        .nth(1)
        .and_then(|rest| rest.split("</div>").next())
        .unwrap_or_default();
    assert!(shown.contains("<strong>Bold</strong>"), "{preview}");
    assert!(shown.contains("&lt;script&gt;"), "{shown}");
    assert!(!preview.contains("<script>alert(1)"), "{preview}");
    assert!(
        !shown.contains("javascript:") && !shown.contains("<a "),
        "{shown}"
    );
    assert!(preview.contains("Preview of your draft"));
    assert_eq!(file_text(), before);

    // Saved: in the file and answering at once.
    let answer = "A new answer, **saved from the dashboard**.";
    let saved = dashboard
        .post_text(
            &path,
            &cookie,
            &[("csrf", &csrf), ("action", "answer"), ("answer", answer)],
        )
        .await;
    assert!(saved.contains("Saved: the new answer"), "{saved}");
    assert!(file_text().contains(answer));
    let reply = dashboard
        .post_text(
            "/playground",
            &cookie,
            &[("csrf", &csrf), ("question", asked)],
        )
        .await;
    assert!(
        reply.contains("A new answer, **saved from the dashboard**."),
        "{reply}"
    );

    // Examples: added, refused twice (beside the examples), removed.
    let example = "how would a platypus describe this job";
    let add = [
        ("csrf", csrf.as_str()),
        ("action", "add"),
        ("example", example),
    ];
    let added = dashboard.post_text(&path, &cookie, &add).await;
    assert!(added.contains("Saved: added the example"), "{added}");
    assert!(
        added.contains(&format!("<span>{example}</span>")),
        "{added}"
    );
    let again = dashboard.post_text(&path, &cookie, &add).await;
    assert!(field_errors(&again).contains("already listed"), "{again}");
    let remove = [
        ("csrf", csrf.as_str()),
        ("action", "remove"),
        ("example", example),
    ];
    let removed = dashboard.post_text(&path, &cookie, &remove).await;
    assert!(
        !removed.contains(&format!("<span>{example}</span>")),
        "{removed}"
    );
    assert!(!file_text().contains(example));

    // A broken file beside it: the edit is refused with its place, taken back, and the
    // saved answer still answers.
    let located = break_beside(intents.path());
    let refused = dashboard
        .post_text(
            &path,
            &cookie,
            &[("csrf", &csrf), ("action", "answer"), ("answer", "Lost.")],
        )
        .await;
    let errors = field_errors(&refused);
    assert!(located.is_match(&errors), "{refused}");
    assert!(
        refused.contains(">Lost.</textarea>"),
        "the draft is kept: {refused}"
    );
    assert!(!file_text().contains("Lost."));
    let reply = dashboard
        .post_text(
            "/playground",
            &cookie,
            &[("csrf", &csrf), ("question", asked)],
        )
        .await;
    assert!(reply.contains("saved from the dashboard"), "{reply}");

    // The History page: the refused reload with its place, and each change by its admin.
    let history = dashboard
        .get("/history", Some(&cookie))
        .await
        .text()
        .await
        .unwrap();
    assert!(located.is_match(&history), "{history}");
    for action in ["set_answer", "add_example", "remove_example"] {
        assert!(
            history.contains(&format!("<code>{action}</code>")),
            "{action}: {history}"
        );
    }
    assert!(history.contains("local admin"));
    assert!(history.contains("refused"));
}

/// `careerbot run` serving the dashboard (`[web] listen`) against the Discord emulator,
/// logged into with the emulator's OAuth2.
pub(crate) mod with_discord {
    use std::time::Duration;

    use careerbot::admin::store::{Database, Store};
    use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};
    use reqwest::StatusCode;

    use crate::bot::{Bot, MANAGE_GUILD};
    use crate::support::discord::{Emulator, OAuthGuild, OAuthUser, GUILD_ID, OAUTH_CLIENT_SECRET};
    use crate::support::shipped;

    /// The bot with its dashboard, and where the dashboard is.
    pub(crate) struct Served {
        pub(crate) bot: Bot,
        pub(crate) base: String,
        pub(crate) client: reqwest::Client,
    }

    /// Starts `careerbot run` with `[web] listen` on a free port and finds the address it
    /// bound in its log.
    pub(crate) async fn serve(extra: &str) -> Served {
        serve_on(extra, &shipped()).await
    }

    /// [`serve`] over the intents in `intents`.
    pub(crate) async fn serve_on(extra: &str, intents: &std::path::Path) -> Served {
        let emulator = Emulator::start().await;
        let config = format!("[web]\nlisten = \"127.0.0.1:0\"\n{extra}");
        let bot = Bot::start_on(
            emulator,
            &config,
            intents,
            "careerbot=debug,serenity=info,poise=info",
            &[],
        )
        .await;
        let mut base = None;
        let found = crate::support::wait_until_async(crate::bot::WAIT, || {
            base = bot.log().lines().find_map(|line| {
                let line = line.split("serving the dashboard").nth(1)?;
                let at = line.find("address=")? + "address=".len();
                let address = line[at..].split_whitespace().next()?;
                Some(format!("http://{address}"))
            });
            base.is_some()
        })
        .await;
        assert!(found, "the dashboard never started\n{}", bot.log());
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(30))
            .build()
            .unwrap();
        Served {
            bot,
            base: base.unwrap(),
            client,
        }
    }

    /// `name=value` of the cookie `name` set by `response`.
    fn cookie_set(response: &reqwest::Response, name: &str) -> Option<String> {
        response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .find(|v| v.starts_with(&format!("{name}=")))
            .map(|v| v.split(';').next().unwrap().to_owned())
    }

    fn query_value(url: &str, key: &str) -> Option<String> {
        let url = url::Url::parse(url).ok()?;
        url.query_pairs()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.into_owned())
    }

    impl Served {
        pub(crate) async fn get(&self, path: &str, cookie: Option<&str>) -> reqwest::Response {
            let mut request = self.client.get(format!("{}{path}", self.base));
            if let Some(cookie) = cookie {
                request = request.header(COOKIE, cookie);
            }
            request.send().await.unwrap()
        }

        /// Starts a login: the authorize URL the dashboard sent the browser to, and the
        /// login cookie it set.
        async fn start_login(&self) -> (String, String) {
            let response = self.get("/login", None).await;
            assert!(response.status().is_redirection(), "{}", response.status());
            let cookie = cookie_set(&response, "careerbot_login").expect("a login cookie");
            let location = response.headers()[LOCATION].to_str().unwrap().to_owned();
            (location, cookie)
        }

        /// Logs in as the emulator's current OAuth2 user: the callback's response.
        async fn finish_login(&self) -> reqwest::Response {
            let (authorize, cookie) = self.start_login().await;
            let state = query_value(&authorize, "state").unwrap();
            let redirect = query_value(&authorize, "redirect_uri").unwrap();
            let code = self.bot.emulator.oauth_code(&redirect);
            let callback = format!("/auth/callback?code={code}&state={state}");
            self.get(&callback, Some(&cookie)).await
        }

        /// A logged-in session of the current OAuth2 user (`name=value`).
        pub(crate) async fn log_in(&self) -> String {
            let response = self.finish_login().await;
            assert_eq!(
                response.status(),
                StatusCode::SEE_OTHER,
                "{}",
                self.bot.log()
            );
            cookie_set(&response, "careerbot_session").expect("a session cookie")
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn discord_login_checks_the_state_and_admits_only_server_admins() {
        let served = serve("").await;
        // Not logged in: the page offers Discord.
        let page = served.get("/", None).await;
        assert_eq!(page.status(), StatusCode::UNAUTHORIZED);
        assert!(page.text().await.unwrap().contains("Log in with Discord"));

        // To the emulator's consent page, with every parameter Discord needs.
        let (authorize, cookie) = served.start_login().await;
        let emulator = &served.bot.emulator;
        assert!(
            authorize.starts_with(&format!(
                "{}/oauth2/authorize?",
                emulator.api_base().trim_end_matches('/')
            )),
            "{authorize}"
        );
        assert_eq!(
            query_value(&authorize, "response_type").as_deref(),
            Some("code")
        );
        assert_eq!(
            query_value(&authorize, "scope").as_deref(),
            Some("identify guilds")
        );
        let redirect = query_value(&authorize, "redirect_uri").unwrap();
        assert_eq!(redirect, format!("{}/auth/callback", served.base));
        let state = query_value(&authorize, "state").unwrap();
        assert!(state.len() >= 32, "{state}");

        // A forged, missing or cookieless state is refused before the code is used.
        let code = emulator.oauth_code(&redirect);
        for (query, cookie) in [
            (
                format!("code={code}&state=forged{state}"),
                Some(cookie.as_str()),
            ),
            (format!("code={code}"), Some(cookie.as_str())),
            (format!("code={code}&state={state}"), None),
        ] {
            let response = served.get(&format!("/auth/callback?{query}"), cookie).await;
            assert_eq!(response.status(), StatusCode::FORBIDDEN, "{query}");
            assert!(cookie_set(&response, "careerbot_session").is_none());
        }
        let token_calls = |e: &Emulator| {
            e.requests()
                .iter()
                .filter(|r| r.path.contains("oauth2/token"))
                .count()
        };
        assert_eq!(
            token_calls(emulator),
            0,
            "a refused state must not spend the code"
        );

        // The owner of the bot's server gets in, and sees the overview.
        let session = served.log_in().await;
        assert_eq!(token_calls(emulator), 1);
        let overview = served.get("/", Some(&session)).await;
        assert_eq!(overview.status(), StatusCode::OK);

        // A member without Manage Server, and the admin of a server the bot is not in, do not.
        emulator.oauth_user(OAuthUser::member(555, "just-a-member", 1 << 11));
        let refused = served.finish_login().await;
        assert_eq!(refused.status(), StatusCode::FORBIDDEN);
        assert!(refused.text().await.unwrap().contains("Manage Server"));
        let mut elsewhere = OAuthUser::member(556, "admin-elsewhere", 0);
        elsewhere.guilds = vec![OAuthGuild {
            id: GUILD_ID + 1,
            name: "another server".to_owned(),
            owner: true,
            permissions: u64::MAX >> 1,
        }];
        emulator.oauth_user(elsewhere);
        assert_eq!(served.finish_login().await.status(), StatusCode::FORBIDDEN);
        // A manager (not the owner) of the bot's server gets in.
        emulator.oauth_user(OAuthUser::member(557, "a-manager", MANAGE_GUILD));
        served.log_in().await;

        // The secret went to the token endpoint only, and never into the log.
        let log = served.bot.log();
        assert!(
            !log.contains(OAUTH_CLIENT_SECRET),
            "the client secret was logged"
        );
        let carried = emulator
            .requests()
            .iter()
            .filter(|r| r.mentions(OAUTH_CLIENT_SECRET))
            .map(|r| r.path.clone())
            .collect::<Vec<_>>();
        assert!(
            carried.iter().all(|p| p.contains("oauth2/token")),
            "{carried:?}"
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_server_admin_sees_the_questions_of_their_servers_only() {
        let served = serve("").await;
        // Two unanswered questions: one in the bot's server, one in another.
        let database = Database::File(served.bot.database());
        let mut ours = crate::store::question(
            1,
            careerbot::admin::store::now_ms(),
            "where do penguins keep their savings",
            "fallback",
            0.1,
        );
        let mut theirs = crate::store::question(
            2,
            careerbot::admin::store::now_ms(),
            "how tall is the eiffel tower in winter",
            "fallback",
            0.1,
        );
        if let careerbot::admin::store::Record::Question(q) = &mut ours {
            q.guild = Some(GUILD_ID);
        }
        if let careerbot::admin::store::Record::Question(q) = &mut theirs {
            q.guild = Some(GUILD_ID + 1);
        }
        Store::open(&database)
            .unwrap()
            .write(&[ours, theirs])
            .unwrap();
        let session = served.log_in().await;
        let page = served
            .get("/unanswered", Some(&session))
            .await
            .text()
            .await
            .unwrap();
        assert!(page.contains("penguins"), "{page}");
        assert!(!page.contains("eiffel"), "{page}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_address_makes_the_cookies_secure_and_names_the_redirect() {
    use reqwest::header::LOCATION;
    let served = with_discord::serve("public_url = \"https://dash.example.com\"\n").await;
    let response = served.get("/login", None).await;
    assert!(response.status().is_redirection());
    let cookie = response.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    for attribute in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(attribute), "{attribute}: {cookie}");
    }
    let location = response.headers()[LOCATION].to_str().unwrap();
    assert!(
        location.contains("redirect_uri=https%3A%2F%2Fdash.example.com%2Fauth%2Fcallback"),
        "{location}"
    );
}

#[test]
fn run_needs_the_client_secret_to_serve_the_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(&config, "[web]\nlisten = \"127.0.0.1:0\"\n").unwrap();
    let out = crate::support::careerbot(["run", "--config"])
        .with_args([config.as_os_str()])
        .env("DISCORD_TOKEN", crate::support::discord::FAKE_TOKEN)
        .env("DISCORD_CLIENT_SECRET", "")
        // Nowhere to connect to: the check must come first.
        .env("CAREERBOT_DISCORD__API_BASE", "http://127.0.0.1:9")
        .run_within(std::time::Duration::from_secs(60));
    out.expect_code(1);
    assert!(out.stderr.contains("DISCORD_CLIENT_SECRET"), "{out}");
    assert!(!out.stderr.contains("cannot reach"), "{out}");
}
