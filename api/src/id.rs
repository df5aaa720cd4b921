//! Object ids: 32 lowercase hex characters (16 random bytes), as heketi makes them.

/// A fresh random id.
pub fn new_id() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

/// True for exactly 32 hex characters: the `uuid` rule of heketi's request validation.
pub fn is_valid_id(s: &str) -> bool {
    s.len() == 32 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_ids_are_32_lowercase_hex_and_distinct() {
        let a = new_id();
        let b = new_id();
        assert_eq!(a.len(), 32);
        assert!(a
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)));
        assert_ne!(a, b);
        assert!(is_valid_id(&a));
    }

    #[test]
    fn validity() {
        assert!(!is_valid_id("12ab"));
        assert!(!is_valid_id(&"g".repeat(32)));
        assert!(is_valid_id(&"A".repeat(32)));
    }
}
