//! What a test does when a model file is absent: under `npm test` (which sets
//! `GGUF64_REQUIRE_MODELS=1` after fetching the models) it fails; a bare `cargo test` skips it
//! with a notice.

use std::path::Path;

/// Called where a test found no model at `path`: panics if models are required, else says that
/// the test is skipped.
pub fn absent(path: impl AsRef<Path>) {
    let path = path.as_ref().display();
    if std::env::var_os("GGUF64_REQUIRE_MODELS").is_some_and(|v| !v.is_empty() && v != "0") {
        panic!("model {path} is absent, and GGUF64_REQUIRE_MODELS is set: run tools/dev/fetch-models.sh");
    }
    eprintln!("skipped: model {path} is absent (tools/dev/fetch-models.sh fetches it; npm test requires it)");
}
