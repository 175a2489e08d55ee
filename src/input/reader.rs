//! Reads an HR export as a stream of records, one at a time, so memory
//! stays flat whatever the file's size.
//!
//! A UTF-8 or UTF-16 byte-order mark is honoured and dropped; other
//! encodings (Excel's Windows-1252, say) are named with `--encoding`. The
//! delimiter (comma, semicolon or tab) is detected from the header line
//! unless given. A spreadsheet is told by its bytes (a ZIP or OLE
//! signature), whatever its name ends in; footer rows at the end of a
//! report (`Total: 11 starters`, a line of sums, `Generated on …`, `Page 1
//! of 2`) are left out, and said, rather than read as people.

use std::fs::File;
use std::io::{BufReader, Cursor, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use encoding_rs::Encoding;

use super::sniff::{first_bytes, read_prefix, sniff_encoding, spreadsheet_magic};
use encoding_rs_io::DecodeReaderBytesBuilder;

/// How to read the input.
#[derive(Debug, Clone, Default)]
pub struct ReadOptions {
    /// An encoding label (`windows-1252`, `latin1`, `utf-16le`, ...); else UTF-8 or the BOM's.
    pub encoding: Option<String>,
    /// A one-byte delimiter; else detected.
    pub delimiter: Option<u8>,
    /// For spreadsheets: the sheet to read; else the first.
    pub sheet: Option<String>,
    /// The line (CSV) or row (spreadsheet) of the header, from 1; else the
    /// first line (after PowerShell's `#TYPE` line), or in a spreadsheet the
    /// first row that looks like a header below any title rows.
    pub header_row: Option<u32>,
    /// A spreadsheet as this run has read it (its passes share it).
    pub parsed_sheet: super::sheet::ParsedSheet,
}

/// Why the input cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum InputError {
    #[error("cannot open {path}: {source}")]
    Open {
        path: String,
        source: std::io::Error,
    },
    #[error("'{0}' is not an encoding label sebulk knows (try windows-1252, latin1, utf-16le)")]
    UnknownEncoding(String),
    /// The file is not UTF-8 and no code page can be told for it.
    #[error("{0}")]
    Encoding(String),
    #[error("{path}: the file is empty: it needs a header row")]
    Empty { path: String },
    #[error("{path}, line {line}: {message}")]
    Malformed {
        path: String,
        line: u64,
        message: String,
    },
    #[error("cannot read the spreadsheet {path}: {message}")]
    Spreadsheet { path: String, message: String },
    #[error("{path} is {what}, not text: {message}")]
    NotText {
        path: String,
        what: &'static str,
        message: String,
    },
    #[error("{0}")]
    Mapping(String),
}

/// One data row as read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// 1 for the first data row.
    pub row: u64,
    /// The physical line the row starts on (the header is line 1).
    pub line: u64,
    pub cells: Vec<String>,
    /// Why the mapping's filters leave the row out, if they do.
    pub filtered: Option<String>,
    /// (column, value, message) of values the mapping could not use.
    pub mapping_problems: Vec<(String, String, String)>,
    /// With a mapping: the file's own cells, as results repeat them.
    pub source_cells: Option<Vec<String>>,
    /// With a mapping: fields left empty because what they are made
    /// from is empty on this row, (field, what was empty).
    pub empty_sources: Vec<(String, String)>,
}

impl Record {
    /// The cell at `at` as written (trimmed, a formula guard taken off),
    /// if the column exists and the cell is not empty.
    pub fn cell(&self, at: Option<usize>) -> Option<String> {
        at.and_then(|i| self.cells.get(i))
            .map(|c| crate::formats::unneutralize(c.trim()).to_string())
            .filter(|c| !c.is_empty())
    }

    /// Why the row cannot be read by its header, if it cannot: more or
    /// fewer cells than the header has names. Such a row is an error in
    /// every command, never read with its cells shifted.
    pub fn shape_problem(&self, header_width: usize) -> Option<String> {
        (self.cells.len() != header_width).then(|| {
            format!(
                "the row has {} cells; the header has {header_width} (a comma or quote out of place?): not read",
                self.cells.len()
            )
        })
    }
}

/// An open input file: its header, then its records.
pub struct CsvSource {
    /// How the encoding was told, when it was not plain UTF-8 with or
    /// without a byte-order mark (said as a warning on the header).
    pub encoding_note: Option<String>,
    path: String,
    rows: Rows,
    header: Vec<String>,
    next_row: u64,
    /// Lines skipped above the header, added to every line number.
    line_offset: u64,
    /// Rows that may be a footer, held until the end of the file (or a
    /// row that is not one) tells: (line, cells, what it looks like).
    held: std::collections::VecDeque<(u64, Vec<String>, String)>,
    /// How many held rows turned out to be rows after all.
    release: usize,
    /// An error met while rows were held, told after them.
    deferred: Option<InputError>,
    /// Footer rows left out: (line, what it looks like).
    footers: Vec<(u64, String)>,
}

/// Where the records come from.
enum Rows {
    Csv {
        reader: csv::Reader<Box<dyn Read + Send>>,
        record: csv::StringRecord,
        /// How many quote characters the reader has passed.
        quotes: Arc<AtomicUsize>,
        /// A record read ahead (to tell whether a multi-line one was the
        /// last), or the error reading it gave.
        ahead: Option<csv::Result<csv::StringRecord>>,
    },
    /// A spreadsheet's sheet, read whole once per process.
    Sheet {
        sheet: Arc<super::sheet::Sheet>,
        /// The next row index within the sheet's range.
        next: usize,
    },
    /// Nothing (yet).
    Done,
}

/// File endings read as spreadsheets.
const SHEET_ENDINGS: [&str; 5] = ["xlsx", "xlsm", "xlsb", "xls", "ods"];

/// Turns CRLF line ends into LF, so the CSV reader's line numbers are the
/// file's physical lines (it miscounts after CRLF otherwise). A lone CR is
/// kept; a CRLF inside a quoted cell becomes LF.
struct CrLfToLf<R> {
    inner: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    /// A CR was read and not yet known to precede LF.
    held_cr: bool,
    /// Quote characters passed on, counted so an unterminated quote at the
    /// end of the file can be told from a closed one.
    quotes: Arc<AtomicUsize>,
}

impl<R: Read> CrLfToLf<R> {
    fn new(inner: R) -> Self {
        CrLfToLf {
            inner,
            buf: vec![0; 64 * 1024],
            pos: 0,
            len: 0,
            held_cr: false,
            quotes: Arc::default(),
        }
    }
}

impl<R: Read> Read for CrLfToLf<R> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        loop {
            if self.pos == self.len {
                self.len = self.inner.read(&mut self.buf)?;
                self.pos = 0;
                if self.len == 0 {
                    if std::mem::take(&mut self.held_cr) {
                        out[0] = b'\r';
                        return Ok(1);
                    }
                    return Ok(0);
                }
            }
            let mut written = 0;
            while written < out.len() && self.pos < self.len {
                let byte = self.buf[self.pos];
                if std::mem::take(&mut self.held_cr) && byte != b'\n' {
                    out[written] = b'\r';
                    written += 1;
                    continue;
                }
                self.pos += 1;
                if byte == b'\r' {
                    self.held_cr = true;
                } else {
                    if byte == b'"' {
                        self.quotes.fetch_add(1, Ordering::Relaxed);
                    }
                    out[written] = byte;
                    written += 1;
                }
            }
            if written > 0 {
                return Ok(written);
            }
        }
    }
}

/// The encoding `--encoding` names, else the one the first bytes show,
/// with what to tell about a guess.
fn chosen_encoding(
    options: &ReadOptions,
    prefix: &[u8],
) -> Result<(Option<&'static Encoding>, Option<String>), InputError> {
    Ok(match &options.encoding {
        Some(label) => (
            Some(
                Encoding::for_label(label.as_bytes())
                    .ok_or_else(|| InputError::UnknownEncoding(label.clone()))?,
            ),
            None,
        ),
        None => {
            let (encoding, note) = sniff_encoding(prefix);
            if encoding == Some(encoding_rs::WINDOWS_1252)
                && let Some(why) = super::sniff::implausible_as_western(prefix)
            {
                return Err(InputError::Encoding(why));
            }
            (encoding, note)
        }
    })
}

/// Skips the lines above the header: as many as `--header-row` says,
/// PowerShell's `#TYPE Selected.Microsoft...` line from Export-Csv, or
/// report titles found as in spreadsheets. The text from the header on,
/// how many lines were skipped, and what to tell about found titles.
fn past_title_lines<R: Read>(
    mut start: Vec<u8>,
    mut rest: R,
    options: &ReadOptions,
) -> std::io::Result<(Vec<u8>, R, u64, Option<String>)> {
    let mut note = None;
    let skip = match options.header_row {
        Some(row) => u64::from(row.max(1)) - 1,
        None if start.starts_with(b"#TYPE ") => 1,
        None => {
            let (titles, ahead, tail) = title_lines(start, rest, options.delimiter)?;
            (start, rest) = (ahead, tail);
            if titles > 0 {
                note = Some(format!(
                    "the header is on line {}, below {titles} title line(s), which are skipped (--header-row names another)",
                    titles + 1
                ));
            }
            titles
        }
    };
    for _ in 0..skip {
        (start, rest) = skip_line(start, rest)?;
    }
    Ok((start, rest, skip, note))
}

/// Reads until the end of the first line (or 64 KiB), returning those bytes
/// and the reader positioned after them. Decoders hand out small first
/// reads while they sniff a byte-order mark, so one read is not enough.
fn read_first_line<R: Read>(mut reader: R) -> std::io::Result<(Vec<u8>, R)> {
    let mut start = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        start.extend_from_slice(&chunk[..n]);
        if start.contains(&b'\n') || start.len() >= 64 * 1024 {
            break;
        }
    }
    Ok((start, reader))
}

/// Drops the first line of `start` (reading on from `rest` as needed),
/// returning what follows with at least one more line read, if any.
fn skip_line<R: Read>(mut start: Vec<u8>, mut rest: R) -> std::io::Result<(Vec<u8>, R)> {
    loop {
        if let Some(end) = start.iter().position(|b| *b == b'\n') {
            start.drain(..=end);
            if !start.contains(&b'\n') {
                let (more, tail) = read_first_line(rest)?;
                start.extend_from_slice(&more);
                rest = tail;
            }
            return Ok((start, rest));
        }
        let (more, tail) = read_first_line(rest)?;
        rest = tail;
        if more.is_empty() {
            return Ok((Vec::new(), rest));
        }
        start.extend_from_slice(&more);
    }
}

/// Lines looked at for a header below title lines.
const TITLE_SEARCH: usize = 30;

/// How many title lines come before the header, found as in spreadsheets:
/// the header is the first line with at least two cells and at least half
/// as many as the fullest line near the top ("Employee report" and "Run
/// on 2026-11-29" hold one each). Returns the lines read ahead with the
/// rest, nothing consumed.
fn title_lines<R: Read>(
    mut start: Vec<u8>,
    mut rest: R,
    delimiter: Option<u8>,
) -> std::io::Result<(u64, Vec<u8>, R)> {
    while start.iter().filter(|b| **b == b'\n').count() < TITLE_SEARCH && start.len() < 256 * 1024 {
        let (more, tail) = read_first_line(rest)?;
        rest = tail;
        if more.is_empty() {
            break;
        }
        start.extend_from_slice(&more);
    }
    let text = String::from_utf8_lossy(&start);
    let lines: Vec<&str> = text.lines().take(TITLE_SEARCH).collect();
    let cells = |line: &str| -> usize {
        let delimiters: Vec<u8> = match delimiter {
            Some(d) => vec![d],
            None => vec![b',', b';', b'\t', b'|'],
        };
        delimiters
            .into_iter()
            .map(|d| {
                csv::ReaderBuilder::new()
                    .delimiter(d)
                    .has_headers(false)
                    .flexible(true)
                    .from_reader(line.as_bytes())
                    .records()
                    .next()
                    .and_then(Result::ok)
                    .map_or(0, |r| r.iter().filter(|c| !c.trim().is_empty()).count())
            })
            .max()
            .unwrap_or(0)
    };
    // A first line naming a column sebulk knows is the header, whatever
    // the lines below hold (a one-column file of `a;b` values, say).
    let known = lines.first().is_some_and(|first| {
        [b',', b';', b'\t', b'|'].into_iter().any(|d| {
            first
                .split(d as char)
                .any(|name| super::columns::column_for(name.trim().trim_matches('"')).is_some())
        })
    });
    if known {
        return Ok((0, start, rest));
    }
    let counts: Vec<usize> = lines.iter().map(|l| cells(l)).collect();
    let fullest = counts.iter().copied().max().unwrap_or(0);
    let header = counts
        .iter()
        .position(|&count| count >= 2 && count * 2 >= fullest)
        .unwrap_or(0);
    Ok((header as u64, start, rest))
}

/// Picks the delimiter that splits the header line most often.
fn detect_delimiter(start: &[u8]) -> u8 {
    let line = start.split(|b| *b == b'\n').next().unwrap_or(start);
    let mut in_quotes = false;
    let mut counts = [(b',', 0usize), (b';', 0), (b'\t', 0), (b'|', 0)];
    for byte in line {
        if *byte == b'"' {
            in_quotes = !in_quotes;
        } else if !in_quotes {
            for (delimiter, count) in counts.iter_mut() {
                if byte == delimiter {
                    *count += 1;
                }
            }
        }
    }
    counts
        .iter()
        .max_by_key(|(delimiter, count)| (*count, *delimiter == b','))
        .filter(|(_, count)| *count > 0)
        .map_or(b',', |(delimiter, _)| *delimiter)
}

impl CsvSource {
    /// Opens `path` (`-` for standard input).
    pub fn open(path: &Path, options: &ReadOptions) -> Result<Self, InputError> {
        let is_sheet = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| SHEET_ENDINGS.contains(&e.to_ascii_lowercase().as_str()));
        if is_sheet {
            return Self::open_sheet(path, options, None);
        }
        let shown = path.display().to_string();
        if path != Path::new("-")
            && let Some(kind) = spreadsheet_magic(&first_bytes(path))
        {
            let note = format!(
                "{shown} is a spreadsheet (its bytes are {kind}), whatever its name says: read as one"
            );
            return Self::open_sheet(path, options, Some((kind, note)));
        }
        let raw: Box<dyn Read + Send> = if path == Path::new("-") {
            Box::new(std::io::stdin())
        } else {
            Box::new(File::open(path).map_err(|source| InputError::Open {
                path: shown.clone(),
                source,
            })?)
        };
        Self::from_reader(raw, shown, options)
    }

    /// Reads delimited text from `raw`, called `shown` in messages.
    pub fn from_reader(
        raw: Box<dyn Read + Send>,
        shown: String,
        options: &ReadOptions,
    ) -> Result<Self, InputError> {
        let (prefix, raw) = read_prefix(raw).map_err(|source| InputError::Open {
            path: shown.clone(),
            source,
        })?;
        if let Some(kind) = spreadsheet_magic(&prefix) {
            return Err(InputError::NotText {
                path: shown,
                what: kind,
                message: "a spreadsheet is read from a file, not from standard input: save it and name the file".to_string(),
            });
        }
        let (encoding, note) = chosen_encoding(options, &prefix)?;
        let decoded = DecodeReaderBytesBuilder::new()
            .encoding(encoding)
            .bom_override(true)
            .build(Cursor::new(prefix).chain(raw));
        let (start, rest) = read_first_line(decoded).map_err(|source| InputError::Open {
            path: shown.clone(),
            source,
        })?;
        let (start, rest, skip, titles) =
            past_title_lines(start, rest, options).map_err(|source| InputError::Open {
                path: shown.clone(),
                source,
            })?;
        let note = match (note, titles) {
            (Some(before), Some(said)) => Some(format!("{before}; {said}")),
            (before, said) => said.or(before),
        };
        if start.is_empty() {
            return Err(InputError::Empty { path: shown });
        }
        let delimiter = options
            .delimiter
            .unwrap_or_else(|| detect_delimiter(&start));
        let joined = CrLfToLf::new(Cursor::new(start).chain(rest));
        let quotes = joined.quotes.clone();
        let boxed: Box<dyn Read + Send> = Box::new(BufReader::with_capacity(64 * 1024, joined));
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(delimiter)
            .flexible(true)
            .has_headers(true)
            .from_reader(boxed);
        let header = reader
            .headers()
            .map_err(|err| malformed(&shown, &err, skip))?
            .iter()
            .map(str::to_string)
            .collect();
        Ok(CsvSource {
            rows: Rows::Csv {
                reader,
                record: csv::StringRecord::new(),
                quotes,
                ahead: None,
            },
            header,
            ..CsvSource::new(shown, note, skip)
        })
    }

    /// Opens a spreadsheet's sheet (`options.sheet`, else the first);
    /// `sniffed` when its bytes said so and its name did not.
    fn open_sheet(
        path: &Path,
        options: &ReadOptions,
        sniffed: Option<(&'static str, String)>,
    ) -> Result<Self, InputError> {
        let shown = path.display().to_string();
        let asked = (options.sheet.as_deref(), options.header_row);
        let sheet = super::sheet::open(path, asked, &options.parsed_sheet)
            .map_err(|message| match &sniffed {
                Some((kind, _)) => InputError::NotText {
                    path: shown.clone(),
                    what: kind,
                    message: format!(
                        "it is not a spreadsheet sebulk can read either ({message}); save it as .xlsx or CSV"
                    ),
                },
                None => InputError::Spreadsheet {
                    path: shown.clone(),
                    message,
                },
            })?;
        let mut notes: Vec<String> = sniffed.map(|(_, note)| note).into_iter().collect();
        notes.extend(sheet.notes.iter().cloned());
        let note = (!notes.is_empty()).then(|| notes.join("; "));
        Ok(CsvSource {
            header: sheet.header.clone(),
            rows: Rows::Sheet {
                next: sheet.header_index + 1,
                sheet,
            },
            ..CsvSource::new(shown, note, 0)
        })
    }

    /// A source with no rows yet, for the constructors to fill.
    fn new(path: String, note: Option<String>, line_offset: u64) -> Self {
        CsvSource {
            encoding_note: note,
            path,
            rows: Rows::Done,
            header: Vec::new(),
            next_row: 1,
            line_offset,
            held: std::collections::VecDeque::new(),
            release: 0,
            deferred: None,
            footers: Vec::new(),
        }
    }

    /// Footer rows left out so far: (line, what it looks like). Complete
    /// once [`Self::next_record`] has returned `None`.
    pub fn footers(&self) -> &[(u64, String)] {
        &self.footers
    }

    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The next data row, skipping rows whose cells are all empty and
    /// the footer rows at the end of the file.
    pub fn next_record(&mut self) -> Option<Result<Record, InputError>> {
        loop {
            if self.release > 0
                && let Some((line, cells, _)) = self.held.pop_front()
            {
                self.release -= 1;
                return Some(Ok(self.numbered(line, cells)));
            }
            if let Some(err) = self.deferred.take() {
                return Some(Err(err));
            }
            match self.next_cells() {
                None => {
                    // The end: what was held is the file's footer.
                    let footers = self.held.drain(..).map(|(line, _, what)| (line, what));
                    self.footers.extend(footers);
                    return None;
                }
                Some(Err(err)) if self.held.is_empty() => return Some(Err(err)),
                Some(Err(err)) => {
                    self.deferred = Some(err);
                    self.release = self.held.len();
                }
                Some(Ok((line, cells))) => {
                    let footer = (self.held.len() < MAX_FOOTER_ROWS)
                        .then(|| super::footer::footer(&cells, &self.header))
                        .flatten();
                    match footer {
                        Some(what) => self.held.push_back((line, cells, what)),
                        None if self.held.is_empty() => {
                            return Some(Ok(self.numbered(line, cells)));
                        }
                        None => {
                            // Rows follow: what was held was no footer.
                            self.held.push_back((line, cells, String::new()));
                            self.release = self.held.len();
                        }
                    }
                }
            }
        }
    }

    /// A data row, given the next row number.
    fn numbered(&mut self, line: u64, cells: Vec<String>) -> Record {
        let row = self.next_row;
        self.next_row += 1;
        Record {
            row,
            line,
            cells,
            filtered: None,
            mapping_problems: Vec::new(),
            source_cells: None,
            empty_sources: Vec::new(),
        }
    }

    /// The next row's line and cells, skipping rows whose cells are all empty.
    fn next_cells(&mut self) -> Option<Result<(u64, Vec<String>), InputError>> {
        loop {
            let (line, cells) = match &mut self.rows {
                Rows::Csv {
                    reader,
                    record,
                    quotes,
                    ahead,
                } => match next_csv(reader, record, ahead) {
                    Ok(false) => return None,
                    Ok(true) => {
                        let line = record.position().map_or(0, |p| p.line()) + self.line_offset;
                        if let Some(message) = runaway(reader, record, quotes, ahead) {
                            return Some(Err(InputError::Malformed {
                                path: self.path.clone(),
                                line,
                                message,
                            }));
                        }
                        (line, record.iter().map(str::to_string).collect::<Vec<_>>())
                    }
                    Err(err) => return Some(Err(malformed(&self.path, &err, self.line_offset))),
                },
                Rows::Sheet { sheet, next } => {
                    if *next >= sheet.height() {
                        return None;
                    }
                    let cells = sheet.row(*next);
                    let line = sheet.first_line + *next as u64;
                    *next += 1;
                    (line, cells)
                }
                Rows::Done => return None,
            };
            if !cells.iter().all(|cell| cell.trim().is_empty()) {
                return Some(Ok((line, cells)));
            }
        }
    }
}

/// Footer rows at most: more rows that look like one are read as rows.
const MAX_FOOTER_ROWS: usize = 6;

/// The next record: the one read ahead, if any, else the reader's.
fn next_csv<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &mut csv::StringRecord,
    ahead: &mut Option<csv::Result<csv::StringRecord>>,
) -> csv::Result<bool> {
    match ahead.take() {
        Some(Ok(next)) => {
            *record = next;
            Ok(true)
        }
        Some(Err(err)) => Err(err),
        None => reader.read_record(record),
    }
}

/// Lines one record may span before it is taken for a quote never closed.
const MAX_RECORD_LINES: u64 = 50;
/// A cell this long is no field's value: a quote swallowed the file.
const MAX_CELL_BYTES: usize = 32 * 1024;

/// Why `record` looks like a quote that was never closed, swallowing the
/// rows after it: it spans too many lines, holds a cell far longer than
/// any field allows, or runs into the end of the file with a quote open.
fn runaway<R: Read>(
    reader: &mut csv::Reader<R>,
    record: &csv::StringRecord,
    quotes: &AtomicUsize,
    ahead: &mut Option<csv::Result<csv::StringRecord>>,
) -> Option<String> {
    let start = record.position().map_or(0, |p| p.line());
    let end = match ahead {
        Some(Ok(next)) => next.position().map_or(0, |p| p.line()),
        _ => reader.position().line(),
    };
    let spans = end.saturating_sub(start);
    let longest = record.iter().map(str::len).max().unwrap_or(0);
    let multi_line = record.iter().any(|cell| cell.contains('\n'));
    let unclosed_at_end = multi_line && {
        // Read one record ahead: only the last record can end inside quotes.
        if ahead.is_none() {
            let mut next = csv::StringRecord::new();
            match reader.read_record(&mut next) {
                Ok(true) => *ahead = Some(Ok(next)),
                Ok(false) => {}
                Err(err) => *ahead = Some(Err(err)),
            }
        }
        ahead.is_none() && quotes.load(Ordering::Relaxed) % 2 == 1
    };
    const STOPS: &str = "this stops the file even with --skip-invalid";
    if spans > MAX_RECORD_LINES || unclosed_at_end || (multi_line && longest > MAX_CELL_BYTES) {
        Some(format!(
            "a quote opened on this line is never closed, so the rows after it would be read as one cell; fix the stray \" ({STOPS})"
        ))
    } else if longest > MAX_CELL_BYTES {
        Some(format!(
            "a cell of {longest} bytes, far longer than any field allows: the file is damaged or is not an HR export ({STOPS})"
        ))
    } else {
        None
    }
}

fn malformed(path: &str, err: &csv::Error, line_offset: u64) -> InputError {
    let line = err.position().map_or(0, |p| p.line()) + line_offset;
    let message = match err.kind() {
        csv::ErrorKind::Utf8 { .. } => {
            "the text is not UTF-8; name the file's encoding with --encoding (Excel often writes windows-1252)".to_string()
        }
        _ => err.to_string(),
    };
    InputError::Malformed {
        path: path.to_string(),
        line,
        message,
    }
}

/// `path` as given, for messages.
pub fn shown(path: &Path) -> String {
    if path == Path::new("-") {
        "standard input".to_string()
    } else {
        PathBuf::from(path).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn source(bytes: &[u8], options: ReadOptions) -> CsvSource {
        let mut file = tempfile::NamedTempFile::new().unwrap();
        file.write_all(bytes).unwrap();
        let path = file.into_temp_path();
        let source = CsvSource::open(&path, &options).unwrap();
        std::mem::forget(path);
        source
    }

    fn rows(mut source: CsvSource) -> Vec<Record> {
        std::iter::from_fn(|| source.next_record())
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn title_lines_above_the_header_are_found_and_lines_stay_true() {
        let text = "Employee report,,,\nRun on 2026-11-29,,,\n,,,\nLogin,Mail,Dept,Office\nana,ana@x.io,Sales,Leeds\nbo,bo@x.io,Ops,York\n";
        let titled = source(text.as_bytes(), ReadOptions::default());
        assert_eq!(titled.header(), ["Login", "Mail", "Dept", "Office"]);
        assert!(
            titled
                .encoding_note
                .as_deref()
                .unwrap_or_default()
                .contains("line 4")
        );
        let records = rows(titled);
        assert_eq!(records.len(), 2);
        assert_eq!((records[0].row, records[0].line), (1, 5));
        // A first line naming known columns is the header, whatever follows.
        let one_column = "groups\nStaff;Sales;Ops\nStaff;Ops\n";
        let single = source(one_column.as_bytes(), ReadOptions::default());
        assert_eq!(single.header(), ["groups"]);
        // An ordinary file is read from its first line.
        let plain = "username,email\nana,ana@x.io\n";
        let plain = source(plain.as_bytes(), ReadOptions::default());
        assert_eq!(plain.header(), ["username", "email"]);
        assert!(plain.encoding_note.is_none());
    }

    #[test]
    fn rows_and_lines_are_numbered() {
        let text = "username,notes\nana,\"two\nlines\"\n,\nbo,x\n";
        let records = rows(source(text.as_bytes(), ReadOptions::default()));
        assert_eq!(records.len(), 2, "the all-empty row is skipped");
        assert_eq!((records[0].row, records[0].line), (1, 2));
        assert_eq!((records[1].row, records[1].line), (2, 5));
    }

    #[test]
    fn semicolons_tabs_and_boms() {
        let src = source(
            "\u{feff}username;email\nana;a@b.co\n".as_bytes(),
            ReadOptions::default(),
        );
        assert_eq!(src.header(), ["username", "email"]);
        assert_eq!(rows(src)[0].cells, vec!["ana", "a@b.co"]);
        let src = source(b"username\temail\nbo\tb@c.de\n", ReadOptions::default());
        assert_eq!(src.header(), ["username", "email"]);
        assert_eq!(rows(src)[0].cells, vec!["bo", "b@c.de"]);
        let mut utf16 = vec![0xFF, 0xFE];
        for unit in "username\nzoë\n".encode_utf16() {
            utf16.extend(unit.to_le_bytes());
        }
        let records = rows(source(&utf16, ReadOptions::default()));
        assert_eq!(records[0].cells, vec!["zoë"]);
    }

    #[test]
    fn crlf_files_number_lines_right() {
        let records = rows(source(
            b"username,note\r\na,\"x\r\ny\"\r\nb,z\r\nc,\"\rw\"\r\n",
            ReadOptions::default(),
        ));
        let lines: Vec<u64> = records.iter().map(|r| r.line).collect();
        assert_eq!(lines, vec![2, 4, 5]);
        assert_eq!(records[0].cells[1], "x\ny");
        assert_eq!(records[2].cells[1], "\rw", "a lone CR is kept");
    }

    #[test]
    fn crlf_split_across_reads() {
        let data = b"ab\r\ncd\r\r\n\r".to_vec();
        for chunk in 2..8 {
            let mut reader = CrLfToLf::new(std::io::Cursor::new(data.clone()));
            let mut out = Vec::new();
            let mut buf = vec![0u8; chunk];
            loop {
                let n = reader.read(&mut buf).unwrap();
                if n == 0 {
                    break;
                }
                out.extend_from_slice(&buf[..n]);
            }
            assert_eq!(out, b"ab\ncd\r\n\r", "chunk {chunk}");
        }
    }

    #[test]
    fn spreadsheets_read_like_csv() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/hires.xlsx");
        let source = CsvSource::open(&path, &ReadOptions::default()).unwrap();
        assert_eq!(source.header()[0], "Username");
        let records = rows(source);
        assert_eq!(records.len(), 2, "the blank row is skipped");
        assert_eq!(
            records[0].cells,
            vec![
                "zoe.muller",
                "zoe.muller@example.com",
                "Zoë",
                "Müller",
                "1234",
                "true",
                "DE",
                "All Staff;Engineering"
            ]
        );
        assert_eq!((records[1].row, records[1].line), (2, 4));
        let options = ReadOptions {
            sheet: Some("leavers".into()),
            ..Default::default()
        };
        let leavers = rows(CsvSource::open(&path, &options).unwrap());
        assert_eq!(leavers[0].cells, vec!["old.timer"]);
        let missing = ReadOptions {
            sheet: Some("Movers".into()),
            ..Default::default()
        };
        let err = CsvSource::open(&path, &missing).err().unwrap();
        assert!(err.to_string().contains("Leavers"), "{err}");
    }

    #[test]
    fn a_quote_never_closed_stops_the_file_at_its_line() {
        let mut text = String::from("username,email\nana,\"ana@example.com\n");
        for i in 0..100 {
            text.push_str(&format!("user{i},user{i}@example.com\n"));
        }
        let mut src = source(text.as_bytes(), ReadOptions::default());
        let err = src.next_record().unwrap().unwrap_err();
        assert!(
            matches!(err, InputError::Malformed { line: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("never closed"), "{err}");
        // Near the end of the file too, where it swallows only a row or two.
        let text = "username,note\nana,fine\nbo,\"oops\ncy,x\n";
        let mut src = source(text.as_bytes(), ReadOptions::default());
        assert!(src.next_record().unwrap().is_ok());
        let err = src.next_record().unwrap().unwrap_err();
        assert!(
            matches!(err, InputError::Malformed { line: 3, .. }),
            "{err}"
        );
        // A closed multi-line cell at the very end is fine.
        let text = "username,note\nana,\"two\nlines\"";
        let records = rows(source(text.as_bytes(), ReadOptions::default()));
        assert_eq!(records[0].cells[1], "two\nlines");
    }

    #[test]
    fn encodings_are_told_from_the_bytes() {
        // Windows-1252 without a word: read as such, and said.
        let bytes = b"username\nJos\xe9\n";
        let src = source(bytes, ReadOptions::default());
        assert!(
            src.encoding_note
                .as_deref()
                .unwrap()
                .contains("Windows-1252")
        );
        assert_eq!(rows(src)[0].cells, vec!["José"]);
        // UTF-16 without a byte-order mark, both ways.
        for big_endian in [false, true] {
            let mut bytes = Vec::new();
            for unit in "username\tcity\nzoë\tKöln\n".encode_utf16() {
                bytes.extend(if big_endian {
                    unit.to_be_bytes()
                } else {
                    unit.to_le_bytes()
                });
            }
            let src = source(&bytes, ReadOptions::default());
            assert!(src.encoding_note.as_deref().unwrap().contains("UTF-16"));
            assert_eq!(rows(src)[0].cells, vec!["zoë", "Köln"]);
        }
        // Plain UTF-8 says nothing.
        assert!(
            source("username\nzoë\n".as_bytes(), ReadOptions::default())
                .encoding_note
                .is_none()
        );
    }
}
