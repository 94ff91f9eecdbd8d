//! The interleaved row order of the 32-element block types, the order the loader stores their
//! matrices in: every group of four rows holds block 0 of rows 0, 1, 2 and 3, then block 1 of
//! each, and so on. A decoding tile of four rows then reads one forward stream of memory, which
//! the core's prefetchers follow; four rows side by side in file order are four streams, which
//! they did not, and the tile waited on memory (tools/bench/kernels.mjs --stream, 2026-12-04:
//! a 128 MB Q8_0 matrix 8-9 against 23 GMAC/s).
//!
//! Only the order of whole blocks changes, inside each group's own bytes: a group of rows
//! occupies the bytes it occupies in the file, and rows after the last whole group (a row count
//! not a multiple of four) stay as they are. Both ways are here: `interleave` for the loader, and
//! `gather_row` for whoever needs one row in file order (an embedding lookup, a batch tile, a
//! digest of the file's bytes).

use crate::gguf::GgmlType;

/// Rows per interleaved group.
pub const GROUP_ROWS: usize = 4;

/// Whether matrices of type `ty` are stored interleaved: the types whose decoding tiles take
/// four rows (`matvec::single_rows`).
pub fn interleaves(ty: GgmlType) -> bool {
    matches!(ty, GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 | GgmlType::IQ4_NL)
}

/// The bytes per row and per block of a matrix of `ty` with `cols` elements per row, or `None`
/// if `ty` is not interleaved or `cols` is not a positive whole number of blocks.
pub fn row_shape(ty: GgmlType, cols: u64) -> Option<(usize, usize)> {
    let row = usize::try_from(ty.bytes_for(cols)?).ok().filter(|&r| r > 0)?;
    interleaves(ty).then_some((row, ty.type_size() as usize))
}

/// Rearranges `bytes` (whole rows of `row_bytes`, each of blocks of `block_bytes`) in place from
/// file order into the interleaved order. Bytes after the last whole group are left alone.
/// `scratch` holds one group while it is rewritten (kept by the caller to be reused).
pub fn interleave(bytes: &mut [u8], row_bytes: usize, block_bytes: usize, scratch: &mut Vec<u8>) {
    if row_bytes == 0 || block_bytes == 0 || !row_bytes.is_multiple_of(block_bytes) {
        return;
    }
    let group_bytes = GROUP_ROWS * row_bytes;
    scratch.resize(group_bytes, 0);
    for group in bytes.chunks_exact_mut(group_bytes) {
        scratch.copy_from_slice(group);
        let rows = scratch.chunks_exact(row_bytes);
        for (r, row) in rows.enumerate() {
            for (i, block) in row.chunks_exact(block_bytes).enumerate() {
                let at = (i * GROUP_ROWS + r) * block_bytes;
                group[at..at + block_bytes].copy_from_slice(block);
            }
        }
    }
}

/// Puts the bytes of a matrix of `ty` with `cols` elements per row, in file order, into the order
/// the loader stores it in (nothing changes for a type that does not interleave).
pub fn to_stored_order(ty: GgmlType, cols: u64, bytes: &mut [u8], scratch: &mut Vec<u8>) {
    if let Some((row, block)) = row_shape(ty, cols) {
        interleave(bytes, row, block, scratch);
    }
}

/// Row `r` of `bytes`, stored interleaved, copied into `out` (`row_bytes` long) in file order.
/// `None` if the row lies outside `bytes` or `out` has the wrong length.
pub fn gather_row(bytes: &[u8], row_bytes: usize, block_bytes: usize, r: usize, out: &mut [u8]) -> Option<()> {
    if block_bytes == 0 || out.len() != row_bytes || !row_bytes.is_multiple_of(block_bytes) {
        return None;
    }
    let group_bytes = GROUP_ROWS * row_bytes;
    let whole_groups = bytes.len() / group_bytes;
    let (g, k) = (r / GROUP_ROWS, r % GROUP_ROWS);
    if g >= whole_groups {
        // A row after the last whole group: in file order already.
        let start = r.checked_mul(row_bytes)?;
        out.copy_from_slice(bytes.get(start..start.checked_add(row_bytes)?)?);
        return Some(());
    }
    let group = &bytes[g * group_bytes..(g + 1) * group_bytes];
    for (i, block) in out.chunks_exact_mut(block_bytes).enumerate() {
        let at = (i * GROUP_ROWS + k) * block_bytes;
        block.copy_from_slice(&group[at..at + block_bytes]);
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows of distinct bytes: byte j of row r is (r * 61 + j) mod 251.
    fn rows(n: usize, row_bytes: usize) -> Vec<u8> {
        (0..n * row_bytes).map(|k| ((k / row_bytes * 61 + k % row_bytes) % 251) as u8).collect()
    }

    #[test]
    fn groups_hold_each_block_of_their_four_rows_in_turn() {
        // Four rows of two 3-byte blocks: r0b0 r1b0 r2b0 r3b0 r0b1 r1b1 r2b1 r3b1.
        let mut b: Vec<u8> = (0..24).collect();
        interleave(&mut b, 6, 3, &mut Vec::new());
        let expected: Vec<u8> =
            [[0, 1, 2], [6, 7, 8], [12, 13, 14], [18, 19, 20], [3, 4, 5], [9, 10, 11], [15, 16, 17], [21, 22, 23]].concat();
        assert_eq!(b, expected);
    }

    #[test]
    fn every_row_gathers_back_to_file_order_and_the_tail_rows_stay() {
        for n in [1, 3, 4, 5, 8, 11] {
            let (row_bytes, block_bytes) = (5 * 34, 34);
            let plain = rows(n, row_bytes);
            let mut b = plain.clone();
            interleave(&mut b, row_bytes, block_bytes, &mut Vec::new());
            let tail = n / GROUP_ROWS * GROUP_ROWS * row_bytes;
            assert_eq!(b[tail..], plain[tail..], "{n} rows: the rows after the last group");
            if n >= GROUP_ROWS {
                assert_ne!(b[..tail], plain[..tail], "{n} rows: the groups moved");
            }
            let mut out = vec![0; row_bytes];
            for r in 0..n {
                gather_row(&b, row_bytes, block_bytes, r, &mut out).unwrap();
                assert_eq!(out, plain[r * row_bytes..(r + 1) * row_bytes], "{n} rows: row {r}");
            }
            assert!(gather_row(&b, row_bytes, block_bytes, n, &mut out).is_none());
            assert!(gather_row(&b, row_bytes, block_bytes, 0, &mut out[1..]).is_none());
        }
    }

    #[test]
    fn only_the_four_row_types_interleave() {
        assert_eq!(row_shape(GgmlType::Q8_0, 64), Some((68, 34)));
        assert_eq!(row_shape(GgmlType::Q4_1, 576), Some((360, 20)));
        assert_eq!(row_shape(GgmlType::Q4_K, 256), None);
        assert_eq!(row_shape(GgmlType::F32, 8), None);
        assert_eq!(row_shape(GgmlType::Q8_0, 33), None);
        assert_eq!(row_shape(GgmlType::Q8_0, 0), None);
    }
}
