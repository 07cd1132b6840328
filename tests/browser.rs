//! The dashboard in a real browser: a headless Chromium driven over WebDriver (fantoccini
//! and chromedriver) through the real `careerbot dashboard`, page by page as an admin clicks
//! it, with a screenshot of each page under `target/screenshots/`.
//!
//! Chromium and chromedriver are system packages (Debian's `chromium`, `chromium-driver`;
//! `.ci/run` installs them): without them these tests fail, saying so, rather than pass
//! without having looked. One browser runs at a time, whatever the test threads.

use std::fs::File;
use std::ops::Deref;
use std::os::unix::process::CommandExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use careerbot::admin::store::{now_ms, Database, Record, Store};
use fantoccini::elements::Element;
use fantoccini::error::{CmdError, ErrorStatus};
use fantoccini::wd::Capabilities;
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::json;
use tokio::sync::{Semaphore, SemaphorePermit};

use crate::dashboard::Dashboard;
use crate::store::question;
use crate::support::discord::GUILD_ID;
use crate::support::shipped_engine;

/// The browser Debian's `chromium` package installs, which `chromium-driver` drives.
const CHROMIUM: &str = "/usr/bin/chromium";
/// How long chromedriver may take to answer, a browser to start, a page to show an element.
const DEADLINE: Duration = Duration::from_secs(30);
/// Ports tried for chromedriver: a port found free may be taken before it binds it.
const PORT_ATTEMPTS: usize = 5;

/// One browser at a time: each is a chromedriver and a dozen Chromium processes.
static ONE_AT_A_TIME: Semaphore = Semaphore::const_new(1);

/// A headless Chromium driven through its own chromedriver on a free loopback port; derefs
/// to the fantoccini [`Client`]. Dropping it kills chromedriver and the browser with it;
/// [`Browser::close`] ends the session first.
pub(crate) struct Browser {
    client: Client,
    driver: Driver,
    _one_at_a_time: SemaphorePermit<'static>,
}

impl Browser {
    /// Starts chromedriver, waits until it is ready and opens a browser session.
    pub(crate) async fn start() -> Browser {
        let one_at_a_time = ONE_AT_A_TIME.acquire().await.expect("never closed");
        assert!(
            Path::new(CHROMIUM).exists(),
            "{CHROMIUM} is missing: {INSTALL}"
        );
        let driver = Driver::start().await;
        let mut builder = ClientBuilder::new(HttpConnector::new());
        builder.capabilities(capabilities(&driver.dir.path().join("profile")));
        let url = format!("http://127.0.0.1:{}", driver.port);
        let client = match tokio::time::timeout(DEADLINE, builder.connect(&url)).await {
            Ok(Ok(client)) => client,
            Ok(Err(error)) => panic!("no browser session: {error}\n{}", driver.log()),
            Err(_) => panic!("no browser session within {DEADLINE:?}\n{}", driver.log()),
        };
        Browser {
            client,
            driver,
            _one_at_a_time: one_at_a_time,
        }
    }

    /// The first element `css` finds, waiting for it up to the [`DEADLINE`]. A page being
    /// navigated away from ("aborted by navigation") is waited out like a missing element.
    pub(crate) async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let error = match self.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(error) => error,
            };
            if Instant::now() >= deadline {
                let url = self.current_url().await.map(String::from);
                panic!("no `{css}` within {DEADLINE:?} on {url:?}: {error}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The visible text of every element `css` finds, in page order.
    pub(crate) async fn texts(&self, css: &str) -> Vec<String> {
        let mut texts = Vec::new();
        for element in self.find_all(Locator::Css(css)).await.unwrap() {
            texts.push(element.text().await.unwrap());
        }
        texts
    }

    /// Asserts that the page ran no script of its text: it holds no `script` element and
    /// no alert is open (the session leaves alerts open to be seen here).
    pub(crate) async fn assert_no_script(&self) {
        match self.get_alert_text().await {
            Err(CmdError::Standard(error)) if error.error == ErrorStatus::NoSuchAlert => {}
            Ok(text) => panic!("the page opened an alert: {text:?}"),
            Err(error) => panic!("cannot ask for alerts: {error}"),
        }
        let scripts = self.find_all(Locator::Css("script")).await.unwrap();
        assert!(scripts.is_empty(), "{} script elements", scripts.len());
    }

    /// Saves what the window shows as `target/screenshots/NAME.png`; its path.
    pub(crate) async fn screenshot(&self, name: &str) -> PathBuf {
        let dir = screenshots();
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.png"));
        let png = self.client.screenshot().await.unwrap();
        assert!(png.starts_with(b"\x89PNG"), "not a PNG");
        std::fs::write(&path, png).unwrap();
        path
    }

    /// Ends the session (Chromium quits), then chromedriver.
    pub(crate) async fn close(self) {
        let Browser { client, driver, .. } = self;
        let _ = tokio::time::timeout(DEADLINE, client.close()).await;
        drop(driver);
    }
}

impl Deref for Browser {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// chromedriver, leader of a process group of its own that the Chromium it starts joins;
/// the whole group is killed when dropped.
struct Driver {
    child: Child,
    port: u16,
    /// The browser profile and chromedriver's log (`driver.log`), removed once they died.
    dir: tempfile::TempDir,
}

impl Driver {
    /// Starts chromedriver on a free loopback port (another when the port was taken
    /// meanwhile); returns once its `/status` says it is ready.
    async fn start() -> Driver {
        let mut tried = Vec::new();
        for _ in 0..PORT_ATTEMPTS {
            let dir = tempfile::tempdir().unwrap();
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .and_then(|listener| listener.local_addr())
                .unwrap()
                .port();
            let log = File::create(dir.path().join("driver.log")).unwrap();
            let spawned = Command::new("chromedriver")
                .arg(format!("--port={port}"))
                .stdin(Stdio::null())
                .stdout(log.try_clone().unwrap())
                .stderr(log)
                .process_group(0)
                .spawn();
            let child = match spawned {
                Ok(child) => child,
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
                    panic!("chromedriver is not on the PATH: {INSTALL}")
                }
                Err(error) => panic!("cannot start chromedriver: {error}"),
            };
            // Killed when dropped, ready or not.
            let mut driver = Driver { child, port, dir };
            match driver.ready().await {
                Ok(()) => return driver,
                Err(why) => tried.push(format!("port {port}: {why}\n{}", driver.log())),
            }
        }
        panic!("chromedriver did not start:\n{}", tried.join("\n"))
    }

    /// Polls `/status` until it says chromedriver is ready; an error when it exits first
    /// (its port was taken) or the [`DEADLINE`] passes.
    async fn ready(&mut self) -> Result<(), String> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()
            .unwrap();
        let status = format!("http://127.0.0.1:{}/status", self.port);
        let deadline = Instant::now() + DEADLINE;
        while Instant::now() < deadline {
            if let Some(exit) = self.child.try_wait().unwrap() {
                return Err(format!("chromedriver exited ({exit})"));
            }
            if let Ok(response) = client.get(&status).send().await {
                let body = response.text().await.unwrap_or_default();
                let body: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
                if body["value"]["ready"] == true {
                    return Ok(());
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        Err(format!("not ready within {DEADLINE:?}"))
    }

    /// Its log, for a failure message.
    fn log(&self) -> String {
        let log = std::fs::read_to_string(self.dir.path().join("driver.log")).unwrap_or_default();
        format!("--- chromedriver's log ---\n{log}")
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        // The whole group: chromedriver and every Chromium process it started.
        let group = -(self.child.id() as libc::pid_t);
        // SAFETY: kill(2) on the process group this test started; no memory is involved.
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

const INSTALL: &str = "the browser tests need Chromium and chromedriver: install them with \
     `apt-get install chromium chromium-driver` (as .ci/run does)";

/// `target/screenshots`, beside the tests' `target/tmp`.
fn screenshots() -> PathBuf {
    Path::new(env!("CARGO_TARGET_TMPDIR"))
        .parent()
        .expect("CARGO_TARGET_TMPDIR is inside the target directory")
        .join("screenshots")
}

/// What the session asks of Chromium: headless, usable as root (CI), a fixed window, its
/// profile in `profile`; alerts left open for [`Browser::assert_no_script`] to see; pages
/// given a deadline.
fn capabilities(profile: &Path) -> Capabilities {
    let capabilities = json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": CHROMIUM,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
        "unhandledPromptBehavior": "ignore",
        "timeouts": { "pageLoad": DEADLINE.as_millis() as u64, "script": 10_000, "implicit": 0 },
    });
    match capabilities {
        serde_json::Value::Object(map) => map,
        _ => unreachable!("an object"),
    }
}

/// An unanswered question whose text is markup that would run script if it were not escaped.
const HOSTILE: &str = "<script>alert(1)</script> how do i become a backend dev";

/// A store in `dir`: answered questions on the days before, and today [`HOSTILE`] twice (the
/// biggest group of the queue) and another unanswered one, all fallbacks of low confidence.
fn seeded_store(dir: &Path) -> PathBuf {
    let database = dir.join("careerbot.sqlite3");
    let mut store = Store::open(&Database::file(&database)).unwrap();
    let (now, day) = (now_ms(), 86_400_000);
    let records = [
        question(
            1,
            now - 3 * day,
            "how much do backend developers earn",
            "answer",
            0.9,
        ),
        question(2, now - 2 * day, "do i need a degree", "answer", 0.8),
        question(
            3,
            now - day,
            "what is a good first language",
            "clarify",
            0.5,
        ),
        question(4, now - 60_000, HOSTILE, "fallback", 0.1),
        question(5, now - 30_000, HOSTILE, "fallback", 0.1),
        question(6, now, "\"><img src=x onerror=alert(2)>", "fallback", 0.2),
    ];
    store.write(&records).unwrap();
    database
}

/// From any page: files the first unanswered group (the question [`HOSTILE`]) under the
/// first intent its menu offers, then asks the playground the same question, which the
/// intent must now answer. Screenshots are named with `suffix`. The intent chosen.
async fn file_and_ask(browser: &Browser, suffix: &str) -> String {
    // Unanswered: the biggest group first, filed under an intent its menu offers.
    browser
        .find(Locator::Css("nav a[href='/unanswered']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let first = browser.wait_for("tbody tr").await;
    let question = first.find(Locator::Css("td")).await.unwrap();
    assert_eq!(question.text().await.unwrap(), HOSTILE);
    browser.assert_no_script().await;
    browser.screenshot(&format!("unanswered{suffix}")).await;
    let menu = first
        .find(Locator::Css("select[name='choice']"))
        .await
        .unwrap();
    let mut offered = Vec::new();
    for option in menu.find_all(Locator::Css("option")).await.unwrap() {
        offered.push(option.attr("value").await.unwrap().unwrap_or_default());
    }
    assert_eq!(
        offered.last().map(String::as_str),
        Some("ignore"),
        "{offered:?}"
    );
    let engine = shipped_engine();
    let chosen = offered[0].clone();
    assert!(
        engine.intent(&chosen).is_some(),
        "{chosen} is not a shipped intent"
    );
    menu.select_by_value(&chosen).await.unwrap();
    assert_eq!(
        menu.prop("value").await.unwrap().as_deref(),
        Some(chosen.as_str())
    );
    first
        .find(Locator::Css("button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let notice = browser.wait_for("div.notice").await.text().await.unwrap();
    assert!(
        notice.starts_with(&format!("Added “{HOSTILE}” as an example of {chosen}:")),
        "{notice}"
    );
    let queued = browser.texts("tbody tr td:first-child").await;
    assert!(!queued.iter().any(|q| q == HOSTILE), "{queued:?}");
    browser.assert_no_script().await;

    // The playground answers the question with the intent it was filed under.
    browser
        .find(Locator::Css("nav a[href='/playground']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let field = browser.wait_for("textarea[name='question']").await;
    field.send_keys(HOSTILE).await.unwrap();
    browser
        .find(Locator::Css("main form button[type='submit']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let reply = browser.wait_for("section.reply p").await;
    let decision = reply.find(Locator::Css("strong")).await.unwrap();
    assert_eq!(decision.text().await.unwrap(), "answer");
    let intent = reply.find(Locator::Css("code")).await.unwrap();
    assert_eq!(intent.text().await.unwrap(), chosen);
    let asked = browser.find(Locator::Css("textarea")).await.unwrap();
    assert_eq!(asked.prop("value").await.unwrap().as_deref(), Some(HOSTILE));
    browser.assert_no_script().await;
    browser.screenshot(&format!("playground{suffix}")).await;

    chosen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_local_dashboard_in_a_real_browser() {
    let dir = tempfile::tempdir().unwrap();
    // Filing writes into the intents: a copy of the shipped ones.
    let intents = crate::admin::intents_copy();
    let dashboard = Dashboard::start_on(Some(&seeded_store(dir.path())), intents.path());
    let browser = Browser::start().await;

    // The login link sets the session and lands on the overview.
    browser.goto(&dashboard.link).await.unwrap();
    let chart = browser.wait_for("figure.chart svg").await;
    assert_eq!(
        browser.current_url().await.unwrap().as_str(),
        format!("{}/", dashboard.base)
    );
    let mut bars = 0;
    for rect in chart.find_all(Locator::Css("rect")).await.unwrap() {
        // The white background is a rectangle too.
        let fill = rect.attr("fill").await.unwrap().unwrap_or_default();
        bars += usize::from(!fill.eq_ignore_ascii_case("#FFFFFF"));
    }
    assert!(bars >= 3, "{bars} bars");
    let listed = browser.texts("main li").await;
    assert!(listed.iter().any(|li| li.contains(HOSTILE)), "{listed:?}");
    browser.assert_no_script().await;
    browser.screenshot("overview").await;

    let chosen = file_and_ask(&browser, "").await;
    let engine = shipped_engine();

    // The intents, and the one filed under, its new example shown as text.
    browser
        .find(Locator::Css("nav a[href='/intents']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    let link = browser
        .wait_for(&format!("main a[href='/intents/{chosen}']"))
        .await;
    browser.screenshot("intents").await;
    link.click().await.unwrap();
    browser.wait_for("blockquote.answer").await;
    let title = browser
        .find(Locator::Css("h1"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert_eq!(title, engine.intent(&chosen).unwrap().title);
    let examples = browser.texts("ul.examples li span").await;
    assert!(examples.iter().any(|e| e == HOSTILE), "{examples:?}");
    browser.assert_no_script().await;
    browser.screenshot("intent").await;
    browser.close().await;
}

/// `careerbot run` with its dashboard, against the Discord emulator: logging in goes
/// through Discord's (emulated) consent page, then the overview, filing and the
/// playground as an admin of the bot's server sees them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bots_dashboard_logs_in_with_discord_in_a_real_browser() {
    let intents = crate::admin::intents_copy();
    let served = crate::dashboard::with_discord::serve_on("", intents.path()).await;
    // The bot's server's questions (the seeded ones belong to another server).
    let mut store = Store::open(&Database::file(served.bot.database())).unwrap();
    let (now, day) = (now_ms(), 86_400_000);
    let mut records = vec![
        question(
            1,
            now - 2 * day,
            "how much do backend developers earn",
            "answer",
            0.9,
        ),
        question(
            2,
            now - day,
            "what is a good first language",
            "clarify",
            0.5,
        ),
        question(3, now - 60_000, HOSTILE, "fallback", 0.1),
    ];
    for record in &mut records {
        if let Record::Question(q) = record {
            q.guild = Some(GUILD_ID);
        }
    }
    store.write(&records).unwrap();
    drop(store);
    let browser = Browser::start().await;

    browser.goto(&format!("{}/", served.base)).await.unwrap();
    browser.wait_for("a#login").await.click().await.unwrap();
    // Discord's consent page (the emulator's), then back with a code and the state.
    let authorize = browser.wait_for("button#authorize").await;
    browser.screenshot("discord-consent").await;
    authorize.click().await.unwrap();
    browser.wait_for("figure.chart svg").await;
    assert_eq!(
        browser.current_url().await.unwrap().as_str(),
        format!("{}/", served.base)
    );
    let who = browser.wait_for("header form.logout span").await;
    assert_eq!(who.text().await.unwrap(), "owner");
    browser.assert_no_script().await;
    browser.screenshot("overview-discord").await;

    let chosen = file_and_ask(&browser, "-discord").await;

    // The History page names the admin beside the change.
    browser
        .find(Locator::Css("nav a[href='/history']"))
        .await
        .unwrap()
        .click()
        .await
        .unwrap();
    browser.wait_for("h2").await;
    let rows = browser.texts("table.history tbody tr").await;
    assert!(
        rows.iter()
            .any(|r| r.contains("owner") && r.contains("file_example") && r.contains(&chosen)),
        "{rows:?}"
    );
    // The filed question, markup and all, is text in the audit log too.
    assert!(rows.iter().any(|r| r.contains(HOSTILE)), "{rows:?}");
    browser.assert_no_script().await;
    browser.screenshot("history").await;
    browser.close().await;
}
