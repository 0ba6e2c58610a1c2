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
