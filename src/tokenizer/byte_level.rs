//! GPT-2's byte-level alphabet: every byte gets a printable character, so byte-level BPE can
//! work on text. Printable Latin-1 bytes (`!`..`~`, `¡`..`¬`, `®`..`ÿ`) stand for themselves;
//! the other 68 bytes (controls, space, DEL, NBSP, soft hyphen) take U+0100.. in byte order
//! (space is `Ġ` U+0120, newline `Ċ` U+010A).

/// Whether byte `b` stands for itself.
const fn is_printable(b: u8) -> bool {
    matches!(b, 0x21..=0x7E | 0xA1..=0xAC | 0xAE..=0xFF)
}

/// The character for each byte.
const BYTE_TO_CHAR: [char; 256] = {
    let mut table = ['\0'; 256];
    let mut next = 0x100u32;
    let mut b = 0;
    while b < 256 {
        table[b] = if is_printable(b as u8) {
            b as u8 as char
        } else {
            let c = next;
            next += 1;
            match char::from_u32(c) {
                Some(c) => c,
                None => '\0',
            }
        };
        b += 1;
    }
    table
};

/// One past the largest character of the alphabet (U+0100 + 68).
const CHAR_LIMIT: usize = 0x144;

/// The byte for each character below `CHAR_LIMIT`, or -1.
const CHAR_TO_BYTE: [i16; CHAR_LIMIT] = {
    let mut table = [-1i16; CHAR_LIMIT];
    let mut b = 0;
    while b < 256 {
        table[BYTE_TO_CHAR[b] as usize] = b as i16;
        b += 1;
    }
    table
};

/// Appends the byte-level spelling of `text` to `out`.
pub(super) fn encode_into(text: &str, out: &mut String) {
    out.extend(text.bytes().map(|b| BYTE_TO_CHAR[b as usize]));
}

/// The byte a character of the alphabet stands for.
pub(super) fn byte_of(c: char) -> Option<u8> {
    match CHAR_TO_BYTE.get(c as usize) {
        Some(&b) if b >= 0 => Some(b as u8),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alphabet_round_trips_every_byte() {
        for b in 0..=255u8 {
            assert_eq!(byte_of(BYTE_TO_CHAR[b as usize]), Some(b));
        }
        assert_eq!(BYTE_TO_CHAR[b' ' as usize], 'Ġ');
        assert_eq!(BYTE_TO_CHAR[b'\n' as usize], 'Ċ');
        assert_eq!(BYTE_TO_CHAR[0xAD], '\u{143}');
        assert_eq!(byte_of('a'), Some(b'a'));
        assert_eq!(byte_of('\u{144}'), None);
        let mut s = String::new();
        encode_into("é ", &mut s);
        assert_eq!(s, "Ã©Ġ");
    }
}
