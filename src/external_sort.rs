//! Sorting more rows than should sit in memory: rows are kept up to a byte budget, then
//! sorted and spilled to an unlinked temporary file; the runs are merged at the end. This is
//! what keeps `status` (JSON and table) at a flat peak memory however big the table is.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

/// Rows (key, value) returned in key order, with about `budget` bytes held at once.
pub struct ExternalSort {
    budget: usize,
    used: usize,
    rows: Vec<(Box<str>, Box<str>)>,
    runs: Vec<BufReader<File>>,
}

/// Bytes one row costs beyond its text (two boxes and the vector slot).
const ROW_OVERHEAD: usize = 64;

impl ExternalSort {
    pub fn new(budget: usize) -> Self {
        ExternalSort {
            budget,
            used: 0,
            rows: Vec::new(),
            runs: Vec::new(),
        }
    }

    pub fn push(&mut self, key: Box<str>, value: Box<str>) -> io::Result<()> {
        self.used += key.len() + value.len() + ROW_OVERHEAD;
        self.rows.push((key, value));
        if self.used > self.budget {
            self.spill()?;
        }
        Ok(())
    }

    /// How many runs went to disk (for tests).
    #[cfg(test)]
    pub fn spilled_runs(&self) -> usize {
        self.runs.len()
    }

    /// Writes the sorted rows as one run: per row, the key's and value's lengths (u32 LE) and
    /// their bytes (any text round-trips, newlines included).
    fn spill(&mut self) -> io::Result<()> {
        self.rows.sort_unstable();
        let mut out = BufWriter::new(tempfile::tempfile()?);
        for (key, value) in self.rows.drain(..) {
            for part in [&key, &value] {
                let len = u32::try_from(part.len())
                    .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "row too large"))?;
                out.write_all(&len.to_le_bytes())?;
                out.write_all(part.as_bytes())?;
            }
        }
        let mut file = out.into_inner().map_err(|e| e.into_error())?;
        file.rewind()?;
        self.runs.push(BufReader::new(file));
        self.rows = Vec::new();
        self.used = 0;
        Ok(())
    }

    /// Calls `each` with every value, in key order (equal keys in no particular order).
    pub fn for_each_sorted(
        mut self,
        mut each: impl FnMut(&str) -> io::Result<()>,
    ) -> io::Result<()> {
        if self.runs.is_empty() {
            self.rows.sort_unstable();
            for (_, value) in &self.rows {
                each(value)?;
            }
            return Ok(());
        }
        self.spill()?;
        let mut heap = BinaryHeap::new();
        for (i, run) in self.runs.iter_mut().enumerate() {
            if let Some((key, value)) = read_row(run)? {
                heap.push(Reverse((key, i, value)));
            }
        }
        while let Some(Reverse((_, i, value))) = heap.pop() {
            each(&value)?;
            if let Some((key, value)) = read_row(&mut self.runs[i])? {
                heap.push(Reverse((key, i, value)));
            }
        }
        Ok(())
    }
}

fn read_part(run: &mut impl Read, first: bool) -> io::Result<Option<String>> {
    let mut len = [0u8; 4];
    match run.read_exact(&mut len) {
        Err(e) if first && e.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        other => other?,
    }
    let mut bytes = vec![0u8; u32::from_le_bytes(len) as usize];
    run.read_exact(&mut bytes)?;
    String::from_utf8(bytes)
        .map(Some)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

fn read_row(run: &mut impl Read) -> io::Result<Option<(String, String)>> {
    let Some(key) = read_part(run, true)? else {
        return Ok(None);
    };
    let value = read_part(run, false)?.expect("a value follows its key");
    Ok(Some((key, value)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(budget: usize, rows: &[(&str, &str)]) -> (Vec<String>, usize) {
        let mut sort = ExternalSort::new(budget);
        for (k, v) in rows {
            sort.push((*k).into(), (*v).into()).unwrap();
        }
        let runs = sort.spilled_runs();
        let mut out = Vec::new();
        sort.for_each_sorted(|v| {
            out.push(v.to_string());
            Ok(())
        })
        .unwrap();
        (out, runs)
    }

    #[test]
    fn small_inputs_stay_in_memory() {
        let (out, runs) = sorted(1 << 20, &[("b", "2"), ("a", "1"), ("c", "3")]);
        assert_eq!(out, ["1", "2", "3"]);
        assert_eq!(runs, 0);
    }

    #[test]
    fn spilled_runs_merge_into_one_order() {
        // Keys in a scrambled order, values that hold newlines and multibyte text.
        let rows: Vec<(String, String)> = (0..1000)
            .map(|i| {
                let k = (i * 7919) % 1000;
                (format!("{k:04}\nkey"), format!("v{k}\n\u{e9}"))
            })
            .collect();
        let refs: Vec<(&str, &str)> = rows.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (out, runs) = sorted(4096, &refs);
        assert!(runs > 10, "the budget forces spills ({runs} runs)");
        let expected: Vec<String> = (0..1000).map(|k| format!("v{k}\n\u{e9}")).collect();
        assert_eq!(out, expected);
    }

    #[test]
    fn empty_is_empty() {
        assert_eq!(sorted(10, &[]).0, Vec::<String>::new());
    }
}
