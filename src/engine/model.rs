//! A linear multi-class model trained at load time, stored as an inverted index.
//!
//! Training fits the multi-class support vector machine of Crammer and Singer: every
//! example's intent should score at least 1 above every other intent, and no example may
//! carry more than a set amount of weight. It is solved in the dual, one example at a time
//! (the sequential dual method of Keerthi et al. 2008, as in liblinear): each visit moves
//! weight between the example's most violating pair of intents, and weight an example no
//! longer needs can move back, which an online update such as the passive-aggressive one
//! never undoes (measured on CLINC150 val, over five shuffle seeds: 93.0-93.3% in-scope
//! against its 92.6-92.9%).
//!
//! Weights are kept per feature as a posting list of `(intent, weight)`, and only pairs
//! that training ever touched are stored, so scoring a question costs the length of its
//! features' postings, not features x intents. This is what lets one code path serve 5
//! intents or 2,000.

use super::features::SparseVec;
use super::index::{IntentIndex, PerIntent};

/// Training settings.
#[derive(Debug, Clone, Copy)]
pub struct TrainSettings {
    /// Passes over the training examples.
    pub epochs: usize,
    /// The machine's `C` (`matcher.svm_c`): the most weight one example may carry. Larger
    /// fits the examples harder; smaller lets the common patterns win over single odd
    /// examples.
    pub c: f32,
    /// Seed of the example order shuffle, so the same files always give the same model.
    pub seed: u64,
}

impl TrainSettings {
    /// `epochs` passes with the machine's `c`, shuffled with the engine's fixed seed. (The
    /// values the engine trains with are the `[matcher]` settings: no defaults here.)
    pub fn new(epochs: usize, c: f32) -> TrainSettings {
        TrainSettings {
            epochs,
            c,
            seed: 0x5eed,
        }
    }
}

/// Per-feature weights, as a posting list or, for the common features that carry a weight
/// for many intents, a dense row (a contiguous add instead of scattered ones).
#[derive(Debug, Clone, Default)]
pub struct Model {
    rows: Vec<Row>,
}

#[derive(Debug, Clone, PartialEq)]
enum Row {
    /// `(intent, weight)`, intents ascending.
    Sparse(Box<[(u32, f32)]>),
    /// The same as `(intent, q)` with the weight `q * scale`, in a third of the bytes:
    /// for sets of at most 65,536 intents (every real one), where memory traffic is what
    /// a large set's scoring waits on.
    Compact { scale: f32, list: Box<[(u16, i16)]> },
    /// One weight per intent, as `q * scale` with `q` an `i16`: half the bytes of an
    /// `f32`, and streaming the dense rows from memory is what bounds scoring speed for
    /// thousands of intents. The rounding (at most 1/65,534 of the row's largest weight)
    /// changes no measured decision.
    Dense { scale: f32, q: Box<[i16]> },
}

impl Row {
    /// A sparse row, compact when every intent index fits in a `u16`.
    fn sparse(list: Vec<(u32, f32)>, classes: usize) -> Row {
        if classes > usize::from(u16::MAX) + 1 {
            return Row::Sparse(list.into());
        }
        let scale = quantum(list.iter().map(|&(_, w)| w));
        let list = list
            .into_iter()
            .map(|(class, w)| (class as u16, (w / scale).round() as i16))
            .collect();
        Row::Compact { scale, list }
    }

    /// A dense row holding `weights` as closely as `i16` steps allow.
    fn dense(weights: &[f32]) -> Row {
        let scale = quantum(weights.iter().copied());
        let q = weights.iter().map(|w| (w / scale).round() as i16).collect();
        Row::Dense { scale, q }
    }
}

/// Weights that can add less than this to any score are dropped (measured on CLINC150 val:
/// a third of the weights go, accuracy does not move).
const PRUNE_CONTRIBUTION: f32 = 0.003;

/// A visit that finds its example's most violating pair of intents closer than this to
/// satisfied changes nothing, and the example skips its next visit (then is checked
/// again): on CLINC150 a third of the later passes' visits are skipped.
const TOLERANCE: f32 = 0.05;

/// A row whose posting covers at least this share of all intents is stored dense.
const DENSE_ROW_SHARE: usize = 4;

/// Most `features x intents` cells trained in dense rows (two `f32` each: 128 MiB).
const DENSE_CELLS: usize = 16 << 20;

/// Weights pruned from the served model: smaller than this share of the feature's
/// largest weight, they change no ranking but lengthen every posting walk.
const PRUNE_RELATIVE: f32 = 0.05;

/// The weights being trained. The most
/// frequent features (as many as `DENSE_CELLS` allows) get a dense row over all intents, so
/// the forward pass over them is a vector add; the rest are postings of `(intent, w)`,
/// intents ascending, holding only the cells training touched. A set of 150 intents is
/// all dense; one of 2,000 keeps dense rows for its common words only.
struct Store {
    classes: usize,
    /// Feature -> its dense row, or `SPARSE`.
    slot: Vec<u32>,
    w: Vec<f32>,
    postings: Vec<Vec<(u32, f32)>>,
}

const SPARSE: u32 = u32::MAX;

impl Store {
    /// Dense rows for the features found in the most examples, within the cell budget.
    fn new(examples: &[(SparseVec, IntentIndex)], features: usize, classes: usize) -> Store {
        let mut df = vec![0u32; features];
        for (vector, _) in examples {
            for &(feature, _) in vector {
                df[feature as usize] += 1;
            }
        }
        let mut by_df: Vec<u32> = (0..features as u32).collect();
        by_df.sort_by_key(|&f| std::cmp::Reverse(df[f as usize]));
        let rows = (DENSE_CELLS / classes.max(1)).min(features);
        let mut slot = vec![SPARSE; features];
        for (row, &feature) in by_df[..rows].iter().enumerate() {
            slot[feature as usize] = row as u32;
        }
        Store {
            classes,
            slot,
            w: vec![0.0; rows * classes],
            postings: vec![Vec::new(); features],
        }
    }

    /// Adds `x * w` of each feature to each intent's score.
    fn add_scores(&self, vector: &SparseVec, scores: &mut [f32]) {
        for &(feature, x) in vector {
            match self.slot[feature as usize] {
                SPARSE => {
                    for &(class, w) in &self.postings[feature as usize] {
                        scores[class as usize] += w * x;
                    }
                }
                row => add_scaled(
                    scores,
                    &self.w[row as usize * self.classes..][..self.classes],
                    x,
                ),
            }
        }
    }

    /// `w += step * x` for each feature `(feature, x)` of `vector`, for one intent.
    fn update(&mut self, vector: &SparseVec, class: u32, step: f32) {
        for &(feature, x) in vector {
            match self.slot[feature as usize] {
                SPARSE => {
                    let list = &mut self.postings[feature as usize];
                    match list.binary_search_by_key(&class, |&(c, _)| c) {
                        Ok(i) => list[i].1 += step * x,
                        Err(i) => list.insert(i, (class, step * x)),
                    }
                }
                row => self.w[row as usize * self.classes + class as usize] += step * x,
            }
        }
    }

    /// The weights as postings.
    fn into_postings(self) -> Vec<Vec<(u32, f32)>> {
        let classes = self.classes;
        self.postings
            .into_iter()
            .zip(self.slot)
            .map(|(list, slot)| match slot {
                SPARSE => list,
                row => {
                    let at = row as usize * classes;
                    self.w[at..at + classes]
                        .iter()
                        .enumerate()
                        .filter(|&(_, &w)| w != 0.0)
                        .map(|(class, &w)| (class as u32, w))
                        .collect()
                }
            })
            .collect()
    }
}

impl Model {
    /// Trains on `(features, intent)` pairs. `features` is the feature count.
    pub fn train(
        examples: &[(SparseVec, IntentIndex)],
        features: usize,
        classes: usize,
        settings: TrainSettings,
    ) -> Model {
        let store = Store::new(examples, features, classes);
        let postings = fit(store, examples, classes, settings);
        // The largest value each feature takes in an example bounds its contribution.
        let mut largest_x = vec![0f32; features];
        for (vector, _) in examples {
            for &(feature, x) in vector {
                let slot = &mut largest_x[feature as usize];
                *slot = slot.max(x);
            }
        }
        let rows = postings
            .into_iter()
            .zip(largest_x)
            .map(|(list, x)| {
                let list = prune(list, x);
                if list.len() * DENSE_ROW_SHARE >= classes && classes > 1 {
                    let mut row = vec![0.0; classes];
                    for (class, w) in list {
                        row[class as usize] = w;
                    }
                    Row::dense(&row)
                } else {
                    Row::sparse(list, classes)
                }
            })
            .collect();
        Model { rows }
    }

    /// Adds the score of every intent for `vector` into `scores`.
    ///
    /// With thousands of intents the model outgrows the CPU caches and each feature's row
    /// costs two cache misses (its header, then its weights). A cheap first pass that only
    /// touches each row's header and first weight lets the misses of all features overlap,
    /// instead of each waiting behind the previous row's additions.
    pub fn score_into(&self, vector: &SparseVec, scores: &mut PerIntent<f32>) {
        let scores = scores.values_mut();
        let rows: Vec<(&Row, f32)> = vector
            .iter()
            .filter_map(|&(feature, x)| Some((self.rows.get(feature as usize)?, x)))
            .collect();
        let mut touched = 0u32;
        for (row, _) in &rows {
            touched ^= match row {
                Row::Sparse(list) => list.first().map_or(0, |&(class, _)| class),
                Row::Compact { list, .. } => list.first().map_or(0, |&(class, _)| class.into()),
                Row::Dense { q, .. } => q.first().map_or(0, |&q| q as u32),
            };
        }
        std::hint::black_box(touched);
        for &(row, x) in &rows {
            match row {
                Row::Sparse(list) => {
                    for &(class, w) in list.iter() {
                        scores[class as usize] += w * x;
                    }
                }
                Row::Compact { scale, list } => {
                    let x = x * scale;
                    for &(class, q) in list.iter() {
                        scores[usize::from(class)] += f32::from(q) * x;
                    }
                }
                Row::Dense { scale, q } => add_scaled(scores, q, x * scale),
            }
        }
    }

    /// The weight of one feature for one intent (0 when never learned).
    pub fn weight(&self, feature: u32, intent: IntentIndex) -> f32 {
        let class = u32::from(intent);
        match self.rows.get(feature as usize) {
            Some(Row::Compact { scale, list }) => u16::try_from(class)
                .ok()
                .and_then(|class| list.binary_search_by_key(&class, |&(c, _)| c).ok())
                .map_or(0.0, |i| f32::from(list[i].1) * scale),
            Some(Row::Sparse(list)) => list
                .binary_search_by_key(&class, |&(c, _)| c)
                .map_or(0.0, |i| list[i].1),
            Some(Row::Dense { scale, q }) => {
                q.get(class as usize).map_or(0.0, |&q| f32::from(q) * scale)
            }
            None => 0.0,
        }
    }

    /// How many weights scoring `vector` reads (a dense row counts all its intents).
    pub fn cost(&self, vector: &SparseVec) -> usize {
        vector
            .iter()
            .filter_map(|&(feature, _)| self.rows.get(feature as usize))
            .map(|row| match row {
                Row::Sparse(list) => list.len(),
                Row::Compact { list, .. } => list.len(),
                Row::Dense { q, .. } => q.len(),
            })
            .sum()
    }

    /// Stored `(feature, intent)` weights: the model's size.
    pub fn weights(&self) -> usize {
        self.rows
            .iter()
            .map(|row| match row {
                Row::Sparse(list) => list.len(),
                Row::Compact { list, .. } => list.len(),
                Row::Dense { q, .. } => q.iter().filter(|&&q| q != 0).count(),
            })
            .sum()
    }
}

/// The step of an `i16` grid that holds `weights` to 1/65,534 of the largest.
fn quantum(weights: impl Iterator<Item = f32>) -> f32 {
    let largest = weights.map(f32::abs).fold(0.0, f32::max);
    if largest > 0.0 {
        largest / f32::from(i16::MAX)
    } else {
        1.0
    }
}

/// `scores += x * row`, for the served `i16` rows and training's `f32` ones: the loop that
/// scoring and training spend most of their time in for thousands of intents, compiled for
/// the widest vector instructions the CPU has (chosen at run time).
#[multiversion::multiversion(targets("x86_64+avx512f", "x86_64+avx2+fma", "aarch64+neon"))]
fn add_scaled<W: Copy + Into<f32>>(scores: &mut [f32], row: &[W], x: f32) {
    for (score, &w) in scores.iter_mut().zip(row) {
        *score += w.into() * x;
    }
}

/// The Crammer-Singer machine, solved in the dual one example at a time, over any weight
/// store.
///
/// Each example `i` holds a weight `a[m]` per intent `m` (its dual variables): at most `C`
/// for its own intent, at most 0 for the others, summing to 0; an intent's weights are the
/// sum of `a[m] * x` over the examples. A visit computes the gradient `g[m]` (the score of
/// `m`, plus 1 for the wrong intents: the margin they must stay under), then moves weight
/// from the intent with the highest `g` to the one with the lowest `g` that can still take
/// weight, by the amount that best closes the gap within those bounds.
fn fit(
    mut store: Store,
    examples: &[(SparseVec, IntentIndex)],
    classes: usize,
    settings: TrainSettings,
) -> Vec<Vec<(u32, f32)>> {
    if classes < 2 {
        // One intent: nothing to separate; give it a positive weight on its features.
        for (vector, class) in examples {
            store.update(vector, u32::from(*class), 1.0);
        }
        return store.into_postings();
    }
    let cap = settings.c;
    let mut order: Vec<usize> = (0..examples.len()).collect();
    let mut rng = XorShift(settings.seed | 1);
    let mut scores = vec![0f32; classes];
    // Per example: its non-zero dual weights `(intent, a)`, and whether it skips its next
    // visit.
    let mut duals: Vec<Vec<(u32, f32)>> = vec![Vec::new(); examples.len()];
    let mut settled = vec![false; examples.len()];
    for _ in 0..settings.epochs {
        rng.shuffle(&mut order);
        for &index in &order {
            let (vector, truth) = &examples[index];
            let truth = u32::from(*truth);
            if vector.is_empty() || std::mem::take(&mut settled[index]) {
                continue;
            }
            scores.fill(0.0);
            store.add_scores(vector, &mut scores);
            let duals = &mut duals[index];
            let dual = |class: u32| duals.iter().find(|d| d.0 == class).map_or(0.0, |d| d.1);
            let gradient = |class: usize| scores[class] + f32::from(class as u32 != truth);
            // The first intent with the highest gradient (one pass: this runs per visit
            // over every intent).
            let mut from = 0u32;
            let mut highest = f32::NEG_INFINITY;
            for class in 0..classes {
                let g = gradient(class);
                if g.total_cmp(&highest).is_gt() {
                    (from, highest) = (class as u32, g);
                }
            }
            // Weight can go to the example's own intent, up to the cap, or back to an
            // intent it was taken from.
            let room = |class: u32| {
                if class == truth {
                    cap - dual(class)
                } else {
                    -dual(class)
                }
            };
            let to = std::iter::once(truth)
                .chain(duals.iter().map(|d| d.0))
                .filter(|&class| class != from && room(class) > 0.0)
                .min_by(|&a, &b| gradient(a as usize).total_cmp(&gradient(b as usize)));
            let gap = to.map_or(0.0, |to| gradient(from as usize) - gradient(to as usize));
            let Some(to) = to.filter(|_| gap > TOLERANCE) else {
                settled[index] = true;
                continue;
            };
            let norm: f32 = vector.iter().map(|&(_, x)| x * x).sum();
            let step = (gap / (2.0 * norm)).min(room(to));
            for (class, change) in [(to, step), (from, -step)] {
                match duals.iter_mut().find(|d| d.0 == class) {
                    Some(d) => d.1 += change,
                    None => duals.push((class, change)),
                }
                store.update(vector, class, change);
            }
        }
    }
    store.into_postings()
}

/// Drops weights too small to matter: next to the feature's largest one, or in what they
/// can add to a score given the largest value the feature takes in any example.
fn prune(list: Vec<(u32, f32)>, largest_x: f32) -> Vec<(u32, f32)> {
    let largest = list.iter().map(|&(_, w)| w.abs()).fold(0.0, f32::max);
    let floor = (largest * PRUNE_RELATIVE)
        .max(PRUNE_CONTRIBUTION / largest_x.max(1e-6))
        .max(1e-6);
    list.into_iter()
        .filter(|&(_, w)| w.abs() >= floor)
        .collect()
}

/// A tiny deterministic generator for the example order (no need for a crate).
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vector(pairs: &[(u32, f32)]) -> SparseVec {
        pairs.to_vec()
    }

    fn at(class: u32) -> IntentIndex {
        IntentIndex::new(class as usize)
    }

    /// Examples labelled by intent position.
    fn labeled(examples: Vec<(SparseVec, u32)>) -> Vec<(SparseVec, IntentIndex)> {
        examples.into_iter().map(|(v, c)| (v, at(c))).collect()
    }

    /// Every intent's score for `vector`, in index order.
    fn scores(model: &Model, vector: &SparseVec, classes: usize) -> Vec<f32> {
        let mut scores = PerIntent::filled(classes, 0.0);
        model.score_into(vector, &mut scores);
        scores.iter().map(|(_, &s)| s).collect()
    }

    #[test]
    fn training_reaches_the_margin_and_an_example_carries_at_most_c() {
        // Two intents told apart by one feature each, over a shared one: the machine puts
        // each example's intent at least 1 above the other (the SVM margin, less the
        // solver's tolerance and the served model's pruning).
        let examples = labeled(vec![
            (vector(&[(0, 0.6), (1, 0.8)]), 0),
            (vector(&[(0, 0.6), (2, 0.8)]), 1),
            (vector(&[(0, 0.8), (1, 0.6)]), 0),
            (vector(&[(0, 0.8), (2, 0.6)]), 1),
        ]);
        let settings = TrainSettings::new(20, 10.0);
        let model = Model::train(&examples, 3, 2, settings);
        for (vector, truth) in &examples {
            let scores = scores(&model, vector, 2);
            let margin = scores[truth.get()] - scores[1 - truth.get()];
            assert!(margin > 0.9, "margin {margin}, scores {scores:?}");
        }
        // With a small C the cap binds: an intent's weight on a feature is at most C times
        // the feature's values in its own examples, and at least minus C times its values
        // in the others' (each example carries at most C).
        let c = 0.05;
        let capped = TrainSettings { c, ..settings };
        let model = Model::train(&examples, 3, 2, capped);
        for feature in 0..3u32 {
            for class in 0..2u32 {
                let values = |own: bool| -> f32 {
                    let of = |v: &SparseVec| v.iter().find(|e| e.0 == feature).map_or(0.0, |e| e.1);
                    examples
                        .iter()
                        .filter(|(_, truth)| (*truth == at(class)) == own)
                        .map(|(v, _)| of(v))
                        .sum()
                };
                let w = model.weight(feature, at(class));
                let (low, high) = (-c * values(false), c * values(true));
                assert!(
                    low - 1e-4 <= w && w <= high + 1e-4,
                    "{low} <= {w} <= {high}"
                );
            }
        }
        // Short of the margin, but still right.
        let scores = scores(&model, &examples[0].0, 2);
        assert!(scores[0] > scores[1], "scores {scores:?}");
    }

    #[test]
    fn separates_classes_that_share_features() {
        // Feature 0 is shared; 1 marks class 0, 2 marks class 1, 3 marks class 2.
        let examples = labeled(vec![
            (vector(&[(0, 0.5), (1, 0.8)]), 0),
            (vector(&[(0, 0.5), (2, 0.8)]), 1),
            (vector(&[(0, 0.5), (3, 0.8)]), 2),
        ]);
        let model = Model::train(&examples, 4, 3, TrainSettings::new(4, 1.0));
        for (vector, truth) in &examples {
            let scores = scores(&model, vector, 3);
            let best = (0..3).max_by(|&a, &b| scores[a].total_cmp(&scores[b]));
            assert_eq!(best, Some(truth.get()), "scores {scores:?}");
        }
    }

    #[test]
    fn a_single_class_gets_positive_weights() {
        let examples = labeled(vec![(vector(&[(0, 1.0)]), 0)]);
        let model = Model::train(&examples, 1, 1, TrainSettings::new(4, 1.0));
        assert!(model.weight(0, at(0)) > 0.0);
        assert_eq!(model.weight(0, at(5)), 0.0);
    }

    /// The weights a row holds, as `(intent, weight)` pairs with the zeros left out.
    fn held(row: &Row, classes: usize) -> Vec<(u32, f32)> {
        let model = Model {
            rows: vec![row.clone()],
        };
        (0..classes as u32)
            .map(|class| (class, model.weight(0, at(class))))
            .filter(|&(_, w)| w != 0.0)
            .collect()
    }

    #[test]
    fn rows_hold_weights_to_one_i16_step_of_their_largest() {
        let list: Vec<(u32, f32)> = vec![(0, 0.75), (3, -0.001), (7, -1.5), (9, 0.2)];
        let step = 1.5 / f32::from(i16::MAX);
        let mut dense = vec![0.0; 10];
        for &(class, w) in &list {
            dense[class as usize] = w;
        }
        for row in [Row::sparse(list.clone(), 10), Row::dense(&dense)] {
            let held = held(&row, 10);
            assert_eq!(held.len(), list.len(), "{row:?}");
            for ((class, w), (held_class, held_w)) in list.iter().zip(&held) {
                assert_eq!(class, held_class);
                assert!(
                    (w - held_w).abs() <= step / 2.0 + 1e-7,
                    "{w} held as {held_w}"
                );
            }
        }
        assert!(matches!(Row::sparse(list.clone(), 10), Row::Compact { .. }));
        // Intent indexes past u16 keep the wide form, exactly.
        let wide = Row::sparse(vec![(70_000, 0.5)], 70_001);
        assert_eq!(wide, Row::Sparse(vec![(70_000, 0.5)].into()));
        // An all-zero row stays all zero.
        assert!(held(&Row::dense(&[0.0; 4]), 4).is_empty());
    }

    #[test]
    fn scoring_adds_every_row_whatever_its_form_and_length() {
        // 37 intents: not a multiple of any vector width, so the SIMD tail is exercised.
        let classes = 37;
        let dense: Vec<f32> = (0..classes).map(|c| (c as f32 - 18.0) / 18.0).collect();
        let sparse = vec![(2u32, 0.5f32), (36, -0.25)];
        let model = Model {
            rows: vec![Row::dense(&dense), Row::sparse(sparse.clone(), classes)],
        };
        let mut scores = PerIntent::filled(classes, 1.0);
        model.score_into(&vec![(0, 2.0), (1, 4.0), (9, 1.0)], &mut scores);
        for (class, &score) in scores.iter() {
            let class = class.get();
            let mut expected = 1.0 + 2.0 * dense[class];
            for &(c, w) in &sparse {
                if c as usize == class {
                    expected += 4.0 * w;
                }
            }
            assert!(
                (score - expected).abs() < 1e-3,
                "intent {class}: {score} vs {expected}"
            );
        }
    }

    #[test]
    fn training_is_deterministic() {
        let examples = labeled(
            (0..30)
                .map(|i| (vector(&[(i % 7, 0.6), (7 + i % 3, 0.8)]), i % 3))
                .collect(),
        );
        let a = Model::train(&examples, 10, 3, TrainSettings::new(4, 1.0));
        let b = Model::train(&examples, 10, 3, TrainSettings::new(4, 1.0));
        assert_eq!(a.rows, b.rows);
    }
}
