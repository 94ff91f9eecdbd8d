//! Choosing the next token from a model's logits, and stopping generated text at stop strings.
//!
//! The sampler chain follows llama.cpp's common sampler (common/common.h, `samplers` default:
//! penalties, DRY, top-n-sigma, top-k, typical-p, top-p, min-p, XTC, temperature, then `dist`)
//! restricted to the steps offered here, in the same order:
//!
//! 1. repetition penalty over the last `repeat_last_n` history tokens (each distinct token once):
//!    a positive logit is divided by the penalty, a non-positive one multiplied;
//! 2. top-k; 3. top-p; 4. min-p -- top-p and min-p judge probabilities at temperature 1, as in
//!    llama.cpp, where the temperature comes after them;
//! 5. temperature, then a draw from softmax(logit / temperature).
//!
//! Temperature 0 is greedy: the argmax of the (penalised) logits, the lowest id among equals --
//! what llama.cpp's chain gives with temp <= 0, as top-k/top-p/min-p never drop the best token.
//! Draws use a seeded xoshiro256** ([`rng`]), so the same seed and logits give the same tokens;
//! the stream differs from llama.cpp's (a std::mt19937), so only greedy output is comparable
//! token for token. A non-finite logit (NaN, ±inf) is treated as an impossible token.

mod chain;
mod error;
mod logprob;
pub mod rng;
mod stop;

#[cfg(test)]
mod tests;

pub use error::SampleError;
pub use logprob::{log_softmax, top_logprobs};
pub use stop::{StopEvent, StopStrings};

use chain::Candidates;
use rng::Rng;

/// Sampling settings; each step has a value that turns it off. `Default` is greedy.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SamplerConfig {
    /// Softmax temperature; 0 = greedy (argmax).
    pub temperature: f32,
    /// Keep only the k most likely tokens; 0 = off.
    pub top_k: usize,
    /// Keep the smallest set of most likely tokens whose probability reaches top_p; 1 = off.
    pub top_p: f32,
    /// Drop tokens less likely than min_p times the most likely one; 0 = off.
    pub min_p: f32,
    /// Repetition penalty (llama.cpp's rule, see the module docs); 1 = off.
    pub repeat_penalty: f32,
    /// How many of the most recent history tokens the penalty looks at; 0 = none.
    pub repeat_last_n: usize,
    /// Seed of the random stream used for draws.
    pub seed: u64,
}

impl Default for SamplerConfig {
    fn default() -> SamplerConfig {
        SamplerConfig {
            temperature: 0.0,
            top_k: 0,
            top_p: 1.0,
            min_p: 0.0,
            repeat_penalty: 1.0,
            repeat_last_n: 64,
            seed: 0,
        }
    }
}

impl SamplerConfig {
    /// Checks every value's range.
    pub fn validate(&self) -> Result<(), SampleError> {
        let t = self.temperature;
        if !(t.is_finite() && t >= 0.0) {
            return Err(SampleError::InvalidTemperature { found: t });
        }
        if !(self.top_p > 0.0 && self.top_p <= 1.0) {
            return Err(SampleError::InvalidTopP { found: self.top_p });
        }
        if !(0.0..=1.0).contains(&self.min_p) {
            return Err(SampleError::InvalidMinP { found: self.min_p });
        }
        let r = self.repeat_penalty;
        if !(r.is_finite() && r > 0.0) {
            return Err(SampleError::InvalidRepeatPenalty { found: r });
        }
        Ok(())
    }

    fn penalises(&self) -> bool {
        self.repeat_penalty != 1.0 && self.repeat_last_n > 0
    }
}

/// Picks tokens with a fixed configuration and its own random stream. Its buffers are kept
/// between calls, so sampling allocates only while the vocabulary or window is larger than ever
/// before.
#[derive(Clone, Debug)]
pub struct Sampler {
    config: SamplerConfig,
    rng: Rng,
    candidates: Candidates,
    /// The penalised window of the history, sorted and without duplicates.
    recent: Vec<u32>,
}

impl Sampler {
    /// A sampler for `config`, its random stream seeded with `config.seed`.
    pub fn new(config: SamplerConfig) -> Result<Sampler, SampleError> {
        config.validate()?;
        let rng = Rng::new(config.seed);
        Ok(Sampler {
            config,
            rng,
            candidates: Candidates::default(),
            recent: Vec::new(),
        })
    }

    /// The configuration this sampler runs.
    pub fn config(&self) -> &SamplerConfig {
        &self.config
    }

    /// Chooses the next token from `logits` (one per token id) given the `history` of tokens so
    /// far (prompt and generated; only its last `repeat_last_n` matter, and only with a penalty).
    pub fn sample(&mut self, logits: &[f32], history: &[u32]) -> Result<u32, SampleError> {
        if logits.is_empty() {
            return Err(SampleError::EmptyLogits);
        }
        if u32::try_from(logits.len()).is_err() {
            return Err(SampleError::TooManyLogits { len: logits.len() });
        }
        self.collect_recent(history, logits.len())?;
        if self.config.temperature == 0.0 && self.recent.is_empty() {
            // Greedy with nothing penalised: the same choice, without copying the logits.
            return Candidates::argmax_of(logits).ok_or(SampleError::NoFiniteLogits { len: logits.len() });
        }
        let penalty = if self.config.penalises() {
            self.config.repeat_penalty
        } else {
            1.0
        };
        self.candidates.fill(logits, &self.recent, penalty);
        let no_token = SampleError::NoFiniteLogits { len: logits.len() };
        if self.config.temperature == 0.0 {
            return self.candidates.argmax().ok_or(no_token);
        }
        self.candidates.top_k(self.config.top_k);
        self.candidates.top_p(self.config.top_p);
        self.candidates.min_p(self.config.min_p);
        self.candidates
            .draw(self.config.temperature, &mut self.rng)
            .ok_or(no_token)
    }

    /// Fills `recent` with the distinct ids of the penalised history window, checking each is a
    /// valid id for `vocab` logits. Empty when the penalty is off.
    fn collect_recent(&mut self, history: &[u32], vocab: usize) -> Result<(), SampleError> {
        self.recent.clear();
        if !self.config.penalises() {
            return Ok(());
        }
        let start = history.len().saturating_sub(self.config.repeat_last_n);
        for (index, &token) in history.iter().enumerate().skip(start) {
            if token as usize >= vocab {
                return Err(SampleError::HistoryTokenOutOfRange {
                    index,
                    token,
                    vocab,
                });
            }
            self.recent.push(token);
        }
        self.recent.sort_unstable();
        self.recent.dedup();
        Ok(())
    }
}
