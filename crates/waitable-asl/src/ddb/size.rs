//! DynamoDB's size limits on a write (DynamoDB quotas): an item at most 400 KB, a partition
//! key value at most 2,048 bytes, a sort key value (an index's too) at most 1,024 bytes. An
//! item's size is its attribute names' UTF-8 bytes plus its values' sizes, as DynamoDB counts
//! them ("Item sizes and formats").

use serde_json::Value;

use super::DdbError;
use super::value::Item;

/// The largest item: 400 KB.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;
pub const MAX_PARTITION_KEY_BYTES: usize = 2048;
pub const MAX_SORT_KEY_BYTES: usize = 1024;

/// The size DynamoDB counts for `item`.
pub fn item_size(item: &Item) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn value_size(v: &Value) -> usize {
    let Some((kind, inner)) = v.as_object().and_then(|o| o.iter().next()) else {
        return 0;
    };
    match (kind.as_str(), inner) {
        ("S", Value::String(s)) => s.len(),
        // Numbers: about one byte per two significant digits, plus one.
        ("N", Value::String(n)) => n.trim_start_matches(['-', '0', '.']).len().div_ceil(2) + 1,
        // Binary travels as base64: its bytes are three quarters of the text.
        ("B", Value::String(b)) => b.len() * 3 / 4,
        ("BOOL" | "NULL", _) => 1,
        ("SS" | "NS" | "BS", Value::Array(items)) => {
            items.iter().map(|s| s.as_str().map_or(0, str::len)).sum()
        }
        ("L", Value::Array(items)) => 3 + items.iter().map(|v| 1 + value_size(v)).sum::<usize>(),
        ("M", Value::Object(m)) => {
            3 + m
                .iter()
                .map(|(k, v)| 1 + k.len() + value_size(v))
                .sum::<usize>()
        }
        _ => 0,
    }
}

/// Refuses a write DynamoDB would refuse for its size: the item, its partition key
/// `hash_key` and its sort keys `sort_keys` (an index's), with DynamoDB's message.
pub fn check_write(item: &Item, hash_key: &str, sort_keys: &[&str]) -> Result<(), DdbError> {
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(DdbError::validation(format!(
            "Item size has exceeded the maximum allowed size ({size} bytes, at most {MAX_ITEM_BYTES})"
        )));
    }
    let key_len = |attr: &str| item.get(attr).map_or(0, value_size);
    if key_len(hash_key) > MAX_PARTITION_KEY_BYTES {
        return Err(DdbError::validation(format!(
            "One or more parameter values were invalid: Size of hashkey has exceeded the maximum size limit of {MAX_PARTITION_KEY_BYTES} bytes"
        )));
    }
    if let Some(attr) = sort_keys.iter().find(|a| key_len(a) > MAX_SORT_KEY_BYTES) {
        return Err(DdbError::validation(format!(
            "One or more parameter values were invalid: Aggregated size of all range keys has exceeded the size limit of {MAX_SORT_KEY_BYTES} bytes ({attr})"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn item(v: Value) -> Item {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn items_and_keys_over_dynamodbs_limits_are_refused() {
        let fits =
            item(json!({ "Id": { "S": "a" }, "P": { "S": "x".repeat(MAX_ITEM_BYTES - 4) } }));
        assert_eq!(item_size(&fits), MAX_ITEM_BYTES);
        assert!(check_write(&fits, "Id", &[]).is_ok());
        let over = item(json!({ "Id": { "S": "a" }, "P": { "S": "x".repeat(MAX_ITEM_BYTES) } }));
        let e = check_write(&over, "Id", &[]).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(
            e.message.contains("Item size has exceeded"),
            "{}",
            e.message
        );
        let long_key = item(json!({ "Id": { "S": "k".repeat(2049) } }));
        assert!(check_write(&long_key, "Id", &[]).is_err());
        let long_sort = item(json!({ "Id": { "S": "a" }, "At": { "S": "t".repeat(1025) } }));
        assert!(check_write(&long_sort, "Id", &["At"]).is_err());
        assert!(check_write(&long_sort, "Id", &[]).is_ok());
        let nested =
            item(json!({ "M": { "M": { "ab": { "L": [{ "S": "xyz" }, { "BOOL": true }] } } } }));
        // "M" 1 + map 3 + (1 + "ab" 2 + list 3 + (1 + 3) + (1 + 1)).
        assert_eq!(item_size(&nested), 1 + 3 + 1 + 2 + 3 + 4 + 2);
    }
}
