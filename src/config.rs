//! Settings, layered: the documented `config/default.toml` (built into the binary, so the
//! defaults live in one place), then the file given with `--config`, then environment
//! variables `CAREERBOT_<SECTION>__<KEY>` (e.g. `CAREERBOT_MATCHER__FALLBACK_BELOW=0.4`).

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
    pub log: LogSettings,
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
}

/// Logging (`tracing`).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogSettings {
    /// A `tracing` filter such as `info` or `careerbot=debug`; `RUST_LOG` wins when set.
    pub level: String,
}

impl Settings {
    /// Loads the defaults, then `file` (an error if given but missing), then the environment.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Settings> {
        let mut builder =
            Config::builder().add_source(File::from_str(DEFAULT_TOML, FileFormat::Toml));
        if let Some(path) = file {
            anyhow::ensure!(
                path.is_file(),
                "config file {} does not exist",
                path.display()
            );
            builder = builder.add_source(File::from(path).format(FileFormat::Toml));
        }
        builder
            .add_source(
                Environment::with_prefix("CAREERBOT")
                    .prefix_separator("_")
                    .separator("__")
                    .try_parsing(true),
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
    }
}
