//! A conversation's evaluated tokens, its KV cache and the logits after the last one. A new
//! prompt reuses the longest prefix already in the cache (a chat that grows by one turn only
//! evaluates the new turn).

use crate::model::{Advance, ModelConfig, ModelError, Session, WeightSource};

pub struct Context {
    session: Session,
    tokens: Vec<u32>,
    logits: Vec<f32>,
    /// Tokens of the evaluation under way (`start`), added to `tokens` once it is done.
    pending: Vec<u32>,
}

impl Context {
    /// A context of `n_ctx` positions evaluating prompts `batch` tokens at a time.
    pub fn new(config: &ModelConfig, n_ctx: usize, batch: usize) -> Result<Context, ModelError> {
        let session = Session::new(config, n_ctx, batch)?;
        Ok(Context { session, tokens: Vec::new(), logits: vec![0.0; config.n_vocab], pending: Vec::new() })
    }

    /// Tokens evaluated so far.
    pub fn tokens(&self) -> &[u32] {
        &self.tokens
    }

    /// Logits after the last evaluated token.
    pub fn logits(&self) -> &[f32] {
        &self.logits
    }

    pub fn n_ctx(&self) -> usize {
        self.session.n_ctx()
    }

    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Logits after the last evaluated token, to be filled in by the other shards of a
    /// tensor-parallel model (each computes its own rows).
    pub fn logits_mut(&mut self) -> &mut [f32] {
        &mut self.logits
    }

    pub fn session_mut(&mut self) -> &mut Session {
        &mut self.session
    }

    /// How many of `prompt`'s tokens the cache already holds and can keep (never the last one,
    /// whose logits are needed).
    pub fn reusable(&self, prompt: &[u32]) -> Result<usize, ModelError> {
        if prompt.is_empty() {
            return Err(ModelError::InvalidArgument { what: "prompt length", value: 0 });
        }
        Ok(self.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count().min(prompt.len() - 1))
    }

    /// Keeps the first `keep` tokens and starts evaluating `tokens` after them; `advance` runs
    /// the evaluation (the way every shard of a tensor-parallel model evaluates in step).
    pub fn start(&mut self, keep: usize, tokens: &[u32]) -> Result<(), ModelError> {
        let keep = keep.min(self.tokens.len());
        self.session.truncate(keep);
        self.tokens.truncate(keep);
        self.session.start(tokens, self.logits.len())?;
        self.pending = tokens.to_vec();
        Ok(())
    }

    /// Runs the evaluation begun by `start` to its next gathering point or its end (see
    /// `Session::advance`); at the end its tokens join the context.
    pub fn advance<W: WeightSource + ?Sized>(&mut self, w: &mut W) -> Result<Advance, ModelError> {
        match self.session.advance(w, &mut self.logits) {
            Ok(Advance::Done) => {
                self.tokens.append(&mut self.pending);
                Ok(Advance::Done)
            }
            Ok(Advance::Gather) => Ok(Advance::Gather),
            Err(e) => {
                // A failed batch may have filled part of the cache: keep only what `tokens` says.
                self.session.truncate(self.tokens.len());
                self.pending.clear();
                Err(e)
            }
        }
    }

    /// Makes the context hold exactly `prompt`, evaluating only what differs from the cached
    /// tokens (at least the last token, whose logits are needed). Returns the tokens evaluated.
    pub fn prefill<W: WeightSource + ?Sized>(&mut self, w: &mut W, prompt: &[u32]) -> Result<usize, ModelError> {
        let shared = self.reusable(prompt)?;
        self.session.truncate(shared);
        self.tokens.truncate(shared);
        let rest = &prompt[shared..];
        if let Err(e) = self.session.eval(w, rest, &mut self.logits) {
            // A failed batch may have filled part of the cache: forget everything after `shared`.
            self.session.truncate(shared);
            return Err(e);
        }
        self.tokens.extend_from_slice(rest);
        Ok(rest.len())
    }

    /// Evaluates one more token.
    pub fn push<W: WeightSource + ?Sized>(&mut self, w: &mut W, token: u32) -> Result<(), ModelError> {
        let before = self.tokens.len();
        if let Err(e) = self.session.eval(w, &[token], &mut self.logits) {
            self.session.truncate(before);
            return Err(e);
        }
        self.tokens.push(token);
        Ok(())
    }

    /// Forgets every token (a fresh conversation).
    pub fn clear(&mut self) {
        self.session.truncate(0);
        self.tokens.clear();
    }
}
