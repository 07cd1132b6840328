//! The dashboard's pages, as maud templates: every value is escaped as it is written, so a
//! question holding markup shows as text. Forms post with the session's CSRF token.

use maud::{html, Markup, PreEscaped, DOCTYPE};

use super::{chart, Admin};
use crate::admin::report::Report;
use crate::engine::{Engine, Reply};

/// The frame of every page: title, navigation, the logout form.
fn layout(title: &str, admin: Option<&Admin>, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · careerbot" }
                link rel="stylesheet" href="/static/style.css";
            }
            body {
                header {
                    strong { "careerbot" }
                    @if let Some(admin) = admin {
                        nav {
                            a href="/" { "Overview" }
                            a href="/playground" { "Playground" }
                        }
                        form method="post" action="/logout" class="logout" {
                            input type="hidden" name="csrf" value=(admin.csrf);
                            span { (admin.who) }
                            button type="submit" { "Log out" }
                        }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
}

/// A page saying why something was refused.
pub fn refused(title: &str, why: &str) -> Markup {
    layout(title, None, html! { p { (why) } })
}

/// The overview without a store (`configured`: one is, but the bot has not created it yet):
/// nothing recorded to show.
pub fn overview_without_store(admin: &Admin, configured: bool) -> Markup {
    layout(
        "Overview",
        Some(admin),
        html! {
            @if configured {
                p { "No questions recorded yet: the bot creates its database when it first runs." }
            } @else {
                p { "No database is configured (" code { "[admin] database" } "), so there are no figures to show." }
            }
        },
    )
}

/// The overview of the last `days` days.
pub fn overview(admin: &Admin, days: u32, periods: &[u32], report: &Report) -> Markup {
    let unanswered: usize = report.unanswered.iter().map(|g| g.count).sum();
    layout(
        "Overview",
        Some(admin),
        html! {
            nav class="periods" {
                @for period in periods {
                    @if *period == days {
                        strong { "last " (period) " days" }
                    } @else {
                        a href={ "/?days=" (period) } { "last " (period) " days" }
                    }
                }
            }
            section class="figures" {
                div { span class="figure" { (report.questions) } " questions" }
                div { span class="figure" { (format!("{:.0}%", report.rates.answer * 100.0)) } " answered" }
                div { span class="figure" { (unanswered) } " unanswered (top groups)" }
            }
            h2 { "Questions per day" }
            figure class="chart" {
                (PreEscaped(chart::per_day(&report.per_day)))
                figcaption {
                    @for (name, colour) in chart::legend() {
                        span class="key" style={ "background:" (colour) } {}
                        (name) " "
                    }
                }
            }
            table {
                thead { tr { th { "day" } th { "questions" } th { "answer" } th { "clarify" } th { "decline" } th { "fallback" } } }
                tbody {
                    @for day in &report.per_day {
                        tr {
                            td { (day.day) } td { (day.questions) } td { (day.answers) }
                            td { (day.clarifications) } td { (day.declines) } td { (day.fallbacks) }
                        }
                    }
                }
            }
            h2 { "Top intents" }
            table {
                thead { tr { th { "intent" } th { "answers" } } }
                tbody {
                    @for intent in &report.top_intents {
                        tr { td { code { (intent.intent) } } td { (intent.count) } }
                    }
                }
            }
            h2 { "Helpfulness" }
            table {
                thead { tr { th { "intent" } th { "👍" } th { "👎" } th { "helpful" } } }
                tbody {
                    @for vote in &report.helpfulness {
                        tr {
                            td { code { (vote.intent) } } td { (vote.up) } td { (vote.down) }
                            td { (format!("{:.0}%", vote.helpful * 100.0)) }
                        }
                    }
                }
            }
            h2 { "Unanswered" }
            ul {
                @for group in &report.unanswered {
                    li { "“" (group.text) "” ×" (group.count) }
                }
            }
        },
    )
}

/// The playground: a question box, and the reply to `asked` with "why this answer".
pub fn playground(admin: &Admin, asked: Option<&str>, reply: Option<(&Engine, &Reply)>) -> Markup {
    layout(
        "Playground",
        Some(admin),
        html! {
            form method="post" action="/playground" {
                input type="hidden" name="csrf" value=(admin.csrf);
                label for="question" { "Ask as a member would" }
                textarea id="question" name="question" rows="3" maxlength="1000" required { (asked.unwrap_or_default()) }
                button type="submit" { "Ask" }
            }
            @if let Some((engine, reply)) = reply {
                section class="reply" {
                    h2 { "Reply" }
                    p {
                        "Decision: " strong { (format!("{:?}", reply.decision).to_lowercase()) }
                        @if let Some(intent) = &reply.intent { ", intent " code { (intent) } }
                        (format!(", confidence {:.2}", reply.confidence))
                    }
                    @if let Some(answer) = &reply.answer {
                        blockquote { (answer) }
                    }
                    h2 { "Why this answer" }
                    p { (reply.explanation.summary) }
                    h3 { "Candidates" }
                    table {
                        thead { tr { th { "intent" } th { "title" } th { "score" } } }
                        tbody {
                            @for candidate in &reply.candidates {
                                tr {
                                    td { code { (candidate.intent) } }
                                    td { (engine.intent(&candidate.intent).map(|i| i.title.as_str()).unwrap_or_default()) }
                                    td { (format!("{:.3}", candidate.score)) }
                                }
                            }
                        }
                    }
                    h3 { "Words that mattered" }
                    ul {
                        @for (word, weight) in &reply.explanation.evidence {
                            li { code { (word) } (format!(" {weight:+.3}")) }
                        }
                    }
                    @if !reply.explanation.unknown_words.is_empty() {
                        p { "Words no example has: "
                            @for word in &reply.explanation.unknown_words { code { (word) } " " }
                        }
                    }
                }
            }
        },
    )
}
