//! Items of the jobs table <-> [`JobRecord`], one mapping for both targets. An item is a
//! DynamoDB attribute map: the SDK's on the aws target, its JSON form (`{"S": "..."}`) on the
//! local target; both give their string attributes through [`StringAttributes`].

use serde_json::Value;

use super::job::{
    ATTR_ERROR, ATTR_FIRED_AT, ATTR_ID, ATTR_LAST_UPDATED, ATTR_PAYLOAD, ATTR_PROCESS_STATUS,
    ATTR_START_ACTION_AT, JobRecord,
};
use super::payload::Payload;

/// The string (`S`) attributes of a stored item.
pub trait StringAttributes {
    /// The attribute `name` when it is present and a string.
    fn string(&self, name: &str) -> Option<&str>;
    /// The attribute `name` when it is present and a number (`N`), as its text.
    fn number(&self, name: &str) -> Option<&str>;
}

/// The JSON form of an attribute map: `{"Id": {"S": "a"}, ...}`.
impl StringAttributes for serde_json::Map<String, Value> {
    fn string(&self, name: &str) -> Option<&str> {
        self.get(name)?.get("S")?.as_str()
    }
    fn number(&self, name: &str) -> Option<&str> {
        self.get(name)?.get("N")?.as_str()
    }
}

/// A row of the jobs table as a [`JobRecord`]; None for an item without a string Id (it is
/// not a job: the table's key is the Id). A missing StartActionAt or ProcessStatus reads as
/// empty text (a job rejected by the machine's input check has no StartActionAt).
pub fn record_from_item(item: &impl StringAttributes) -> Option<JobRecord> {
    let text = |name: &str| item.string(name).map(str::to_string);
    Some(JobRecord {
        id: text(ATTR_ID)?,
        start_action_at: text(ATTR_START_ACTION_AT).unwrap_or_default(),
        process_status: text(ATTR_PROCESS_STATUS).unwrap_or_default(),
        last_updated: text(ATTR_LAST_UPDATED),
        payload: item.string(ATTR_PAYLOAD).map(Payload::from_stored),
        error: text(ATTR_ERROR),
        delivered_at: text(crate::state_machine::deliver::ATTR_DELIVERED_AT),
        fired_at: text(ATTR_FIRED_AT),
        delivered_to: item
            .string(crate::state_machine::deliver::ATTR_DELIVERED_TO)
            .map(|to| {
                to.split(',')
                    .filter(|t| !t.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default(),
        run: item
            .number(crate::runs::ATTR_RUN)
            .and_then(|n| n.parse().ok()),
    })
}

#[cfg(any(test, feature = "test-support"))]
pub mod table {
    //! The record cases every target's mapping is checked against (see `aws/jobs.rs` and
    //! `local/records.rs`).
    use crate::job::JobRecord;
    use crate::payload::Payload;

    /// The string attributes of a stored item.
    pub(crate) type Attrs = Vec<(&'static str, &'static str)>;

    /// (string attributes of a stored item, the record it maps to).
    pub fn cases() -> Vec<(Attrs, Option<JobRecord>)> {
        let record = |id: &str, at: &str, status: &str| JobRecord {
            id: id.into(),
            start_action_at: at.into(),
            process_status: status.into(),
            last_updated: None,
            payload: None,
            error: None,
            delivered_at: None,
            fired_at: None,
            delivered_to: vec![],
            run: None,
        };
        vec![
            (
                vec![
                    ("Id", "a"),
                    ("StartActionAt", "2030-01-01T00:00:00Z"),
                    ("ProcessStatus", "STARTED"),
                    ("LastUpdated", "2029-12-31T00:00:00.100Z"),
                    ("Payload", r#"{"k":[1]}"#),
                ],
                Some(JobRecord {
                    last_updated: Some("2029-12-31T00:00:00.100Z".into()),
                    payload: Some(Payload::from_stored(r#"{"k":[1]}"#)),
                    ..record("a", "2030-01-01T00:00:00Z", "STARTED")
                }),
            ),
            (
                vec![
                    ("Id", "b"),
                    ("ProcessStatus", "FAILED"),
                    ("Error", "InvalidStartTimestamp"),
                    ("Payload", "not json"),
                ],
                Some(JobRecord {
                    error: Some("InvalidStartTimestamp".into()),
                    payload: Some(Payload::from_stored("not json")),
                    ..record("b", "", "FAILED")
                }),
            ),
            // Numbers as written, byte for byte.
            (
                vec![
                    ("Id", "n"),
                    ("ProcessStatus", "COMPLETED"),
                    ("Payload", r#"{"n": 12345678901234567890123, "f": 1e2}"#),
                ],
                Some(JobRecord {
                    payload: Some(Payload::from_stored(
                        r#"{"n": 12345678901234567890123, "f": 1e2}"#,
                    )),
                    ..record("n", "", "COMPLETED")
                }),
            ),
            (
                vec![("Id", "c"), ("ProcessStatus", "SOMETHING_ELSE")],
                Some(record("c", "", "SOMETHING_ELSE")),
            ),
            // No Id: not a job, on both targets.
            (
                vec![
                    ("StartActionAt", "2030-01-01T00:00:00Z"),
                    ("ProcessStatus", "STARTED"),
                ],
                None,
            ),
            (vec![], None),
        ]
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, json};

    use super::*;

    #[test]
    fn json_attribute_maps_follow_the_table() {
        for (attrs, expected) in table::cases() {
            let item: Map<String, Value> = attrs
                .iter()
                .map(|(k, v)| (k.to_string(), json!({ "S": v })))
                .collect();
            assert_eq!(record_from_item(&item), expected, "{attrs:?}");
        }
    }

    #[test]
    fn non_string_attributes_are_absent() {
        let item: Map<String, Value> =
            serde_json::from_value(json!({"Id": {"N": "1"}, "ProcessStatus": {"S": "STARTED"}}))
                .unwrap();
        assert_eq!(record_from_item(&item), None);
    }
}
