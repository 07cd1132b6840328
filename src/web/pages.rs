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
                            a href="/unanswered" { "Unanswered" }
                            a href="/intents" { "Intents" }
                            a href="/playground" { "Playground" }
                            a href="/history" { "History" }
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

/// The page of a visitor not logged in, with Discord login.
pub fn log_in() -> Markup {
    layout(
        "Log in",
        None,
        html! {
            p { "This dashboard is for the admins of the servers careerbot is in: members with the Manage Server permission, or the owner." }
            p { a class="button" id="login" href="/login" { "Log in with Discord" } }
        },
    )
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

/// One intent's figures for the list: answers and votes in the period.
pub struct IntentRow<'a> {
    pub intent: &'a crate::engine::intents::Intent,
    pub answers: u64,
    pub up: u64,
    pub down: u64,
}

/// Every intent with its figures (`days`: the period they cover; none without a store).
pub fn intents(admin: &Admin, days: Option<u32>, rows: &[IntentRow<'_>]) -> Markup {
    layout(
        "Intents",
        Some(admin),
        html! {
            p {
                (rows.len()) " intents in service."
                @if let Some(days) = days { " Answers and votes: the last " (days) " days." }
            }
            table {
                thead { tr { th { "intent" } th { "title" } th { "examples" } th { "answers" } th { "👍" } th { "👎" } } }
                tbody {
                    @for row in rows {
                        tr {
                            td { a href={ "/intents/" (row.intent.id) } { code { (row.intent.id) } } }
                            td { (row.intent.title) }
                            td { (row.intent.examples.len()) }
                            td { (row.answers) } td { (row.up) } td { (row.down) }
                        }
                    }
                }
            }
        },
    )
}

/// The edit forms of an intent's page, as the admin left them.
pub struct Editing<'a> {
    pub notice: Option<&'a Notice>,
    /// The answer in its form: the one in service, or the admin's draft.
    pub answer: &'a str,
    /// Whether `answer` is a draft (previewed, or refused), not the answer in service.
    pub draft: bool,
    /// Problems with the answer, shown under its field.
    pub answer_errors: &'a [String],
    /// The example in the add form (kept when refused).
    pub example: &'a str,
    /// Problems with adding or removing an example, shown under the examples.
    pub example_errors: &'a [String],
}

/// A notice of what became of an action.
fn notice_box(notice: &Notice) -> Markup {
    html! {
        div class={ "notice " (if notice.ok { "ok" } else { "refused" }) } {
            p { (notice.text) }
            @if !notice.lines.is_empty() {
                pre { @for line in &notice.lines { (line) "\n" } }
            }
        }
    }
}

/// Problems with one field, under it.
fn field_errors(errors: &[String]) -> Markup {
    html! {
        @if !errors.is_empty() {
            ul class="field-errors" role="alert" {
                @for error in errors { li { (error) } }
            }
        }
    }
}

/// One intent: where it is written, its answer (with a preview as Discord renders its
/// markdown, and a form to change it), its examples (each with a form to remove it, and
/// one to add another), keywords, courses and follow-ups.
pub fn intent(
    admin: &Admin,
    engine: &Engine,
    intent: &crate::engine::intents::Intent,
    editing: &Editing<'_>,
) -> Markup {
    let action = format!("/intents/{}", intent.id);
    layout(
        &intent.title,
        Some(admin),
        html! {
            @if let Some(notice) = editing.notice { (notice_box(notice)) }
            p {
                code { (intent.id) } " in "
                code { (intent.location.path.display()) ":" (intent.location.line) }
                @if intent.decline { " (a decline: a polite “out of scope”)" }
            }
            h2 { "Answer" }
            div class="preview" {
                h3 { @if editing.draft { "Preview of your draft" } @else { "As Discord shows it" } }
                div class="discord" { (PreEscaped(super::markdown::to_html(editing.answer))) }
            }
            form method="post" action=(action) class="answer-form" {
                input type="hidden" name="csrf" value=(admin.csrf);
                label for="answer" { "Markdown, as in the intent file" }
                textarea id="answer" name="answer" rows="10" { (editing.answer) }
                (field_errors(editing.answer_errors))
                button type="submit" name="action" value="preview" { "Preview" }
                " "
                button type="submit" name="action" value="answer" id="save-answer" { "Save the answer" }
            }
            @if let Some(details) = &intent.details {
                h3 { "More" }
                blockquote class="answer" { (details) }
            }
            h2 { "Examples (" (intent.examples.len()) ")" }
            form method="post" action=(action) class="add-example" {
                input type="hidden" name="csrf" value=(admin.csrf);
                input type="hidden" name="action" value="add";
                input type="text" name="example" id="example" value=(editing.example) placeholder="Another way members ask this" maxlength="500";
                button type="submit" { "Add the example" }
            }
            (field_errors(editing.example_errors))
            ul class="examples" {
                @for example in &intent.examples {
                    li {
                        span { (example) }
                        form method="post" action=(action) class="remove" {
                            input type="hidden" name="csrf" value=(admin.csrf);
                            input type="hidden" name="action" value="remove";
                            input type="hidden" name="example" value=(example);
                            button type="submit" title="Remove this example" { "Remove" }
                        }
                    }
                }
            }
            @if !intent.keywords.is_empty() {
                h2 { "Keywords" }
                p { @for keyword in &intent.keywords { code { (keyword) } " " } }
            }
            @if !intent.courses.is_empty() {
                h2 { "Courses" }
                ul {
                    @for id in &intent.courses {
                        @if let Some(course) = engine.catalog().get(id) {
                            li { a href=(course.url) rel="noopener noreferrer" { (course.title) } " (" (course.provider) ")" }
                        } @else {
                            li { code { (id) } }
                        }
                    }
                }
            }
            @if !intent.follow_ups.is_empty() {
                h2 { "Follow-ups" }
                ul {
                    @for id in &intent.follow_ups {
                        li { a href={ "/intents/" (id) } { code { (id) } } }
                    }
                }
            }
        },
    )
}

/// What became of an admin's action, shown above a page.
pub struct Notice {
    pub ok: bool,
    pub text: String,
    /// Problem lines (`path:line:col: message`), when a set was refused.
    pub lines: Vec<String>,
}

/// One unanswered group and the intents offered for it (id, title), likeliest first.
pub struct QueueRow<'a> {
    pub group: &'a crate::admin::unanswered::Group,
    pub offered: Vec<(&'a str, &'a str)>,
}

/// The unanswered queue's groups, biggest first, each with a form to file it under an
/// intent (through the same validated reload as `/careerbot unanswered`) or ignore it.
pub fn unanswered(admin: &Admin, rows: &[QueueRow<'_>], notice: Option<&Notice>) -> Markup {
    layout(
        "Unanswered",
        Some(admin),
        html! {
            @if let Some(notice) = notice { (notice_box(notice)) }
            @if rows.is_empty() {
                p { "No unanswered questions." }
            } @else {
                p { (rows.len()) " groups of questions the bot did not answer well, biggest first. Filing one makes its question an example of the intent, checked and reloaded as any edit is." }
                table {
                    thead { tr { th { "question" } th { "asked" } th { "file under" } } }
                    tbody {
                        @for row in rows {
                            tr {
                                td { (row.group.text) }
                                td { (row.group.count) "×" }
                                td {
                                    form method="post" action="/unanswered" class="file" {
                                        input type="hidden" name="csrf" value=(admin.csrf);
                                        input type="hidden" name="text" value=(row.group.text);
                                        select name="choice" {
                                            @for (id, title) in &row.offered {
                                                option value=(id) { (title) " (" (id) ")" }
                                            }
                                            option value="ignore" { "Ignore: drop it from the queue" }
                                        }
                                        button type="submit" { "Apply" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// A time as `2026-12-05 21:07:10 UTC`.
pub fn when(at_ms: i64) -> String {
    let format =
        time::macros::format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(at_ms) * 1_000_000)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| at_ms.to_string())
}

/// The History page: this process's reloads, the published versions (with a PostgreSQL
/// store), and the audit log of admins' changes.
pub fn history(
    admin: &Admin,
    reloads: &[crate::admin::reload::ReloadEvent],
    publications: Option<&[crate::admin::store::Publication]>,
    audit: Option<&[crate::admin::audit::AuditEntry]>,
) -> Markup {
    layout(
        "History",
        Some(admin),
        html! {
            h2 { "Reloads" }
            @if reloads.is_empty() {
                p { "No reload has changed the set or been refused since this process started." }
            } @else {
                p { "Reloads of this process since it started that changed the set in service or were refused, newest first." }
                table class="history" {
                    thead { tr { th { "when" } th { "outcome" } th { "version in service" } th { "intents" } th { "problems" } } }
                    tbody {
                        @for event in reloads {
                            tr {
                                td { (when(event.at_ms)) }
                                @if event.refused.is_some() { td class="refused" { "refused" } } @else { td class="ok" { "live" } }
                                td {
                                    code { (event.version) }
                                    @if let Some(version) = event.published { " (published " (version) ")" }
                                }
                                td { (event.intents) }
                                td {
                                    @if let Some(lines) = &event.refused {
                                        pre { @for line in lines { (line) "\n" } }
                                    } @else if event.warnings > 0 {
                                        (event.warnings) " warnings"
                                    }
                                }
                            }
                        }
                    }
                }
            }
            @if let Some(publications) = publications {
                h2 { "Published versions" }
                table {
                    thead { tr { th { "version" } th { "published" } th { "by" } th { "intents" } th { "" } } }
                    tbody {
                        @for p in publications {
                            tr {
                                td { (p.version) } td { (when(p.published_at_ms)) } td { (p.published_by) } td { (p.intents) }
                                td { @if p.current { strong { "in service" } } }
                            }
                        }
                    }
                }
            }
            h2 { "Audit log" }
            @match audit {
                None => p { "No database is configured, so changes are not logged." },
                Some([]) => p { "No admin has changed anything yet." },
                Some(entries) => {
                    p { "Every change made by an admin, from Discord or this dashboard, newest first. Admins' names and Discord ids are kept here and nowhere else; members' ids are never kept." }
                    table class="history" {
                        thead { tr { th { "when" } th { "admin" } th { "from" } th { "what" } th { "outcome" } } }
                        tbody {
                            @for entry in entries {
                                tr {
                                    td { (when(entry.at_ms)) }
                                    td { (entry.admin) @if let Some(id) = entry.admin_id { br; small { (id) } } }
                                    td { (entry.via) }
                                    td { code { (entry.action) } " " (entry.detail) }
                                    td { (entry.outcome) }
                                }
                            }
                        }
                    }
                }
            }
        },
    )
}
