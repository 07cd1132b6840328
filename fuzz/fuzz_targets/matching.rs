//! Matching arbitrary bytes (decoded lossily, as a chat message would be) as a question
//! against a fixed small set, `tests/fixtures/good`, compiled once with the shipped
//! settings: no panic, and a reply that is well formed whatever the question (the
//! invariants of `tests/support`'s `assert_well_formed`). Time and memory are bounded by
//! libFuzzer's `-timeout` and `-rss_limit_mb`.

#![no_main]

use std::path::Path;
use std::sync::LazyLock;

use careerbot::config::Settings;
use careerbot::engine::intents::load_texts;
use careerbot::engine::matcher::Decision;
use careerbot::engine::Engine;
use libfuzzer_sys::fuzz_target;

mod good;
use good::FILES;

static ENGINE: LazyLock<Engine> = LazyLock::new(|| {
    let settings = Settings::defaults();
    let loaded = load_texts(Path::new("good"), FILES, &settings.limits)
        .expect("tests/fixtures/good is valid");
    Engine::build(loaded.set, &settings.matcher)
});

fuzz_target!(|data: &[u8]| {
    let engine = &*ENGINE;
    let question = String::from_utf8_lossy(data);
    let reply = engine.reply(&question);

    let unit = |x: f32| x.is_finite() && (0.0..=1.0).contains(&x);
    assert!(unit(reply.confidence), "confidence {}", reply.confidence);
    assert!(reply.candidates.len() <= 3, "{:?}", reply.candidates);
    for c in &reply.candidates {
        assert!(unit(c.score), "{c:?}");
        assert!(engine.intent(&c.intent).is_some(), "{c:?}");
    }
    let scores: Vec<f32> = reply.candidates.iter().map(|c| c.score).collect();
    assert!(
        scores.is_sorted_by(|a, b| a >= b),
        "not best first: {scores:?}"
    );
    match reply.decision {
        Decision::Answer | Decision::Decline => {
            let id = reply.intent.as_deref().expect("an answer names its intent");
            let intent = engine.intent(id).expect("the answer's intent exists");
            // The intent's answer, perhaps followed by a note of its own paragraph
            // ("The catalog has no free course on sql; here are its others.").
            let answer = reply.answer.as_deref().expect("an answer has its text");
            let rest = answer.strip_prefix(intent.answer.trim_end());
            assert!(
                rest.is_some_and(|rest| rest.trim().is_empty() || rest.starts_with("\n\n")),
                "{answer:?} is not {:?} and a note",
                intent.answer
            );
            assert_eq!(reply.candidates[0].intent, id);
            assert_eq!(scores[0], reply.confidence);
        }
        Decision::Clarify | Decision::Fallback => {
            assert!(reply.intent.is_none() && reply.answer.is_none());
            assert!(reply.courses.is_empty() && reply.follow_ups.is_empty());
            assert!(scores.first().is_none_or(|&best| reply.confidence <= best));
        }
    }
    assert!(!reply.explanation.summary.is_empty());

    // Ranking lists every intent once.
    let mut ranked: Vec<&str> = engine.ranked(&question).map(|i| i.id.as_str()).collect();
    ranked.sort_unstable();
    let all: Vec<&str> = engine.intents().iter().map(|i| i.id.as_str()).collect();
    assert_eq!(ranked, all);
});
