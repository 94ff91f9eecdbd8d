//! A zero-filled, 64-byte-aligned byte region: the place where streamed tensor bytes land.
//!
//! Allocation is fallible: a region that the allocator cannot provide is a typed error, never an
//! abort, because its size comes from a file header. On wasm the allocator (dlmalloc) clears what
//! `alloc_zeroed` returns even when the pages come fresh from `memory.grow`, so a region's pages
//! are all touched before the first byte lands: for the 12.6 GB main memory of an 18.56 GB model,
//! about 35 s here (first-touch page faults, about 360 MB/s).

use std::alloc::{self, Layout};
use std::ptr::NonNull;

/// Alignment of every region: enough for any SIMD load and for ggml's default 32-byte alignment.
pub const REGION_ALIGN: usize = 64;

/// The allocator could not provide `bytes` bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AllocError {
    pub bytes: u64,
}

/// An owned, aligned, zero-initialised byte buffer of fixed length.
pub struct AlignedRegion {
    ptr: NonNull<u8>,
    len: usize,
}

impl AlignedRegion {
    /// Allocates `len` zero bytes (a zero-length region still owns a one-byte allocation).
    pub fn zeroed(len: u64) -> Result<Self, AllocError> {
        let fail = AllocError { bytes: len };
        let size = usize::try_from(len).map_err(|_| fail)?.max(1);
        let layout = Layout::from_size_align(size, REGION_ALIGN).map_err(|_| fail)?;
        // SAFETY: `layout` has a nonzero size.
        let raw = unsafe { alloc::alloc_zeroed(layout) };
        let ptr = NonNull::new(raw).ok_or(fail)?;
        Ok(Self { ptr, len: len as usize })
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn as_slice(&self) -> &[u8] {
        // SAFETY: `ptr` owns `len` initialised (zeroed) bytes for the lifetime of `self`.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr(), self.len) }
    }

    pub fn as_mut_slice(&mut self) -> &mut [u8] {
        // SAFETY: as in `as_slice`, and `&mut self` makes the borrow unique.
        unsafe { std::slice::from_raw_parts_mut(self.ptr.as_ptr(), self.len) }
    }
}

impl Drop for AlignedRegion {
    fn drop(&mut self) {
        let layout = Layout::from_size_align(self.len.max(1), REGION_ALIGN)
            .expect("layout was valid when the region was allocated");
        // SAFETY: `ptr` came from `alloc_zeroed` with this same layout and is freed once.
        unsafe { alloc::dealloc(self.ptr.as_ptr(), layout) }
    }
}

// SAFETY: the region uniquely owns its bytes; no interior sharing.
unsafe impl Send for AlignedRegion {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn region_is_zeroed_aligned_and_writable() {
        let mut r = AlignedRegion::zeroed(1000).unwrap();
        assert_eq!(r.as_slice().as_ptr() as usize % REGION_ALIGN, 0);
        assert!(r.as_slice().iter().all(|&b| b == 0));
        r.as_mut_slice()[999] = 7;
        assert_eq!(r.as_slice()[999], 7);
    }

    #[test]
    fn impossible_size_is_an_error_not_an_abort() {
        assert_eq!(AlignedRegion::zeroed(u64::MAX).err(), Some(AllocError { bytes: u64::MAX }));
    }
}
