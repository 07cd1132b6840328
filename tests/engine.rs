//! Matching behaviour through the library: on intent sets written to temporary
//! directories, then what `careerbot ask` and `careerbot courses` would answer on
//! `tests/fixtures/good` and the shipped `intents/` (the binary's side is in `cli`).

use std::collections::BTreeSet;

use careerbot::engine::catalog::CourseFilter;
use careerbot::engine::confusions;
use careerbot::engine::intents::{self, Level, Severity};
use careerbot::engine::matcher::{Decision, MatcherSettings};
use careerbot::engine::{Engine, Reply};

use crate::support::{
    assert_well_formed, careerbot, good_engine, intents_arg, intents_toml, shipped_engine,
    IntentDir, IntentToml,
};

const DEGREE_PATTERN: &str = r"\b(bachelor|b\.?sc)\b";

fn degree(patterns: &'static [&'static str]) -> IntentToml<'static> {
    IntentToml {
        id: "prep.degree",
        title: "Which degree do I need?",
        examples: &[
            "what degree do I need to become a backend developer",
            "is a computer science degree required",
            "do I need a university diploma",
            "can I get hired without a degree",
            "which major should I study",
        ],
        keywords: &["degree"],
        patterns,
        answer: "Many job ads ask for a CS degree; a portfolio also works.",
        follow_ups: &["jobs.salary", "courses.search"],
        ..Default::default()
    }
}

fn career_intents(patterns: &'static [&'static str]) -> Vec<IntentToml<'static>> {
    vec![
        degree(patterns),
        IntentToml {
            id: "jobs.salary",
            title: "How much does it pay?",
            examples: &[
                "how much does a backend developer earn",
                "what is the average salary",
                "what salary can a junior expect",
                "how much money will I make",
                "is the pay good in this field",
            ],
            answer: "It depends on the country and your experience.",
            ..Default::default()
        },
        IntentToml {
            id: "jobs.interview",
            title: "How do I prepare for interviews?",
            examples: &[
                "how do I prepare for a technical interview",
                "what questions are asked in a coding interview",
                "tips to pass the interview",
                "how many interview rounds are there",
                "what happens during an onsite interview",
            ],
            answer: "Practice data structures and explain your reasoning.",
            courses: &["algo"],
            ..Default::default()
        },
        IntentToml {
            id: "courses.search",
            title: "Find a course",
            examples: &[
                "can you recommend a course",
                "is there a course about networking",
                "I want a course on algorithms",
                "suggest an online course",
                "where can I find a good course",
            ],
            keywords: &["course"],
            answer: "Here are courses matching your question.",
            courses: &["cs-basics"],
            action: Some("search_courses"),
            ..Default::default()
        },
        IntentToml {
            id: "remote.visa",
            title: "Visas for remote jobs",
            examples: &[
                "remote job visa",
                "visa for a remote job",
                "remote job visa rules",
                "visa questions about remote jobs",
                "what about a visa for remote jobs",
            ],
            answer: "A remote job usually needs no visa; moving does.",
            ..Default::default()
        },
        IntentToml {
            id: "remote.taxes",
            title: "Taxes on remote jobs",
            examples: &[
                "remote job taxes",
                "taxes for a remote job",
                "remote job taxes rules",
                "taxes questions about remote jobs",
                "what about taxes for remote jobs",
            ],
            answer: "You usually pay taxes where you live.",
            ..Default::default()
        },
    ]
}

const COURSES: &str = include_str!("fixtures/career/courses.toml");

const SYNONYMS: &str = include_str!("fixtures/career/synonyms.toml");

/// The test set: six intents, five courses, three synonyms.
fn career_dir(patterns: &'static [&'static str]) -> IntentDir {
    career_dir_ordered(patterns, false)
}

/// The test set, with its intents written in the opposite order when `reversed`.
fn career_dir_ordered(patterns: &'static [&'static str], reversed: bool) -> IntentDir {
    let mut intents = career_intents(patterns);
    if reversed {
        intents.reverse();
    }
    IntentDir::new()
        .file("career.toml", intents_toml(&intents))
        .file("courses.toml", COURSES)
        .file("synonyms.toml", SYNONYMS)
}

fn career() -> (IntentDir, Engine) {
    let dir = career_dir(&[DEGREE_PATTERN]);
    let engine = dir.engine();
    (dir, engine)
}

fn show(reply: &Reply) -> String {
    let candidates: Vec<String> = reply
        .candidates
        .iter()
        .map(|c| format!("{} {:.3}", c.intent, c.score))
        .collect();
    format!(
        "{:?} {:?} [{}]: {}",
        reply.decision,
        reply.intent,
        candidates.join(", "),
        reply.explanation.summary
    )
}

#[track_caller]
fn assert_answers(engine: &Engine, question: &str, id: &str) -> Reply {
    let reply = engine.reply(question);
    assert_eq!(
        (reply.decision, reply.intent.as_deref()),
        (Decision::Answer, Some(id)),
        "{question:?} should answer `{id}`: {}",
        show(&reply)
    );
    assert_eq!(reply.candidates[0].intent, id);
    let intent = engine.intent(id).unwrap();
    assert_eq!(reply.answer.as_deref(), Some(intent.answer.as_str()));
    assert_eq!(reply.title.as_deref(), Some(intent.title.as_str()));
    reply
}

#[test]
fn the_test_set_loads_without_warnings() {
    let (dir, engine) = career();
    let loaded = intents::load_dir(dir.path(), &crate::support::limits()).unwrap();
    let shown: Vec<String> = loaded.warnings.iter().map(|d| d.to_string()).collect();
    assert!(shown.is_empty(), "{shown:#?}");
    assert_eq!(engine.intents().len(), 6);
    assert_eq!(engine.catalog().courses().len(), 5);
    assert_eq!(engine.set().synonyms().len(), 3);
}

#[test]
fn every_example_answers_its_own_intent() {
    let (_dir, engine) = career();
    for intent in engine.intents() {
        for example in &intent.examples {
            assert_answers(&engine, example, &intent.id);
        }
    }
}

#[test]
fn a_misspelled_word_is_corrected_and_explained() {
    let (_dir, engine) = career();
    let reply = assert_answers(
        &engine,
        "how do I prepare for a tecnical intervew",
        "jobs.interview",
    );
    let corrections = &reply.explanation.corrections;
    assert!(
        corrections.contains(&("intervew".to_owned(), "interview".to_owned())),
        "{corrections:?}"
    );
    assert!(
        corrections.contains(&("tecnical".to_owned(), "technical".to_owned())),
        "{corrections:?}"
    );
    assert!(
        reply.explanation.summary.contains("intervew"),
        "{}",
        reply.explanation.summary
    );
    // Correctly spelled words are not "corrected".
    let clean = engine.reply("how do I prepare for a technical interview");
    assert!(clean.explanation.corrections.is_empty(), "{}", show(&clean));

    // A misspelled key word alone still finds its intent.
    let reply = assert_answers(&engine, "avrage salry", "jobs.salary");
    assert!(
        !reply.explanation.corrections.is_empty(),
        "{}",
        show(&reply)
    );

    // Short words are never corrected, and the settings are honoured.
    let dir = career_dir(&[DEGREE_PATTERN]);
    let no_typos = MatcherSettings {
        typo_min_len: 100,
        ..crate::support::matcher_settings()
    };
    let strict = crate::support::load(dir.path(), &no_typos);
    let reply = strict.reply("how do I prepare for a tecnical intervew");
    assert!(reply.explanation.corrections.is_empty(), "{}", show(&reply));
}

#[test]
fn a_synonym_answers_like_its_canonical_word() {
    let (_dir, engine) = career();
    let canonical = assert_answers(&engine, "what salary can a senior expect", "jobs.salary");
    for variant in ["compensation", "wage"] {
        let question = format!("what {variant} can a senior expect");
        let reply = assert_answers(&engine, &question, "jobs.salary");
        assert_eq!(
            reply.explanation.synonyms,
            [(variant.to_owned(), "salary".to_owned())],
            "{}",
            show(&reply)
        );
        assert_eq!(reply.explanation.stems, canonical.explanation.stems);
        assert!(
            (reply.confidence - canonical.confidence).abs() < 1e-4,
            "{variant}: {} vs {}",
            reply.confidence,
            canonical.confidence
        );
    }
    assert!(canonical.explanation.synonyms.is_empty());
    // Synonyms apply to examples too: "dev" reads as "developer".
    let reply = engine.reply("how much does a backend dev earn");
    assert_eq!(
        reply.intent.as_deref(),
        Some("jobs.salary"),
        "{}",
        show(&reply)
    );
    assert!(reply
        .explanation
        .synonyms
        .contains(&("dev".to_owned(), "developer".to_owned())));
}

#[test]
fn a_pattern_match_answers_its_intent_and_is_explained() {
    let (_dir, engine) = career();
    let without = career_dir(&[]).engine();
    let settings = crate::support::matcher_settings();
    for question in ["do I need a BSc", "is a bachelor required for this"] {
        let reply = assert_answers(&engine, question, "prep.degree");
        assert_eq!(
            reply.explanation.patterns,
            [DEGREE_PATTERN],
            "{}",
            show(&reply)
        );
        assert!(reply.explanation.summary.contains(DEGREE_PATTERN));
        // The same set without the pattern: no pattern explained, and the intent's score
        // is lower by the pattern's weight.
        let degree = |engine: &Engine| engine.index_of("prep.degree").unwrap();
        let plain = without.matcher().scores(question).scores[degree(&without)];
        let with = engine.matcher().scores(question).scores[degree(&engine)];
        assert!(
            (with - plain - settings.pattern_weight).abs() < 1e-4,
            "{question:?}: {with} vs {plain}"
        );
        assert!(without.reply(question).explanation.patterns.is_empty());
    }
    // A question the pattern does not match lists no pattern.
    let reply = assert_answers(
        &engine,
        "is a computer science degree required",
        "prep.degree",
    );
    assert!(reply.explanation.patterns.is_empty(), "{}", show(&reply));
}

#[test]
fn a_pattern_match_alone_answers_its_intent() {
    // "bsc" appears in no example, only in the admin's pattern: the pattern is the
    // evidence, and it is strong (confidence ~0.9), yet the question falls back because
    // none of its content words is in an example.
    let (_dir, engine) = career();
    for question in ["is a BSc enough?", "BSc or MSc?"] {
        let reply = assert_answers(&engine, question, "prep.degree");
        assert_eq!(reply.explanation.patterns, [DEGREE_PATTERN]);
    }
    // The same on the shipped intents, whose degree intent has the same pattern.
    let shipped = crate::support::load(
        &crate::support::shipped(),
        &crate::support::matcher_settings(),
    );
    let id = shipped
        .intents()
        .iter()
        .find(|i| i.patterns.iter().any(|p| p.as_str().contains("b\\.?sc")))
        .map(|i| i.id.clone())
        .expect("a shipped intent with a BSc pattern");
    // ("BSc or MSc?" names the advanced-degree intent's pattern too, so only this one.)
    assert_answers(&shipped, "is a BSc enough?", &id);
}

#[test]
fn unrelated_questions_fall_back_with_at_most_three_suggestions() {
    let (_dir, engine) = career();
    let settings = crate::support::matcher_settings();
    for question in [
        "quantum chromodynamics lattice gauge",
        "will it rain tomorrow",
        "best recipe for banana bread",
        "who won the football match yesterday",
    ] {
        let reply = engine.reply(question);
        assert_no_answer(&reply, question, Decision::Fallback);
        assert!(reply.candidates.len() <= 3, "{}", show(&reply));
        assert!(reply.confidence < settings.fallback_below);
        for c in &reply.candidates {
            assert!(c.score >= settings.suggest_above && c.score < settings.fallback_below);
            assert!(engine.intent(&c.intent).is_some());
        }
    }
}

/// Checks that `reply` to `question` is `decision` (not an answer): no intent, answer,
/// courses or follow-ups.
#[track_caller]
fn assert_no_answer(reply: &Reply, question: &str, decision: Decision) {
    assert_eq!(reply.decision, decision, "{question:?}: {}", show(reply));
    assert_eq!(reply.intent, None);
    assert_eq!(reply.answer, None);
    assert!(reply.courses.is_empty() && reply.follow_ups.is_empty());
}

/// Checks a clarify reply: exactly the two remote intents, within the margin.
#[track_caller]
fn assert_clarifies_remote(engine: &Engine, question: &str, settings: &MatcherSettings) {
    let reply = engine.reply(question);
    assert_no_answer(&reply, question, Decision::Clarify);
    let mut ids: Vec<&str> = reply.candidates.iter().map(|c| c.intent.as_str()).collect();
    ids.sort_unstable();
    assert_eq!(ids, ["remote.taxes", "remote.visa"], "{}", show(&reply));
    let (top, second) = (reply.candidates[0].score, reply.candidates[1].score);
    assert!(second >= settings.fallback_below, "{}", show(&reply));
    assert!(top - second < settings.clarify_margin, "{}", show(&reply));
    assert!(reply.explanation.summary.contains("remote.visa"));
    assert!(reply.explanation.summary.contains("remote.taxes"));
}

#[test]
#[ignore = "known limitation: the mirror intents are not exact mirrors to the model (\"visa\" and \"taxes\" differ in length, so in character n-grams and vector norm), and they end 0.64 vs 0.52 apart on \"remote job\", more than the default clarify_margin, even trained to convergence; a three-intent set falls back (0.27)"]
fn a_question_shared_equally_by_two_intents_asks_to_clarify() {
    // remote.visa and remote.taxes have the same five examples with only `visa` and
    // `taxes` swapped, so "remote job" belongs to both exactly as much. With the default
    // settings the bot should ask which one is meant, whatever order the file lists them.
    let settings = crate::support::matcher_settings();
    let mut wrong = Vec::new();
    // The mirror pair with one unrelated intent, in both orders.
    let [visa, taxes, ..] = &career_intents(&[])[4..] else {
        unreachable!()
    };
    let salary = &career_intents(&[])[1];
    let minimal = |first: &IntentToml<'_>, second: &IntentToml<'_>| {
        let text = [first, second, salary].map(|i| i.to_toml()).concat();
        IntentDir::new().file("remote.toml", text)
    };
    let dirs = [
        ("career set", career_dir_ordered(&[DEGREE_PATTERN], false)),
        (
            "career set reversed",
            career_dir_ordered(&[DEGREE_PATTERN], true),
        ),
        ("visa, taxes, salary", minimal(visa, taxes)),
        ("taxes, visa, salary", minimal(taxes, visa)),
    ];
    for (name, dir) in &dirs {
        let engine = dir.engine();
        for question in ["remote job", "remote jobs"] {
            let reply = engine.reply(question);
            if reply.decision != Decision::Clarify {
                wrong.push(format!("{name}, {question:?}: {}", show(&reply)));
            } else {
                assert_clarifies_remote(&engine, question, &settings);
            }
        }
    }
    assert!(wrong.is_empty(), "no clarify:\n{}", wrong.join("\n"));
}

#[test]
fn reordering_the_intents_keeps_every_clear_answer() {
    let forward = career_dir_ordered(&[DEGREE_PATTERN], false).engine();
    let reversed = career_dir_ordered(&[DEGREE_PATTERN], true).engine();
    let mut questions: Vec<String> = forward
        .intents()
        .iter()
        .flat_map(|i| i.examples.clone())
        .collect();
    questions.extend(
        [
            "how much will I earn",
            "interview tips",
            "any course on SQL?",
            "what salary can a senior expect",
            "quantum chromodynamics lattice gauge",
        ]
        .map(String::from),
    );
    for question in &questions {
        let (a, b) = (forward.reply(question), reversed.reply(question));
        assert_eq!(
            (a.decision, &a.intent),
            (b.decision, &b.intent),
            "{question:?}:\n  {}\n  {}",
            show(&a),
            show(&b)
        );
    }
}

#[test]
fn a_wider_clarify_margin_asks_between_the_two_close_intents() {
    // The clarify path itself, with a margin wide enough to absorb the order effect above.
    let settings = MatcherSettings {
        clarify_margin: 0.3,
        ..crate::support::matcher_settings()
    };
    for reversed in [false, true] {
        let dir = career_dir_ordered(&[DEGREE_PATTERN], reversed);
        let engine = crate::support::load(dir.path(), &settings);
        for question in ["remote job", "remote jobs"] {
            assert_clarifies_remote(&engine, question, &settings);
        }
        // Naming one side still answers it.
        assert_answers(&engine, "visa rules for my remote job", "remote.visa");
        assert_answers(&engine, "taxes rules for my remote job", "remote.taxes");
    }
    // A zero margin never clarifies.
    let dir = career_dir(&[DEGREE_PATTERN]);
    let decisive = crate::support::load(
        dir.path(),
        &MatcherSettings {
            clarify_margin: 0.0,
            ..crate::support::matcher_settings()
        },
    );
    for question in ["remote job", "remote jobs"] {
        assert_eq!(decisive.reply(question).decision, Decision::Answer);
    }
}

#[test]
fn chat_offers_the_clarify_choices_as_numbers() {
    let dir = career_dir(&[DEGREE_PATTERN]);
    let settings = MatcherSettings {
        clarify_margin: 0.3,
        ..crate::support::matcher_settings()
    };
    let engine = crate::support::load(dir.path(), &settings);
    let reply = engine.reply("remote job");
    assert_eq!(reply.decision, Decision::Clarify, "{}", show(&reply));
    let second = engine.intent(&reply.candidates[1].intent).unwrap();
    let config = dir.path().join("settings.toml.cfg");
    std::fs::write(&config, "[matcher]\nclarify_margin = 0.3\n").unwrap();
    let out = careerbot(["chat", "--config"])
        .with_args([&config])
        .with_args(intents_arg(dir.path()))
        .stdin("remote job\n2\n")
        .run();
    out.expect_code(0);
    for candidate in &reply.candidates {
        let title = &engine.intent(&candidate.intent).unwrap().title;
        assert!(out.stdout.contains(title.as_str()), "{out}");
    }
    let answer = out
        .stdout
        .find(&second.answer)
        .expect("second choice opened");
    assert!(answer > out.stdout.find(&second.title).unwrap(), "{out}");
    assert_eq!(out.stdout.matches(&second.answer).count(), 1, "{out}");
}

#[test]
fn reply_for_a_known_id_answers_it_directly() {
    let (_dir, engine) = career();
    for intent in engine.intents() {
        let reply = engine.reply_for(&intent.id).expect("a known id");
        assert_eq!(reply.decision, Decision::Answer);
        assert_eq!(reply.intent.as_deref(), Some(intent.id.as_str()));
        assert_eq!(reply.title.as_deref(), Some(intent.title.as_str()));
        assert_eq!(reply.answer.as_deref(), Some(intent.answer.as_str()));
        assert_eq!(reply.follow_ups, intent.follow_ups);
        assert_eq!(reply.confidence, 1.0);
        assert_eq!(reply.candidates.len(), 1);
        assert_eq!(reply.candidates[0].intent, intent.id);
        let courses: Vec<&str> = reply.courses.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(courses, intent.courses, "{}", intent.id);
    }
    let interview = engine.reply_for("jobs.interview").unwrap();
    assert_eq!(interview.courses[0].url, "https://example.org/algo");
    assert!(engine.reply_for("jobs.nope").is_none());
    assert!(engine.reply_for("").is_none());
}

fn course_ids(reply: &Reply) -> Vec<&str> {
    reply.courses.iter().map(|c| c.id.as_str()).collect()
}

#[test]
fn a_course_search_intent_lists_the_courses_of_the_topic() {
    let (_dir, engine) = career();
    let reply = assert_answers(&engine, "any course on SQL?", "courses.search");
    assert_eq!(
        course_ids(&reply).first(),
        Some(&"sql-basics"),
        "{reply:#?}"
    );
    let reply = assert_answers(
        &engine,
        "a course about operating systems",
        "courses.search",
    );
    assert_eq!(course_ids(&reply).first(), Some(&"os-pieces"), "{reply:#?}");
    let reply = assert_answers(
        &engine,
        "recommend a course on networking",
        "courses.search",
    );
    assert_eq!(
        course_ids(&reply).first(),
        Some(&"networking"),
        "{reply:#?}"
    );
    for reply in [&reply] {
        for link in &reply.courses {
            let course = engine.catalog().get(&link.id).unwrap();
            assert_eq!((&link.title, &link.url), (&course.title, &course.url));
        }
        assert!(reply.courses.len() <= 5);
    }
    // Through the synonym "class" too.
    let reply = assert_answers(&engine, "is there a class on sql", "courses.search");
    assert_eq!(
        course_ids(&reply).first(),
        Some(&"sql-basics"),
        "{reply:#?}"
    );
}

#[test]
fn an_intent_without_the_action_keeps_its_own_courses() {
    let (_dir, engine) = career();
    // jobs.interview lists `algo`, whatever the question says about other topics.
    let reply = assert_answers(
        &engine,
        "how do I prepare for a technical interview about sql",
        "jobs.interview",
    );
    assert_eq!(course_ids(&reply), ["algo"]);
}

/// Two job intents; `salary` holds the salary intent's examples.
fn jobs_toml(salary: &[&str]) -> String {
    intents_toml(&[
        IntentToml {
            id: "jobs.salary",
            title: "Salary",
            examples: salary,
            answer: "It depends.",
            ..Default::default()
        },
        IntentToml {
            id: "jobs.interview",
            title: "Interviews",
            examples: &[
                "how do I prepare for a technical interview",
                "what questions are asked in a coding interview",
                "tips to pass the interview",
                "how many interview rounds are there",
                "what happens during an onsite interview",
            ],
            answer: "Practice.",
            ..Default::default()
        },
    ])
}

const SALARY: [&str; 5] = [
    "how much does a backend developer earn",
    "what is the average salary",
    "what salary can a junior expect",
    "how much money will I make",
    "is the pay good in this field",
];

#[test]
fn confusions_flag_an_example_worded_like_another_intent() {
    let planted = "how do I prepare for the technical interview questions";
    let mut salary = SALARY.to_vec();
    salary.push(planted);
    let text = jobs_toml(&salary);
    let dir = IntentDir::new().file("jobs.toml", &text);
    let loaded = intents::load_dir(dir.path(), &crate::support::limits()).unwrap();
    let found = confusions::find(&loaded.set, &crate::support::matcher_settings());
    let flagged: Vec<_> = found
        .iter()
        .filter(|d| d.message.contains(planted))
        .collect();
    assert_eq!(flagged.len(), 1, "{found:#?}");
    let d = flagged[0];
    assert_eq!(d.severity, Severity::Warning);
    assert!(d.message.contains("`jobs.salary`") && d.message.contains("`jobs.interview`"));
    // The warning points at the example itself.
    let line = text
        .lines()
        .position(|l| l.starts_with("examples"))
        .unwrap()
        + 1;
    let col = text.lines().nth(line - 1).unwrap().find(planted).unwrap(); // 0-based quote
    assert_eq!(d.path, dir.path().join("jobs.toml"));
    assert_eq!((d.line, d.col), (line, col), "{d}");

    // Without the planted example, nothing is flagged for it.
    let dir = IntentDir::new().file("jobs.toml", jobs_toml(&SALARY));
    let loaded = intents::load_dir(dir.path(), &crate::support::limits()).unwrap();
    let found = confusions::find(&loaded.set, &crate::support::matcher_settings());
    assert!(
        found
            .iter()
            .all(|d| !d.message.contains("technical interview questions")),
        "{found:#?}"
    );
}

#[test]
fn words_only_another_intent_uses_lower_the_confidence() {
    // "what is" points at the definitions intent; "pasta" is known, but only to cooking.
    let examples = |words: &[&str]| {
        words
            .iter()
            .map(|w| format!("\"{w}\""))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let toml = format!(
        "[[intent]]\nid = \"tech.definitions\"\ntitle = \"Definitions\"\nanswer = \"A definition.\"\nexamples = [{}]\n\n[[intent]]\nid = \"food.cooking\"\ntitle = \"Cooking\"\nanswer = \"A recipe.\"\nexamples = [{}]\n",
        examples(&[
            "what is a database",
            "what is an api",
            "what is a server",
            "what is caching",
            "what is a queue",
        ]),
        examples(&[
            "how long do i boil pasta",
            "best sauce for pasta",
            "how to cook rice",
            "recipe for tomato soup",
            "how do i bake bread",
        ]),
    );
    let dir = IntentDir::new().file("all.toml", toml);
    let confidence = |share: f32| {
        let settings = MatcherSettings {
            intent_coverage_share: share,
            ..crate::support::matcher_settings()
        };
        let engine = crate::support::load(dir.path(), &settings);
        let reply = engine.reply("what is pasta");
        (
            reply.decision,
            reply.candidates.first().map(|c| c.intent.clone()),
            reply.confidence,
        )
    };
    let (_, top, any_intent) = confidence(0.0);
    assert_eq!(top.as_deref(), Some("tech.definitions"));
    let (_, _, mixed) = confidence(0.4);
    assert!(mixed < any_intent, "{mixed} vs {any_intent}");
    let (decision, _, only_own) = confidence(1.0);
    assert_eq!(decision, Decision::Fallback, "confidence {only_own}");
}

// ---------------------------------------------------------------------------
// The good fixture and the shipped intents
// ---------------------------------------------------------------------------

#[test]
fn the_good_fixture_answers_every_example_with_its_own_intent() {
    let engine = good_engine();
    for intent in engine.intents() {
        for example in &intent.examples {
            assert_answers(engine, example, &intent.id);
        }
    }
}

#[test]
fn the_good_fixture_answers_reworded_in_scope_questions() {
    // Each question uses a keyword or pattern of its intent in the fixture, but is not
    // one of its examples.
    for (question, expected) in [
        ("what skills matter for this job", "role.skills"),
        ("hello, anyone around?", "meta.greeting"),
        ("can you recommend a good online course", "role.courses"),
        ("what are my responsibilities in this role", "role.overview"),
    ] {
        assert_answers(good_engine(), question, expected);
    }
}

/// Unrelated questions that do share some function words with the intents.
const UNRELATED: &[&str] = &[
    "will it rain tomorrow",
    "weather forecast for Berlin",
    "best recipe for banana bread",
    "who won the football match yesterday",
    "quantum chromodynamics lattice gauge",
];

#[test]
fn unrelated_questions_fall_back_on_the_good_fixture_and_the_shipped_intents() {
    for (name, engine) in [("good", good_engine()), ("shipped", shipped_engine())] {
        for question in UNRELATED {
            let reply = engine.reply(question);
            assert_well_formed(&reply, engine, question);
            assert_eq!(
                reply.decision,
                Decision::Fallback,
                "{question:?} on {name}: {}",
                show(&reply)
            );
        }
    }
}

#[test]
fn everyday_weather_and_cooking_questions_fall_back() {
    let mut wrong = Vec::new();
    for (name, engine) in [("good", good_engine()), ("shipped", shipped_engine())] {
        for question in [
            "what is the weather like in Paris tomorrow",
            "what's the weather today",
            "how do I cook pasta carbonara",
        ] {
            let reply = engine.reply(question);
            if reply.decision != Decision::Fallback {
                wrong.push(format!("{name} {question:?}: {}", show(&reply)));
            }
        }
    }
    assert!(wrong.is_empty(), "not a fallback:\n{}", wrong.join("\n"));
}

/// The ids of the courses `careerbot courses QUERY` lists (at most 25).
fn course_hits(engine: &Engine, query: &str, filter: &CourseFilter) -> BTreeSet<String> {
    let hits = engine.catalog().search(query, filter, 25);
    hits.iter().map(|h| h.course.id.clone()).collect()
}

#[test]
fn the_course_search_finds_every_sql_course_first() {
    for (name, engine) in [("good", good_engine()), ("shipped", shipped_engine())] {
        let sql: BTreeSet<String> = engine
            .catalog()
            .courses()
            .iter()
            .filter(|c| c.topics.iter().any(|t| t == "sql"))
            .map(|c| c.id.clone())
            .collect();
        assert!(!sql.is_empty(), "{name} has no SQL course");
        let hits = engine.catalog().search("sql", &CourseFilter::default(), 25);
        let first = &hits[0].course.id;
        assert!(
            sql.contains(first),
            "{first} is not an SQL course on {name}"
        );
        let found = course_hits(engine, "sql", &CourseFilter::default());
        assert!(
            sql.is_subset(&found),
            "every SQL course should be found on {name}"
        );
    }
}

#[test]
fn the_course_search_filters_by_level_and_price() {
    // An empty query lists the courses that pass the filter, at most 25: all of them when
    // they fit, otherwise 25 that each pass it.
    for (name, engine) in [("good", good_engine()), ("shipped", shipped_engine())] {
        let filters = [
            None,
            Some(Level::Beginner),
            Some(Level::Intermediate),
            Some(Level::Advanced),
        ]
        .into_iter()
        .flat_map(|level| [false, true].map(|free_only| CourseFilter { level, free_only }));
        for filter in filters {
            let expected: BTreeSet<String> = engine
                .catalog()
                .courses()
                .iter()
                .filter(|c| {
                    filter.level.is_none_or(|l| c.level == l) && (c.free || !filter.free_only)
                })
                .map(|c| c.id.clone())
                .collect();
            let got = course_hits(engine, "", &filter);
            if expected.len() <= 25 {
                assert_eq!(got, expected, "{name} {filter:?}");
            } else {
                assert_eq!(got.len(), 25, "{name} {filter:?}");
                assert!(got.is_subset(&expected), "{name} {filter:?}: {got:?}");
            }
        }
    }
    // The good fixture has paid courses, so "free" really removes some there.
    let good = good_engine();
    let free = CourseFilter {
        level: None,
        free_only: true,
    };
    assert!(course_hits(good, "", &free).len() < 3);
    // A query and a filter together: the SQL course is paid in the fixture.
    assert!(course_hits(good, "sql", &free).is_empty());
    let intermediate = CourseFilter {
        level: Some(Level::Intermediate),
        free_only: false,
    };
    assert_eq!(
        course_hits(good, "sql", &intermediate),
        BTreeSet::from(["databases_101".to_owned()])
    );
    assert!(course_hits(good, "zzqqxx", &CourseFilter::default()).is_empty());
}

/// The shipped patterns (79 of them, matched in one pass as one compiled set) credit the
/// same intents as each pattern compiled and matched alone, as the matcher did before:
/// on every shipped example and every development case.
#[test]
fn patterns_matched_together_credit_what_each_pattern_matches_alone() {
    let engine = crate::support::shipped_engine();
    let patterns = engine.set().patterns();
    assert!(patterns.len() > 50, "the shipped set has patterns");
    let alone: Vec<(String, regex::Regex)> = engine
        .intents()
        .iter()
        .flat_map(|intent| {
            intent.patterns.iter().map(|p| {
                let regex = regex::RegexBuilder::new(p.as_str())
                    .case_insensitive(true)
                    .build()
                    .unwrap();
                (intent.id.clone(), regex)
            })
        })
        .collect();
    let cases = std::fs::read_to_string(crate::support::root().join("tests/data/career_dev.jsonl"))
        .unwrap();
    let questions = engine
        .intents()
        .iter()
        .flat_map(|i| i.examples.iter().cloned())
        .chain(cases.lines().map(|line| {
            let case: serde_json::Value = serde_json::from_str(line).unwrap();
            case["text"].as_str().unwrap().to_owned()
        }));
    let mut credited = 0;
    for question in questions {
        let scored = engine.matcher().scores(&question);
        let cleaned = &scored.analysis.cleaned;
        let mut expected: Vec<(String, String)> = alone
            .iter()
            .filter(|(_, regex)| regex.is_match(cleaned))
            .map(|(id, regex)| (id.clone(), regex.as_str().to_owned()))
            .collect();
        let mut got: Vec<(String, String)> = scored
            .matched_patterns
            .iter()
            .flat_map(|(index, hits)| {
                let id = &engine.intent_at(index).id;
                hits.iter()
                    .map(move |&i| (id.clone(), patterns.source(i).to_owned()))
            })
            .collect();
        expected.sort();
        got.sort();
        assert_eq!(got, expected, "{question:?}");
        for (index, hits) in scored.matched_patterns.iter() {
            if !hits.is_empty() {
                assert!(scored.direct[index], "{question:?}");
                credited += 1;
            }
        }
    }
    assert!(credited > 20, "the patterns matched only {credited} times");
}
