//! Settings out of their ranges, through the real binary: every bad key is refused with the
//! key, its range and where the value came from (`file:line:col`, or the environment
//! variable), all at once, and promptly: a value that would hang training never reaches it.
//! The range table itself is unit-tested in `src/config`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::support::{careerbot, diagnostics, fixture, intents_arg, DiagnosticLine, Output};

/// Far longer than refusing settings takes, far shorter than training with 4e9 epochs.
const PROMPTLY: Duration = Duration::from_secs(60);

/// `careerbot ask hello` on the good fixture with `config` as its `--config` file (when
/// given) and `env` set; it must refuse the settings (exit 1, nothing on stdout) promptly.
/// Returns the output and the config file's path.
#[track_caller]
fn refused(config: Option<&str>, env: &[(&str, &str)]) -> (Output, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("careerbot.toml");
    let mut run = careerbot(["ask", "hello"]).with_args(intents_arg(&fixture("good")));
    if let Some(text) = config {
        std::fs::write(&path, text).unwrap();
        run = run.with_args([std::ffi::OsStr::new("--config"), path.as_os_str()]);
    }
    for (name, value) in env {
        run = run.env(name, value);
    }
    let out = run.run_within(PROMPTLY);
    out.expect_code(1);
    assert!(out.stdout.is_empty(), "{out}");
    (out, path)
}

/// The `path:line:col: key = value: message` line of a value from `path`.
fn from_file(path: &Path, line: usize, col: usize, problem: &str) -> DiagnosticLine {
    DiagnosticLine {
        path: path.display().to_string(),
        line,
        col,
        message: problem.to_owned(),
    }
}

/// Whether stderr has the line of a value from environment variable `name`.
fn has_env_line(out: &Output, name: &str, key: &str, message: &str) -> bool {
    out.stderr.lines().any(|line| {
        line.starts_with(&format!("environment variable {name}: {key} = "))
            && line.ends_with(&format!(": {message}"))
    })
}

#[test]
fn a_number_out_of_range_in_the_environment_is_refused_naming_the_variable() {
    for (name, value, key, message) in [
        // Once accepted without a range; 1e30 epochs was refused, but not by its range.
        (
            "CAREERBOT_MATCHER__EPOCHS",
            "1e30",
            "matcher.epochs",
            "must be a whole number from 1 to 100",
        ),
        (
            "CAREERBOT_MATCHER__EPOCHS",
            "4000000000",
            "matcher.epochs",
            "must be a whole number from 1 to 100",
        ),
        (
            "CAREERBOT_DISCORD__MAX_CONCURRENT_REPLIES",
            "1.9",
            "discord.max_concurrent_replies",
            "must be a whole number from 1 to 10000",
        ),
        (
            "CAREERBOT_MATCHER__CONFIDENCE_SLOPE",
            "inf",
            "matcher.confidence_slope",
            "must be a number from 0.01 to 100",
        ),
        (
            "CAREERBOT_MATCHER__CONFIDENCE_SLOPE",
            "NaN",
            "matcher.confidence_slope",
            "must be a number from 0.01 to 100",
        ),
        (
            "CAREERBOT_MATCHER__CLARIFY_MARGIN",
            "-5",
            "matcher.clarify_margin",
            "must be a number from 0 to 1",
        ),
    ] {
        let (out, _) = refused(None, &[(name, value)]);
        assert!(
            has_env_line(&out, name, key, message),
            "{name}={value}\n{out}"
        );
    }
}

#[test]
fn a_number_out_of_range_in_a_config_file_is_refused_at_its_line() {
    for (text, line, col, problem) in [
        // Once trained for four billion epochs: the command never returned.
        (
            "[matcher]\nepochs = 4000000000\n",
            2,
            10,
            "matcher.epochs = 4000000000: must be a whole number from 1 to 100",
        ),
        (
            "[discord]\n\nmax_concurrent_replies = 1.9\n",
            3,
            26,
            "discord.max_concurrent_replies = 1.9: must be a whole number from 1 to 10000",
        ),
        (
            "[matcher]\nconfidence_slope = inf\n",
            2,
            20,
            "matcher.confidence_slope = inf: must be a number from 0.01 to 100",
        ),
        (
            "matcher = { confidence_slope = nan }\n",
            1,
            32,
            "matcher.confidence_slope = nan: must be a number from 0.01 to 100",
        ),
        (
            "# a comment\n[matcher]\nclarify_margin = -5\n",
            3,
            18,
            "matcher.clarify_margin = -5: must be a number from 0 to 1",
        ),
    ] {
        let (out, path) = refused(Some(text), &[]);
        assert_eq!(
            diagnostics(&out.stderr),
            [from_file(&path, line, col, problem)],
            "{text}\n{out}"
        );
    }
}

#[test]
fn every_bad_number_is_reported_at_once_each_with_its_source() {
    let file = "[matcher]\n\
                clarify_margin = -5\n\
                corrected_word_known = 5\n\
                intent_coverage_share = -3\n\
                unknown_word_exponent = -10\n\
                keyword_weight = 1e308\n\
                epochs = 0\n\
                confidence_slope = inf\n\
                [admin]\n\
                retention_days = 4294967296\n";
    let env = [
        ("CAREERBOT_DISCORD__MAX_CONCURRENT_REPLIES", "1.9"),
        ("CAREERBOT_ADMIN__GROUP_SIMILARITY", "-0.5"),
    ];
    let (out, path) = refused(Some(file), &env);
    let share = "must be a number from 0 to 1";
    let expected = [
        (2, 18, "matcher.clarify_margin = -5", share),
        (3, 24, "matcher.corrected_word_known = 5", share),
        (4, 25, "matcher.intent_coverage_share = -3", share),
        (
            5,
            25,
            "matcher.unknown_word_exponent = -10",
            "must be a number from 0 to 10",
        ),
        (
            6,
            18,
            "matcher.keyword_weight = 1e308",
            "must be a number from 0 to 10",
        ),
        (
            7,
            10,
            "matcher.epochs = 0",
            "must be a whole number from 1 to 100",
        ),
        (
            8,
            20,
            "matcher.confidence_slope = inf",
            "must be a number from 0.01 to 100",
        ),
        // Too large for its field: once an error alone, without the file.
        (
            10,
            18,
            "admin.retention_days = 4294967296",
            "must be a whole number from 0 to 36500",
        ),
    ];
    let mut found = diagnostics(&out.stderr);
    found.sort_by_key(|d| d.line);
    let expected: Vec<DiagnosticLine> = expected
        .into_iter()
        .map(|(line, col, setting, message)| {
            from_file(&path, line, col, &format!("{setting}: {message}"))
        })
        .collect();
    assert_eq!(found, expected, "{out}");
    assert!(
        has_env_line(
            &out,
            "CAREERBOT_DISCORD__MAX_CONCURRENT_REPLIES",
            "discord.max_concurrent_replies",
            "must be a whole number from 1 to 10000"
        ),
        "{out}"
    );
    assert!(
        has_env_line(
            &out,
            "CAREERBOT_ADMIN__GROUP_SIMILARITY",
            "admin.group_similarity",
            share
        ),
        "{out}"
    );
}
