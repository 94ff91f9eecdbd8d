//! Stop strings over streamed text. Generated text arrives in pieces (one per token); a stop
//! string may be split across pieces, so text that could still turn out to be the start of a stop
//! string is held back until it either completes one (generation stops, the stop string and
//! anything after it are dropped) or cannot any more (it is released).

/// What a [`StopStrings::push`] lets through.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopEvent {
    /// `text` may be shown now (possibly empty: all of it is held back).
    Continue(String),
    /// Stop string number `stop` was found; `text` is what remains to show before it.
    Stopped { text: String, stop: usize },
}

/// Matches a set of stop strings against streamed text.
#[derive(Clone, Debug)]
pub struct StopStrings {
    stops: Vec<String>,
    /// Text received but not yet released: always a suffix that could begin a stop string.
    held: String,
    /// The index of the stop string that ended the stream, once one has.
    stopped: Option<usize>,
}

impl StopStrings {
    /// A matcher for `stops`. Empty strings are ignored (they would match before any text).
    pub fn new<S: AsRef<str>>(stops: &[S]) -> StopStrings {
        let stops = stops
            .iter()
            .map(|s| s.as_ref().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        StopStrings {
            stops,
            held: String::new(),
            stopped: None,
        }
    }

    /// Adds one streamed piece. Once a stop string has been found, further pieces are ignored and
    /// each push reports `Stopped` again with empty text.
    pub fn push(&mut self, piece: &str) -> StopEvent {
        if let Some(stop) = self.stopped {
            return StopEvent::Stopped {
                text: String::new(),
                stop,
            };
        }
        self.held.push_str(piece);
        if let Some((at, stop)) = self.earliest_match() {
            self.stopped = Some(stop);
            let mut text = std::mem::take(&mut self.held);
            text.truncate(at);
            return StopEvent::Stopped { text, stop };
        }
        let keep = self.partial_suffix_len();
        let rest = self.held.split_off(self.held.len() - keep);
        StopEvent::Continue(std::mem::replace(&mut self.held, rest))
    }

    /// Ends the stream without a stop: returns the held-back text (empty after a stop).
    pub fn finish(&mut self) -> String {
        std::mem::take(&mut self.held)
    }

    /// The index of the stop string that ended the stream, if one has.
    pub fn stopped(&self) -> Option<usize> {
        self.stopped
    }

    /// The earliest complete stop string in the held text as (byte offset, stop index); among
    /// stop strings starting at the same offset, the first listed.
    fn earliest_match(&self) -> Option<(usize, usize)> {
        let found = self
            .stops
            .iter()
            .enumerate()
            .filter_map(|(i, s)| self.held.find(s.as_str()).map(|at| (at, i)));
        found.min()
    }

    /// The length of the longest suffix of the held text that is a proper prefix of some stop
    /// string (so it may still grow into one).
    fn partial_suffix_len(&self) -> usize {
        let held = self.held.as_bytes();
        let longest_stop = self.stops.iter().map(String::len).max().unwrap_or(0);
        let max = held.len().min(longest_stop.saturating_sub(1));
        (1..=max)
            .rev()
            .find(|&n| {
                let suffix = &held[held.len() - n..];
                self.held.is_char_boundary(held.len() - n)
                    && self.stops.iter().any(|s| s.as_bytes().starts_with(suffix))
            })
            .unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn go(text: &str) -> StopEvent {
        StopEvent::Continue(text.to_owned())
    }

    #[test]
    fn a_stop_string_split_across_pieces() {
        let mut m = StopStrings::new(&["\n\nUser:"]);
        assert_eq!(m.push("Paris."), go("Paris."));
        assert_eq!(m.push("\n"), go(""));
        assert_eq!(m.push("\nUs"), go(""));
        assert_eq!(
            m.push("er:"),
            StopEvent::Stopped {
                text: String::new(),
                stop: 0
            }
        );
        assert_eq!(m.stopped(), Some(0));
        assert_eq!(
            m.push("more"),
            StopEvent::Stopped {
                text: String::new(),
                stop: 0
            }
        );
        assert_eq!(m.finish(), "");
    }

    #[test]
    fn a_stop_string_inside_one_piece_cuts_the_piece() {
        let mut m = StopStrings::new(&["STOP"]);
        assert_eq!(
            m.push("abc STOP def"),
            StopEvent::Stopped {
                text: "abc ".to_owned(),
                stop: 0
            }
        );
    }

    #[test]
    fn held_text_before_a_stop_is_returned_with_it() {
        let mut m = StopStrings::new(&["</s>"]);
        assert_eq!(m.push("end<"), go("end"));
        assert_eq!(m.push("/"), go(""));
        assert_eq!(
            m.push("s> tail"),
            StopEvent::Stopped {
                text: String::new(),
                stop: 0
            }
        );
        let mut m = StopStrings::new(&["</s>"]);
        assert_eq!(m.push("x <"), go("x "));
        assert_eq!(m.push("< /s>"), go("<< /s>"));
    }

    #[test]
    fn a_partial_match_that_fails_is_released() {
        let mut m = StopStrings::new(&["\n\nUser:"]);
        assert_eq!(m.push("\n\nUs"), go(""));
        assert_eq!(m.push("ually"), go("\n\nUsually"));
        assert_eq!(m.push("\n"), go(""));
        assert_eq!(m.finish(), "\n");
    }

    #[test]
    fn a_failed_match_can_overlap_a_new_one() {
        let mut m = StopStrings::new(&["aab"]);
        assert_eq!(m.push("aa"), go(""));
        assert_eq!(m.push("a"), go("a"));
        // "aaa" could only end as "a" + "aab": the first "a" was released, the rest stops.
        assert_eq!(
            m.push("b!"),
            StopEvent::Stopped {
                text: String::new(),
                stop: 0
            }
        );
    }

    #[test]
    fn the_earliest_of_several_stop_strings_wins() {
        let mut m = StopStrings::new(&["world", "lo w", "lo"]);
        assert_eq!(
            m.push("hello world"),
            StopEvent::Stopped {
                text: "hel".to_owned(),
                stop: 1
            }
        );
    }

    #[test]
    fn multibyte_text_is_held_and_cut_on_char_boundaries() {
        let mut m = StopStrings::new(&["日本語"]);
        assert_eq!(m.push("東京と日"), go("東京と"));
        assert_eq!(m.push("本"), go(""));
        assert_eq!(m.push("です"), go("日本です"));
        assert_eq!(
            m.push("。日本語。"),
            StopEvent::Stopped {
                text: "。".to_owned(),
                stop: 0
            }
        );
    }

    #[test]
    fn no_stop_strings_release_everything() {
        let mut m = StopStrings::new::<&str>(&[]);
        assert_eq!(m.push("a\n\n"), go("a\n\n"));
        let mut m = StopStrings::new(&[""]);
        assert_eq!(m.push("x"), go("x"));
    }
}
