//! `inspect(url)`: the header alone, read through Range requests, reported (`report::header`)
//! with the layout the model would get, without downloading the weights.

use wasm_bindgen::prelude::*;

use super::{byte_count, error, options};
use crate::error_code::ErrorCode;
use crate::gguf::{Header, HeaderParser, Limits, Step};
use crate::loader::LoadError;

/// Collects header bytes from offset 0 on and says how many it needs.
#[wasm_bindgen]
pub struct HeaderInspector {
    parser: HeaderParser,
    prefix: Vec<u8>,
    file_len: Option<u64>,
    header: Option<Header>,
}

#[wasm_bindgen]
impl HeaderInspector {
    #[wasm_bindgen(constructor)]
    pub fn new(file_len: Option<f64>) -> Result<HeaderInspector, JsValue> {
        let file_len = file_len.map(|n| byte_count("fileLen", n)).transpose()?;
        Ok(HeaderInspector { parser: HeaderParser::new(Limits::default()), prefix: Vec::new(), file_len, header: None })
    }

    /// Appends the next bytes; returns the prefix length the parser needs next, or 0 once the
    /// header is complete.
    pub fn push(&mut self, bytes: &[u8]) -> Result<f64, JsValue> {
        if self.header.is_some() {
            return Ok(0.0);
        }
        let max = Limits::default().max_header_bytes as usize;
        let room = max.saturating_sub(self.prefix.len());
        self.prefix.extend_from_slice(&bytes[..bytes.len().min(room)]);
        match self.parser.advance(&self.prefix, self.file_len).map_err(|e| error::load_error(e.into()))? {
            Step::NeedMore { .. } if self.prefix.len() >= max => Err(error::load_error(LoadError::HeaderTooLarge { limit: max as u64 })),
            Step::NeedMore { total } => Ok(total as f64),
            Step::Done(h) => {
                self.header = Some(h);
                self.prefix = Vec::new();
                Ok(0.0)
            }
        }
    }

    /// The report as JSON (see `report::header`), the layout planned with `plan`
    /// (`{ shardCap, memoryBudget, layout, workingSetLayers }`, as for a load).
    pub fn report(&self, plan: &JsValue) -> Result<String, JsValue> {
        let h = self.header.as_ref().ok_or_else(|| error::js_error(ErrorCode::Internal, "the header is not complete yet", &[]))?;
        Ok(crate::report::header(h, &options::plan_limits(plan)?).to_string())
    }
}
