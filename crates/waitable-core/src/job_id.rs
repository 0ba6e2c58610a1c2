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

/// An Id a user may not submit: against the rule, or with the canary's reserved prefix.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvalidUserId {
    #[error(transparent)]
    Rule(#[from] InvalidId),
    #[error(
        "invalid job Id {0:?}: the prefix {CANARY_PREFIX:?} is reserved for `waitable check --canary`"
    )]
    Reserved(String),
}

/// [`is_valid_id`], as an error that names the Id.
pub fn validate_id(id: &str) -> Result<(), InvalidId> {
    if is_valid_id(id) {
        Ok(())
    } else {
        Err(InvalidId { id: id.to_string() })
    }
}

/// The Id prefix reserved for `check --canary`'s job: a submit refuses it, so a canary's row
/// is never mistaken for a user's job (and no user job is taken for a canary).
pub const CANARY_PREFIX: &str = "waitable-canary-";

/// [`validate_id`] for an Id a user submits: the canary's prefix is refused too.
pub fn validate_user_id(id: &str) -> Result<(), InvalidUserId> {
    validate_id(id)?;
    if id.starts_with(CANARY_PREFIX) {
        return Err(InvalidUserId::Reserved(id.to_string()));
    }
    Ok(())
}

/// A canary's Id: the prefix, the time it was made (`YYYYMMDDTHHMMSSZ`) and `nonce`.
pub fn canary_id(now: chrono::DateTime<chrono::Utc>, nonce: &str) -> String {
    format!("{CANARY_PREFIX}{}-{nonce}", now.format("%Y%m%dT%H%M%SZ"))
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

    #[test]
    fn the_canary_prefix_is_reserved_and_canary_ids_are_valid_ids() {
        let now = chrono::DateTime::parse_from_rfc3339("2030-01-02T03:04:05Z")
            .unwrap()
            .to_utc();
        let id = canary_id(now, "a1b2");
        assert_eq!(id, "waitable-canary-20300102T030405Z-a1b2");
        assert!(validate_id(&id).is_ok());
        let err = validate_user_id(&id).unwrap_err();
        assert!(
            err.to_string()
                .contains("reserved for `waitable check --canary`"),
            "{err}"
        );
        assert!(validate_user_id("waitable-canary").is_ok());
        assert!(validate_user_id("bad id").is_err());
    }
}
