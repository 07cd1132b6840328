//! The admin dashboard's page weights and server response times: the shipped intents, an
//! SQLite store of 5,000 questions over the last 30 days (a quarter of them unanswered, in
//! 100 distinct texts) and 1,000 votes, served in this process on 127.0.0.1 and asked over
//! HTTP, each page 20 times after one warm-up request.
//!
//! `cargo bench --bench dashboard` (add `-- --json` for one JSON object). Prints; asserts
//! nothing about time.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use careerbot::admin::reload::Reloader;
use careerbot::admin::store::{
    now_ms, Database, Outcome, QuestionRecord, Record, Source, Store, VoteRecord,
};
use careerbot::config::Settings;
use careerbot::engine::Engine;
use careerbot::web::Dashboard;
use serde_json::json;

const QUESTIONS: u64 = 5_000;
const VOTES: u64 = 1_000;
const RUNS: usize = 20;

fn seed(database: &Path, engine: &Engine) {
    let mut store = Store::open(&Database::File(database.to_owned())).unwrap();
    let intents: Vec<&str> = engine.intents().iter().map(|i| i.id.as_str()).collect();
    let now = now_ms();
    let span = 30 * 86_400_000;
    let mut records = Vec::new();
    for id in 1..=QUESTIONS {
        let intent = intents[id as usize % intents.len()];
        let (decision, confidence, text) = match id % 4 {
            0 => (
                Outcome::Fallback,
                0.1,
                format!("an unanswered question about topic number {}", id % 100),
            ),
            1 => (Outcome::Clarify, 0.6, format!("a question for {intent}")),
            2 => (Outcome::Decline, 0.9, "how do i become a nurse".to_owned()),
            _ => (Outcome::Answer, 0.9, format!("a question for {intent}")),
        };
        records.push(Record::Question(QuestionRecord {
            id,
            at_ms: now - span + (id as i64 * span / QUESTIONS as i64),
            guild: Some(1),
            channel: Some(2),
            source: Source::Mention,
            text,
            decision,
            intent: Some(intent.to_owned()),
            confidence,
            candidates: vec![intent.to_owned()],
            engine_version: "bench".to_owned(),
            intent_version: None,
        }));
    }
    for id in 1..=VOTES {
        let question = id * 4;
        records.push(Record::Vote(VoteRecord {
            id,
            at_ms: now - 1_000,
            question,
            intent: intents[question as usize % intents.len()].to_owned(),
            up: id % 3 != 0,
        }));
    }
    store.write(&records).unwrap();
}

/// The CSRF token of the first form of `page`.
fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").unwrap() + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

fn main() {
    let as_json = std::env::args().any(|a| a == "--json");
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap();
    let database = dir.path().join("careerbot.sqlite3");
    let mut settings = Settings::defaults();
    settings.admin.database = Some(Database::File(database.clone()));
    let intents = root.join("intents");
    let (engine, _) = Engine::load(&intents, &settings.matcher, &settings.limits).unwrap();
    seed(&database, &engine);
    let first = engine.intents()[0].id.clone();
    let reloader = Reloader::new(engine, &intents, &settings).unwrap();
    let (dashboard, token) = Dashboard::local(Arc::new(reloader), settings);

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let rows = runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(careerbot::web::serve(
            listener,
            dashboard,
            std::future::pending(),
        ));
        let client = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        let login = client
            .get(format!("{base}/login?token={token}"))
            .send()
            .await
            .unwrap();
        let cookie = login.headers()["set-cookie"].to_str().unwrap();
        let cookie = cookie.split(';').next().unwrap().to_owned();
        let page = client
            .get(format!("{base}/playground"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let csrf = csrf_of(&page);
        let asked = format!("csrf={csrf}&question=how+much+does+a+backend+developer+earn");
        let pages: Vec<(String, Option<String>)> = vec![
            ("/?days=7".into(), None),
            ("/?days=30".into(), None),
            ("/?days=90".into(), None),
            ("/unanswered".into(), None),
            ("/intents".into(), None),
            (format!("/intents/{first}"), None),
            ("/playground".into(), None),
            ("/playground".into(), Some(asked)),
            ("/history".into(), None),
            ("/static/style.css".into(), None),
        ];
        let mut rows = Vec::new();
        for (path, form) in pages {
            let mut times = Vec::new();
            let mut bytes = 0;
            for run in 0..=RUNS {
                let request = match &form {
                    None => client.get(format!("{base}{path}")),
                    Some(form) => client
                        .post(format!("{base}{path}"))
                        .header("content-type", "application/x-www-form-urlencoded")
                        .body(form.clone()),
                };
                let started = Instant::now();
                let response = request.header("cookie", &cookie).send().await.unwrap();
                assert!(
                    response.status().is_success(),
                    "{path}: {}",
                    response.status()
                );
                bytes = response.bytes().await.unwrap().len();
                if run > 0 {
                    times.push(started.elapsed());
                }
            }
            times.sort();
            let method = if form.is_some() { "POST" } else { "GET" };
            rows.push((
                format!("{method} {path}"),
                bytes,
                times[RUNS / 2],
                times[RUNS - 1],
            ));
        }
        rows
    });
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    if as_json {
        let pages: Vec<_> = rows
            .iter()
            .map(|(page, bytes, p50, max)| {
                json!({"page": page, "bytes": bytes, "p50_ms": ms(*p50), "max_ms": ms(*max)})
            })
            .collect();
        println!(
            "{}",
            json!({"questions": QUESTIONS, "votes": VOTES, "runs": RUNS, "pages": pages})
        );
        return;
    }
    println!(
        "dashboard over {QUESTIONS} questions and {VOTES} votes (SQLite), {RUNS} requests a page:"
    );
    println!(
        "{:<28} {:>9} {:>9} {:>9}",
        "page", "bytes", "p50 ms", "max ms"
    );
    for (page, bytes, p50, max) in rows {
        println!("{page:<28} {bytes:>9} {:>9.2} {:>9.2}", ms(p50), ms(max));
    }
}
