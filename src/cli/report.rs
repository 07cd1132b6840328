//! `careerbot report`: the figures of `admin::report` for a recent period, read from the
//! bot's database (`[admin] database`), as text or JSON.

use std::process::ExitCode;
use std::time::Duration;

use crate::admin::report;
use crate::admin::store::{now_ms, Store};
use crate::config::Settings;

/// `careerbot report [--since 7d] [--json]`.
pub fn run(settings: &Settings, since: &str, json: bool) -> anyhow::Result<ExitCode> {
    let window = parse_since(since)?;
    let Some(database) = &settings.admin.database else {
        anyhow::bail!(
            "no database is configured (`database` in [admin] is \"\"), so there is nothing to \
             report"
        );
    };
    let store = Store::open_read_only(database)?;
    let until_ms = now_ms();
    let since_ms = window.map_or(0, |window| {
        until_ms.saturating_sub(i64::try_from(window.as_millis()).unwrap_or(i64::MAX))
    });
    let built = report::build(
        &store,
        since_ms,
        until_ms,
        settings.admin.unanswered_below,
        settings.admin.group_similarity,
        &crate::admin::store::Servers::All,
    )?;
    if json {
        super::emit(&format!("{}\n", serde_json::to_string_pretty(&built)?))?;
    } else {
        super::emit(&report::format(&built))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// `Nd`, `Nh` or `Nm` (days, hours, minutes); `all` as `None`. One whole number and one
/// unit, as `--help` says: humantime alone would also take `1h 30m` or `2weeks`.
fn parse_since(given: &str) -> anyhow::Result<Option<Duration>> {
    let text = given.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(None);
    }
    text.strip_suffix(['d', 'h', 'm'])
        .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|_| humantime::parse_duration(text).ok())
        .map(Some)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "invalid --since {given:?}: expected a number of days, hours or minutes such \
                 as 7d, 12h or 30m, or `all`"
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_table() {
        const MINUTE: Duration = Duration::from_secs(60);
        const HOUR: Duration = Duration::from_secs(3600);
        const DAY: Duration = Duration::from_secs(86_400);
        for (text, expected) in [
            ("7d", Some(Some(7 * DAY))),
            ("12h", Some(Some(12 * HOUR))),
            ("30m", Some(Some(30 * MINUTE))),
            ("0d", Some(Some(Duration::ZERO))),
            ("all", Some(None)),
            ("ALL", Some(None)),
            (" 1d ", Some(Some(DAY))),
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
