//! An answer's markdown as Discord shows it, for the dashboard's preview: CommonMark (bold,
//! italics, strikethrough, code, lists, quotes, links) by pulldown-cmark. Nothing in the
//! answer reaches the page as markup of its own: raw HTML is shown as text, images as
//! links, and a link that is not http(s) (`javascript:`, say) as its text alone, as Discord
//! would not make it clickable either.

use pulldown_cmark::{html, CowStr, Event, Options, Parser, Tag};

/// The HTML of `answer`'s markdown, safe to put in a page as it is.
pub fn to_html(answer: &str) -> String {
    let parser = Parser::new_ext(answer, Options::ENABLE_STRIKETHROUGH);
    // Depth of links left as text, so their end tags are dropped too.
    let mut unlinked = Vec::new();
    let events = parser.filter_map(|event| match event {
        Event::Html(raw) => Some(Event::Text(raw)),
        Event::Start(Tag::Image(kind, dest, title))
        | Event::Start(Tag::Link(kind, dest, title)) => {
            let safe = web_link(&dest);
            unlinked.push(!safe);
            safe.then_some(Event::Start(Tag::Link(kind, dest, title)))
        }
        Event::End(Tag::Image(kind, dest, title)) | Event::End(Tag::Link(kind, dest, title)) => {
            let dropped = unlinked.pop().unwrap_or(false);
            (!dropped).then_some(Event::End(Tag::Link(kind, dest, title)))
        }
        other => Some(other),
    });
    let mut out = String::new();
    html::push_html(&mut out, events);
    out
}

/// Whether `dest` is a link Discord makes clickable: http or https.
fn web_link(dest: &CowStr<'_>) -> bool {
    let lower = dest.trim().to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_is_rendered_and_markup_is_not() {
        let html = to_html("**Bold** and ~~gone~~ with `code`\n\n- one\n- two");
        assert!(html.contains("<strong>Bold</strong>"), "{html}");
        assert!(html.contains("<del>gone</del>"), "{html}");
        assert!(html.contains("<code>code</code>"), "{html}");
        assert!(html.contains("<li>one</li>"), "{html}");

        let html = to_html("<script>alert(1)</script>\n\nhi <img src=x onerror=alert(2)>");
        assert!(
            !html.contains("<script") && !html.contains("<img"),
            "{html}"
        );
        assert!(html.contains("&lt;script&gt;"), "{html}");
    }

    #[test]
    fn only_web_links_are_links() {
        let html = to_html("[site](https://example.com) [bad](javascript:alert(1)) ![pic](https://example.com/a.png)");
        assert!(
            html.contains(r#"<a href="https://example.com">site</a>"#),
            "{html}"
        );
        assert!(!html.contains("javascript"), "{html}");
        assert!(html.contains("bad"), "{html}");
        assert!(!html.contains("<img"), "{html}");
    }
}
