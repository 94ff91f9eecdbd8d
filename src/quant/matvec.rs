//! Matrix-vector and small matrix-matrix products over ggml weight matrices, in place.
//!
//! A `WeightMatrix` is the raw bytes of a ggml tensor: `rows` rows (ne1) of `cols` elements
//! (ne0), each row a contiguous run of whole blocks. Products take a range of output rows, so a
//! tensor-parallel worker can own a slice of the rows; the activation is quantized once per
//! call (or once by the caller, for several matrices), and weights are never dequantized or
//! copied: each row is read in place by the dot-product kernel.

use std::ops::Range;

use super::activation::QuantizedActivation;
use super::blocks::cast_blocks;
use super::{Kernels, QuantError, activation_for, for_block_type};
use crate::gguf::GgmlType;

/// A ggml weight matrix viewed over its bytes.
#[derive(Clone, Copy, Debug)]
pub struct WeightMatrix<'a> {
    ty: GgmlType,
    cols: usize,
    rows: usize,
    row_bytes: usize,
    bytes: &'a [u8],
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
        Ok(WeightMatrix { ty, cols, rows: bytes.len() / row_bytes, row_bytes, bytes })
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

    /// The bytes of row `r`, or `None` past the end.
    pub fn row(&self, r: usize) -> Option<&'a [u8]> {
        let start = r.checked_mul(self.row_bytes)?;
        self.bytes.get(start..start.checked_add(self.row_bytes)?)
    }

    /// Dequantizes row `r` into `out` (`cols` floats): an embedding lookup.
    pub fn dequantize_row(&self, r: usize, out: &mut [f32]) -> Result<(), QuantError> {
        let bad = QuantError::RowRange { start: r, end: r.saturating_add(1), rows: self.rows };
        let row = self.row(r).ok_or(bad)?;
        super::dequantize(self.ty, row, out)
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
    let span = w.row_span(&rows)?;
    let expected = xs.len().saturating_mul(rows.len());
    if y.len() != expected {
        return Err(QuantError::LengthMismatch { expected, actual: y.len() });
    }
    for_block_type!(w.ty, |B| rows_as::<B>(span, w.cols, xs, y))
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

/// The typed loop: every row of `span` (whole rows of `cols` elements) against every activation.
fn rows_as<B: Kernels>(span: &[u8], cols: usize, xs: &[QuantizedActivation], y: &mut [f32]) -> Result<(), QuantError> {
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
