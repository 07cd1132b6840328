//! Filing an unanswered question under an intent, for every front end (`/careerbot
//! unanswered`, the dashboard): the example goes into the intent's file through the same
//! validated, gated reload as any edit (a refused set is taken back), or with published
//! sets into a new published version. Synchronous and blocking: async callers run it on
//! their blocking pool, one at a time.

use std::path::PathBuf;

use super::edit::{self, Appended, EditError};
use super::reload::{Refusal, Reloaded, Reloader};

/// What became of an example filed under an intent.
#[derive(Debug)]
pub enum Filed {
    /// In the intent's file (or a new published version) and in service.
    Added { done: Appended, reloaded: Reloaded },
    /// Already an example of `intent` (in `path`): nothing was added.
    Duplicate { intent: String, path: PathBuf },
    /// The set with the example was refused, so the set in service is unchanged; `kept`
    /// says why the example may still be in the file, when it may.
    Refused {
        refusal: Refusal,
        kept: Option<&'static str>,
    },
    /// It could not be added at all (an unknown intent, an unreadable file, ...).
    Failed(EditError),
}

/// Files `example` under `intent` in `reloader`'s set; `by` says who, for published
/// versions.
pub fn file(reloader: &Reloader, intent: &str, example: &str, by: &str) -> Filed {
    if reloader.publisher().is_some() {
        return match reloader.append_and_publish(intent, example, by) {
            Ok((done, Ok(reloaded))) => Filed::Added { done, reloaded },
            Ok((_, Err(refusal))) => Filed::Refused {
                refusal,
                kept: None,
            },
            Err(EditError::Duplicate { intent, path }) => Filed::Duplicate { intent, path },
            Err(error) => Filed::Failed(error),
        };
    }
    let done = match edit::append_example(reloader.dir(), intent, example) {
        Ok(done) => done,
        Err(EditError::Duplicate { intent, path }) => return Filed::Duplicate { intent, path },
        Err(error) => return Filed::Failed(error),
    };
    match reloader.reload() {
        Ok(reloaded) => Filed::Added { done, reloaded },
        // The set in service never changed: take the example back. A file changed
        // meanwhile (an editor's save) is left alone.
        Err(refusal) => {
            let kept = match edit::undo(&done) {
                Ok(true) => None,
                Ok(false) => Some(
                    "The file has changed since, so it was left as it is: the example may still be in it.",
                ),
                Err(error) => {
                    tracing::warn!(%error, "could not take an example back");
                    Some("It could not be taken out of the file again: the example is still in it.")
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
        std::fs::write(
            dir.path().join("zz.toml"),
            "[[intent]]\nid = \"zz.broken\"\ntitle = 5\n",
        )
        .unwrap();
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
}
