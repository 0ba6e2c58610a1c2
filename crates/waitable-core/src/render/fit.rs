//! The status table fitted to the terminal's width: the Id and the times never wrap; the error
//! column is cut first, then LastUpdated gives way.

use comfy_table::{Cell, Table};

use super::{Style, new_table, printable, status_color, time_cell};
use crate::job::JobRecord;

/// `text` cut to `width` characters, the cut marked with `…`.
fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        return text.to_string();
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The table of `jobs` (a non-empty page), without the summary. On a terminal of
/// `style.width` columns the Id and the times never wrap: the error column is cut to what is
/// left: when under 12 characters, LastUpdated goes first; under 8, the error column goes.
pub(crate) fn table_of(jobs: &[JobRecord], style: &Style) -> Table {
    let with_errors = jobs.iter().any(|j| j.error.is_some());
    let cells: Vec<[String; 5]> = jobs
        .iter()
        .map(|job| {
            [
                printable(&job.id).into_owned(),
                time_cell(&job.start_action_at, style, true),
                printable(&super::shown_status(job)).into_owned(),
                time_cell(job.last_updated.as_deref().unwrap_or(""), style, false),
                printable(job.error.as_deref().unwrap_or("")).into_owned(),
            ]
        })
        .collect();
    let headers = [
        "Id",
        "StartActionAt",
        "ProcessStatus",
        "LastUpdated",
        "Error",
    ];
    let widest = |i: usize| {
        cells
            .iter()
            .map(|c| c[i].chars().count())
            .chain([headers[i].len()])
            .max()
            .unwrap_or(0)
    };
    // Each column costs its content, one space either side and one border.
    let cost = |cols: &[usize]| cols.iter().map(|&i| widest(i) + 3).sum::<usize>() + 1;
    let mut shown: Vec<usize> = vec![0, 1, 2, 3];
    let mut error_width = with_errors.then(|| widest(4));
    if let Some(width) = style.width.map(usize::from) {
        let error_room = if with_errors { 12 + 3 } else { 0 };
        if cost(&shown) + error_room > width {
            shown.retain(|&i| i != 3);
        }
    }
    if let (Some(width), Some(_)) = (style.width, error_width) {
        let width = usize::from(width);
        // Too narrow even for a cut error: `show ID` has it whole.
        error_width = Some(width.saturating_sub(cost(&shown) + 3)).filter(|w| *w >= 8);
    }
    let mut table = new_table(style);
    let mut header: Vec<&str> = shown.iter().map(|&i| headers[i]).collect();
    if error_width.is_some() {
        header.push("Error");
    }
    table.set_header(header);
    for (job, row_cells) in jobs.iter().zip(cells) {
        let mut row: Vec<Cell> = Vec::new();
        for &i in &shown {
            let mut cell = Cell::new(&row_cells[i]);
            if i == 2
                && let Some(color) = status_color(job.status())
            {
                cell = cell.fg(color);
            }
            row.push(cell);
        }
        if let Some(w) = error_width {
            row.push(Cell::new(truncate(&row_cells[4], w)));
        }
        table.add_row(row);
    }
    table
}
