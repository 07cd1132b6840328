//! Settings, layered: the documented `config/default.toml` (built into the binary, so the
//! defaults live in one place), then the file given with `--config`, then environment
//! variables `CAREERBOT_<SECTION>__<KEY>` (e.g. `CAREERBOT_MATCHER__FALLBACK_BELOW=0.4`).

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use config::{Config, Environment, File, FileFormat};
use serde::Deserialize;

use crate::engine::matcher::MatcherSettings;

/// The shipped, documented defaults.
pub const DEFAULT_TOML: &str = include_str!("../config/default.toml");

/// Every setting of careerbot. Each field is documented in `config/default.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Directory of intent files, relative to the working directory.
    pub intents_dir: PathBuf,
    pub matcher: MatcherSettings,
    pub replies: ReplySettings,
    pub discord: DiscordSettings,
    pub admin: AdminSettings,
    pub log: LogSettings,
}

/// The admin loop: live reload, the reload gate, the store and the unanswered queue.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSettings {
    /// Watch the intents directory and reload on a change (`run` and `chat`).
    pub watch: bool,
    /// Changes closer together than this make one reload.
    pub watch_debounce_ms: u64,
    /// A valid set must also pass this before it goes live.
    pub reload_gate: GateSettings,
    /// The SQLite file of questions and votes ("" keeps nothing).
    pub database: PathBuf,
    /// Records older than this many days are deleted (daily). 0 keeps everything.
    pub retention_days: u32,
    /// A question whose confidence is below this (or that fell back) joins the unanswered queue.
    pub unanswered_below: f32,
    /// Unanswered questions at least this similar (normalized Levenshtein) form one group.
    pub group_similarity: f64,
}

/// The regression gate of a reload.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GateSettings {
    /// A cases file (JSON lines `{"text", "intent" | null}`); "" for no gate.
    pub cases: PathBuf,
    /// The accuracy a new set needs on those cases, in [0, 1].
    pub min_accuracy: f64,
}

/// The Discord front end (`careerbot run`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiscordSettings {
    /// Where REST calls and the gateway lookup go; Discord's own by default.
    pub api_base: String,
    /// Channels whose plain messages are answered without a mention.
    pub answer_channels: Vec<u64>,
    /// A guild to register the slash commands in at once (0: register globally).
    pub dev_guild: u64,
    /// A channel for messages to the server's admins (0: none).
    pub admin_channel: u64,
    /// The confidence an unmentioned message in `answer_channels` needs to be answered.
    pub channel_min_confidence: f32,
    /// Per user: at most `cooldown_questions` questions every `cooldown_seconds` (0: off).
    pub cooldown_questions: u32,
    pub cooldown_seconds: u64,
    /// At most this many replies are being sent to Discord at once.
    pub max_concurrent_replies: usize,
    /// The bot token: only from the environment (`DISCORD_TOKEN` or
    /// `CAREERBOT_DISCORD__TOKEN`); a config file that sets it is refused.
    #[serde(default)]
    pub token: Option<Secret>,
}

/// Discord's own API, the default `api_base`.
pub const DISCORD_API: &str = "https://discord.com";

/// The environment variable the bot token comes from.
pub const TOKEN_VARIABLE: &str = "DISCORD_TOKEN";

/// A value that must never be printed: its `Debug` shows only that it is there.
#[derive(Clone, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// The layered config's environment override of `discord.token`.
pub const TOKEN_OVERRIDE: &str = "CAREERBOT_DISCORD__TOKEN";

/// Why `careerbot run` cannot use the token it was given.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TokenError {
    #[error("{TOKEN_VARIABLE} is not set: create a bot at https://discord.com/developers/applications and export its token (or use `careerbot chat` offline)")]
    Missing,
    /// `variable` is the one the bad value came from.
    #[error("{variable} is not a Discord bot token (expected three parts separated by dots)")]
    Malformed { variable: &'static str },
}

impl DiscordSettings {
    /// The bot token: `DISCORD_TOKEN`, else the layered `discord.token` (environment only:
    /// `CAREERBOT_DISCORD__TOKEN`), checked for the shape of a Discord token. A variable set
    /// to blanks counts as unset.
    pub fn token(&self) -> Result<Secret, TokenError> {
        let given = |token: Option<String>| token.filter(|t| !t.trim().is_empty());
        let (token, variable) = given(std::env::var(TOKEN_VARIABLE).ok())
            .map(|t| (t, TOKEN_VARIABLE))
            .or_else(|| {
                given(self.token.as_ref().map(|t| t.0.clone())).map(|t| (t, TOKEN_OVERRIDE))
            })
            .ok_or(TokenError::Missing)?;
        let token = Secret(token.trim().to_owned());
        if token.0.chars().any(|c| c.is_whitespace() || c.is_control())
            || serenity::utils::validate_token(&token.0).is_err()
        {
            return Err(TokenError::Malformed { variable });
        }
        Ok(token)
    }
}

/// The bot's own words around answers (the answers themselves live in the intent files).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplySettings {
    /// Said when no intent is close enough.
    pub fallback: String,
    /// Introduces the suggestions of a fallback.
    pub suggestions: String,
    /// Asks which of the close candidates was meant.
    pub clarify: String,
    /// Said to a mention without a question.
    pub prompt: String,
    /// Said once per cooldown window to a user asking too fast.
    pub throttled: String,
}

/// Logging (`tracing`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `careerbot=debug`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Settings {
    /// Values out of their range are refused with the key's name.
    fn check(&self) -> anyhow::Result<()> {
        let fractions = [
            ("matcher.fallback_below", self.matcher.fallback_below as f64),
            ("matcher.suggest_above", self.matcher.suggest_above as f64),
            (
                "discord.channel_min_confidence",
                self.discord.channel_min_confidence as f64,
            ),
            ("admin.unanswered_below", self.admin.unanswered_below as f64),
            ("admin.group_similarity", self.admin.group_similarity),
            (
                "admin.reload_gate.min_accuracy",
                self.admin.reload_gate.min_accuracy,
            ),
        ];
        for (key, value) in fractions {
            anyhow::ensure!(
                (0.0..=1.0).contains(&value),
                "{key} must be between 0 and 1, not {value}"
            );
        }
        let c = self.matcher.aggressiveness;
        anyhow::ensure!(
            c.is_finite() && c > 0.0,
            "matcher.aggressiveness must be a number above 0, not {c}"
        );
        anyhow::ensure!(
            (1..=10_000).contains(&self.discord.max_concurrent_replies),
            "discord.max_concurrent_replies must be between 1 and 10000"
        );
        anyhow::ensure!(
            self.admin.watch_debounce_ms >= 1,
            "admin.watch_debounce_ms must be at least 1"
        );
        Ok(())
    }

    /// Loads the defaults, then `file` (an error if given but missing), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let settings = Settings::load_unchecked(file)?;
        settings.check()?;
        Ok(settings)
    }

    fn load_unchecked(file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = file {
            anyhow::ensure!(
                path.is_file(),
                "config file {} does not exist",
                path.display()
            );
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
            let from_file = Config::builder()
                .add_source(File::from(path).format(FileFormat::Toml))
                .build()
                .with_context(|| format!("invalid settings in {}", path.display()))?;
            anyhow::ensure!(
                from_file.get::<config::Value>("discord.token").is_err(),
                "{}: the Discord token must not be in a config file; set {TOKEN_VARIABLE} in \
                 the environment instead",
                path.display()
            );
        }
        builder
            .add_source(
                Environment::with_prefix("CAREERBOT")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true)
                    .list_separator(",")
                    .with_list_parse_key("discord.answer_channels"),
            )
            .build()
            .and_then(Config::try_deserialize)
            .with_context(|| match file {
                Some(path) => format!(
                    "invalid settings (from {} and the environment)",
                    path.display()
                ),
                None => "invalid settings (from the environment)".to_owned(),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_defaults_match_the_code_defaults() {
        let settings = Settings::load(None).unwrap();
        assert_eq!(settings.matcher, MatcherSettings::default());
        assert_eq!(settings.intents_dir, PathBuf::from("intents"));
    }

    #[test]
    fn a_file_overrides_defaults_and_unknown_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.toml");
        std::fs::write(&good, "[matcher]\nfallback_below = 0.9\n").unwrap();
        let settings = Settings::load(Some(&good)).unwrap();
        assert_eq!(settings.matcher.fallback_below, 0.9);
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, "[matcher]\nfallback_belowx = 0.9\n").unwrap();
        let error = format!("{:#}", Settings::load(Some(&bad)).unwrap_err());
        assert!(error.contains("fallback_belowx"), "{error}");
        assert!(Settings::load(Some(&dir.path().join("missing.toml"))).is_err());
        let out_of_range = dir.path().join("range.toml");
        for (text, key) in [
            ("[admin]\ngroup_similarity = 85\n", "admin.group_similarity"),
            ("[matcher]\naggressiveness = 0\n", "matcher.aggressiveness"),
            (
                "[matcher]\naggressiveness = -1.0\n",
                "matcher.aggressiveness",
            ),
        ] {
            std::fs::write(&out_of_range, text).unwrap();
            let error = format!("{:#}", Settings::load(Some(&out_of_range)).unwrap_err());
            assert!(error.contains(key), "{error}");
        }
    }

    #[test]
    fn a_token_in_a_config_file_is_refused_and_never_shown() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("leaky.toml");
        std::fs::write(&file, "[discord]\ntoken = \"abc.def.ghi\"\n").unwrap();
        let error = format!("{:#}", Settings::load(Some(&file)).unwrap_err());
        assert!(error.contains("DISCORD_TOKEN"), "{error}");
        assert!(!error.contains("abc.def.ghi"), "{error}");
        let secret = Secret::new("abc.def.ghi");
        assert!(!format!("{secret:?}").contains("abc"));
        let mut discord = Settings::load(None).unwrap().discord;
        discord.token = Some(secret);
        assert!(!format!("{discord:?}").contains("abc"));
    }
}
