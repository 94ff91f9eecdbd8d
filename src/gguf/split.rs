//! Models split by `gguf-split` into `name-00001-of-00003.gguf`, … seen as one model: every
//! tensor resolves to its file and its absolute byte offset there.
//!
//! Each part is a complete GGUF file with keys `split.no` (0-based), `split.count` and
//! `split.tensors.count` (the total over all parts); the first part carries the model metadata.

use std::collections::HashMap;
use std::fmt;

use super::header::{Header, TensorInfo};

/// The `split.*` keys of one part.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitKeys {
    pub no: u64,
    pub count: u64,
    pub tensors_total: u64,
}

/// Reads the `split.*` keys; `None` for an unsplit file (no `split.count`, or a count of 1).
pub fn split_keys(h: &Header) -> Result<Option<SplitKeys>, SplitError> {
    let Some(count) = h.metadata.get_u64("split.count") else { return Ok(None) };
    let no = h.metadata.get_u64("split.no").ok_or(SplitError::MissingKey { key: "split.no" })?;
    let tensors_total = h
        .metadata
        .get_u64("split.tensors.count")
        .ok_or(SplitError::MissingKey { key: "split.tensors.count" })?;
    if count == 0 || no >= count {
        return Err(SplitError::BadPart { no, count });
    }
    Ok(Some(SplitKeys { no, count, tensors_total }))
}

/// The part names of a split model from the name of any part:
/// `dir/model-00002-of-00003.gguf` → `[dir/model-00001-of-00003.gguf, …-00002-…, …-00003-…]`.
/// `None` if the name does not follow the pattern.
pub fn split_names(name: &str) -> Option<Vec<String>> {
    let stem = name.strip_suffix(".gguf")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (prefix, no) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(count) || !digits(no) {
        return None;
    }
    let n: u32 = count.parse().ok()?;
    let no: u32 = no.parse().ok()?;
    if n == 0 || no == 0 || no > n {
        return None;
    }
    Some((1..=n).map(|i| format!("{prefix}-{i:05}-of-{count}.gguf")).collect())
}

/// Where one tensor of the model lives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TensorLocation {
    /// Index of the part (0-based, `split.no`).
    pub file: usize,
    /// Index into that part's `Header::tensors`.
    pub index: usize,
    /// Absolute offset of the tensor data in that part's file.
    pub offset: u64,
}

/// One model over one or more GGUF files.
#[derive(Clone, Debug)]
pub struct ModelView {
    /// The parts in `split.no` order; one for an unsplit model.
    pub parts: Vec<Header>,
    by_name: HashMap<String, TensorLocation>,
    order: Vec<TensorLocation>,
}

impl ModelView {
    /// Joins the parts (in any order). An unsplit file is a view of one part.
    pub fn new(mut parts: Vec<Header>) -> Result<ModelView, SplitError> {
        let keys = parts.iter().map(split_keys).collect::<Result<Vec<_>, _>>()?;
        let expected = check_parts(&keys)?;
        let mut order_of: Vec<(u64, Header)> = keys.iter().map(|k| k.map_or(0, |k| k.no)).zip(parts.drain(..)).collect();
        order_of.sort_by_key(|(no, _)| *no);
        let parts: Vec<Header> = order_of.into_iter().map(|(_, h)| h).collect();
        let mut by_name = HashMap::new();
        let mut order = Vec::new();
        for (file, h) in parts.iter().enumerate() {
            for (index, t) in h.tensors.iter().enumerate() {
                let loc = TensorLocation { file, index, offset: h.data_offset + t.offset };
                if by_name.insert(t.name.clone(), loc).is_some() {
                    return Err(SplitError::DuplicateTensor { tensor: t.name.clone(), file });
                }
                order.push(loc);
            }
        }
        if let Some(total) = expected
            && order.len() as u64 != total
        {
            return Err(SplitError::TensorCount { expected: total, found: order.len() as u64 });
        }
        Ok(ModelView { parts, by_name, order })
    }

    /// The model metadata (the first part's).
    pub fn header(&self) -> &Header {
        &self.parts[0]
    }

    pub fn n_tensors(&self) -> usize {
        self.order.len()
    }

    /// A tensor by name, with where it lives.
    pub fn tensor(&self, name: &str) -> Option<(&TensorInfo, TensorLocation)> {
        let loc = *self.by_name.get(name)?;
        Some((&self.parts[loc.file].tensors[loc.index], loc))
    }

    /// All tensors, part by part in file order.
    pub fn tensors(&self) -> impl Iterator<Item = (&TensorInfo, TensorLocation)> {
        self.order.iter().map(|&loc| (&self.parts[loc.file].tensors[loc.index], loc))
    }
}

/// Checks that `parts`, in this order, are the parts 0, 1, … of one split model (or one unsplit
/// file) and that no tensor appears twice.
pub fn check_parts_in_order(parts: &[Header]) -> Result<(), SplitError> {
    let keys = parts.iter().map(split_keys).collect::<Result<Vec<_>, _>>()?;
    let expected = check_parts(&keys)?;
    for (i, k) in keys.iter().enumerate() {
        if let Some(k) = k
            && k.no != i as u64
        {
            return Err(SplitError::OutOfOrder { position: i, no: k.no });
        }
    }
    let mut names = std::collections::HashSet::new();
    let mut total = 0u64;
    for (file, h) in parts.iter().enumerate() {
        for t in &h.tensors {
            if !names.insert(t.name.as_str()) {
                return Err(SplitError::DuplicateTensor { tensor: t.name.clone(), file });
            }
            total += 1;
        }
    }
    match expected {
        Some(want) if want != total => Err(SplitError::TensorCount { expected: want, found: total }),
        _ => Ok(()),
    }
}

/// Checks the parts form one complete set; returns the announced tensor total, if split.
fn check_parts(keys: &[Option<SplitKeys>]) -> Result<Option<u64>, SplitError> {
    let Some(first) = keys.iter().flatten().next() else {
        return match keys.len() {
            1 => Ok(None),
            n => Err(SplitError::NotSplit { files: n }),
        };
    };
    let mut seen = vec![false; keys.len()];
    for k in keys {
        let k = k.ok_or(SplitError::NotSplit { files: keys.len() })?;
        if k.count != first.count || k.tensors_total != first.tensors_total || k.count != keys.len() as u64 {
            return Err(SplitError::Inconsistent { count: k.count, files: keys.len() });
        }
        let slot = &mut seen[k.no as usize];
        if *slot {
            return Err(SplitError::BadPart { no: k.no, count: k.count });
        }
        *slot = true;
    }
    Ok(Some(first.tensors_total))
}

#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum SplitError {
    MissingKey { key: &'static str },
    /// A part number outside `0..count`, or seen twice.
    BadPart { no: u64, count: u64 },
    /// Parts disagree on `split.count` / `split.tensors.count`, or `files` parts were given for `count`.
    Inconsistent { count: u64, files: usize },
    /// Several files were given, but one of them is not a split part.
    NotSplit { files: usize },
    DuplicateTensor { tensor: String, file: usize },
    TensorCount { expected: u64, found: u64 },
    /// The file at `position` is part `no`: parts must be given in order.
    OutOfOrder { position: usize, no: u64 },
}

impl fmt::Display for SplitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SplitError::MissingKey { key } => write!(f, "split part lacks the key {key}"),
            SplitError::BadPart { no, count } => write!(f, "split part {no} of {count} is out of range or repeated"),
            SplitError::Inconsistent { count, files } => {
                write!(f, "split parts disagree: split.count {count} with {files} files given")
            }
            SplitError::NotSplit { files } => write!(f, "{files} files given, but not all are parts of one split model"),
            SplitError::DuplicateTensor { tensor, file } => write!(f, "tensor {tensor} appears again in part {file}"),
            SplitError::TensorCount { expected, found } => {
                write!(f, "split.tensors.count says {expected} tensors, the parts hold {found}")
            }
            SplitError::OutOfOrder { position, no } => write!(f, "file {position} is part {no}: give the parts in order"),
        }
    }
}

impl std::error::Error for SplitError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_names_expand_from_any_part() {
        let want: Vec<String> = (1..=3).map(|i| format!("d/m-{i:05}-of-00003.gguf")).collect();
        assert_eq!(split_names("d/m-00002-of-00003.gguf"), Some(want));
        assert_eq!(split_names("m-00001-of-00001.gguf").map(|v| v.len()), Some(1));
        for bad in ["m.gguf", "m-1-of-3.gguf", "m-00004-of-00003.gguf", "m-00000-of-00003.gguf", "m-00001-of-00000.gguf", "m-00001-of-00003.bin"] {
            assert_eq!(split_names(bad), None, "{bad}");
        }
    }
}
