//! The jobs contract's limits, as named numbers in one place. Both targets, the CLI and the
//! API templates' generator read them from here.

/// Step Functions refuses an execution input over 256 KiB (UTF-8 bytes of the input JSON).
pub const MAX_INPUT_BYTES: usize = 256 * 1024;
/// Longest job Id: Step Functions' execution names are at most 80 characters.
pub const MAX_ID_LEN: usize = 80;
/// Default page size of GET /status.
pub const DEFAULT_PAGE_SIZE: u32 = 100;
/// Largest page size of GET /status.
pub const MAX_PAGE_SIZE: u32 = 1000;
/// Deepest nesting of arrays and objects in a payload (`{}` is 1). Every response that carries
/// a payload wraps it in at most [`PAYLOAD_WRAP_DEPTH`] more levels, and serde_json (the CLI's
/// reader) stops at 128: so any accepted payload always reads back.
pub const MAX_PAYLOAD_DEPTH: usize = 64;
/// The most levels a response adds around a payload (`{"items": [{"Payload": ...}]}`).
pub const PAYLOAD_WRAP_DEPTH: usize = 3;
/// serde_json's recursion limit when reading JSON.
pub const JSON_READER_DEPTH: usize = 128;
const _: () = assert!(MAX_PAYLOAD_DEPTH + PAYLOAD_WRAP_DEPTH < JSON_READER_DEPTH);
