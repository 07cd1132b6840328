//! The shipped knowledge base (`intents/`) against its contract: the intents the issue
//! names, enough varied examples, answers and titles within limits, a real catalog, a clean
//! `check`, and the held-out evaluation (`tests/data/career_cases.jsonl`) above its bar.
//! All through the library: the binary's `check` and `eval` are tested in `cli`, and this is
//! the suite's only confusion check of the shipped set (the slowest check there is).

use std::collections::{BTreeMap, BTreeSet};

use careerbot::engine::intents::{self, Action};

use crate::support::{self, root, shipped, shipped_engine};

/// The intents the knowledge-base issue requires (more may exist).
const REQUIRED: &[&str] = &[
    "role.overview",
    "role.frontend_collaboration",
    "role.impact",
    "traits.qualities",
    "background.entry_paths",
    "preparation.degree",
    "preparation.coursework",
    "preparation.advanced_degree",
    "preparation.projects",
    "preparation.open_source",
    "preparation.online_courses",
    "courses.search",
    "skills.technical",
    "settings.employers",
    "settings.projects",
    "settings.team",
    "advancement.paths",
    "advancement.transferable_careers",
    "smalltalk.greeting",
    "smalltalk.thanks",
    "bot.help",
];

/// The intents the knowledge-and-judgement issue adds: what members ask most.
const REQUIRED_NEW: &[&str] = &[
    "jobs.search",
    "jobs.internships",
    "jobs.interviews",
    "jobs.resume",
    "jobs.salary",
    "jobs.remote",
    "preparation.certifications",
    "skills.first_language",
    "skills.system_design",
    "outlook.ai",
    "wellbeing.burnout",
    "wellbeing.imposter_syndrome",
    "roles.fullstack",
    "roles.devops_sre",
    "roles.data_engineering",
];

/// The decline intents that issue names: other careers, front-end and design, coding help.
const REQUIRED_DECLINES: &[&str] = &[
    "decline.other_careers",
    "decline.frontend_design",
    "decline.coding_help",
];

const MIN_EXAMPLES: usize = 15;
const MAX_ANSWER_CHARS: usize = 1200;
const MIN_COURSES: usize = 110;

fn cases_path() -> std::path::PathBuf {
    root().join("tests/data/career_cases.jsonl")
}

#[test]
fn every_required_intent_exists_with_enough_examples_and_short_answers() {
    let loaded = intents::load_dir(&shipped(), &crate::support::limits())
        .unwrap_or_else(|r| panic!("{:#?}", r.diagnostics));
    let by_id: BTreeMap<&str, &intents::Intent> = loaded
        .set
        .intents()
        .iter()
        .map(|i| (i.id.as_str(), i))
        .collect();
    let mut problems = Vec::new();
    for id in REQUIRED.iter().chain(REQUIRED_NEW).chain(REQUIRED_DECLINES) {
        let Some(intent) = by_id.get(id) else {
            problems.push(format!("{id}: missing"));
            continue;
        };
        if intent.examples.len() < MIN_EXAMPLES {
            problems.push(format!("{id}: {} examples", intent.examples.len()));
        }
        let chars = intent.answer.chars().count();
        if chars > MAX_ANSWER_CHARS {
            problems.push(format!("{id}: answer of {chars} characters"));
        }
    }
    for id in REQUIRED_NEW {
        if let Some(intent) = by_id.get(id) {
            if !(1..=3).contains(&intent.courses.len()) {
                problems.push(format!("{id}: {} courses", intent.courses.len()));
            }
            if intent.decline {
                problems.push(format!("{id}: a decline"));
            }
        }
    }
    for id in REQUIRED_DECLINES {
        if by_id.get(id).is_some_and(|intent| !intent.decline) {
            problems.push(format!("{id}: not a decline"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let search = by_id["courses.search"];
    assert_eq!(search.action, Some(Action::SearchCourses));
}

#[test]
fn the_catalog_is_large_and_covers_the_subjects_answers_mention() {
    let loaded = intents::load_dir(&shipped(), &crate::support::limits()).unwrap();
    let courses = loaded.set.courses();
    assert!(courses.len() >= MIN_COURSES, "{} courses", courses.len());
    assert!(courses.iter().all(|c| c.url.starts_with("https://")));
    let engine = shipped_engine();
    let filter = Default::default();
    for subject in [
        "algorithms",
        "data structures",
        "computer architecture",
        "operating systems",
        "sql",
        "databases",
        "software design",
        "networking",
        "http",
        "python",
        "java",
        "go",
        "javascript",
        "distributed systems",
        "testing",
        "git",
        "open source",
        "cloud",
        "docker",
        "career",
    ] {
        let hits = engine.catalog().search(subject, &filter, 3);
        assert!(!hits.is_empty(), "no course for {subject:?}");
    }
    // Issue 14's gaps, and at least two courses where it asks for two.
    for (subject, least) in [
        ("kafka", 1),
        ("terraform", 1),
        ("gcp", 1),
        ("observability", 1),
        ("owasp", 1),
        ("php", 1),
        ("c++", 1),
        ("graphql", 1),
        ("typescript", 1),
        ("azure", 1),
        ("c#", 1),
        (".net", 1),
        ("kubernetes", 2),
        ("rust", 2),
        ("linux", 2),
        ("system design", 2),
        ("message queues", 2),
        ("streaming", 2),
    ] {
        let hits = engine.catalog().search(subject, &filter, 10);
        assert!(hits.len() >= least, "{subject:?}: {hits:?}");
    }
    // Every intent that links courses links existing ones (validation) and at most three.
    for intent in loaded.set.intents() {
        assert!(intent.courses.len() <= 3, "{} links too many", intent.id);
    }
}

/// Languages and tools a member may read in an answer: each one an answer names must have a
/// course (the list is the test's own; the engine knows none of them).
#[test]
fn every_language_or_tool_an_answer_names_has_a_course() {
    const NAMES: &[&str] = &[
        "python",
        "java",
        "go",
        "golang",
        "javascript",
        "typescript",
        "node.js",
        "ruby",
        "rails",
        "php",
        "laravel",
        "kotlin",
        "scala",
        "elixir",
        "rust",
        "c#",
        ".net",
        "c++",
        "sql",
        "postgresql",
        "mysql",
        "sqlite",
        "mongodb",
        "redis",
        "kafka",
        "rabbitmq",
        "docker",
        "kubernetes",
        "terraform",
        "ansible",
        "aws",
        "azure",
        "gcp",
        "linux",
        "git",
        "graphql",
        "grpc",
        "nginx",
        "prometheus",
        "grafana",
        "opentelemetry",
        "django",
        "flask",
        "fastapi",
        "spring",
        "express",
        "react",
        "vue",
        "angular",
        "elasticsearch",
        "cassandra",
        "jenkins",
        "github actions",
        "bash",
    ];
    let loaded = intents::load_dir(&shipped(), &crate::support::limits()).unwrap();
    let engine = shipped_engine();
    let mut named = BTreeSet::new();
    for intent in loaded.set.intents() {
        let text = format!(
            " {} {} ",
            intent.answer.to_lowercase(),
            intent.details.as_deref().unwrap_or("").to_lowercase()
        );
        for name in NAMES {
            let mut from = 0;
            while let Some(at) = text[from..].find(name) {
                let at = from + at;
                let before = text[..at].chars().next_back().unwrap_or(' ');
                let after = text[at + name.len()..].chars().next().unwrap_or(' ');
                let edge = |c: char| !c.is_alphanumeric() && c != '+' && c != '#';
                if edge(before) && edge(after) {
                    named.insert(*name);
                }
                from = at + name.len();
            }
        }
    }
    assert!(named.len() >= 20, "the answers name only {named:?}");
    let missing: Vec<&str> = named
        .iter()
        .copied()
        .filter(|name| {
            engine
                .catalog()
                .search(name, &Default::default(), 1)
                .is_empty()
        })
        .collect();
    assert!(
        missing.is_empty(),
        "no course for {missing:?} (answers name {named:?})"
    );
}

/// Issue 14's relevance table: queries written from the catalog alone, before any result was
/// seen, with the courses that may come first and the others that fit.
#[test]
fn course_search_finds_the_right_course() {
    let text = std::fs::read_to_string(root().join("tests/data/course_relevance.toml")).unwrap();
    let table = careerbot::engine::relevance::parse(&text).unwrap();
    assert!(table.len() >= 40, "{} queries", table.len());
    let r = careerbot::engine::relevance::measure(shipped_engine().catalog(), &table);
    assert!(r.unknown_ids.is_empty(), "{:?}", r.unknown_ids);
    assert!(r.fragments.is_empty(), "{:#?}", r.fragments);
    assert!(r.precision_at_3 >= 0.95, "{r:#?}");
    assert!(r.precision_at_1 >= 0.95, "{r:#?}");
}

#[test]
fn check_on_the_shipped_intents_is_clean() {
    // What `careerbot check` reports: the loader's diagnostics, then the confusions.
    let loaded = intents::load_dir(&shipped(), &crate::support::limits()).unwrap();
    assert!(loaded.warnings.is_empty(), "{:#?}", loaded.warnings);
    let confusions = support::confusions(&shipped());
    assert!(confusions.is_empty(), "{confusions:#?}");
}

#[test]
fn the_evaluation_cases_are_many_varied_and_cover_every_intent() {
    let text = std::fs::read_to_string(cases_path()).expect("tests/data/career_cases.jsonl");
    let mut per_intent: BTreeMap<Option<String>, usize> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let case: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("line {}: {e}", n + 1));
        let text = case["text"].as_str().expect("text").to_lowercase();
        assert!(seen.insert(text.clone()), "duplicate case {text:?}");
        let intent = case["intent"].as_str().map(str::to_owned);
        *per_intent.entry(intent).or_default() += 1;
    }
    let total: usize = per_intent.values().sum();
    assert!(total >= 200, "{total} cases");
    assert!(per_intent.get(&None).copied().unwrap_or(0) >= 40);
    for id in REQUIRED {
        assert!(
            per_intent.contains_key(&Some((*id).to_owned())),
            "no case for {id}"
        );
    }
}

#[test]
fn the_evaluation_cases_are_answered_well() {
    let report = support::evaluate(shipped_engine(), &cases_path());
    let (accuracy, oos_recall) = (report.accuracy, report.oos_recall);
    assert!(
        accuracy >= 0.95 && oos_recall >= 0.90,
        "accuracy {accuracy:.3} (>= 0.95), out-of-scope recall {oos_recall:.3} (>= 0.90); failures:\n{}",
        serde_json::to_string_pretty(&report.failures).unwrap_or_default()
    );
}

/// `tests/data/career_heldout2.jsonl`: 340 questions written by someone who saw only the
/// list of topics, measured once the knowledge base was done and never tuned on. The bar is
/// the issue's: 92% overall, and out of scope (other careers, front-end, coding help,
/// chatter) declined or fallen back for at least 90%.
#[test]
fn the_second_heldout_questions_are_answered_well() {
    assert_meets_the_issues_bar("tests/data/career_heldout2.jsonl", 340, None);
}

/// `tests/data/career_heldout3.jsonl`: 340 more, written the same way, measured once at the
/// end of the next round (after the second file had been seen) and never tuned on. The
/// same bar, with in-scope accuracy too: 92%.
#[test]
fn the_third_heldout_questions_are_answered_well() {
    assert_meets_the_issues_bar("tests/data/career_heldout3.jsonl", 340, Some(0.92));
}

/// Accuracy >= 92% and out-of-scope recall >= 90% on a held-out file of `cases` questions,
/// and in-scope accuracy at least `in_scope` when given.
fn assert_meets_the_issues_bar(file: &str, cases: usize, in_scope: Option<f64>) {
    let report = support::evaluate(shipped_engine(), &root().join(file));
    assert_eq!(report.cases, cases, "{file}");
    let in_scope_ok = in_scope.is_none_or(|min| report.in_scope_accuracy >= min);
    assert!(
        report.accuracy >= 0.92 && report.oos_recall >= 0.90 && in_scope_ok,
        "{file}: accuracy {:.3} (>= 0.92), out-of-scope recall {:.3} (>= 0.90), in scope {:.3} (>= {in_scope:?})",
        report.accuracy,
        report.oos_recall,
        report.in_scope_accuracy,
    );
}
