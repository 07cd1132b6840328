//! The settings as written, before any check: the layers (the built-in
//! `config/default.toml`, then `--config FILE`, then `CAREERBOT_<SECTION>__<KEY>` environment
//! variables) merged key by key into [`RawSettings`], plain serde structs in the file's own
//! terms (`0` and `""` for "none", ids as numbers, durations as counts).
//!
//! The built-in defaults hold every key, so they are also the schema: a key they lack is
//! unknown, and a value must have its default's type (an integer will do for a number);
//! environment values are parsed as that type. A numeric value must also be in its key's
//! [`Range`]. A bad value is recorded with the layer it came from (a file's line and column,
//! or the variable) and left out, so one load reports every bad key, not just the first, and
//! nothing out of range reaches the typed settings.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use serde::Deserialize;
use toml_edit::{DocumentMut, ImDocument, Item, Value};

use super::ranges::range_of;
use super::{
    ConversationSettings, LogSettings, Problem, ReplySettings, Secret, DEFAULT_TOML, TOKEN_VARIABLE,
};
use crate::engine::intents::Limits;
use crate::engine::matcher::MatcherSettings;

/// Old names still accepted, each with the key it now sets.
const RENAMED: [(&str, &str); 1] = [("matcher.aggressiveness", "matcher.svm_c")];

/// The one key the defaults lack: the bot token, taken from the environment only.
const TOKEN_KEY: &str = "discord.token";

/// `CAREERBOT_<SECTION>__<KEY>` sets `section.key`.
const ENV_PREFIX: &str = "CAREERBOT_";

/// Where a setting's value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    Defaults,
    /// A `--config` file, at the value's line and column (both from 1).
    File {
        path: PathBuf,
        line: usize,
        column: usize,
    },
    Env(String),
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Defaults => f.write_str("the built-in defaults"),
            Source::File { path, line, column } => {
                write!(f, "{}:{line}:{column}", path.display())
            }
            Source::Env(name) => write!(f, "environment variable {name}"),
        }
    }
}

/// Every setting as written; each is documented in `config/default.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSettings {
    pub intents_dir: PathBuf,
    pub matcher: MatcherSettings,
    pub limits: Limits,
    pub replies: ReplySettings,
    pub conversation: ConversationSettings,
    pub discord: RawDiscord,
    pub admin: RawAdmin,
    pub web: RawWeb,
    pub log: LogSettings,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawWeb {
    pub listen: String,
    pub public_url: String,
    pub client_id: u64,
    pub session_hours: u64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDiscord {
    pub api_base: String,
    pub answer_channels: Vec<u64>,
    pub forum_channels: Vec<u64>,
    pub solved_tag: String,
    pub reply_in_thread: bool,
    pub shards: String,
    pub total_shards: u32,
    pub dev_guild: u64,
    pub admin_channel: u64,
    pub channel_min_confidence: f32,
    pub cooldown_questions: u32,
    pub cooldown_seconds: u64,
    pub max_concurrent_replies: usize,
    pub request_timeout_seconds: u64,
    #[serde(default)]
    pub token: Option<Secret>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    pub watch: bool,
    pub watch_debounce_ms: u64,
    pub reload_gate: RawGate,
    pub database: String,
    pub retention_days: u32,
    pub unanswered_below: f32,
    pub group_similarity: f64,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGate {
    pub cases: PathBuf,
    pub min_accuracy: f64,
}

/// The layers merged, where each key that is not a default came from, and every problem
/// found so far.
pub struct Layers {
    defaults: DocumentMut,
    merged: DocumentMut,
    sources: HashMap<String, Source>,
    problems: Vec<Problem>,
}

impl Layers {
    /// Merges the defaults, `file` and the `CAREERBOT_*` variables of `env`. Only a file that
    /// is missing or not TOML stops here; a bad key is recorded and skipped.
    pub fn read(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> anyhow::Result<Layers> {
        let defaults: DocumentMut = DEFAULT_TOML
            .parse()
            .expect("the built-in defaults are TOML");
        let mut layers = Layers {
            merged: defaults.clone(),
            defaults,
            sources: HashMap::new(),
            problems: Vec::new(),
        };
        if let Some(path) = file {
            anyhow::ensure!(
                path.is_file(),
                "config file {} does not exist",
                path.display()
            );
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            let parsed = ImDocument::parse(text.as_str())
                .with_context(|| format!("invalid settings in {}", path.display()))?;
            let mut spanned = Vec::new();
            leaves_of("", parsed.as_item(), &mut spanned);
            let places: HashMap<String, (usize, usize)> = spanned
                .into_iter()
                .map(|(key, item)| (key, place(&text, item)))
                .collect();
            // Values are taken from the editable document: a parsed one only points into
            // the text.
            let document = parsed.into_mut();
            let mut leaves = Vec::new();
            leaves_of("", document.as_item(), &mut leaves);
            for (key, value) in leaves {
                let (line, column) = places.get(&key).copied().unwrap_or((1, 1));
                let source = Source::File {
                    path: path.to_owned(),
                    line,
                    column,
                };
                layers.set(&key, value.clone(), source, written(value));
            }
        }
        for (name, text) in env {
            let Some(key) = name.strip_prefix(ENV_PREFIX) else {
                continue;
            };
            let key = key.to_lowercase().replace("__", ".");
            let key = canonical(&key);
            let source = Source::Env(name.clone());
            match layers
                .default_of(key)
                .map(|default| parse_as(default, &text))
            {
                Some(Err(message)) => {
                    layers.refuse(key, Some(format!("{text:?}")), source, message);
                }
                // Shown as the variable says it, not as the number it was read as.
                Some(Ok(value)) => layers.set(key, value, source, Some(format!("{text:?}"))),
                None => layers.set(key, toml_edit::value(text), source, None),
            }
        }
        Ok(layers)
    }

    /// Sets `key` from a layer, unless the key is unknown or the value of the wrong type or
    /// out of the key's range. `as_written` is the value as a message shows it.
    fn set(&mut self, key: &str, value: Item, source: Source, as_written: Option<String>) {
        let key = canonical(key);
        let refusal = match (key, self.default_of(key), range_of(key)) {
            (TOKEN_KEY, _, _) if matches!(source, Source::File { .. }) => Some(format!(
                "the Discord token must not be in a config file; set {TOKEN_VARIABLE} in the \
                 environment instead"
            )),
            (TOKEN_KEY, _, _) => None,
            (_, None, _) => Some("unknown setting".to_owned()),
            // A numeric setting says what it takes, whatever it was given.
            (_, _, Some(range)) if !range.holds(&value) => Some(range.to_string()),
            (_, Some(default), _) if !fits(default, &value) => Some(format!(
                "expected {} (like the default), not {}",
                default.type_name(),
                value.type_name()
            )),
            _ => None,
        };
        if let Some(message) = refusal {
            // Values are shown only for known keys: a token must never be printed.
            let shown = key != TOKEN_KEY && self.default_of(key).is_some();
            let value = shown.then_some(as_written).flatten();
            self.refuse(key, value, source, message);
            return;
        }
        let slot = key
            .split('.')
            .fold(self.merged.as_item_mut(), |item, part| &mut item[part]);
        *slot = value;
        self.sources.insert(key.to_owned(), source);
    }

    /// The built-in default of `key`, if it is a key of the defaults.
    fn default_of(&self, key: &str) -> Option<&Item> {
        lookup(&self.defaults, key)
    }

    /// Where the value of `key` came from.
    pub fn source(&self, key: &str) -> Source {
        self.sources.get(key).cloned().unwrap_or(Source::Defaults)
    }

    /// Records that the merged value of `key` is bad unless `ok`.
    pub fn ensure(&mut self, key: &str, ok: bool, message: &str) {
        if !ok {
            let value = lookup(&self.merged, key).and_then(written);
            self.refuse(key, value, self.source(key), message.to_owned());
        }
    }

    /// [`Layers::ensure`] for a value that may hold a secret (a database URL with its
    /// password): the problem is reported without the value.
    pub fn ensure_secret(&mut self, key: &str, ok: bool, message: &str) {
        if !ok {
            self.refuse(key, None, self.source(key), message.to_owned());
        }
    }

    fn refuse(&mut self, key: &str, value: Option<String>, source: Source, message: String) {
        self.problems.push(Problem {
            key: key.to_owned(),
            value,
            source,
            message,
        });
    }

    /// The merged settings. Values of the wrong type or out of range were left out, and every
    /// range fits its field (a unit test loads each range's ends), so this does not fail on
    /// any value a layer can give.
    pub fn raw(&self) -> anyhow::Result<RawSettings> {
        toml_edit::de::from_document(self.merged.clone()).context("invalid settings")
    }

    /// Every problem found, ordered by key.
    pub fn into_problems(mut self) -> Vec<Problem> {
        self.problems.sort_by(|a, b| a.key.cmp(&b.key));
        self.problems
    }
}

/// The key an old name now sets, or `key` itself.
fn canonical(key: &str) -> &str {
    RENAMED
        .iter()
        .find(|(old, _)| *old == key)
        .map_or(key, |(_, new)| new)
}

/// The item at dotted `key` in `document`.
fn lookup<'a>(document: &'a DocumentMut, key: &str) -> Option<&'a Item> {
    key.split('.')
        .try_fold(document.as_item(), |item, part| item.get(part))
}

/// Every value of `item` (recursing into tables), with its dotted key.
pub(super) fn leaves_of<'a>(prefix: &str, item: &'a Item, out: &mut Vec<(String, &'a Item)>) {
    let Some(table) = item.as_table_like() else {
        out.push((prefix.to_owned(), item));
        return;
    };
    for (key, item) in table.iter() {
        let key = if prefix.is_empty() {
            key.to_owned()
        } else {
            format!("{prefix}.{key}")
        };
        leaves_of(&key, item, out);
    }
}

/// Whether `value` may replace `default`: the same type, or an integer for a number.
fn fits(default: &Item, value: &Item) -> bool {
    default.type_name() == value.type_name() || (default.is_float() && value.is_integer())
}

/// The line and column (from 1, in characters) where a parsed `item` starts in `text`.
fn place(text: &str, item: &Item) -> (usize, usize) {
    let start = item.span().map_or(0, |span| span.start);
    let before = text.get(..start).unwrap_or_default();
    let line_start = before.rfind('\n').map_or(0, |at| at + 1);
    (
        before.matches('\n').count() + 1,
        before[line_start..].chars().count() + 1,
    )
}

/// An environment variable's text as a value of the default's type; a list is
/// comma-separated numbers (`discord.answer_channels`, `discord.forum_channels`). A number is read as
/// any number, whole or not, so its key's range can say what it takes ("1.9" for a count).
fn parse_as(default: &Item, text: &str) -> Result<Item, String> {
    let value: Value = match default {
        Item::Value(Value::String(_)) => text.into(),
        Item::Value(Value::Integer(_) | Value::Float(_)) => number(text)?,
        Item::Value(Value::Boolean(_)) => text
            .trim()
            .to_lowercase()
            .parse::<bool>()
            .map_err(|_| "expected true or false".to_owned())?
            .into(),
        Item::Value(Value::Array(_)) => text
            .split(',')
            .map(str::trim)
            .filter(|part| !part.is_empty())
            .map(number)
            .collect::<Result<toml_edit::Array, _>>()?
            .into(),
        _ => return Err(format!("a {} cannot be set here", default.type_name())),
    };
    Ok(Item::Value(value))
}

fn whole(text: &str) -> Result<i64, String> {
    text.trim()
        .parse()
        .map_err(|_| "expected a whole number".to_owned())
}

/// A whole number when the text is one (and fits an `i64`), else any number: "inf" and
/// "NaN" too, for the range to refuse.
fn number(text: &str) -> Result<Value, String> {
    whole(text).map(Value::from).or_else(|_| {
        text.trim()
            .parse::<f64>()
            .map(Value::from)
            .map_err(|_| "expected a number".to_owned())
    })
}

/// A value as TOML, for messages.
fn written(item: &Item) -> Option<String> {
    let mut value = item.as_value()?.clone();
    value.decor_mut().clear();
    Some(value.to_string())
}
