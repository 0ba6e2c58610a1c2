//! The `limit` query parameter of GET /status: absent or empty means [`DEFAULT_PAGE_SIZE`];
//! otherwise a whole number from 1 to [`MAX_PAGE_SIZE`] written plainly (digits only, no
//! leading zero). The deployed API checks it with the regex [`pattern`] in its mapping
//! template, the local engine with [`parse`]; both come from the two numbers here.

use crate::limits::{DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE};

// The pattern below spells 1..=MAX_PAGE_SIZE as "1 to N-1 digits, or MAX_PAGE_SIZE itself",
// which holds for a power of ten only.
const _: () = assert!(is_power_of_ten(MAX_PAGE_SIZE));

const fn is_power_of_ten(mut n: u32) -> bool {
    while n >= 10 && n.is_multiple_of(10) {
        n /= 10;
    }
    n == 1
}

/// A `limit` outside the grammar.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("limit must be a whole number from 1 to {MAX_PAGE_SIZE}, not {text:?}")]
pub struct InvalidLimit {
    pub text: String,
}

/// The page size a `limit` asks for.
pub fn parse(limit: Option<&str>) -> Result<u32, InvalidLimit> {
    let Some(text) = limit.filter(|l| !l.is_empty()) else {
        return Ok(DEFAULT_PAGE_SIZE);
    };
    let plain = text.bytes().all(|b| b.is_ascii_digit()) && !text.starts_with('0');
    match text.parse::<u32>() {
        Ok(n) if plain && (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(InvalidLimit { text: text.into() }),
    }
}

/// The same grammar as a regex (Java's, in the VTL's `String.matches`): `^([1-9][0-9]{0,2}|1000)$`
/// for a maximum of 1000.
pub fn pattern() -> String {
    let digits = MAX_PAGE_SIZE.ilog10();
    format!("^([1-9][0-9]{{0,{}}}|{MAX_PAGE_SIZE})$", digits - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pattern_and_the_check_agree() {
        assert_eq!(pattern(), "^([1-9][0-9]{0,2}|1000)$");
        let re = regex::Regex::new(&pattern()).unwrap();
        for text in [
            "1",
            "9",
            "10",
            "99",
            "100",
            "999",
            "1000",
            "0",
            "-1",
            "1001",
            "abc",
            "01",
            "+5",
            " 5",
            "5 ",
            "1e2",
            "99999999999",
            "10000",
            "٣",
        ] {
            assert_eq!(parse(Some(text)).is_ok(), re.is_match(text), "{text:?}");
        }
        assert_eq!(parse(None), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(parse(Some("")), Ok(DEFAULT_PAGE_SIZE));
        assert_eq!(parse(Some("1000")), Ok(1000));
    }
}
