//! Intent positions: one index space for the whole engine.
//!
//! [`super::Engine::build`] sorts its intents by id once; an intent's position in that list
//! is its [`IntentIndex`], which is also the matcher's class and the model's. Values kept
//! per intent (scores, matches) live in a [`PerIntent`] that only an `IntentIndex` can
//! index, so a position in some other order (the files', a display's) cannot be mistaken
//! for one.

use std::ops::{Index, IndexMut};

/// An intent's position in the id-sorted list the engine and its matcher were built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct IntentIndex(u32);

impl IntentIndex {
    /// The intent at `position`. Panics past `u32::MAX` (no set comes near).
    pub fn new(position: usize) -> IntentIndex {
        IntentIndex(u32::try_from(position).expect("fewer than 2^32 intents"))
    }

    /// The position, to index a plain slice of intents.
    pub fn get(self) -> usize {
        self.0 as usize
    }
}

impl From<IntentIndex> for u32 {
    fn from(index: IntentIndex) -> u32 {
        index.0
    }
}

/// One value per intent, indexed by [`IntentIndex`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct PerIntent<T>(Vec<T>);

impl<T: Clone> PerIntent<T> {
    /// `value` for each of `intents` intents.
    pub fn filled(intents: usize, value: T) -> PerIntent<T> {
        PerIntent(vec![value; intents])
    }
}

impl<T> PerIntent<T> {
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The value of intent `index`, if there is one.
    pub fn get(&self, index: IntentIndex) -> Option<&T> {
        self.0.get(index.get())
    }

    /// Each intent's value with its index, in index order.
    pub fn iter(&self) -> impl Iterator<Item = (IntentIndex, &T)> {
        self.0
            .iter()
            .enumerate()
            .map(|(i, value)| (IntentIndex::new(i), value))
    }

    /// The values in index order, for loops that run over every intent at once.
    pub fn values_mut(&mut self) -> &mut [T] {
        &mut self.0
    }
}

impl<T> FromIterator<T> for PerIntent<T> {
    /// The values of intents 0, 1, 2... in order.
    fn from_iter<I: IntoIterator<Item = T>>(values: I) -> PerIntent<T> {
        PerIntent(values.into_iter().collect())
    }
}

impl<T> Index<IntentIndex> for PerIntent<T> {
    type Output = T;

    fn index(&self, index: IntentIndex) -> &T {
        &self.0[index.get()]
    }
}

impl<T> IndexMut<IntentIndex> for PerIntent<T> {
    fn index_mut(&mut self, index: IntentIndex) -> &mut T {
        &mut self.0[index.get()]
    }
}
