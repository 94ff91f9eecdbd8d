//! The candidate list and the steps of the sampler chain, each a small function over it:
//! fill (with the repetition penalty), argmax, top-k, top-p, min-p, and the draw (which applies the
//! temperature). The rules follow llama.cpp's samplers (src/llama-sampler.cpp); sums run in f64.

use super::rng::Rng;

/// One token still in the running, with its (penalised) logit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Candidate {
    pub id: u32,
    pub logit: f32,
}

/// Rank order: the higher logit first, the lower id first among equal logits.
fn by_rank(a: &Candidate, b: &Candidate) -> std::cmp::Ordering {
    b.logit.total_cmp(&a.logit).then(a.id.cmp(&b.id))
}

/// How many candidates top-p sorts first before sorting all of them (most of the probability mass
/// usually sits in the first few hundred tokens of a 32k-262k vocabulary).
const TOP_P_FIRST_SORT: usize = 256;

/// The candidate list, reused from one draw to the next so that sampling does not allocate.
#[derive(Clone, Debug, Default)]
pub(crate) struct Candidates {
    pub items: Vec<Candidate>,
    /// `items` is in rank order.
    sorted: bool,
}

impl Candidates {
    /// Refills the list with every finite logit, in id order, applying llama.cpp's repetition
    /// penalty to the ids in `penalised` (sorted, without duplicates): a positive logit is divided
    /// by `penalty`, a non-positive one multiplied by it.
    pub fn fill(&mut self, logits: &[f32], penalised: &[u32], penalty: f32) {
        self.items.clear();
        self.sorted = false;
        let mut next_penalised = penalised.iter().copied().peekable();
        for (id, &logit) in (0u32..).zip(logits) {
            let hit = next_penalised.next_if_eq(&id).is_some();
            if !logit.is_finite() {
                continue;
            }
            let logit = match (hit, logit > 0.0) {
                (false, _) => logit,
                (true, true) => logit / penalty,
                (true, false) => logit * penalty,
            };
            self.items.push(Candidate { id, logit });
        }
    }

    /// `fill(logits, &[], 1.0)` then `argmax`, without building the list (greedy decoding reads
    /// a whole vocabulary per token): the finite logit that ranks highest, the lowest id among
    /// equals; None when no logit is finite.
    pub fn argmax_of(logits: &[f32]) -> Option<u32> {
        let mut best: Option<(u32, f32)> = None;
        for (id, &logit) in (0u32..).zip(logits) {
            if !logit.is_finite() {
                continue;
            }
            match best {
                Some((_, top)) if logit.total_cmp(&top) != std::cmp::Ordering::Greater => {}
                _ => best = Some((id, logit)),
            }
        }
        best.map(|(id, _)| id)
    }

    /// The id with the highest logit, the lowest id among equals; None when empty.
    pub fn argmax(&self) -> Option<u32> {
        let best = self.items.iter().min_by(|a, b| by_rank(a, b))?;
        Some(best.id)
    }

    /// Keeps the `k` highest-ranked candidates (0 = keep all).
    pub fn top_k(&mut self, k: usize) {
        if k == 0 || k >= self.items.len() {
            return;
        }
        self.items.select_nth_unstable_by(k - 1, by_rank);
        self.items.truncate(k);
        self.items.sort_unstable_by(by_rank);
        self.sorted = true;
    }

    /// Keeps the smallest set of highest-ranked candidates whose probabilities (softmax of the
    /// current logits, temperature 1) add up to at least `p`; at least one. `p >= 1` keeps all.
    pub fn top_p(&mut self, p: f32) {
        if p >= 1.0 || self.items.is_empty() {
            return;
        }
        let max = self.max_logit();
        let weight = |c: &Candidate| (f64::from(c.logit) - f64::from(max)).exp();
        let target = f64::from(p) * self.items.iter().map(weight).sum::<f64>();
        let mut sorted_len = if self.sorted { self.items.len() } else { 0 };
        let mut cumulative = 0.0;
        for i in 0..self.items.len() {
            if i == sorted_len {
                sorted_len = self.sort_more(sorted_len);
            }
            cumulative += weight(&self.items[i]);
            if cumulative >= target {
                self.items.truncate(i + 1);
                break;
            }
        }
    }

    /// Keeps the candidates whose probability is at least `min_p` times the largest one, i.e.
    /// logit >= max logit + ln(min_p). `min_p <= 0` keeps all.
    pub fn min_p(&mut self, min_p: f32) {
        if min_p <= 0.0 || self.items.is_empty() {
            return;
        }
        let threshold = f64::from(self.max_logit()) + f64::from(min_p).ln();
        self.items.retain(|c| f64::from(c.logit) >= threshold);
    }

    /// Draws one id with probability softmax(logit / temperature) (`temperature > 0`); None when
    /// empty.
    pub fn draw(&self, temperature: f32, rng: &mut Rng) -> Option<u32> {
        let last = self.items.last()?;
        let max = f64::from(self.max_logit());
        let t = f64::from(temperature);
        // (l - max) / t <= 0, so no weight overflows, and the best one is exactly 1.
        let weight = |c: &Candidate| ((f64::from(c.logit) - max) / t).exp();
        let total: f64 = self.items.iter().map(weight).sum();
        let mut target = rng.next_f64() * total;
        for c in &self.items {
            let w = weight(c);
            if target < w {
                return Some(c.id);
            }
            target -= w;
        }
        // Rounding left the target past the last weight.
        Some(last.id)
    }

    fn max_logit(&self) -> f32 {
        if self.sorted {
            return self.items.first().map_or(f32::NEG_INFINITY, |c| c.logit);
        }
        self.items
            .iter()
            .map(|c| c.logit)
            .fold(f32::NEG_INFINITY, f32::max)
    }

    /// Extends the sorted prefix, which is `done` long: first to the top TOP_P_FIRST_SORT, then
    /// to everything. Returns the new sorted length.
    fn sort_more(&mut self, done: usize) -> usize {
        let n = self.items.len();
        if done == 0 && n > TOP_P_FIRST_SORT {
            // Partition so the first TOP_P_FIRST_SORT are the highest-ranked, then order them.
            self.items
                .select_nth_unstable_by(TOP_P_FIRST_SORT - 1, by_rank);
            self.items[..TOP_P_FIRST_SORT].sort_unstable_by(by_rank);
            return TOP_P_FIRST_SORT;
        }
        // Everything after the prefix ranks below it, so sorting the rest completes the order.
        self.items[done..].sort_unstable_by(by_rank);
        self.sorted = true;
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled(logits: &[f32]) -> Candidates {
        let mut c = Candidates::default();
        c.fill(logits, &[], 1.0);
        c
    }

    fn ids(c: &Candidates) -> Vec<u32> {
        let mut ids: Vec<u32> = c.items.iter().map(|c| c.id).collect();
        ids.sort_unstable();
        ids
    }

    /// Logits whose softmax is exactly proportional to `probs`.
    fn logits_of(probs: &[f64]) -> Vec<f32> {
        probs.iter().map(|p| p.ln() as f32).collect()
    }

    #[test]
    fn argmax_of_the_logits_is_argmax_of_the_filled_list() {
        // Ties (the lowest id wins), -0 below +0 (as `total_cmp` ranks them), and non-finite
        // logits skipped, over lists with and without a finite value.
        let cases: [&[f32]; 6] = [
            &[1.0, 3.0, 3.0, -2.0],
            &[f32::NAN, f32::INFINITY, 0.5, 0.5],
            &[-0.0, 0.0, -0.0],
            &[f32::NAN, f32::NEG_INFINITY],
            &[],
            &[-5.0, -7.0, f32::NAN, -5.0],
        ];
        for logits in cases {
            assert_eq!(Candidates::argmax_of(logits), filled(logits).argmax(), "{logits:?}");
        }
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for n in [1usize, 7, 1000, 262_144] {
            let logits: Vec<f32> = (0..n)
                .map(|_| {
                    s ^= s << 13;
                    s ^= s >> 7;
                    s ^= s << 17;
                    // Coarse values, so ties occur.
                    ((s >> 40) % 64) as f32 / 4.0 - 8.0
                })
                .collect();
            assert_eq!(Candidates::argmax_of(&logits), filled(&logits).argmax(), "{n} logits");
        }
        assert_eq!(Candidates::argmax_of(&[1.0, 3.0, 3.0, -2.0]), Some(1));
        assert_eq!(Candidates::argmax_of(&[-0.0, 0.0, -0.0]), Some(1));
    }

    #[test]
    fn fill_drops_non_finite_logits_and_penalises_llama_cpp_style() {
        let mut c = Candidates::default();
        c.fill(
            &[2.0, -1.0, f32::NAN, 0.0, 3.0, f32::NEG_INFINITY],
            &[0, 1, 2, 3],
            2.0,
        );
        let got: Vec<(u32, f32)> = c.items.iter().map(|c| (c.id, c.logit)).collect();
        // Positive divided, negative multiplied, zero stays zero, 4 is not penalised.
        assert_eq!(got, vec![(0, 1.0), (1, -2.0), (3, 0.0), (4, 3.0)]);
        // A penalty below 1 raises both signs' tokens.
        c.fill(&[2.0, -1.0], &[0, 1], 0.5);
        assert_eq!(
            c.items,
            vec![
                Candidate { id: 0, logit: 4.0 },
                Candidate { id: 1, logit: -0.5 }
            ]
        );
    }

    #[test]
    fn argmax_prefers_the_lowest_id_on_ties() {
        assert_eq!(filled(&[1.0, 3.0, 3.0, 2.0]).argmax(), Some(1));
        assert_eq!(filled(&[f32::NAN]).argmax(), None);
    }

    #[test]
    fn top_k_keeps_the_k_best_and_breaks_ties_by_id() {
        let mut c = filled(&[0.5, 2.0, 1.0, 2.0, -1.0]);
        c.top_k(2);
        assert_eq!(ids(&c), vec![1, 3]);
        let mut c = filled(&[0.5, 2.0, 1.0, 2.0, -1.0]);
        c.top_k(0);
        assert_eq!(c.items.len(), 5);
        c.top_k(1);
        assert_eq!(ids(&c), vec![1]);
    }

    #[test]
    fn top_p_keeps_the_smallest_set_reaching_p() {
        let logits = logits_of(&[0.05, 0.5, 0.15, 0.3]);
        for (p, want) in [
            (0.3, vec![1]),
            (0.45, vec![1]),
            (0.7, vec![1, 3]),
            (0.85, vec![1, 2, 3]),
            (0.99, vec![0, 1, 2, 3]),
        ] {
            let mut c = filled(&logits);
            c.top_p(p);
            assert_eq!(ids(&c), want, "p = {p}");
        }
        let mut c = filled(&logits);
        c.top_p(1.0);
        assert_eq!(c.items.len(), 4);
    }

    #[test]
    fn top_p_over_a_large_vocabulary_sorts_past_the_first_chunk() {
        // 1000 equal tokens: reaching p = 0.5 takes exactly the 500 lowest ids (ties by id).
        let mut c = filled(&vec![1.0; 1000]);
        c.top_p(0.4995);
        assert_eq!(ids(&c), (0..500).collect::<Vec<u32>>());
        // After top-k the list is sorted and top-p works on what is left.
        let mut c = filled(&logits_of(&[0.4, 0.1, 0.3, 0.2]));
        c.top_k(3);
        c.top_p(0.75);
        assert_eq!(
            ids(&c),
            vec![0, 2],
            "0.4 + 0.3 is 0.78 of the 0.9 left, >= 0.75"
        );
    }

    #[test]
    fn min_p_drops_tokens_below_min_p_times_the_top_probability() {
        let logits = logits_of(&[0.4, 0.1, 0.3, 0.19, 0.01]);
        let mut c = filled(&logits);
        c.min_p(0.5);
        assert_eq!(ids(&c), vec![0, 2], "0.19 < 0.5 * 0.4");
        let mut c = filled(&logits);
        c.min_p(0.03);
        assert_eq!(ids(&c), vec![0, 1, 2, 3], "0.01 < 0.03 * 0.4");
        let mut c = filled(&logits);
        c.min_p(1.0);
        assert_eq!(ids(&c), vec![0]);
    }
}
