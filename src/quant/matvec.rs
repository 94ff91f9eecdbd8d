//! Matrix-vector and small matrix-matrix products over ggml weight matrices, in place.
//!
//! A `WeightMatrix` is the raw bytes of a ggml tensor: `rows` rows (ne1) of `cols` elements
//! (ne0), each row a contiguous run of whole blocks. Products take a range of output rows, so a
//! tensor-parallel worker can own a slice of the rows; the activation is quantized once per
//! call (or once by the caller, for several matrices), and weights are never dequantized or
//! copied: each row is read in place by the dot-product kernel.

use std::borrow::Cow;
use std::ops::Range;

use super::activation::QuantizedActivation;
use super::blocks::cast_blocks;
use super::interleave::{self, GROUP_ROWS};
use super::{ActBlock, Kernels, QuantError, activation_for, for_block_type};
use crate::gguf::GgmlType;

/// A ggml weight matrix viewed over its bytes.
#[derive(Clone, Copy, Debug)]
pub struct WeightMatrix<'a> {
    ty: GgmlType,
    cols: usize,
    rows: usize,
    row_bytes: usize,
    bytes: &'a [u8],
    /// Whether whole groups of four rows are stored interleaved (`super::interleave`).
    interleaved: bool,
}

impl<'a> WeightMatrix<'a> {
    /// Views `bytes` as rows of `cols` elements of `ty`. `cols` must be a positive whole number
    /// of blocks and `bytes` a whole number of rows.
    pub fn new(ty: GgmlType, cols: usize, bytes: &'a [u8]) -> Result<WeightMatrix<'a>, QuantError> {
        if !super::is_supported(ty) {
            return Err(QuantError::Unsupported(ty));
        }
        let row_bytes = match ty.bytes_for(cols as u64) {
            Some(n) if cols > 0 => usize::try_from(n).ok(),
            _ => None,
        }
        .ok_or(QuantError::NotWholeElements { ty, elements: cols })?;
        if !bytes.len().is_multiple_of(row_bytes) {
            return Err(QuantError::NotWholeBlocks { ty, bytes: bytes.len() });
        }
        Ok(WeightMatrix { ty, cols, rows: bytes.len() / row_bytes, row_bytes, bytes, interleaved: false })
    }

    /// Views `bytes` in the order the loader stores matrices of `ty` in: groups of four rows
    /// interleaved where `ty` interleaves (`interleave::interleaves`), file order otherwise.
    pub fn as_stored(ty: GgmlType, cols: usize, bytes: &'a [u8]) -> Result<WeightMatrix<'a>, QuantError> {
        let w = WeightMatrix::new(ty, cols, bytes)?;
        Ok(WeightMatrix { interleaved: interleave::interleaves(ty), ..w })
    }

    /// The element type.
    pub fn ty(&self) -> GgmlType {
        self.ty
    }

    /// Elements per row (ne0): the length of the activation.
    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of rows (ne1): the length of the output.
    pub fn rows(&self) -> usize {
        self.rows
    }

    /// Bytes per row.
    pub fn row_bytes(&self) -> usize {
        self.row_bytes
    }

    /// The bytes of row `r` in file order (gathered from its group if stored interleaved), or
    /// `None` past the end.
    pub fn row(&self, r: usize) -> Option<Cow<'a, [u8]>> {
        if r >= self.rows {
            return None;
        }
        if self.interleaved {
            let mut out = vec![0; self.row_bytes];
            interleave::gather_row(self.bytes, self.row_bytes, self.ty.type_size() as usize, r, &mut out)?;
            return Some(Cow::Owned(out));
        }
        let start = r.checked_mul(self.row_bytes)?;
        self.bytes.get(start..start.checked_add(self.row_bytes)?).map(Cow::Borrowed)
    }

    /// Dequantizes row `r` into `out` (`cols` floats): an embedding lookup.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<(), QuantError> {
        let bad = QuantError::RowRange { start: r, end: r.saturating_add(1), rows: self.rows };
        let row = self.row(r).ok_or(bad)?;
        super::dequantize(self.ty, &row, out)
    }

    /// The bytes of rows `rows`, checked.
    fn row_span(&self, rows: &Range<usize>) -> Result<&'a [u8], QuantError> {
        let bad = QuantError::RowRange { start: rows.start, end: rows.end, rows: self.rows };
        if rows.start > rows.end || rows.end > self.rows {
            return Err(bad);
        }
        Ok(&self.bytes[rows.start * self.row_bytes..rows.end * self.row_bytes])
    }
}

/// y[i] = W[rows.start + i, :] · x for each row in `rows`; `x` is quantized for `w`'s type
/// (`QuantizedActivation::for_weights`) and `y` has `rows.len()` elements.
pub fn matvec(
    w: &WeightMatrix<'_>,
    rows: Range<usize>,
    x: &QuantizedActivation,
    y: &mut [f32],
) -> Result<(), QuantError> {
    matmul(w, rows, std::slice::from_ref(x), y)
}

/// `matvec` from plain floats: quantizes `x` (`cols` values) once, then multiplies.
pub fn matvec_f32(w: &WeightMatrix<'_>, rows: Range<usize>, x: &[f32], y: &mut [f32]) -> Result<(), QuantError> {
    let x = QuantizedActivation::for_weights(w.ty, x)?;
    matvec(w, rows, &x, y)
}

/// y[t * n + i] = W[rows.start + i, :] · xs[t] for each activation `t` and each row in `rows`
/// (`n = rows.len()`): a prompt batch. Each weight row is read once and used for every
/// activation. `y` has `xs.len() * rows.len()` elements, activation-major.
pub fn matmul(
    w: &WeightMatrix<'_>,
    rows: Range<usize>,
    xs: &[QuantizedActivation],
    y: &mut [f32],
) -> Result<(), QuantError> {
    let span = checked_span(w, &rows, xs, y)?;
    let tile_rows = if xs.len() == 1 { single_rows(w.ty) } else { ROWS_BATCH };
    if w.interleaved {
        return for_block_type!(w.ty, |B| interleaved_as::<B>(w, rows, xs, y, tile_rows));
    }
    for_block_type!(w.ty, |B| rows_as::<B>(span, w.cols, xs, y, tile_rows))
}

/// The bytes of `rows`, once `y` is checked to hold one output per row and activation.
fn checked_span<'a>(w: &WeightMatrix<'a>, rows: &Range<usize>, xs: &[QuantizedActivation], y: &[f32]) -> Result<&'a [u8], QuantError> {
    let span = w.row_span(rows)?;
    let expected = xs.len().saturating_mul(rows.len());
    if y.len() != expected {
        return Err(QuantError::LengthMismatch { expected, actual: y.len() });
    }
    Ok(span)
}

/// `matmul` computed row by row with the single dot product, one activation at a time (the
/// untiled loop): the benchmark's comparison point. Same results as `matmul`, bit for bit.
#[doc(hidden)]
pub fn matmul_per_row(
    w: &WeightMatrix<'_>,
    rows: Range<usize>,
    xs: &[QuantizedActivation],
    y: &mut [f32],
) -> Result<(), QuantError> {
    let span = checked_span(w, &rows, xs, y)?;
    for_block_type!(w.ty, |B| per_row_as::<B>(span, w.cols, xs, y))
}

fn per_row_as<B: Kernels>(
    span: &[u8],
    cols: usize,
    xs: &[QuantizedActivation],
    y: &mut [f32],
) -> Result<(), QuantError> {
    let acts = xs.iter().map(|x| activation_for::<B>(x, cols)).collect::<Result<Vec<_>, _>>()?;
    let blocks = cast_blocks::<B>(span)?;
    let n = blocks.len() / (cols / B::ELEMENTS);
    for (i, row) in blocks.chunks_exact(cols / B::ELEMENTS).enumerate() {
        for (t, x) in acts.iter().enumerate() {
            y[t * n + i] = B::dot(row, x);
        }
    }
    Ok(())
}

/// `matmul` from plain floats: `x` holds `x.len() / cols` activations of `cols` values each,
/// every one quantized once.
pub fn matmul_f32(w: &WeightMatrix<'_>, rows: Range<usize>, x: &[f32], y: &mut [f32]) -> Result<(), QuantError> {
    if !x.len().is_multiple_of(w.cols) {
        return Err(QuantError::NotWholeElements { ty: w.ty, elements: x.len() });
    }
    let xs =
        x.chunks_exact(w.cols).map(|x| QuantizedActivation::for_weights(w.ty, x)).collect::<Result<Vec<_>, _>>()?;
    matmul(w, rows, &xs, y)
}

/// Rows per tile when there is one activation (T = 1), by weight type: every shape gives the
/// same results, bit for bit. The 32-element types take four: their kernels then share one f32x4
/// among the four rows for the horizontal sums, the f16 scales and the float steps. Measured
/// alone (tools/bench/kernels.mjs, 2026-12-03, 5 runs), relaxed build, four rows against one:
/// Q4_1 3.0x, Q4_0 1.48x, Q8_0 1.18x, Q5_1 1.10x, Q5_0 1.15x. The k-quants were fastest with one.
fn single_rows(ty: GgmlType) -> usize {
    match ty {
        GgmlType::Q4_0 | GgmlType::Q4_1 | GgmlType::Q5_0 | GgmlType::Q5_1 | GgmlType::Q8_0 | GgmlType::IQ4_NL => 4,
        _ => 1,
    }
}
/// Rows per tile with several activations: 2 was 5-10% faster than 1 for Q8_0, Q4_K, Q6_K.
const ROWS_BATCH: usize = 2;
/// Activations per tile: each unpacked weight block serves this many.
const ACTS: usize = 4;

/// `matmul` with `tile_rows` (1, 2 or 4) rows per kernel call instead of the default: for the
/// benchmark. Same results, bit for bit. A matrix stored interleaved takes `matmul`'s tiles.
#[doc(hidden)]
pub fn matmul_tiled(
    w: &WeightMatrix<'_>,
    rows: Range<usize>,
    xs: &[QuantizedActivation],
    y: &mut [f32],
    tile_rows: usize,
) -> Result<(), QuantError> {
    if w.interleaved {
        return matmul(w, rows, xs, y);
    }
    let span = w.row_span(&rows)?;
    let expected = xs.len().saturating_mul(rows.len());
    if y.len() != expected {
        return Err(QuantError::LengthMismatch { expected, actual: y.len() });
    }
    for_block_type!(w.ty, |B| rows_as::<B>(span, w.cols, xs, y, tile_rows))
}

/// The typed loop: every row of `span` (whole rows of `cols` elements) against every activation,
/// in tiles of `tile_rows` rows × `ACTS` activations (`Kernels::dot_tile`, bit for bit the
/// single dot product).
fn rows_as<B: Kernels>(
    span: &[u8],
    cols: usize,
    xs: &[QuantizedActivation],
    y: &mut [f32],
    tile_rows: usize,
) -> Result<(), QuantError> {
    let per_row = cols / B::ELEMENTS;
    let out = Out { at: 0, n: span.len() / (per_row * size_of::<B>()) };
    with_acts::<B, _>(xs, cols, |acts| tiles::<B>(span, per_row, acts, y, out, tile_rows))
}

/// Hands `f` the activations `xs` as `B`'s activation blocks in the order its tiles read them
/// (`Kernels::tile_acts`), each with its scales as f32, converted once per matmul instead of once
/// per row (empty where the format has no f16 scales).
fn with_acts<B: Kernels, T>(
    xs: &[QuantizedActivation],
    cols: usize,
    f: impl FnOnce(&[ActRow<'_, B>]) -> Result<T, QuantError>,
) -> Result<T, QuantError> {
    let acts = xs.iter().map(|x| activation_for::<B>(x, cols)).collect::<Result<Vec<_>, _>>()?;
    let scales: Vec<Vec<[f32; 2]>> = if <B::Act as ActBlock>::F16_SCALES {
        acts.iter().map(|x| x.iter().map(ActBlock::scales).collect()).collect()
    } else {
        vec![Vec::new(); acts.len()]
    };
    let acts: Vec<Cow<'_, [B::Act]>> = acts.into_iter().map(B::tile_acts).collect();
    let rows: Vec<ActRow<'_, B>> = acts.iter().zip(&scales).map(|(x, s)| (&**x, s.as_slice())).collect();
    f(&rows)
}

/// Where a run of rows writes: its first row's output index and the output's length per
/// activation (`y[t * n + at + i]` for row `i` of the run).
#[derive(Clone, Copy)]
struct Out {
    at: usize,
    n: usize,
}

/// The rows of `span` (file order, `per_row` blocks each) in tiles of `tile_rows` rows.
fn tiles<B: Kernels>(span: &[u8], per_row: usize, acts: &[ActRow<'_, B>], y: &mut [f32], out: Out, tile_rows: usize) -> Result<(), QuantError> {
    let blocks = cast_blocks::<B>(span)?;
    match tile_rows {
        4 => row_tiles::<B, 4>(span, blocks, per_row, acts, y, out),
        2 => row_tiles::<B, 2>(span, blocks, per_row, acts, y, out),
        _ => row_tiles::<B, 1>(span, blocks, per_row, acts, y, out),
    }
    Ok(())
}

/// `rows_as` over a matrix stored interleaved. Whole groups are read in place where the kernels
/// can (`Kernels::READS_INTERLEAVED`): four rows per tile for one activation, two for several.
/// Otherwise, and for the rows of a group `rows` cuts, the group's rows are gathered into file
/// order first and take the file-order tiles, whose products are the same bit for bit. Rows
/// after the last whole group are in file order already.
fn interleaved_as<B: Kernels>(
    w: &WeightMatrix<'_>,
    rows: Range<usize>,
    xs: &[QuantizedActivation],
    y: &mut [f32],
    tile_rows: usize,
) -> Result<(), QuantError> {
    with_acts::<B, _>(xs, w.cols, |acts| interleaved_tiles::<B>(w, rows, acts, y, tile_rows))
}

/// `interleaved_as` once the activations are prepared.
fn interleaved_tiles<B: Kernels>(
    w: &WeightMatrix<'_>,
    rows: Range<usize>,
    acts: &[ActRow<'_, B>],
    y: &mut [f32],
    tile_rows: usize,
) -> Result<(), QuantError> {
    let (per_row, block_bytes) = (w.cols / B::ELEMENTS, size_of::<B>());
    let grouped = w.rows / GROUP_ROWS * GROUP_ROWS;
    let n = rows.len();
    let mut gathered = Vec::new();
    let mut r = rows.start;
    while r < rows.end {
        if r >= grouped {
            let span = &w.bytes[r * w.row_bytes..rows.end * w.row_bytes];
            return tiles::<B>(span, per_row, acts, y, Out { at: r - rows.start, n }, tile_rows);
        }
        let first = r / GROUP_ROWS * GROUP_ROWS;
        let end = rows.end.min(first + GROUP_ROWS);
        let group = &w.bytes[first * w.row_bytes..(first + GROUP_ROWS) * w.row_bytes];
        if B::READS_INTERLEAVED && r == first && end == first + GROUP_ROWS {
            let (group, at) = (cast_blocks::<B>(group)?, r - rows.start);
            if acts.len() == 1 {
                tile_group::<B, GROUP_ROWS>(TileWeights::Interleaved { group, first: 0 }, acts, y, at, n);
            } else {
                for pair in (0..GROUP_ROWS).step_by(ROWS_BATCH) {
                    tile_group::<B, ROWS_BATCH>(TileWeights::Interleaved { group, first: pair }, acts, y, at + pair, n);
                }
            }
        } else {
            gathered.resize((end - r) * w.row_bytes, 0);
            for (k, row) in gathered.chunks_exact_mut(w.row_bytes).enumerate() {
                interleave::gather_row(group, w.row_bytes, block_bytes, r - first + k, row)
                    .ok_or(QuantError::RowRange { start: r, end, rows: w.rows })?;
            }
            tiles::<B>(&gathered, per_row, acts, y, Out { at: r - rows.start, n }, tile_rows)?;
        }
        r = end;
    }
    Ok(())
}

/// One activation's blocks and their scales as f32 (empty for formats without f16 scales).
type ActRow<'a, B> = (&'a [<B as Kernels>::Act], &'a [[f32; 2]]);

/// How far ahead of the tile being computed `row_tiles` reads the weights, in bytes. Wasm has no
/// prefetch instruction, and streaming a matrix bigger than the caches left the kernels waiting
/// on memory: reading one byte of every cache line of the next `tile bytes` from here on, before
/// each tile, keeps many lines on their way at once. Measured alone (2026-12-03, headless
/// Chromium, one thread): decoding 1.16x faster on SmolLM2 and 1.28x on Gemma 3, whose 178 MB
/// output matrix went from 4.2 to 5.4 GB/s; 256 to 1024 bytes did the same, 4096 less. A matrix
/// that stays in the cache (a 30 MB one read again and again) lost 12%. Matrices stored
/// interleaved (`interleave`) are one forward stream, which the prefetchers follow: their tiles
/// read without it. So are one-row tiles (the k-quants' decoding), which touching slowed: the
/// 7B-shaped Q4_K model decoded at 1.50 tokens/s with it and 1.74 without (2026-12-04).
const TOUCH_AHEAD: usize = 512;
/// The cache line size `touch` assumes (x86 and ARM cores alike).
const CACHE_LINE: usize = 64;

/// One byte of every cache line of `span[from..from + len]` (clipped to `span`), XORed: plain
/// loads whose only job is to bring those lines in.
#[inline(always)]
fn touch(span: &[u8], from: usize, len: usize) -> u8 {
    let end = from.saturating_add(len).min(span.len());
    span.get(from..end).map_or(0, |b| b.iter().step_by(CACHE_LINE).fold(0, |a, &v| a ^ v))
}

/// Every row of `blocks` (`per_row` blocks each, over the bytes `span`), `R` rows at a time, then
/// the remainder; tiles of several rows after touching the weights `TOUCH_AHEAD` bytes on.
fn row_tiles<B: Kernels, const R: usize>(
    span: &[u8],
    blocks: &[B],
    per_row: usize,
    acts: &[ActRow<'_, B>],
    y: &mut [f32],
    out: Out,
) {
    let n = blocks.len() / per_row;
    let row = |i: usize| &blocks[i * per_row..(i + 1) * per_row];
    let tile_bytes = R * per_row * size_of::<B>();
    let mut touched = 0u8;
    let mut i = 0;
    while i + R <= n {
        if R > 1 {
            touched ^= touch(span, i * per_row * size_of::<B>() + TOUCH_AHEAD, tile_bytes);
        }
        tile_group(TileWeights::Rows::<B, R>(std::array::from_fn(|r| row(i + r))), acts, y, out.at + i, out.n);
        i += R;
    }
    // The loads are the point: keep the compiler from removing them.
    std::hint::black_box(touched);
    for i in i..n {
        tile_group(TileWeights::Rows::<B, 1>([row(i)]), acts, y, out.at + i, out.n);
    }
}

/// The `R` weight rows of a tile: slices in file order, or rows `first ..` of an interleaved group.
#[derive(Clone, Copy)]
enum TileWeights<'a, B, const R: usize> {
    Rows([&'a [B]; R]),
    Interleaved { group: &'a [B], first: usize },
}

impl<B: Kernels, const R: usize> TileWeights<'_, B, R> {
    #[inline(always)]
    fn dot<const N: usize>(self, x: [&[B::Act]; N], s: [&[[f32; 2]]; N]) -> [[f32; N]; R] {
        match self {
            TileWeights::Rows(w) => B::dot_tile(w, x, s),
            TileWeights::Interleaved { group, first } => B::dot_tile_interleaved(group, first, x, s),
        }
    }
}

/// Rows `i .. i + R` (their blocks in `w`) against every activation, `ACTS` at a time; writes
/// `y[t * n + i + r]`.
fn tile_group<B: Kernels, const R: usize>(w: TileWeights<'_, B, R>, acts: &[ActRow<'_, B>], y: &mut [f32], i: usize, n: usize) {
    let mut t = 0;
    while t + ACTS <= acts.len() {
        let out = w.dot(
            std::array::from_fn::<_, ACTS, _>(|k| acts[t + k].0),
            std::array::from_fn(|k| acts[t + k].1),
        );
        for (r, o) in out.iter().enumerate() {
            for (k, v) in o.iter().enumerate() {
                y[(t + k) * n + i + r] = *v;
            }
        }
        t += ACTS;
    }
    for t in t..acts.len() {
        let out = w.dot([acts[t].0], [acts[t].1]);
        for (r, o) in out.iter().enumerate() {
            y[t * n + i + r] = o[0];
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::quant::{QuantizedActivation, vec_dot};

    /// Activations in [-2, 2) from a seed.
    fn activation(n: usize, seed: u32) -> Vec<f32> {
        (0..n as u32).map(|i| ((i.wrapping_mul(2_654_435_761) ^ seed.wrapping_mul(40_503)) % 4000) as f32 / 1000.0 - 2.0).collect()
    }

    /// `matmul` over `blocks` (whole blocks of `ty`, e.g. a `tests/golden/quant` fixture) laid out
    /// as 11 rows of 3 blocks (two whole groups and three rows after them), stored interleaved,
    /// equals the product over the file order and each row's single dot product, bit for bit:
    /// for one activation (whole groups read in place where a kernel does) and several (rows
    /// gathered), over row ranges that cut groups at either end or fall inside one.
    pub(crate) fn interleaved_matmul_equals_file_order(ty: GgmlType, blocks: &[u8]) {
        let (rows, per_row, block) = (11, 3, ty.type_size() as usize);
        let n_blocks = blocks.len() / block;
        let plain: Vec<u8> = (0..rows * per_row)
            .flat_map(|k| {
                let b = (k * 7 + k / per_row) % n_blocks;
                blocks[b * block..(b + 1) * block].iter().copied()
            })
            .collect();
        let cols = per_row * ty.block_size() as usize;
        let mut stored = plain.clone();
        interleave::interleave(&mut stored, per_row * block, block, &mut Vec::new());
        assert_ne!(stored, plain);
        let file = WeightMatrix::new(ty, cols, &plain).unwrap();
        let w = WeightMatrix::as_stored(ty, cols, &stored).unwrap();
        for r in 0..rows {
            assert_eq!(w.row(r).unwrap(), file.row(r).unwrap(), "{ty}: row {r}");
        }
        for t in [1usize, 2, 5] {
            let xs: Vec<_> = (0..t).map(|k| QuantizedActivation::for_weights(ty, &activation(cols, 3 + k as u32)).unwrap()).collect();
            for range in [0..11, 0..4, 4..8, 1..11, 3..9, 5..6, 8..11, 9..10, 2..3] {
                let n = range.len();
                let (mut y, mut expected) = (vec![0.0f32; t * n], vec![0.0f32; t * n]);
                matmul(&w, range.clone(), &xs, &mut y).unwrap();
                matmul(&file, range.clone(), &xs, &mut expected).unwrap();
                for (k, x) in xs.iter().enumerate() {
                    for (i, r) in range.clone().enumerate() {
                        let single = vec_dot(ty, &file.row(r).unwrap(), x).unwrap();
                        let what = format!("{ty}: T {t}, rows {range:?}, activation {k}, row {r}");
                        assert_eq!(y[k * n + i].to_bits(), single.to_bits(), "{what}");
                        assert_eq!(expected[k * n + i].to_bits(), single.to_bits(), "{what} (file order)");
                    }
                }
            }
        }
        let mut a = vec![0.0; cols];
        let mut b = vec![0.0; cols];
        w.dequantize_row(9, &mut a).unwrap();
        file.dequantize_row(9, &mut b).unwrap();
        assert_eq!(a, b);
    }

    /// The default `dot_tile_interleaved` (copying the rows out) gives each row's dot product.
    #[test]
    fn the_copying_interleaved_tile_gives_each_rows_dot() {
        use crate::quant::blocks::{BlockQ8_0, cast_blocks};
        let path = format!("{}/tests/golden/quant/Q8_0.blocks", env!("CARGO_MANIFEST_DIR"));
        let plain = std::fs::read(path).unwrap()[..4 * 5 * 34].to_vec();
        let mut stored = plain.clone();
        interleave::interleave(&mut stored, 5 * 34, 34, &mut Vec::new());
        let (rows, group) = (cast_blocks::<BlockQ8_0>(&plain).unwrap(), cast_blocks::<BlockQ8_0>(&stored).unwrap());
        let x = QuantizedActivation::for_weights(GgmlType::Q8_0, &activation(160, 9)).unwrap();
        let x = activation_for::<BlockQ8_0>(&x, 160).unwrap();
        let out = BlockQ8_0::dot_tile_interleaved::<2, 1>(group, 1, [x], [&[]]);
        for (k, o) in out.iter().enumerate() {
            let r = 1 + k;
            assert_eq!(o[0].to_bits(), BlockQ8_0::dot(&rows[r * 5..(r + 1) * 5], x).to_bits(), "row {r}");
        }
    }

    #[test]
    fn interleaved_matrices_multiply_as_the_file_order_does() {
        use GgmlType as T;
        for ty in [T::Q4_0, T::Q4_1, T::Q5_0, T::Q5_1, T::Q8_0, T::IQ4_NL] {
            let path = format!("{}/tests/golden/quant/{}.blocks", env!("CARGO_MANIFEST_DIR"), ty.name());
            interleaved_matmul_equals_file_order(ty, &std::fs::read(path).unwrap());
        }
    }
}
