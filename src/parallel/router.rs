//! Streams one pass over the whole GGUF file into every shard's file: the header is parsed as it
//! arrives, the model split (`ShardPlan`), and from then on each chunk's bytes go to the shards
//! whose pieces cover them. Nothing is held beyond the header and one chunk's output per shard,
//! so the whole file is downloaded (and cached) once, however many workers share it.

use crate::gguf::{Header, HeaderParser, Limits, Step};

use crate::model::{DEFAULT_BATCH, ModelConfig};

use super::error::ShardError;
use super::layout::{Piece, ShardFile};
use super::plan::ShardPlan;

/// The shard files of `h`: one per slice of the plan for at most `wanted` shards, or the whole
/// file when it cannot be split (a model gguf64 does not run included: its loader says why).
pub fn shard_files(h: &Header, wanted: usize, file_len: Option<u64>) -> Result<Vec<ShardFile>, ShardError> {
    let whole = || vec![ShardFile::whole(file_len)];
    let Ok(config) = ModelConfig::from_header(h) else { return Ok(whole()) };
    match ShardPlan::at_most(&config, wanted) {
        Some(plan) => plan.slices.iter().map(|s| ShardFile::new(h, &config, s)).collect(),
        None => Ok(whole()),
    }
}

/// One shard's file being produced.
#[derive(Debug)]
struct Stream {
    file: ShardFile,
    header_sent: bool,
    /// The piece under way, the run within it, and the bytes of that run already sent.
    piece: usize,
    run: u64,
    done: u64,
    out: Vec<u8>,
    sent: u64,
}

impl Stream {
    fn new(file: ShardFile) -> Stream {
        Stream { file, header_sent: false, piece: 0, run: 0, done: 0, out: Vec::new(), sent: 0 }
    }

    /// Takes what `chunk` (the whole file's bytes from `at`) holds of this shard's file.
    fn route(&mut self, chunk: &[u8], at: u64) -> Result<(), ShardError> {
        if !self.header_sent {
            self.out.extend_from_slice(&self.file.header);
            self.header_sent = true;
        }
        let end = at + chunk.len() as u64;
        while let Some(&piece) = self.file.pieces.get(self.piece) {
            match piece {
                Piece::Zeros(n) => {
                    self.out.resize(self.out.len() + n as usize, 0);
                    self.piece += 1;
                }
                Piece::Copy { src, len, count, stride } => {
                    let from = src + self.run * stride + self.done;
                    if from < at {
                        return Err(ShardError::OutOfOrder { expected: from, got: at });
                    }
                    if from >= end {
                        return Ok(());
                    }
                    let take = (src + self.run * stride + len).min(end) - from;
                    let offset = (from - at) as usize;
                    self.out.extend_from_slice(&chunk[offset..offset + take as usize]);
                    self.done += take;
                    if self.done < len {
                        return Ok(());
                    }
                    self.done = 0;
                    self.run += 1;
                    if self.run == count {
                        self.run = 0;
                        self.piece += 1;
                    }
                }
            }
        }
        Ok(())
    }

    fn complete(&self) -> bool {
        self.header_sent && self.piece == self.file.pieces.len()
    }
}

/// Before the header is complete: its bytes so far.
#[derive(Debug)]
enum State {
    Header { parser: HeaderParser, prefix: Vec<u8> },
    Routing { streams: Vec<Stream> },
}

/// Splits the whole file's bytes, pushed in order from offset 0, into `count` shard files (or
/// fewer, as the model's shapes allow; one: the whole file, unsplit).
#[derive(Debug)]
pub struct ShardRouter {
    wanted: usize,
    file_len: Option<u64>,
    state: State,
    /// Bytes of the whole file pushed so far.
    pos: u64,
    /// Floats of the largest result the shards gather (a batch of the widest), once known.
    gather_floats: Option<usize>,
}

impl ShardRouter {
    /// A router for up to `wanted` shards of a file of `file_len` bytes (if known).
    pub fn new(wanted: usize, file_len: Option<u64>) -> ShardRouter {
        let state = State::Header { parser: HeaderParser::new(Limits::default()), prefix: Vec::new() };
        ShardRouter { wanted: wanted.max(1), file_len, state, pos: 0, gather_floats: None }
    }

    /// The next bytes of the whole file. Once the header is complete, each shard's new bytes
    /// wait in `take`.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), ShardError> {
        let at = self.pos;
        self.pos += bytes.len() as u64;
        match &mut self.state {
            State::Routing { streams } => streams.iter_mut().try_for_each(|s| s.route(bytes, at)),
            State::Header { parser, prefix } => {
                let max = Limits::default().max_header_bytes as usize;
                prefix.extend_from_slice(bytes);
                let files = match parser.advance(prefix, self.file_len) {
                    Ok(Step::Done(h)) => {
                        self.gather_floats = ModelConfig::from_header(&h).ok().map(|c| DEFAULT_BATCH * c.n_embd.max(c.attn_width()).max(c.n_ff));
                        shard_files(&h, self.wanted, self.file_len)?
                    }
                    Ok(Step::NeedMore { .. }) if prefix.len() < max => return Ok(()),
                    // The loader that receives the whole file reports what is wrong with it.
                    Ok(Step::NeedMore { .. }) | Err(_) => vec![ShardFile::whole(self.file_len)],
                };
                let prefix = std::mem::take(prefix);
                let mut streams: Vec<Stream> = files.into_iter().map(Stream::new).collect();
                streams.iter_mut().try_for_each(|s| s.route(&prefix, 0))?;
                self.state = State::Routing { streams };
                Ok(())
            }
        }
    }

    /// Floats of the largest result the shards gather: a prompt batch of the widest of the
    /// residual stream, the attention output and the feed-forward hidden state (`None` before
    /// the header is complete, or for a model gguf64 does not run).
    pub fn gather_floats(&self) -> Option<usize> {
        self.gather_floats
    }

    /// Shards, once the header is complete (`None` before).
    pub fn count(&self) -> Option<usize> {
        match &self.state {
            State::Routing { streams } => Some(streams.len()),
            State::Header { .. } => None,
        }
    }

    /// Length of shard `shard`'s file (`None` before the header is complete, and for an
    /// unsplit file of unknown length).
    pub fn file_len(&self, shard: usize) -> Option<u64> {
        match &self.state {
            State::Routing { streams } => streams.get(shard).map(|s| s.file.len).filter(|&n| n != u64::MAX),
            State::Header { .. } => None,
        }
    }

    /// Shard `shard`'s bytes routed since the last call.
    pub fn take(&mut self, shard: usize) -> Vec<u8> {
        match &mut self.state {
            State::Routing { streams } => streams.get_mut(shard).map_or_else(Vec::new, |s| {
                s.sent += s.out.len() as u64;
                std::mem::take(&mut s.out)
            }),
            State::Header { .. } => Vec::new(),
        }
    }

    /// Every shard has all of its file.
    pub fn complete(&self) -> bool {
        matches!(&self.state, State::Routing { streams } if streams.iter().all(Stream::complete))
    }
}
