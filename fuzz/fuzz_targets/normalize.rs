//! The normalizer on arbitrary bytes (decoded lossily, as a chat message would be): no
//! panic, and output that keeps the promises of `clean`'s documentation whatever the input.
//! Time and memory are bounded by libFuzzer's `-timeout` and `-rss_limit_mb`.

#![no_main]

use careerbot::engine::intents::normalize_example;
use careerbot::engine::normalize::{
    clean, content_stems, is_stop_word, stem, words, MAX_INPUT_CHARS,
};
use libfuzzer_sys::fuzz_target;

/// The most characters one input character can become: NFKC expands U+FDFA to 18, and
/// lowercasing or a contraction (`im` → `i am`) at most doubles what is left.
const MAX_GROWTH: usize = 18 * 4;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let cleaned = clean(&text);

    // The input is cut before any work, so no input makes a longer output than this.
    assert!(
        cleaned.chars().count() <= MAX_GROWTH * MAX_INPUT_CHARS,
        "{} chars cleaned",
        cleaned.chars().count()
    );
    // Whitespace is collapsed to single spaces and trimmed; control characters are gone.
    assert!(
        !cleaned.starts_with(' ') && !cleaned.ends_with(' '),
        "{cleaned:?}"
    );
    assert!(!cleaned.contains("  "), "{cleaned:?}");
    assert!(
        !cleaned
            .chars()
            .any(|c| c.is_control() || (c.is_whitespace() && c != ' ')),
        "{cleaned:?}"
    );

    for word in words(&cleaned) {
        assert!(!word.is_empty(), "an empty word in {cleaned:?}");
        assert!(!word.contains(' '), "{word:?} in {cleaned:?}");
        if !is_stop_word(word) {
            let _ = stem(word);
        }
    }
    let _ = content_stems(&text);
    let _ = normalize_example(&text);
});
