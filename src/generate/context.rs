//! A conversation's evaluated tokens, its KV cache and the logits after the last one. A new
//! prompt reuses the longest prefix already in the cache (a chat that grows by one turn only
//! evaluates the new turn).

use crate::model::{ModelConfig, ModelError, Session, WeightSource};

pub struct Context {
    session: Session,
    tokens: Vec<u32>,
    logits: Vec<f32>,
}

impl Context {
    /// A context of `n_ctx` positions evaluating prompts `batch` tokens at a time.
    pub fn new(config: &ModelConfig, n_ctx: usize, batch: usize) -> Result<Context, ModelError> {
        let session = Session::new(config, n_ctx, batch)?;
        Ok(Context { session, tokens: Vec::new(), logits: vec![0.0; config.n_vocab] })
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

    /// Makes the context hold exactly `prompt`, evaluating only what differs from the cached
    /// tokens (at least the last token, whose logits are needed). Returns the tokens evaluated.
    pub fn prefill<W: WeightSource + ?Sized>(&mut self, w: &mut W, prompt: &[u32]) -> Result<usize, ModelError> {
        if prompt.is_empty() {
            return Err(ModelError::InvalidArgument { what: "prompt length", value: 0 });
        }
        let shared = self.tokens.iter().zip(prompt).take_while(|(a, b)| a == b).count().min(prompt.len() - 1);
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
