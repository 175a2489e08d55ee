//! `sebulk diff OLD.csv NEW.csv`: joiners, leavers and movers between two
//! user exports, for the nightly audit.
//!
//! The older file is held in memory (its cells packed into one string per
//! user: roughly the file's size plus ~100 bytes per user, ~40 MB for
//! 100,000 users); the newer one streams past it. Rows match on `user_id`
//! when both files have it, else on username ignoring case.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::formats::neutralize;
use crate::formats::unneutralize;
use crate::input::columns::normalize;
use crate::input::{CsvSource, ReadOptions};
use crate::output::OutputError;
use crate::output::atomic::AtomicOutput;

/// Why a diff could not be made.
#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    /// One of the files cannot be read.
    #[error(transparent)]
    Input(#[from] crate::input::InputError),
    /// The changes cannot be written.
    #[error(transparent)]
    Output(#[from] OutputError),
}

/// How rows of the two files are paired.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DiffKey {
    /// `user_id` when both files have it, else `username`.
    #[default]
    Auto,
    UserId,
    Username,
}

/// What `diff` is asked to do.
#[derive(Debug, Clone)]
pub struct DiffOptions {
    pub old: PathBuf,
    pub new: PathBuf,
    pub output: PathBuf,
    pub force: bool,
    pub key: DiffKey,
}

/// What `diff` found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DiffSummary {
    pub key: String,
    pub old_users: u64,
    pub new_users: u64,
    pub joiners: u64,
    pub leavers: u64,
    pub movers: u64,
    pub field_changes: u64,
    pub unchanged: u64,
}

const SEPARATOR: char = '\u{1f}';

/// The column of `header` named `name`, matched as input headers are.
fn column(header: &[String], name: &str) -> Option<usize> {
    let wanted = normalize(name);
    header.iter().position(|h| normalize(h) == wanted)
}

fn open(path: &Path) -> Result<CsvSource, DiffError> {
    Ok(CsvSource::open(path, &ReadOptions::default())?)
}

/// Where the key (and the username beside it) is in each file.
struct Keyed {
    /// Keyed on `user_id` (kept as it is), else on `username` (any case).
    by_id: bool,
    name: &'static str,
    old: usize,
    new: usize,
    old_username: Option<usize>,
    new_username: Option<usize>,
}

impl Keyed {
    fn of(
        options: &DiffOptions,
        old_header: &[String],
        new_header: &[String],
    ) -> Result<Self, DiffError> {
        let by_id = match options.key {
            DiffKey::UserId => true,
            DiffKey::Username => false,
            DiffKey::Auto => {
                column(old_header, "user_id").is_some() && column(new_header, "user_id").is_some()
            }
        };
        let name = if by_id { "user_id" } else { "username" };
        let missing = |path: &Path| {
            DiffError::Input(crate::input::InputError::Malformed {
                path: path.display().to_string(),
                line: 1,
                message: format!("there is no {name} column"),
            })
        };
        Ok(Keyed {
            by_id,
            name,
            old: column(old_header, name).ok_or_else(|| missing(&options.old))?,
            new: column(new_header, name).ok_or_else(|| missing(&options.new))?,
            old_username: column(old_header, "username"),
            new_username: column(new_header, "username"),
        })
    }

    fn normalize(&self, key: &str) -> String {
        if self.by_id {
            key.trim().to_string()
        } else {
            key.trim().to_lowercase()
        }
    }
}

/// The old file's rows by key: (row, cells packed into one string).
fn remember(
    old: &mut CsvSource,
    keyed: &Keyed,
    summary: &mut DiffSummary,
) -> Result<HashMap<String, (u64, String)>, DiffError> {
    let mut remembered = HashMap::new();
    while let Some(record) = old.next_record() {
        let record = record?;
        summary.old_users += 1;
        let key = keyed.normalize(
            record
                .cells
                .get(keyed.old)
                .map(String::as_str)
                .unwrap_or_default(),
        );
        let packed: Vec<&str> = record
            .cells
            .iter()
            .map(|c| unneutralize(c.trim()))
            .collect();
        remembered.insert(key, (record.row, packed.join(&SEPARATOR.to_string())));
    }
    Ok(remembered)
}

/// The differences file: `change,key,username,field,old,new`, every cell
/// neutralised.
struct DiffLines<'a> {
    writer: csv::Writer<&'a mut AtomicOutput>,
    path: &'a Path,
}

impl DiffLines<'_> {
    fn line(&mut self, cells: [&str; 6]) -> Result<(), DiffError> {
        self.writer
            .write_record(cells.iter().map(|c| neutralize(c).into_owned()))
            .map_err(|e| DiffError::Output(OutputError::io(self.path, e.into())))
    }
}

/// Compares two exports and writes `change,key,username,field,old,new`.
pub fn run(options: &DiffOptions) -> Result<DiffSummary, DiffError> {
    let mut old = open(&options.old)?;
    let mut new = open(&options.new)?;
    let old_header: Vec<String> = old.header().to_vec();
    let new_header: Vec<String> = new.header().to_vec();
    let keyed = Keyed::of(options, &old_header, &new_header)?;
    // The fields compared: every column of either file but the key.
    let mut fields: Vec<String> = old_header.clone();
    for name in &new_header {
        if column(&fields, name).is_none() {
            fields.push(name.clone());
        }
    }
    fields.retain(|f| column(std::slice::from_ref(f), keyed.name).is_none());
    let mut summary = DiffSummary {
        key: keyed.name.to_string(),
        ..Default::default()
    };
    let mut remembered = remember(&mut old, &keyed, &mut summary)?;
    let mut output = AtomicOutput::create(
        &options.output,
        options.force,
        &[&options.old, &options.new],
    )?;
    let mut lines = DiffLines {
        writer: csv::Writer::from_writer(&mut output),
        path: &options.output,
    };
    lines.line(["change", "key", "username", "field", "old", "new"])?;
    while let Some(record) = new.next_record() {
        let record = record?;
        summary.new_users += 1;
        let raw_key = record
            .cells
            .get(keyed.new)
            .map(String::as_str)
            .unwrap_or_default();
        let username = keyed
            .new_username
            .and_then(|i| record.cells.get(i))
            .map(|s| s.trim())
            .unwrap_or_default();
        let Some((_, packed)) = remembered.remove(&keyed.normalize(raw_key)) else {
            summary.joiners += 1;
            lines.line(["joiner", raw_key, username, "", "", ""])?;
            continue;
        };
        let old_cells: Vec<&str> = packed.split(SEPARATOR).collect();
        let mut changed = false;
        for field in &fields {
            let before = column(&old_header, field)
                .and_then(|i| old_cells.get(i))
                .copied()
                .unwrap_or_default();
            let after = column(&new_header, field)
                .and_then(|i| record.cells.get(i))
                .map(|c| unneutralize(c.trim()))
                .unwrap_or_default();
            if before != after {
                changed = true;
                summary.field_changes += 1;
                lines.line(["mover", raw_key, username, field, before, after])?;
            }
        }
        if changed {
            summary.movers += 1;
        } else {
            summary.unchanged += 1;
        }
    }
    let mut leavers: Vec<(u64, String, String)> = remembered
        .into_iter()
        .map(|(key, (row, packed))| (row, key, packed))
        .collect();
    leavers.sort();
    for (_, key, packed) in leavers {
        let cells: Vec<&str> = packed.split(SEPARATOR).collect();
        let shown_key = cells.get(keyed.old).copied().unwrap_or(key.as_str());
        let username = keyed
            .old_username
            .and_then(|i| cells.get(i))
            .copied()
            .unwrap_or_default();
        summary.leavers += 1;
        lines.line(["leaver", shown_key, username, "", "", ""])?;
    }
    lines
        .writer
        .flush()
        .map_err(|e| DiffError::Output(OutputError::io(&options.output, e)))?;
    drop(lines);
    output.commit()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diff(old: &str, new: &str, key: DiffKey) -> (DiffSummary, String) {
        let dir = tempfile::tempdir().unwrap();
        let (a, b, out) = (
            dir.path().join("a.csv"),
            dir.path().join("b.csv"),
            dir.path().join("out.csv"),
        );
        std::fs::write(&a, old).unwrap();
        std::fs::write(&b, new).unwrap();
        let summary = run(&DiffOptions {
            old: a,
            new: b,
            output: out.clone(),
            force: false,
            key,
        })
        .unwrap();
        (summary, std::fs::read_to_string(out).unwrap())
    }

    #[test]
    fn rows_pair_on_user_id_else_username() {
        let old = "username,department,user_id\nana,Sales,1\nbo,Ops,2\n";
        // Ana renamed (same id), Bo left, Cy joined.
        let new = "User Name,department,user_id\nana.lima,Sales,1\ncy,Ops,3\n";
        let (by_id, changes) = diff(old, new, DiffKey::Auto);
        assert_eq!(by_id.key, "user_id");
        assert_eq!((by_id.joiners, by_id.leavers, by_id.movers), (1, 1, 1));
        assert!(changes.contains("username,ana,ana.lima"), "{changes}");
        let (by_name, _) = diff(old, new, DiffKey::Username);
        assert_eq!(by_name.key, "username");
        assert_eq!(
            (by_name.joiners, by_name.leavers, by_name.movers),
            (2, 2, 0)
        );
    }

    #[test]
    fn names_pair_ignoring_case_and_formula_guards() {
        let old = "username,mobile\nANA,'+44 1\n";
        let new = "username,mobile\nana,+44 1\n";
        let (summary, _) = diff(old, new, DiffKey::Auto);
        assert_eq!((summary.unchanged, summary.movers), (1, 0));
    }
}
