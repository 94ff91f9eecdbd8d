//! RoPE's (cos, sin) pairs for the positions of one batch, computed once per evaluation rather
//! than once per layer: every layer rotates the same positions by the same angles (given the
//! same parameters and frequency factors), and each pair costs a glibc-exact `cosf` and `sinf`
//! (`super::libm`), whose fused multiply-adds are software in wasm.

use super::ops::{self, RopeParams};

/// What a table holds: positions `pos0..pos0 + n`, with the frequency factors at this address
/// and length (the factors tensor is read in place, so the same slice means the same values).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Key {
    pos0: usize,
    n: usize,
    factors: Option<(usize, usize)>,
}

/// The angles of one rope kind (a model's global or sliding-window layers); always used with
/// the same `RopeParams`.
#[derive(Debug, Default)]
pub struct AngleTable {
    key: Option<Key>,
    pairs: usize,
    values: Vec<(f32, f32)>,
    row: Vec<(f32, f32)>,
}

impl AngleTable {
    /// Makes the table hold positions `pos0..pos0 + n` under `p` and `factors`, computing them
    /// only if it holds others.
    pub fn fill(&mut self, pos0: usize, n: usize, p: &RopeParams, factors: Option<&[f32]>) {
        let key = Key { pos0, n, factors: factors.map(|f| (f.as_ptr() as usize, f.len())) };
        if self.key == Some(key) {
            return;
        }
        self.values.clear();
        for t in 0..n {
            ops::rope_angles(pos0 + t, p, factors, &mut self.row);
            self.values.extend_from_slice(&self.row);
        }
        self.pairs = self.row.len();
        self.key = Some(key);
    }

    /// The pairs of the batch's `t`-th position (after `fill`).
    pub fn position(&self, t: usize) -> &[(f32, f32)] {
        &self.values[t * self.pairs..(t + 1) * self.pairs]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filled_table_equals_the_angles_computed_per_position_and_refills_for_other_positions() {
        let p = RopeParams::plain(8, 10_000.0);
        let mut table = AngleTable::default();
        let mut want = Vec::new();
        for (pos0, n) in [(0, 3), (5, 1), (5, 1), (2, 4)] {
            table.fill(pos0, n, &p, None);
            for t in 0..n {
                ops::rope_angles(pos0 + t, &p, None, &mut want);
                assert_eq!(table.position(t), &want[..], "position {}", pos0 + t);
            }
        }
        // Other frequency factors are other angles, even at the same positions.
        let factors = [1.0, 2.0, 4.0, 8.0];
        table.fill(2, 4, &p, Some(&factors));
        ops::rope_angles(3, &p, Some(&factors), &mut want);
        assert_eq!(table.position(1), &want[..]);
    }
}
