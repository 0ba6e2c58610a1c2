//! Page tokens of GET /status, the same on both targets: base64url without padding
//! (RFC 4648 §5) of the last Id. Only `A-Z a-z 0-9 - _`, so a client that percent-encodes
//! query values, or one that doesn't, sends it back unchanged. The API's VTL builds and reads
//! the same form (`core::api::status_*_template`).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

/// The token for a page that ends at `last_id`.
pub fn encode(last_id: &str) -> String {
    URL_SAFE_NO_PAD.encode(last_id.as_bytes())
}

/// The Id a token stands for; `None` for anything [`encode`] cannot have produced.
pub fn decode(token: &str) -> Option<String> {
    let bytes = URL_SAFE_NO_PAD.decode(token.as_bytes()).ok()?;
    String::from_utf8(bytes).ok().filter(|id| !id.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_uses_only_unreserved_characters() {
        for id in ["a", "ab", "abc", "job-1_x", "é 中文 😀", "?>>?~~", "\u{0}"] {
            let token = encode(id);
            assert!(
                token
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'),
                "{token}"
            );
            assert_eq!(decode(&token).as_deref(), Some(id));
        }
        // The bytes that standard base64 turns into '+', '/' and '=' padding.
        assert_eq!(encode("?>>"), "Pz4-");
        assert_eq!(encode("??"), "Pz8");
    }

    #[test]
    fn refuses_what_encode_cannot_produce() {
        for bad in ["", "a", "Pz4+", "Pz8=", "%3D", "not base64!", "_w"] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }
}
