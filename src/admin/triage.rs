//! Filing an unanswered question under an intent, and any other edit of one intent
//! (remove an example, replace the answer), for every front end (`/careerbot unanswered`,
//! the dashboard): the change goes into the intent's file through the same validated,
//! gated reload as any edit (a refused set is taken back), or with published sets into a
//! new published version. Synchronous and blocking: async callers run it on their
//! blocking pool, one at a time.

use std::path::PathBuf;

use super::edit::{self, Change, EditError, Edited};
use super::reload::{Refusal, Reloaded, Reloader};

/// What became of a change to an intent (an example filed under it, or another edit).
#[derive(Debug)]
pub enum Filed {
    /// In the intent's file (or a new published version) and in service.
    Added { done: Edited, reloaded: Reloaded },
    /// Already an example of `intent` (in `path`): nothing was added.
    Duplicate { intent: String, path: PathBuf },
    /// The set with the change was refused, so the set in service is unchanged; `kept`
    /// says why the change may still be in the file, when it may.
    Refused {
        refusal: Refusal,
        kept: Option<&'static str>,
    },
    /// It could not be made at all: an unknown intent, an unreadable file, an example to
    /// remove that is not there ([`EditError::NoSuchExample`]), an answer that is already
    /// the text given ([`EditError::Unchanged`]: nothing changed), ...
    Failed(EditError),
}

/// Files `example` under `intent` in `reloader`'s set: [`change`] with
/// [`Change::AddExample`].
pub fn file(reloader: &Reloader, intent: &str, example: &str, by: &str) -> Filed {
    change(
        reloader,
        intent,
        &Change::AddExample(example.to_owned()),
        by,
    )
}

/// Makes `change` to `intent` in `reloader`'s set and serves the result; `by` says who,
/// for published versions. In a directory the file is edited ([`edit::edit_intent`]) and
/// reloaded; a refused reload takes the edit back, unless the file changed meanwhile.
/// With published sets the edit is published ([`Reloader::edit_and_publish`]).
pub fn change(reloader: &Reloader, intent: &str, change: &Change, by: &str) -> Filed {
    if reloader.publisher().is_some() {
        return match reloader.edit_and_publish(intent, change, by) {
            Ok((done, Ok(reloaded))) => Filed::Added { done, reloaded },
            Ok((_, Err(refusal))) => Filed::Refused {
                refusal,
                kept: None,
            },
            Err(EditError::Duplicate { intent, path }) => Filed::Duplicate { intent, path },
            Err(error) => Filed::Failed(error),
        };
    }
    let done = match edit::edit_intent(reloader.dir(), intent, change) {
        Ok(done) => done,
        Err(EditError::Duplicate { intent, path }) => return Filed::Duplicate { intent, path },
        Err(error) => return Filed::Failed(error),
    };
    match reloader.reload() {
        Ok(reloaded) => Filed::Added { done, reloaded },
        // The set in service never changed: take the edit back. A file changed
        // meanwhile (an editor's save) is left alone.
        Err(refusal) => {
            let kept = match edit::undo(&done) {
                Ok(true) => None,
                Ok(false) => Some(
                    "The file has changed since, so it was left as it is: the change may still be in it.",
                ),
                Err(error) => {
                    tracing::warn!(%error, "could not take an edit back");
                    Some("It could not be taken out of the file again: the change is still in it.")
                }
            };
            Filed::Refused { refusal, kept }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::config::Settings;
    use crate::engine::Engine;

    /// Writes a broken intent file into `dir`: every set read from it is refused, with
    /// `zz.toml:` in its lines.
    fn break_beside(dir: &std::path::Path) {
        std::fs::write(
            dir.join("zz.toml"),
            "[[intent]]\nid = \"zz.broken\"\ntitle = 5\n",
        )
        .unwrap();
    }

    fn text_of(dir: &std::path::Path) -> String {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        names
            .iter()
            .map(|p| std::fs::read_to_string(p).unwrap())
            .collect()
    }

    #[test]
    fn a_question_is_filed_once_and_a_refused_set_takes_it_back() {
        let dir = crate::admin::good_fixture_copy();
        let settings = Settings::load(None).unwrap();
        let (engine, _) = Engine::load(dir.path(), &settings.matcher, &settings.limits).unwrap();
        let reloader = Reloader::new(engine, dir.path(), &settings).unwrap();
        let question = "what does a backend engineer do between deploys";

        let Filed::Added { done, reloaded } = file(&reloader, "role.overview", question, "test")
        else {
            panic!("not added")
        };
        assert_eq!(done.intent, "role.overview");
        assert!(!reloaded.unchanged);
        let served = reloader.served();
        let intent = served.engine.intent("role.overview").unwrap();
        assert!(intent.examples.iter().any(|e| e == question));

        let again = file(&reloader, "role.overview", question, "test");
        assert!(matches!(again, Filed::Duplicate { ref intent, .. } if intent == "role.overview"));
        let unknown = file(&reloader, "no.such.intent", "another question", "test");
        assert!(matches!(
            unknown,
            Filed::Failed(EditError::UnknownIntent(_))
        ));

        // A broken file beside it: refused, taken back, the set in service unchanged.
        break_beside(dir.path());
        let before = text_of(dir.path());
        let refused = file(&reloader, "role.skills", "which skills matter most", "test");
        let Filed::Refused { refusal, kept } = refused else {
            panic!("not refused: {refused:?}")
        };
        assert!(
            refusal.lines().iter().any(|l| l.contains("zz.toml:")),
            "{refusal:?}"
        );
        assert_eq!(kept, None);
        assert_eq!(text_of(dir.path()), before);
        assert!(Arc::ptr_eq(&served, &reloader.served()));
    }

    fn reloader_of(dir: &std::path::Path) -> Reloader {
        let settings = Settings::load(None).unwrap();
        let (engine, _) = Engine::load(dir, &settings.matcher, &settings.limits).unwrap();
        Reloader::new(engine, dir, &settings).unwrap()
    }

    fn set_answer(text: &str) -> Change {
        Change::SetAnswer(text.to_owned())
    }

    #[test]
    fn a_new_answer_is_served_at_once_and_a_refused_one_is_taken_back() {
        let dir = crate::admin::good_fixture_copy();
        let reloader = reloader_of(dir.path());
        let answer = "Design, code and review.\n\nSome **meetings** too.";

        let changed = change(&reloader, "role.overview", &set_answer(answer), "test");
        let Filed::Added { done, reloaded } = changed else {
            panic!("not changed: {changed:?}")
        };
        assert_eq!(
            (done.intent.as_str(), done.example.as_str()),
            ("role.overview", answer)
        );
        assert!(!reloaded.unchanged);
        let served = reloader.served();
        assert_eq!(
            served.engine.intent("role.overview").unwrap().answer,
            answer
        );

        // The same text again: nothing to change, nothing reloaded.
        let same = change(&reloader, "role.overview", &set_answer(answer), "test");
        assert!(
            matches!(same, Filed::Failed(EditError::Unchanged { ref intent }) if intent == "role.overview"),
            "{same:?}"
        );
        // Too long for the loader: refused before the file is touched.
        let long = "x".repeat(crate::engine::intents::MAX_ANSWER_CHARS + 1);
        let too_long = change(&reloader, "role.overview", &set_answer(&long), "test");
        assert!(
            matches!(too_long, Filed::Failed(EditError::TooLong { .. })),
            "{too_long:?}"
        );
        assert!(Arc::ptr_eq(&served, &reloader.served()));

        // A broken file beside it: refused, taken back, the set in service unchanged.
        break_beside(dir.path());
        let before = text_of(dir.path());
        let refused = change(
            &reloader,
            "role.overview",
            &set_answer("Never served."),
            "test",
        );
        let Filed::Refused { refusal, kept } = refused else {
            panic!("not refused: {refused:?}")
        };
        assert!(
            refusal.lines().iter().any(|l| l.contains("zz.toml:")),
            "{refusal:?}"
        );
        assert_eq!(kept, None);
        assert_eq!(text_of(dir.path()), before);
        assert!(Arc::ptr_eq(&served, &reloader.served()));
        assert_eq!(
            reloader
                .served()
                .engine
                .intent("role.overview")
                .unwrap()
                .answer,
            answer
        );
    }

    #[test]
    fn removing_an_intents_last_example_is_refused_by_the_reload_and_taken_back() {
        let dir = crate::admin::good_fixture_copy();
        std::fs::write(
            dir.path().join("zz.toml"),
            "[[intent]]\nid = \"zz.lonely\"\ntitle = \"Lonely\"\nanswer = \"Alone.\"\nexamples = [\n    \"how lonely is this intent\",\n    \"is anybody out there\",\n]\n",
        )
        .unwrap();
        let reloader = reloader_of(dir.path());
        let remove = |example: &str| Change::RemoveExample(example.to_owned());

        let removed = change(
            &reloader,
            "zz.lonely",
            &remove("Is anybody out there?"),
            "test",
        );
        let Filed::Added { done, .. } = removed else {
            panic!("not removed: {removed:?}")
        };
        assert_eq!(done.example, "is anybody out there");
        let served = reloader.served();
        let lonely = served.engine.intent("zz.lonely").unwrap();
        assert_eq!(lonely.examples, ["how lonely is this intent"]);

        let missing = change(
            &reloader,
            "zz.lonely",
            &remove("is anybody out there"),
            "test",
        );
        assert!(
            matches!(missing, Filed::Failed(EditError::NoSuchExample { ref intent, .. }) if intent == "zz.lonely"),
            "{missing:?}"
        );

        // No examples and no patterns: the loader refuses the set, the edit is undone.
        let before = text_of(dir.path());
        let last = change(
            &reloader,
            "zz.lonely",
            &remove("how lonely is this intent"),
            "test",
        );
        let Filed::Refused { refusal, kept } = last else {
            panic!("not refused: {last:?}")
        };
        assert!(
            refusal
                .lines()
                .iter()
                .any(|l| l.contains("zz.toml:") && l.contains("no examples")),
            "{refusal:?}"
        );
        assert_eq!(kept, None);
        assert_eq!(text_of(dir.path()), before);
        assert!(Arc::ptr_eq(&served, &reloader.served()));
    }
}
