//! A per-user cooldown: at most N questions per window, and one notice when a user passes
//! it, so a flood from one member cannot spend the bot's Discord rate limits.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// What to do with a user's question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Answer it.
    Allowed,
    /// The user is over the limit: tell them once this window.
    Notify,
    /// Over the limit and already told.
    Silent,
}

/// Fixed windows per user, starting at the user's first question.
#[derive(Debug)]
pub struct Cooldown {
    questions: u32,
    window: Duration,
    users: Mutex<Users>,
}

#[derive(Debug, Default)]
struct Users {
    windows: HashMap<u64, Window>,
    /// When expired windows were last swept: at most once per window, so a crowd of active
    /// users does not make every newcomer scan them all.
    swept: Option<Instant>,
}

#[derive(Debug, Clone, Copy)]
struct Window {
    start: Instant,
    used: u32,
    notified: bool,
}

/// Expired windows are swept when the map grows past this many users.
const SWEEP_AT: usize = 4096;

impl Cooldown {
    /// At most `questions` every `window`; 0 questions (or a zero window) switches it off.
    pub fn new(questions: u32, window: Duration) -> Cooldown {
        Cooldown {
            questions,
            window,
            users: Mutex::new(Users::default()),
        }
    }

    /// Counts a question from `user` at `now`.
    pub fn check(&self, user: u64, now: Instant) -> Verdict {
        if self.questions == 0 || self.window.is_zero() {
            return Verdict::Allowed;
        }
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        let Users { windows, swept } = &mut *users;
        let due = swept.is_none_or(|at| now.saturating_duration_since(at) >= self.window);
        if windows.len() >= SWEEP_AT && due && !windows.contains_key(&user) {
            windows.retain(|_, w| now.saturating_duration_since(w.start) < self.window);
            *swept = Some(now);
        }
        let window = windows.entry(user).or_insert(Window {
            start: now,
            used: 0,
            notified: false,
        });
        if now.saturating_duration_since(window.start) >= self.window {
            *window = Window {
                start: now,
                used: 0,
                notified: false,
            };
        }
        if window.used < self.questions {
            window.used += 1;
            Verdict::Allowed
        } else if !window.notified {
            window.notified = true;
            Verdict::Notify
        } else {
            Verdict::Silent
        }
    }

    /// Users with a window in memory.
    #[cfg(test)]
    fn tracked(&self) -> usize {
        self.users.lock().map_or(0, |u| u.windows.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_user_gets_n_questions_then_one_notice_then_silence_until_the_window_ends() {
        let cooldown = Cooldown::new(2, Duration::from_secs(10));
        let t0 = Instant::now();
        let at = |s: u64| t0 + Duration::from_secs(s);
        assert_eq!(cooldown.check(1, at(0)), Verdict::Allowed);
        assert_eq!(cooldown.check(1, at(1)), Verdict::Allowed);
        assert_eq!(cooldown.check(1, at(2)), Verdict::Notify);
        assert_eq!(cooldown.check(1, at(3)), Verdict::Silent);
        // Another user is not affected.
        assert_eq!(cooldown.check(2, at(3)), Verdict::Allowed);
        // A new window starts fresh.
        assert_eq!(cooldown.check(1, at(10)), Verdict::Allowed);
        assert_eq!(cooldown.check(1, at(10)), Verdict::Allowed);
        assert_eq!(cooldown.check(1, at(11)), Verdict::Notify);
    }

    #[test]
    fn zero_questions_switches_it_off_and_old_windows_are_swept() {
        let off = Cooldown::new(0, Duration::from_secs(10));
        let now = Instant::now();
        assert!((0..100).all(|_| off.check(1, now) == Verdict::Allowed));
        let cooldown = Cooldown::new(1, Duration::from_secs(1));
        for user in 0..SWEEP_AT as u64 {
            cooldown.check(user, now);
        }
        assert_eq!(cooldown.tracked(), SWEEP_AT);
        cooldown.check(u64::MAX, now + Duration::from_secs(2));
        assert_eq!(cooldown.tracked(), 1);
    }
}
