//! Loading natively, the way the browser does: a file read in chunks through the same
//! `StreamLoad`, storage memories as plain aligned buffers, and those buffers as the host the
//! pager copies layers from. Native tests and tools run every layout with this.

use std::io::Read;

use crate::gguf::{Header, HeaderParser, Limits, Step};
use crate::loader::{Dest, LoadError, LoadedModel, StreamLoad};
use crate::memory::PlanLimits;
use crate::memory::region::AlignedRegion;

use super::weights::StorageHost;

/// Bytes read from the file per step.
const CHUNK: usize = 4 << 20;

/// The storage memories (1, 2, …) of a natively loaded model.
#[derive(Default)]
pub struct NativeStorage {
    memories: Vec<AlignedRegion>,
    /// Bytes copied into working-set slots so far.
    pub bytes_copied: u64,
}

impl NativeStorage {
    /// Number of storage memories.
    pub fn len(&self) -> usize {
        self.memories.len()
    }

    pub fn is_empty(&self) -> bool {
        self.memories.is_empty()
    }

    fn memory(&mut self, memory: u32) -> Option<&mut AlignedRegion> {
        self.memories.get_mut((memory as usize).checked_sub(1)?)
    }
}

impl StorageHost for NativeStorage {
    fn copy_in(&mut self, memory: u32, src: u64, dst: &mut [u8]) -> Result<(), String> {
        let region = self.memory(memory).ok_or_else(|| format!("no storage memory {memory}"))?;
        let start = usize::try_from(src).map_err(|_| format!("offset {src} is out of range"))?;
        let bytes = region.as_slice().get(start..start + dst.len()).ok_or_else(|| format!("bytes {start}+{} are outside memory {memory}", dst.len()))?;
        dst.copy_from_slice(bytes);
        self.bytes_copied += dst.len() as u64;
        Ok(())
    }
}

/// Streams a GGUF file (`file_len` bytes, from `reader`) into the layout `limits` gives.
pub fn load<R: Read>(mut reader: R, file_len: u64, limits: PlanLimits) -> Result<(LoadedModel, NativeStorage), LoadError> {
    let mut load = StreamLoad::new(Some(file_len), Limits::default(), limits);
    let mut storage = NativeStorage::default();
    let mut buf = vec![0u8; CHUNK];
    let mut offset = 0u64;
    loop {
        let n = read_some(&mut reader, &mut buf, offset)?;
        if n == 0 {
            break;
        }
        offset += n as u64;
        let mut done = 0;
        while done < n {
            if storage.memories.is_empty()
                && let Some(p) = load.placed()
            {
                storage.memories = p.plan.memories[1..]
                    .iter()
                    .map(|m| AlignedRegion::zeroed(m.bytes).map_err(|e| LoadError::OutOfMemory { bytes: e.bytes }))
                    .collect::<Result<_, _>>()?;
            }
            let written = write(&mut load, &mut storage, &buf[done..n])?;
            done += load.commit(0, written as u64)? as usize;
            load.take_completed();
        }
    }
    Ok((load.finish()?, storage))
}

/// Reads only the header of a GGUF file of `file_len` bytes: as many bytes as the parser asks for
/// (at least 1 MiB more per read), never the tensor data. The command-line tools use it.
pub fn read_header<R: Read>(mut reader: R, file_len: u64) -> Result<Header, LoadError> {
    let mut parser = HeaderParser::new(Limits::default());
    let mut prefix = Vec::new();
    loop {
        let total = match parser.advance(&prefix, Some(file_len))? {
            Step::Done(header) => return Ok(header),
            Step::NeedMore { total } => total,
        };
        let start = prefix.len();
        let want = total.max(start as u64 + (1 << 20)).min(file_len) as usize;
        if want <= start {
            return Err(LoadError::Truncated { received: file_len, expected: total });
        }
        prefix.resize(want, 0);
        reader.read_exact(&mut prefix[start..]).map_err(|e| LoadError::Read { offset: start as u64, reason: e.to_string() })?;
    }
}

/// Reads what is available, retrying interruptions.
fn read_some<R: Read>(reader: &mut R, buf: &mut [u8], offset: u64) -> Result<usize, LoadError> {
    loop {
        match reader.read(buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(LoadError::Read { offset, reason: e.to_string() }),
        }
    }
}

/// Writes the front of `src` where the loader wants it; returns the bytes written.
fn write(load: &mut StreamLoad, storage: &mut NativeStorage, src: &[u8]) -> Result<usize, LoadError> {
    match load.dest(0, src.len() as u64)? {
        Dest::Bytes(slice) => {
            let n = slice.len();
            slice.copy_from_slice(&src[..n]);
            Ok(n)
        }
        Dest::Storage { memory, offset, len } => {
            let piece = &src[..len as usize];
            let missing = LoadError::Read { offset: load.position(0), reason: format!("no storage memory {memory}") };
            let region = storage.memory(memory).ok_or(missing)?;
            region.as_mut_slice()[offset as usize..(offset + len) as usize].copy_from_slice(piece);
            if load.hashes_storage(0) {
                load.hash_storage_piece(0, piece);
            }
            Ok(len as usize)
        }
    }
}
