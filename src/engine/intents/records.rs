//! Reading each record of a file into data, with the checks that need that record only:
//! `[[intent]]` and `[[course]]` tables and `canonical = [...]` synonyms.
//!
//! Every field is read and checked on its own, so one bad value is one diagnostic and the
//! rest of the record is still checked. A record whose fields are broken is still returned
//! (with placeholder values) as long as it has an id, because the checks across files need
//! every id; such a set is refused, so the placeholders never leave the loader.

use std::collections::HashMap;
use std::path::Path;

use toml_edit::{ImDocument, Item};

use super::parse::{at, parse_toml, records, string_list, Ctx, Located, Record, Span};
use super::{
    fold, normalize_example, Action, Course, CourseAlias, Diagnostic, Intent, Level, Location,
    Lookup, Pattern, Synonym, COURSES_FILE, LOOKUPS_FILE, MAX_ANSWER_CHARS, MAX_COURSE_TITLE_CHARS,
    MAX_LOOKUP_CLASS, MAX_LOOKUP_ENTRY_CHARS, MAX_TITLE_CHARS, MIN_EXAMPLES_WITHOUT_WARNING,
};
use crate::engine::normalize::{clean, content_singulars, is_stop_word, singular, words};

const INTENT_FIELDS: &[&str] = &[
    "id",
    "title",
    "examples",
    "keywords",
    "patterns",
    "answer",
    "details",
    "courses",
    "follow_ups",
    "action",
    "decline",
    "listed",
    "code_only",
    "min_confidence",
];
const COURSE_FIELDS: &[&str] = &[
    "id", "title", "provider", "url", "topics", "level", "free", "summary",
];
const LOOKUP_FIELDS: &[&str] = &["class", "entries"];
const ALIAS_FIELDS: &[&str] = &["term", "aliases"];
const ACTIONS: &[(&str, Action)] = &[
    ("search_courses", Action::SearchCourses),
    ("more", Action::More),
];

/// Parses one file with `read`, reporting a syntax error; no records after one.
fn parse_file<T>(
    path: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
    read: impl FnOnce(&mut Ctx<'_>, &ImDocument<&str>) -> Vec<T>,
) -> Vec<T> {
    let mut ctx = Ctx::new(path, text, diags);
    match ctx.parse(text) {
        Some(doc) => read(&mut ctx, &doc),
        None => Vec::new(),
    }
}

/// Parses one intent file (`[[intent]]` tables) and checks each intent on its own; a
/// pattern longer than `max_pattern_chars` is refused without being compiled.
pub(super) fn parse_intent_file(
    path: &Path,
    text: &str,
    max_pattern_chars: usize,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Intent> {
    parse_file(path, text, diags, |ctx, doc| {
        read_intents(ctx, doc, max_pattern_chars)
    })
}

/// Parses `courses.toml` (`[[course]]` and `[[alias]]` tables) and checks each course on
/// its own; a name (term or alias) may belong to one `[[alias]]` table only.
pub(super) fn parse_course_file(
    path: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> (Vec<Course>, Vec<CourseAlias>) {
    let mut courses = Vec::new();
    let mut aliases = Vec::new();
    let mut ctx = Ctx::new(path, text, diags);
    if let Some(doc) = ctx.parse(text) {
        let mut owners: HashMap<String, (String, Location)> = HashMap::new();
        for record in records(&mut ctx, doc.as_table(), &["course", "alias"], COURSES_FILE) {
            if record.label == "alias" {
                aliases.extend(read_alias(&mut ctx, record, &mut owners));
            } else {
                courses.extend(read_course(&mut ctx, record));
            }
        }
    }
    (courses, aliases)
}

/// Reads one `[[alias]]` table. `owners` maps each name seen so far (its cleaned words) to
/// its term and place, to report a name given to two terms.
fn read_alias(
    ctx: &mut Ctx<'_>,
    mut record: Record<'_>,
    owners: &mut HashMap<String, (String, Location)>,
) -> Option<CourseAlias> {
    let term = required_text(ctx, &record, "term", MAX_COURSE_TITLE_CHARS);
    if let Some(term) = &term {
        record.label = format!("alias `{}`", term.value);
    }
    record.check_fields(ctx, ALIAS_FIELDS);
    let term = term?;
    let Some((_, span)) = record.get("aliases") else {
        record.missing(ctx, "aliases");
        return None;
    };
    let aliases = record.str_list(ctx, "aliases")?;
    if aliases.is_empty() {
        ctx.error(&span, "`aliases` must list at least one other name");
    }
    for name in std::iter::once(&term).chain(&aliases) {
        // As search compares them: words without plural endings, stop words aside.
        let key = content_singulars(&name.value).join(" ");
        if key.is_empty() {
            ctx.error(
                &name.span,
                format!("{} has a name without letters or digits", record.label),
            );
            continue;
        }
        match owners.get(&key) {
            Some((other, first)) => {
                let message = format!(
                    "\"{}\" is already a name of alias `{other}` ({}); a name belongs to one alias",
                    name.value,
                    at(first)
                );
                ctx.error(&name.span, message);
            }
            None => {
                owners.insert(key, (term.value.clone(), ctx.locate(&name.span)));
            }
        }
    }
    Some(CourseAlias {
        term: term.value,
        aliases: aliases.into_iter().map(|a| a.value).collect(),
        location: ctx.locate(&record.span),
    })
}

/// Parses `synonyms.toml` (`canonical = ["variant", ...]`); a variant may belong to one
/// canonical only.
pub(super) fn parse_synonym_file(
    path: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Synonym> {
    parse_file(path, text, diags, |ctx, doc| {
        let root = doc.as_table();
        let mut owners = HashMap::new();
        root.iter()
            .map(|(canonical, item)| {
                let key_span = root.key(canonical).and_then(|k| k.span());
                read_synonym(ctx, canonical, item, key_span, &mut owners)
            })
            .collect()
    })
}

/// Parses `lookups.toml` (`[[lookup]]` tables): each class named once, each entry a word
/// or phrase of one class only. Entries are compared as the matcher will see them (the
/// stems of their words), so "nurses" in one class and "Nurse" in another is an error,
/// while both in one class is merely redundant.
pub(super) fn parse_lookup_file(
    path: &Path,
    text: &str,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Lookup> {
    parse_file(path, text, diags, |ctx, doc| {
        let records = records(ctx, doc.as_table(), &["lookup"], LOOKUPS_FILE);
        let mut classes: HashMap<String, Location> = HashMap::new();
        let mut owners: HashMap<String, (String, Location)> = HashMap::new();
        records
            .into_iter()
            .filter_map(|record| read_lookup(ctx, record, &mut classes, &mut owners))
            .collect()
    })
}

/// The form two lookup entries are compared in: their words without plural endings, as
/// the matcher compares them.
fn lookup_key(entry: &str) -> String {
    let cleaned = clean(entry);
    let words: Vec<String> = words(&cleaned)
        .into_iter()
        .map(|w| singular(w).into_owned())
        .collect();
    words.join(" ")
}

/// Reads one `[[lookup]]` table. `classes` holds the class names seen so far, `owners`
/// each entry's key with its class and place.
fn read_lookup(
    ctx: &mut Ctx<'_>,
    mut record: Record<'_>,
    classes: &mut HashMap<String, Location>,
    owners: &mut HashMap<String, (String, Location)>,
) -> Option<Lookup> {
    let class = record.required_str(ctx, "class");
    if let Some(class) = &class {
        let name = &class.value;
        let valid = !name.is_empty()
            && name.len() <= MAX_LOOKUP_CLASS
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
        if !valid {
            ctx.error(
                &class.span,
                format!(
                    "invalid lookup class `{name}`: use lowercase ASCII letters, digits and \
                     `_`, at most {MAX_LOOKUP_CLASS} characters"
                ),
            );
        }
        match classes.get(name) {
            Some(first) => {
                let message = format!(
                    "duplicate lookup class `{name}` (first defined at {})",
                    at(first)
                );
                ctx.error(&class.span, message);
            }
            None => {
                classes.insert(name.clone(), ctx.locate(&class.span));
            }
        }
        record.label = format!("lookup `{name}`");
    }
    record.check_fields(ctx, LOOKUP_FIELDS);
    let entries = match record.get("entries") {
        None => {
            record.missing(ctx, "entries");
            None
        }
        Some((_, span)) => {
            let entries = record.str_list(ctx, "entries");
            if entries.as_ref().is_some_and(Vec::is_empty) {
                let message = format!("{} has no entries", record.label);
                ctx.error(&span, message);
            }
            entries
        }
    };
    let class = class?.value;
    let entries = entries.unwrap_or_default();
    let mut written: HashMap<String, Location> = HashMap::new();
    for entry in &entries {
        check_lookup_entry(ctx, &record.label, &class, entry, &mut written, owners);
    }
    Some(Lookup {
        class,
        location: ctx.locate(&record.span),
        entry_locations: entries.iter().map(|e| ctx.locate(&e.span)).collect(),
        entries: entries.into_iter().map(|e| e.value).collect(),
    })
}

/// One entry of the lookup `class` (`label` in messages): not empty, not too long, not only
/// stop words, not listed twice in the class (`written`, by folded text), in no other
/// class (`owners`, by stems).
fn check_lookup_entry(
    ctx: &mut Ctx<'_>,
    label: &str,
    class: &str,
    entry: &Located<String>,
    written: &mut HashMap<String, Location>,
    owners: &mut HashMap<String, (String, Location)>,
) {
    let chars = entry.value.chars().count();
    let key = lookup_key(&entry.value);
    if key.is_empty() {
        let message = format!("empty entry in {label}: an entry needs a letter or a digit");
        ctx.error(&entry.span, message);
        return;
    }
    if chars > MAX_LOOKUP_ENTRY_CHARS {
        let message = format!(
            "entry of {label} is too long: {chars} characters (at most {MAX_LOOKUP_ENTRY_CHARS})"
        );
        ctx.error(&entry.span, message);
        return;
    }
    let cleaned = clean(&entry.value);
    if words(&cleaned).into_iter().all(is_stop_word) {
        let message = format!(
            "entry \"{}\" of {label} is made of common words only, which nearly every \
             question uses",
            entry.value
        );
        ctx.error(&entry.span, message);
        return;
    }
    let folded = fold(&entry.value);
    if let Some(first) = written.get(&folded) {
        let message = format!(
            "entry \"{}\" is listed twice in {label} (first at {})",
            entry.value,
            at(first)
        );
        ctx.error(&entry.span, message);
        return;
    }
    written.insert(folded, ctx.locate(&entry.span));
    match owners.get(&key) {
        Some((other, first)) if other != class => {
            let message = format!(
                "entry \"{}\" of lookup `{class}` is also in lookup `{other}` ({}); an entry \
                 belongs to one class",
                entry.value,
                at(first)
            );
            ctx.error(&entry.span, message);
        }
        Some(_) => {}
        None => {
            owners.insert(key, (class.to_owned(), ctx.locate(&entry.span)));
        }
    }
}

/// The intents of one intent file as the loader reads them, by id with their string
/// examples, whatever else is wrong with them: what an edit needs to find an intent and
/// refuse a duplicate example. `Err` when the text is not TOML.
pub fn intent_examples(path: &Path, text: &str) -> Result<Vec<(String, Vec<String>)>, Diagnostic> {
    let mut ignored = Vec::new();
    let mut ctx = Ctx::new(path, text, &mut ignored);
    let doc = parse_toml(&ctx, text)?;
    // Patterns are not needed here: a limit of 0 characters refuses each one uncompiled.
    let intents = read_intents(&mut ctx, &doc, 0);
    Ok(intents.into_iter().map(|i| (i.id, i.examples)).collect())
}

/// The `[[intent]]` tables of a parsed intent file, each checked on its own.
fn read_intents(
    ctx: &mut Ctx<'_>,
    doc: &ImDocument<&str>,
    max_pattern_chars: usize,
) -> Vec<Intent> {
    let records = records(ctx, doc.as_table(), &["intent"], "an intent file");
    records
        .into_iter()
        .filter_map(|record| read_intent(ctx, record, max_pattern_chars))
        .collect()
}

/// Reads one `canonical = [...]` entry. `owners` maps each variant seen so far (folded)
/// to its canonical and place, to report a variant given to two canonicals.
fn read_synonym(
    ctx: &mut Ctx<'_>,
    canonical: &str,
    item: &Item,
    key_span: Span,
    owners: &mut HashMap<String, (String, Location)>,
) -> Synonym {
    if canonical.trim().is_empty() {
        ctx.error(
            &key_span,
            "empty synonym key: the canonical word must not be empty",
        );
    }
    let what = format!("synonym `{canonical}`");
    let value_span = item.span().or_else(|| key_span.clone());
    let variants = string_list(ctx, item, value_span, &what).unwrap_or_default();
    for variant in &variants {
        let key = fold(&variant.value);
        if key.is_empty() {
            ctx.error(&variant.span, format!("empty string in {what}"));
            continue;
        }
        match owners.get(&key) {
            Some((other, first)) if other != canonical => {
                let message = format!(
                    "synonym variant \"{}\" is mapped to both `{other}` ({}) and `{canonical}`",
                    variant.value,
                    at(first)
                );
                ctx.error(&variant.span, message);
            }
            Some(_) => {}
            None => {
                owners.insert(key, (canonical.to_string(), ctx.locate(&variant.span)));
            }
        }
    }
    Synonym {
        canonical: canonical.to_string(),
        variants: variants.into_iter().map(|v| v.value).collect(),
        location: ctx.locate(&key_span),
    }
}

// ---------------------------------------------------------------------------
// Field checks
// ---------------------------------------------------------------------------

/// The longest intent id: ids travel inside Discord's 100-character component ids.
pub const MAX_INTENT_ID: usize = 64;

/// `area.name`, each part `[a-z0-9_]+`, at most `MAX_INTENT_ID` characters.
fn is_intent_id(id: &str) -> bool {
    if id.len() > MAX_INTENT_ID {
        return false;
    }
    let word = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
    };
    matches!(id.split_once('.'), Some((area, name)) if word(area) && word(name))
}

/// `[a-z0-9_-]+`.
fn is_course_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-')
}

/// The record's `id`, reported unless `valid` (`rule` says why not); once read, the record
/// is named after it in messages (`intent `a.b``).
fn read_id(
    ctx: &mut Ctx<'_>,
    record: &mut Record<'_>,
    valid: fn(&str) -> bool,
    rule: &str,
) -> Option<Located<String>> {
    let id = record.required_str(ctx, "id")?;
    let kind = record.label.clone();
    if !valid(&id.value) {
        ctx.error(
            &id.span,
            format!("invalid {kind} id `{}`: {rule}", id.value),
        );
    }
    record.label = format!("{kind} `{}`", id.value);
    Some(id)
}

/// A required text field, checked by [`check_text`].
fn required_text(
    ctx: &mut Ctx<'_>,
    record: &Record<'_>,
    field: &str,
    max: usize,
) -> Option<Located<String>> {
    let text = record.required_str(ctx, field)?;
    check_text(ctx, &text, field, max);
    Some(text)
}

/// A non-empty text of at most `max` characters.
fn check_text(ctx: &mut Ctx<'_>, text: &Located<String>, field: &str, max: usize) {
    let chars = text.value.chars().count();
    if text.value.trim().is_empty() {
        ctx.error(&text.span, format!("`{field}` must not be empty"));
    } else if chars > max {
        let message = format!("`{field}` is too long: {chars} characters (at most {max})");
        ctx.error(&text.span, message);
    }
}

fn check_no_empty_strings(ctx: &mut Ctx<'_>, items: &[Located<String>], field: &str) {
    for item in items.iter().filter(|item| item.value.trim().is_empty()) {
        ctx.error(&item.span, format!("empty string in `{field}`"));
    }
}

/// The pattern checked (see [`Pattern::new`]) with where it is written, or `None` after
/// reporting why it cannot be used.
fn check_pattern(
    ctx: &mut Ctx<'_>,
    pattern: &Located<String>,
    max_chars: usize,
) -> Option<(Pattern, Location)> {
    match Pattern::new(&pattern.value, max_chars) {
        Ok(checked) => Some((checked, ctx.locate(&pattern.span))),
        Err(err) => {
            ctx.error(&pattern.span, err.to_string());
            None
        }
    }
}

/// Why `url` is not an `https://host/...` URL, if it is not.
fn url_problem(url: &str) -> Option<String> {
    match url::Url::parse(url) {
        Err(err) => Some(format!("invalid `url` \"{url}\": {err}")),
        Ok(parsed) if parsed.scheme() != "https" => Some(format!(
            "`url` must use https, found `{}:` in \"{url}\"",
            parsed.scheme()
        )),
        Ok(parsed) if parsed.host_str().is_none_or(str::is_empty) => {
            Some(format!("`url` \"{url}\" has no host"))
        }
        Ok(_) => None,
    }
}

// ---------------------------------------------------------------------------
// Intents
// ---------------------------------------------------------------------------

/// Reads and checks one `[[intent]]` table; `None` when it has no usable string `id`.
fn read_intent(
    ctx: &mut Ctx<'_>,
    mut record: Record<'_>,
    max_pattern_chars: usize,
) -> Option<Intent> {
    let rule = format!(
        "expected `area.name`, lowercase letters, digits and `_` (e.g. `billing.refund`), \
         at most {MAX_INTENT_ID} characters"
    );
    let id = read_id(ctx, &mut record, is_intent_id, &rule);
    record.check_fields(ctx, INTENT_FIELDS);
    let title = required_text(ctx, &record, "title", MAX_TITLE_CHARS);
    let answer = required_text(ctx, &record, "answer", MAX_ANSWER_CHARS);
    let details = record.optional_str(ctx, "details");
    if let Some(details) = &details {
        check_text(ctx, details, "details", MAX_ANSWER_CHARS);
    }
    let examples = record.str_list(ctx, "examples");
    let patterns = record.str_list(ctx, "patterns");
    let keywords = record.str_list(ctx, "keywords").unwrap_or_default();
    let courses = record.str_list(ctx, "courses").unwrap_or_default();
    let follow_ups = record.str_list(ctx, "follow_ups").unwrap_or_default();
    let action = read_action(ctx, &record);
    let decline = record.optional_bool(ctx, "decline").unwrap_or(false);
    let unlisted = !record.optional_bool(ctx, "listed").unwrap_or(true);
    let code_only = record.optional_bool(ctx, "code_only").unwrap_or(false);
    let min_confidence = record.optional_share(ctx, "min_confidence");

    check_no_empty_strings(ctx, examples.as_deref().unwrap_or_default(), "examples");
    check_no_empty_strings(ctx, &keywords, "keywords");
    let (checked, pattern_locations): (Vec<Pattern>, Vec<Location>) = patterns
        .iter()
        .flatten()
        .filter_map(|p| check_pattern(ctx, p, max_pattern_chars))
        .unzip();
    warn_repeated_examples(ctx, &record, examples.as_deref().unwrap_or_default());
    if let (Some(examples), Some(patterns)) = (&examples, &patterns) {
        // A `more` intent is a formula ("tell me more", "why?"), matched by its patterns.
        let by_patterns = action == Some(Action::More);
        check_example_count(ctx, &record, examples.len(), patterns.len(), by_patterns);
    }

    let id = id?;
    let locations = |ctx: &Ctx<'_>, items: &[Located<String>]| -> Vec<Location> {
        items.iter().map(|item| ctx.locate(&item.span)).collect()
    };
    let examples = examples.unwrap_or_default();
    let values = |items: Vec<Located<String>>| items.into_iter().map(|i| i.value).collect();
    Some(Intent {
        id: id.value,
        title: title.map(|t| t.value).unwrap_or_default(),
        answer: answer.map(|a| a.value).unwrap_or_default(),
        details: details.map(|d| d.value),
        location: ctx.locate(&record.span),
        example_locations: locations(ctx, &examples),
        course_locations: locations(ctx, &courses),
        follow_up_locations: locations(ctx, &follow_ups),
        examples: values(examples),
        keywords: values(keywords),
        patterns: checked,
        pattern_locations,
        courses: values(courses),
        follow_ups: values(follow_ups),
        action,
        decline,
        unlisted,
        code_only,
        min_confidence,
    })
}

fn read_action(ctx: &mut Ctx<'_>, record: &Record<'_>) -> Option<Action> {
    let name = record.optional_str(ctx, "action")?;
    let action = ACTIONS
        .iter()
        .find(|(n, _)| *n == name.value)
        .map(|(_, a)| *a);
    if action.is_none() {
        let known: Vec<&str> = ACTIONS.iter().map(|(n, _)| *n).collect();
        let message = format!(
            "unknown action `{}` (expected {})",
            name.value,
            known.join(" or ")
        );
        ctx.error(&name.span, message);
    }
    action
}

/// No examples and no patterns: an error; a few examples: a warning, unless the intent is
/// meant to be matched `by_patterns`.
fn check_example_count(
    ctx: &mut Ctx<'_>,
    record: &Record<'_>,
    examples: usize,
    patterns: usize,
    by_patterns: bool,
) {
    let label = &record.label;
    if examples == 0 && patterns == 0 {
        let message = format!("{label} has no examples and no patterns, so it can never match");
        ctx.error(&record.span, message);
    } else if examples < MIN_EXAMPLES_WITHOUT_WARNING && !(by_patterns && patterns > 0) {
        let message = format!(
            "{label} has only {examples} example(s); at least {MIN_EXAMPLES_WITHOUT_WARNING} \
             are recommended"
        );
        ctx.warning(&record.span, message);
    }
}

fn warn_repeated_examples(ctx: &mut Ctx<'_>, record: &Record<'_>, examples: &[Located<String>]) {
    let mut seen: HashMap<String, Location> = HashMap::new();
    for example in examples {
        let key = normalize_example(&example.value);
        if key.is_empty() {
            continue;
        }
        if let Some(first) = seen.get(&key) {
            let message = format!(
                "example \"{}\" is listed twice in {} (first at line {})",
                example.value, record.label, first.line
            );
            ctx.warning(&example.span, message);
        } else {
            seen.insert(key, ctx.locate(&example.span));
        }
    }
}

// ---------------------------------------------------------------------------
// Courses
// ---------------------------------------------------------------------------

/// Reads and checks one `[[course]]` table; `None` when it has no usable string `id`
/// (other broken fields are reported and left at a placeholder value).
fn read_course(ctx: &mut Ctx<'_>, mut record: Record<'_>) -> Option<Course> {
    let rule = "use lowercase letters, digits, `_` and `-`";
    let id = read_id(ctx, &mut record, is_course_id, rule);
    record.check_fields(ctx, COURSE_FIELDS);
    let title = required_text(ctx, &record, "title", MAX_COURSE_TITLE_CHARS);
    let provider = required_text(ctx, &record, "provider", MAX_COURSE_TITLE_CHARS);
    let url = record.required_str(ctx, "url");
    if let Some(url) = &url {
        if let Some(problem) = url_problem(&url.value) {
            ctx.error(&url.span, problem);
        }
    }
    let topics = read_topics(ctx, &record);
    let level = read_level(ctx, &record);
    let free = record.required_bool(ctx, "free");
    let summary = record.optional_str(ctx, "summary");
    Some(Course {
        location: ctx.locate(&record.span),
        id: id?.value,
        title: title.map(|t| t.value).unwrap_or_default(),
        provider: provider.map(|p| p.value).unwrap_or_default(),
        url: url.map(|u| u.value).unwrap_or_default(),
        topics: topics.unwrap_or_default(),
        level: level.unwrap_or(Level::Beginner),
        free: free.unwrap_or(false),
        summary: summary.map(|s| s.value),
    })
}

fn read_topics(ctx: &mut Ctx<'_>, record: &Record<'_>) -> Option<Vec<String>> {
    let Some((_, span)) = record.get("topics") else {
        record.missing(ctx, "topics");
        return None;
    };
    let topics = record.str_list(ctx, "topics")?;
    check_no_empty_strings(ctx, &topics, "topics");
    if topics.is_empty() {
        ctx.error(&span, "`topics` must list at least one topic");
    }
    Some(topics.into_iter().map(|t| t.value).collect())
}

fn read_level(ctx: &mut Ctx<'_>, record: &Record<'_>) -> Option<Level> {
    if record.get("level").is_none() {
        record.missing(ctx, "level");
        return None;
    }
    let level = record.optional_str(ctx, "level")?;
    match level.value.parse::<Level>() {
        Ok(level) => Some(level),
        Err(message) => {
            ctx.error(&level.span, message);
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::super::samples::{fixture, BASE, COURSE, OTHER};
    use super::super::Draft;
    use super::*;

    #[test]
    fn a_complete_intent_is_read_with_its_locations() {
        let text = format!(
            "{BASE}keywords = [\"k\"]\npatterns = ['\\bx\\b']\ncourses = [\"c1\"]\n\
             follow_ups = [\"c.d\"]\naction = \"search_courses\"\n\n{OTHER}"
        );
        let mut diags = Vec::new();
        let intents = parse_intent_file(Path::new("f.toml"), &text, 1000, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let intent = &intents[0];
        assert_eq!((intent.id.as_str(), intent.title.as_str()), ("a.b", "T"));
        assert_eq!(intent.examples, ["a1", "a2", "a3", "a4", "a5"]);
        let patterns: Vec<&str> = intent.patterns.iter().map(Pattern::as_str).collect();
        assert_eq!(patterns, ["\\bx\\b"]);
        assert_eq!(
            (intent.courses.clone(), intent.follow_ups.clone()),
            (vec!["c1".into()], vec!["c.d".into()])
        );
        assert_eq!(intent.action, Some(Action::SearchCourses));
        let pos = |l: &Location| (l.line, l.col);
        assert_eq!(pos(&intent.location), (1, 1));
        assert_eq!(
            intent.example_locations.iter().map(pos).collect::<Vec<_>>(),
            [(5, 13), (5, 19), (5, 25), (5, 31), (5, 37)]
        );
        assert_eq!(pos(&intent.course_locations[0]), (8, 12));
        assert_eq!(pos(&intent.follow_up_locations[0]), (9, 15));
        assert_eq!(pos(&intents[1].location), (12, 1));
    }

    #[test]
    fn details_listed_and_the_more_action_are_read() {
        let text = format!(
            "{BASE}details = \"D\"\nlisted = false\naction = \"more\"\ncode_only = true\n\
             min_confidence = 0.9\n\n{OTHER}min_confidence = 1\n"
        );
        let mut diags = Vec::new();
        let intents = parse_intent_file(Path::new("f.toml"), &text, 1000, &mut diags);
        assert!(diags.is_empty(), "{diags:?}");
        let intent = &intents[0];
        assert_eq!(intent.details.as_deref(), Some("D"));
        assert_eq!(intent.action, Some(Action::More));
        assert!(intent.unlisted && !intent.is_topic());
        assert!(intent.code_only && !intents[1].code_only);
        assert_eq!(intent.min_confidence, Some(0.9));
        assert_eq!(
            intents[1].min_confidence,
            Some(1.0),
            "an integer is a number too"
        );
        // Left out, each has its everyday meaning.
        let other = &intents[1];
        assert_eq!(other.details, None);
        assert!(!other.unlisted && other.is_topic());
        let text = format!("{BASE}listed = \"no\"\n");
        parse_intent_file(Path::new("f.toml"), &text, 1000, &mut diags);
        assert_eq!(diags.len(), 1, "{diags:?}");
        assert!(
            diags[0].message.contains("`listed` must be true or false"),
            "{diags:?}"
        );
    }

    #[test]
    fn courses_and_synonyms_are_read() {
        let mut diags = Vec::new();
        let text = format!("{COURSE}summary = \"S\"\n");
        let (courses, _) = parse_course_file(Path::new("courses.toml"), &text, &mut diags);
        let synonyms = parse_synonym_file(
            Path::new("s.toml"),
            "\n dev = [\"d\", \"coder\"]\n",
            &mut diags,
        );
        assert!(diags.is_empty(), "{diags:?}");
        let c = &courses[0];
        assert_eq!(
            (c.id.as_str(), c.url.as_str(), c.level, c.free),
            ("c1", "https://example.org/c", Level::Beginner, true)
        );
        assert_eq!(
            (c.topics.clone(), c.summary.clone()),
            (vec!["t".into()], Some("S".into()))
        );
        assert_eq!(
            (synonyms[0].canonical.as_str(), synonyms[0].variants.clone()),
            ("dev", vec!["d".into(), "coder".into()])
        );
        assert_eq!(
            (synonyms[0].location.line, synonyms[0].location.col),
            (2, 2)
        );
    }

    #[test]
    fn an_edit_reads_ids_and_examples_whatever_else_is_wrong() {
        let text = format!(
            "{BASE}titel = 1\n\n[[intent]]\nid = \"x.y\"\nexamples = \"one\"\n\n\
             [[intent]]\ntitle = \"no id\"\n"
        );
        let read = intent_examples(Path::new("f.toml"), &text).unwrap();
        let a_b: Vec<String> = ["a1", "a2", "a3", "a4", "a5"].map(String::from).into();
        assert_eq!(read, [("a.b".into(), a_b), ("x.y".into(), Vec::new())]);

        let syntax = intent_examples(Path::new("f.toml"), "[[intent]\n").unwrap_err();
        assert_eq!((syntax.line, syntax.col), (1, 9));
        assert!(syntax.message.starts_with("TOML syntax error"), "{syntax}");
    }

    #[test]
    fn garbage_never_panics() {
        let mut inputs: Vec<String> = vec![
            "\0\0\0".into(),
            format!("a = {}", "[".repeat(10_000)),
            format!("a = {}", "{b = ".repeat(10_000)),
            "[[intent]]\nid = 1\n[[intent]]\n".into(),
            "intent = [1, {id = []}]\ncourse = 2\n".into(),
        ];
        // Every prefix of a complete file.
        let full = std::fs::read_to_string(fixture("good/role.toml")).unwrap();
        inputs.extend(full.char_indices().map(|(i, _)| full[..i].to_string()));
        // Pseudo-random bytes.
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        for _ in 0..200 {
            let bytes: Vec<u8> = (0..64)
                .map(|_| {
                    seed = seed.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                    b"[]{}=\"'\n.,# ax\\\0\xc3"[(seed >> 59) as usize % 17]
                })
                .collect();
            inputs.push(String::from_utf8_lossy(&bytes).into_owned());
        }
        for text in &inputs {
            let mut diags = Vec::new();
            let path = Path::new("x.toml");
            let draft = Draft {
                dir: PathBuf::from("d"),
                intents: parse_intent_file(path, text, 1000, &mut diags),
                courses: parse_course_file(path, text, &mut diags).0,
                course_aliases: parse_course_file(path, text, &mut diags).1,
                synonyms: parse_synonym_file(path, text, &mut diags),
                lookups: parse_lookup_file(path, text, &mut diags),
            };
            super::super::check::validate(&draft, &mut diags);
            let _ = intent_examples(path, text);
        }
    }
}
