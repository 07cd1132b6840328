//! The real `careerbot` binary: its command-line contract (exit codes, output formats,
//! flags, stdin and stdout), on `tests/fixtures/good`, `tests/fixtures/bad` and the shipped
//! `intents/`. What the engine answers is tested through the library in `engine`.

use std::collections::BTreeSet;
use std::path::Path;

use careerbot::engine::catalog::CourseFilter;
use careerbot::engine::intents::Level;
use careerbot::engine::matcher::Decision;
use careerbot::engine::Engine;
use serde_json::{json, Value};

use crate::support::{
    self, assert_bad_fixture_errors, careerbot, diagnostics, fixture, good_engine, intents_arg,
    shipped, shipped_engine,
};

fn good() -> std::path::PathBuf {
    fixture("good")
}

/// `careerbot ask QUESTION --json --intents DIR`, expected to succeed.
#[track_caller]
fn ask_json(dir: &Path, question: &str) -> Value {
    let out = careerbot(["ask", question, "--json"])
        .with_args(intents_arg(dir))
        .run();
    out.expect_code(0);
    out.json()
}

fn str_field<'a>(value: &'a Value, key: &str) -> &'a str {
    value[key]
        .as_str()
        .unwrap_or_else(|| panic!("`{key}` is not a string in {value:#}"))
}

/// Checks the shape every `ask --json` reply must have, whatever the decision.
#[track_caller]
fn assert_reply_shape(reply: &Value, engine: &Engine) {
    let object = reply.as_object().expect("the reply is a JSON object");
    for key in [
        "decision",
        "intent",
        "confidence",
        "candidates",
        "answer",
        "courses",
        "follow_ups",
        "explanation",
    ] {
        assert!(object.contains_key(key), "missing key `{key}` in {reply:#}");
    }
    let decision = str_field(reply, "decision");
    assert!(
        ["answer", "clarify", "fallback", "decline"].contains(&decision),
        "unknown decision {decision:?}"
    );
    let confidence = reply["confidence"]
        .as_f64()
        .expect("confidence is a number");
    assert!(
        (0.0..=1.0).contains(&confidence),
        "confidence {confidence} is outside [0, 1]"
    );
    let candidates = reply["candidates"]
        .as_array()
        .expect("candidates is a list");
    assert!(
        candidates.len() <= 3,
        "more than three candidates: {reply:#}"
    );
    let mut previous = f64::INFINITY;
    for candidate in candidates {
        let id = str_field(candidate, "intent");
        assert!(
            engine.intent(id).is_some(),
            "candidate `{id}` is not an intent"
        );
        let score = candidate["score"].as_f64().expect("score is a number");
        assert!((0.0..=1.0).contains(&score), "score {score} outside [0, 1]");
        assert!(
            score <= previous,
            "candidates are not best first: {reply:#}"
        );
        previous = score;
    }
    // The confidence is the model's best intent's: an answer's own; a clarify or fallback
    // may list a more confident choice or suggestion first.
    if let Some(first) = candidates.first() {
        let best = first["score"].as_f64().unwrap_or_default();
        if decision == "answer" || decision == "decline" {
            assert_eq!(best, confidence, "{reply:#}");
        } else {
            assert!(confidence <= best, "{reply:#}");
        }
    }
    assert!(reply["courses"].is_array() && reply["follow_ups"].is_array());
    for course in reply["courses"].as_array().unwrap() {
        let id = str_field(course, "id");
        let known = engine
            .catalog()
            .get(id)
            .unwrap_or_else(|| panic!("course `{id}` is not in the catalog"));
        assert_eq!(str_field(course, "title"), known.title);
        assert_eq!(str_field(course, "url"), known.url);
    }
    assert!(
        reply["explanation"].is_object(),
        "explanation is not an object: {reply:#}"
    );
    assert!(!str_field(&reply["explanation"], "summary").is_empty());
    // A decline gives its intent's answer as an answer does.
    if decision == "answer" || decision == "decline" {
        let id = str_field(reply, "intent");
        let intent = engine.intent(id).expect("the answered intent exists");
        assert_eq!(str_field(reply, "answer"), intent.answer);
        assert_eq!(str_field(&candidates[0], "intent"), id);
        let follow_ups: Vec<&str> = reply["follow_ups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f.as_str().expect("follow-up ids are strings"))
            .collect();
        assert_eq!(follow_ups, intent.follow_ups);
    } else {
        assert!(reply["intent"].is_null(), "intent must be null: {reply:#}");
        assert!(reply["answer"].is_null(), "answer must be null: {reply:#}");
        assert_eq!(reply["courses"], json!([]));
        assert_eq!(reply["follow_ups"], json!([]));
    }
}

// ---------------------------------------------------------------------------
// ask
// ---------------------------------------------------------------------------

#[test]
fn ask_json_has_the_documented_keys() {
    let engine = good_engine();
    for question in ["which skills do I need", "will it rain tomorrow", ""] {
        let reply = ask_json(&good(), question);
        assert_reply_shape(&reply, engine);
    }
}

#[test]
fn ask_prints_the_title_and_answer_as_text() {
    let engine = good_engine();
    let skills = engine.intent("role.skills").expect("fixture intent");
    let out = careerbot(["ask", "which skills do I need"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(0);
    assert!(out.stdout.contains(&skills.title), "{out}");
    assert!(out.stdout.contains(skills.answer.trim()), "{out}");
    for id in &skills.courses {
        let course = engine.catalog().get(id).unwrap();
        assert!(out.stdout.contains(&course.url), "{out}");
    }
    for id in &skills.follow_ups {
        assert!(
            out.stdout.contains(&engine.intent(id).unwrap().title),
            "{out}"
        );
    }
    // A fallback names no intent's answer.
    let out = careerbot(["ask", "will it rain tomorrow"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(0);
    assert!(!out.stdout.trim().is_empty());
    for intent in engine.intents() {
        assert!(!out.stdout.contains(intent.answer.trim()), "{out}");
    }
}

#[test]
fn ask_on_the_shipped_intents_answers_the_degree_question() {
    let engine = shipped_engine();
    let degree = engine
        .intent("preparation.degree")
        .expect("the shipped intents have `preparation.degree` (the knowledge base issue)");
    // Without --intents, the default directory is the shipped one (run from the crate root).
    let out = careerbot(["ask", "do I need a bachelor's degree", "--json"]).run();
    out.expect_code(0);
    let reply = out.json();
    assert_reply_shape(&reply, engine);
    assert_eq!(reply["decision"], "answer", "{reply:#}");
    assert_eq!(reply["intent"].as_str(), Some(degree.id.as_str()));
}

#[test]
fn ask_json_names_the_lookup_classes_found_and_a_decline() {
    let dir = fixture("decline");
    let engine = support::load(&dir, &support::matcher_settings());
    // No example names an electrician: the `occupation` class of lookups.toml does.
    let out = careerbot(["ask", "how do i become an electrician", "--json"])
        .with_args(intents_arg(&dir))
        .run();
    out.expect_code(0);
    let reply = out.json();
    assert_reply_shape(&reply, &engine);
    assert_eq!(reply["decision"], "decline", "{reply:#}");
    assert_eq!(reply["intent"], "scope.other_careers", "{reply:#}");
    let answer = &engine.intent("scope.other_careers").unwrap().answer;
    assert_eq!(reply["answer"].as_str(), Some(answer.as_str()), "{reply:#}");
    assert_eq!(
        reply["explanation"]["classes"],
        json!(["occupation"]),
        "{reply:#}"
    );
    // In the terminal, the decline's answer is shown as an answer is.
    let out = careerbot(["ask", "how do i become an electrician"])
        .with_args(intents_arg(&dir))
        .run();
    assert!(out.stdout.contains(answer.as_str()), "{out}");
    // A backend question names no class.
    let out = careerbot(["ask", "what skills do backend developers need", "--json"])
        .with_args(intents_arg(&dir))
        .run();
    let reply = out.json();
    assert_eq!(reply["decision"], "answer", "{reply:#}");
    assert_eq!(reply["explanation"]["classes"], json!([]), "{reply:#}");
}

#[test]
fn a_missing_intent_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nowhere");
    for args in [vec!["ask", "hello"], vec!["chat"], vec!["check"]] {
        let out = careerbot(&args).with_args(intents_arg(&missing)).run();
        out.expect_code(1);
        assert!(out.stdout.is_empty(), "{out}");
        assert!(
            out.stderr.contains(&missing.display().to_string()),
            "the error should name the directory\n{out}"
        );
    }
}

// ---------------------------------------------------------------------------
// check, and commands on a broken directory
// ---------------------------------------------------------------------------

#[test]
fn check_passes_on_the_good_fixture_and_the_shipped_intents() {
    // The shipped set's confusion check is slow and runs once, in `knowledge`.
    for (dir, flags) in [(good(), &[][..]), (shipped(), &["--no-confusions"][..])] {
        let out = careerbot(["check"])
            .with_args(flags)
            .with_args(intents_arg(&dir))
            .run();
        out.expect_code(0);
        let errors: Vec<_> = diagnostics(&out.stderr)
            .into_iter()
            .filter(|d| !d.message.starts_with("warning:"))
            .collect();
        assert!(errors.is_empty(), "{out}");
        assert!(out.stdout.contains(&dir.display().to_string()), "{out}");
    }
}

#[test]
fn check_lists_every_error_of_the_bad_fixture() {
    // Absolute and relative directory: the paths are printed as given.
    for dir in [
        fixture("bad"),
        Path::new("tests/fixtures/bad").to_path_buf(),
    ] {
        let out = careerbot(["check"]).with_args(intents_arg(&dir)).run();
        out.expect_code(1);
        assert_bad_fixture_errors(&out.stderr, &dir);
        for (file, line, col, _) in support::BAD_FIXTURE_ERRORS {
            let place = format!("{}:{line}:{col}: ", dir.join(file).display());
            assert!(out.stderr.contains(&place), "{place} missing\n{out}");
        }
    }
}

#[test]
fn check_warns_about_a_confusable_example_without_failing() {
    let dir = support::IntentDir::new().file(
        "a.toml",
        support::intents_toml(&[
            support::IntentToml {
                id: "jobs.salary",
                title: "Salary",
                examples: &[
                    "how much does a backend engineer earn",
                    "what is the salary of a junior developer",
                    "what is a typical salary",
                    "how much money will I make",
                    "is the pay good",
                    "how do I prepare for the technical interview questions",
                ],
                answer: "It depends.",
                ..Default::default()
            },
            support::IntentToml {
                id: "jobs.interview",
                title: "Interviews",
                examples: &[
                    "how do I prepare for a technical interview",
                    "what questions are asked in an interview",
                    "how do I pass the coding interview",
                    "tips for a technical interview",
                    "what happens in a backend interview",
                ],
                answer: "Practice.",
                ..Default::default()
            },
        ]),
    );
    let out = careerbot(["check"])
        .with_args(intents_arg(dir.path()))
        .run();
    out.expect_code(0);
    let warnings: Vec<_> = diagnostics(&out.stderr)
        .into_iter()
        .filter(|d| d.message.contains("technical interview questions"))
        .collect();
    assert_eq!(warnings.len(), 1, "{out}");
    assert!(warnings[0].message.starts_with("warning:"), "{out}");
    assert!(warnings[0].message.contains("jobs.interview"), "{out}");
    assert_eq!(Path::new(&warnings[0].path), dir.path().join("a.toml"));
    // --no-confusions skips that search.
    let out = careerbot(["check", "--no-confusions"])
        .with_args(intents_arg(dir.path()))
        .run();
    out.expect_code(0);
    assert!(diagnostics(&out.stderr).is_empty(), "{out}");
}

#[test]
fn commands_on_the_bad_fixture_exit_1_with_every_error_and_no_answer() {
    let dir = fixture("bad");
    let runs = [
        careerbot(["ask", "what is the salary"]),
        careerbot(["ask", "what is the salary", "--json"]),
        careerbot(["chat"]).stdin("what is the salary\nhow much does it pay\n"),
        careerbot(["courses", "intro"]),
    ];
    for run in runs {
        let out = run.with_args(intents_arg(&dir)).run();
        out.expect_code(1);
        assert!(out.stdout.is_empty(), "nothing may be answered\n{out}");
        assert_bad_fixture_errors(&out.stderr, &dir);
        assert!(!out.stderr.contains("depends on the country"), "{out}");
    }
}

// ---------------------------------------------------------------------------
// courses
// ---------------------------------------------------------------------------

fn course_rows(args: &[&str], dir: &Path) -> Vec<Value> {
    let out = careerbot(["courses"])
        .with_args(args)
        .with_args(["--json"])
        .with_args(intents_arg(dir))
        .run();
    out.expect_code(0);
    let rows = out.json();
    let rows = rows.as_array().expect("a JSON list").clone();
    for row in &rows {
        for key in ["id", "title", "url", "level"] {
            assert!(row[key].is_string(), "`{key}` is not a string in {row:#}");
        }
        assert!(row["free"].is_boolean(), "`free` is not a bool in {row:#}");
    }
    rows
}

fn ids_in_order(rows: &[Value]) -> Vec<String> {
    rows.iter().map(|r| str_field(r, "id").to_owned()).collect()
}

/// The ids the library's course search returns for `query` and `filter` on `engine`, as
/// `careerbot courses` lists them (at most 25).
fn searched(engine: &Engine, query: &str, filter: &CourseFilter) -> Vec<String> {
    let hits = engine.catalog().search(query, filter, 25);
    hits.iter().map(|h| h.course.id.clone()).collect()
}

#[test]
fn courses_lists_the_catalog_search_as_json_rows_and_text() {
    let engine = good_engine();
    let rows = course_rows(&["sql"], &good());
    let listed: Vec<&str> = rows.iter().map(|r| str_field(r, "id")).collect();
    assert_eq!(listed, searched(engine, "sql", &CourseFilter::default()));
    assert!(!rows.is_empty());
    for row in &rows {
        let course = engine.catalog().get(str_field(row, "id")).unwrap();
        assert_eq!(str_field(row, "title"), course.title);
        assert_eq!(str_field(row, "url"), course.url);
        assert_eq!(str_field(row, "level"), course.level.as_str());
        assert_eq!(row["free"].as_bool(), Some(course.free));
    }
    // Plain text lists the course with its url.
    let out = careerbot(["courses", "sql"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(0);
    assert!(
        out.stdout
            .contains("https://academy.example.com/databases-101"),
        "{out}"
    );
}

#[test]
fn courses_filters_by_level_and_price() {
    // The flags become the library's filter (whose results `engine` tests in full).
    let engine = good_engine();
    for (args, query, level, free_only) in [
        (&["", "--free"][..], "", None, true),
        (
            &["", "--level", "intermediate"],
            "",
            Some("intermediate"),
            false,
        ),
        (
            &["", "--level", "beginner", "--free"],
            "",
            Some("beginner"),
            true,
        ),
        (&["sql", "--free"], "sql", None, true),
        (
            &["sql", "--level", "intermediate"],
            "sql",
            Some("intermediate"),
            false,
        ),
        (&["zzqqxx"], "zzqqxx", None, false),
    ] {
        let filter = CourseFilter {
            level: level.map(|l: &str| l.parse::<Level>().unwrap()),
            free_only,
        };
        let listed = ids_in_order(&course_rows(args, &good()));
        assert_eq!(listed, searched(engine, query, &filter), "{args:?}");
    }
}

#[test]
fn courses_rejects_an_unknown_level() {
    let out = careerbot(["courses", "sql", "--level", "expert"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(2);
    assert!(out.stderr.contains("expert"), "{out}");
    assert!(out.stdout.is_empty());
}

#[test]
fn courses_relevance_reports_precision_and_refuses_a_bad_table() {
    let table = crate::support::root().join("tests/data/course_relevance.toml");
    let out = careerbot(["courses", "--json", "--relevance"])
        .with_args([table.as_os_str()])
        .with_args(intents_arg(&shipped()))
        .run();
    out.expect_code(0);
    let report = out.json();
    for key in ["precision_at_1", "precision_at_3", "filled_at_3"] {
        let value = report[key].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&value), "{key}: {report:#}");
    }
    assert!(report["queries"].as_u64() >= Some(40), "{report:#}");
    assert_eq!(report["fragments"], json!([]), "{report:#}");
    let text = careerbot(["courses", "--relevance"])
        .with_args([table.as_os_str()])
        .with_args(intents_arg(&shipped()))
        .run();
    text.expect_code(0);
    assert!(text.stdout.contains("precision at 3"), "{text}");

    let dir = tempfile::tempdir().unwrap();
    let unknown = dir.path().join("unknown.toml");
    std::fs::write(
        &unknown,
        "[[query]]\ntext = \"sql\"\nbest = [\"no_such_course\"]\n",
    )
    .unwrap();
    let out = careerbot(["courses", "--relevance"])
        .with_args([unknown.as_os_str()])
        .with_args(intents_arg(&shipped()))
        .run();
    out.expect_code(1);
    assert!(
        out.stdout.contains("unknown course id   no_such_course"),
        "{out}"
    );
    let broken = dir.path().join("broken.toml");
    std::fs::write(&broken, "[[query]]\ntext = \"sql\"\nbest = [\n").unwrap();
    let out = careerbot(["courses", "--relevance"])
        .with_args([broken.as_os_str()])
        .with_args(intents_arg(&shipped()))
        .run();
    assert_ne!(out.code, Some(0), "{out}");
    assert!(
        out.stderr.contains("broken.toml") && out.stderr.contains("line 3"),
        "{out}"
    );
}

#[test]
fn two_questions_in_one_message_are_both_answered_in_ask_and_chat() {
    let engine = shipped_engine();
    let question = "should I learn go or java first, and what projects should I build?";
    // Each half alone, as the library answers it.
    let (first, second) = question.split_once(", and ").unwrap();
    let (first, second) = (engine.reply(first), engine.reply(second));
    assert_ne!(first.intent, second.intent);
    let out = careerbot(["ask", "--json", question])
        .with_args(intents_arg(&shipped()))
        .run();
    out.expect_code(0);
    let reply = out.json();
    assert_eq!(reply["intent"], json!(first.intent), "{reply:#}");
    assert_eq!(reply["also"]["intent"], json!(second.intent), "{reply:#}");
    assert_eq!(reply["also"]["decision"], "answer");
    // One question: no `also`.
    let out = careerbot(["ask", "--json", "what projects should I build?"])
        .with_args(intents_arg(&shipped()))
        .run();
    assert!(out.json().get("also").is_none(), "{out}");

    // `chat`: both answers, one after the other, and one "Related" list (the second's).
    let out = careerbot(["chat"])
        .with_args(intents_arg(&shipped()))
        .stdin(format!("{question}\n"))
        .run();
    out.expect_code(0);
    let titles: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("## "))
        .collect();
    let expected: Vec<String> = [&first, &second]
        .iter()
        .map(|r| format!("## {}", r.title.as_deref().unwrap()))
        .collect();
    assert_eq!(titles, expected, "{out}");
    assert_eq!(out.stdout.matches("Related:").count(), 1, "{out}");
    // The setting is honoured: out of its range it is refused; at 1 only sure halves split.
    let out = careerbot(["ask", "--json", question])
        .with_args(intents_arg(&shipped()))
        .env("CAREERBOT_CONVERSATION__TWO_QUESTIONS_CONFIDENCE", "1.01")
        .run();
    out.expect_code(1);
    let out = careerbot(["ask", "--json", question])
        .with_args(intents_arg(&shipped()))
        .env("CAREERBOT_CONVERSATION__TWO_QUESTIONS_CONFIDENCE", "1")
        .run();
    out.expect_code(0);
    let both_sure = first.confidence >= 1.0 && second.confidence >= 1.0;
    assert_eq!(out.json().get("also").is_some(), both_sure, "{out}");
}

#[test]
fn ask_says_which_bar_an_unasked_reply_needs() {
    let question = "what degree do I need to become a backend engineer?";
    let reply = shipped_engine().reply(question);
    let intent = reply.intent.clone().expect("answered");
    let channel = careerbot::config::Settings::defaults()
        .discord
        .channel_min_confidence;
    let bar_of = |dir: &Path| {
        let out = careerbot(["ask", "--json", question])
            .with_args(intents_arg(dir))
            .run();
        out.expect_code(0);
        out.json()["explanation"]["bar"].clone()
    };
    let bar = bar_of(&shipped());
    assert_eq!(bar["source"], "channel_min_confidence", "{bar}");
    assert!(
        (bar["value"].as_f64().unwrap() - f64::from(channel)).abs() < 1e-6,
        "{bar}"
    );
    // The intent's own bar, when stricter, is the one that applies; a looser one is not.
    let dir = crate::admin::intents_copy();
    crate::support::set_min_confidence(dir.path(), &intent, 0.95);
    let bar = bar_of(dir.path());
    assert_eq!(
        bar["source"],
        format!("min_confidence of {intent}"),
        "{bar}"
    );
    assert!(
        (bar["value"].as_f64().unwrap() - 0.95).abs() < 1e-6,
        "{bar}"
    );
    let dir = crate::admin::intents_copy();
    crate::support::set_min_confidence(dir.path(), &intent, channel / 2.0);
    assert_eq!(bar_of(dir.path())["source"], "channel_min_confidence");
}

/// The catalog course with `url`, from a listed line `  - Title <url>`.
fn listed_courses(reply: &str) -> Vec<&'static careerbot::engine::intents::Course> {
    let courses = shipped_engine().set().courses();
    reply
        .lines()
        .filter_map(|l| {
            l.strip_prefix("  - ")?
                .rsplit_once(" <")?
                .1
                .strip_suffix('>')
        })
        .map(|url| courses.iter().find(|c| c.url == url).unwrap())
        .collect()
}

#[test]
fn a_course_question_s_level_and_price_words_filter_and_follow_ups_keep_them_apart() {
    use careerbot::engine::intents::Level;
    let replies = conversation(
        &[
            "any free beginner course on go?",
            "is there a course on java?",
            "any free ones?",
        ],
        &[],
    );
    let go = listed_courses(&replies[0]);
    assert!(!go.is_empty(), "{}", replies[0]);
    for course in &go {
        assert!(course.free && course.level == Level::Beginner, "{course:?}");
        assert!(course.topics.iter().any(|t| t == "go"), "{course:?}");
    }
    // Java, not JavaScript.
    let java = listed_courses(&replies[1]);
    assert!(!java.is_empty(), "{}", replies[1]);
    for course in &java {
        assert!(course.topics.iter().any(|t| t == "java"), "{course:?}");
        assert!(
            !course.topics.iter().any(|t| t == "javascript"),
            "{course:?}"
        );
    }
    // "any free ones?" narrows the last search.
    let free = listed_courses(&replies[2]);
    assert!(!free.is_empty(), "{}", replies[2]);
    for course in &free {
        assert!(
            course.free && course.topics.iter().any(|t| t == "java"),
            "{course:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// chat
// ---------------------------------------------------------------------------

fn chat(input: impl AsRef<[u8]>) -> support::Output {
    let out = careerbot(["chat"])
        .with_args(intents_arg(&good()))
        .stdin(input)
        .run();
    out.expect_code(0);
    out
}

/// Byte offset of `needle` in `haystack`, or a failure showing both.
#[track_caller]
fn position(haystack: &str, needle: &str) -> usize {
    haystack
        .find(needle)
        .unwrap_or_else(|| panic!("{needle:?} not found in:\n{haystack}"))
}

#[test]
fn chat_answers_several_questions_in_one_run() {
    let engine = good_engine();
    let questions = ["which skills do I need", "hello", "what can you do"];
    let out = chat(format!("{}\n", questions.join("\n")));
    let mut at = 0;
    for question in questions {
        let reply = engine.reply(question);
        assert_eq!(reply.decision, Decision::Answer, "{question:?}");
        let title = reply.title.unwrap();
        let answer = reply.answer.unwrap();
        let found = at + position(&out.stdout[at..], &format!("## {title}"));
        assert!(
            out.stdout[found..].contains(answer.trim()),
            "answer missing\n{out}"
        );
        at = found + 1;
    }
    // One reply per question: as many titles as questions.
    assert_eq!(out.stdout.matches("## ").count(), questions.len(), "{out}");
}

#[test]
fn chat_opens_a_related_topic_by_number() {
    let engine = good_engine();
    let first = engine.reply("which skills do I need");
    let follow_up = engine
        .intent(&first.follow_ups[0])
        .expect("the fixture's follow-up exists");
    let out = chat("which skills do I need\n1\n");
    let at = position(&out.stdout, &format!("## {}", first.title.unwrap()));
    let next = position(&out.stdout, &format!("## {}", follow_up.title));
    assert!(next > at, "{out}");
    assert!(
        out.stdout[next..].contains(follow_up.answer.trim()),
        "{out}"
    );

    // After the follow-up, the numbers refer to *its* related topics: chain one more.
    let hello = engine.reply("hello");
    let help = engine.intent(&hello.follow_ups[0]).unwrap();
    let second = engine.intent(&help.follow_ups[1]).unwrap();
    let out = chat("hello\n1\n2\n");
    let a = position(&out.stdout, &format!("## {}", hello.title.unwrap()));
    let b = position(&out.stdout, &format!("## {}", help.title));
    let c = a.max(b) + position(&out.stdout[a.max(b)..], &format!("## {}", second.title));
    assert!(a < b && b < c, "{out}");
}

#[test]
fn chat_treats_an_out_of_range_number_as_a_question() {
    let engine = good_engine();
    // "hello" offers one related topic; 7 is not a choice.
    let out = chat("hello\n7\n");
    assert_eq!(out.stdout.matches("## ").count(), 1, "{out}");
    let fallback = careerbot(["ask", "7"])
        .with_args(intents_arg(&good()))
        .run();
    fallback.expect_code(0);
    assert!(
        out.stdout.trim_end().ends_with(fallback.stdout.trim_end()),
        "{out}"
    );
    assert_eq!(engine.reply("7").decision, Decision::Fallback);
}

#[test]
fn chat_stops_at_quit() {
    let out = chat("hello\n/quit\nwhich skills do I need\n");
    let engine = good_engine();
    let skills = engine.intent("role.skills").unwrap();
    assert!(out.stdout.contains("## Say hello"), "{out}");
    assert!(
        !out.stdout.contains(&skills.title),
        "answered after /quit\n{out}"
    );
    // /exit too, and end of input without /quit is fine.
    let out = chat("/exit\nhello\n");
    assert!(out.stdout.trim().is_empty(), "{out}");
    let out = chat("hello");
    assert!(out.stdout.contains("## Say hello"), "{out}");
}

#[test]
fn chat_why_explains_the_last_decision() {
    let engine = good_engine();
    let reply = engine.reply("which skills do I need");
    let out = chat("which skills do I need\n/why\n");
    let answer = position(&out.stdout, reply.answer.as_deref().unwrap());
    let why = position(&out.stdout, &reply.explanation.summary);
    assert!(why > answer, "{out}");
    assert!(
        reply.explanation.summary.contains("role.skills"),
        "{}",
        reply.explanation.summary
    );
    // A fallback is explained too.
    let reply = engine.reply("will it rain tomorrow");
    let out = chat("will it rain tomorrow\n/why\n");
    position(&out.stdout, &reply.explanation.summary);
    // /why with nothing asked says something and goes on.
    let out = chat("/why\nhello\n");
    let hello = position(&out.stdout, "## Say hello");
    assert!(!out.stdout[..hello].trim().is_empty(), "{out}");
}

#[test]
fn chat_commands_help_topics_and_course() {
    let engine = good_engine();
    let out = chat("/help\n");
    for command in ["/topics", "/course", "/why", "/quit"] {
        assert!(out.stdout.contains(command), "{command} missing\n{out}");
    }
    let out = chat("/topics\n");
    for intent in engine.intents() {
        assert!(out.stdout.contains(&intent.title), "{out}");
    }
    // A number after /topics opens that topic.
    let third = engine.intents_as_written().nth(2).unwrap();
    let out = chat("/topics\n3\n");
    assert!(out.stdout.contains(third.answer.trim()), "{out}");
    let out = chat("/course sql\n");
    assert!(out.stdout.contains("Databases 101"), "{out}");
    assert!(!out.stdout.contains("System Design Fundamentals"), "{out}");
}

#[test]
fn chat_on_a_pipe_prints_no_prompt_or_banner() {
    let out = chat("hello\n\n   \nwhich skills do I need\n");
    for line in out.stdout.lines() {
        assert!(
            !line.starts_with('>') && !line.starts_with("careerbot:"),
            "prompt or banner on a pipe: {line:?}\n{out}"
        );
    }
    assert!(out.stdout.starts_with("## Say hello"), "{out}");
    assert!(out.stderr.is_empty(), "{out}");
    // Blank lines are not questions.
    assert_eq!(out.stdout.matches("## ").count(), 2, "{out}");
    // Empty input: nothing at all.
    let out = chat("");
    assert!(out.stdout.is_empty(), "{out}");
}

// ---------------------------------------------------------------------------
// chat: conversations on the shipped intents
// ---------------------------------------------------------------------------

/// A `careerbot chat` session on the shipped intents, its replies one per question (a
/// reply starts at an answer's `## title` or at the fallback's words; what a command such as
/// `/why` prints joins the reply before it).
fn conversation(lines: &[&str], env: &[(&str, &str)]) -> Vec<String> {
    let mut run = careerbot(["chat"])
        .with_args(intents_arg(&shipped()))
        .stdin(format!("{}\n", lines.join("\n")));
    for (key, value) in env {
        run = run.env(key, value);
    }
    let out = run.run();
    out.expect_code(0);
    let fallback = &careerbot::config::Settings::defaults().replies.fallback;
    let mut replies: Vec<String> = Vec::new();
    for line in out.stdout.lines() {
        if line.starts_with("## ") || line.starts_with(fallback.as_str()) || replies.is_empty() {
            replies.push(String::new());
        }
        let reply = replies.last_mut().expect("one reply at least");
        reply.push_str(line);
        reply.push('\n');
    }
    let questions = lines.iter().filter(|l| !l.starts_with('/')).count();
    assert_eq!(replies.len(), questions, "one reply per question:\n{out}");
    replies
}

fn title_of(id: &str) -> String {
    let intent = shipped_engine().intent(id);
    format!(
        "## {}",
        intent.unwrap_or_else(|| panic!("no intent {id}")).title
    )
}

/// The course search intent of the shipped set (found by its action, not its name).
fn course_search() -> &'static careerbot::engine::intents::Intent {
    shipped_engine()
        .intents()
        .iter()
        .find(|i| i.action == Some(careerbot::engine::intents::Action::SearchCourses))
        .expect("the shipped intents search courses")
}

/// The topics of the first course a reply lists.
fn first_course_topics(reply: &str) -> Vec<String> {
    let url = reply
        .lines()
        .find_map(|l| {
            l.strip_prefix("  - ")?
                .rsplit_once(" <")?
                .1
                .strip_suffix('>')
        })
        .unwrap_or_else(|| panic!("no course in:\n{reply}"));
    let courses = shipped_engine().set().courses();
    let course = courses.iter().find(|c| c.url == url).unwrap();
    course.topics.clone()
}

#[test]
fn after_a_course_search_a_short_follow_up_searches_its_own_topic() {
    let engine = shipped_engine();
    // Alone, these fall back or miss: the conversation is what makes them work.
    for alone in ["what about docker?", "and for go?"] {
        let reply = engine.reply(alone);
        assert_ne!(
            reply.intent,
            Some(course_search().id.clone()),
            "{alone}: {reply:?}"
        );
    }
    let replies = conversation(
        &[
            "any course on sql",
            "what about docker?",
            "and for go?",
            "/why",
        ],
        &[],
    );
    let search = format!("## {}", course_search().title);
    for reply in &replies[..3] {
        assert!(reply.starts_with(&search), "{reply}");
    }
    assert!(first_course_topics(&replies[0]).contains(&"sql".to_owned()));
    assert!(
        first_course_topics(&replies[1]).contains(&"docker".to_owned()),
        "{}",
        replies[1]
    );
    let go = first_course_topics(&replies[2]);
    assert!(go.iter().any(|t| t == "go" || t == "golang"), "{go:?}");
    assert!(
        replies[2].contains("follow-up"),
        "/why says so: {}",
        replies[2]
    );
}

#[test]
fn a_message_that_stands_on_its_own_changes_the_subject() {
    let engine = shipped_engine();
    let salary = engine.reply("and salary?");
    assert_eq!(salary.decision, Decision::Answer);
    let salary = salary.intent.unwrap();
    assert_ne!(salary, course_search().id);
    let replies = conversation(&["any course on sql", "and salary?"], &[]);
    assert!(replies[1].starts_with(&title_of(&salary)), "{}", replies[1]);
    // A long question never leans on the last one, even an unclear one.
    let long = "will it rain in paris tomorrow afternoon";
    let alone = engine.reply(long);
    let replies = conversation(&["do i need a degree", long], &[]);
    match alone.intent {
        Some(id) => assert!(replies[1].starts_with(&title_of(&id)), "{}", replies[1]),
        None => assert!(!replies[1].starts_with("## "), "{}", replies[1]),
    }
}

#[test]
fn a_follow_up_of_the_degree_answer_is_read_with_it() {
    let engine = shipped_engine();
    let degree = engine.reply("do i need a degree");
    let degree = engine.intent(degree.intent.as_deref().unwrap()).unwrap();
    let question = "what if i dont have one";
    assert_ne!(
        engine.reply(question).decision,
        Decision::Answer,
        "alone it is unclear"
    );
    let replies = conversation(&["do i need a degree", question, "why?"], &[]);
    let related: Vec<String> = std::iter::once(&degree.id)
        .chain(&degree.follow_ups)
        .map(|id| title_of(id))
        .collect();
    for reply in &replies[1..] {
        assert!(related.iter().any(|t| reply.starts_with(t)), "{reply}");
    }
}

#[test]
fn tell_me_more_shows_the_details_once_then_the_related_topics() {
    let engine = shipped_engine();
    let degree = engine.reply("do i need a degree");
    let degree = engine.intent(degree.intent.as_deref().unwrap()).unwrap();
    let details = degree
        .details
        .as_deref()
        .expect("the degree answer has details");
    let more = engine
        .intents()
        .iter()
        .find(|i| i.action == Some(careerbot::engine::intents::Action::More))
        .expect("a \"more\" intent ships");
    let replies = conversation(&["do i need a degree", "tell me more", "more please"], &[]);
    let first_line = details.lines().next().unwrap();
    assert!(!replies[0].contains(first_line), "{}", replies[0]);
    assert!(
        replies[1].starts_with(&title_of(&degree.id)),
        "{}",
        replies[1]
    );
    assert!(replies[1].contains(first_line), "{}", replies[1]);
    // Asked again: nothing more to show, so the related topics.
    assert!(
        replies[2].starts_with(&format!("## {}", more.title)),
        "{}",
        replies[2]
    );
    let first_related = &engine.intent(&degree.follow_ups[0]).unwrap().title;
    assert!(
        replies[2].contains(first_related.as_str()),
        "{}",
        replies[2]
    );
    // With no conversation, "tell me more" is answered as itself.
    let replies = conversation(&["tell me more"], &[]);
    assert!(
        replies[0].starts_with(&format!("## {}", more.title)),
        "{}",
        replies[0]
    );
}

#[test]
fn chat_topics_lists_topics_not_greetings_thanks_or_declines() {
    let engine = shipped_engine();
    let replies = conversation(&["hello"], &[]);
    let out = careerbot(["chat"])
        .with_args(intents_arg(&shipped()))
        .stdin("/topics\n")
        .run();
    out.expect_code(0);
    let listed: Vec<&str> = out
        .stdout
        .lines()
        .filter_map(|l| l.trim_start().split_once(". ").map(|(_, title)| title))
        .collect();
    for intent in engine.intents() {
        assert_eq!(
            listed.contains(&intent.title.as_str()),
            intent.is_topic(),
            "{}",
            intent.id
        );
    }
    let greeting = engine.reply("hello").intent.unwrap();
    assert!(engine.intent(&greeting).unwrap().unlisted, "{}", replies[0]);
}

#[test]
fn chat_says_it_answers_in_english_to_a_question_that_is_not() {
    let settings = careerbot::config::Settings::defaults();
    let out = careerbot(["chat"])
        .with_args(intents_arg(&shipped()))
        .stdin("wie werde ich ein guter backend entwickler ohne studium\nhow do i become a backend developer\n")
        .run();
    out.expect_code(0);
    let at = position(&out.stdout, &settings.replies.not_english);
    assert!(
        !out.stdout[..at].contains(&settings.replies.fallback),
        "{out}"
    );
    // The English question after it is answered as usual.
    let reply = shipped_engine().reply("how do i become a backend developer");
    position(&out.stdout[at..], &format!("## {}", reply.title.unwrap()));
}

#[test]
fn a_message_that_is_only_code_gets_the_code_only_intent_or_a_fallback() {
    let code = "```python\nfor i in range(10) print(i)\n```";
    let coding = shipped_engine()
        .intents()
        .iter()
        .find(|i| i.code_only)
        .expect("the shipped set answers code-only messages");
    let reply = ask_json(&shipped(), code);
    assert_eq!(
        reply["intent"].as_str(),
        Some(coding.id.as_str()),
        "{reply:#}"
    );
    let decision = if coding.decline { "decline" } else { "answer" };
    assert_eq!(reply["decision"], decision, "{reply:#}");
    // Words around the code are matched as usual; a set with no such intent falls back.
    assert!(good_engine().intents().iter().all(|i| !i.code_only));
    let reply = ask_json(&good(), code);
    assert_eq!(reply["decision"], "fallback", "{reply:#}");
}

#[test]
fn with_no_context_minutes_every_message_stands_alone() {
    let engine = shipped_engine();
    let alone = engine.reply("what about docker?");
    let off = [("CAREERBOT_CONVERSATION__CONTEXT_MINUTES", "0")];
    let replies = conversation(&["any course on sql", "what about docker?"], &off);
    match alone.intent {
        Some(id) => assert!(replies[1].starts_with(&title_of(&id)), "{}", replies[1]),
        None => assert!(!replies[1].starts_with("## "), "{}", replies[1]),
    }
    let search = format!("## {}", course_search().title);
    assert!(!replies[1].starts_with(&search), "{}", replies[1]);
}

// ---------------------------------------------------------------------------
// eval
// ---------------------------------------------------------------------------

/// The cases of a JSON-lines file, blank lines skipped.
fn read_cases(path: &Path) -> Vec<(String, Option<String>)> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (
                v["text"].as_str().unwrap().to_owned(),
                v["intent"].as_str().map(str::to_owned),
            )
        })
        .collect()
}

#[test]
fn eval_reports_accuracy_and_its_breakdown() {
    let cases_path = fixture("eval/cases.jsonl");
    let out = careerbot(["eval"])
        .with_args([&cases_path])
        .with_args(["--json"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(0);
    let report = out.json();
    for key in [
        "accuracy",
        "per_intent",
        "oos_precision",
        "oos_recall",
        "confusions",
        "latency_us",
        "queries_per_second",
    ] {
        assert!(report.get(key).is_some(), "missing `{key}` in {report:#}");
    }

    // Recompute what the report must say from the library's own replies.
    let engine = good_engine();
    let cases = read_cases(&cases_path);
    let outcome = |text: &str| {
        let reply = engine.reply(text);
        match reply.decision {
            Decision::Answer => reply.intent,
            Decision::Clarify => Some("(clarify)".to_owned()),
            Decision::Fallback | Decision::Decline => None,
        }
    };
    let right = cases
        .iter()
        .filter(|(text, expected)| outcome(text) == *expected)
        .count();
    let accuracy = right as f64 / cases.len() as f64;
    assert!((report["accuracy"].as_f64().unwrap() - accuracy).abs() < 1e-9);

    // The fixture has one deliberately mislabelled case: "what should I learn first" is an
    // example of role.skills labelled role.overview.
    assert!(accuracy < 1.0);
    let confusions = report["confusions"].as_array().unwrap();
    assert!(
        confusions.contains(&json!({
            "expected": "role.overview",
            "predicted": "role.skills",
            "count": 1
        })),
        "{report:#}"
    );
    let skills = &report["per_intent"]["role.skills"];
    assert_eq!(skills["support"], 1);
    assert_eq!(skills["recall"].as_f64(), Some(1.0));
    assert_eq!(skills["precision"].as_f64(), Some(0.5));
    let overview = &report["per_intent"]["role.overview"];
    assert_eq!(overview["support"], 2);
    assert_eq!(overview["recall"].as_f64(), Some(0.5));
    // The out-of-scope case falls back, and nothing else does.
    assert_eq!(report["oos_recall"].as_f64(), Some(1.0));
    assert_eq!(report["oos_precision"].as_f64(), Some(1.0));

    let p50 = report["latency_us"]["p50"].as_f64().unwrap();
    let p99 = report["latency_us"]["p99"].as_f64().unwrap();
    assert!(p50 > 0.0 && p50 <= p99, "{report:#}");
    assert!(report["queries_per_second"].as_f64().unwrap() > 0.0);

    // Plain text mentions the accuracy as a percentage.
    let text = careerbot(["eval"])
        .with_args([&cases_path])
        .with_args(intents_arg(&good()))
        .run();
    text.expect_code(0);
    assert!(
        text.stdout.contains(&format!("{:.2}%", 100.0 * accuracy)),
        "{text}"
    );
}

#[test]
fn eval_min_accuracy_sets_the_exit_code() {
    let cases = fixture("eval/cases.jsonl");
    let run = |min: &str| {
        careerbot(["eval"])
            .with_args([&cases])
            .with_args(["--min-accuracy", min])
            .with_args(intents_arg(&good()))
            .run()
    };
    // The fixture's cases score 6 of 7.
    let out = run("0.9");
    out.expect_code(1);
    assert!(out.stderr.contains("0.9000"), "{out}");
    run("0").expect_code(0);
}

#[test]
fn eval_min_accuracy_must_be_a_fraction() {
    let cases = fixture("eval/cases.jsonl");
    // `nan` would pass any report (no comparison with it holds) and 1.5 none.
    for bad in ["nan", "NaN", "1.5", "-0.1", "inf", "ninety"] {
        let out = careerbot(["eval"])
            .with_args([&cases])
            .with_args([format!("--min-accuracy={bad}")])
            .with_args(intents_arg(&good()))
            .run();
        out.expect_code(2);
        assert!(
            out.stderr.contains("--min-accuracy") && out.stderr.contains("fraction from 0 to 1"),
            "{bad}: {out}"
        );
        assert!(out.stdout.is_empty(), "{bad}: {out}");
    }
    for fine in ["0", "0.5", "1"] {
        let out = careerbot(["eval"])
            .with_args([&cases])
            .with_args(["--min-accuracy", fine])
            .with_args(intents_arg(&good()))
            .run();
        assert!(matches!(out.code, Some(0 | 1)), "{fine}: {out}");
    }
}

#[test]
fn eval_refuses_unknown_intents_and_malformed_cases() {
    let out = careerbot(["eval"])
        .with_args([fixture("eval/unknown_intent.jsonl")])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("faq.salary"), "{out}");
    assert!(out.stdout.is_empty(), "{out}");

    let malformed = fixture("eval/malformed.jsonl");
    let out = careerbot(["eval"])
        .with_args([&malformed])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(1);
    assert!(
        out.stderr.contains(&format!("{}:2:", malformed.display())),
        "the error should point at line 2\n{out}"
    );

    let empty = tempfile::NamedTempFile::new().unwrap();
    let out = careerbot(["eval"])
        .with_args([empty.path()])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(1);
    let out = careerbot(["eval", "/no/such/cases.jsonl"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("/no/such/cases.jsonl"), "{out}");
}

// ---------------------------------------------------------------------------
// bench-clinc
// ---------------------------------------------------------------------------

/// A tiny CLINC150-format data set: four intents with disjoint vocabularies.
fn clinc_data(with_val: bool) -> Value {
    let topics: [(&str, [&str; 5]); 4] = [
        (
            "weather",
            ["rain", "sunny", "forecast", "umbrella", "storm"],
        ),
        ("recipe", ["cook", "bake", "oven", "flour", "soup"]),
        (
            "travel",
            ["flight", "airport", "luggage", "passport", "hotel"],
        ),
        ("music", ["song", "guitar", "playlist", "concert", "album"]),
    ];
    let frames = [
        "tell me about the {}",
        "i need help with {} and {}",
        "what about my {}",
        "{} {} please",
        "can you check the {}",
        "is there any {} today",
        "show {} info",
        "question on {} and {}",
        "{} now",
        "help me find a {}",
        "any news about {}",
        "the {} again",
        "my {} and the {}",
    ];
    let make = |range: std::ops::Range<usize>| -> Vec<Value> {
        let mut rows = Vec::new();
        for (label, words) in &topics {
            for n in range.clone() {
                let mut text = frames[n % frames.len()].to_owned();
                let mut k = n;
                while let Some(at) = text.find("{}") {
                    text.replace_range(at..at + 2, words[k % words.len()]);
                    k += 2;
                }
                rows.push(json!([text, label]));
            }
        }
        rows
    };
    let oos = |texts: &[&str]| -> Vec<Value> { texts.iter().map(|t| json!([t, "oos"])).collect() };
    let mut data = json!({
        "train": make(0..10),
        "test": make(10..13),
        "oos_train": oos(&["what is quantum physics", "who painted the mona lisa"]),
        "oos_val": oos(&["how tall is everest", "define entropy", "who is the president"]),
        "oos_test": oos(&["translate hello to french", "how old is the universe", "zxqv"]),
    });
    if with_val {
        data["val"] = json!(make(10..13));
    }
    data
}

fn write_json(dir: &Path, name: &str, value: &Value) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string(value).unwrap()).unwrap();
    path
}

#[test]
fn bench_clinc_measures_a_tiny_data_set() {
    let dir = tempfile::tempdir().unwrap();
    let file = write_json(dir.path(), "clinc.json", &clinc_data(true));
    for (split, args) in [("val", vec![]), ("test", vec!["--split", "test"])] {
        let out = careerbot(["bench-clinc"])
            .with_args([&file])
            .with_args(["--json"])
            .with_args(args)
            .run();
        out.expect_code(0);
        let report = out.json();
        for key in [
            "in_scope_accuracy",
            "oos_recall",
            "oos_precision",
            "build_ms",
            "queries_per_second",
        ] {
            assert!(report[key].is_number(), "missing `{key}` in {report:#}");
        }
        for key in [
            "in_scope_accuracy",
            "oos_recall",
            "oos_precision",
            "val_oos_recall_at_min_precision_test_share",
        ] {
            let v = report[key].as_f64().unwrap();
            assert!((0.0..=1.0).contains(&v), "{key} = {v}");
        }
        assert!(report["build_ms"].as_f64().unwrap() >= 0.0);
        assert!(report["queries_per_second"].as_f64().unwrap() > 0.0);
        assert_eq!(report["split"], split, "{report:#}");
        assert_eq!(report["intents"], 4, "{report:#}");
        assert_eq!(report["train_examples"], 40, "{report:#}");
        // The four topics share no content word: without a threshold every in-scope
        // query gets its own topic.
        assert_eq!(
            report["in_scope_accuracy_no_threshold"].as_f64(),
            Some(1.0),
            "{report:#}"
        );
    }
    // The text report works too.
    let out = careerbot(["bench-clinc"]).with_args([&file]).run();
    out.expect_code(0);
    assert!(out.stdout.contains("in-scope accuracy"), "{out}");
}

#[test]
fn bench_clinc_reports_missing_splits_and_bad_files() {
    let dir = tempfile::tempdir().unwrap();
    let no_val = write_json(dir.path(), "no_val.json", &clinc_data(false));
    let out = careerbot(["bench-clinc"]).with_args([&no_val]).run();
    out.expect_code(1);
    assert!(out.stderr.contains("val"), "{out}");
    assert!(out.stderr.contains(&no_val.display().to_string()), "{out}");
    assert!(out.stdout.is_empty(), "{out}");

    let mut no_test = clinc_data(true);
    no_test["test"] = json!([]);
    let no_test = write_json(dir.path(), "no_test.json", &no_test);
    let out = careerbot(["bench-clinc"])
        .with_args([&no_test])
        .with_args(["--split", "test"])
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("test"), "{out}");

    let garbage = write_json(dir.path(), "garbage.json", &json!({"train": 3}));
    let out = careerbot(["bench-clinc"]).with_args([&garbage]).run();
    out.expect_code(1);
    assert!(out.stderr.contains(&garbage.display().to_string()), "{out}");
    let out = careerbot(["bench-clinc"])
        .with_args([&no_val])
        .with_args(["--split", "train"])
        .run();
    out.expect_code(2);
}

// ---------------------------------------------------------------------------
// config
// ---------------------------------------------------------------------------

/// A question of the fixture answered with a confidence below 0.99 by default.
const MIDDLING: &str = "what happens in a day";

#[test]
fn a_config_file_overrides_a_matcher_threshold() {
    let default = ask_json(&good(), MIDDLING);
    assert_eq!(default["decision"], "answer", "{default:#}");
    let confidence = default["confidence"].as_f64().unwrap();
    assert!(
        confidence < 0.99,
        "pick a less certain question: {confidence}"
    );

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("strict.toml");
    std::fs::write(&config, "[matcher]\nfallback_below = 0.99\n").unwrap();
    let out = careerbot(["ask", MIDDLING, "--json", "--config"])
        .with_args([&config])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(0);
    let strict = out.json();
    assert_eq!(strict["decision"], "fallback", "{strict:#}");
    assert!(strict["intent"].is_null());
    assert!(
        strict["explanation"]["summary"]
            .as_str()
            .unwrap()
            .contains("0.99"),
        "{strict:#}"
    );
    // Only the key the file sets changes: the confidence is the same.
    assert_eq!(strict["confidence"], default["confidence"]);
}

#[test]
fn a_config_file_with_an_unknown_key_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    for (text, key) in [
        ("[matcher]\nfallback_belw = 0.5\n", "fallback_belw"),
        ("colour = \"red\"\n", "colour"),
    ] {
        let config = dir.path().join("typo.toml");
        std::fs::write(&config, text).unwrap();
        let out = careerbot(["ask", MIDDLING, "--config"])
            .with_args([&config])
            .with_args(intents_arg(&good()))
            .run();
        out.expect_code(1);
        assert!(
            out.stderr.contains(key),
            "the error should name `{key}`\n{out}"
        );
        assert!(out.stdout.is_empty(), "{out}");
    }
    let out = careerbot(["ask", MIDDLING, "--config", "/no/such/config.toml"])
        .with_args(intents_arg(&good()))
        .run();
    out.expect_code(1);
    assert!(out.stderr.contains("/no/such/config.toml"), "{out}");
}

#[test]
fn an_environment_variable_overrides_a_matcher_threshold() {
    let strict = careerbot(["ask", MIDDLING, "--json"])
        .with_args(intents_arg(&good()))
        .env("CAREERBOT_MATCHER__FALLBACK_BELOW", "0.99")
        .run();
    strict.expect_code(0);
    assert_eq!(strict.json()["decision"], "fallback", "{strict}");

    // The environment wins over the file.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("lenient.toml");
    std::fs::write(&config, "[matcher]\nfallback_below = 0.0\n").unwrap();
    let out = careerbot(["ask", MIDDLING, "--json", "--config"])
        .with_args([&config])
        .with_args(intents_arg(&good()))
        .env("CAREERBOT_MATCHER__FALLBACK_BELOW", "0.99")
        .run();
    out.expect_code(0);
    assert_eq!(out.json()["decision"], "fallback", "{out}");

    // A value of the wrong type is an error, not ignored.
    let out = careerbot(["ask", MIDDLING])
        .with_args(intents_arg(&good()))
        .env("CAREERBOT_MATCHER__FALLBACK_BELOW", "high")
        .run();
    out.expect_code(1);
    assert!(
        out.stderr.to_lowercase().contains("fallback_below"),
        "{out}"
    );
}

// ---------------------------------------------------------------------------
// help
// ---------------------------------------------------------------------------

#[test]
fn help_lists_every_subcommand() {
    let out = careerbot(["--help"]).run();
    out.expect_code(0);
    let commands: BTreeSet<&str> = out
        .stdout
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    for command in ["ask", "chat", "courses", "check", "eval", "bench-clinc"] {
        assert!(commands.contains(command), "`{command}` missing\n{out}");
        let sub = careerbot([command, "--help"]).run();
        sub.expect_code(0);
        assert!(sub.stdout.contains("--intents"), "{sub}");
    }
    // No subcommand: usage error on stderr.
    let out = careerbot(Vec::<&str>::new()).run();
    out.expect_code(2);
    assert!(out.stderr.contains("Usage"), "{out}");
}

/// A `[limits]` value from the environment refuses a set past it, in `check` and in
/// `ask`, naming the first intent past the limit; an out-of-range value is a config error.
#[test]
fn a_limit_set_by_the_environment_refuses_a_set_past_it() {
    let dir = good();
    for args in [vec!["check"], vec!["ask", "what degree do I need"]] {
        let out = careerbot(&args)
            .with_args(intents_arg(&dir))
            .env("CAREERBOT_LIMITS__MAX_INTENTS", "4")
            .run();
        out.expect_code(1);
        assert!(out.stdout.is_empty(), "{out}");
        let refusals: Vec<_> = diagnostics(&out.stderr)
            .into_iter()
            .filter(|d| {
                d.message
                    .contains("too many intents: 5 in the set, at most 4")
            })
            .collect();
        assert_eq!(refusals.len(), 1, "{out}");
        assert!(refusals[0].line > 0, "{out}");
        assert!(out.stderr.contains("[limits] max_intents = 4"), "{out}");
    }
    let out = careerbot(["check"])
        .with_args(intents_arg(&dir))
        .env("CAREERBOT_LIMITS__MAX_INTENTS", "0")
        .run();
    out.expect_code(1);
    assert!(
        out.stderr.contains("limits.max_intents")
            && out.stderr.contains("must be a whole number from 1 to"),
        "{out}"
    );
}
