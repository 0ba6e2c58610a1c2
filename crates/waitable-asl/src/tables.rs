//! A throw-away in-memory table store for `waitable local exec`: the same DynamoDB semantics as
//! the engine's SQLite table ([`crate::ddb`]), for any number of named tables.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::run::{Fault, Tasks};
use crate::ddb::{self, Item, Op};

/// One table: its partition-key attribute and its items by key.
#[derive(Debug, Default)]
struct Table {
    key: String,
    items: BTreeMap<String, Item>,
}

/// Named tables that live as long as the value; any other name is `ResourceNotFoundException`.
#[derive(Debug, Default)]
pub struct MemoryTables {
    tables: HashMap<String, Table>,
}

impl MemoryTables {
    /// Adds an empty table `name` whose partition key is the attribute `key`.
    pub fn create(&mut self, name: &str, key: &str) {
        self.tables.insert(
            name.to_string(),
            Table {
                key: key.to_string(),
                items: BTreeMap::new(),
            },
        );
    }

    /// The item stored under `key` in `table`, if any.
    #[cfg(test)]
    pub fn item(&self, table: &str, key: &str) -> Option<&Item> {
        self.tables.get(table)?.items.get(key)
    }
}

fn to_fault(e: ddb::DdbError) -> Fault {
    Fault::task(&e.states_error(), e.message)
}

impl Tasks for MemoryTables {
    fn call(&mut self, op: &Op, params: &Value) -> Result<Value, Fault> {
        ddb::check_request(op, params).map_err(to_fault)?;
        let name = params.get("TableName").and_then(Value::as_str);
        let Some(table) = name.and_then(|n| self.tables.get_mut(n)) else {
            return Err(to_fault(ddb::table_not_found(name.unwrap_or_default())));
        };
        let key = ddb::target_key(*op, params, &table.key).map_err(to_fault)?;
        let (write, result) =
            ddb::apply(*op, params, &table.key, table.items.get(&key)).map_err(to_fault)?;
        match write {
            Some(ddb::Write::Put(k, item)) => {
                table.items.insert(k, item);
            }
            Some(ddb::Write::Delete(k)) => {
                table.items.remove(&k);
            }
            None => {}
        }
        Ok(result)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn named_tables_store_items_and_others_are_not_found() {
        let mut t = MemoryTables::default();
        t.create("jobs", "id");
        let put = json!({"TableName": "jobs", "Item": {"id": {"S": "a"}, "n": {"N": "1"}}});
        assert_eq!(t.call(&Op::PutItem, &put).unwrap(), json!({}));
        assert_eq!(t.item("jobs", "a").unwrap()["n"], json!({"N": "1"}));
        let get = json!({"TableName": "jobs", "Key": {"id": {"S": "a"}}});
        assert_eq!(
            t.call(&Op::GetItem, &get).unwrap()["Item"]["n"],
            json!({"N": "1"})
        );
        let other = json!({"TableName": "nope", "Key": {"id": {"S": "a"}}});
        let err = t.call(&Op::GetItem, &other).unwrap_err();
        assert_eq!(err.error, "DynamoDB.ResourceNotFoundException");
        assert!(err.from_task);
    }

    #[test]
    fn malformed_requests_are_refused_before_the_table_is_looked_up() {
        let mut t = MemoryTables::default();
        let cases = [
            (
                json!({"TableName": "/bad", "Item": {"id": {"S": "a"}}}),
                "tableName",
            ),
            (
                json!({"TableName": "ab", "Item": {"id": {"S": "a"}}}),
                "tableName",
            ),
            (json!({"TableName": "missing", "Item": null}), "'item'"),
            (json!({"Item": {"id": {"S": "a"}}}), "'tableName'"),
        ];
        for (params, what) in cases {
            let err = t.call(&Op::PutItem, &params).unwrap_err();
            assert_eq!(err.error, "DynamoDB.AmazonDynamoDBException", "{params}");
            assert!(err.cause.contains(what), "{}", err.cause);
        }
        let err = t
            .call(
                &Op::GetItem,
                &json!({"TableName": "missing", "Key": {"id": {"S": "a"}}}),
            )
            .unwrap_err();
        assert_eq!(err.error, "DynamoDB.ResourceNotFoundException");
    }
}
