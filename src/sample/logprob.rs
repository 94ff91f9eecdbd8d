//! Log-probabilities from logits: log-softmax over a whole vocabulary and the k most likely
//! tokens. Sums run in f64, so results are exact to f32 rounding even over 262k tokens.
//!
//! A non-finite logit (NaN, +inf or -inf) is read as an impossible token: its log-probability is
//! -inf and it is never among the top tokens.

/// The largest finite logit and the f64 sum of exp(logit - max) over finite logits, or None
/// when no logit is finite.
fn max_and_sum(logits: &[f32]) -> Option<(f32, f64)> {
    let max = logits
        .iter()
        .copied()
        .filter(|l| l.is_finite())
        .fold(f32::NEG_INFINITY, f32::max);
    if max == f32::NEG_INFINITY {
        return None;
    }
    let sum = logits
        .iter()
        .filter(|l| l.is_finite())
        .map(|&l| (f64::from(l) - f64::from(max)).exp())
        .sum();
    Some((max, sum))
}

/// log-softmax of `logits`: `out[i] = logits[i] - log(sum_j exp(logits[j]))`. Every entry is -inf
/// when no logit is finite.
pub fn log_softmax(logits: &[f32]) -> Vec<f32> {
    let Some((max, sum)) = max_and_sum(logits) else {
        return vec![f32::NEG_INFINITY; logits.len()];
    };
    let log_sum = sum.ln();
    let log_prob = |l: f32| {
        if l.is_finite() {
            (f64::from(l) - f64::from(max) - log_sum) as f32
        } else {
            f32::NEG_INFINITY
        }
    };
    logits.iter().map(|&l| log_prob(l)).collect()
}

/// The `k` most likely tokens as (id, log-probability), most likely first, the lower id first
/// among equal logits. Fewer than `k` when fewer logits are finite; empty for empty logits.
pub fn top_logprobs(logits: &[f32], k: usize) -> Vec<(u32, f32)> {
    let Some((max, sum)) = max_and_sum(logits) else {
        return Vec::new();
    };
    let log_sum = sum.ln();
    let mut finite: Vec<(u32, f32)> = logits
        .iter()
        .enumerate()
        .filter(|(_, l)| l.is_finite())
        // A slice longer than u32::MAX has no token ids past it; those entries are left out.
        .filter_map(|(i, &l)| u32::try_from(i).ok().map(|id| (id, l)))
        .collect();
    let by_rank = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let k = k.min(finite.len());
    if k == 0 {
        return Vec::new();
    }
    if k < finite.len() {
        finite.select_nth_unstable_by(k - 1, by_rank);
        finite.truncate(k);
    }
    finite.sort_unstable_by(by_rank);
    for entry in &mut finite {
        entry.1 = (f64::from(entry.1) - f64::from(max) - log_sum) as f32;
    }
    finite
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sample::rng::Rng;

    /// Pseudo-random logits in about [-12, 12].
    fn random_logits(n: usize, seed: u64) -> Vec<f32> {
        let mut rng = Rng::new(seed);
        (0..n)
            .map(|_| (rng.next_f64() * 24.0 - 12.0) as f32)
            .collect()
    }

    /// The textbook definition in f64, without the max shift.
    fn direct(logits: &[f32]) -> Vec<f64> {
        let sum: f64 = logits.iter().map(|&l| f64::from(l).exp()).sum();
        logits.iter().map(|&l| f64::from(l) - sum.ln()).collect()
    }

    #[test]
    fn top_logprobs_equals_a_direct_f64_computation() {
        let logits = random_logits(50_000, 3);
        let want = direct(&logits);
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| want[b].total_cmp(&want[a]).then(a.cmp(&b)));
        let got = top_logprobs(&logits, 40);
        assert_eq!(got.len(), 40);
        for (rank, &(id, lp)) in got.iter().enumerate() {
            assert_eq!(id as usize, order[rank], "rank {rank}");
            // f32 output: one rounding of a value of magnitude ~20.
            assert!(
                (f64::from(lp) - want[id as usize]).abs() < 4e-6,
                "rank {rank}: {lp} vs {}",
                want[id as usize]
            );
        }
    }

    #[test]
    fn log_softmax_equals_a_direct_f64_computation_and_normalises() {
        let logits = random_logits(1000, 4);
        let got = log_softmax(&logits);
        let want = direct(&logits);
        for (g, w) in got.iter().zip(&want) {
            assert!((f64::from(*g) - w).abs() < 4e-6);
        }
        let total: f64 = got.iter().map(|&lp| f64::from(lp).exp()).sum();
        assert!((total - 1.0).abs() < 1e-5, "{total}");
    }

    #[test]
    fn huge_logits_do_not_overflow() {
        let got = log_softmax(&[1000.0, 1000.0, 0.0]);
        assert!((got[0] - (-std::f32::consts::LN_2)).abs() < 1e-6);
        assert_eq!(got[2], -1000.0 - std::f32::consts::LN_2);
    }

    #[test]
    fn non_finite_logits_are_impossible_tokens() {
        let logits = [f32::NAN, 1.0, f32::INFINITY, 1.0, f32::NEG_INFINITY];
        assert_eq!(
            top_logprobs(&logits, 5),
            vec![(1, -std::f32::consts::LN_2), (3, -std::f32::consts::LN_2)]
        );
        let lp = log_softmax(&logits);
        assert_eq!([lp[0], lp[2], lp[4]], [f32::NEG_INFINITY; 3]);
        assert!(top_logprobs(&[f32::NAN, f32::NEG_INFINITY], 3).is_empty());
        assert_eq!(log_softmax(&[f32::NAN]), vec![f32::NEG_INFINITY]);
        assert!(top_logprobs(&[], 3).is_empty());
        assert!(top_logprobs(&[1.0], 0).is_empty());
    }

    #[test]
    fn ties_rank_the_lower_id_first() {
        assert_eq!(
            top_logprobs(&[0.0, 2.0, 2.0, 2.0], 2)
                .iter()
                .map(|p| p.0)
                .collect::<Vec<_>>(),
            vec![1, 2]
        );
    }
}
