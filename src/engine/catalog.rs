//! The course catalog and its search: `careerbot courses`, `/course`, its autocomplete and
//! the course-search intent all go through [`Catalog::search`].
//!
//! Design choice: all text work on the catalog happens once, in [`Catalog::new`]. Every
//! course's title, topics, provider and summary are cleaned, split into whole words, stop
//! words dropped, plurals folded and read through the catalog's aliases (`[[alias]]` in
//! `courses.toml`: "k8s" reads as "kubernetes", "google cloud" as "gcp"); years and semesters
//! ("Spring 2016") are dropped from titles. The result is a vocabulary of terms with posting
//! lists (term → courses, with the fields the term is in) and an index of the topics as
//! phrases of terms. A query goes through the same steps, so it matches whole words and whole
//! phrases only: "java" never finds "JavaScript", "go" never finds "Google". Only
//! [`Catalog::suggest`], completing the word still being typed, matches a word's beginning.
//!
//! A course's score is the sum over the query's terms of the term's IDF times the weight of
//! the best field it is in: a whole topic (3) beats a title word (2) beats a word of a longer
//! topic (1) beats the provider (0.8) beats the summary (0.5). Courses scoring under
//! [`MIN_SHARE`] of the best are left out, so a course that shares only a side word with the
//! query is not listed beside the ones it asks for. Level and price words ("free",
//! "beginner", "advanced") filter, like the options of `/course`.

use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

use crate::engine::english;
use crate::engine::intents::{Course, CourseAlias, Level};
use crate::engine::normalize::{clean, content_singulars, is_stop_word, singular, stem, words};

/// The weight of a query term found as a whole topic of a course (all of a topic's words, in
/// order, in the query)...
const W_TOPIC: f32 = 3.0;
/// ... in its title, as a word of a longer topic, in its provider, in its summary. Indexed
/// by field bit (see [`FIELD_TITLE`]).
const FIELD_WEIGHTS: [f32; 4] = [2.0, 1.0, 0.8, 0.5];
const FIELD_TITLE: u8 = 1;
const FIELD_TOPIC: u8 = 1 << 1;
const FIELD_PROVIDER: u8 = 1 << 2;
const FIELD_SUMMARY: u8 = 1 << 3;
/// A topic's weight falls by this share for each topic listed before it (up to
/// [`MAX_TOPIC_PLACE`] of them).
const TOPIC_PLACE_DECAY: f32 = 0.04;
const MAX_TOPIC_PLACE: u8 = 10;
/// A term found in several fields of a course gets this share of its other fields' weights.
const W_EXTRA_FIELD: f32 = 0.25;
/// A course scoring under this share of the best course's score is not listed.
pub const MIN_SHARE: f32 = 0.4;

/// Prefix (while typing): `Q_PREFIX * (0.5 + 0.5 * typed / full length)`.
const Q_PREFIX: f32 = 0.6;
/// Typo: `Q_TYPO * similarity` (similarity is at least [`MIN_TYPO_SIMILARITY`]).
const Q_TYPO: f32 = 0.8;
/// Normalized optimal-string-alignment (restricted Damerau-Levenshtein) similarity needed.
const MIN_TYPO_SIMILARITY: f32 = 0.8;
/// Query words shorter than this (in chars) get no typo tolerance.
const MIN_TYPO_CHARS: usize = 4;
/// Query words shorter than this (in chars) get no prefix matching.
const MIN_PREFIX_CHARS: usize = 2;
/// Only the first this many distinct query terms are used (hostile input stays cheap).
const MAX_QUERY_WORDS: usize = 32;

/// Words that ask for a course rather than name its subject: left out of a query that names
/// something else ("a good course to learn docker" searches "docker"), kept in one that names
/// nothing else ("learning how to learn") or where they belong to a topic ("machine learning").
const FILLER_WORDS: &[&str] = &[
    "anyone",
    "best",
    "book",
    "class",
    "course",
    "friendly",
    "find",
    "get",
    "good",
    "great",
    "guide",
    "help",
    "intro",
    "introduction",
    "know",
    "learn",
    "learning",
    "lesson",
    "looking",
    "material",
    "need",
    "online",
    "please",
    "recommend",
    "recommendation",
    "resource",
    "site",
    "start",
    "study",
    "suggest",
    "suggestion",
    "take",
    "teach",
    "thing",
    "top",
    "training",
    "tutorial",
    "video",
    "want",
    "way",
    "website",
];
/// Words asking for free courses, and for each level.
const FREE_WORDS: &[&str] = &["free", "gratis"];
const LEVEL_WORDS: &[(&str, Level)] = &[
    ("beginner", Level::Beginner),
    ("beginners", Level::Beginner),
    ("newbie", Level::Beginner),
    ("newbies", Level::Beginner),
    ("novice", Level::Beginner),
    ("novices", Level::Beginner),
    ("intermediate", Level::Intermediate),
    ("advanced", Level::Advanced),
    ("expert", Level::Advanced),
    ("experts", Level::Advanced),
];
/// Words that name a semester in a title ("Spring 2016"), dropped with the year after them.
const SEASONS: &[&str] = &["autumn", "fall", "spring", "summer", "winter"];

/// Which courses a search may return. `Default` = no filter.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CourseFilter {
    pub level: Option<Level>,
    pub free_only: bool,
}

impl CourseFilter {
    pub fn accepts(&self, course: &Course) -> bool {
        self.level.is_none_or(|level| course.level == level) && (!self.free_only || course.free)
    }

    /// This filter, narrowed by `other`'s: free if either is; `self`'s level if it has one.
    pub fn and(self, other: CourseFilter) -> CourseFilter {
        CourseFilter {
            level: self.level.or(other.level),
            free_only: self.free_only || other.free_only,
        }
    }
}

/// One search result.
#[derive(Debug, Clone, PartialEq)]
pub struct CourseHit<'a> {
    pub course: &'a Course,
    /// Always > 0; only comparable within one search. An empty query lists with score 1.0.
    pub score: f32,
    /// The query's words (as cleaned; an alias as written) that matched this course, in
    /// query order, for explanations.
    pub matched: Vec<String>,
}

/// The validated courses, indexed for search. Built once; cheap to search.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    courses: Vec<Course>,
    by_id: HashMap<String, usize>,
    /// Course indices sorted by title (case-insensitive), then id.
    by_title: Vec<u32>,
    /// Position of each course in `by_title` (tie-breaker for equal scores).
    title_rank: Vec<u32>,
    /// First stem of an alias name → (the name's stems, its term's stems), longest first.
    aliases: Aliases,
    /// One entry per distinct term: the courses it occurs in, with its fields there (bits)
    /// and the place of the first topic it is in (`u8::MAX` for none).
    postings: Vec<Vec<(u32, u8, u8)>>,
    /// Term (a stem, after aliases) → index into `postings`.
    stems: HashMap<String, u32>,
    /// Every term and every original spelling, sorted by text: prefix ranges and typo scans.
    forms: Vec<Form>,
    /// Each distinct topic as a phrase of terms, with the courses that list it ...
    phrases: Vec<(Vec<u32>, Vec<u32>)>,
    /// ... and by its first term.
    phrases_by_first: HashMap<u32, Vec<u32>>,
    /// Terms of the one-term topics, and their spellings (stop words aside) ...
    topic_stems: HashSet<String>,
    topic_spellings: HashSet<String>,
    /// ... and their Snowball stems: "networks" asks for the topic "networking" (search then
    /// finds what it matches whole).
    topic_roots: HashSet<String>,
    /// ... and the topics of several terms, each named only whole.
    topic_phrases: Vec<Vec<String>>,
    /// Every distinct topic, most common first (then by text): what autocomplete offers.
    topics_by_use: Vec<String>,
}

/// An alias name's first word → (the name's words, its term's words), longest name first
/// (all as search compares words: see [`fold`]).
type Aliases = HashMap<String, Vec<(Vec<String>, Vec<String>)>>;

#[derive(Debug, Clone)]
struct Form {
    text: String,
    chars: usize,
    mask: u64,
    term: u32,
}

/// A word (or an alias phrase) of a text, as search reads it.
#[derive(Debug, Clone)]
struct Token {
    /// As written (cleaned): the word, or every word of an alias phrase.
    text: String,
    /// Its folded form ([`fold`]), or one word of the term an alias stands for.
    stem: String,
}

/// What a query asks for: its terms and the filter its level and price words make.
struct Query {
    tokens: Vec<Token>,
    filter: CourseFilter,
    /// Whether the last token is the text's last word (which autocomplete may complete).
    last_typed: bool,
}

impl Catalog {
    pub fn new(courses: Vec<Course>, aliases: &[CourseAlias]) -> Catalog {
        let mut catalog = Catalog {
            aliases: compile_aliases(aliases),
            ..Catalog::default()
        };
        for (i, course) in courses.iter().enumerate() {
            catalog.by_id.entry(course.id.clone()).or_insert(i);
        }
        let keys: Vec<String> = courses.iter().map(|c| c.title.to_lowercase()).collect();
        let mut by_title: Vec<u32> = (0..courses.len() as u32).collect();
        by_title.sort_by(|&a, &b| {
            let (a, b) = (a as usize, b as usize);
            keys[a]
                .cmp(&keys[b])
                .then_with(|| courses[a].id.cmp(&courses[b].id))
        });
        let mut title_rank = vec![0u32; courses.len()];
        for (rank, &c) in by_title.iter().enumerate() {
            title_rank[c as usize] = rank as u32;
        }
        catalog.by_title = by_title;
        catalog.title_rank = title_rank;

        let mut spellings: Vec<(String, u32)> = Vec::new();
        let mut phrase_ids: HashMap<Vec<u32>, u32> = HashMap::new();
        let mut topic_phrases: HashSet<Vec<String>> = HashSet::new();
        for (ci, course) in courses.iter().enumerate() {
            // (term, field, place of the topic)
            let mut fields: Vec<(u32, u8, u8)> = Vec::new();
            for (field, place, tokens) in catalog.course_fields(course) {
                let terms: Vec<u32> = tokens
                    .iter()
                    .map(|token| catalog.term(token, &mut spellings))
                    .collect();
                fields.extend(terms.iter().map(|&term| (term, field, place)));
                if field != FIELD_TOPIC {
                    continue;
                }
                let mut phrase = terms;
                match tokens.as_slice() {
                    [] => continue,
                    [one] => {
                        catalog.topic_stems.insert(one.stem.clone());
                        if !one.text.contains(' ') {
                            catalog.topic_roots.insert(stem(&one.text).into_owned());
                        }
                        catalog.topic_spellings.extend(
                            one.text
                                .split(' ')
                                .filter(|w| !is_stop_word(w))
                                .map(str::to_owned),
                        );
                    }
                    many => {
                        topic_phrases.insert(many.iter().map(|t| t.stem.clone()).collect());
                    }
                }
                phrase.dedup();
                let next = catalog.phrases.len() as u32;
                let id = *phrase_ids.entry(phrase.clone()).or_insert(next);
                if id == next {
                    catalog
                        .phrases_by_first
                        .entry(phrase[0])
                        .or_default()
                        .push(id);
                    catalog.phrases.push((phrase, Vec::new()));
                }
                let holders = &mut catalog.phrases[id as usize].1;
                if holders.last() != Some(&(ci as u32)) {
                    holders.push(ci as u32);
                }
            }
            fields.sort_unstable();
            for group in fields.chunk_by(|a, b| a.0 == b.0) {
                let mask = group.iter().fold(0u8, |mask, &(_, field, _)| mask | field);
                let place = group
                    .iter()
                    .map(|&(_, _, place)| place)
                    .min()
                    .unwrap_or(u8::MAX);
                catalog.postings[group[0].0 as usize].push((ci as u32, mask, place));
            }
        }
        let mut topic_phrases: Vec<Vec<String>> = topic_phrases.into_iter().collect();
        topic_phrases.sort();
        catalog.topic_phrases = topic_phrases;

        spellings.sort();
        spellings.dedup();
        catalog.forms = spellings
            .into_iter()
            .map(|(text, term)| Form {
                chars: text.chars().count(),
                mask: char_mask(&text),
                text,
                term,
            })
            .collect();

        let mut counts: HashMap<&str, usize> = HashMap::new();
        for course in &courses {
            for topic in &course.topics {
                *counts.entry(topic.as_str()).or_default() += 1;
            }
        }
        let mut ranked: Vec<(&str, usize)> = counts.into_iter().collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
        catalog.topics_by_use = ranked.into_iter().map(|(t, _)| t.to_owned()).collect();
        catalog.courses = courses;
        catalog
    }

    /// The term of `token`, added to the vocabulary (with its spellings) if new.
    fn term(&mut self, token: &Token, spellings: &mut Vec<(String, u32)>) -> u32 {
        let term = match self.stems.get(&token.stem) {
            Some(&term) => term,
            None => {
                let term = self.postings.len() as u32;
                self.postings.push(Vec::new());
                self.stems.insert(token.stem.clone(), term);
                spellings.push((token.stem.clone(), term));
                term
            }
        };
        // A one-word spelling ("databases" for "databas") completes and forgives typos too.
        if !token.text.contains(' ') && token.text != token.stem {
            spellings.push((token.text.clone(), term));
        }
        term
    }

    /// A course's fields as search reads them: (field bit, place of the topic or `u8::MAX`,
    /// tokens). Years and semesters leave the title; a provider reads no aliases
    /// ("12factor.net" names no .NET course).
    fn course_fields(&self, course: &Course) -> Vec<(u8, u8, Vec<Token>)> {
        let no_aliases = Aliases::new();
        let read = |text: &str, title: bool, aliases: &Aliases| {
            let cleaned = clean(text);
            let mut words = words(&cleaned);
            if title {
                words = without_semesters(words);
            }
            self.tokens_with(&words, aliases)
        };
        let mut out = vec![(
            FIELD_TITLE,
            u8::MAX,
            read(&course.title, true, &self.aliases),
        )];
        for (place, topic) in course.topics.iter().enumerate() {
            let place = place.min(usize::from(u8::MAX - 1)) as u8;
            out.push((FIELD_TOPIC, place, read(topic, false, &self.aliases)));
        }
        out.push((
            FIELD_PROVIDER,
            u8::MAX,
            read(&course.provider, false, &no_aliases),
        ));
        if let Some(summary) = &course.summary {
            out.push((FIELD_SUMMARY, u8::MAX, read(summary, false, &self.aliases)));
        }
        out
    }

    /// `words` as search reads them: stop words dropped, stemmed, aliases read as their terms
    /// (the longest alias first: "google cloud platform" before "google cloud").
    fn tokens(&self, words: &[&str]) -> Vec<Token> {
        self.tokens_with(words, &self.aliases)
    }

    /// `words` as search reads them, with the aliases of `aliases`.
    fn tokens_with(&self, words: &[&str], aliases: &Aliases) -> Vec<Token> {
        let content: Vec<&str> = words.iter().copied().filter(|w| !is_stop_word(w)).collect();
        let stems: Vec<String> = content.iter().map(|w| fold(w)).collect();
        let mut out = Vec::with_capacity(stems.len());
        let mut i = 0;
        while i < stems.len() {
            let alias = aliases
                .get(&stems[i])
                .and_then(|names| names.iter().find(|(name, _)| stems[i..].starts_with(name)));
            match alias {
                Some((name, term)) => {
                    let text = content[i..i + name.len()].join(" ");
                    out.extend(term.iter().map(|stem| Token {
                        text: text.clone(),
                        stem: stem.clone(),
                    }));
                    i += name.len();
                }
                None => {
                    out.push(Token {
                        text: content[i].to_owned(),
                        stem: stems[i].clone(),
                    });
                    i += 1;
                }
            }
        }
        out
    }

    /// `text` as a query: its level and price words as a filter, the rest as terms (at most
    /// [`MAX_QUERY_WORDS`] distinct ones), filler words left out when anything else is asked.
    fn query(&self, text: &str) -> Query {
        let cleaned = clean(text);
        let all = words(&cleaned);
        let (filter, mut rest) = level_and_price(&all);
        rest.truncate(4 * MAX_QUERY_WORDS);
        let mut tokens = self.tokens(&rest);
        // Repeated words count once, but a word in two topics named whole ("system design
        // and distributed systems") is kept in each, so both phrases stay whole.
        let in_phrase = self.in_topic_phrase(&tokens);
        let phrase_stems: HashSet<&str> = tokens
            .iter()
            .zip(&in_phrase)
            .filter(|(_, &inside)| inside)
            .map(|(t, _)| t.stem.as_str())
            .collect();
        let mut seen = HashSet::new();
        let keep: Vec<bool> = tokens
            .iter()
            .zip(&in_phrase)
            .map(|(t, &inside)| {
                inside || (!phrase_stems.contains(t.stem.as_str()) && seen.insert(t.stem.clone()))
            })
            .collect();
        let mut keep = keep.into_iter();
        tokens.retain(|_| keep.next().unwrap_or(false));
        tokens.truncate(MAX_QUERY_WORDS);

        static FILLER: LazyLock<HashSet<String>> =
            LazyLock::new(|| FILLER_WORDS.iter().map(|w| fold(w)).collect());
        let in_phrase = self.in_topic_phrase(&tokens);
        let is_filler = |i: usize, t: &Token| {
            FILLER.contains(&t.stem) && !in_phrase[i] && !t.text.contains(' ')
        };
        let only_filler = tokens.iter().enumerate().all(|(i, t)| is_filler(i, t));
        // Filler alone is the search ("learning how to learn"), unless the query asked for a
        // level or a price: "a free course" lists the free courses.
        if !only_filler || filter != CourseFilter::default() {
            let keep: Vec<bool> = tokens
                .iter()
                .enumerate()
                .map(|(i, t)| !is_filler(i, t))
                .collect();
            let mut keep = keep.into_iter();
            tokens.retain(|_| keep.next().unwrap_or(true));
        }
        // Only the word typed last may be still being typed.
        let last_typed = match (tokens.last(), all.last()) {
            (Some(token), Some(&word)) => token.text == word,
            _ => false,
        };
        Query {
            tokens,
            filter,
            last_typed,
        }
    }

    /// Which of `tokens` belong to a topic of several terms that the tokens hold whole.
    fn in_topic_phrase(&self, tokens: &[Token]) -> Vec<bool> {
        let terms: Vec<Option<u32>> = tokens
            .iter()
            .map(|t| self.stems.get(&t.stem).copied())
            .collect();
        let mut covered = vec![false; tokens.len()];
        for (at, span, _) in self.phrase_hits(&terms) {
            if span > 1 {
                covered[at..at + span].fill(true);
            }
        }
        covered
    }

    /// Every (start, length, phrase) where a topic phrase occurs whole in `terms`.
    fn phrase_hits(&self, terms: &[Option<u32>]) -> Vec<(usize, usize, u32)> {
        let mut out = Vec::new();
        for (at, first) in terms.iter().enumerate() {
            let Some(first) = first else { continue };
            for &id in self.phrases_by_first.get(first).into_iter().flatten() {
                let phrase = &self.phrases[id as usize].0;
                let fits = phrase.len() <= terms.len() - at
                    && phrase.iter().zip(&terms[at..]).all(|(p, t)| Some(*p) == *t);
                if fits {
                    out.push((at, phrase.len(), id));
                }
            }
        }
        out
    }

    /// Whether `word` (a query word a hit reports as matched) is a whole word of `course`:
    /// each of its terms (after aliases) is a term of the course's title (years and
    /// semesters aside), topics, provider or summary, or, for a typo, the word is within a
    /// typo of one of the course's words. A word that only begins or ends a course's word
    /// ("java" in "javascript") is not. The relevance table checks every result with it.
    pub fn is_whole_word_match(&self, course: &Course, word: &str) -> bool {
        let mut stems: HashSet<String> = HashSet::new();
        let mut spellings: HashSet<String> = HashSet::new();
        for (_, _, tokens) in self.course_fields(course) {
            for token in tokens {
                spellings.extend(token.text.split(' ').map(str::to_owned));
                stems.insert(token.stem);
            }
        }
        let cleaned = clean(word);
        let tokens = self.tokens(&words(&cleaned));
        if !tokens.is_empty() && tokens.iter().all(|t| stems.contains(&t.stem)) {
            return true;
        }
        let typo = |a: &str, b: &str| {
            strsim::normalized_damerau_levenshtein(a, b) >= f64::from(MIN_TYPO_SIMILARITY)
        };
        let [token] = tokens.as_slice() else {
            return false;
        };
        !self.stems.contains_key(&token.stem)
            && !english::is_word(&token.text)
            && token.text.chars().count() >= MIN_TYPO_CHARS
            && (spellings.iter().any(|s| typo(&token.text, s))
                || stems.iter().any(|s| typo(&token.stem, s)))
    }

    /// The filter that `text`'s level and price words ask for ("a free beginner course").
    pub fn filter_words(&self, text: &str) -> CourseFilter {
        let cleaned = clean(text);
        level_and_price(&words(&cleaned)).0
    }

    pub fn courses(&self) -> &[Course] {
        &self.courses
    }

    pub fn get(&self, id: &str) -> Option<&Course> {
        self.by_id.get(id).map(|&i| &self.courses[i])
    }

    /// Completions for a topic being typed (`/course` autocomplete): catalog topics, most
    /// common first, whose words start with every word typed so far (case-insensitive), then
    /// the titles of the courses [`Catalog::search_typing`] finds for it. An empty `partial`
    /// gives the most common topics.
    pub fn suggest(&self, partial: &str, limit: usize) -> Vec<String> {
        let typed: Vec<String> = partial
            .to_lowercase()
            .split(|c: char| !c.is_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_owned)
            .collect();
        let fits = |text: &str| {
            let lower = text.to_lowercase();
            let words: Vec<&str> = lower
                .split(|c: char| !c.is_alphanumeric())
                .filter(|w| !w.is_empty())
                .collect();
            typed
                .iter()
                .all(|t| words.iter().any(|w| w.starts_with(t.as_str())))
        };
        let hits = if typed.is_empty() {
            Vec::new()
        } else {
            self.search_typing(partial, &CourseFilter::default(), limit)
        };
        let titles = hits.iter().map(|hit| hit.course.title.as_str());
        let mut seen = HashSet::new();
        self.topics_by_use
            .iter()
            .map(String::as_str)
            .filter(|t| fits(t))
            .chain(titles)
            .filter(|t| seen.insert(t.to_lowercase()))
            .take(limit)
            .map(str::to_owned)
            .collect()
    }

    /// The words of `text` that name a topic of some course, in order (an alias as written):
    /// a one-word topic by its stem or within a typo (normalized Damerau-Levenshtein
    /// similarity >= 0.8) of its spelling (words of 4+ letters) or of its stem (stems of 5+
    /// letters: "cook" would pass for "cooki", the stem of "cookies"), and a topic of several
    /// words only whole, each word by its stem or within a typo of a stem of 5+ letters
    /// ("learning" alone does not name "learning path"; "operating sytems" names "operating
    /// systems"). A word that is itself an English word is never a typo
    /// ([`english::is_word`]). "any course on kubernetes?" gives `["kubernetes"]`, "any
    /// course on k8s?" gives `["k8s"]`; "any course?" gives nothing.
    pub fn topic_words(&self, text: &str) -> Vec<String> {
        let cleaned = clean(text);
        let tokens = self.tokens(&words(&cleaned));
        let close = |a: &str, b: &str| strsim::normalized_damerau_levenshtein(a, b) >= 0.8;
        let long_stem = |s: &str| s.chars().count() > MIN_TYPO_CHARS;
        let same_stem = |a: &str, b: &str| a == b || (long_stem(a) && long_stem(b) && close(a, b));
        let mut topical = vec![false; tokens.len()];
        for (i, token) in tokens.iter().enumerate() {
            let word = token.text.as_str();
            let typo = !word.contains(' ') && !english::is_word(word);
            topical[i] = self.topic_stems.contains(&token.stem)
                || (!word.contains(' ') && self.topic_roots.contains(stem(word).as_ref()))
                || (typo
                    && word.chars().count() >= MIN_TYPO_CHARS
                    && self.topic_spellings.iter().any(|t| close(word, t)))
                || (typo && self.topic_stems.iter().any(|t| same_stem(&token.stem, t)));
        }
        for phrase in &self.topic_phrases {
            for at in 0..tokens.len().saturating_sub(phrase.len() - 1) {
                let window = &tokens[at..at + phrase.len()];
                if window
                    .iter()
                    .zip(phrase)
                    .all(|(a, b)| same_stem(&a.stem, b))
                {
                    topical[at..at + phrase.len()].fill(true);
                }
            }
        }
        let mut out: Vec<String> = Vec::new();
        for (token, topical) in tokens.into_iter().zip(topical) {
            // Each topic once, whether the question repeats it ("sql or sql") or an
            // alias's terms share its text.
            if topical && !out.contains(&token.text) {
                out.push(token.text);
            }
        }
        out
    }

    /// The courses that `query` asks for, best first: whole words and phrases only.
    ///
    /// The query is read as the courses were (cleaned, split into words, stop words
    /// dropped, stemmed, aliases read as their terms); its level and price words ("free",
    /// "beginner", "intermediate", "advanced", "expert") narrow `filter` instead; filler
    /// words ("course", "learn", "good") are left out when it names anything else; at most
    /// 32 distinct terms are used. A term matches a course's term exactly, or, when the
    /// catalog has no such term, within a typo (4+ chars, not an English word, normalized
    /// restricted Damerau-Levenshtein similarity >= 0.8, via strsim). Its contribution is
    /// its match quality × the weight of the best field it is in (a whole topic 3, title 2,
    /// a word of a longer topic 1, provider 0.8, summary 0.5) × the BM25 IDF of the set of
    /// courses it matched. Courses under [`MIN_SHARE`] of the best score are dropped.
    ///
    /// Ties are broken by title. A query with no terms (empty, punctuation, only mentions,
    /// "the", "free") lists every course that passes the filter, sorted by title, with
    /// score 1.0. Returns at most `limit` hits.
    pub fn search(&self, query: &str, filter: &CourseFilter, limit: usize) -> Vec<CourseHit<'_>> {
        self.search_with(query, filter, limit, false)
    }

    /// [`Catalog::search`] for a query still being typed (autocomplete): its last word, when
    /// nothing follows it, also matches the beginning of a word (2+ chars: "kube" finds
    /// "kubernetes").
    pub fn search_typing(
        &self,
        query: &str,
        filter: &CourseFilter,
        limit: usize,
    ) -> Vec<CourseHit<'_>> {
        let typing = query.trim_end().len() == query.len()
            && query.chars().last().is_some_and(char::is_alphanumeric);
        self.search_with(query, filter, limit, typing)
    }

    fn search_with(
        &self,
        text: &str,
        filter: &CourseFilter,
        limit: usize,
        typing: bool,
    ) -> Vec<CourseHit<'_>> {
        if limit == 0 || self.courses.is_empty() {
            return Vec::new();
        }
        let query = self.query(text);
        let filter = filter.and(query.filter);
        let tokens = &query.tokens;
        if tokens.is_empty() {
            return self
                .by_title
                .iter()
                .map(|&c| &self.courses[c as usize])
                .filter(|c| filter.accepts(c))
                .take(limit)
                .map(|course| CourseHit {
                    course,
                    score: 1.0,
                    matched: Vec::new(),
                })
                .collect();
        }

        // Each token's terms, with match quality: exact, else typos; the last one also by
        // prefix while typing, when it is the word being typed ("go free" types "free", a
        // filter word: "go" is whole).
        let last = tokens.len() - 1;
        let typing = typing && query.last_typed;
        let matches: Vec<Vec<(u32, f32)>> = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| self.term_matches(t, typing && i == last))
            .collect();
        // Phrases are matched on each token's best term.
        let best_terms: Vec<Option<u32>> = matches
            .iter()
            .map(|m| {
                m.iter()
                    .filter(|(_, q)| *q >= Q_TYPO * MIN_TYPO_SIMILARITY)
                    .max_by(|a, b| a.1.total_cmp(&b.1))
                    .map(|&(term, _)| term)
            })
            .collect();
        // Which query words each course holds as a whole topic; and the words that make up a
        // topic of several words ("system design"), which count only for the courses that
        // hold that topic whole: the member named the phrase, not its words.
        let mut whole_topic: HashMap<u32, u32> = HashMap::new();
        let mut whole_phrase: HashMap<u32, u32> = HashMap::new();
        let mut in_phrase = 0u32;
        for (at, span, id) in self.phrase_hits(&best_terms) {
            let bits = (((1u64 << span) - 1) << at) as u32;
            if span > 1 {
                in_phrase |= bits;
            }
            for &c in &self.phrases[id as usize].1 {
                *whole_topic.entry(c).or_default() |= bits;
                if span > 1 {
                    *whole_phrase.entry(c).or_default() |= bits;
                }
            }
        }

        let n = self.courses.len();
        let mut best = vec![0.0f32; n];
        let mut touched: Vec<u32> = Vec::new();
        let mut total = vec![0.0f32; n];
        let mut matched = vec![0u32; n];
        for (i, terms) in matches.iter().enumerate() {
            for &(term, quality) in terms {
                for &(c, fields, place) in &self.postings[term as usize] {
                    let whole = whole_topic.get(&c).is_some_and(|bits| bits & (1 << i) != 0);
                    let bit = 1 << i;
                    if in_phrase & bit != 0 && whole_phrase.get(&c).is_none_or(|b| b & bit == 0) {
                        continue;
                    }
                    let value = quality * field_weight(fields, whole, place);
                    let slot = &mut best[c as usize];
                    if *slot == 0.0 {
                        touched.push(c);
                    }
                    *slot = slot.max(value);
                }
            }
            if touched.is_empty() {
                continue;
            }
            let idf = bm25_idf(n, touched.len());
            for &c in &touched {
                let c = c as usize;
                total[c] += idf * best[c];
                matched[c] |= 1 << i;
                best[c] = 0.0;
            }
            touched.clear();
        }

        let mut hits: Vec<(u32, f32)> = (0..n)
            .filter(|&c| total[c] > 0.0 && filter.accepts(&self.courses[c]))
            .map(|c| (c as u32, total[c]))
            .collect();
        let top = hits.iter().map(|h| h.1).fold(0.0f32, f32::max);
        hits.retain(|h| h.1 >= MIN_SHARE * top);
        hits.sort_by(|a, b| {
            b.1.total_cmp(&a.1)
                .then_with(|| self.title_rank[a.0 as usize].cmp(&self.title_rank[b.0 as usize]))
        });
        hits.truncate(limit);
        hits.into_iter()
            .map(|(c, score)| {
                let bits = matched[c as usize];
                let mut words: Vec<String> = Vec::new();
                for (i, token) in tokens.iter().enumerate() {
                    if bits & (1 << i) != 0 && !words.contains(&token.text) {
                        words.push(token.text.clone());
                    }
                }
                CourseHit {
                    course: &self.courses[c as usize],
                    score,
                    matched: words,
                }
            })
            .collect()
    }

    /// The catalog terms `token` matches, with a quality: its own term (1.0); when the
    /// catalog has none, the terms within a typo of it (an English word is never taken for
    /// another: "nitro" is not "intro"); while `typing`, also terms it begins.
    fn term_matches(&self, token: &Token, typing: bool) -> Vec<(u32, f32)> {
        let mut out: Vec<(u32, f32)> = Vec::new();
        let exact = self.stems.get(&token.stem).copied();
        out.extend(exact.map(|term| (term, 1.0)));
        let one_word = !token.text.contains(' ');
        let q = token.text.as_str();
        let qs = token.stem.as_str();
        let candidates: &[&str] = if qs == q { &[q] } else { &[q, qs] };
        let q_chars = q.chars().count();

        if typing && one_word && q_chars >= MIN_PREFIX_CHARS {
            for &cand in candidates {
                let cand_chars = cand.chars().count();
                let from = self.forms.partition_point(|f| f.text.as_str() < cand);
                for form in self.forms[from..]
                    .iter()
                    .take_while(|f| f.text.starts_with(cand))
                {
                    if Some(form.term) == exact {
                        continue;
                    }
                    let quality = if form.chars == cand_chars {
                        1.0
                    } else {
                        Q_PREFIX * (0.5 + 0.5 * cand_chars as f32 / form.chars as f32)
                    };
                    out.push((form.term, quality));
                }
            }
        }

        if exact.is_none() && one_word && q_chars >= MIN_TYPO_CHARS && !english::is_word(q) {
            let cands: Vec<(&str, usize, u64)> = candidates
                .iter()
                .map(|&c| (c, c.chars().count(), char_mask(c)))
                .collect();
            for form in &self.forms {
                let mut best = 0.0f32;
                for &(cand, chars, mask) in &cands {
                    let longest = chars.max(form.chars);
                    // similarity = 1 - distance / longest >= MIN_TYPO_SIMILARITY
                    let max_dist =
                        ((1.0 - MIN_TYPO_SIMILARITY) * longest as f32 + 1e-3).floor() as usize;
                    if max_dist == 0
                        || chars.abs_diff(form.chars) > max_dist
                        // each edit changes at most two bits of the letter-presence mask
                        || (mask ^ form.mask).count_ones() as usize > 2 * max_dist
                    {
                        continue;
                    }
                    let dist = strsim::osa_distance(cand, &form.text);
                    if dist <= max_dist {
                        best = best.max(1.0 - dist as f32 / longest as f32);
                    }
                }
                if best > 0.0 {
                    out.push((form.term, Q_TYPO * best));
                }
            }
        }
        out
    }
}

/// The weight of a term in `fields` (bits) of a course: its best field's, plus a share of
/// the others'. Its topic field counts as a whole topic when `whole`, and less the later
/// the topic comes in the course's list (`place`): a catalog lists a course's main
/// subjects first.
fn field_weight(fields: u8, whole: bool, place: u8) -> f32 {
    let mut max = 0.0f32;
    let mut sum = 0.0f32;
    for (bit, &weight) in FIELD_WEIGHTS.iter().enumerate() {
        if fields & (1 << bit) != 0 {
            let weight = if 1 << bit == FIELD_TOPIC {
                let weight = if whole { W_TOPIC } else { weight };
                weight * (1.0 - TOPIC_PLACE_DECAY * f32::from(place.min(MAX_TOPIC_PLACE)))
            } else {
                weight
            };
            max = max.max(weight);
            sum += weight;
        }
    }
    max + W_EXTRA_FIELD * (sum - max)
}

/// Each alias name (and each term, as a name of itself) as stems, mapped to its term's stems;
/// by first stem, longest name first.
fn compile_aliases(aliases: &[CourseAlias]) -> Aliases {
    let mut out = Aliases::new();
    for alias in aliases {
        let term = content_singulars(&alias.term);
        if term.is_empty() {
            continue;
        }
        for name in std::iter::once(&alias.term).chain(&alias.aliases) {
            let name = content_singulars(name);
            if let Some(first) = name.first() {
                out.entry(first.clone())
                    .or_default()
                    .push((name, term.clone()));
            }
        }
    }
    for names in out.values_mut() {
        names.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        names.dedup_by(|a, b| a.0 == b.0);
    }
    out
}

/// `words` without their level and price words ("free", "beginner", ...), and the filter
/// those ask for; naming two levels ("beginner or advanced") asks for neither.
fn level_and_price<'a>(words: &[&'a str]) -> (CourseFilter, Vec<&'a str>) {
    let mut filter = CourseFilter::default();
    let mut levels: Vec<Level> = Vec::new();
    let mut rest = Vec::with_capacity(words.len());
    for &word in words {
        if FREE_WORDS.contains(&word) {
            filter.free_only = true;
        } else if let Some(&(_, level)) = LEVEL_WORDS.iter().find(|(w, _)| *w == word) {
            if !levels.contains(&level) {
                levels.push(level);
            }
        } else {
            rest.push(word);
        }
    }
    if let [level] = levels.as_slice() {
        filter.level = Some(*level);
    }
    (filter, rest)
}

/// A title's words without years and the semesters before them ("Spring 2016"): they say
/// when a course was recorded, not what it teaches.
fn without_semesters(words: Vec<&str>) -> Vec<&str> {
    let is_year = |w: &str| {
        w.len() == 4
            && w.bytes().all(|b| b.is_ascii_digit())
            && (w.starts_with("19") || w.starts_with("20"))
    };
    let mut out = Vec::with_capacity(words.len());
    for (i, &word) in words.iter().enumerate() {
        let season = SEASONS.contains(&word) && words.get(i + 1).is_some_and(|w| is_year(w));
        if !is_year(word) && !season {
            out.push(word);
        }
    }
    out
}

/// A word as search compares it: without a regular plural ending ("databases" finds
/// "database"), nothing more. A stemmer would also make "operating" "operations" and
/// "learning" "learn", matching words that only share a beginning.
fn fold(word: &str) -> String {
    singular(word).into_owned()
}

/// BM25's IDF, always > 0: high for a word matching few of the `n` courses, near 0 for most.
fn bm25_idf(n: usize, df: usize) -> f32 {
    let (n, df) = (n as f32, df as f32);
    (1.0 + (n - df + 0.5) / (df + 0.5)).ln()
}

/// Which characters a word contains: a-z, 0-9, and anything else hashed into the last bits.
fn char_mask(word: &str) -> u64 {
    word.chars().fold(0u64, |mask, c| {
        let bit = match c {
            'a'..='z' => c as u32 - 'a' as u32,
            '0'..='9' => 26 + c as u32 - '0' as u32,
            _ => 36 + (c as u32 % 28),
        };
        mask | (1 << bit)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::intents::{CourseAlias, Location};

    fn course(
        id: &str,
        title: &str,
        topics: &[&str],
        provider: &str,
        level: Level,
        free: bool,
        summary: Option<&str>,
    ) -> Course {
        Course {
            id: id.to_string(),
            title: title.to_string(),
            provider: provider.to_string(),
            url: format!("https://example.com/{id}"),
            topics: topics.iter().map(|t| t.to_string()).collect(),
            level,
            free,
            summary: summary.map(str::to_string),
            location: Location::default(),
        }
    }

    fn catalog() -> Catalog {
        use Level::*;
        Catalog::new(
            vec![
                course(
                    "sql",
                    "SQL for Data Analysis",
                    &["sql", "databases", "queries"],
                    "Udacity",
                    Beginner,
                    true,
                    Some("Write SQL queries against relational databases."),
                ),
                course(
                    "db-internals",
                    "Database Internals",
                    &["databases", "storage engines", "b-trees"],
                    "CMU",
                    Advanced,
                    true,
                    Some("How a database course stores data on disk."),
                ),
                course(
                    "os",
                    "Operating Systems: Three Easy Pieces",
                    &["operating systems", "concurrency", "linux"],
                    "OSTEP",
                    Intermediate,
                    true,
                    Some("An operating systems course about processes and memory."),
                ),
                course(
                    "python",
                    "Python for Everybody",
                    &["python", "programming"],
                    "Coursera",
                    Beginner,
                    false,
                    Some("A first programming course in Python."),
                ),
                course(
                    "algo",
                    "Algorithms, Part I",
                    &["algorithms", "data structures"],
                    "Coursera",
                    Intermediate,
                    false,
                    Some("A course on sorting, searching and graphs."),
                ),
                course(
                    "cpp",
                    "C++ Fundamentals",
                    &["c++", "programming"],
                    "Pluralsight",
                    Beginner,
                    false,
                    None,
                ),
            ],
            &[],
        )
    }

    #[test]
    fn suggestions_put_common_topics_first_then_titles_and_match_each_typed_word() {
        let catalog = catalog();
        // "databases" is a topic of two courses: the most common comes first.
        assert_eq!(catalog.suggest("", 1), ["databases"]);
        let sql = catalog.suggest("sq", 25);
        assert_eq!(sql.first().map(String::as_str), Some("sql"));
        assert!(sql.contains(&"SQL for Data Analysis".to_owned()), "{sql:?}");
        // Every typed word must start a word of the suggestion.
        assert_eq!(
            catalog.suggest("operat sys", 25),
            ["operating systems", "Operating Systems: Three Easy Pieces"]
        );
        assert!(catalog.suggest("zzz", 25).is_empty());
    }

    fn ids(hits: &[CourseHit<'_>]) -> Vec<String> {
        hits.iter().map(|h| h.course.id.clone()).collect()
    }

    #[test]
    fn only_the_word_being_typed_matches_by_prefix() {
        let catalog = Catalog::new(
            vec![
                course(
                    "sql",
                    "SQL Basics",
                    &["sql"],
                    "SQLBolt",
                    Level::Beginner,
                    true,
                    None,
                ),
                course(
                    "ml",
                    "Machine Learning",
                    &["ml"],
                    "Coursera",
                    Level::Beginner,
                    true,
                    None,
                ),
            ],
            &[],
        );
        let f = CourseFilter::default();
        // "course" is a whole word here: it must not pull in every "Coursera" course.
        assert_eq!(ids(&catalog.search("any course on sql?", &f, 10)), ["sql"]);
        assert_eq!(
            ids(&catalog.search_typing("any course on sql?", &f, 10)),
            ["sql"]
        );
        // Still typing "course": Coursera's courses are fair completions ...
        assert_eq!(ids(&catalog.search_typing("course", &f, 10)), ["ml"]);
        assert_eq!(ids(&catalog.search_typing("machine lea", &f, 10)), ["ml"]);
        // ... but not once the word is finished, nor in a search.
        assert!(catalog.search_typing("cours ", &f, 10).is_empty());
        assert!(catalog.search("cours", &f, 10).is_empty());
        assert!(catalog.search("lea", &f, 10).is_empty());
    }

    #[test]
    fn an_english_word_is_never_taken_for_a_typo_of_another() {
        let catalog = Catalog::new(
            vec![course(
                "go",
                "Intro to Go",
                &["golang"],
                "Go",
                Level::Beginner,
                true,
                None,
            )],
            &[],
        );
        let f = CourseFilter::default();
        // One transposition from "intro", but a word of its own.
        assert!(catalog.search("free nitro", &f, 10).is_empty());
        assert!(catalog.topic_words("free nitro now").is_empty());
        // A typo of no word is still forgiven.
        assert_eq!(ids(&catalog.search("an itnro course", &f, 10)), ["go"]);
    }

    #[test]
    fn search_first_hit() {
        let cat = catalog();
        // (query, expected first id)
        let rows = [
            ("any course on SQL?", "sql"),
            ("sql", "sql"),
            ("operating sytems", "os"),
            ("operating systems", "os"),
            ("opreating", "os"),
            ("pyhton", "python"),
            ("Python", "python"),
            ("algoritms", "algo"),
            ("data structures", "algo"),
            ("database internals", "db-internals"),
            ("databse", "db-internals"),
            ("linux", "os"),
            ("c++", "cpp"),
            ("ostep", "os"),
            ("Which courses teach **concurrency**? <@123>", "os"),
        ];
        for (query, first) in rows {
            let hits = cat.search(query, &CourseFilter::default(), 10);
            assert!(!hits.is_empty(), "{query:?} found nothing");
            assert_eq!(hits[0].course.id, first, "{query:?}: {:?}", ids(&hits));
            assert!(hits.iter().all(|h| h.score > 0.0));
            assert!(
                hits.windows(2).all(|w| w[0].score >= w[1].score),
                "{query:?} not sorted"
            );
        }
    }

    #[test]
    fn prefix_finds_several_while_typing() {
        let cat = catalog();
        let hits = cat.search_typing("dat", &CourseFilter::default(), 10);
        let found = ids(&hits);
        for id in ["sql", "db-internals", "algo"] {
            assert!(found.contains(&id.to_string()), "dat -> {found:?}");
        }
        assert_eq!(hits[0].matched, vec!["dat".to_string()]);
    }

    #[test]
    fn matched_words() {
        let cat = catalog();
        let hits = cat.search("python programming course", &CourseFilter::default(), 10);
        assert_eq!(hits[0].course.id, "python");
        // "course" asks for a course: left out of a query that names a subject.
        assert_eq!(hits[0].matched, vec!["python", "programming"]);
        let hits = cat.search("programming course", &CourseFilter::default(), 10);
        // Both list it as a topic; Python's summary says it too.
        assert_eq!(ids(&hits), ["python", "cpp"]);
        assert!(
            hits.iter().all(|h| h.matched == ["programming"]),
            "{hits:?}"
        );
        // Alone, it is all there is to search.
        let hits = cat.search("course", &CourseFilter::default(), 10);
        assert!(hits.iter().all(|h| h.matched == ["course"]), "{hits:?}");
        assert!(!hits.is_empty());
    }

    /// The traps of issue 14: a word never matches another word it begins or ends, nor a
    /// semester in a title; a phrase counts only whole.
    #[test]
    fn only_whole_words_and_whole_phrases_match() {
        use Level::*;
        let catalog = Catalog::new(
            vec![
                course(
                    "js",
                    "The Modern JavaScript Tutorial",
                    &["javascript"],
                    "javascript.info",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "java",
                    "Learn Java",
                    &["java"],
                    "Oracle",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "sre",
                    "Site Reliability Engineering",
                    &["sre"],
                    "Google",
                    Intermediate,
                    true,
                    None,
                ),
                course(
                    "tour",
                    "A Tour of Go",
                    &["go"],
                    "The Go Project",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "goat",
                    "Obey the Testing Goat",
                    &["testing"],
                    "O'Reilly",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "mit",
                    "MIT 6.005: Software Construction (Spring 2016)",
                    &["software design"],
                    "MIT",
                    Intermediate,
                    true,
                    None,
                ),
                course(
                    "boot",
                    "Building a RESTful Web Service",
                    &["java", "spring boot"],
                    "Spring",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "branch",
                    "Learn Git Branching",
                    &["git"],
                    "learngitbranching.js.org",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "ai",
                    "Elements of AI",
                    &["machine learning"],
                    "Helsinki",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "habits",
                    "Learning How to Learn",
                    &["learning", "study skills"],
                    "Coursera",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "ml-ops",
                    "Operations",
                    &["operations"],
                    "P",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "os",
                    "Operating Systems",
                    &["operating systems"],
                    "P",
                    Beginner,
                    true,
                    None,
                ),
            ],
            &[],
        );
        let f = CourseFilter::default();
        let rows: [(&str, &[&str]); 8] = [
            ("java", &["java", "boot"]),
            ("go", &["tour"]),
            ("spring boot", &["boot"]),
            ("2016", &[]),
            ("machine learning", &["ai"]),
            ("operating systems", &["os"]),
            ("learning how to learn", &["habits"]),
            ("any course on git?", &["branch"]),
        ];
        for (query, expected) in rows {
            let mut found = ids(&catalog.search(query, &f, 10));
            found.sort();
            let mut expected = expected.to_vec();
            expected.sort();
            assert_eq!(found, expected, "{query:?}");
            for hit in catalog.search(query, &f, 10) {
                for word in &hit.matched {
                    assert!(
                        catalog.is_whole_word_match(hit.course, word),
                        "{query:?} {word:?}"
                    );
                }
            }
        }
        // The check itself tells a fragment from a word.
        let js = catalog.get("js").unwrap();
        assert!(!catalog.is_whole_word_match(js, "java"));
        assert!(catalog.is_whole_word_match(js, "javascript"));
        assert!(
            catalog.is_whole_word_match(js, "javascrpit"),
            "a typo is not a fragment"
        );
        let mit = catalog.get("mit").unwrap();
        assert!(!catalog.is_whole_word_match(mit, "spring"));
    }

    #[test]
    fn aliases_read_as_their_terms_on_both_sides() {
        use Level::*;
        let aliases = [
            CourseAlias {
                term: "kubernetes".into(),
                aliases: vec!["k8s".into()],
                location: Location::default(),
            },
            CourseAlias {
                term: "gcp".into(),
                aliases: vec!["google cloud".into(), "google cloud platform".into()],
                location: Location::default(),
            },
            CourseAlias {
                term: "machine learning".into(),
                aliases: vec!["ml".into()],
                location: Location::default(),
            },
        ];
        let catalog = Catalog::new(
            vec![
                course(
                    "kube",
                    "Kubernetes Basics",
                    &["kubernetes"],
                    "CNCF",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "hard",
                    "The Hard Way",
                    &["k8s", "clusters"],
                    "GitHub",
                    Advanced,
                    true,
                    None,
                ),
                course(
                    "gcp",
                    "Skills Boost",
                    &["google cloud"],
                    "Google",
                    Beginner,
                    false,
                    None,
                ),
                course(
                    "ai",
                    "Elements of AI",
                    &["machine learning"],
                    "Helsinki",
                    Beginner,
                    true,
                    None,
                ),
            ],
            &aliases,
        );
        let f = CourseFilter::default();
        let rows: [(&str, &[&str]); 6] = [
            ("k8s", &["hard", "kube"]),
            ("kubernetes", &["hard", "kube"]),
            ("any gcp course?", &["gcp"]),
            ("google cloud platform", &["gcp"]),
            ("ml", &["ai"]),
            // A whole word of the provider ("Google").
            ("google", &["gcp"]),
        ];
        for (query, expected) in rows {
            let mut found = ids(&catalog.search(query, &f, 10));
            found.sort();
            assert_eq!(found, expected, "{query:?}");
        }
        assert_eq!(catalog.topic_words("any course on k8s?"), ["k8s"]);
        assert_eq!(
            catalog.topic_words("a google cloud course"),
            ["google cloud"]
        );
        assert_eq!(catalog.search("k8s", &f, 1)[0].matched, ["k8s"]);
    }

    #[test]
    fn level_and_price_words_filter_like_the_options() {
        let cat = catalog();
        let f = CourseFilter::default();
        let mut free = ids(&cat.search("free databases", &f, 10));
        free.sort();
        assert_eq!(free, ["db-internals", "sql"]);
        assert_eq!(
            ids(&cat.search("advanced databases", &f, 10)),
            ["db-internals"]
        );
        assert_eq!(
            ids(&cat.search("a beginner course on databases", &f, 10)),
            ["sql"]
        );
        // Only level words: every course of that level, by title.
        assert_eq!(
            ids(&cat.search("beginner", &f, 10)),
            ["cpp", "python", "sql"]
        );
        // Two levels ask for neither.
        assert_eq!(
            cat.search("beginner or advanced databases", &f, 10).len(),
            2
        );
        // The option's level wins over the words'; free from either.
        let option = CourseFilter {
            level: Some(Level::Advanced),
            free_only: false,
        };
        assert!(cat.search("beginner python", &option, 10).is_empty());
        assert_eq!(
            cat.filter_words("any free beginner course on go?"),
            CourseFilter {
                level: Some(Level::Beginner),
                free_only: true
            }
        );
        assert_eq!(
            cat.filter_words("any course on go?"),
            CourseFilter::default()
        );
    }

    /// Found in review: filler beside a filter word, phrases sharing a word, and a prefix
    /// given to a word that was not the one being typed.
    #[test]
    fn filters_phrases_and_typing_hold_in_any_order() {
        use Level::*;
        let catalog = Catalog::new(
            vec![
                course(
                    "mit",
                    "Distributed Systems",
                    &["distributed systems", "go"],
                    "MIT",
                    Advanced,
                    true,
                    None,
                ),
                course(
                    "primer",
                    "System Design Primer",
                    &["system design"],
                    "GitHub",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "writing",
                    "Technical Writing Course",
                    &["writing"],
                    "Google",
                    Beginner,
                    true,
                    None,
                ),
                course("paid", "Paid Thing", &["sql"], "P", Beginner, false, None),
                course(
                    "google",
                    "Google Cloud",
                    &["gcp"],
                    "Google",
                    Beginner,
                    true,
                    None,
                ),
            ],
            &[],
        );
        let f = CourseFilter::default();
        // "a free course" lists the free courses, not those whose text says "course".
        let mut free = ids(&catalog.search("recommend me a free course", &f, 10));
        free.sort();
        assert_eq!(free, ["google", "mit", "primer", "writing"]);
        for query in [
            "distributed systems and system design",
            "system design and distributed systems",
        ] {
            let mut found = ids(&catalog.search(query, &f, 10));
            found.sort();
            assert_eq!(found, ["mit", "primer"], "{query}");
        }
        // "go free": the word being typed is "free", a filter word; "go" is whole.
        assert_eq!(ids(&catalog.search_typing("go free", &f, 10)), ["mit"]);
        assert_eq!(ids(&catalog.search_typing("goo", &f, 10)), ["google"]);
        assert!(catalog.search_typing("goo free", &f, 10).is_empty());
    }

    #[test]
    fn a_course_main_subject_ranks_first_and_side_matches_are_left_out() {
        use Level::*;
        let catalog = Catalog::new(
            vec![
                course(
                    "web",
                    "Web Programming",
                    &["web", "python", "javascript", "testing"],
                    "Harvard",
                    Beginner,
                    true,
                    None,
                ),
                course(
                    "pyramid",
                    "The Practical Test Pyramid",
                    &["testing", "unit tests"],
                    "Fowler",
                    Intermediate,
                    true,
                    None,
                ),
                course(
                    "other",
                    "Other",
                    &["python"],
                    "P",
                    Beginner,
                    true,
                    Some("Has a testing chapter."),
                ),
            ],
            &[],
        );
        let hits = catalog.search("testing", &CourseFilter::default(), 10);
        assert_eq!(ids(&hits), ["pyramid", "web"], "{hits:?}");
    }

    #[test]
    fn common_words_count_little() {
        let cat = catalog();
        let hits = cat.search("course on linux", &CourseFilter::default(), 10);
        assert_eq!(hits[0].course.id, "os");
        let os = hits[0].score;
        assert!(hits[1..].iter().all(|h| h.score < os / 2.0), "{hits:?}");
    }

    #[test]
    fn filters() {
        let cat = catalog();
        let beginner = CourseFilter {
            level: Some(Level::Beginner),
            free_only: false,
        };
        let free = CourseFilter {
            level: None,
            free_only: true,
        };
        let free_adv = CourseFilter {
            level: Some(Level::Advanced),
            free_only: true,
        };
        let paid_only_level = CourseFilter {
            level: Some(Level::Advanced),
            free_only: false,
        };
        let rows: &[(&str, CourseFilter, &[&str])] = &[
            ("programming", beginner, &["cpp", "python"]),
            ("programming", free, &[]),
            ("databases", free, &["db-internals", "sql"]),
            ("databases", free_adv, &["db-internals"]),
            ("python", paid_only_level, &[]),
            ("", beginner, &["cpp", "python", "sql"]),
            ("", free, &["db-internals", "os", "sql"]),
        ];
        for (query, filter, expected) in rows {
            let mut found = ids(&cat.search(query, filter, 10));
            found.sort();
            assert_eq!(found, *expected, "{query:?} {filter:?}");
        }
    }

    #[test]
    fn empty_query_lists_all_by_title() {
        let cat = catalog();
        for query in ["", "   ", "???", "<@123> <#456>", "the", "```code```"] {
            let hits = cat.search(query, &CourseFilter::default(), 100);
            assert_eq!(
                ids(&hits),
                ["algo", "cpp", "db-internals", "os", "python", "sql"],
                "{query:?}"
            );
            assert!(hits.iter().all(|h| h.score == 1.0 && h.matched.is_empty()));
        }
        assert_eq!(cat.search("", &CourseFilter::default(), 2).len(), 2);
        assert!(cat.search("", &CourseFilter::default(), 0).is_empty());
    }

    #[test]
    fn no_match_returns_nothing() {
        let cat = catalog();
        for query in [
            "kubernetes",
            "zzzz qqqq",
            "x",
            "quantum chromodynamics",
            "12345",
        ] {
            assert!(
                cat.search(query, &CourseFilter::default(), 10).is_empty(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn limit_and_ties() {
        let cat = catalog();
        let hits = cat.search("programming", &CourseFilter::default(), 1);
        assert_eq!(ids(&hits), ["python"]);
        // Same score: ties broken by title ("Algorithms, Part I" < "Python for Everybody").
        let hits = cat.search("coursera", &CourseFilter::default(), 10);
        assert_eq!(ids(&hits), ["algo", "python"]);
        assert_eq!(hits[0].score, hits[1].score);
    }

    #[test]
    fn get_and_courses() {
        let cat = catalog();
        assert_eq!(cat.courses().len(), 6);
        assert_eq!(
            cat.get("os").map(|c| c.title.as_str()),
            Some("Operating Systems: Three Easy Pieces")
        );
        assert!(cat.get("nope").is_none());
        let empty = Catalog::new(Vec::new(), &[]);
        assert!(empty.search("sql", &CourseFilter::default(), 10).is_empty());
        assert!(empty.search("", &CourseFilter::default(), 10).is_empty());
    }

    #[test]
    fn hostile_queries_do_not_panic() {
        let cat = catalog();
        let long = "sql ".repeat(50_000);
        let many: String = (0..3000).map(|i| format!("w{i} ")).collect();
        let lossy =
            String::from_utf8_lossy(&[0xff, 0xfe, b's', b'q', b'l', 0x00, 0xc3]).into_owned();
        for query in [
            long.as_str(),
            many.as_str(),
            lossy.as_str(),
            "\0\0\0",
            "😀🎉",
            "مرحبا بالعالم",
            "שלום",
            "<",
            "```unterminated",
            "[a](http",
            "c#+",
            "ﬁ",
            "ＳＱＬ",
        ] {
            let hits = cat.search(query, &CourseFilter::default(), 10);
            assert!(hits.len() <= 10);
        }
        assert_eq!(
            cat.search("ＳＱＬ", &CourseFilter::default(), 10)[0]
                .course
                .id,
            "sql"
        );
        assert_eq!(
            cat.search(&long, &CourseFilter::default(), 10)[0].course.id,
            "sql"
        );
    }

    #[test]
    fn topic_words_name_one_word_topics_and_whole_phrases_typos_included() {
        let catalog = Catalog::new(
            vec![
                course(
                    "os",
                    "OS",
                    &["operating systems", "linux"],
                    "P",
                    Level::Beginner,
                    true,
                    None,
                ),
                course(
                    "web",
                    "Web",
                    &["learning path", "cookies"],
                    "P",
                    Level::Beginner,
                    true,
                    None,
                ),
                course(
                    "db",
                    "Databases",
                    &["databases"],
                    "P",
                    Level::Beginner,
                    true,
                    None,
                ),
            ],
            &[],
        );
        let cases: [(&str, &[&str]); 9] = [
            ("any course on operating systems", &["operating", "systems"]),
            // Named once however often the question repeats it (found by fuzzing).
            ("a course on linux linux and more linux", &["linux"]),
            (
                "operating systems course, operating systems please",
                &["operating", "systems"],
            ),
            ("a course on operating sytems", &["operating", "sytems"]),
            ("a course on linux", &["linux"]),
            // Part of a phrase topic names nothing.
            ("course about systems", &[]),
            ("best course for learning french", &[]),
            // A typo of a spelling or a long stem, but not of a short stem.
            ("recommend a databse course", &["databse"]),
            ("where can i take a cooking class", &[]),
        ];
        for (question, expected) in cases {
            assert_eq!(catalog.topic_words(question), expected, "{question}");
        }
    }
}
