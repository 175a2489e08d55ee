//! Spreadsheets (`.xlsx`, `.xls`, `.ods`): one sheet, read once per run
//! however many passes a command makes (the run's [`ParsedSheet`] holds
//! it, and goes with the run: no process keeps sheets it is done with),
//! with its header found below any title rows, dates as ISO-8601 and
//! whole numbers without `.0`.
//!
//! Reading is linear: rows are taken by index from the parsed range
//! (calamine's row iterator has no fast `nth`).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use calamine::{Data, Range, Reader};

use super::columns::{Column, column_for};
use super::mapping::filter::civil_from_days;
use crate::model::Field;

/// A sheet, parsed, with where its header is.
pub struct Sheet {
    range: Range<Data>,
    /// The row index (within the range) of the header.
    pub header_index: usize,
    /// The sheet row number of range index 0.
    pub first_line: u64,
    pub header: Vec<String>,
    /// Warnings about the sheet (identifier columns stored as numbers).
    pub notes: Vec<String>,
}

impl Sheet {
    /// How many rows the range holds (header and title rows included).
    pub fn height(&self) -> usize {
        self.range.height()
    }

    /// The cells of range row `index`, as text.
    pub fn row(&self, index: usize) -> Vec<String> {
        let width = self.range.width();
        (0..width)
            .map(|column| {
                self.range
                    .get((index, column))
                    .map(cell_text)
                    .unwrap_or_default()
            })
            .collect()
    }
}

/// What a sheet was read as: (file, sheet asked for, header row asked
/// for, modified time, length). A file changed between passes is read
/// again (and then fails the run's checks, as a changed CSV would).
type Key = (
    PathBuf,
    Option<String>,
    Option<u32>,
    Option<std::time::SystemTime>,
    u64,
);

/// The sheet one run has read, shared by its passes (every clone of the
/// run's read options holds the same one) and dropped with them.
#[derive(Clone, Default)]
pub struct ParsedSheet(Arc<Mutex<Option<ReadAs>>>);

/// A sheet and what it was read as.
type ReadAs = (Key, Arc<Sheet>);

impl std::fmt::Debug for ParsedSheet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let held = self.0.lock().map(|held| held.is_some()).unwrap_or(false);
        f.debug_tuple("ParsedSheet").field(&held).finish()
    }
}

/// Opens sheet `wanted` (else the first) of `path`, reading it only the
/// first time in a run (`parsed`). `header_row` (from 1) overrides the
/// header search.
pub fn open(
    path: &Path,
    (wanted, header_row): (Option<&str>, Option<u32>),
    parsed: &ParsedSheet,
) -> Result<Arc<Sheet>, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    let key: Key = (
        path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        wanted.map(str::to_lowercase),
        header_row,
        meta.modified().ok(),
        meta.len(),
    );
    let mut held = parsed
        .0
        .lock()
        .map_err(|_| "the sheet could not be read".to_string())?;
    if let Some((read_as, sheet)) = held.as_ref()
        && *read_as == key
    {
        return Ok(sheet.clone());
    }
    let sheet = Arc::new(read(path, wanted, header_row)?);
    *held = Some((key, sheet.clone()));
    Ok(sheet)
}

fn read(path: &Path, wanted: Option<&str>, header_row: Option<u32>) -> Result<Sheet, String> {
    let mut workbook = calamine::open_workbook_auto(path).map_err(|e| e.to_string())?;
    let names = workbook.sheet_names();
    let name = match wanted {
        Some(wanted) => names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(wanted))
            .cloned()
            .ok_or_else(|| {
                format!(
                    "there is no sheet '{wanted}' (sheets: {})",
                    names.join(", ")
                )
            })?,
        None => names.first().cloned().ok_or("it has no sheets")?,
    };
    let range = workbook.worksheet_range(&name).map_err(|e| e.to_string())?;
    if range.is_empty() {
        return Err("the sheet is empty: it needs a header row".to_string());
    }
    let first_line = range.start().map_or(1, |(row, _)| u64::from(row) + 1);
    let header_index = match header_row {
        Some(row) => {
            let index = (u64::from(row.max(1))).saturating_sub(first_line) as usize;
            if index >= range.height() {
                return Err(format!("there is no row {row} in sheet '{name}'"));
            }
            index
        }
        None => find_header(&range),
    };
    let mut sheet = Sheet {
        range,
        header_index,
        first_line,
        header: Vec::new(),
        notes: Vec::new(),
    };
    sheet.header = sheet.row(header_index);
    sheet.notes = numeric_identifiers(&sheet);
    Ok(sheet)
}

/// Rows looked at for the header.
const HEADER_SEARCH: usize = 30;

/// The header is the first row with at least two cells and at least half
/// as many as the fullest row near the top: title rows above it ("Employee
/// report", "Run on 2026-11-29") hold one cell each.
fn find_header(range: &Range<Data>) -> usize {
    let filled = |index: usize| {
        (0..range.width())
            .filter(|c| {
                range
                    .get((index, *c))
                    .is_some_and(|d| !d.to_string().trim().is_empty())
            })
            .count()
    };
    let rows = range.height().min(HEADER_SEARCH);
    let counts: Vec<usize> = (0..rows).map(filled).collect();
    let fullest = counts.iter().copied().max().unwrap_or(0);
    counts
        .iter()
        .position(|&count| count >= 2 && count * 2 >= fullest)
        .unwrap_or(0)
}

/// Identifier columns (employee numbers, phones, postal codes) some of
/// whose cells are numbers: a leading zero may already be gone.
fn numeric_identifiers(sheet: &Sheet) -> Vec<String> {
    const IDENTIFIERS: [Field; 6] = [
        Field::EmployeeNumber,
        Field::Phone,
        Field::Mobile,
        Field::Fax,
        Field::PostalCode,
        Field::PoBox,
    ];
    sheet
        .header
        .iter()
        .enumerate()
        .filter(|(_, name)| matches!(column_for(name), Some(Column::Text(f)) if IDENTIFIERS.contains(&f)))
        .filter_map(|(column, name)| {
            let numbers = (sheet.header_index + 1..sheet.height())
                .filter(|row| matches!(sheet.range.get((*row, column)), Some(Data::Int(_) | Data::Float(_))))
                .count();
            (numbers > 0).then(|| {
                format!(
                    "column '{name}' has {numbers} cells stored as numbers: a leading zero (0123) may already have been lost in the spreadsheet; store the column as text"
                )
            })
        })
        .collect()
}

/// A cell as text: whole numbers without `.0`, dates as ISO-8601.
pub fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::DateTime(date) if !date.is_duration() => excel_date(date.as_f64()),
        Data::DateTimeIso(text) => text.clone(),
        other => other.to_string(),
    }
}

/// An Excel serial date (days since 1899-12-30, the fraction the time) as
/// `2026-11-29`, or `2026-11-29T09:30:00` when it has a time.
fn excel_date(serial: f64) -> String {
    let days = serial.floor() as i64;
    let seconds = ((serial - serial.floor()) * 86_400.0).round() as i64;
    // 1899-12-30 is 25,569 days before 1970-01-01.
    let (year, month, day) = civil_from_days(days - 25_569);
    if seconds == 0 {
        format!("{year:04}-{month:02}-{day:02}")
    } else {
        format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            seconds / 3600,
            seconds / 60 % 60,
            seconds % 60
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excel_dates_become_iso() {
        assert_eq!(excel_date(46_355.0), "2026-11-29");
        assert_eq!(excel_date(46_355.5), "2026-11-29T12:00:00");
        assert_eq!(excel_date(25_569.0), "1970-01-01");
    }

    #[test]
    fn the_header_is_found_below_title_rows() {
        let mut range = Range::new((0, 0), (5, 3));
        range.set_value((0, 0), Data::String("Employee report".into()));
        range.set_value((1, 0), Data::String("Run 2026-11-29".into()));
        for (c, name) in ["username", "email", "First Name", "Employee ID"]
            .iter()
            .enumerate()
        {
            range.set_value((3, c as u32), Data::String(name.to_string()));
        }
        range.set_value((4, 0), Data::String("ana".into()));
        range.set_value((4, 3), Data::Float(123.0));
        assert_eq!(find_header(&range), 3);
        let sheet = Sheet {
            header: Vec::new(),
            notes: Vec::new(),
            header_index: 3,
            first_line: 1,
            range,
        };
        let header = sheet.row(3);
        let sheet = Sheet { header, ..sheet };
        let notes = numeric_identifiers(&sheet);
        assert_eq!(notes.len(), 1, "{notes:?}");
        assert!(notes[0].contains("Employee ID"));
        assert_eq!(sheet.row(4), ["ana", "", "", "123"]);
    }
}
