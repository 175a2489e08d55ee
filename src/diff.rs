//! `sebulk diff OLD.csv NEW.csv`: what changed between two exports of the
//! same kind, for the nightly audit. It knows what it compares, from the
//! header: user exports give joiners, leavers (gone, or disabled), rehires
//! (enabled again) and movers (field by field);
//! group and application exports give the ones added, removed and changed;
//! membership exports give the memberships added and removed. Anything
//! else is refused, saying what it is and what `diff` takes.
//!
//! The older file is held in memory (its cells packed into one string per
//! record: roughly the file's size plus ~100 bytes per record, ~40 MB for
//! 100,000 users); the newer one streams past it. Users match on `user_id`
//! when both files have it, else on username ignoring case; groups and
//! applications on `id`, else on name.

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
    /// The files are not two exports of one kind.
    #[error("{0}")]
    NotComparable(String),
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
    /// A second file the changes also go to (a private copy kept for the
    /// report when `output` is standard output).
    pub copy: Option<PathBuf>,
}

/// The kind of export two files are.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Compared {
    #[default]
    Users,
    Groups,
    Applications,
    Memberships,
}

impl Compared {
    /// What a header says the file is, if it is an export `diff` takes.
    fn of(header: &[String]) -> Option<Compared> {
        let has = |name: &str| column(header, name).is_some();
        if has("user_id") && has("type") && has("target_id") {
            Some(Compared::Memberships)
        } else if has("id") && has("name") && (has("members") || has("enforceSecondFactor")) {
            Some(Compared::Groups)
        } else if has("id") && has("name") && (has("label") || has("users")) {
            Some(Compared::Applications)
        } else if has("username") || has("user_id") {
            Some(Compared::Users)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Compared::Users => "users",
            Compared::Groups => "groups",
            Compared::Applications => "applications",
            Compared::Memberships => "memberships",
        }
    }
}

/// What `diff` takes, for a refusal.
const TAKES: &str = "diff compares two exports of one kind: users (a username or user_id column), groups (id,name,description,enforceSecondFactor,members), applications (id,name,label,users) or memberships (user_id,username,type,target_id,target_name), as sebulk export writes them";

/// What `diff` found.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct DiffSummary {
    /// What was compared.
    pub compared: Compared,
    pub key: String,
    pub old_users: u64,
    pub new_users: u64,
    pub joiners: u64,
    /// Users gone from the newer file, or disabled in it.
    pub leavers: u64,
    /// Users disabled in the older file and enabled in the newer.
    pub rehires: u64,
    pub movers: u64,
    pub field_changes: u64,
    pub unchanged: u64,
    /// Groups, applications and memberships: added, removed, changed
    /// (groups and applications) and their records in each file.
    pub added: u64,
    pub removed: u64,
    pub changed: u64,
    pub old_records: u64,
    pub new_records: u64,
}

impl DiffSummary {
    /// Whether the files differ.
    pub fn differs(&self) -> bool {
        self.joiners
            + self.leavers
            + self.rehires
            + self.movers
            + self.added
            + self.removed
            + self.changed
            > 0
    }
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

/// Where the key (and the name beside it) is in each file.
struct Keyed {
    /// Keyed on the id (kept as it is), else on the name (any case).
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
        (old_header, new_header): (&[String], &[String]),
        (id, label): (&'static str, &'static str),
    ) -> Result<Self, DiffError> {
        let by_id = match options.key {
            DiffKey::UserId => true,
            DiffKey::Username => false,
            DiffKey::Auto => column(old_header, id).is_some() && column(new_header, id).is_some(),
        };
        let name = if by_id { id } else { label };
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
            old_username: column(old_header, label),
            new_username: column(new_header, label),
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
    /// The copy, and where it is.
    copy: Option<(csv::Writer<std::fs::File>, &'a Path)>,
}

impl DiffLines<'_> {
    fn line(&mut self, cells: [&str; 6]) -> Result<(), DiffError> {
        let record: Vec<String> = cells.iter().map(|c| neutralize(c).into_owned()).collect();
        if let Some((copy, path)) = &mut self.copy {
            copy.write_record(&record)
                .map_err(|e| DiffError::Output(OutputError::io(path, e.into())))?;
        }
        self.writer
            .write_record(&record)
            .map_err(|e| DiffError::Output(OutputError::io(self.path, e.into())))
    }
}

/// What the two files are: one kind of export, or refused.
fn compared(options: &DiffOptions, old: &[String], new: &[String]) -> Result<Compared, DiffError> {
    let kinds = [(&options.old, old), (&options.new, new)].map(|(path, header)| {
        Compared::of(header).ok_or_else(|| {
            DiffError::NotComparable(format!(
                "{} is not an export diff compares (its columns are {}): {TAKES}",
                path.display(),
                header.join(",")
            ))
        })
    });
    let [old_kind, new_kind] = kinds;
    let (old_kind, new_kind) = (old_kind?, new_kind?);
    if old_kind != new_kind {
        return Err(DiffError::NotComparable(format!(
            "{} is a {} export and {} a {} export: {TAKES}",
            options.old.display(),
            old_kind.name(),
            options.new.display(),
            new_kind.name()
        )));
    }
    Ok(old_kind)
}

/// Writes the changes file whole (atomic, 0600): its header, then what
/// `write` puts in it.
fn write_changes(
    options: &DiffOptions,
    write: impl FnOnce(&mut DiffLines<'_>) -> Result<(), DiffError>,
) -> Result<(), DiffError> {
    let mut output = AtomicOutput::create(
        &options.output,
        options.force,
        &[&options.old, &options.new],
    )?;
    let copy = match &options.copy {
        Some(path) => Some((
            csv::Writer::from_writer(
                std::fs::File::create(path)
                    .map_err(|e| DiffError::Output(OutputError::io(path, e)))?,
            ),
            path.as_path(),
        )),
        None => None,
    };
    let mut lines = DiffLines {
        writer: csv::Writer::from_writer(&mut output),
        path: &options.output,
        copy,
    };
    lines.line(["change", "key", "username", "field", "old", "new"])?;
    write(&mut lines)?;
    if let Some((copy, path)) = &mut lines.copy {
        copy.flush()
            .map_err(|e| DiffError::Output(OutputError::io(path, e)))?;
    }
    lines
        .writer
        .flush()
        .map_err(|e| DiffError::Output(OutputError::io(&options.output, e)))?;
    drop(lines);
    output.commit()?;
    Ok(())
}

/// Compares two exports and writes `change,key,username,field,old,new`
/// (groups and applications: the name in `username`; memberships: the
/// kind in `field`, the target's name in `old` or `new`).
pub fn run(options: &DiffOptions) -> Result<DiffSummary, DiffError> {
    let old = open(&options.old)?;
    let new = open(&options.new)?;
    match compared(options, old.header(), new.header())? {
        Compared::Memberships => memberships(options, old, new),
        kind => records(options, kind, old, new),
    }
}

/// Whether `changes` turn a user off (`Some(false)`) or back on
/// (`Some(true)`): `isEnabled` from true to false makes a leaver, from
/// false to true a rehire, whatever else changed with it.
fn enabled_flip(changes: &[(&str, &str, &str)]) -> Option<bool> {
    let truth = |text: &str| match text.trim().to_ascii_lowercase().as_str() {
        "true" | "yes" | "1" => Some(true),
        "false" | "no" | "0" => Some(false),
        _ => None,
    };
    changes
        .iter()
        .find(|(field, _, _)| normalize(field) == normalize("isEnabled"))
        .and_then(|(_, before, after)| match (truth(before), truth(after)) {
            (Some(true), Some(false)) => Some(false),
            (Some(false), Some(true)) => Some(true),
            _ => None,
        })
}

/// The fields compared: every column of either file but the key, the
/// old file's order first.
fn compared_fields(old_header: &[String], new_header: &[String], key: &str) -> Vec<String> {
    let mut fields: Vec<String> = old_header.to_vec();
    for name in new_header {
        if column(&fields, name).is_none() {
            fields.push(name.clone());
        }
    }
    fields.retain(|f| column(std::slice::from_ref(f), key).is_none());
    fields
}

/// The fields whose value differs between a remembered old record and
/// its new record, as (field, before, after).
fn changed_fields<'a>(
    fields: &'a [String],
    (old_header, old_cells): (&[String], &[&'a str]),
    (new_header, new_cells): (&[String], &'a [String]),
) -> Vec<(&'a str, &'a str, &'a str)> {
    let mut changes = Vec::new();
    for field in fields {
        let before = column(old_header, field)
            .and_then(|i| old_cells.get(i))
            .copied()
            .unwrap_or_default();
        let after = column(new_header, field)
            .and_then(|i| new_cells.get(i))
            .map(|c| unneutralize(c.trim()))
            .unwrap_or_default();
        if before != after {
            changes.push((field.as_str(), before, after));
        }
    }
    changes
}

/// Writes the records only the old file has (leavers, or removed groups
/// and applications), in the old file's order; how many.
fn write_removed(
    lines: &mut DiffLines<'_>,
    remembered: HashMap<String, (u64, String)>,
    keyed: &Keyed,
    label: &str,
) -> Result<u64, DiffError> {
    let mut removed: Vec<(u64, String, String)> = remembered
        .into_iter()
        .map(|(key, (row, packed))| (row, key, packed))
        .collect();
    removed.sort();
    let mut count = 0;
    for (_, key, packed) in removed {
        let cells: Vec<&str> = packed.split(SEPARATOR).collect();
        let shown_key = cells.get(keyed.old).copied().unwrap_or(key.as_str());
        let username = keyed
            .old_username
            .and_then(|i| cells.get(i))
            .copied()
            .unwrap_or_default();
        count += 1;
        lines.line([label, shown_key, username, "", "", ""])?;
    }
    Ok(count)
}

/// Users, groups or applications, record by record.
fn records(
    options: &DiffOptions,
    kind: Compared,
    mut old: CsvSource,
    mut new: CsvSource,
) -> Result<DiffSummary, DiffError> {
    let old_header: Vec<String> = old.header().to_vec();
    let new_header: Vec<String> = new.header().to_vec();
    let (names, labels) = match kind {
        Compared::Users => (("user_id", "username"), ["joiner", "leaver", "mover"]),
        _ => (("id", "name"), ["added", "removed", "changed"]),
    };
    let keyed = Keyed::of(options, (&old_header, &new_header), names)?;
    let fields = compared_fields(&old_header, &new_header, keyed.name);
    let mut summary = DiffSummary {
        compared: kind,
        key: keyed.name.to_string(),
        ..Default::default()
    };
    let mut remembered = remember(&mut old, &keyed, &mut summary)?;
    write_changes(options, |lines| {
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
                lines.line([labels[0], raw_key, username, "", "", ""])?;
                continue;
            };
            let old_cells: Vec<&str> = packed.split(SEPARATOR).collect();
            let changes = changed_fields(
                &fields,
                (&old_header, &old_cells),
                (&new_header, &record.cells),
            );
            let label = match (kind, enabled_flip(&changes)) {
                (Compared::Users, Some(false)) => {
                    summary.leavers += 1;
                    "leaver"
                }
                (Compared::Users, Some(true)) => {
                    summary.rehires += 1;
                    "rehire"
                }
                _ if changes.is_empty() => {
                    summary.unchanged += 1;
                    continue;
                }
                _ => {
                    summary.movers += 1;
                    labels[2]
                }
            };
            summary.field_changes += changes.len() as u64;
            for (field, before, after) in changes {
                lines.line([label, raw_key, username, field, before, after])?;
            }
        }
        summary.leavers += write_removed(lines, remembered, &keyed, labels[1])?;
        Ok(())
    })?;
    if kind != Compared::Users {
        // Not people: counted as what they are.
        summary.added = std::mem::take(&mut summary.joiners);
        summary.removed = std::mem::take(&mut summary.leavers);
        summary.changed = std::mem::take(&mut summary.movers);
        summary.old_records = std::mem::take(&mut summary.old_users);
        summary.new_records = std::mem::take(&mut summary.new_users);
    }
    Ok(summary)
}

/// One membership: (kind, user, target), by id.
type Membership = (String, String, String);

/// Memberships as a set: the ones added and removed, by user and target
/// id, shown with their names.
fn memberships(
    options: &DiffOptions,
    mut old: CsvSource,
    mut new: CsvSource,
) -> Result<DiffSummary, DiffError> {
    let at = |source: &CsvSource, name: &str| column(source.header(), name);
    let read = |source: &mut CsvSource,
                count: &mut u64|
     -> Result<HashMap<Membership, (String, String)>, DiffError> {
        let cols = ["type", "user_id", "target_id", "username", "target_name"]
            .map(|name| at(source, name));
        let mut found = HashMap::new();
        while let Some(record) = source.next_record() {
            let record = record?;
            *count += 1;
            let cell = |i: Option<usize>| {
                i.and_then(|i| record.cells.get(i))
                    .map(|c| unneutralize(c.trim()).to_string())
                    .unwrap_or_default()
            };
            let key = (cell(cols[0]).to_lowercase(), cell(cols[1]), cell(cols[2]));
            found.insert(key, (cell(cols[3]), cell(cols[4])));
        }
        Ok(found)
    };
    let mut summary = DiffSummary {
        compared: Compared::Memberships,
        key: "user_id,target_id".to_string(),
        ..Default::default()
    };
    let before = read(&mut old, &mut summary.old_records)?;
    let after = read(&mut new, &mut summary.new_records)?;
    let mut changes: Vec<(&str, &Membership, &(String, String))> = after
        .iter()
        .filter(|(key, _)| !before.contains_key(*key))
        .map(|(key, names)| ("added", key, names))
        .chain(
            before
                .iter()
                .filter(|(key, _)| !after.contains_key(*key))
                .map(|(key, names)| ("removed", key, names)),
        )
        .collect();
    changes.sort_by(|a, b| (&a.2.0, &a.1, a.0).cmp(&(&b.2.0, &b.1, b.0)));
    write_changes(options, |lines| {
        for (change, (kind, user_id, _), (username, target)) in changes {
            let (old_cell, new_cell) = match change {
                "added" => ("", target.as_str()),
                _ => (target.as_str(), ""),
            };
            if change == "added" {
                summary.added += 1;
            } else {
                summary.removed += 1;
            }
            lines.line([change, user_id, username, kind, old_cell, new_cell])?;
        }
        Ok(())
    })?;
    summary.unchanged = after.len() as u64 - summary.added;
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
            copy: None,
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
    fn membership_exports_give_memberships_added_and_removed() {
        let header = "user_id,username,type,target_id,target_name\n";
        let old =
            format!("{header}1,ana,group,g1,Sales\n2,bo,group,g1,Sales\n2,bo,application,a1,CRM\n");
        let new =
            format!("{header}1,ana,group,g1,Sales\n1,ana,group,g2,Ops\n2,bo,group,g1,Sales\n");
        let (summary, changes) = diff(&old, &new, DiffKey::Auto);
        assert_eq!(summary.compared, Compared::Memberships);
        assert_eq!(
            (summary.added, summary.removed, summary.unchanged),
            (1, 1, 2)
        );
        assert_eq!(
            (summary.joiners, summary.leavers, summary.movers),
            (0, 0, 0)
        );
        assert!(summary.differs());
        assert!(changes.contains("added,1,ana,group,,Ops"), "{changes}");
        assert!(
            changes.contains("removed,2,bo,application,CRM,"),
            "{changes}"
        );
    }

    #[test]
    fn group_exports_pair_on_id_and_count_as_groups() {
        let header = "id,name,description,enforceSecondFactor,members\n";
        let old = format!("{header}g1,Sales,,false,3\ng2,Ops,,false,1\n");
        let new = format!("{header}g1,Sales,,true,3\ng3,Legal,,false,0\n");
        let (summary, changes) = diff(&old, &new, DiffKey::Auto);
        assert_eq!(summary.compared, Compared::Groups);
        assert_eq!(summary.key, "id");
        assert_eq!((summary.added, summary.removed, summary.changed), (1, 1, 1));
        assert!(
            changes.contains("changed,g1,Sales,enforceSecondFactor,false,true"),
            "{changes}"
        );
        assert!(changes.contains("added,g3,Legal"), "{changes}");
    }

    #[test]
    fn other_files_and_mixed_kinds_are_refused_saying_what_diff_takes() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let users = write("users.csv", "username,email\nana,a@x.io\n");
        let groups = write(
            "groups.csv",
            "id,name,description,enforceSecondFactor,members\ng1,S,,false,1\n",
        );
        let other = write("other.csv", "Name,Shoe size\nana,42\n");
        let options = |old: &Path, new: &Path| DiffOptions {
            old: old.to_path_buf(),
            new: new.to_path_buf(),
            output: dir.path().join("out.csv"),
            force: true,
            key: DiffKey::Auto,
            copy: None,
        };
        let err = run(&options(&users, &groups)).unwrap_err().to_string();
        assert!(
            err.contains("is a users export") && err.contains("groups export"),
            "{err}"
        );
        let err = run(&options(&other, &other)).unwrap_err().to_string();
        assert!(
            err.contains("not an export diff compares") && err.contains("memberships ("),
            "{err}"
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
