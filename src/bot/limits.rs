//! Discord's size limits, and text cut to fit them.
//!
//! Every string the bot sends passes through [`fit`] with the limit of the field it goes
//! into, so a long answer, title or course list can never make Discord reject a reply.

/// Characters in a message's `content`.
pub const CONTENT: usize = 2000;
/// Characters in an embed's title.
pub const EMBED_TITLE: usize = 256;
/// Characters in an embed's description.
pub const EMBED_DESCRIPTION: usize = 4096;
/// Characters in an embed field's name and value.
pub const FIELD_NAME: usize = 256;
pub const FIELD_VALUE: usize = 1024;
/// Characters in an embed's footer.
pub const FOOTER: usize = 2048;
/// Characters in all of an embed's texts together.
pub const EMBED_TOTAL: usize = 6000;
/// Fields in one embed.
pub const FIELDS: usize = 25;
/// Action rows in one message, and buttons in one row.
pub const ROWS: usize = 5;
pub const BUTTONS_PER_ROW: usize = 5;
/// Characters in a button's label.
pub const BUTTON_LABEL: usize = 80;
/// Characters in a component's custom id.
pub const CUSTOM_ID: usize = 100;
/// Options in a select menu; characters in an option's label, value and description.
pub const SELECT_OPTIONS: usize = 25;
pub const OPTION_LABEL: usize = 100;
pub const OPTION_DESCRIPTION: usize = 100;
/// Characters in a select menu's placeholder.
pub const PLACEHOLDER: usize = 150;
/// Choices in an autocomplete answer, and characters in a choice's name.
pub const AUTOCOMPLETE_CHOICES: usize = 25;
pub const CHOICE_NAME: usize = 100;

/// `text` cut to at most `max` characters (not bytes), ending in "…" when cut.
pub fn fit(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_owned();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fit_counts_characters_and_marks_a_cut() {
        assert_eq!(fit("short", 10), "short");
        assert_eq!(fit("exactly10!", 10), "exactly10!");
        let cut = fit(&"é".repeat(50), 10);
        assert_eq!(cut.chars().count(), 10);
        assert!(cut.ends_with('…'));
        assert_eq!(fit("abc", 0), "");
    }
}
