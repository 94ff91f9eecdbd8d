//! Text generation: sampling a token from the context's logits, turning it into text that never
//! splits a character, watching for end-of-generation tokens and stop strings, and evaluating the
//! token for the next step. One `step` per token, so a caller can stream, pause or abort between
//! tokens.

mod context;

use std::fmt;
use std::sync::Arc;

pub use context::Context;

use crate::model::{ModelError, WeightSource};
use crate::sample::{SampleError, Sampler, SamplerConfig, StopEvent, StopStrings};
use crate::tokenizer::{StreamDecoder, Tokenizer};

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateOptions {
    /// Generated tokens at most.
    pub max_tokens: usize,
    pub sampler: SamplerConfig,
    /// Generation stops before any of these strings; they are not part of the output.
    pub stop: Vec<String>,
    /// Stop at the model's end-of-generation tokens (EOS, end of turn).
    pub stop_at_end_of_generation: bool,
}

impl Default for GenerateOptions {
    fn default() -> GenerateOptions {
        GenerateOptions { max_tokens: 256, sampler: SamplerConfig::default(), stop: Vec::new(), stop_at_end_of_generation: true }
    }
}

/// Why generation ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Finish {
    /// `max_tokens` were generated.
    Length,
    /// The model produced an end-of-generation token.
    EndOfGeneration,
    /// A stop string appeared.
    StopString,
    /// The context has no room for another token.
    ContextFull,
}

impl Finish {
    pub fn name(self) -> &'static str {
        match self {
            Finish::Length => "length",
            Finish::EndOfGeneration => "end_of_generation",
            Finish::StopString => "stop_string",
            Finish::ContextFull => "context_full",
        }
    }
}

/// One step's result: the token sampled (none when the step only flushed text) and the text it
/// released.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    pub token: Option<u32>,
    pub text: String,
}

#[derive(Clone, Debug, PartialEq)]
pub enum GenerateError {
    Model(ModelError),
    Sample(SampleError),
}

impl fmt::Display for GenerateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GenerateError::Model(e) => e.fmt(f),
            GenerateError::Sample(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for GenerateError {}

impl From<ModelError> for GenerateError {
    fn from(e: ModelError) -> Self {
        GenerateError::Model(e)
    }
}

impl From<SampleError> for GenerateError {
    fn from(e: SampleError) -> Self {
        GenerateError::Sample(e)
    }
}

/// The state of one generation after its prompt was evaluated into a `Context`.
pub struct Generation {
    tokenizer: Arc<Tokenizer>,
    sampler: Sampler,
    decoder: StreamDecoder<Arc<Tokenizer>>,
    stops: StopStrings,
    options: GenerateOptions,
    generated: Vec<u32>,
    finish: Option<Finish>,
}

impl Generation {
    pub fn new(tokenizer: Arc<Tokenizer>, options: GenerateOptions) -> Result<Generation, GenerateError> {
        let sampler = Sampler::new(options.sampler)?;
        let decoder = StreamDecoder::new(Arc::clone(&tokenizer), false);
        let stops = StopStrings::new(&options.stop);
        Ok(Generation { tokenizer, sampler, decoder, stops, options, generated: Vec::new(), finish: None })
    }

    /// Tokens generated so far.
    pub fn generated(&self) -> &[u32] {
        &self.generated
    }

    /// Why generation ended, once it has.
    pub fn finish(&self) -> Option<Finish> {
        self.finish
    }

    /// Samples the next token from `ctx`'s logits and, unless generation ends with it, evaluates
    /// it. Returns `None` once finished.
    pub fn step<W: WeightSource + ?Sized>(&mut self, ctx: &mut Context, w: &mut W) -> Result<Option<Piece>, GenerateError> {
        let (piece, next) = self.choose(ctx)?;
        if let Some(token) = next {
            ctx.push(w, token)?;
        }
        Ok(piece)
    }

    /// `step` without the evaluation: the piece, and the token to evaluate next if generation
    /// goes on (a tensor-parallel model evaluates it on every shard).
    pub fn choose(&mut self, ctx: &Context) -> Result<(Option<Piece>, Option<u32>), GenerateError> {
        if self.finish.is_some() {
            return Ok((None, None));
        }
        if self.generated.len() >= self.options.max_tokens {
            return Ok((Some(self.end(Finish::Length, None)), None));
        }
        let token = self.sampler.sample(ctx.logits(), ctx.tokens())?;
        if self.options.stop_at_end_of_generation && self.tokenizer.is_end_of_generation(token) {
            return Ok((Some(self.end(Finish::EndOfGeneration, Some(token))), None));
        }
        self.generated.push(token);
        let decoded = self.decoder.push(token);
        let text = match self.stops.push(&decoded) {
            StopEvent::Continue(text) => text,
            StopEvent::Stopped { text, .. } => {
                self.finish = Some(Finish::StopString);
                return Ok((Some(Piece { token: Some(token), text }), None));
            }
        };
        let last = self.generated.len() >= self.options.max_tokens;
        if !last && ctx.tokens().len() >= ctx.n_ctx() {
            let mut piece = self.end(Finish::ContextFull, Some(token));
            piece.text.insert_str(0, &text);
            return Ok((Some(piece), None));
        }
        Ok((Some(Piece { token: Some(token), text }), (!last).then_some(token)))
    }

    /// Ends generation: flushes held-back text.
    fn end(&mut self, finish: Finish, token: Option<u32>) -> Piece {
        self.finish = Some(finish);
        let tail = self.decoder.finish();
        let mut text = match self.stops.push(&tail) {
            StopEvent::Continue(text) => text,
            StopEvent::Stopped { text, .. } => {
                self.finish = Some(Finish::StopString);
                return Piece { token, text };
            }
        };
        text.push_str(&self.stops.finish());
        Piece { token, text }
    }
}
