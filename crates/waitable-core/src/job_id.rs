//! The job Id rule: a job's Id is its execution's name, 1 to [`MAX_ID_LEN`] characters from
//! `A-Z a-z 0-9 _ -` (a subset of what Step Functions allows, chosen so an Id is safe in URLs,
//! shells and logs). The API model's pattern and the checks below are the same rule; a test
//! holds them together.

use super::limits::MAX_ID_LEN;

/// The API model's pattern for `Id` (JSON Schema, ECMA 262 regex).
pub const ID_PATTERN: &str = "^[A-Za-z0-9_-]{1,80}$";

/// Whether `id` follows the Id rule.
pub fn is_valid_id(id: &str) -> bool {
    (1..=MAX_ID_LEN).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// An Id that breaks the Id rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid job Id {id:?}: use 1 to {MAX_ID_LEN} letters, digits, '_' or '-'")]
pub struct InvalidId {
    pub id: String,
}

/// [`is_valid_id`], as an error that names the Id.
pub fn validate_id(id: &str) -> Result<(), InvalidId> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(InvalidId { id: id.to_string() })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_says_what_the_check_does() {
        assert!(ID_PATTERN.contains(&format!("{{1,{MAX_ID_LEN}}}")));
        let re = regex::Regex::new(ID_PATTERN).unwrap();
        let long = "a".repeat(80);
        let too_long = "a".repeat(81);
        for id in [
            "a",
            "job-1",
            "A_b-9",
            &long,
            "",
            "has space",
            "slash/",
            "dot.",
            "é",
            "a:b",
            "{x}",
            &too_long,
            "-abc",
            "a\n",
        ] {
            assert_eq!(is_valid_id(id), re.is_match(id), "{id:?}");
            assert_eq!(validate_id(id).is_ok(), is_valid_id(id), "{id:?}");
        }
    }
}
