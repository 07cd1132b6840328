//! Text normalization: turns a raw Discord message into plain, lowercase text ([`clean`]),
//! splits it into word tokens ([`words`]), and offers a stop-word list and an English stemmer.
//!
//! Design choice: [`clean`] is three hand-written linear passes over the (already cut) input —
//! fold (NFKC, lowercase, control characters), strip Discord markup, expand contractions and
//! collapse whitespace — with no regex and no per-character allocation, and every look-ahead
//! bounded or memoized so that no input (however hostile) costs more than linear time.
//! Removed tokens (mentions, URLs, code blocks) leave a space so they cannot glue two words
//! together; emphasis markers simply vanish (`**sql**?` → `sql?`).

use std::borrow::Cow;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};
use unicode_normalization::char::is_combining_mark;
use unicode_normalization::{is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Input longer than this many chars is cut (at a char boundary) before any work: a 100 KB message costs no more than a long one.
pub const MAX_INPUT_CHARS: usize = 2000;

/// Longest stretch scanned for the end of a `[text](url)` link or an `<https://…>` URL.
const MAX_LINK_SCAN: usize = 512;
/// Longest name scanned in `</name:123>` and `<:name:123>`.
const MAX_NAME_SCAN: usize = 100;
/// Longest run of digits accepted in an id or timestamp (snowflakes have at most 20).
const MAX_DIGITS: usize = 24;

/// Cleans a raw chat message for matching.
///
/// In order:
/// 1. cuts the input to [`MAX_INPUT_CHARS`] characters;
/// 2. maps typographic apostrophes (`’ ‘ ʼ ‛ ´ ′`) to `'`, applies Unicode NFKC (fullwidth letters,
///    ligatures such as `ﬁ`, non-breaking spaces...) and lowercases; removes control characters
///    (NUL included) and invisible format characters (zero-width space, bidi marks, BOM, soft
///    hyphen); tabs become spaces, `\r` becomes a line break, U+FFFD (what lossy UTF-8 decoding
///    leaves) becomes a space;
/// 3. removes Discord markup: mentions (`<@123>`, `<@!123>`, `<@&123>`, `<#123>`, `@everyone`,
///    `@here`), custom emoji (`<:name:123>`, `<a:name:123>`), timestamps (`<t:123>`, `<t:123:R>`),
///    slash-command mentions (`</name sub:123>`), server-guide links (`<id:browse>`), URLs
///    (`http://`, `https://`, `www.`, also inside `<…>`), fenced code blocks (the whole block
///    is dropped; an unterminated fence drops only its backticks), markdown links `[text](url)`
///    (the text is kept), emphasis markers `*`, `__`/`_` at a word edge (an underscore inside a
///    word, as in `snake_case`, is kept), `~~`, spoilers `||`, and at the start of a line quotes
///    (`> `, `>>> `), headings (`# `, `## `, `### `) and subtext (`-# `).
///    **Inline code** (`` `code` `` or ``` ``code`` ```) keeps its content as plain text (people
///    write "how do I learn `docker`"): only the backticks go, and markup inside it is left as
///    written (`` `<@1>` `` stays `<@1>`). A lone backtick is dropped.
///    Anything that does not parse as markup (a lone `<`, an unterminated mention) is kept as text;
/// 4. expands contractions (`don't` → `do not`, `can't` → `can not`, `won't` → `will not`,
///    `i'm` → `i am`, `it's`/`what's`/`that's`/`there's`/`who's`... → `X is`, `let's` → `let us`,
///    `'ve` → ` have`, `'ll` → ` will`, `'re` → ` are`, `'d` → ` would`, `n't` → ` not`) and
///    common apostrophe-less forms (`dont`, `cant`, `wont`, `im`, `ive`, `whats`, `thats`,
///    `doesnt`, `isnt`, `didnt`, `youre`, `theyre`, ..., plus `gonna`, `wanna`, `gotta`).
///    Words that are also real words (`its`, `ill`, `id`, `well`, `were`, `shed`, `lets`) are
///    left alone, and so is a possessive `'s` (`python's`);
/// 5. collapses every run of whitespace (line breaks included) to one space and trims.
///
/// Ordinary punctuation (`. ? , ! : - + #`...) is kept, so that admins' regex patterns may use it.
pub fn clean(text: &str) -> String {
    let text = cut(text);
    let mut folded = String::with_capacity(text.len() + 8);
    fold(text, &mut folded);
    let mut plain = String::with_capacity(folded.len() + 8);
    Stripper::new(&folded).run(&mut plain);
    let mut out = String::with_capacity(plain.len() + 16);
    expand_and_collapse(&plain, &mut out);
    out
}

/// Splits cleaned text into word tokens: maximal runs of Unicode alphanumerics (combining marks
/// continue a word, so accented Arabic or Devanagari words stay whole). Punctuation and symbols
/// split words: `node.js` → `node`, `js`; `python's` → `python`, `s`; digits are words.
///
/// Programming languages: a **single ASCII letter** directly followed by `+`, `++` or `#` (and
/// then by no letter, digit, `+` or `#`) keeps them: `c++`, `g++`, `c#`, `f#`, `a+`. Longer words
/// do not (`python+` → `python`), so a stray `+` never hides a word from matching.
pub fn words(clean: &str) -> Vec<&str> {
    let b = clean.as_bytes();
    let n = b.len();
    let mut out = Vec::with_capacity(n / 6 + 1);
    let mut start: Option<usize> = None;
    let mut i = 0;
    while i < n {
        let (ch, len) = char_at(clean, i);
        let in_word = ch.is_alphanumeric() || (start.is_some() && is_combining_mark(ch));
        if in_word {
            if start.is_none() {
                start = Some(i);
            }
            i += len;
            continue;
        }
        if let Some(s) = start.take() {
            let end = language_suffix_end(clean, s, i);
            out.push(&clean[s..end]);
            i = end.max(i + len);
        } else {
            i += len;
        }
    }
    if let Some(s) = start {
        out.push(&clean[s..]);
    }
    out
}

/// English stop words: the NLTK list (the ~180 most common English function words) without its
/// contraction fragments (`don`, `isn`, `shouldn`, ... which [`clean`] never leaves), plus
/// `would` and `could` (since `'d` expands to `would`): 135 words, all lowercase.
pub fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The stems of the words of `text` that are not stop words, in order.
pub fn content_stems(text: &str) -> Vec<String> {
    let cleaned = clean(text);
    words(&cleaned)
        .into_iter()
        .filter(|w| !is_stop_word(w))
        .map(|w| stem(w).into_owned())
        .collect()
}

/// The words of `text` that are not stop words, without regular plural endings
/// ([`singular`]), in order: how course search compares words and alias names.
pub fn content_singulars(text: &str) -> Vec<String> {
    let cleaned = clean(text);
    words(&cleaned)
        .into_iter()
        .filter(|w| !is_stop_word(w))
        .map(|w| singular(w).into_owned())
        .collect()
}

/// Snowball English stemmer (rust-stemmers), built once. Expects lowercase input (as produced by
/// [`clean`]); only ASCII words are stemmed, anything else is returned unchanged.
pub fn stem(word: &str) -> Cow<'_, str> {
    static STEMMER: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));
    if word.is_empty() || !word.is_ascii() {
        return Cow::Borrowed(word);
    }
    STEMMER.stem(word)
}

/// `word` without a regular English plural ending ("nurses" -> "nurse", "secretaries" ->
/// "secretary", "coaches" -> "coach", "firemen" -> "fireman"). Lookup entries and the
/// words they are matched with are folded this way rather than stemmed: a stem would make
/// "account" an "accountant", "firefighting" a "firefighter" and "mechanical" a "mechanic".
/// Applied to both sides alike, so an odd fold ("texas" -> "texa") still matches itself.
pub fn singular(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() || word.len() < 4 {
        return Cow::Borrowed(word);
    }
    if let Some(base) = word.strip_suffix("ies") {
        return Cow::Owned(format!("{base}y"));
    }
    if let Some(base) = word.strip_suffix("men") {
        return Cow::Owned(format!("{base}man"));
    }
    if ["sses", "shes", "ches", "xes", "zes"]
        .iter()
        .any(|ending| word.ends_with(ending))
    {
        return Cow::Borrowed(&word[..word.len() - 2]);
    }
    if ["ss", "us", "is"]
        .iter()
        .any(|ending| word.ends_with(ending))
    {
        return Cow::Borrowed(word);
    }
    Cow::Borrowed(word.strip_suffix('s').unwrap_or(word))
}

/// Sorted (for binary search).
#[rustfmt::skip]
static STOP_WORDS: &[&str] = &[
    "a", "about", "above", "after", "again", "against", "all", "am", "an", "and",
    "any", "are", "as", "at", "be", "because", "been", "before", "being", "below", "between",
    "both", "but", "by", "can", "could", "d", "did", "do", "does", "doing", "down", "during",
    "each", "few", "for", "from", "further", "had", "has", "have", "having", "he", "her", "here",
    "hers", "herself", "him", "himself", "his", "how", "i", "if", "in", "into", "is", "it", "its",
    "itself", "just", "ll", "m", "me", "more", "most", "my", "myself", "no", "nor", "not", "now",
    "o", "of", "off", "on", "once", "only", "or", "other", "our", "ours", "ourselves", "out",
    "over", "own", "re", "s", "same", "she", "should", "so", "some", "such", "t", "than", "that",
    "the", "their", "theirs", "them", "themselves", "then", "there", "these", "they", "this",
    "those", "through", "to", "too", "under", "until", "up", "ve", "very", "was", "we", "were",
    "what", "when", "where", "which", "while", "who", "whom", "why", "will", "with", "would", "y",
    "you", "your", "yours", "yourself", "yourselves",
];

/// Whole-word replacements, sorted (for binary search). Words with an apostrophe that are not
/// here go through the suffix rules in [`expand`].
static CONTRACTIONS: &[(&str, &str)] = &[
    ("ain't", "is not"),
    ("aint", "is not"),
    ("arent", "are not"),
    ("can't", "can not"),
    ("cant", "can not"),
    ("couldnt", "could not"),
    ("couldve", "could have"),
    ("didnt", "did not"),
    ("doesnt", "does not"),
    ("don't", "do not"),
    ("dont", "do not"),
    ("gonna", "going to"),
    ("gotta", "got to"),
    ("hadnt", "had not"),
    ("hasnt", "has not"),
    ("havent", "have not"),
    ("he's", "he is"),
    ("here's", "here is"),
    ("heres", "here is"),
    ("how's", "how is"),
    ("hows", "how is"),
    ("i'm", "i am"),
    ("im", "i am"),
    ("isnt", "is not"),
    ("it's", "it is"),
    ("ive", "i have"),
    ("let's", "let us"),
    ("mightnt", "might not"),
    ("mightve", "might have"),
    ("mustnt", "must not"),
    ("mustve", "must have"),
    ("neednt", "need not"),
    ("shan't", "shall not"),
    ("shant", "shall not"),
    ("she's", "she is"),
    ("shouldnt", "should not"),
    ("shouldve", "should have"),
    ("that's", "that is"),
    ("thats", "that is"),
    ("there's", "there is"),
    ("theres", "there is"),
    ("theyll", "they will"),
    ("theyre", "they are"),
    ("theyve", "they have"),
    ("wanna", "want to"),
    ("wasnt", "was not"),
    ("werent", "were not"),
    ("what's", "what is"),
    ("whats", "what is"),
    ("when's", "when is"),
    ("where's", "where is"),
    ("wheres", "where is"),
    ("who's", "who is"),
    ("whos", "who is"),
    ("why's", "why is"),
    ("won't", "will not"),
    ("wont", "will not"),
    ("wouldnt", "would not"),
    ("wouldve", "would have"),
    ("y'all", "you all"),
    ("yall", "you all"),
    ("youll", "you will"),
    ("youre", "you are"),
    ("youve", "you have"),
];

/// Longest key in [`CONTRACTIONS`]; longer words skip the lookup.
const MAX_CONTRACTION_LEN: usize = 8;

// ---------------------------------------------------------------------------------------------
// Pass 0: cut.

fn cut(text: &str) -> &str {
    // A char is at least one byte: a short enough string cannot be too long.
    if text.len() <= MAX_INPUT_CHARS {
        return text;
    }
    match text.char_indices().nth(MAX_INPUT_CHARS) {
        Some((i, _)) => &text[..i],
        None => text,
    }
}

// ---------------------------------------------------------------------------------------------
// Pass 1: fold (apostrophes, NFKC, lowercase, control and format characters).

fn fold(text: &str, out: &mut String) {
    if text.is_ascii() {
        if text.bytes().all(|b| b >= 0x20 && b != 0x7f) {
            out.push_str(text);
            out.make_ascii_lowercase();
        } else {
            text.chars().for_each(|c| push_folded(c, out));
        }
        return;
    }
    let pre = text.chars().map(premap_apostrophe);
    if is_nfkc_quick(text.chars()) == IsNormalized::Yes {
        pre.for_each(|c| push_folded(c, out));
    } else {
        pre.nfkc().for_each(|c| push_folded(c, out));
    }
}

/// Applied before NFKC, because NFKC turns `´` into a space and a combining accent.
fn premap_apostrophe(c: char) -> char {
    match c {
        '\u{2019}' | '\u{2018}' | '\u{02BC}' | '\u{201B}' | '\u{00B4}' | '\u{2032}' => '\'',
        _ => c,
    }
}

fn push_folded(c: char, out: &mut String) {
    if c.is_ascii() {
        match c {
            '\n' | '\r' => out.push('\n'),
            '\t' | '\u{0B}' | '\u{0C}' => out.push(' '),
            c if c.is_ascii_control() => {}
            c => out.push(c.to_ascii_lowercase()),
        }
        return;
    }
    match c {
        '\u{2028}' | '\u{2029}' | '\u{85}' => out.push('\n'),
        '\u{FFFD}' => out.push(' '),
        c if c.is_control() || is_invisible_format(c) => {}
        c => out.extend(c.to_lowercase()),
    }
}

/// Invisible format characters (Unicode Cf) that only hide or reorder text.
fn is_invisible_format(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
    )
}

// ---------------------------------------------------------------------------------------------
// Pass 2: strip Discord markup. All markup is ASCII, so the scanner works on bytes and copies
// the text between markup in whole slices (always cut at ASCII bytes, hence at char boundaries).

struct Stripper<'a> {
    s: &'a str,
    b: &'a [u8],
    /// Set once a search for a closing ``` fails: no later fence can close either.
    no_fence_close: bool,
    /// Same for inline code, per delimiter length (1 or 2 backticks).
    no_code_close: [bool; 2],
    /// Memo of the first `]` at or after some position (`usize::MAX`: none).
    next_bracket: Option<usize>,
}

impl<'a> Stripper<'a> {
    fn new(s: &'a str) -> Self {
        Stripper {
            s,
            b: s.as_bytes(),
            no_fence_close: false,
            no_code_close: [false; 2],
            next_bracket: None,
        }
    }

    fn run(&mut self, out: &mut String) {
        self.strip(0, self.b.len(), true, out);
    }

    /// Strips `s[from..to]` into `out`. `line_start`: `from` starts a line.
    fn strip(&mut self, from: usize, to: usize, line_start: bool, out: &mut String) {
        let (s, b) = (self.s, self.b);
        let mut i = from;
        let mut run = from; // start of the pending plain-text slice
        let mut at_line_start = line_start;
        while i < to {
            if at_line_start {
                at_line_start = false;
                let j = skip_line_prefix(b, i, to);
                if j != i {
                    out.push_str(&s[run..i]);
                    i = j;
                    run = j;
                    continue;
                }
            }
            let c = b[i];
            match c {
                b'\n' => {
                    i += 1;
                    at_line_start = true;
                }
                b'`' => {
                    out.push_str(&s[run..i]);
                    i = self.code(i, to, out);
                    run = i;
                }
                b'<' => match parse_angle(b, i, to) {
                    Some(end) => {
                        out.push_str(&s[run..i]);
                        out.push(' ');
                        i = end;
                        run = i;
                    }
                    None => i += 1,
                },
                b'@' if !prev_is_word(b, i) => {
                    let rest = &b[i + 1..to];
                    let len = if rest.starts_with(b"everyone") {
                        8
                    } else if rest.starts_with(b"here") {
                        4
                    } else {
                        0
                    };
                    if len > 0 && !is_word_byte(b.get(i + 1 + len).copied(), i + 1 + len < to) {
                        out.push_str(&s[run..i]);
                        out.push(' ');
                        i += 1 + len;
                        run = i;
                    } else {
                        i += 1;
                    }
                }
                b'h' | b'w' if !prev_is_word(b, i) && starts_url(&b[i..to]) => {
                    out.push_str(&s[run..i]);
                    out.push(' ');
                    i = skip_url(b, i, to);
                    run = i;
                }
                b'[' => match self.link(i, to) {
                    Some((text_end, end)) => {
                        out.push_str(&s[run..i]);
                        self.strip(i + 1, text_end, false, out);
                        i = end;
                        run = i;
                    }
                    None => i += 1,
                },
                b'*' => {
                    out.push_str(&s[run..i]);
                    i += 1;
                    run = i;
                }
                b'_' => {
                    let inside =
                        prev_is_word(b, i) && is_word_byte(b.get(i + 1).copied(), i + 1 < to);
                    if !inside {
                        out.push_str(&s[run..i]);
                        run = i + 1;
                    }
                    i += 1;
                }
                b'~' | b'|' if i + 1 < to && b[i + 1] == c => {
                    out.push_str(&s[run..i]);
                    i += 2;
                    run = i;
                }
                _ => i += 1,
            }
        }
        out.push_str(&s[run..to.max(run)]);
    }

    /// At a backtick: a fenced block (dropped), inline code (content kept) or a lone backtick
    /// (dropped). Returns where to continue.
    fn code(&mut self, i: usize, to: usize, out: &mut String) -> usize {
        let b = self.b;
        let ticks = b[i..to].iter().take_while(|&&c| c == b'`').count();
        if ticks >= 3 {
            if !self.no_fence_close {
                if let Some(k) = find(&b[i + 3..to], b"```") {
                    out.push(' ');
                    let mut end = i + 3 + k + 3;
                    // A longer closing run (````) belongs to the fence.
                    while end < to && b[end] == b'`' {
                        end += 1;
                    }
                    return end;
                }
                // Nothing closes after here (only known when scanning to the very end).
                self.no_fence_close = to == self.b.len();
            }
            // Unterminated: drop the backticks, keep the text.
            out.push(' ');
            return i + ticks;
        }
        let slot = ticks - 1;
        let delim: &[u8] = if ticks == 1 { b"`" } else { b"``" };
        if !self.no_code_close[slot] {
            let body = i + ticks;
            if let Some(k) = find(&b[body..to], delim) {
                out.push(' ');
                out.push_str(&self.s[body..body + k]);
                out.push(' ');
                let mut end = body + k + ticks;
                while end < to && b[end] == b'`' {
                    end += 1;
                }
                return end;
            }
            self.no_code_close[slot] = to == self.b.len();
        }
        i + ticks
    }

    /// At `[`: a `[text](http…)` link? Returns (end of text, end of link).
    fn link(&mut self, i: usize, to: usize) -> Option<(usize, usize)> {
        let b = self.b;
        let close = match self.next_bracket {
            Some(p) if p > i => p,
            _ => {
                let p = b[i + 1..]
                    .iter()
                    .position(|&c| c == b']')
                    .map_or(usize::MAX, |k| i + 1 + k);
                self.next_bracket = Some(p);
                p
            }
        };
        if close >= to || close + 1 >= to || b[close + 1] != b'(' {
            return None;
        }
        let mut u = close + 2;
        if u < to && b[u] == b'<' {
            u += 1;
        }
        if !starts_url(&b[u..to]) {
            return None;
        }
        let limit = to.min(u + MAX_LINK_SCAN);
        let end = (u..limit).find(|&k| b[k] == b')' || b[k].is_ascii_whitespace())?;
        if b[end] != b')' {
            return None;
        }
        Some((close, end + 1))
    }
}

/// At the start of a line: skips quote, heading and subtext markers (any mix, e.g. `> # `).
fn skip_line_prefix(b: &[u8], i: usize, to: usize) -> usize {
    let mut j = i;
    while j < to && (b[j] == b' ' || b[j] == b'\t') {
        j += 1;
    }
    let mut found = false;
    loop {
        let rest = &b[j..to];
        let ends_line = |k: usize| k >= rest.len() || rest[k] == b'\n';
        let skip = if rest.starts_with(b">>>") && (ends_line(3) || rest[3] == b' ') {
            3
        } else if rest.starts_with(b">") && (ends_line(1) || rest[1] == b' ') {
            1
        } else if rest.starts_with(b"-# ") {
            2
        } else {
            let hashes = rest.iter().take_while(|&&c| c == b'#').count();
            if (1..=3).contains(&hashes) && rest.get(hashes) == Some(&b' ') {
                hashes
            } else {
                0
            }
        };
        if skip == 0 {
            break;
        }
        found = true;
        j += skip;
        while j < to && b[j] == b' ' {
            j += 1;
        }
    }
    if found {
        j
    } else {
        i
    }
}

/// At `<`: the end (after `>`) of a Discord token or `<https://…>`, if it is one.
fn parse_angle(b: &[u8], i: usize, to: usize) -> Option<usize> {
    let rest = &b[i + 1..to];
    let at = |k: usize| rest.get(k).copied();
    let close = |k: usize| (at(k) == Some(b'>')).then_some(i + 1 + k + 1);
    match at(0)? {
        b'@' => {
            let k = if matches!(at(1), Some(b'!' | b'&')) {
                2
            } else {
                1
            };
            close(k + digits(rest, k)?)
        }
        b'#' => close(1 + digits(rest, 1)?),
        b':' => emoji(rest, 1).and_then(close),
        b'a' if at(1) == Some(b':') => emoji(rest, 2).and_then(close),
        b't' if at(1) == Some(b':') => {
            let k = 2 + digits(rest, 2)?;
            if at(k) == Some(b':') && at(k + 1).is_some_and(|c| c.is_ascii_alphabetic()) {
                close(k + 2)
            } else {
                close(k)
            }
        }
        b'/' => {
            // </name sub:123> — the name may be non-ASCII (localized commands).
            let limit = rest.len().min(1 + MAX_NAME_SCAN);
            let colon = (1..limit).find(|&k| matches!(rest[k], b':' | b'>' | b'<' | b'\n'))?;
            if colon == 1 || rest[colon] != b':' {
                return None;
            }
            close(colon + 1 + digits(rest, colon + 1)?)
        }
        b'i' if rest.starts_with(b"id:") => {
            let n = rest[3..]
                .iter()
                .take(32)
                .take_while(|c| c.is_ascii_alphabetic() || **c == b'-')
                .count();
            if n == 0 {
                return None;
            }
            close(3 + n)
        }
        b'h' if starts_url(rest) => {
            let limit = rest.len().min(MAX_LINK_SCAN);
            let k = (0..limit).find(|&k| rest[k] == b'>' || rest[k].is_ascii_whitespace())?;
            close(k)
        }
        _ => None,
    }
}

/// `name:123` from `k` (custom emoji); returns the length consumed.
fn emoji(rest: &[u8], k: usize) -> Option<usize> {
    let n = rest[k.min(rest.len())..]
        .iter()
        .take(MAX_NAME_SCAN)
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_' || **c == b'~')
        .count();
    if n == 0 || rest.get(k + n) != Some(&b':') {
        return None;
    }
    Some(k + n + 1 + digits(rest, k + n + 1)?)
}

/// Number of ASCII digits at `k` (at least one, at most [`MAX_DIGITS`]).
fn digits(rest: &[u8], k: usize) -> Option<usize> {
    let n = rest[k.min(rest.len())..]
        .iter()
        .take(MAX_DIGITS + 1)
        .take_while(|c| c.is_ascii_digit())
        .count();
    (1..=MAX_DIGITS).contains(&n).then_some(n)
}

fn starts_url(rest: &[u8]) -> bool {
    rest.starts_with(b"http://") || rest.starts_with(b"https://") || rest.starts_with(b"www.")
}

/// A URL runs to the next whitespace, `<` or `>`.
fn skip_url(b: &[u8], i: usize, to: usize) -> usize {
    (i..to)
        .find(|&k| b[k].is_ascii_whitespace() || b[k] == b'<' || b[k] == b'>')
        .unwrap_or(to)
}

/// Is the byte before `i` part of a word? Non-ASCII bytes count as word bytes (letters mostly).
fn prev_is_word(b: &[u8], i: usize) -> bool {
    i > 0 && is_word_byte(Some(b[i - 1]), true)
}

fn is_word_byte(c: Option<u8>, in_range: bool) -> bool {
    in_range && c.is_some_and(|c| c.is_ascii_alphanumeric() || c >= 0x80)
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ---------------------------------------------------------------------------------------------
// Pass 3: contractions and whitespace.

fn expand_and_collapse(s: &str, out: &mut String) {
    let b = s.as_bytes();
    let n = b.len();
    let mut pending_space = false;
    let mut i = 0;
    while i < n {
        let (ch, len) = char_at(s, i);
        if ch.is_whitespace() {
            pending_space = !out.is_empty();
            i += len;
            continue;
        }
        if pending_space {
            out.push(' ');
            pending_space = false;
        }
        if !ch.is_alphanumeric() {
            out.push_str(&s[i..i + len]);
            i += len;
            continue;
        }
        // A word: alphanumerics, marks, and apostrophes between alphanumerics.
        let start = i;
        let mut has_apostrophe = false;
        i += len;
        while i < n {
            let (c, l) = char_at(s, i);
            if c.is_alphanumeric() || is_combining_mark(c) {
                i += l;
            } else if c == '\'' && i + 1 < n && char_at(s, i + 1).0.is_alphanumeric() {
                has_apostrophe = true;
                i += 1;
            } else {
                break;
            }
        }
        let word = &s[start..i];
        match expand(word, has_apostrophe) {
            Some((keep, add)) => {
                out.push_str(&word[..keep]);
                out.push_str(add);
            }
            None => out.push_str(word),
        }
    }
}

/// A contraction's expansion: keep `word[..n]`, then append the `&str`.
fn expand(word: &str, has_apostrophe: bool) -> Option<(usize, &'static str)> {
    if word.len() <= MAX_CONTRACTION_LEN {
        if let Ok(k) = CONTRACTIONS.binary_search_by(|(key, _)| key.cmp(&word)) {
            return Some((0, CONTRACTIONS[k].1));
        }
    }
    if !has_apostrophe {
        return None;
    }
    let rules: [(&str, &'static str); 6] = [
        ("n't", " not"),
        ("'ve", " have"),
        ("'ll", " will"),
        ("'re", " are"),
        ("'d", " would"),
        ("'m", " am"),
    ];
    rules
        .iter()
        .find(|(suffix, _)| word.len() > suffix.len() && word.ends_with(suffix))
        .map(|(suffix, add)| (word.len() - suffix.len(), *add))
        .filter(|&(keep, _)| !word[..keep].ends_with('\''))
}

// ---------------------------------------------------------------------------------------------
// Shared helpers.

/// The char at byte `i` (a char boundary) and its length; U+0000 if `i` is out of range.
#[inline]
fn char_at(s: &str, i: usize) -> (char, usize) {
    let b = s.as_bytes();
    match b.get(i) {
        Some(&c) if c < 0x80 => (c as char, 1),
        Some(_) => s
            .get(i..)
            .and_then(|r| r.chars().next())
            .map_or(('\0', 1), |c| (c, c.len_utf8())),
        None => ('\0', 1),
    }
}

/// End of a word that started at `s` and whose alphanumeric run ends at `i`: extended over a
/// `+`, `++` or `#` suffix when the run is a single ASCII letter (`c++`, `c#`).
fn language_suffix_end(text: &str, s: usize, i: usize) -> usize {
    let b = text.as_bytes();
    if i != s + 1 || !b[s].is_ascii_alphabetic() {
        return i;
    }
    let suffix = match b.get(i) {
        Some(b'+') if b.get(i + 1) == Some(&b'+') => 2,
        Some(b'+') | Some(b'#') => 1,
        _ => return i,
    };
    let end = i + suffix;
    let (next, _) = char_at(text, end);
    if end < b.len() && (next.is_alphanumeric() || next == '+' || next == '#') {
        return i;
    }
    end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn singular_drops_regular_plural_endings_only() {
        for (word, expected) in [
            ("nurses", "nurse"),
            ("secretaries", "secretary"),
            ("coaches", "coach"),
            ("waitresses", "waitress"),
            ("firemen", "fireman"),
            ("boss", "boss"),
            ("status", "status"),
            ("analysis", "analysis"),
            ("nursing", "nursing"),
            ("accountant", "accountant"),
            ("firefighting", "firefighting"),
            ("aws", "aws"),
            ("écoles", "écoles"),
        ] {
            assert_eq!(singular(word), expected, "{word}");
        }
    }

    fn check(rows: &[(&str, &str)]) {
        for (input, expected) in rows {
            assert_eq!(clean(input), *expected, "clean({input:?})");
        }
    }

    #[test]
    fn tables_are_sorted() {
        assert!(STOP_WORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(CONTRACTIONS.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(CONTRACTIONS
            .iter()
            .all(|(k, _)| k.len() <= MAX_CONTRACTION_LEN));
    }

    #[test]
    fn basics() {
        check(&[
            ("", ""),
            ("Hello World", "hello world"),
            (
                "  many   spaces\t\there \n\n next  ",
                "many spaces here next",
            ),
            (
                "What is B.Sc? Or M.S., really!",
                "what is b.sc? or m.s., really!",
            ),
            ("C++ vs C# vs node.js", "c++ vs c# vs node.js"),
            ("snake_case and __init__", "snake_case and init"),
            ("about ~5 years", "about ~5 years"),
            ("a | b", "a | b"),
        ]);
    }

    #[test]
    fn mentions_and_tokens() {
        check(&[
            ("<@123456789012345678> hi", "hi"),
            ("hi <@!123> there", "hi there"),
            ("ping <@&987> and <#555>", "ping and"),
            ("@everyone look", "look"),
            ("hey @here!", "hey !"),
            ("mail me@here.com", "mail me@here.com"),
            ("@heretic stays", "@heretic stays"),
            ("nice <:pepe:123> <a:dance:456>!", "nice !"),
            ("see you <t:1700000000:R> or <t:1700000000>", "see you or"),
            ("use </ask:123> or </course search:456>", "use or"),
            ("check <id:customize>", "check"),
            ("<@1><@2><#3>", ""),
        ]);
    }

    #[test]
    fn urls_and_links() {
        check(&[
            ("read https://example.com/a?b=c now", "read now"),
            ("read http://x.y and www.z.com.", "read and"),
            ("<https://example.com> here", "here"),
            (
                "see [the docs](https://docs.rs/x) please",
                "see the docs please",
            ),
            ("see [**bold** docs](<https://a.b>)", "see bold docs"),
            ("[not a link](nope)", "[not a link](nope)"),
            ("[unclosed link](https://a.b", "[unclosed link]("),
            ("shttp://x stays", "shttp://x stays"),
        ]);
    }

    #[test]
    fn emphasis_quotes_headings() {
        check(&[
            (
                "**bold** *it* __under__ _it_ ~~strike~~ ||spoiler||",
                "bold it under it strike spoiler",
            ),
            ("> quoted text", "quoted text"),
            (">>> long quote\nsecond line", "long quote second line"),
            (">no space stays", ">no space stays"),
            (
                "# Heading\n## Sub\n### Third\n#### four",
                "heading sub third #### four",
            ),
            ("-# small print", "small print"),
            ("> # quoted heading", "quoted heading"),
            ("line\n> quote in line two", "line quote in line two"),
            ("#hashtag stays", "#hashtag stays"),
        ]);
    }

    #[test]
    fn code() {
        check(&[
            ("before ```rust\nfn main() {}\n``` after", "before after"),
            ("```\nonly code\n```", ""),
            ("a ```b``` c ```d``` e", "a c e"),
            ("unterminated ```fence here", "unterminated fence here"),
            ("how do I learn `docker`?", "how do i learn docker ?"),
            ("keep ``a `b` c`` text", "keep a `b` c text"),
            ("inline `<@123>` is literal", "inline <@123> is literal"),
            ("lone ` backtick", "lone backtick"),
        ]);
    }

    #[test]
    fn contractions() {
        check(&[
            ("I don't know", "i do not know"),
            ("I can't, I won't", "i can not, i will not"),
            ("I'm sure it's fine", "i am sure it is fine"),
            ("What's that? That's it.", "what is that? that is it."),
            (
                "I've, you'll, they're, we'd",
                "i have, you will, they are, we would",
            ),
            (
                "it isn't, doesn't, couldn't",
                "it is not, does not, could not",
            ),
            (
                "dont cant wont im ive whats",
                "do not can not will not i am i have what is",
            ),
            ("doesnt isnt didnt youre", "does not is not did not you are"),
            (
                "I wanna know, gonna learn",
                "i want to know, going to learn",
            ),
            ("let's go, y'all", "let us go, you all"),
            ("Python's syntax, its scope", "python's syntax, its scope"),
            ("I’m sure it’s ‘quoted’", "i am sure it is 'quoted'"),
            ("don´t", "do not"),
            ("'don't'", "'do not'"),
            ("o'reilly", "o'reilly"),
            ("ill well were id", "ill well were id"),
        ]);
    }

    #[test]
    fn unicode() {
        check(&[
            ("ＨＥＬＬＯ ｗｏｒｌｄ", "hello world"),
            ("ﬁle ﬂow", "file flow"),
            ("Ⅻ ①", "xii 1"),
            ("non\u{a0}breaking", "non breaking"),
            ("ÉCOLE Straße", "école straße"),
            (
                "zero\u{200b}width \u{feff}bom \u{202e}rtl",
                "zerowidth bom rtl",
            ),
            ("Ａ\u{0301}", "á"),
        ]);
    }

    #[test]
    fn hostile() {
        check(&[
            ("   \t\n  ", ""),
            ("nul\0byte \u{1}ctl\u{7f}", "nulbyte ctl"),
            ("\0\0\0", ""),
            ("😀🎉", "😀🎉"),
            ("مرحبا بالعالم", "مرحبا بالعالم"),
            ("שלום עולם", "שלום עולם"),
            ("<", "<"),
            ("a < b > c", "a < b > c"),
            ("<@", "<@"),
            ("<@123", "<@123"),
            ("<@abc>", "<@abc>"),
            ("</>", "</>"),
            ("<t:>", "<t:>"),
            ("<:x:>", "<:x:>"),
            ("```", ""),
            ("``", ""),
            ("`", ""),
            ("[", "["),
            ("[]()", "[]()"),
            ("](", "]("),
            ("||", ""),
            ("~~", ""),
            ("@", "@"),
            ("#", "#"),
            (">", ""),
            ("'", "'"),
            ("n't", "n't"),
            ("'d", "'d"),
        ]);
        let lossy =
            String::from_utf8_lossy(&[0xff, b'a', 0xfe, 0xc3, b'b', 0x80, 0x00, b'<', b'@']);
        assert_eq!(clean(&lossy), "a b <@");
    }

    #[test]
    fn long_inputs_are_cut() {
        let big = "word ".repeat(20_000);
        let c = clean(&big);
        assert!(c.chars().count() < MAX_INPUT_CHARS);
        let wide = "é".repeat(MAX_INPUT_CHARS + 10);
        assert_eq!(clean(&wide).chars().count(), MAX_INPUT_CHARS);
        // Pathological markup must stay linear and must not panic.
        for unit in [
            "[", "[a](", "[a](http", "`", "```", "<@1", "<http", "**", "_", "> ", "\n# ", "ﷺ",
        ] {
            let s = unit.repeat(100_000 / unit.len());
            let _ = clean(&s);
            let _ = words(&clean(&s));
        }
    }

    #[test]
    fn pseudo_random_bytes_do_not_panic() {
        let alphabet: &[u8] = b"<>@!&#:/t`[]()*_~|\\'\n -+ahtpsw.1\0\xe2\x80\x99\xef\xbc\xa1\xff";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..2000 {
            let mut bytes = Vec::new();
            for _ in 0..(x % 64) {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                bytes.push(alphabet[(x % alphabet.len() as u64) as usize]);
            }
            let s = String::from_utf8_lossy(&bytes);
            let c = clean(&s);
            for w in words(&c) {
                let _ = stem(w);
                let _ = is_stop_word(w);
            }
        }
    }

    #[test]
    fn word_tokens() {
        let rows: &[(&str, &[&str])] = &[
            ("", &[]),
            ("hello world", &["hello", "world"]),
            ("node.js, react-native", &["node", "js", "react", "native"]),
            ("c++ and c# and f#", &["c++", "and", "c#", "and", "f#"]),
            ("g++, a+ cert", &["g++", "a+", "cert"]),
            (
                "c+++ c#x python+ notepad++",
                &["c", "c", "x", "python", "notepad"],
            ),
            ("python3 in 2024", &["python3", "in", "2024"]),
            ("python's", &["python", "s"]),
            ("école straße", &["école", "straße"]),
            ("مَرْحَبًا", &["مَرْحَبًا"]),
            ("😀 hi 🎉", &["hi"]),
            ("a-b_c", &["a", "b", "c"]),
            ("x", &["x"]),
            ("c#", &["c#"]),
        ];
        for (input, expected) in rows {
            assert_eq!(words(input), *expected, "words({input:?})");
        }
    }

    #[test]
    fn stop_words() {
        for (word, expected) in [
            ("the", true),
            ("and", true),
            ("would", true),
            ("s", true),
            ("sql", false),
            ("python", false),
            ("", false),
        ] {
            assert_eq!(is_stop_word(word), expected, "{word}");
        }
        assert_eq!(STOP_WORDS.len(), 135);
    }

    #[test]
    fn stems() {
        for (word, expected) in [
            ("databases", "databas"),
            ("database", "databas"),
            ("systems", "system"),
            ("programming", "program"),
            ("running", "run"),
            ("python", "python"),
            ("", ""),
            ("école", "école"),
            ("c++", "c++"),
        ] {
            assert_eq!(stem(word), expected, "{word}");
        }
    }
}
