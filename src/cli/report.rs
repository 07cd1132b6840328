//! `careerbot report`: the figures of `admin::report` for a recent period, read from the
//! bot's database (`[admin] database`), as text or JSON.

use std::process::ExitCode;

use crate::admin::report;
use crate::admin::store::{now_ms, Store};
use crate::config::Settings;

/// `careerbot report [--since 7d] [--json]`.
pub fn run(settings: &Settings, since: &str, json: bool) -> anyhow::Result<ExitCode> {
    let window = parse_since(since)?;
    let path = &settings.admin.database;
    anyhow::ensure!(
        !path.as_os_str().is_empty(),
        "no database is configured (`database` in [admin] is \"\"), so there is nothing to report"
    );
    let store = Store::open_read_only(path)?;
    let until_ms = now_ms();
    let since_ms = window.map_or(0, |ms| until_ms.saturating_sub(ms));
    let built = report::build(
        &store,
        since_ms,
        until_ms,
        settings.admin.unanswered_below,
        settings.admin.group_similarity,
    )?;
    if json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&built)?))?;
    } else {
        super::emit(&report::format(&built))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `Nd`, `Nh` or `Nm` (days, hours, minutes) as milliseconds; `all` as `None`.
fn parse_since(text: &str) -> anyhow::Result<Option<i64>> {
    let bad = || {
        anyhow::anyhow!(
            "invalid --since {text:?}: expected a number of days, hours or minutes such as \
             7d, 12h or 30m, or `all`"
        )
    };
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    let unit = text.chars().last().ok_or_else(bad)?;
    let number = &text[..text.len() - unit.len_utf8()];
    let unit_ms: i64 = match unit {
        'd' => 86_400_000,
        'h' => 3_600_000,
        'm' => 60_000,
        _ => return Err(bad()),
    };
    if number.is_empty() || !number.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    let n: i64 = number.parse().map_err(|_| bad())?;
    n.checked_mul(unit_ms).map(Some).ok_or_else(bad)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_table() {
        for (text, expected) in [
            ("7d", Some(Some(7 * 86_400_000))),
            ("12h", Some(Some(12 * 3_600_000))),
            ("30m", Some(Some(30 * 60_000))),
            ("0d", Some(Some(0))),
            ("all", Some(None)),
            ("ALL", Some(None)),
            (" 1d ", Some(Some(86_400_000))),
            ("", None),
            ("d", None),
            ("7", None),
            ("7w", None),
            ("-1d", None),
            ("+1d", None),
            ("1.5d", None),
            ("7 d", None),
            ("99999999999999999999d", None),
            ("7é", None),
        ] {
            assert_eq!(parse_since(text).ok(), expected, "{text:?}");
        }
        let error = parse_since("week").unwrap_err().to_string();
        assert!(
            error.contains("\"week\"") && error.contains("7d"),
            "{error}"
        );
    }
}
