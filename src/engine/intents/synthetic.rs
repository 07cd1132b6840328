//! Intent files written by programs rather than admins: [`intent_file`] turns plain intents
//! into an intent file's text, and [`SyntheticSet`] makes up a set of any size for the
//! benchmarks (`careerbot bench-scale`, `cargo bench --bench admin`) and the reload tests.
//!
//! The design choice that matters: these sets reach the engine as text, through the same
//! loader and checks as an admin's files (see [`super::load_texts`]), so there is no second
//! way to build a set. A synthetic set is deterministic: the same arguments give the same
//! text on every machine, so figures measured on it stay comparable.

use std::collections::hash_map::{Entry, HashMap};
use std::io;
use std::path::{Path, PathBuf};

use toml_edit::{Array, ArrayOfTables, DocumentMut, Item, Table};

use super::{load_texts, normalize_example, Limits, Loaded, Refused};

/// The file a synthetic set is written to.
pub const FILE_NAME: &str = "generated.toml";

/// An intent as a program writes it: the required fields and its examples.
#[derive(Debug, Clone)]
pub struct Written<'a> {
    pub id: String,
    pub title: String,
    pub answer: String,
    pub examples: &'a [String],
}

/// The text of an intent file holding `intents`, one `[[intent]]` table each, in order.
pub fn intent_file<'a>(intents: impl IntoIterator<Item = Written<'a>>) -> String {
    let mut tables = ArrayOfTables::new();
    for intent in intents {
        let mut table = Table::new();
        table.insert("id", toml_edit::value(intent.id));
        table.insert("title", toml_edit::value(intent.title));
        table.insert("answer", toml_edit::value(intent.answer));
        let examples: Array = intent.examples.iter().map(String::as_str).collect();
        table.insert("examples", toml_edit::value(examples));
        tables.push(table);
    }
    let mut doc = DocumentMut::new();
    doc.insert("intent", Item::ArrayOfTables(tables));
    doc.to_string()
}

/// A made-up intent set: questions that look like real ones, shared function words around a
/// few topic words drawn from each intent's own small vocabulary, with topic words shared
/// between intents as real intents share them.
///
/// Intent `i` has the id `{area}.topic{i}`, the title `Topic {i} of {area}` and the answer
/// `{area} {i}`, so a reply names the set it came from. Only the names depend on `area`:
/// every set of the same size has the same questions.
#[derive(Debug, Clone)]
pub struct SyntheticSet {
    area: String,
    examples: Vec<Vec<String>>,
    words: Words,
}

impl SyntheticSet {
    /// `intents` intents of `examples` examples each. `area` must be a valid id part
    /// (lowercase letters, digits, `_`).
    pub fn new(area: &str, intents: usize, examples: usize) -> SyntheticSet {
        let mut words = Words::new(intents);
        // An example under two intents would refuse the set: one that another intent has
        // already is drawn again (rare; the text is otherwise a pure function of the sizes).
        let mut owner: HashMap<String, usize> = HashMap::new();
        let examples = (0..intents)
            .map(|intent| {
                (0..examples)
                    .map(|_| loop {
                        let question = words.question(intent);
                        match owner.entry(normalize_example(&question)) {
                            Entry::Occupied(first) if *first.get() != intent => {}
                            entry => {
                                entry.or_insert(intent);
                                break question;
                            }
                        }
                    })
                    .collect()
            })
            .collect();
        SyntheticSet {
            area: area.to_owned(),
            examples,
            words,
        }
    }

    /// How many intents the set has.
    pub fn len(&self) -> usize {
        self.examples.len()
    }

    pub fn is_empty(&self) -> bool {
        self.examples.is_empty()
    }

    pub fn id(&self, intent: usize) -> String {
        format!("{}.topic{intent}", self.area)
    }

    pub fn examples(&self, intent: usize) -> &[String] {
        &self.examples[intent]
    }

    /// A new question worded like the examples of `intent` (rarely one of them), to measure
    /// how unseen questions are answered. Each call gives the next one.
    pub fn question(&mut self, intent: usize) -> String {
        self.words.question(intent)
    }

    /// The set as one intent file.
    pub fn text(&self) -> String {
        intent_file(
            self.examples
                .iter()
                .enumerate()
                .map(|(i, examples)| Written {
                    id: self.id(i),
                    title: format!("Topic {i} of {}", self.area),
                    answer: format!("{} {i}", self.area),
                    examples,
                }),
        )
    }

    /// The set through the loader within `limits`, as if read from
    /// `generated/generated.toml`.
    pub fn load(&self, limits: &Limits) -> Result<Loaded, Refused> {
        load_texts(Path::new("generated"), [(FILE_NAME, self.text())], limits)
    }

    /// Writes the set to `dir/generated.toml`, replacing that file the way an editor saves
    /// (a hidden temp file renamed over it), so a reload never reads half of it.
    pub fn write(&self, dir: &Path) -> io::Result<PathBuf> {
        let path = dir.join(FILE_NAME);
        let tmp = dir.join(format!(".{FILE_NAME}.tmp"));
        std::fs::write(&tmp, self.text())?;
        std::fs::rename(&tmp, &path)?;
        Ok(path)
    }
}

/// Common words every intent's questions use.
const FUNCTION_WORDS: &[&str] = &[
    "how", "do", "i", "what", "is", "the", "a", "can", "you", "tell", "me", "about", "to", "my",
    "should", "where", "why", "get", "need", "help", "with", "for", "it", "please", "know",
];

/// The vocabulary: a xorshift generator and each intent's topic words.
#[derive(Debug, Clone)]
struct Words {
    rng: u64,
    topics: Vec<Vec<String>>,
}

impl Words {
    fn new(intents: usize) -> Words {
        let mut words = Words {
            rng: 0x2545_f491_4f6c_dd1d,
            topics: Vec::new(),
        };
        // A shared pool of words, about four per intent, so intents overlap as real ones do.
        let pool: Vec<String> = (0..intents * 4).map(|_| words.word()).collect();
        words.topics = (0..intents)
            .map(|_| {
                (0..6)
                    .map(|_| pool[words.below(pool.len())].clone())
                    .collect()
            })
            .collect();
        words
    }

    fn next(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// A pronounceable made-up word of two to four syllables.
    fn word(&mut self) -> String {
        const ONSETS: &[&str] = &[
            "b", "c", "d", "f", "g", "l", "m", "n", "p", "r", "s", "t", "v", "st", "tr", "pl",
        ];
        const VOWELS: &[&str] = &["a", "e", "i", "o", "u", "ai", "ou"];
        let syllables = 2 + self.below(3);
        (0..syllables)
            .map(|_| {
                format!(
                    "{}{}",
                    ONSETS[self.below(ONSETS.len())],
                    VOWELS[self.below(VOWELS.len())]
                )
            })
            .collect()
    }

    /// Five to ten words, two or three of them topic words of `intent`.
    fn question(&mut self, intent: usize) -> String {
        let length = 5 + self.below(6);
        let topical = 2 + self.below(2);
        let mut words: Vec<String> = (0..length - topical)
            .map(|_| FUNCTION_WORDS[self.below(FUNCTION_WORDS.len())].to_owned())
            .collect();
        for _ in 0..topical {
            let pick = self.below(self.topics[intent].len());
            let word = self.topics[intent][pick].clone();
            let at = self.below(words.len() + 1);
            words.insert(at, word);
        }
        words.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_synthetic_set_is_deterministic_and_loads() {
        let set = SyntheticSet::new("first", 50, 4);
        let other = SyntheticSet::new("second", 50, 4);
        assert_eq!(set.examples(7), other.examples(7));
        assert_eq!(set.text(), SyntheticSet::new("first", 50, 4).text());
        let loaded = set
            .load(&Limits::shipped())
            .unwrap_or_else(|r| panic!("{:#?}", r.diagnostics));
        assert_eq!(loaded.set.intents().len(), 50);
        let seventh = loaded.set.intents_as_written().nth(7).unwrap();
        assert_eq!(seventh.id, "first.topic7");
        assert_eq!(seventh.title, "Topic 7 of first");
        assert_eq!(seventh.answer, "first 7");
        assert_eq!(seventh.examples, set.examples(7));
    }

    #[test]
    fn any_text_is_written_as_a_string_that_reads_back() {
        let examples = [
            "say \"hi\"",
            "back\\slash",
            "tab\there",
            "ünïcode 🦀",
            "'quoted'",
        ]
        .map(String::from);
        let text = intent_file([Written {
            id: "a.b".into(),
            title: "T".into(),
            answer: "A".into(),
            examples: &examples,
        }]);
        let loaded = load_texts(Path::new("d"), [("a.toml", text)], &Limits::shipped()).unwrap();
        assert_eq!(loaded.set.intents()[0].examples, examples);
    }

    #[test]
    fn write_replaces_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = SyntheticSet::new("first", 3, 5).write(dir.path()).unwrap();
        SyntheticSet::new("second", 3, 5).write(dir.path()).unwrap();
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, [FILE_NAME]);
        assert!(std::fs::read_to_string(path)
            .unwrap()
            .contains("second.topic2"));
    }
}
