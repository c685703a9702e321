//! The intent classifier: built from labelled examples when a script is compiled, run by
//! the engine on each text message. Also ranks the sections of a knowledge base.
//!
//! Every text becomes a sparse vector of features (`text.rs`: word stems in pt/es/en and
//! character n-grams of the folded words), weighted by TF-IDF and scaled to unit length.
//! A label's score for a message blends two cosine similarities: with the label's
//! nearest example, and with the centroid of all its examples. Scores lie in `[0, 1]`
//! and read as confidence.
//!
//! **Invariant:** the same examples and the same message give bit-for-bit the same
//! scores on every machine and in every run: labels and features are kept in sorted
//! order, sums run in that order, the logarithm is computed here from `+ - * /` (not by
//! the platform's maths library), and no hash map is iterated.

mod table;
pub mod text;

use table::Table;
use text::Channel;

/// The knobs of the classifier. [`Params::default`] is what scripts get; the values were
/// chosen on the held-out predictions of example scripts (`docs/intents.md`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Params {
    /// Weight of a word-stem feature relative to an n-gram feature.
    pub word_weight: f32,
    /// How much a feature no example has counts against the message's length (0 to 1):
    /// words unknown to every label dilute the confidence.
    pub unknown_weight: f32,
    /// Share of the nearest-example similarity in a score; the centroid has the rest.
    pub nearest_share: f32,
    /// Features found in more than this share of the examples are left out of the
    /// nearest-example search (they still count in centroids and lengths): they say little
    /// about which example is nearest and cost the most time.
    pub max_df_share: f32,
}

impl Default for Params {
    fn default() -> Params {
        Params {
            word_weight: 1.6,
            unknown_weight: 0.35,
            nearest_share: 0.3,
            max_df_share: 0.03,
        }
    }
}

/// A label with its examples, as the builder takes them.
#[derive(Clone, Debug, PartialEq)]
pub struct Labelled {
    pub label: String,
    pub examples: Vec<String>,
}

/// A built classifier.
#[derive(Clone, Debug, Default)]
pub struct Model {
    /// Label names, sorted.
    labels: Vec<String>,
    /// Examples in label order: `(label index, text)`.
    examples: Vec<(u32, String)>,
    /// Per label: the range of its examples in `examples`.
    label_ranges: Vec<(u32, u32)>,
    /// Feature key -> feature index.
    table: Table,
    /// Per feature: its IDF weight (channel scale included).
    idf: Vec<f32>,
    /// Per feature: `(example, weight)` of the unit-length example vectors, in example
    /// order; only features rare enough to tell examples apart (`max_df_share`). A label's
    /// share of them is the sum over its examples, so postings carry no label.
    postings: Vec<Vec<(u32, f32)>>,
    /// Per example: its unit-length vector, by feature index.
    example_vecs: Vec<Vec<(u32, f32)>>,
    /// Per feature: its row in `centroid`, or [`NO_ROW`]; only the common features that
    /// have no postings have a row.
    centroid_row: Vec<u32>,
    /// Rows of one weight per label (label order) of the summed example vectors
    /// (centroids), one row per common feature: dense, so adding a row is one pass.
    centroid: Vec<f32>,
    /// Per label: the length of its summed vector.
    centroid_norm: Vec<f32>,
    /// Per example: its dot product with its own label's summed vector.
    self_dot: Vec<f32>,
    /// The weight of a feature no example has.
    unknown_idf: f32,
    params: Params,
    /// Words of the examples -> their features (indexes, repeats kept), so a message's
    /// known words are neither stemmed nor cut into n-grams again.
    words: Table,
    word_features: Vec<Vec<u32>>,
    /// The first three bytes of every known stem (see [`text::prefix_key`]).
    stem_prefixes: Table,
}

/// A feature without a dense centroid row.
const NO_ROW: u32 = u32::MAX;

/// How many of the best labels a ranking keeps.
pub const TOP: usize = 3;

/// One label's score for a message.
#[derive(Clone, Debug, PartialEq)]
pub struct Score {
    pub label: String,
    /// Blended similarity in `[0, 1]`.
    pub score: f32,
    /// The label's example most like the message, if any shares a feature.
    pub nearest: Option<String>,
}

/// What the classifier says about a message: the best labels (at most [`TOP`]), best
/// first (ties by name).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Ranking {
    pub scores: Vec<Score>,
    /// The words of the message as the classifier read them; empty unless the ranking
    /// came from [`Model::explain`].
    pub words: Vec<String>,
    /// Per word, its share of the best label's score (same order as `words`); empty
    /// unless the ranking came from [`Model::explain`].
    pub weights: Vec<f32>,
}

impl Ranking {
    pub fn best(&self) -> Option<&Score> {
        self.scores.first()
    }

    /// The score of the best label minus the second's (the best's own score when alone).
    pub fn margin(&self) -> f32 {
        match (self.scores.first(), self.scores.get(1)) {
            (Some(a), Some(b)) => a.score - b.score,
            (Some(a), None) => a.score,
            _ => 0.0,
        }
    }

    /// The words that weighed most for the best label, heaviest first, at most `n`.
    pub fn deciding_words(&self, n: usize) -> Vec<(String, f32)> {
        let mut ws: Vec<(String, f32)> = self
            .words
            .iter()
            .zip(&self.weights)
            .filter(|(_, w)| **w > 0.0)
            .map(|(s, w)| (s.clone(), *w))
            .collect();
        // Stable sort: equal weights keep message order.
        ws.sort_by(|a, b| b.1.total_cmp(&a.1));
        let mut seen: Vec<String> = Vec::new();
        ws.retain(|(s, _)| {
            if seen.contains(s) {
                false
            } else {
                seen.push(s.clone());
                true
            }
        });
        ws.truncate(n);
        ws
    }
}

/// One example's label against the label it would get without itself.
#[derive(Clone, Debug, PartialEq)]
pub struct HeldOut {
    pub label: String,
    pub example: String,
    pub ranking: Ranking,
}

impl Model {
    /// Builds a model. Labels and examples may come in any order: the model is the same.
    /// Empty examples (after folding) are kept as examples but have no features.
    pub fn build(input: &[Labelled]) -> Model {
        Model::build_with(input, Params::default())
    }

    /// Builds a model with other parameters (for evaluations).
    pub fn build_with(input: &[Labelled], params: Params) -> Model {
        let mut classes: Vec<&Labelled> = input.iter().collect();
        classes.sort_by(|a, b| a.label.cmp(&b.label));
        classes.dedup_by(|a, b| a.label == b.label);
        let labels: Vec<String> = classes.iter().map(|c| c.label.clone()).collect();
        let mut examples: Vec<(u32, String)> = Vec::new();
        for (i, c) in classes.iter().enumerate() {
            let mut exs = c.examples.clone();
            exs.sort();
            exs.dedup();
            let li = u32::try_from(i).unwrap_or(u32::MAX);
            examples.extend(exs.into_iter().map(|e| (li, e)));
        }

        // Feature counts per example, by key, sorted.
        let per_example: Vec<Vec<(u64, Channel, u32)>> = examples
            .iter()
            .map(|(_, t)| counted(&text::features(t).1))
            .collect();
        // Feature keys, sorted, with document frequencies.
        let mut keys: Vec<(u64, Channel)> = per_example
            .iter()
            .flat_map(|fs| fs.iter().map(|(k, c, _)| (*k, *c)))
            .collect();
        keys.sort_unstable();
        keys.dedup_by_key(|(k, _)| *k);
        let mut table = Table::with_capacity(keys.len());
        for (i, (k, _)) in keys.iter().enumerate() {
            table.insert(*k, u32::try_from(i).unwrap_or(u32::MAX));
        }
        let mut df = vec![0u32; keys.len()];
        for fs in &per_example {
            for (k, _, _) in fs {
                if let Some(i) = table.get(*k) {
                    if let Some(d) = df.get_mut(i as usize) {
                        *d += 1;
                    }
                }
            }
        }
        let n = examples.len() as f32;
        let scale = |c: Channel| match c {
            Channel::Word => params.word_weight,
            Channel::Gram => 1.0,
        };
        let idf: Vec<f32> = keys
            .iter()
            .zip(&df)
            .map(|((_, c), &d)| scale(*c) * (ln((n + 1.0) / (d as f32 + 1.0)) + 1.0))
            .collect();
        let unknown_idf = ln(n + 1.0) + 1.0;

        let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); keys.len()];
        let mut example_vecs: Vec<Vec<(u32, f32)>> = vec![Vec::new(); examples.len()];
        let mut sums: Vec<Vec<(u32, f32)>> = vec![Vec::new(); labels.len()];
        for (e, fs) in per_example.iter().enumerate() {
            let weighted: Vec<(u32, f32)> = fs
                .iter()
                .filter_map(|(k, _, tf)| {
                    let i = table.get(*k)?;
                    Some((
                        i,
                        tf_weight(*tf) * idf.get(i as usize).copied().unwrap_or(0.0),
                    ))
                })
                .collect();
            let norm = weighted.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            if norm <= 0.0 {
                continue;
            }
            let eu = u32::try_from(e).unwrap_or(u32::MAX);
            let label = examples.get(e).map_or(0, |x| x.0) as usize;
            let mut unit: Vec<(u32, f32)> = weighted.iter().map(|(i, w)| (*i, w / norm)).collect();
            unit.sort_by_key(|(i, _)| *i);
            if let Some(v) = example_vecs.get_mut(e) {
                v.clone_from(&unit);
            }
            for (i, w) in unit {
                if let Some(p) = postings.get_mut(i as usize) {
                    p.push((eu, w));
                }
                if let Some(s) = sums.get_mut(label) {
                    s.push((i, w));
                }
            }
        }
        // Centroids: summed unit vectors per label, merged by feature.
        let mut centroid: Vec<Vec<(u32, f32)>> = vec![Vec::new(); keys.len()];
        let mut centroid_norm = vec![0f32; labels.len()];
        let mut sum_vecs: Vec<Vec<(u32, f32)>> = Vec::with_capacity(labels.len());
        for (l, mut s) in sums.into_iter().enumerate() {
            s.sort_by_key(|(i, _)| *i);
            let mut merged: Vec<(u32, f32)> = Vec::with_capacity(s.len());
            for (i, w) in s {
                match merged.last_mut() {
                    Some((j, acc)) if *j == i => *acc += w,
                    _ => merged.push((i, w)),
                }
            }
            if let Some(cn) = centroid_norm.get_mut(l) {
                *cn = merged.iter().map(|(_, w)| w * w).sum::<f32>().sqrt();
            }
            let lu = u32::try_from(l).unwrap_or(u32::MAX);
            for (i, w) in &merged {
                if let Some(c) = centroid.get_mut(*i as usize) {
                    c.push((lu, *w));
                }
            }
            sum_vecs.push(merged);
        }
        // Each example's dot product with its own label's sum, for leave-one-out scores.
        let mut self_dot = vec![0f32; examples.len()];
        for (i, post) in postings.iter().enumerate() {
            for &(e, w) in post {
                let label = examples.get(e as usize).map_or(0, |x| x.0) as usize;
                let c = sum_vecs
                    .get(label)
                    .and_then(|v| v.binary_search_by_key(&(i as u32), |(j, _)| *j).ok())
                    .and_then(|at| sum_vecs.get(label).and_then(|v| v.get(at)))
                    .map_or(0.0, |(_, w)| *w);
                if let Some(d) = self_dot.get_mut(e as usize) {
                    *d += w * c;
                }
            }
        }
        // Common features leave the nearest-example postings (after `self_dot`, which
        // needs them all).
        // A rare feature reaches the centroids through its example postings (a label's
        // sum is the sum of its examples), so only common ones keep centroid postings.
        let max_df = ((n * params.max_df_share).ceil() as usize).max(8);
        let mut centroid_row = vec![NO_ROW; postings.len()];
        let mut dense: Vec<f32> = Vec::new();
        for ((p, c), row) in postings
            .iter_mut()
            .zip(&centroid)
            .zip(centroid_row.iter_mut())
        {
            if p.len() > max_df {
                p.clear();
                p.shrink_to_fit();
                *row = u32::try_from(dense.len() / labels.len().max(1)).unwrap_or(NO_ROW);
                let start = dense.len();
                dense.resize(start + labels.len(), 0.0);
                for &(l, w) in c {
                    if let Some(slot) = dense.get_mut(start + l as usize) {
                        *slot = w;
                    }
                }
            }
        }
        let centroid = dense;
        // The cache of example words and the prefixes of known stems.
        let mut vocab: Vec<String> = examples.iter().flat_map(|(_, t)| text::words(t)).collect();
        vocab.sort();
        vocab.dedup();
        let mut words = Table::with_capacity(vocab.len());
        let mut word_features = Vec::with_capacity(vocab.len());
        let mut prefixes: Vec<u64> = Vec::new();
        for w in &vocab {
            let mut fs = Vec::new();
            text::word_features(w, 0, &mut fs);
            let idx: Vec<u32> = fs.iter().filter_map(|f| table.get(f.key)).collect();
            for s in text::stems(w) {
                prefixes.push(text::prefix_key(&s));
            }
            words.insert(
                text::hash(Channel::Gram, w.as_bytes()),
                u32::try_from(word_features.len()).unwrap_or(u32::MAX),
            );
            word_features.push(idx);
        }
        prefixes.sort_unstable();
        prefixes.dedup();
        let mut stem_prefixes = Table::with_capacity(prefixes.len());
        for k in prefixes {
            stem_prefixes.insert(k, 0);
        }
        let label_ranges = (0..labels.len())
            .map(|l| {
                let l = l as u32;
                let from = examples.partition_point(|(x, _)| *x < l);
                let to = examples.partition_point(|(x, _)| *x <= l);
                (from as u32, to as u32)
            })
            .collect();
        Model {
            labels,
            label_ranges,
            examples,
            words,
            word_features,
            stem_prefixes,
            table,
            idf,
            postings,
            example_vecs,
            centroid_row,
            centroid,
            centroid_norm,
            self_dot,
            unknown_idf,
            params,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The label names, sorted.
    pub fn labels(&self) -> &[String] {
        &self.labels
    }

    /// The examples of a label, in sorted order.
    pub fn examples_of<'a>(&'a self, label: &str) -> impl Iterator<Item = &'a str> + 'a {
        let at = self.labels.iter().position(|l| l == label);
        self.examples
            .iter()
            .filter(move |(l, _)| Some(*l as usize) == at)
            .map(|(_, t)| t.as_str())
    }

    /// Scores every label for a message.
    pub fn rank(&self, message: &str) -> Ranking {
        self.rank_inner(message, None, false)
    }

    /// Scores every label for a message, with each word's share of the best label's score
    /// ([`Ranking::deciding_words`]).
    pub fn explain(&self, message: &str) -> Ranking {
        self.rank_inner(message, None, true)
    }

    /// Each example classified by the model without that example: what a new message
    /// just like it would get. Examples whose label differs are the confusable ones.
    pub fn held_out(&self) -> Vec<HeldOut> {
        (0..self.examples.len())
            .filter_map(|e| {
                let (label, text) = self.examples.get(e)?;
                Some(HeldOut {
                    label: self.labels.get(*label as usize)?.clone(),
                    example: text.clone(),
                    ranking: self.rank_inner(text, Some(e), false),
                })
            })
            .collect()
    }

    /// A message's words, its known features `(index, word, 1)` and how much its unknown
    /// features weigh on its length (squared). Words of the examples come from the cache;
    /// others are cut into n-grams, and stemmed only when a known stem could result. The
    /// unknown stems of a word count once, however many languages gave one.
    fn query(&self, message: &str) -> (text::Words, Vec<u64>, f32) {
        let mut words = text::Words::default();
        words.read(message);
        // Each known feature packed as `index << 16 | word`, so one integer sort orders
        // them by feature, then by word.
        let mut known: Vec<u64> = Vec::with_capacity(words.len() * 12);
        let mut unknown_grams: Vec<u64> = Vec::new();
        let mut unknown_words: Vec<u64> = Vec::new();
        let mut scratch: Vec<text::Feature> = Vec::new();
        for (wi, w) in words.iter().enumerate() {
            let wi = u16::try_from(wi).unwrap_or(u16::MAX);
            let wkey = text::hash(Channel::Gram, w.as_bytes());
            if let Some(c) = self.words.get(wkey)
                && let Some(fs) = self.word_features.get(c as usize)
            {
                known.extend(fs.iter().map(|&i| pack(i, wi)));
                continue;
            }
            scratch.clear();
            text::gram_features(w, wi, &mut scratch);
            let mut stems_unknown = true;
            if self.stem_prefixes.get(text::prefix_key(w)).is_some() {
                let start = scratch.len();
                text::stem_features(w, wi, &mut scratch);
                stems_unknown = scratch
                    .get(start..)
                    .is_some_and(|s| s.iter().any(|f| self.table.get(f.key).is_none()));
            }
            if stems_unknown {
                unknown_words.push(wkey);
            }
            for f in &scratch {
                match self.table.get(f.key) {
                    Some(i) => known.push(pack(i, f.word)),
                    None if f.channel == Channel::Gram => unknown_grams.push(f.key),
                    None => {}
                }
            }
        }
        unknown_grams.sort_unstable();
        unknown_grams.dedup();
        unknown_words.sort_unstable();
        unknown_words.dedup();
        let u = self.unknown_idf * self.params.unknown_weight;
        let w = self.params.word_weight * u;
        let unknown_sq = unknown_grams.len() as f32 * u * u + unknown_words.len() as f32 * w * w;
        (words, known, unknown_sq)
    }

    fn rank_inner(&self, message: &str, leave_out: Option<usize>, explain: bool) -> Ranking {
        // The message's features by index, with counts; unknown ones only weigh the norm.
        let (words, mut known, unknown_sq) = self.query(message);
        known.sort_unstable();
        // Merge repeats: count them, keep the first word for explanations.
        let mut q: Vec<(u32, u16, f32)> = Vec::with_capacity(known.len());
        let mut k = 0;
        while let Some(&packed) = known.get(k) {
            let (i, w) = unpack(packed);
            let mut tf = 0u32;
            while known.get(k).is_some_and(|x| unpack(*x).0 == i) {
                tf += 1;
                k += 1;
            }
            let idf = self.idf.get(i as usize).copied().unwrap_or(0.0);
            q.push((i, w, tf_weight(tf) * idf));
        }
        let known_sq: f32 = q.iter().map(|(_, _, w)| w * w).sum();
        let qnorm = (known_sq + unknown_sq).sqrt();
        // The words and their weights are only kept for explanations.
        let mut ranking = Ranking::default();
        if explain {
            ranking.weights = vec![0.0; words.len()];
            ranking.words = words.iter().map(str::to_string).collect();
        }
        if qnorm <= 0.0 || self.labels.is_empty() {
            ranking.scores = self
                .labels
                .iter()
                .take(TOP)
                .map(|l| Score {
                    label: l.clone(),
                    score: 0.0,
                    nearest: None,
                })
                .collect();
            return ranking;
        }
        let mut by_example = vec![0f32; self.examples.len()];
        let nl = self.labels.len();
        let mut by_label = vec![0f32; nl];
        for &(i, _, w) in &q {
            if let Some(p) = self.postings.get(i as usize) {
                for &(e, ew) in p {
                    if let Some(a) = by_example.get_mut(e as usize) {
                        *a += w * ew;
                    }
                }
            }
            let row = self.centroid_row.get(i as usize).copied().unwrap_or(NO_ROW);
            if row != NO_ROW {
                let start = row as usize * nl;
                if let Some(c) = self.centroid.get(start..start + nl) {
                    for (a, &cw) in by_label.iter_mut().zip(c) {
                        *a += w * cw;
                    }
                }
            }
        }
        // Per label: the nearest example and the centroid.
        // Examples are stored label by label, so each label's are one slice.
        // A label's rare-feature share of its centroid is the sum of its examples' dots.
        let mut best: Vec<(f32, Option<usize>)> = vec![(0.0, None); self.labels.len()];
        for ((b, &(from, to)), sum) in best
            .iter_mut()
            .zip(&self.label_ranges)
            .zip(by_label.iter_mut())
        {
            let (from, to) = (from as usize, to as usize);
            let Some(slice) = by_example.get(from..to) else {
                continue;
            };
            *sum += slice.iter().sum::<f32>();
            for (k, &dot) in slice.iter().enumerate() {
                if dot > b.0 && Some(from + k) != leave_out {
                    *b = (dot, Some(from + k));
                }
            }
        }
        let mut scores: Vec<(f32, usize, Option<usize>)> = Vec::with_capacity(self.labels.len());
        for (l, &(near, at)) in best.iter().enumerate() {
            let mut cdot = by_label.get(l).copied().unwrap_or(0.0);
            let mut cnorm = self.centroid_norm.get(l).copied().unwrap_or(0.0);
            if let Some(e) = leave_out {
                if self.examples.get(e).map(|x| x.0 as usize) == Some(l) {
                    cdot -= self.full_dot(&q, e);
                    let sd = self.self_dot.get(e).copied().unwrap_or(0.0);
                    cnorm = (cnorm * cnorm - 2.0 * sd + 1.0).max(0.0).sqrt();
                }
            }
            let centroid = if cnorm > 1e-6 { cdot / cnorm } else { 0.0 };
            let share = self.params.nearest_share;
            let s = (share * near + (1.0 - share) * centroid) / qnorm;
            scores.push((s.clamp(0.0, 1.0), l, at));
        }
        // Best first; ties by label name (labels are sorted, so by index).
        // Only the best few are kept: select them, then order them. Labels are unique, so
        // the order is fully determined.
        let order = |a: &(f32, usize, Option<usize>), b: &(f32, usize, Option<usize>)| {
            b.0.total_cmp(&a.0).then(a.1.cmp(&b.1))
        };
        if scores.len() > TOP {
            scores.select_nth_unstable_by(TOP - 1, order);
            scores.truncate(TOP);
        }
        scores.sort_unstable_by(order);
        // Explanation: each word's share of the best label's nearest-example similarity.
        if let (true, Some(&(_, _, Some(e)))) = (explain, scores.first()) {
            let vec = self.example_vecs.get(e).map_or(&[][..], Vec::as_slice);
            for &(i, word, w) in &q {
                let ew = vec
                    .binary_search_by_key(&i, |(x, _)| *x)
                    .ok()
                    .and_then(|at| vec.get(at))
                    .map_or(0.0, |(_, ew)| *ew);
                if let Some(slot) = ranking.weights.get_mut(word as usize) {
                    *slot += w * ew / qnorm;
                }
            }
        }
        ranking.scores = scores
            .into_iter()
            .take(TOP)
            .map(|(s, l, at)| Score {
                label: self.labels.get(l).cloned().unwrap_or_default(),
                score: s,
                nearest: at.and_then(|e| self.examples.get(e)).map(|x| x.1.clone()),
            })
            .collect();
        ranking
    }
}

impl Model {
    /// The dot product of a message's weighted features (sorted by index) with the whole
    /// vector of one example.
    fn full_dot(&self, q: &[(u32, u16, f32)], e: usize) -> f32 {
        let Some(v) = self.example_vecs.get(e) else {
            return 0.0;
        };
        let (mut a, mut b, mut dot) = (0, 0, 0f32);
        while let (Some(&(qi, _, qw)), Some(&(vi, vw))) = (q.get(a), v.get(b)) {
            match qi.cmp(&vi) {
                std::cmp::Ordering::Less => a += 1,
                std::cmp::Ordering::Greater => b += 1,
                std::cmp::Ordering::Equal => {
                    dot += qw * vw;
                    a += 1;
                    b += 1;
                }
            }
        }
        dot
    }
}

/// Features with their counts, sorted by key.
fn counted(fs: &[text::Feature]) -> Vec<(u64, Channel, u32)> {
    let mut v: Vec<(u64, Channel)> = fs.iter().map(|f| (f.key, f.channel)).collect();
    v.sort_unstable();
    let mut out: Vec<(u64, Channel, u32)> = Vec::with_capacity(v.len());
    for (k, c) in v {
        match out.last_mut() {
            Some((j, _, n)) if *j == k => *n += 1,
            _ => out.push((k, c, 1)),
        }
    }
    out
}

/// Sublinear term frequency: a feature seen twice is not twice as telling.
fn tf_weight(tf: u32) -> f32 {
    match tf {
        0 => 0.0,
        1 => 1.0,
        // ln 2 and ln 3 from the same series, written out: repeats are common in messages.
        2 => 1.0 + LN_2,
        3 => 1.0 + LN_3,
        _ => 1.0 + ln(tf as f32),
    }
}

const LN_2: f32 = std::f32::consts::LN_2;
const LN_3: f32 = 1.098_612_3;

fn pack(index: u32, word: u16) -> u64 {
    (u64::from(index) << 16) | u64::from(word)
}

fn unpack(p: u64) -> (u32, u16) {
    ((p >> 16) as u32, (p & 0xFFFF) as u16)
}

/// Natural logarithm from `+ - * /` only, so that it is the same on every platform (the
/// maths library's `ln` may round differently from one system to another). Accurate to
/// about 1e-7 for the positive values IDF needs; 0 for anything else.
pub fn ln(x: f32) -> f32 {
    if x.is_nan() || x <= 0.0 || !x.is_finite() {
        return 0.0;
    }
    let mut x = f64::from(x);
    // Bring x into [0.75, 1.5) by powers of two.
    let mut k = 0i32;
    while x >= 1.5 {
        x /= 2.0;
        k += 1;
    }
    while x < 0.75 {
        x *= 2.0;
        k -= 1;
    }
    // ln(x) = 2 atanh((x-1)/(x+1)), a fast series on that range.
    let t = (x - 1.0) / (x + 1.0);
    let t2 = t * t;
    let mut term = t;
    let mut sum = 0.0;
    let mut n = 1.0;
    for _ in 0..12 {
        sum += term / n;
        term *= t2;
        n += 2.0;
    }
    const LN2: f64 = std::f64::consts::LN_2;
    (2.0 * sum + f64::from(k) * LN2) as f32
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> Model {
        Model::build(&[
            Labelled {
                label: "refund".into(),
                examples: vec![
                    "quero meu dinheiro de volta".into(),
                    "reembolso".into(),
                    "I want a refund".into(),
                    "quiero que me devuelvan el dinero".into(),
                ],
            },
            Labelled {
                label: "delivery".into(),
                examples: vec![
                    "meu pedido não chegou".into(),
                    "where is my package".into(),
                    "mi pedido no ha llegado".into(),
                    "cadê minha encomenda".into(),
                ],
            },
        ])
    }

    #[test]
    fn ln_matches_the_maths_library_closely() {
        assert!((ln(2.0) - LN_2).abs() < 1e-6);
        assert!((ln(3.0) - LN_3).abs() < 1e-6);
        for x in [0.5f32, 1.0, 2.0, 3.0, 10.0, 1000.0, 123_456.0] {
            assert!(
                (ln(x) - x.ln()).abs() < 1e-5,
                "{x}: {} vs {}",
                ln(x),
                x.ln()
            );
        }
        assert_eq!(ln(0.0), 0.0);
        assert_eq!(ln(-1.0), 0.0);
        assert_eq!(ln(f32::NAN), 0.0);
    }

    #[test]
    fn classifies_typos_missing_accents_and_word_order() {
        let m = model();
        let best = |s: &str| m.rank(s).best().map(|b| b.label.clone());
        assert_eq!(best("cade a minha encomeda??").as_deref(), Some("delivery"));
        assert_eq!(
            best("o dinheiro de volta eu quero").as_deref(),
            Some("refund")
        );
        assert_eq!(best("REEMBOLSO JA").as_deref(), Some("refund"));
        assert_eq!(best("my package where is it").as_deref(), Some("delivery"));
    }

    #[test]
    fn order_of_labels_and_examples_does_not_matter() {
        let a = model();
        let mut input = vec![
            Labelled {
                label: "delivery".into(),
                examples: vec![
                    "cadê minha encomenda".into(),
                    "mi pedido no ha llegado".into(),
                    "where is my package".into(),
                    "meu pedido não chegou".into(),
                ],
            },
            Labelled {
                label: "refund".into(),
                examples: vec![
                    "quiero que me devuelvan el dinero".into(),
                    "I want a refund".into(),
                    "reembolso".into(),
                    "quero meu dinheiro de volta".into(),
                ],
            },
        ];
        let b = Model::build(&input);
        input.reverse();
        let c = Model::build(&input);
        for msg in ["reembolso do pedido", "package", "", "xyz"] {
            assert_eq!(a.rank(msg), b.rank(msg));
            assert_eq!(a.rank(msg), c.rank(msg));
        }
    }

    #[test]
    fn unrelated_text_scores_low_and_empty_scores_zero() {
        let m = model();
        let r = m.rank("what time do you open on saturday");
        assert!(r.best().is_some_and(|b| b.score < 0.2), "{r:?}");
        assert!(m.rank("").scores.iter().all(|s| s.score == 0.0));
    }

    #[test]
    fn held_out_leaves_the_example_out() {
        let m = model();
        let h = m.held_out();
        assert_eq!(h.len(), 8);
        // Classified without itself, "reembolso" has nothing left that looks like it.
        let r = h
            .iter()
            .find(|x| x.example == "reembolso")
            .map(|x| &x.ranking);
        assert!(r.is_some_and(|r| r.best().is_some_and(|b| b.score < 0.5)));
    }

    #[test]
    fn deciding_words_point_at_the_message() {
        let m = model();
        let r = m.explain("oi, meu dinheiro de volta por favor");
        let words: Vec<String> = r.deciding_words(2).into_iter().map(|(w, _)| w).collect();
        assert!(words.contains(&"dinheiro".to_string()), "{words:?}");
    }
}
