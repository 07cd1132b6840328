//! Turning a question into the sparse feature vector the matcher scores.
//!
//! The pipeline is the same for training examples and for questions: clean the text, split
//! into words, map synonyms to their canonical word, correct unknown words (questions only),
//! stem, mark the words of lookup classes, then emit three blocks of TF-IDF features: word
//! stems, pairs of adjacent stems and character n-grams of each word. Character n-grams are
//! what make the matcher tolerant of spelling and inflection; the typo index adds the exact
//! word back when a typo is close to exactly one known word. Features are hashed to `u64` so no n-gram string is ever built.
//!
//! Lookup classes (`lookups.toml`) are marked after everything else, on the words with
//! their plural endings folded, so an entry matches its plural ("registered nurses" for the
//! entry "registered nurse") but not other forms that stem alike ("account" is no
//! "accountant"): the entries went through the same steps when the featurizer was built. A marked phrase keeps its own features and adds its class's token (`<class>`) as
//! a word, paired with the stems on either side as if it stood in the phrase's place. The
//! token holds `<` and `>`, which [`words`] never leaves in a word, so no question can
//! type it.

use std::hash::{Hash, Hasher};

use rustc_hash::{FxHashMap, FxHashSet, FxHasher};

use super::english;
use super::intents::{Lookup, Synonym};
use super::normalize::{clean, is_stop_word, singular, stem, words};

/// Smallest and largest character n-gram, counted on the word padded with a space each side.
const CHAR_NGRAMS: std::ops::RangeInclusive<usize> = 3..=5;

/// Shortest synonym variant the typo index corrects to.
const MIN_VARIANT_TARGET: usize = 6;

/// Which block a feature belongs to; each block is L2-normalized on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
enum Block {
    Word = 0,
    Pair = 1,
    Chars = 2,
}
const BLOCKS: usize = 3;

/// A sparse feature vector: `(feature id, weight)`, each block L2-normalized.
pub type SparseVec = Vec<(u32, f32)>;

/// A question after the word-level steps, kept for explanations and keyword matching.
#[derive(Debug, Clone, Default)]
pub struct Analysis {
    /// The cleaned text (markup removed, case folded); regex patterns run on it.
    pub cleaned: String,
    /// Stems of the words, after synonyms and typo correction, in order.
    pub stems: Vec<String>,
    /// `(typed word, known word)` for every typo corrected.
    pub corrections: Vec<(String, String)>,
    /// `(typed word or phrase, canonical word)` for every synonym applied.
    pub synonyms: Vec<(String, String)>,
    /// How many words are not stop words ...
    pub content_words: usize,
    /// ... their stems ...
    pub content_stems: Vec<String>,
    /// ... and those of them no example contains (after synonyms and typo correction),
    /// words of a lookup class that some example names excepted.
    pub unknown_words: Vec<String>,
    /// Per content word (same order as `content_stems`), the token of the lookup class
    /// that marked it, if any.
    pub content_classes: Vec<Option<String>>,
    /// The lookup classes found in the question, in order, each once.
    pub classes: Vec<String>,
}

/// Lookup phrases (stems) keyed by their first stem, longest first, with their class.
type LookupPhrases = FxHashMap<String, Vec<(Vec<String>, u32)>>;

/// The lookup classes, ready to mark stems.
#[derive(Debug, Clone, Default)]
struct LookupTable {
    /// Class names, by class number.
    names: Vec<String>,
    /// Class tokens (`<name>`), by class number.
    tokens: Vec<String>,
    phrases: LookupPhrases,
    /// Every word of every entry, without plural endings: such a word is never taken for a
    /// typo.
    words: FxHashSet<String>,
    /// Per class, whether some example names it: the token of a class no example names
    /// is no evidence, and would only dilute a question's features.
    known: Vec<bool>,
}

/// Where a class marks a question: stems `start..end` belong to class `class`.
#[derive(Debug, Clone, Copy)]
struct Mark {
    start: usize,
    end: usize,
    class: u32,
}

/// Multi-word synonym variants, longest first, keyed by their first word.
type PhraseTable = FxHashMap<String, Vec<(Vec<String>, Vec<String>)>>;

/// Everything learned from the training examples that feature extraction needs.
#[derive(Debug, Clone)]
pub struct Featurizer {
    /// Feature hash -> dense id.
    ids: FxHashMap<u64, u32>,
    /// Inverse document frequency per feature id.
    idf: Vec<f32>,
    /// The IDF a feature seen in no example would have.
    unknown_idf: f32,
    /// Readable names of word and pair features, for explanations.
    names: FxHashMap<u32, String>,
    /// Variant word sequence -> canonical words.
    phrases: PhraseTable,
    /// Deletion index for typo correction: a word, and the word with any one character
    /// deleted -> indexes into `typo_targets`.
    deletions: FxHashMap<String, Vec<u32>>,
    /// Words the deletion index points into, with their training frequency.
    typo_targets: Vec<(String, u32)>,
    /// Stem of every word seen in training (after synonyms). Stemming is the costliest
    /// step per word, and a word found here is known: never a typo.
    stems: FxHashMap<String, String>,
    lookups: LookupTable,
}

/// Settings for the typo index.
#[derive(Debug, Clone, Copy)]
pub struct TypoSettings {
    /// Words shorter than this are never corrected (too many near neighbours).
    pub min_len: usize,
    /// Largest edit distance (optimal string alignment) accepted for a correction.
    pub max_distance: usize,
}

impl Featurizer {
    /// Learns vocabulary, IDF and the typo index from the training texts, and returns
    /// each text's feature vector (computed once, from the same analysis).
    pub fn fit<'a>(
        texts: impl IntoIterator<Item = &'a str>,
        synonyms: &[Synonym],
        lookups: &[Lookup],
    ) -> (Featurizer, Vec<SparseVec>) {
        let mut featurizer = Featurizer {
            ids: FxHashMap::default(),
            idf: Vec::new(),
            unknown_idf: 1.0,
            names: FxHashMap::default(),
            phrases: phrase_table(synonyms),
            deletions: FxHashMap::default(),
            typo_targets: Vec::new(),
            stems: FxHashMap::default(),
            lookups: LookupTable::default(),
        };
        // Entries go through the question's own steps (synonyms, stems), with the
        // synonyms in place and no class yet.
        featurizer.lookups = featurizer.lookup_table(lookups);
        let mut df: Vec<u32> = Vec::new();
        let mut word_freq: FxHashMap<String, u32> = FxHashMap::default();
        // Per text: (feature id, block, occurrences).
        let mut counted: Vec<Vec<(u32, Block, u32)>> = Vec::new();
        let mut raw = Vec::new();
        for text in texts {
            let words = featurizer.analyze_words(text, None);
            for word in &words.surface {
                *word_freq.entry(word.clone()).or_default() += 1;
            }
            raw.clear();
            emit_features(&words.surface, &words.analysis.stems, &mut raw);
            let tokens = &featurizer.lookups.tokens;
            let marked = mark_units(&words.analysis.stems, &words.marks, tokens);
            emit_marks(&marked, &mut raw);
            raw.sort_unstable_by_key(|&(hash, _)| hash);
            let mut features = Vec::with_capacity(raw.len());
            for run in raw.chunk_by(|a, b| a.0 == b.0) {
                let (hash, block) = run[0];
                let next = featurizer.ids.len() as u32;
                let id = *featurizer.ids.entry(hash).or_insert(next);
                if id as usize == df.len() {
                    df.push(0);
                    if block != Block::Chars {
                        let name = feature_name(block, hash, &words.analysis.stems, &marked);
                        featurizer.names.insert(id, name);
                    }
                }
                df[id as usize] += 1;
                features.push((id, block, run.len() as u32));
            }
            counted.push(features);
            for (word, stem) in words.surface.into_iter().zip(words.analysis.stems) {
                featurizer.stems.entry(word).or_insert(stem);
            }
        }
        let n = counted.len() as f32;
        featurizer.idf = df
            .iter()
            .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        featurizer.unknown_idf = (1.0 + n).ln() + 1.0;
        // A class token stands for rare words (each job is named by few examples), but is
        // itself in many: its document frequency would make it weigh like a common word.
        // It weighs as the rarest word does, as the words it stands for would.
        for token in &featurizer.lookups.tokens {
            if let Some(id) = featurizer.word_id(token) {
                featurizer.idf[id as usize] = featurizer.unknown_idf;
            }
        }
        // One-word synonym variants are words too: "mastres" is a typo of the variant
        // "masters" though the examples' "masters" became its canonical "master". A variant
        // counts as often as its canonical word, and only when that word is known and the
        // variant has `MIN_VARIANT_TARGET` letters: short ones are mostly abbreviations
        // ("meng", "ppl"), one edit away from too many ordinary words ("menu").
        for entries in featurizer.phrases.values() {
            for (variant, canonical) in entries {
                if let ([variant], [canonical]) = (variant.as_slice(), canonical.as_slice()) {
                    if variant.chars().count() < MIN_VARIANT_TARGET {
                        continue;
                    }
                    if let Some(&freq) = word_freq.get(canonical) {
                        word_freq.entry(variant.clone()).or_insert(freq);
                    }
                }
            }
        }
        featurizer.index_typo_targets(word_freq);
        featurizer.lookups.known = (featurizer.lookups.tokens.iter())
            .map(|token| featurizer.word_id(token).is_some())
            .collect();
        let vectors = counted
            .into_iter()
            .map(|features| {
                let known = features
                    .into_iter()
                    .map(|(id, block, n)| (Some(id), block, n));
                featurizer.weigh(known)
            })
            .collect();
        (featurizer, vectors)
    }

    /// Number of distinct features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// Readable name of a word or pair feature (`None` for character n-grams).
    pub fn name(&self, id: u32) -> Option<&str> {
        self.names.get(&id).map(String::as_str)
    }

    /// The feature id of a stem as a word, when some example has it.
    pub fn word_id(&self, stem: &str) -> Option<u32> {
        self.ids
            .get(&hash_of(Block::Word, |h| stem.hash(h)))
            .copied()
    }

    /// Stems of a short text (a keyword) after synonyms, as questions are stemmed.
    pub fn stems_of(&self, text: &str) -> Vec<String> {
        self.analyze_words(text, None).analysis.stems
    }

    /// Features of a question, with the analysis used to explain the decision.
    pub fn vectorize_question(&self, text: &str, typos: TypoSettings) -> (SparseVec, Analysis) {
        let words = self.analyze_words(text, Some(typos));
        let vector = self.vectorize(&words);
        (vector, words.analysis)
    }

    fn vectorize(&self, words: &Words) -> SparseVec {
        let (surface, stems) = (&words.surface, &words.analysis.stems);
        let mut raw = Vec::with_capacity(surface.len() * 16);
        let known: Vec<Mark> = (words.marks.iter())
            .filter(|m| self.lookups.known[m.class as usize])
            .copied()
            .collect();
        // A word of a known class that no example uses stands for its class alone: its own
        // features would all be unknown, and unknown features dilute the rest (the class
        // token among them), so a job the examples never name would weigh less than one
        // they do.
        let mut unseen = vec![false; stems.len()];
        for mark in &known {
            for i in mark.start..mark.end {
                unseen[i] = self.word_id(&stems[i]).is_none();
            }
        }
        if unseen.contains(&true) {
            let kept = || (0..stems.len()).filter(|&i| !unseen[i]);
            let surface: Vec<String> = kept().map(|i| surface[i].clone()).collect();
            let stems: Vec<String> = kept().map(|i| stems[i].clone()).collect();
            emit_features(&surface, &stems, &mut raw);
        } else {
            emit_features(surface, stems, &mut raw);
        }
        if !known.is_empty() {
            let marked = mark_units(stems, &known, &self.lookups.tokens);
            emit_marks(&marked, &mut raw);
        }
        raw.sort_unstable_by_key(|&(hash, _)| hash);
        let counted = raw.chunk_by(|a, b| a.0 == b.0).map(|run| {
            let (hash, block) = run[0];
            (self.ids.get(&hash).copied(), block, run.len() as u32)
        });
        self.weigh(counted)
    }

    /// TF-IDF weights of counted features `(id, block, occurrences)`, each block scaled by
    /// [`block_scales`]. A feature with no id (seen in no example) carries no score but
    /// still counts in the norm, so words the intents never use dilute the rest: "what is
    /// the weather" must not look exactly like "what is".
    fn weigh(&self, counted: impl IntoIterator<Item = (Option<u32>, Block, u32)>) -> SparseVec {
        let mut norms = [0f32; BLOCKS];
        let mut vector: SparseVec = Vec::new();
        let mut blocks: Vec<Block> = Vec::new();
        for (id, block, occurrences) in counted {
            let idf = id.map_or(self.unknown_idf, |id| self.idf[id as usize]);
            let weight = (1.0 + (occurrences as f32).ln()) * idf;
            norms[block as usize] += weight * weight;
            if let Some(id) = id {
                vector.push((id, weight));
                blocks.push(block);
            }
        }
        let scale = block_scales(norms);
        for ((_, weight), block) in vector.iter_mut().zip(blocks) {
            *weight *= scale[block as usize];
        }
        vector
    }

    /// Clean, split, apply synonyms, optionally correct typos, stem.
    fn analyze_words(&self, text: &str, typos: Option<TypoSettings>) -> Words {
        let cleaned = clean(text);
        let tokens: Vec<&str> = words(&cleaned);
        let mut analysis = Analysis::default();
        let mut surface: Vec<String> = Vec::with_capacity(tokens.len());
        let mut i = 0;
        while i < tokens.len() {
            if let Some((used, canonical)) = self.match_phrase(&tokens[i..]) {
                analysis
                    .synonyms
                    .push((tokens[i..i + used].join(" "), canonical.join(" ")));
                surface.extend(canonical.iter().cloned());
                i += used;
                continue;
            }
            let word = tokens[i];
            i += 1;
            // A word seen in training, or another form of a known stem ("databases" when
            // the examples say "database"), is not a typo.
            // Nor is a word of a lookup entry ("pharmacist", in no example).
            let fixed = match typos {
                Some(settings) if !self.stems.contains_key(word) && !self.known_or_listed(word) => {
                    self.correct(word, settings)
                }
                _ => None,
            };
            match fixed {
                Some(fixed) => {
                    analysis
                        .corrections
                        .push((word.to_owned(), fixed.to_owned()));
                    // A corrected word may itself be a synonym variant.
                    match self.match_phrase(&[fixed]) {
                        Some((_, canonical)) => surface.extend(canonical.iter().cloned()),
                        None => surface.push(fixed.to_owned()),
                    }
                }
                None => surface.push(word.to_owned()),
            }
        }
        let mut stems = Vec::with_capacity(surface.len());
        let mut known = Vec::with_capacity(surface.len());
        for word in &surface {
            let (stem, is_known) = match self.stems.get(word) {
                Some(known) => (known.clone(), true),
                None => {
                    let stem = stem(word).into_owned();
                    let known = self.word_id(&stem).is_some();
                    (stem, known)
                }
            };
            stems.push(stem);
            known.push(is_known);
        }
        let marks = self.lookups.mark(&singulars(&surface));
        // Per word, the class marking it (a class token no example has is no evidence).
        let mut class_of: Vec<Option<u32>> = Vec::new();
        if !marks.is_empty() {
            class_of = vec![None; stems.len()];
            for mark in &marks {
                class_of[mark.start..mark.end].fill(Some(mark.class));
                let name = &self.lookups.names[mark.class as usize];
                if !analysis.classes.contains(name) {
                    analysis.classes.push(name.clone());
                }
            }
        }
        for (i, word) in surface.iter().enumerate() {
            if is_stop_word(word) {
                continue;
            }
            let class = class_of.get(i).copied().flatten();
            let token = class.map(|c| &self.lookups.tokens[c as usize]);
            // While fitting, `known` is not filled yet (and not needed).
            let class_known =
                class.is_some_and(|c| self.lookups.known.get(c as usize) == Some(&true));
            analysis.content_words += 1;
            analysis.content_stems.push(stems[i].clone());
            analysis.content_classes.push(token.cloned());
            // A number ("3rd", "2025", "70k") says nothing about the topic, so it is
            // no sign of a question outside the examples either.
            let number = word.bytes().any(|b| b.is_ascii_digit());
            if !known[i] && !class_known && !number {
                analysis.unknown_words.push(word.clone());
            }
        }
        analysis.cleaned = cleaned;
        analysis.stems = stems;
        Words {
            surface,
            analysis,
            marks,
        }
    }

    /// Whether some example has the stem of `word`, or some lookup entry has the word.
    fn known_or_listed(&self, word: &str) -> bool {
        self.word_id(&stem(word)).is_some() || self.lookups.words.contains(singular(word).as_ref())
    }

    /// The lookup classes with their entries normalized as questions are (synonyms), their
    /// words without plural endings ([`singular`]); the first class listing a phrase keeps
    /// it (the loader refuses a phrase in two classes, but synonyms may still make two
    /// entries one).
    fn lookup_table(&self, lookups: &[Lookup]) -> LookupTable {
        let mut table = LookupTable::default();
        let mut seen: FxHashSet<Vec<String>> = FxHashSet::default();
        for (class, lookup) in lookups.iter().enumerate() {
            table.names.push(lookup.class.clone());
            table.tokens.push(format!("<{}>", lookup.class));
            for entry in &lookup.entries {
                let words = singulars(&self.analyze_words(entry, None).surface);
                if words.is_empty() || !seen.insert(words.clone()) {
                    continue;
                }
                table.words.extend(words.iter().cloned());
                table
                    .phrases
                    .entry(words[0].clone())
                    .or_default()
                    .push((words, class as u32));
            }
        }
        for list in table.phrases.values_mut() {
            list.sort_by_key(|(phrase, _)| std::cmp::Reverse(phrase.len()));
        }
        table
    }

    /// The longest synonym variant starting at `tokens[0]`: (tokens used, canonical words).
    fn match_phrase(&self, tokens: &[&str]) -> Option<(usize, &[String])> {
        if self.phrases.is_empty() {
            return None;
        }
        let candidates = self.phrases.get(*tokens.first()?)?;
        candidates.iter().find_map(|(variant, canonical)| {
            let n = variant.len();
            let matches = tokens.len() >= n && variant.iter().zip(tokens).all(|(v, t)| v == t);
            matches.then_some((n, canonical.as_slice()))
        })
    }

    fn index_typo_targets(&mut self, word_freq: FxHashMap<String, u32>) {
        let mut targets: Vec<(String, u32)> = word_freq
            .into_iter()
            .filter(|(w, _)| w.chars().all(char::is_alphabetic))
            .collect();
        targets.sort_unstable();
        for (index, (word, _)) in targets.iter().enumerate() {
            for key in std::iter::once(word.clone()).chain(deletion_keys(word)) {
                self.deletions.entry(key).or_default().push(index as u32);
            }
        }
        self.typo_targets = targets;
    }

    /// A known word within `max_distance` edits of an unknown `word`, found through the
    /// deletion index (symmetric delete): closest first, then the most frequent. An English
    /// word is never a typo, even one no example uses ("hate" is not "have").
    fn correct(&self, word: &str, settings: TypoSettings) -> Option<&str> {
        let len = word.chars().count();
        if len < settings.min_len
            || self.stems.contains_key(word)
            || !word.chars().all(char::is_alphabetic)
            || english::is_word(word)
        {
            return None;
        }
        let max = if len >= 8 {
            settings.max_distance
        } else {
            settings.max_distance.min(1)
        };
        let mut best: Option<(usize, u32, &str)> = None;
        let mut seen: FxHashSet<u32> = FxHashSet::default();
        for key in std::iter::once(word.to_owned()).chain(deletion_keys(word)) {
            let Some(list) = self.deletions.get(&key) else {
                continue;
            };
            for &index in list {
                if !seen.insert(index) {
                    continue;
                }
                let (candidate, freq) = &self.typo_targets[index as usize];
                let distance = strsim::osa_distance(word, candidate);
                if distance == 0 || distance > max {
                    continue;
                }
                let better = match best {
                    None => true,
                    Some((d, f, _)) => distance < d || (distance == d && *freq > f),
                };
                if better {
                    best = Some((distance, *freq, candidate));
                }
            }
        }
        best.map(|(_, _, word)| word)
    }
}

/// `words` without their plural endings, as lookup entries are matched.
fn singulars(words: &[String]) -> Vec<String> {
    words.iter().map(|w| singular(w).into_owned()).collect()
}

/// Words after the word-level steps: surface forms (for character n-grams) and the
/// analysis, which holds the stems.
struct Words {
    surface: Vec<String>,
    analysis: Analysis,
    /// The lookup phrases found in the stems, in order, none overlapping.
    marks: Vec<Mark>,
}

impl LookupTable {
    /// The phrases of `stems` that belong to a class: from left to right, the longest
    /// phrase starting at each stem, the next search starting after it. One map lookup a
    /// stem plus the phrases sharing its first stem: linear in the question.
    fn mark(&self, stems: &[String]) -> Vec<Mark> {
        let mut marks = Vec::new();
        if self.phrases.is_empty() {
            return marks;
        }
        let mut i = 0;
        while i < stems.len() {
            let found = self.phrases.get(&stems[i]).and_then(|candidates| {
                candidates.iter().find(|(phrase, _)| {
                    stems.len() - i >= phrase.len()
                        && phrase.iter().zip(&stems[i..]).all(|(p, s)| p == s)
                })
            });
            match found {
                Some((phrase, class)) => {
                    marks.push(Mark {
                        start: i,
                        end: i + phrase.len(),
                        class: *class,
                    });
                    i += phrase.len();
                }
                None => i += 1,
            }
        }
        marks
    }
}

/// The word and pair units a class mark adds: its token, and the token paired with the
/// stems before and after the phrase.
struct MarkedUnits<'a> {
    words: Vec<&'a str>,
    pairs: Vec<(&'a str, &'a str)>,
}

fn mark_units<'a>(stems: &'a [String], marks: &[Mark], tokens: &'a [String]) -> MarkedUnits<'a> {
    let mut units = MarkedUnits {
        words: Vec::with_capacity(marks.len()),
        pairs: Vec::with_capacity(2 * marks.len()),
    };
    for mark in marks {
        let token = tokens[mark.class as usize].as_str();
        units.words.push(token);
        if let Some(before) = mark.start.checked_sub(1) {
            units.pairs.push((stems[before].as_str(), token));
        }
        if let Some(after) = stems.get(mark.end) {
            units.pairs.push((token, after.as_str()));
        }
    }
    units
}

/// Emits `(hash, block)` for the units of the class marks, hashed as stems and pairs are.
fn emit_marks(units: &MarkedUnits<'_>, out: &mut Vec<(u64, Block)>) {
    for word in &units.words {
        out.push((hash_of(Block::Word, |h| word.hash(h)), Block::Word));
    }
    for (a, b) in &units.pairs {
        let hash = hash_of(Block::Pair, |h| {
            a.hash(h);
            b.hash(h);
        });
        out.push((hash, Block::Pair));
    }
}

/// Per-block scale factors: each non-empty block gets unit norm divided by the square root
/// of the number of non-empty blocks, so the whole vector has unit norm.
fn block_scales(norms: [f32; BLOCKS]) -> [f32; BLOCKS] {
    let present = norms.iter().filter(|&&n| n > 0.0).count().max(1) as f32;
    norms.map(|n| {
        if n > 0.0 {
            1.0 / (n * present).sqrt()
        } else {
            0.0
        }
    })
}

fn phrase_table(synonyms: &[Synonym]) -> PhraseTable {
    let mut table: PhraseTable = FxHashMap::default();
    for synonym in synonyms {
        let canonical: Vec<String> = split_words(&synonym.canonical);
        for variant in &synonym.variants {
            let variant = split_words(variant);
            if variant.is_empty() || variant == canonical {
                continue;
            }
            table
                .entry(variant[0].clone())
                .or_default()
                .push((variant, canonical.clone()));
        }
    }
    for list in table.values_mut() {
        list.sort_by_key(|(variant, _)| std::cmp::Reverse(variant.len()));
    }
    table
}

fn split_words(text: &str) -> Vec<String> {
    words(&clean(text)).into_iter().map(str::to_owned).collect()
}

/// Every string made by deleting one character of `word`.
fn deletion_keys(word: &str) -> impl Iterator<Item = String> + '_ {
    word.char_indices().map(move |(at, ch)| {
        let mut key = String::with_capacity(word.len());
        key.push_str(&word[..at]);
        key.push_str(&word[at + ch.len_utf8()..]);
        key
    })
}

fn hash_of(block: Block, parts: impl FnOnce(&mut FxHasher)) -> u64 {
    let mut hasher = FxHasher::default();
    (block as u8).hash(&mut hasher);
    parts(&mut hasher);
    hasher.finish()
}

/// Emits `(hash, block)` for every feature occurrence of a word sequence.
fn emit_features(surface: &[String], stems: &[String], out: &mut Vec<(u64, Block)>) {
    for stem in stems {
        out.push((hash_of(Block::Word, |h| stem.hash(h)), Block::Word));
    }
    for pair in stems.windows(2) {
        out.push((
            hash_of(Block::Pair, |h| {
                pair[0].hash(h);
                pair[1].hash(h);
            }),
            Block::Pair,
        ));
    }
    let mut chars: Vec<char> = Vec::with_capacity(32);
    for word in surface {
        chars.clear();
        chars.push(' ');
        chars.extend(word.chars());
        chars.push(' ');
        for n in CHAR_NGRAMS {
            for gram in chars.windows(n) {
                out.push((hash_of(Block::Chars, |h| gram.hash(h)), Block::Chars));
            }
        }
    }
}

/// The readable name of a word or pair feature, found by re-hashing the example's stems
/// and its class marks' units.
fn feature_name(block: Block, hash: u64, stems: &[String], marked: &MarkedUnits<'_>) -> String {
    let words = stems
        .iter()
        .map(String::as_str)
        .chain(marked.words.iter().copied());
    let pairs = stems
        .windows(2)
        .map(|p| (p[0].as_str(), p[1].as_str()))
        .chain(marked.pairs.iter().copied());
    let pair_hash = |(a, b): (&str, &str)| {
        hash_of(Block::Pair, |h| {
            a.hash(h);
            b.hash(h);
        })
    };
    match block {
        Block::Word => words
            .into_iter()
            .find(|s| hash_of(Block::Word, |h| s.hash(h)) == hash)
            .unwrap_or_default()
            .to_owned(),
        Block::Pair => pairs
            .into_iter()
            .find(|&p| pair_hash(p) == hash)
            .map(|(a, b)| format!("{a} {b}"))
            .unwrap_or_default(),
        Block::Chars => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TYPOS: TypoSettings = TypoSettings {
        min_len: 4,
        max_distance: 2,
    };

    fn featurizer(examples: &[&str]) -> Featurizer {
        Featurizer::fit(examples.iter().copied(), &[], &[]).0
    }

    #[test]
    fn typos_are_corrected_but_other_forms_of_known_words_are_not() {
        let f = featurizer(&["what is a database", "how do servers work"]);
        let cases = [
            ("databse", vec![("databse", "database")]),
            ("databases", vec![]), // same stem as "database": not a typo
            ("servers", vec![]),
            ("pizza", vec![]), // nothing close
        ];
        for (question, expected) in cases {
            let (_, analysis) = f.vectorize_question(question, TYPOS);
            let expected: Vec<(String, String)> = expected
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect();
            assert_eq!(analysis.corrections, expected, "{question}");
        }
    }

    #[test]
    fn english_words_are_never_corrected_but_typos_still_are() {
        let f = featurizer(&[
            "what courses have an intro to backend",
            "is it quite hard to become an engineer",
            "which skills does a backend engineer need",
        ]);
        // Each is one edit from a word of the examples, and a word itself.
        for real in ["hate", "quote", "nitro"] {
            let (_, analysis) = f.vectorize_question(&format!("i {real} it"), TYPOS);
            assert!(analysis.corrections.is_empty(), "{real}: {analysis:?}");
            assert_eq!(analysis.unknown_words, [real]);
        }
        for (typo, meant) in [
            ("enginer", "engineer"),
            ("bakend", "backend"),
            ("skils", "skills"),
        ] {
            // Read as the word meant: corrected, or already of its stem ("enginer").
            let (_, analysis) = f.vectorize_question(&format!("which {typo}"), TYPOS);
            assert!(analysis.unknown_words.is_empty(), "{typo}: {analysis:?}");
            assert_eq!(analysis.stems[1], stem(meant), "{typo}");
        }
        let (_, analysis) = f.vectorize_question("bakend skils", TYPOS);
        let pairs = [("bakend", "backend"), ("skils", "skills")];
        let pairs = pairs.map(|(a, b)| (a.to_owned(), b.to_owned()));
        assert_eq!(analysis.corrections, pairs);
    }

    fn synonym(canonical: &str, variant: &str) -> Synonym {
        Synonym {
            canonical: canonical.to_owned(),
            variants: vec![variant.to_owned()],
            location: Default::default(),
        }
    }

    #[test]
    fn a_typo_of_a_synonym_variant_is_corrected_to_its_canonical_word() {
        let (f, _) = Featurizer::fit(
            ["do i need a masters degree"],
            &[synonym("master", "masters")],
            &[],
        );
        let (_, analysis) = f.vectorize_question("do i need a mastres", TYPOS);
        let pair = ("mastres".to_owned(), "masters".to_owned());
        assert_eq!(analysis.corrections, [pair]);
        assert!(
            analysis.stems.contains(&"master".to_owned()),
            "{analysis:?}"
        );
        assert!(analysis.unknown_words.is_empty(), "{analysis:?}");
        // A short variant (an abbreviation, most likely) is never a correction.
        let (f, _) = Featurizer::fit(["is an msc worth it"], &[synonym("msc", "meng")], &[]);
        let (_, analysis) = f.vectorize_question("show the menu", TYPOS);
        assert!(analysis.corrections.is_empty(), "{analysis:?}");
    }

    #[test]
    fn unknown_words_dilute_the_vector_and_are_reported() {
        let f = featurizer(&["what is a database", "how do servers work"]);
        let (known, _) = f.vectorize_question("what is a database", TYPOS);
        let (diluted, analysis) = f.vectorize_question("what is a database recipe", TYPOS);
        let norm = |v: &SparseVec| v.iter().map(|&(_, x)| x * x).sum::<f32>();
        assert!((norm(&known) - 1.0).abs() < 1e-4);
        assert!(norm(&diluted) < norm(&known));
        assert_eq!(analysis.unknown_words, ["recipe"]);
        assert_eq!(analysis.content_words, 2);
    }

    #[test]
    fn numbers_are_no_unknown_words() {
        let f = featurizer(&["how do i get a database job", "how do servers work"]);
        let (_, analysis) = f.vectorize_question("3rd database job, 150 servers, 70k", TYPOS);
        assert!(analysis.unknown_words.is_empty(), "{analysis:?}");
        assert_eq!(analysis.content_words, 6);
        // A word of letters only is still unknown.
        let (_, analysis) = f.vectorize_question("third database job", TYPOS);
        assert_eq!(analysis.unknown_words, ["third"]);
    }
}

#[cfg(test)]
mod lookup_tests {
    use super::*;

    const TYPOS: TypoSettings = TypoSettings {
        min_len: 4,
        max_distance: 2,
    };

    fn lookup(class: &str, entries: &[&str]) -> Lookup {
        Lookup {
            class: class.to_owned(),
            entries: entries.iter().map(|e| (*e).to_owned()).collect(),
            location: Default::default(),
            entry_locations: Vec::new(),
        }
    }

    /// Examples that name occupations and a pivot, with the synonym attorney = lawyer.
    fn fitted(lookups: &[Lookup]) -> Featurizer {
        let examples = [
            "how do i become a nurse",
            "what does a lawyer earn",
            "can i pivot to backend",
            "how do i learn python",
        ];
        let attorney = Synonym {
            canonical: "lawyer".to_owned(),
            variants: vec!["attorney".to_owned()],
            location: Default::default(),
        };
        Featurizer::fit(examples, &[attorney], lookups).0
    }

    fn classes() -> Vec<Lookup> {
        vec![
            lookup(
                "occupation",
                &[
                    "nurse",
                    "registered nurse",
                    "lawyer",
                    "electrician",
                    "nurse practitioner",
                    "pilot",
                ],
            ),
            lookup("language", &["python", "c#"]),
        ]
    }

    #[test]
    fn phrases_are_marked_longest_first_in_any_form_the_pipeline_gives() {
        let f = fitted(&classes());
        // (question, expected marks as (first word, past the last word, class))
        type Marks<'a> = &'a [(usize, usize, &'a str)];
        let rows: &[(&str, Marks)] = &[
            ("Registered Nurses earn well", &[(0, 2, "occupation")]),
            (
                "a nurse or a lawyer",
                &[(1, 2, "occupation"), (4, 5, "occupation")],
            ),
            (
                "is a nurse practitioner a nurse",
                &[(2, 4, "occupation"), (5, 6, "occupation")],
            ),
            // Through the synonyms, as the entry "lawyer" went.
            ("ask an attorney", &[(2, 3, "occupation")]),
            (
                "python or c# for a lawyer",
                &[(0, 1, "language"), (2, 3, "language"), (5, 6, "occupation")],
            ),
            // Half a phrase is no phrase.
            ("registered users", &[]),
            // Plurals fold, other forms of a word do not: "piloting" is no pilot, as
            // "account" is no accountant.
            (
                "two pilots and three electricians",
                &[(1, 2, "occupation"), (4, 5, "occupation")],
            ),
            ("piloting a project, nursing a cold", &[]),
            // The class's name, typed, is a plain word.
            ("my occupation is <occupation>", &[]),
        ];
        for &(question, expected) in rows {
            let words = f.analyze_words(question, Some(TYPOS));
            let got: Vec<(usize, usize, &str)> = words
                .marks
                .iter()
                .map(|m| (m.start, m.end, f.lookups.names[m.class as usize].as_str()))
                .collect();
            assert_eq!(got, expected, "{question:?}: {:?}", words.analysis.stems);
        }
    }

    #[test]
    fn jobs_the_examples_never_name_all_stand_for_their_class_alone() {
        let f = fitted(&classes());
        // "electrician" and "pilot" are in the class but in no example: their own features
        // would all be unknown and only dilute the class token.
        let (electrician, _) = f.vectorize_question("how do i become a electrician", TYPOS);
        let (pilot, _) = f.vectorize_question("how do i become a pilot", TYPOS);
        assert_eq!(electrician, pilot);
        let (nurse, _) = f.vectorize_question("how do i become a nurse", TYPOS);
        assert_ne!(
            electrician, nurse,
            "a job the examples name keeps its own features"
        );
        // An unknown word outside every class still dilutes.
        let (stranger, _) = f.vectorize_question("how do i become a juggler", TYPOS);
        let norm = |v: &SparseVec| v.iter().map(|(_, w)| w * w).sum::<f32>();
        assert!(norm(&stranger) < norm(&electrician) - 1e-3);
    }

    #[test]
    fn a_class_adds_its_token_which_no_question_can_type() {
        let f = fitted(&classes());
        let token = f
            .word_id("<occupation>")
            .expect("the examples name occupations");
        let (vector, analysis) = f.vectorize_question("how do i become an electrician", TYPOS);
        assert!(vector.iter().any(|&(id, _)| id == token), "{analysis:?}");
        assert_eq!(analysis.classes, ["occupation"]);
        for typed in ["occupation", "<occupation>", "&lt;occupation&gt;"] {
            let (vector, analysis) = f.vectorize_question(typed, TYPOS);
            assert!(!vector.iter().any(|&(id, _)| id == token), "{typed}");
            assert!(analysis.classes.is_empty(), "{typed}");
        }
    }

    #[test]
    fn a_class_token_weighs_as_the_rare_words_it_stands_for() {
        let f = fitted(&classes());
        let id = f.word_id("<occupation>").unwrap() as usize;
        // Two of the four examples name a job, yet the token is as rare as a word can be.
        assert_eq!(f.idf[id], f.unknown_idf);
        let nurse = f.word_id("nurs").unwrap() as usize;
        assert!(
            f.idf[nurse] < f.unknown_idf,
            "an ordinary word keeps its own idf"
        );
    }

    #[test]
    fn a_word_of_a_known_class_is_known_and_never_a_typo() {
        let question = "how do i become a pilot";
        let (_, without) = fitted(&[]).vectorize_question(question, TYPOS);
        // One edit from "pivot", a word of the examples, but an English word: left alone,
        // and unknown.
        assert!(without.corrections.is_empty(), "{without:?}");
        assert_eq!(without.unknown_words, ["pilot"]);
        // A listed word that is no English word (a made-up name) is no typo either.
        let (_, typo) = fitted(&[]).vectorize_question("a pivoq", TYPOS);
        assert_eq!(typo.corrections, [("pivoq".to_owned(), "pivot".to_owned())]);
        let made_up = [lookup("codename", &["pivoq"])];
        let (_, listed) = fitted(&made_up).vectorize_question("a pivoq", TYPOS);
        assert!(listed.corrections.is_empty(), "{listed:?}");
        let (_, with) = fitted(&classes()).vectorize_question(question, TYPOS);
        assert!(with.corrections.is_empty(), "{with:?}");
        assert!(with.unknown_words.is_empty(), "{with:?}");
        let token = Some("<occupation>".to_owned());
        assert_eq!(with.content_classes, [None, token]);
        // A class no example names gives no evidence: its words stay unknown.
        let rare = [lookup("rare", &["zebra"])];
        let (vector, analysis) = fitted(&rare).vectorize_question("a zebra", TYPOS);
        assert_eq!(analysis.unknown_words, ["zebra"]);
        // Nor does it dilute the question's features: they are those of no class at all.
        let (plain, _) = fitted(&[]).vectorize_question("a zebra", TYPOS);
        assert_eq!(vector, plain);
    }
}
