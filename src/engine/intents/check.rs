//! The checks that need the whole set: at least one intent, unique intent and course ids,
//! course and follow-up references that resolve, an example claimed by one intent only.
//!
//! They run on what the records gave (see `records`), placeholders included, so that a
//! broken file still gets its cross-file problems reported in the same pass.

use std::collections::{HashMap, HashSet};

use super::limits::{setting, Limits};
use super::parse::at;
use super::{
    normalize_example, Diagnostic, Draft, Location, Pattern, PatternSet, Severity, COURSES_FILE,
};

/// Cross-file checks on a whole set: at least one intent, unique intent and course ids,
/// course and follow-up references that resolve, examples claimed by one intent only.
pub(super) fn validate(set: &Draft, diags: &mut Vec<Diagnostic>) {
    if set.intents.is_empty() {
        diags.push(Diagnostic::whole_file(
            &set.dir,
            "no intent found: no *.toml file of the directory has an [[intent]] table".into(),
        ));
    }
    check_unique_intent_ids(set, diags);
    check_unique_course_ids(set, diags);
    check_references(set, diags);
    check_examples_across_intents(set, diags);
}

/// The set's intents, examples and patterns against `limits`: each one past its limit is
/// reported at the first item past it.
pub(super) fn counts(set: &Draft, limits: &Limits, diags: &mut Vec<Diagnostic>) {
    let intents = set.intents.iter().map(|i| &i.location);
    let examples = set.intents.iter().flat_map(|intent| {
        // A broken record may lack locations: its own place stands for them.
        let located = intent.example_locations.iter();
        located
            .chain(std::iter::repeat(&intent.location))
            .take(intent.examples.len())
    });
    let patterns = set.intents.iter().flat_map(|i| &i.pattern_locations);
    let entries = set.lookups.iter().flat_map(|l| &l.entry_locations);
    for (what, key, max, mut items) in [
        ("intents", "max_intents", limits.max_intents, boxed(intents)),
        (
            "examples",
            "max_examples",
            limits.max_examples,
            boxed(examples),
        ),
        (
            "patterns",
            "max_patterns",
            limits.max_patterns,
            boxed(patterns),
        ),
        (
            "lookup entries",
            "max_lookup_entries",
            limits.max_lookup_entries,
            boxed(entries),
        ),
    ] {
        if let Some(first_past) = items.nth(max) {
            let total = max + 1 + items.count();
            let message = format!(
                "too many {what}: {total} in the set, at most {max} ({}); this is the first \
                 past the limit",
                setting(key, max)
            );
            diags.push(cross_error(first_past, message));
        }
    }
}

fn boxed<'a>(
    locations: impl Iterator<Item = &'a Location> + 'a,
) -> Box<dyn Iterator<Item = &'a Location> + 'a> {
    Box::new(locations)
}

/// Every pattern of the set compiled together within `limits`, in load order; `None` after
/// reporting the first pattern past the total compiled size.
pub(super) fn pattern_set(
    set: &Draft,
    limits: &Limits,
    diags: &mut Vec<Diagnostic>,
) -> Option<PatternSet> {
    let patterns: Vec<(&Pattern, &Location)> = set
        .intents
        .iter()
        .flat_map(|i| i.patterns.iter().zip(&i.pattern_locations))
        .collect();
    let checked: Vec<&Pattern> = patterns.iter().map(|(p, _)| *p).collect();
    match PatternSet::compile(&checked, limits) {
        Ok(compiled) => Some(compiled),
        Err(too_big) => {
            let location = patterns.get(too_big.first_past).map(|(_, at)| *at);
            diags.push(match location {
                Some(location) => cross_error(location, too_big.message),
                None => Diagnostic::whole_file(&set.dir, too_big.message),
            });
            None
        }
    }
}

fn cross_error(location: &Location, message: String) -> Diagnostic {
    Diagnostic {
        path: location.path.clone(),
        line: location.line,
        col: location.col,
        severity: Severity::Error,
        message,
    }
}

fn check_unique_intent_ids(set: &Draft, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Location> = HashMap::new();
    for intent in &set.intents {
        match first.get(intent.id.as_str()) {
            Some(first) => diags.push(cross_error(
                &intent.location,
                format!(
                    "duplicate intent id `{}` (first defined at {})",
                    intent.id,
                    at(first)
                ),
            )),
            None => {
                first.insert(&intent.id, &intent.location);
            }
        }
    }
}

fn check_unique_course_ids(set: &Draft, diags: &mut Vec<Diagnostic>) {
    let mut first: HashMap<&str, &Location> = HashMap::new();
    for course in &set.courses {
        match first.get(course.id.as_str()) {
            Some(first) => diags.push(cross_error(
                &course.location,
                format!(
                    "duplicate course id `{}` (first defined at {})",
                    course.id,
                    at(first)
                ),
            )),
            None => {
                first.insert(&course.id, &course.location);
            }
        }
    }
}

/// The location of the `i`-th entry of a list, falling back to the intent's own location.
fn nth_location<'a>(locations: &'a [Location], i: usize, fallback: &'a Location) -> &'a Location {
    locations.get(i).unwrap_or(fallback)
}

fn check_references(set: &Draft, diags: &mut Vec<Diagnostic>) {
    let course_ids: HashSet<&str> = set.courses.iter().map(|c| c.id.as_str()).collect();
    let intent_ids: HashSet<&str> = set.intents.iter().map(|i| i.id.as_str()).collect();
    for intent in &set.intents {
        for (i, course) in intent.courses.iter().enumerate() {
            if !course_ids.contains(course.as_str()) {
                let location = nth_location(&intent.course_locations, i, &intent.location);
                let message = format!(
                    "unknown course `{course}` in `courses` of intent `{}` (not in {COURSES_FILE})",
                    intent.id
                );
                diags.push(cross_error(location, message));
            }
        }
        for (i, follow_up) in intent.follow_ups.iter().enumerate() {
            let location = nth_location(&intent.follow_up_locations, i, &intent.location);
            if *follow_up == intent.id {
                let message = format!("intent `{}` lists itself in `follow_ups`", intent.id);
                diags.push(cross_error(location, message));
            } else if !intent_ids.contains(follow_up.as_str()) {
                let message = format!(
                    "unknown intent `{follow_up}` in `follow_ups` of intent `{}`",
                    intent.id
                );
                diags.push(cross_error(location, message));
            }
        }
    }
}

/// An example must belong to one intent only, or the matcher cannot tell them apart.
fn check_examples_across_intents(set: &Draft, diags: &mut Vec<Diagnostic>) {
    // normalized example -> (intent index, where first written)
    let mut owners: HashMap<String, (usize, &Location)> = HashMap::new();
    for (index, intent) in set.intents.iter().enumerate() {
        for (i, example) in intent.examples.iter().enumerate() {
            let key = normalize_example(example);
            if key.is_empty() {
                continue;
            }
            let location = nth_location(&intent.example_locations, i, &intent.location);
            match owners.get(&key) {
                Some(&(owner, first)) if owner != index => {
                    let message = format!(
                        "example \"{example}\" of intent `{}` is also listed under intent `{}` ({})",
                        intent.id,
                        set.intents[owner].id,
                        at(first)
                    );
                    diags.push(cross_error(location, message));
                }
                Some(_) => {}
                None => {
                    owners.insert(key, (index, location));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::{Path, PathBuf};

    use super::super::samples::{BASE, COURSE, OTHER};
    use super::super::{load_texts, MAX_ANSWER_CHARS, MAX_TITLE_CHARS};
    use super::*;
    use Severity::{Error as E, Warning as W};

    /// One expected diagnostic: file name, line, column, severity, part of the message.
    type Expect = (&'static str, usize, usize, Severity, &'static str);

    struct Case {
        name: &'static str,
        files: Vec<(&'static str, String)>,
        expect: Vec<Expect>,
    }

    fn case(name: &'static str, files: &[(&'static str, &str)], expect: &[Expect]) -> Case {
        Case {
            name,
            files: files.iter().map(|(n, t)| (*n, t.to_string())).collect(),
            expect: expect.to_vec(),
        }
    }

    /// Every diagnostic of `files` read as `dir/<name>`.
    fn check(files: &[(&str, String)]) -> Vec<Diagnostic> {
        let texts = files.iter().map(|(name, text)| (*name, text.as_str()));
        match load_texts(Path::new("dir"), texts, &Limits::shipped()) {
            Ok(loaded) => loaded.warnings,
            Err(refused) => refused.diagnostics,
        }
    }

    /// `Err` describing every difference between `actual` and `expect`.
    fn compare(name: &str, actual: &[Diagnostic], expect: &[Expect]) -> Result<(), String> {
        let shown: Vec<String> = actual.iter().map(|d| d.to_string()).collect();
        if actual.len() != expect.len() {
            return Err(format!("{name}: expected {expect:?}, got {shown:#?}"));
        }
        for (d, &(file, line, col, severity, fragment)) in actual.iter().zip(expect) {
            let path = match file {
                "" => PathBuf::from("dir"),
                file => Path::new("dir").join(file),
            };
            let ok = d.path == path
                && (d.line, d.col, d.severity) == (line, col, severity)
                && d.message.contains(fragment);
            if !ok {
                let want = format!("{file}:{line}:{col} {severity:?} `{fragment}`");
                return Err(format!("{name}: expected {want}, got {d}"));
            }
        }
        Ok(())
    }

    fn assert_diags(name: &str, actual: &[Diagnostic], expect: &[Expect]) {
        if let Err(problem) = compare(name, actual, expect) {
            panic!("{problem}");
        }
    }

    fn with(extra: &str) -> String {
        format!("{BASE}{extra}")
    }

    fn error_cases() -> Vec<Case> {
        let long_title = format!("title = \"{}\"\n", "é".repeat(MAX_TITLE_CHARS + 1));
        let long_answer = format!("answer = \"{}\"\n", "x".repeat(MAX_ANSWER_CHARS + 1));
        vec![
            case(
                "toml syntax error",
                &[("a.toml", "[[intent]]\nid = \"a.b\ntitle = 1\n"), ("z.toml", OTHER)],
                &[("a.toml", 2, 10, E, "TOML syntax error: invalid basic string")],
            ),
            case(
                "unknown field with a hint",
                &[("a.toml", &with("exmples = [\"x\"]\n"))],
                &[(
                    "a.toml",
                    6,
                    1,
                    E,
                    "unknown field `exmples` in intent `a.b` (did you mean `examples`?); \
                     allowed fields: id, title, examples",
                )],
            ),
            case(
                "unknown top-level key in an intent file",
                &[("a.toml", &with("\n[[intents]]\nid = \"x.y\"\n"))],
                &[("a.toml", 7, 3, E, "unknown top-level key `intents` in an intent file (did you mean `intent`?)")],
            ),
            case(
                "unknown top-level key in courses.toml",
                &[("a.toml", BASE), ("courses.toml", "[[intent]]\nid = \"x\"\n")],
                &[("courses.toml", 1, 3, E, "unknown top-level key `intent` in courses.toml")],
            ),
            case(
                "a plain [intent] table",
                &[("a.toml", "[intent]\nid = \"a.b\"\n")],
                &[
                    ("", 0, 0, E, "no intent found"),
                    ("a.toml", 1, 1, E, "`intent` must be written as [[intent]] tables, found table"),
                ],
            ),
            case(
                "missing required fields",
                &[("a.toml", "[[intent]]\nexamples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"]\n"), ("b.toml", OTHER)],
                &[
                    ("a.toml", 1, 1, E, "intent is missing required field `id`"),
                    ("a.toml", 1, 1, E, "intent is missing required field `title`"),
                    ("a.toml", 1, 1, E, "intent is missing required field `answer`"),
                ],
            ),
            case(
                "wrong types",
                &[(
                    "a.toml",
                    "[[intent]]\nid = \"a.b\"\ntitle = 5\nanswer = \"A\"\nexamples = \"a1\"\nkeywords = [\"k\", 2]\nfollow_ups = {}\n",
                )],
                &[
                    ("a.toml", 3, 9, E, "`title` must be a string, found integer"),
                    ("a.toml", 5, 12, E, "`examples` must be an array of strings, found string"),
                    ("a.toml", 6, 18, E, "`keywords` must hold only strings, found integer"),
                    ("a.toml", 7, 14, E, "`follow_ups` must be an array of strings, found inline table"),
                ],
            ),
            case(
                "bad intent id",
                &[("a.toml", &BASE.replace("\"a.b\"", "\"Prep.Degree\""))],
                &[("a.toml", 2, 6, E, "invalid intent id `Prep.Degree`: expected `area.name`")],
            ),
            case(
                "intent id without an area",
                &[("a.toml", &BASE.replace("\"a.b\"", "\"degree\""))],
                &[("a.toml", 2, 6, E, "invalid intent id `degree`")],
            ),
            case(
                "duplicate intent id across files",
                &[("a.toml", BASE), ("b.toml", &OTHER.replace("c.d", "a.b"))],
                &[("b.toml", 1, 1, E, "duplicate intent id `a.b` (first defined at dir/a.toml:1:1)")],
            ),
            case(
                "duplicate course id",
                &[("a.toml", BASE), ("courses.toml", &format!("{COURSE}\n{COURSE}"))],
                &[("courses.toml", 10, 1, E, "duplicate course id `c1` (first defined at dir/courses.toml:1:1)")],
            ),
            case(
                "invalid regex",
                &[("a.toml", &with("patterns = ['(unclosed']\n"))],
                &[("a.toml", 6, 13, E, "invalid regex in `patterns`: unclosed group")],
            ),
            case(
                "regex over the size limit",
                &[("a.toml", &with("patterns = ['\\w{200}\\w{200}\\w{200}']\n"))],
                &[("a.toml", 6, 13, E, "invalid regex in `patterns`: Compiled regex exceeds size limit")],
            ),
            case(
                "empty regex",
                &[("a.toml", &with("patterns = ['']\n"))],
                &[("a.toml", 6, 13, E, "empty regex in `patterns`")],
            ),
            case(
                "dangling course id",
                &[("a.toml", &with("courses = [\"c1\", \"nope\"]\n")), ("courses.toml", COURSE)],
                &[("a.toml", 6, 18, E, "unknown course `nope` in `courses` of intent `a.b`")],
            ),
            case(
                "dangling follow-up",
                &[("a.toml", &with("follow_ups = [\"x.y\"]\n"))],
                &[("a.toml", 6, 15, E, "unknown intent `x.y` in `follow_ups` of intent `a.b`")],
            ),
            case(
                "follow-up to itself",
                &[("a.toml", &with("follow_ups = [\"a.b\"]\n"))],
                &[("a.toml", 6, 15, E, "intent `a.b` lists itself in `follow_ups`")],
            ),
            case(
                "non-https url",
                &[("a.toml", BASE), ("courses.toml", &COURSE.replace("https:", "http:"))],
                &[("courses.toml", 5, 7, E, "`url` must use https, found `http:`")],
            ),
            case(
                "url that does not parse",
                &[("a.toml", BASE), ("courses.toml", &COURSE.replace("https://example.org/c", "example.org"))],
                &[("courses.toml", 5, 7, E, "invalid `url` \"example.org\": relative URL without a base")],
            ),
            case(
                "title too long (counted in characters)",
                &[("a.toml", &BASE.replace("title = \"T\"\n", &long_title))],
                &[("a.toml", 3, 9, E, "`title` is too long: 81 characters (at most 80)")],
            ),
            case(
                "empty title",
                &[("a.toml", &BASE.replace("\"T\"", "\"  \""))],
                &[("a.toml", 3, 9, E, "`title` must not be empty")],
            ),
            case(
                "answer too long",
                &[("a.toml", &BASE.replace("answer = \"A\"\n", &long_answer))],
                &[("a.toml", 4, 10, E, "`answer` is too long: 4001 characters (at most 4000)")],
            ),
            case(
                "details too long",
                &[("a.toml", &with(&long_answer.replace("answer", "details")))],
                &[("a.toml", 6, 11, E, "`details` is too long: 4001 characters (at most 4000)")],
            ),
            case(
                "empty details",
                &[("a.toml", &with("details = \"  \"\n"))],
                &[("a.toml", 6, 11, E, "`details` must not be empty")],
            ),
            case(
                "empty answer",
                &[("a.toml", &BASE.replace("\"A\"", "\"\"\"\n\"\"\""))],
                &[("a.toml", 4, 10, E, "`answer` must not be empty")],
            ),
            case(
                "example under two intents",
                &[
                    ("a.toml", &BASE.replace("\"a3\"", "\"Is a degree  required?\"")),
                    ("b.toml", &OTHER.replace("\"c2\"", "\" is a DEGREE required \"")),
                ],
                &[(
                    "b.toml",
                    5,
                    19,
                    E,
                    "example \" is a DEGREE required \" of intent `c.d` is also listed under intent `a.b` (dir/a.toml:5:25)",
                )],
            ),
            case(
                "no examples and no patterns",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\n")],
                &[("a.toml", 1, 1, E, "intent `a.b` has no examples and no patterns, so it can never match")],
            ),
            case(
                "synonym variant under two canonicals",
                &[("a.toml", BASE), ("synonyms.toml", "developer = [\"dev\"]\nengineer = [\"eng\", \"Dev\"]\n")],
                &[("synonyms.toml", 2, 20, E, "synonym variant \"Dev\" is mapped to both `developer` (dir/synonyms.toml:1:14) and `engineer`")],
            ),
            case(
                "synonyms of the wrong type",
                &[("a.toml", BASE), ("synonyms.toml", "dev = \"x\"\n\"\" = [\"y\", \"\"]\n")],
                &[
                    ("synonyms.toml", 1, 7, E, "synonym `dev` must be an array of strings, found string"),
                    ("synonyms.toml", 2, 1, E, "empty synonym key"),
                    ("synonyms.toml", 2, 12, E, "empty string in synonym ``"),
                ],
            ),
            case(
                "empty strings in examples and keywords (columns in characters)",
                &[("a.toml", &with("keywords = [\"café\", \"\"]\n").replace("\"a5\"", "\" \""))],
                &[
                    ("a.toml", 5, 37, E, "empty string in `examples`"),
                    ("a.toml", 6, 21, E, "empty string in `keywords`"),
                ],
            ),
            case(
                "directory without intents",
                &[("courses.toml", COURSE)],
                &[("", 0, 0, E, "no intent found")],
            ),
            case(
                "unknown level",
                &[("a.toml", BASE), ("courses.toml", &COURSE.replace("beginner", "expert"))],
                &[("courses.toml", 7, 9, E, "unknown level `expert` (expected beginner, intermediate or advanced)")],
            ),
            case(
                "unknown action",
                &[("a.toml", &with("action = \"fly\"\n"))],
                &[("a.toml", 6, 10, E, "unknown action `fly` (expected search_courses or more)")],
            ),
            case(
                "broken course fields",
                &[
                    ("a.toml", BASE),
                    ("courses.toml", "[[course]]\nid = \"CS 50\"\ntitle = \"\"\nurl = \"https://x.org\"\ntopics = []\nlevel = 1\nfree = \"yes\"\nsumary = \"s\"\n"),
                ],
                &[
                    ("courses.toml", 1, 1, E, "course `CS 50` is missing required field `provider`"),
                    ("courses.toml", 2, 6, E, "invalid course id `CS 50`"),
                    ("courses.toml", 3, 9, E, "`title` must not be empty"),
                    ("courses.toml", 5, 10, E, "`topics` must list at least one topic"),
                    ("courses.toml", 6, 9, E, "`level` must be a string, found integer"),
                    ("courses.toml", 7, 8, E, "`free` must be true or false, found string"),
                    ("courses.toml", 8, 1, E, "unknown field `sumary` in course `CS 50` (did you mean `summary`?)"),
                ],
            ),
            case(
                "decline that is not a boolean",
                &[("a.toml", &with("decline = \"yes\"\n"))],
                &[("a.toml", 6, 11, E, "`decline` must be true or false, found string")],
            ),
            case(
                "course aliases: a name of two terms, an unknown field, no aliases, a wrong key",
                &[("a.toml", BASE), ("courses.toml", "[[alias]]\nterm = \"kubernetes\"\naliases = [\"k8s\"]\n\n[[alias]]\nterm = \"k8\"\naliases = [\"K8s\"]\nalias = [\"x\"]\n\n[[alias]]\nterm = \"go\"\naliases = []\n\n[[alais]]\n")],
                &[
                    ("courses.toml", 7, 12, E, "\"K8s\" is already a name of alias `kubernetes` (dir/courses.toml:3:12); a name belongs to one alias"),
                    ("courses.toml", 8, 1, E, "unknown field `alias` in alias `k8` (did you mean `aliases`?); allowed fields: term, aliases"),
                    ("courses.toml", 12, 11, E, "`aliases` must list at least one other name"),
                    ("courses.toml", 14, 3, E, "unknown top-level key `alais` in courses.toml (did you mean `alias`?); only [[course]] and [[alias]] tables are allowed"),
                ],
            ),
            case(
                "min_confidence out of range or not a number",
                &[("a.toml", &format!("{BASE}min_confidence = 1.5\n\n{OTHER}min_confidence = \"high\"\n"))],
                &[
                    ("a.toml", 6, 18, E, "`min_confidence` must be from 0 to 1, found 1.5"),
                    ("a.toml", 13, 18, E, "`min_confidence` must be a number from 0 to 1, found string"),
                ],
            ),
            case(
                "bad lookup class and unknown lookup field",
                &[("a.toml", BASE), ("lookups.toml", "[[lookup]]\nclass = \"Job Titles\"\nentries = [\"nurse\"]\nentrys = [\"x\"]\n")],
                &[
                    ("lookups.toml", 2, 9, E, "invalid lookup class `Job Titles`: use lowercase ASCII letters, digits and `_`"),
                    ("lookups.toml", 4, 1, E, "unknown field `entrys` in lookup `Job Titles` (did you mean `entries`?); allowed fields: class, entries"),
                ],
            ),
            case(
                "empty, repeated, common-word and long lookup entries",
                &[("a.toml", BASE), ("lookups.toml", &format!("[[lookup]]\nclass = \"job\"\nentries = [\"nurse\", \" \", \"Nurse\", \"it\", \"{}\"]\n", "x".repeat(101)))],
                &[
                    ("lookups.toml", 3, 21, E, "empty entry in lookup `job`"),
                    ("lookups.toml", 3, 26, E, "entry \"Nurse\" is listed twice in lookup `job` (first at dir/lookups.toml:3:12)"),
                    ("lookups.toml", 3, 35, E, "entry \"it\" of lookup `job` is made of common words only"),
                    ("lookups.toml", 3, 41, E, "entry of lookup `job` is too long: 101 characters (at most 100)"),
                ],
            ),
            case(
                "a lookup entry in two classes (by its stems) and a class twice",
                &[("a.toml", BASE), ("lookups.toml", "[[lookup]]\nclass = \"job\"\nentries = [\"nurse\"]\n\n[[lookup]]\nclass = \"care\"\nentries = [\"Nurses\"]\n\n[[lookup]]\nclass = \"job\"\nentries = [\"pilot\"]\n")],
                &[
                    ("lookups.toml", 7, 12, E, "entry \"Nurses\" of lookup `care` is also in lookup `job` (dir/lookups.toml:3:12); an entry belongs to one class"),
                    ("lookups.toml", 10, 9, E, "duplicate lookup class `job` (first defined at dir/lookups.toml:2:9)"),
                ],
            ),
            case(
                "a lookup without entries or class, of the wrong types, or under another key",
                &[("a.toml", BASE), ("lookups.toml", "[[lookup]]\nclass = \"job\"\nentries = []\n\n[[lookup]]\nentries = [\"x\"]\n\n[[lookup]]\nclass = 1\nentries = \"nurse\"\n\n[[lookups]]\n")],
                &[
                    ("lookups.toml", 3, 11, E, "lookup `job` has no entries"),
                    ("lookups.toml", 5, 1, E, "lookup is missing required field `class`"),
                    ("lookups.toml", 9, 9, E, "`class` must be a string, found integer"),
                    ("lookups.toml", 10, 11, E, "`entries` must be an array of strings, found string"),
                    ("lookups.toml", 12, 3, E, "unknown top-level key `lookups` in lookups.toml (did you mean `lookup`?)"),
                ],
            ),
        ]
    }

    fn warning_cases() -> Vec<Case> {
        vec![
            case(
                "few examples",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = [\"a1\", \"a2\"]\n")],
                &[("a.toml", 1, 1, W, "intent `a.b` has only 2 example(s); at least 5 are recommended")],
            ),
            case(
                "patterns only",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\npatterns = ['x']\n")],
                &[("a.toml", 1, 1, W, "intent `a.b` has only 0 example(s)")],
            ),
            case(
                "a more intent with one example and no patterns",
                &[("a.toml", "[[intent]]\nid = \"a.b\"\ntitle = \"T\"\nanswer = \"A\"\nexamples = [\"more\"]\naction = \"more\"\n")],
                &[("a.toml", 1, 1, W, "intent `a.b` has only 1 example(s)")],
            ),
            case(
                "same example twice in one intent",
                &[("a.toml", &BASE.replace("\"a4\"", "\"A1 ?\""))],
                &[("a.toml", 5, 31, W, "example \"A1 ?\" is listed twice in intent `a.b` (first at line 5)")],
            ),
        ]
    }

    #[test]
    fn every_error_and_warning_is_reported_at_its_place() {
        let failures: Vec<String> = error_cases()
            .into_iter()
            .chain(warning_cases())
            .filter_map(|case| compare(case.name, &check(&case.files), &case.expect).err())
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn clean_snippets_have_no_diagnostics() {
        let inline = "intent = [{ id = \"a.b\", title = \"T\", answer = \"A\", \
                      examples = [\"a1\", \"a2\", \"a3\", \"a4\", \"a5\"] }]\n";
        for files in [
            vec![("a.toml", BASE.to_string())],
            vec![("a.toml", inline.to_string())],
            vec![
                ("a.toml", BASE.to_string()),
                ("courses.toml", COURSE.to_string()),
            ],
            vec![("a.toml", format!("\u{feff}{BASE}"))],
            // A `more` intent is matched by its patterns: no examples needed.
            vec![(
                "a.toml",
                format!(
                    "{BASE}[[intent]]\nid = \"c.more\"\ntitle = \"More\"\nanswer = \"M\"\n\
                     patterns = ['^more$']\naction = \"more\"\n"
                ),
            )],
        ] {
            assert_diags("clean", &check(&files), &[]);
        }
    }
}
