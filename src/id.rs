//! Identifiers generated in Rust rather than by the database: time-ordered and unguessable.
//!
//! An id is 48 bits of UTC milliseconds followed by 80 random bits, written as 26 characters
//! of Crockford base32 (the ULID layout), so ids sort by creation time in either backend.

const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// Builds an id from the creation instant and 10 random bytes supplied by the caller.
pub fn new_id(unix_ms: i64, random: [u8; 10]) -> String {
    let ms = u128::try_from(unix_ms.clamp(0, (1 << 48) - 1)).unwrap_or_default();
    let mut value = ms << 80;
    for (i, byte) in random.iter().enumerate() {
        value |= u128::from(*byte) << (8 * (9 - i));
    }
    let mut out = [0u8; 26];
    for (i, slot) in out.iter_mut().enumerate() {
        let shift = 5 * (25 - i);
        *slot = ALPHABET[((value >> shift) & 0x1f) as usize];
    }
    out.iter().map(|&b| b as char).collect()
}

/// True when `input` has the shape of an id, so lookups can reject garbage early.
pub fn looks_like_id(input: &str) -> bool {
    input.len() == 26 && input.bytes().all(|b| ALPHABET.contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_creation_time() {
        let earlier = new_id(1_700_000_000_000, [0xff; 10]);
        let later = new_id(1_700_000_000_001, [0; 10]);
        assert!(earlier < later);
        assert_eq!(earlier.len(), 26);
        assert!(looks_like_id(&earlier));
    }

    #[test]
    fn different_random_bytes_give_different_ids() {
        assert_ne!(new_id(5, [1; 10]), new_id(5, [2; 10]));
    }

    #[test]
    fn garbage_does_not_look_like_an_id() {
        assert!(!looks_like_id(""));
        assert!(!looks_like_id("../../etc/passwd"));
        assert!(!looks_like_id(&"u".repeat(26)));
    }
}
