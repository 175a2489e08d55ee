//! Results files read back: what `--resume` starts from, what undo
//! trusts, and the journal's rows a crash left unsettled. A line cut short
//! by a crash is a row to do again; a row that names no tenant is refused,
//! since which directory it changed cannot be told.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use super::files::OutputError;
use super::results::{Journal, Outcome, RESULT_COLUMNS, RowResult, RunStamp};
use crate::model::FieldChange;

/// What `--resume` starts from: the results file's rows, and the
/// journal's rows whose users were written but which the results file
/// does not settle (absent, or recorded as not done).
#[derive(Debug, Default)]
pub struct Resumed {
    pub done: BTreeMap<u64, Recorded>,
    pub journaled: BTreeMap<u64, Recorded>,
}

impl Resumed {
    /// Reads the results file `path` and its journal, if there is one.
    pub fn read(path: &Path) -> Result<Self, OutputError> {
        Self::read_with(path, false)
    }

    /// As [`Resumed::read`], refusing a results file that cannot be read
    /// whole (see [`read_results_checked`]): what undo trusts.
    pub fn read_checked(path: &Path) -> Result<Self, OutputError> {
        Self::read_with(path, true)
    }

    fn read_with(path: &Path, checked: bool) -> Result<Self, OutputError> {
        let journal = Journal::path_for(path);
        let done = if checked {
            read_results_checked(path, journal.exists())?
        } else {
            read_results(path)?
        };
        let mut journaled = if journal.exists() {
            read_results(&journal)?
        } else {
            BTreeMap::new()
        };
        journaled.retain(|row, recorded| {
            matches!(
                recorded.outcome,
                Outcome::Created
                    | Outcome::Updated
                    | Outcome::Rehired
                    | Outcome::Disabled
                    | Outcome::Deleted
            ) && !done.get(row).is_some_and(|d| d.outcome.succeeded())
        });
        Ok(Resumed { done, journaled })
    }

    /// The tenants the recorded rows name, other than `tenant`.
    pub fn other_tenants(&self, tenant: &str) -> Vec<String> {
        let mut others: Vec<String> = self
            .done
            .values()
            .chain(self.journaled.values())
            .map(|r| r.stamp.tenant.clone())
            .filter(|t| !t.is_empty() && t != tenant)
            .collect();
        others.sort();
        others.dedup();
        others
    }
}

/// What an earlier run recorded for one row.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub outcome: Outcome,
    pub result: RowResult,
    /// The run and tenant the row belongs to (empty in older files).
    pub stamp: RunStamp,
}

/// The leading columns of a header that are a results file's own, by
/// name and position: `None` when the header is not a results file's.
pub fn result_columns(header: &[String]) -> Option<HashMap<&'static str, usize>> {
    let fixed = crate::formats::results_prefix(header);
    (fixed > 0).then(|| {
        header[..fixed]
            .iter()
            .enumerate()
            .filter_map(|(i, name)| {
                RESULT_COLUMNS
                    .iter()
                    .find(|c| **c == name.as_str())
                    .map(|c| (*c, i))
            })
            .collect()
    })
}

/// Reads an earlier results file (or journal): row number → what it
/// recorded. Older files without the audit columns are read too. A line
/// cut short by a crash is ignored (that row is simply done again).
/// A file whose tenant column is blank on a row is refused: which
/// directory that row changed cannot be told, so it cannot be trusted as
/// done (a row redone could set a second password).
pub fn read_results(path: &Path) -> Result<BTreeMap<u64, Recorded>, OutputError> {
    let (recorded, problems) = read_lines(path)?;
    match problems.iter().find(|(_, why)| why.starts_with(NO_TENANT)) {
        Some((line, why)) => Err(OutputError::read(
            path,
            std::io::Error::other(format!("line {line}: {why}; refused")),
        )),
        None => Ok(recorded),
    }
}

/// How a row that names no tenant is described.
const NO_TENANT: &str = "the row names no tenant";

/// Reads a results file for undo, where a line not read is a change not
/// undone: any line that cannot be read whole (cut short, extra cells, an
/// unknown outcome, a changes cell that is not one) refuses the file,
/// except a last line cut by a kill when `cut_tail_allowed` (the run's
/// journal is there and says what it did).
pub fn read_results_checked(
    path: &Path,
    cut_tail_allowed: bool,
) -> Result<BTreeMap<u64, Recorded>, OutputError> {
    let (recorded, problems) = read_lines(path)?;
    let last = problems.last().map(|(line, _)| *line);
    for (line, why) in &problems {
        let tail = cut_tail_allowed && Some(*line) == last && why.starts_with(CUT);
        if !tail {
            return Err(OutputError::read(
                path,
                std::io::Error::other(format!(
                    "line {line}: {why}; the file cannot be trusted as the run's record, so nothing is undone"
                )),
            ));
        }
    }
    Ok(recorded)
}

/// How a line cut short is described (a kill may leave one at the end).
const CUT: &str = "the line is cut short";

/// Lines that could not be read whole: (line number, why).
type LineProblems = Vec<(u64, String)>;

/// One line of a results file, read whole; why not, if it cannot be.
fn parse_record(
    record: &csv::StringRecord,
    columns: &HashMap<&'static str, usize>,
    fixed: usize,
) -> Result<Recorded, String> {
    let get = |name: &str| {
        columns
            .get(name)
            .and_then(|i| record.get(*i))
            .map(|cell| crate::formats::unneutralize(cell).to_string())
            .unwrap_or_default()
    };
    let (Ok(row), Some(outcome)) = (get("row").parse::<u64>(), Outcome::parse(&get("outcome")))
    else {
        return Err("its row number or outcome is not one sebulk writes".to_string());
    };
    let changes_cell = get("changes");
    let Some(changes) = FieldChange::parse(&changes_cell) else {
        return Err("its changes cell is not one sebulk writes".to_string());
    };
    let list = |name: &str| {
        get(name)
            .split(';')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let result = RowResult {
        row,
        username: get("username"),
        outcome,
        user_id: get("user_id"),
        changes,
        groups_added: list("groups_added"),
        groups_removed: list("groups_removed"),
        applications_added: list("applications_added"),
        applications_removed: list("applications_removed"),
        http_status: get("http_status").parse().ok(),
        attempts: get("attempts").parse().unwrap_or(0),
        error: get("error"),
        finished_at: get("finished_at"),
        done_by: String::new(),
        cells: record.iter().skip(fixed).map(str::to_string).collect(),
        planned: None,
    };
    let stamp = RunStamp {
        run_id: get("run_id"),
        tenant: get("tenant"),
        snapshot: get("snapshot"),
    };
    if columns.contains_key("tenant") && stamp.tenant.trim().is_empty() {
        return Err(NO_TENANT.to_string());
    }
    Ok(Recorded {
        outcome,
        result,
        stamp,
    })
}

/// Every line of a results file read, and the lines that could not be
/// read whole (line number, why).
fn read_lines(path: &Path) -> Result<(BTreeMap<u64, Recorded>, LineProblems), OutputError> {
    let mut problems: LineProblems = Vec::new();
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| OutputError::read(path, e.into()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| OutputError::read(path, e.into()))?
        .iter()
        .map(str::to_string)
        .collect();
    let Some(columns) = result_columns(&header) else {
        return Err(OutputError::read(
            path,
            std::io::Error::other("this is not a sebulk results file (its first columns differ)"),
        ));
    };
    let fixed = columns.len();
    let width = header.len();
    let mut recorded = BTreeMap::new();
    for record in reader.records() {
        let record = match record {
            Ok(record) => record,
            Err(err) => {
                let line = err.position().map_or(0, |p| p.line());
                problems.push((line, format!("{CUT} or malformed ({err})")));
                continue;
            }
        };
        // A plan's seal closes it; it is no row.
        if record.get(0) == Some(super::plan_file::SEAL_MARK) {
            continue;
        }
        let line = record.position().map_or(0, |p| p.line());
        if record.len() < width {
            problems.push((line, format!("{CUT}: {} of {width} cells", record.len())));
            continue;
        }
        if record.len() > width {
            problems.push((
                line,
                format!("{} cells where the header has {width}", record.len()),
            ));
            continue;
        }
        match parse_record(&record, &columns, fixed) {
            Ok(read) => {
                recorded.insert(read.result.row, read);
            }
            Err(why) => problems.push((line, why)),
        }
    }
    Ok((recorded, problems))
}
