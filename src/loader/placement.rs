//! Where each byte of tensor data goes: the file's tensor ranges mapped onto the MemoryPlan.
//!
//! A stream is read front to back, so the map keeps a cursor and answers "where does the byte at
//! `pos` go, and how many after it go to the same place" in constant time per call.

use crate::gguf::Header;
use crate::memory::plan::MemoryPlan;
use crate::memory::Groups;

/// A tensor's bytes in the file and their destination.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Run {
    pub file_start: u64,
    pub file_end: u64,
    /// Memory index (0 = main) and offset inside that memory's weight block.
    pub memory: u32,
    pub offset: u64,
    /// Index into `Groups::groups`.
    pub group: usize,
}

/// What lies at a file position inside the tensor data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Slot {
    /// `len` bytes belonging to `run`, starting `skip` bytes into it.
    Tensor { run: Run, skip: u64, len: u64 },
    /// `len` bytes that belong to no tensor (alignment padding): read and dropped.
    Gap { len: u64 },
}

pub struct FileMap {
    runs: Vec<Run>,
    cursor: usize,
}

impl FileMap {
    /// Maps every tensor of file `part` (whose header is `header`) to its home in the plan.
    pub fn new(header: &Header, part: usize, groups: &Groups, plan: &MemoryPlan) -> FileMap {
        let mut runs = Vec::with_capacity(header.tensors.len());
        for (gi, group) in groups.groups.iter().enumerate() {
            let home = plan.placement(group.id).map_or(Default::default(), |p| (p.home.memory, p.home.offset));
            for t in group.tensors.iter().filter(|t| t.part == part) {
                let info = &header.tensors[t.index];
                let file_start = header.data_offset + info.offset;
                runs.push(Run {
                    file_start,
                    file_end: file_start + info.n_bytes,
                    memory: home.0,
                    offset: home.1 + t.offset,
                    group: gi,
                });
            }
        }
        runs.sort_by_key(|r| r.file_start);
        runs.retain(|r| r.file_end > r.file_start);
        FileMap { runs, cursor: 0 }
    }

    /// What lies at `pos` (which never moves backwards between calls), up to `limit`.
    pub fn at(&mut self, pos: u64, limit: u64) -> Slot {
        while self.runs.get(self.cursor).is_some_and(|r| r.file_end <= pos) {
            self.cursor += 1;
        }
        match self.runs.get(self.cursor) {
            Some(&run) if run.file_start <= pos => {
                let skip = pos - run.file_start;
                Slot::Tensor { run, skip, len: (run.file_end - pos).min(limit) }
            }
            Some(run) => Slot::Gap { len: (run.file_start - pos).min(limit) },
            None => Slot::Gap { len: limit },
        }
    }
}
