//! What the store says about a period: questions per day, answer rates, the most answered
//! intents, helpfulness from the votes and the top unanswered groups (`careerbot report`,
//! `/careerbot stats`).
//!
//! The figures are aggregated by the database, so a report over months of questions reads only
//! the unanswered rows it groups. Days are UTC. A row with a text that is not valid UTF-8
//! (written by hand, or by another program) is left out of every figure and counted in
//! `skipped_rows`, so one bad row cannot fail the whole report.

use serde::Serialize;

use super::store::{Aggregates, Servers, Store};
use super::unanswered::{self, Group};
use crate::text::fit;

/// Top intents and unanswered groups shown.
const TOP: usize = 10;
/// Unanswered questions read to group (the newest).
const UNANSWERED_READ: usize = 10_000;
/// Skipped questions named in the report.
const SKIPPED_NAMED: usize = 5;

/// The figures of `[since_ms, until_ms)`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// Start of the period, unix milliseconds (inclusive).
    pub since_ms: i64,
    /// End of the period, unix milliseconds (exclusive).
    pub until_ms: i64,
    /// Every stored question ("unconfident" rows, forum posts the bot left alone, count
    /// here but not in the rates; channel messages left alone are counted by the bot, never
    /// stored).
    pub questions: u64,
    /// Days with questions, oldest first.
    pub per_day: Vec<Day>,
    pub rates: Rates,
    /// The most answered intents, at most 10.
    pub top_intents: Vec<IntentCount>,
    /// Per intent with votes, most votes first.
    pub helpfulness: Vec<Helpfulness>,
    /// The biggest groups of unanswered questions, at most 10.
    pub unanswered: Vec<Group>,
    /// Distinct unanswered texts grouped within a bounded amount of work rather than
    /// compared with every group they might join (a queue of many look-alikes); 0 when the
    /// grouping is exact.
    pub unanswered_cut_short: u64,
    /// Rows of the period (questions and votes) left out of every figure above because a
    /// text of theirs is not valid UTF-8 (or is a BLOB).
    pub skipped_rows: u64,
    /// The first few skipped questions' numbers, to find them with.
    pub skipped_questions: Vec<u64>,
}

/// One UTC day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Day {
    /// "YYYY-MM-DD".
    pub day: String,
    pub questions: u64,
    pub answers: u64,
    pub clarifications: u64,
    pub fallbacks: u64,
    /// Declined as out of scope by a decline intent.
    pub declines: u64,
}

/// Shares of the questions the bot responded to (silent channel chatter excluded); 0 when
/// there are none.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Rates {
    pub answer: f64,
    pub clarify: f64,
    pub fallback: f64,
    pub decline: f64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IntentCount {
    pub intent: String,
    pub count: u64,
}

/// The votes on one intent's answers.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Helpfulness {
    pub intent: String,
    pub up: u64,
    pub down: u64,
    /// up / (up + down).
    pub helpful: f64,
}

impl Helpfulness {
    pub fn new(intent: String, up: u64, down: u64) -> Helpfulness {
        Helpfulness {
            intent,
            up,
            down,
            helpful: up as f64 / (up + down).max(1) as f64,
        }
    }
}

/// Builds the report of `[since_ms, until_ms)`; unanswered means fell back, or answered or
/// clarified below confidence `below`, and grouped at `similarity`.
pub fn build(
    store: &Store,
    since_ms: i64,
    until_ms: i64,
    below: f32,
    similarity: f64,
    servers: &Servers,
) -> anyhow::Result<Report> {
    let Aggregates {
        per_day,
        responded,
        top_intents,
        helpfulness,
        skipped_rows,
        skipped_questions,
    } = store.aggregates(since_ms, until_ms, TOP, SKIPPED_NAMED, servers)?;
    let questions = per_day.iter().map(|d| d.questions).sum();
    let share = |n: u64| match responded {
        0 => 0.0,
        all => n as f64 / all as f64,
    };
    let rates = Rates {
        answer: share(per_day.iter().map(|d| d.answers).sum()),
        clarify: share(per_day.iter().map(|d| d.clarifications).sum()),
        fallback: share(per_day.iter().map(|d| d.fallbacks).sum()),
        decline: share(per_day.iter().map(|d| d.declines).sum()),
    };
    let queue = store.unanswered_between(since_ms, until_ms, below, UNANSWERED_READ, servers)?;
    let grouping = unanswered::group(&queue, similarity);
    let mut unanswered = grouping.groups;
    unanswered.truncate(TOP);
    Ok(Report {
        since_ms,
        until_ms,
        questions,
        per_day,
        rates,
        top_intents,
        helpfulness,
        unanswered,
        unanswered_cut_short: grouping.cut_short as u64,
        skipped_rows,
        skipped_questions,
    })
}

/// The report as text: a short table per section.
pub fn format(report: &Report) -> String {
    let mut out = String::new();
    let mut line = |text: String| {
        out.push_str(&text);
        out.push('\n');
    };
    let since = if report.since_ms <= 0 {
        "the beginning".to_owned()
    } else {
        utc(report.since_ms)
    };
    line(format!(
        "Report from {since} to {} UTC",
        utc(report.until_ms)
    ));
    let per_day = |f: fn(&Day) -> u64| report.per_day.iter().map(f).sum::<u64>();
    let responded = per_day(|d| d.answers)
        + per_day(|d| d.clarifications)
        + per_day(|d| d.fallbacks)
        + per_day(|d| d.declines);
    let silent = report.questions.saturating_sub(responded);
    let mut summary = format!("{} questions", report.questions);
    if responded > 0 {
        summary.push_str(&format!(
            ": {} answered, {} clarified, {} fell back, {} declined as out of scope",
            percent(report.rates.answer),
            percent(report.rates.clarify),
            percent(report.rates.fallback),
            percent(report.rates.decline)
        ));
    }
    if silent > 0 {
        let plural = if silent == 1 { "" } else { "s" };
        summary.push_str(&format!(
            " ({silent} channel message{plural} left alone, not in the rates)"
        ));
    }
    line(summary);
    if report.skipped_rows > 0 {
        let mut skipped = match report.skipped_rows {
            1 => "1 stored row left out of the figures, as its text is not valid UTF-8".to_owned(),
            n => {
                format!("{n} stored rows left out of the figures, as their text is not valid UTF-8")
            }
        };
        if !report.skipped_questions.is_empty() {
            let ids: Vec<String> = report
                .skipped_questions
                .iter()
                .map(u64::to_string)
                .collect();
            let noun = if ids.len() == 1 {
                "question"
            } else {
                "questions"
            };
            skipped.push_str(&format!(" ({noun} {})", ids.join(", ")));
        }
        line(skipped);
    }

    if !report.per_day.is_empty() {
        line(String::new());
        line(format!(
            "{:<12} {:>9} {:>8} {:>8} {:>9} {:>8}",
            "day (UTC)", "questions", "answers", "clarify", "fallback", "decline"
        ));
        for d in &report.per_day {
            line(format!(
                "{:<12} {:>9} {:>8} {:>8} {:>9} {:>8}",
                d.day, d.questions, d.answers, d.clarifications, d.fallbacks, d.declines
            ));
        }
    }

    line(String::new());
    if report.top_intents.is_empty() {
        line("Top intents: no answers.".to_owned());
    } else {
        let width = column(
            report.top_intents.iter().map(|i| i.intent.as_str()),
            "top intents",
        );
        line(format!("{:<width$} {:>8}", "top intents", "answers"));
        for i in &report.top_intents {
            line(format!("{:<width$} {:>8}", i.intent, i.count));
        }
    }

    line(String::new());
    if report.helpfulness.is_empty() {
        line("Helpfulness: no votes.".to_owned());
    } else {
        let width = column(
            report.helpfulness.iter().map(|h| h.intent.as_str()),
            "helpfulness",
        );
        line(format!(
            "{:<width$} {:>5} {:>5} {:>8}",
            "helpfulness", "up", "down", "helpful"
        ));
        for h in &report.helpfulness {
            line(format!(
                "{:<width$} {:>5} {:>5} {:>8}",
                h.intent,
                h.up,
                h.down,
                percent(h.helpful)
            ));
        }
    }

    line(String::new());
    if report.unanswered.is_empty() {
        line("Unanswered: none.".to_owned());
    } else {
        line(format!(
            "unanswered: the top {} groups",
            report.unanswered.len()
        ));
        line(format!("{:>5}  {:<16}  question", "asked", "last (UTC)"));
        for g in &report.unanswered {
            line(format!(
                "{:>5}  {}  {}",
                g.count,
                utc(g.last_at_ms),
                fit(&g.text, 80)
            ));
            if !g.candidates.is_empty() {
                let candidates: Vec<String> = g
                    .candidates
                    .iter()
                    .map(|(intent, n)| format!("{intent} ({n})"))
                    .collect();
                line(format!("{:25}likely: {}", "", candidates.join(", ")));
            }
        }
        if report.unanswered_cut_short > 0 {
            line(format!(
                "({} look-alike texts were compared with the closest groups only, so some \
                 groups may be split)",
                report.unanswered_cut_short
            ));
        }
    }
    out
}

/// The width of a column holding `cells` under `header`.
fn column<'a>(cells: impl Iterator<Item = &'a str>, header: &str) -> usize {
    cells
        .map(|c| c.chars().count())
        .chain([header.len()])
        .max()
        .unwrap_or(0)
}

fn percent(share: f64) -> String {
    format!("{:.1}%", 100.0 * share)
}

/// "YYYY-MM-DD HH:MM" in UTC for unix milliseconds (the milliseconds themselves outside the
/// years -9999 to 9999).
pub fn utc(ms: i64) -> String {
    let minute = time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .and_then(|at| at.format(minute).ok())
        .unwrap_or_else(|| format!("{ms} ms"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::store::testing::TestDb;
    use crate::admin::store::{QuestionRecord, Record, Source, VoteRecord};

    const DAY: i64 = 86_400_000;
    /// 2024-03-01 00:00 UTC.
    const MARCH_1: i64 = 1_709_251_200_000;

    fn q(id: u64, at_ms: i64, text: &str, decision: &str, intent: &str, confidence: f32) -> Record {
        Record::Question(QuestionRecord {
            id,
            at_ms,
            guild: None,
            channel: Some(5),
            source: Source::Mention,
            text: text.to_owned(),
            decision: decision.parse().unwrap(),
            intent: Some(intent.to_owned()),
            confidence,
            candidates: vec![intent.to_owned()],
            engine_version: "test".to_owned(),
            intent_version: None,
        })
    }

    fn v(question: u64, at_ms: i64, intent: &str, up: bool) -> Record {
        Record::Vote(VoteRecord {
            id: at_ms as u64 * 16 + question,
            at_ms,
            question,
            intent: intent.to_owned(),
            up,
        })
    }

    #[test]
    fn dates_table() {
        for (ms, text) in [
            (0, "1970-01-01 00:00"),
            (MARCH_1, "2024-03-01 00:00"),
            (MARCH_1 - 1, "2024-02-29 23:59"),
            (MARCH_1 + DAY / 2 + 61_000, "2024-03-01 12:01"),
            (951_782_400_000, "2000-02-29 00:00"),
            (-1, "1969-12-31 23:59"),
        ] {
            assert_eq!(utc(ms), text, "{ms}");
        }
    }

    #[test]
    fn a_report_counts_rates_votes_and_groups() {
        for db in TestDb::both() {
            let mut store = db.open();
            store
                .write(&[
                    q(1, MARCH_1 + 10, "salary?", "answer", "salary", 0.9),
                    q(2, MARCH_1 + 20, "salary??", "answer", "salary", 0.9),
                    q(3, MARCH_1 + DAY, "degree", "answer", "degree", 0.95),
                    q(4, MARCH_1 + DAY, "which one", "clarify", "degree", 0.6),
                    q(
                        5,
                        MARCH_1 + DAY + 1,
                        "how do i cook pasta",
                        "fallback",
                        "salary",
                        0.1,
                    ),
                    q(
                        6,
                        MARCH_1 + DAY + 2,
                        "how do i cook pastas",
                        "fallback",
                        "salary",
                        0.1,
                    ),
                    q(7, MARCH_1 + DAY + 3, "lol", "unconfident", "salary", 0.2),
                    q(8, MARCH_1 - 1, "before", "answer", "salary", 0.9),
                    q(9, MARCH_1 + 2 * DAY, "after", "answer", "salary", 0.9),
                    v(1, MARCH_1 + 11, "salary", true),
                    v(2, MARCH_1 + 21, "salary", false),
                    v(2, MARCH_1 + 22, "salary", true),
                    v(3, MARCH_1 + DAY, "degree", true),
                    v(8, MARCH_1 - 1, "degree", false),
                ])
                .unwrap();
            let report =
                build(&store, MARCH_1, MARCH_1 + 2 * DAY, 0.5, 0.85, &Servers::All).unwrap();
            assert_eq!(report.questions, 7);
            assert_eq!(
                report.per_day,
                [
                    Day {
                        day: "2024-03-01".to_owned(),
                        questions: 2,
                        answers: 2,
                        clarifications: 0,
                        fallbacks: 0,
                        declines: 0
                    },
                    Day {
                        day: "2024-03-02".to_owned(),
                        questions: 5,
                        answers: 1,
                        clarifications: 1,
                        fallbacks: 2,
                        declines: 0
                    },
                ]
            );
            assert_eq!(
                report.rates,
                Rates {
                    answer: 0.5,
                    clarify: 1.0 / 6.0,
                    fallback: 2.0 / 6.0,
                    decline: 0.0
                }
            );
            let intents: Vec<(&str, u64)> = report
                .top_intents
                .iter()
                .map(|i| (i.intent.as_str(), i.count))
                .collect();
            assert_eq!(intents, [("salary", 2), ("degree", 1)]);
            let helpful: Vec<(&str, u64, u64)> = report
                .helpfulness
                .iter()
                .map(|h| (h.intent.as_str(), h.up, h.down))
                .collect();
            assert_eq!(helpful, [("salary", 2, 1), ("degree", 1, 0)]);
            assert!((report.helpfulness[0].helpful - 2.0 / 3.0).abs() < 1e-12);
            assert_eq!(report.unanswered.len(), 1, "{:?}", report.unanswered);
            assert_eq!(report.unanswered[0].count, 2);
            assert_eq!(report.unanswered[0].ids, [6, 5]);

            let text = format(&report);
            for expected in [
                "Report from 2024-03-01 00:00 to 2024-03-03 00:00 UTC",
                "7 questions: 50.0% answered, 16.7% clarified, 33.3% fell back",
                "(1 channel message left alone, not in the rates)",
                "2024-03-02           5        1        1         2",
                "salary          2     1    66.7%",
                "    2  2024-03-02 00:00  how do i cook pastas",
                "likely: salary (2)",
            ] {
                assert!(text.contains(expected), "missing {expected:?} in\n{text}");
            }
            assert_eq!(report.unanswered_cut_short, 0);
            assert!(!text.contains("look-alike"), "{text}");
            let cut_short = Report {
                unanswered_cut_short: 3,
                ..report
            };
            assert!(
                format(&cut_short).contains(
                    "(3 look-alike texts were compared with the closest groups only, so some \
                 groups may be split)"
                ),
                "{}",
                format(&cut_short)
            );
        }
    }

    #[test]
    fn an_empty_period_has_zero_rates() {
        for db in TestDb::both() {
            let store = db.open();
            let report = build(&store, 0, MARCH_1, 0.5, 0.85, &Servers::All).unwrap();
            assert_eq!(report.questions, 0);
            assert_eq!(
                report.rates,
                Rates {
                    answer: 0.0,
                    clarify: 0.0,
                    fallback: 0.0,
                    decline: 0.0
                }
            );
            let text = format(&report);
            assert!(text.contains("Report from the beginning"), "{text}");
            assert!(
                text.contains("no votes") && text.contains("Unanswered: none"),
                "{text}"
            );
        }
    }

    #[test]
    fn rows_whose_text_is_not_utf8_are_left_out_and_counted() {
        let db = TestDb::sqlite();
        let mut store = db.open();
        store
            .write(&[
                q(1, MARCH_1 + 10, "salary?", "answer", "salary", 0.9),
                q(
                    2,
                    MARCH_1 + 20,
                    "how do i cook pasta",
                    "fallback",
                    "salary",
                    0.1,
                ),
                q(3, MARCH_1 + 30, "broken text", "fallback", "salary", 0.1),
                q(4, MARCH_1 + 40, "broken intent", "answer", "salary", 0.9),
                v(1, MARCH_1 + 11, "salary", true),
                v(4, MARCH_1 + 41, "salary", true),
            ])
            .unwrap();
        // Bad bytes stored as TEXT, a BLOB where text belongs, and a vote's bad intent.
        db.execute(
            "UPDATE questions SET text = CAST(x'6361c3fe28' AS TEXT) WHERE id = 3;
                 UPDATE questions SET intent = x'73616c617279' WHERE id = 4;
                 UPDATE votes SET intent = CAST(x'ff' AS TEXT) WHERE question = 4;",
        );
        let report = build(&store, MARCH_1, MARCH_1 + DAY, 0.5, 0.85, &Servers::All).unwrap();
        assert_eq!(report.skipped_rows, 3);
        assert_eq!(report.skipped_questions, [3, 4]);
        assert_eq!(report.questions, 2);
        assert_eq!(report.unanswered.len(), 1, "{:?}", report.unanswered);
        assert_eq!(report.unanswered[0].ids, [2]);
        assert_eq!(report.top_intents.len(), 1);
        assert_eq!(report.top_intents[0].count, 1);
        assert_eq!(report.helpfulness.len(), 1);
        assert_eq!(report.helpfulness[0].up, 1);
        let text = format(&report);
        assert!(
            text.contains(
                "3 stored rows left out of the figures, as their text is not valid UTF-8 \
                 (questions 3, 4)"
            ),
            "{text}"
        );
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["skipped_rows"], 3);
    }
}
