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
            .post(
                "/playground",
                &cookie,
                &[("csrf", &csrf), ("question", hostile)],
            )
            .await
            .text()
            .await
            .unwrap();
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
        .post(
            "/playground",
            cookie,
            &[("csrf", csrf), ("question", question)],
        )
        .await
        .text()
        .await
        .unwrap();
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
        .post(
            "/unanswered",
            &cookie,
            &[("csrf", &csrf), ("text", filed), ("choice", &target)],
        )
        .await
        .text()
        .await
        .unwrap();
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
        .post(
            "/unanswered",
            &cookie,
            &[("csrf", &csrf), ("text", ignored), ("choice", "ignore")],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(
        ignoring.contains("Ignored “how tall do giraffes grow”"),
        "{ignoring}"
    );
    assert!(!ignoring.contains("value=\"how tall do giraffes grow\""));

    // A broken file beside it: the set with the example is refused, the example taken back,
    // the old set still answering.
    let broken = intents.path().join("zz-broken.toml");
    std::fs::write(&broken, "[[intent]]\nid = \"broken\"\ntitle = 5\n").unwrap();
    let refused = dashboard
        .post(
            "/unanswered",
            &cookie,
            &[("csrf", &csrf), ("text", asked), ("choice", &target)],
        )
        .await
        .text()
        .await
        .unwrap();
    assert!(refused.contains("The example was not kept"), "{refused}");
    let located = regex::Regex::new(r"zz-broken\.toml:\d+:\d+: ").unwrap();
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
