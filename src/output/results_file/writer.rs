//! The results file: one line per input row, in input order, written and
//! flushed as rows finish, so it is valid CSV at every moment and a crashed
//! run can be resumed from it. Each line is also an audit record: what
//! changed, field by field (old and new values, exactly), the memberships
//! added and removed, the run and the tenant it belongs to, and when.
//!
//! Rows finish out of order; a reorder window holds the early finishers
//! until the rows before them are done. The caller bounds the window.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::formats::{neutralize, neutralize_owned, utc_now};
use crate::model::FieldChange;
use crate::output::files::{OutputError, Stream};

pub use crate::formats::RESULT_COLUMNS;

/// What happened to one row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Created,
    Updated,
    Unchanged,
    Skipped,
    Invalid,
    Failed,
    NotAttempted,
    /// Left out by the mapping's filters (`Status` not active, say).
    Filtered,
    /// The user was deleted (offboarding).
    Deleted,
    /// A protected or privileged user, left alone on purpose.
    Protected,
    /// `sync`: a joiner whose start is further ahead than `--create-ahead`;
    /// nothing is sent yet.
    Pending,
    /// `sync`: a disabled user HR lists as current again, re-enabled and
    /// brought up to date (never created twice).
    Rehired,
    /// `sync`: a leaver disabled (with whatever else `--leavers` asks).
    Disabled,
    /// `sync`: the row and the tenant disagree about who the person is
    /// (its email or employee number belongs to another user): nothing sent.
    Conflict,
}

impl Outcome {
    pub const ALL: [Outcome; 14] = [
        Outcome::Created,
        Outcome::Updated,
        Outcome::Unchanged,
        Outcome::Skipped,
        Outcome::Invalid,
        Outcome::Failed,
        Outcome::NotAttempted,
        Outcome::Filtered,
        Outcome::Deleted,
        Outcome::Protected,
        Outcome::Pending,
        Outcome::Rehired,
        Outcome::Disabled,
        Outcome::Conflict,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Created => "created",
            Outcome::Updated => "updated",
            Outcome::Unchanged => "unchanged",
            Outcome::Skipped => "skipped",
            Outcome::Invalid => "invalid",
            Outcome::Failed => "failed",
            Outcome::NotAttempted => "not_attempted",
            Outcome::Filtered => "filtered",
            Outcome::Deleted => "deleted",
            Outcome::Protected => "protected",
            Outcome::Pending => "pending",
            Outcome::Rehired => "rehired",
            Outcome::Disabled => "disabled",
            Outcome::Conflict => "conflict",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        Outcome::ALL.into_iter().find(|o| o.as_str() == text)
    }

    /// Whether the row went as asked: done, or left out on purpose.
    pub fn is_clean(self) -> bool {
        self.succeeded()
            || matches!(
                self,
                Outcome::Filtered | Outcome::Protected | Outcome::Pending
            )
    }

    /// Whether the row's work is done and need not be sent again.
    pub fn succeeded(self) -> bool {
        matches!(
            self,
            Outcome::Created
                | Outcome::Updated
                | Outcome::Unchanged
                | Outcome::Deleted
                | Outcome::Rehired
                | Outcome::Disabled
        )
    }
}

/// Declares [`RunKind`] from one list: each kind and the name its run ids
/// begin with. The enum, [`RunKind::ALL`] and [`RunKind::name`] come from
/// the same line, so a kind cannot be left out of any of them.
macro_rules! run_kinds {
    ($($kind:ident => $name:literal),* $(,)?) => {
        /// The command a run was, as the first part of its id says: undo reads it
        /// to know what a results file's rows mean.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
        #[serde(rename_all = "kebab-case")]
        pub enum RunKind {
            $($kind),*
        }

        impl RunKind {
            pub const ALL: [RunKind; [$($name),*].len()] = [$(RunKind::$kind),*];

            pub fn name(self) -> &'static str {
                match self {
                    $(RunKind::$kind => $name),*
                }
            }
        }
    };
}

run_kinds! {
    Import => "import",
    Offboard => "offboard",
    Restore => "restore",
    Passwords => "passwords",
    Groups => "groups",
    Memberships => "memberships",
    Undo => "undo",
    Sync => "sync",
    Apply => "apply",
}

/// A run id naming a command this build does not know (a newer sebulk's,
/// or an edited file): what its rows mean cannot be told.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("run {run_id} was written by '{kind}', a command this sebulk does not know")]
pub struct UnknownRunKind {
    pub run_id: String,
    pub kind: String,
}

impl RunKind {
    /// A run id's kind, and whether it was a plan (`plan-import-…`). Ids
    /// without a kind (they begin with the time, or are empty) come from
    /// before runs were named: only import wrote results then. Any other
    /// first word is a kind this build does not know, never a guess.
    pub fn of(run_id: &str) -> (Result<RunKind, UnknownRunKind>, bool) {
        let (plan, rest) = match run_id.strip_prefix("plan-") {
            Some(rest) => (true, rest),
            None => (false, run_id),
        };
        let word = rest.split('-').next().unwrap_or_default();
        let kind = match RunKind::ALL.into_iter().find(|k| k.name() == word) {
            Some(kind) => Ok(kind),
            None if word.is_empty() || word.starts_with(|c: char| c.is_ascii_digit()) => {
                Ok(RunKind::Import)
            }
            None => Err(UnknownRunKind {
                run_id: run_id.to_string(),
                kind: word.to_string(),
            }),
        };
        (kind, plan)
    }
}

/// What a results file says of the run its rows belong to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RunStamp {
    /// The tenant's key, which seals each line the run writes (none: the
    /// lines go unsealed, as read back from a file).
    #[serde(skip)]
    pub key: Option<crate::model::SealKey>,
    /// This run's id.
    pub run_id: String,
    /// The tenant written to (its API root).
    pub tenant: String,
    /// The SHA-256 digest of the snapshot the run wrote before its first
    /// change (empty when it wrote none): undo takes back from that
    /// snapshot only, never from one put in its place.
    pub snapshot: String,
}

/// One line of the results file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowResult {
    pub row: u64,
    pub username: String,
    pub outcome: Outcome,
    pub user_id: String,
    /// Fields changed, with old and new values (updated rows).
    pub changes: Vec<FieldChange>,
    pub groups_added: Vec<String>,
    pub groups_removed: Vec<String>,
    pub applications_added: Vec<String>,
    pub applications_removed: Vec<String>,
    pub http_status: Option<u16>,
    pub attempts: u32,
    pub error: String,
    /// When the row finished (UTC, RFC 3339), as recorded.
    pub finished_at: String,
    /// The earlier run that did the row, when this run only confirmed it
    /// (`--resume`); empty for this run's own rows.
    pub done_by: String,
    /// The row's input cells, secrets masked.
    pub cells: Vec<String>,
    /// A dry run's: what the row was decided on and its exact writes,
    /// for `apply`.
    pub planned: Option<Box<crate::output::plan_file::PlannedCells>>,
}

impl RowResult {
    pub fn new(row: u64, username: &str, outcome: Outcome, cells: Vec<String>) -> Self {
        RowResult {
            row,
            username: username.to_string(),
            outcome,
            user_id: String::new(),
            changes: Vec::new(),
            groups_added: Vec::new(),
            groups_removed: Vec::new(),
            applications_added: Vec::new(),
            applications_removed: Vec::new(),
            http_status: None,
            attempts: 0,
            error: String::new(),
            finished_at: String::new(),
            done_by: String::new(),
            cells,
            planned: None,
        }
    }

    /// The machine cells a plan line carries (empty for a row that
    /// writes nothing).
    pub fn planned_cells(&self) -> [String; 2] {
        match &self.planned {
            Some(planned) => [planned.decided_on.clone(), planned.exact.clone()],
            None => [String::new(), String::new()],
        }
    }

    /// The line of a sync's plan: the results line with the machine
    /// cells before the input's.
    pub fn plan_record(&self, stamp: &RunStamp) -> Vec<String> {
        let mut record = self.record(stamp);
        let at = RESULT_COLUMNS.len();
        for (i, cell) in self.planned_cells().into_iter().enumerate() {
            record.insert(at + i, neutralize(&cell).into_owned());
        }
        record
    }

    /// The names of the groups (or applications) the row added (or removed).
    pub fn targets(&self, kind: crate::model::TargetKind, added: bool) -> &[String] {
        use crate::model::TargetKind;
        match (kind, added) {
            (TargetKind::Group, true) => &self.groups_added,
            (TargetKind::Group, false) => &self.groups_removed,
            (TargetKind::Application, true) => &self.applications_added,
            (TargetKind::Application, false) => &self.applications_removed,
        }
    }

    /// As [`RowResult::targets`], to change.
    pub fn targets_mut(&mut self, kind: crate::model::TargetKind, added: bool) -> &mut Vec<String> {
        use crate::model::TargetKind;
        match (kind, added) {
            (TargetKind::Group, true) => &mut self.groups_added,
            (TargetKind::Group, false) => &mut self.groups_removed,
            (TargetKind::Application, true) => &mut self.applications_added,
            (TargetKind::Application, false) => &mut self.applications_removed,
        }
    }

    /// Adds a reason, keeping earlier ones.
    pub fn add_error(&mut self, message: impl AsRef<str>) {
        if !self.error.is_empty() {
            self.error.push_str("; ");
        }
        self.error.push_str(message.as_ref());
    }

    /// Takes over what an earlier run of the same tenant did to this
    /// row's user, when this run found it as that run left it: a user it
    /// created stays `created` (and one it updated `updated`) rather than
    /// `unchanged`, with that run's field changes first.
    pub fn carry_over(&mut self, prior: &RowResult) {
        let wrote = matches!(
            prior.outcome,
            Outcome::Created | Outcome::Updated | Outcome::Rehired | Outcome::Disabled
        );
        let same_user = !prior.user_id.is_empty() && prior.user_id == self.user_id;
        if !(wrote && same_user && matches!(self.outcome, Outcome::Unchanged | Outcome::Updated)) {
            return;
        }
        if prior.outcome == Outcome::Created || self.outcome == Outcome::Unchanged {
            self.outcome = prior.outcome;
        }
        let mut changes = prior.changes.clone();
        changes.append(&mut self.changes);
        self.changes = changes;
        // What the earlier run sent (a membership cut on the wire by its
        // kill may have landed) stays its record, beside this run's.
        self.add_memberships_of(prior);
    }

    /// Adds to this row's memberships those `other` records (the same
    /// target, by name or id, once).
    pub fn add_memberships_of(&mut self, other: &RowResult) {
        use crate::model::TargetKind;
        for (kind, add) in [
            (TargetKind::Group, true),
            (TargetKind::Group, false),
            (TargetKind::Application, true),
            (TargetKind::Application, false),
        ] {
            let ours = self.targets_mut(kind, add);
            for target in other.targets(kind, add) {
                if !ours.iter().any(|t| t.eq_ignore_ascii_case(target)) {
                    ours.push(target.clone());
                }
            }
        }
    }

    /// The CSV line, formula-safe, stamped with the run.
    pub fn record(&self, stamp: &RunStamp) -> Vec<String> {
        let finished_at = if self.finished_at.is_empty() {
            utc_now()
        } else {
            self.finished_at.clone()
        };
        let mut record = vec![
            self.row.to_string(),
            self.username.clone(),
            self.outcome.as_str().to_string(),
            self.user_id.clone(),
            FieldChange::format(&self.changes),
            self.groups_added.join(";"),
            self.groups_removed.join(";"),
            self.applications_added.join(";"),
            self.applications_removed.join(";"),
            self.http_status.map(|s| s.to_string()).unwrap_or_default(),
            self.attempts.to_string(),
            self.error.clone(),
            finished_at,
            if self.done_by.is_empty() {
                stamp.run_id.clone()
            } else {
                self.done_by.clone()
            },
            stamp.tenant.clone(),
            // A row an earlier run did belongs to that run's snapshot.
            if self.done_by.is_empty() {
                stamp.snapshot.clone()
            } else {
                String::new()
            },
        ];
        // Sealed where it is written, as the next link of its file's chain.
        debug_assert_eq!(record.len(), SEAL_AT);
        record.push(String::new());
        record.extend(self.cells.iter().cloned());
        record.into_iter().map(neutralize_owned).collect()
    }
}

/// How a results or plan file is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FileRules {
    /// Replace an existing file.
    pub force: bool,
    /// Start with a UTF-8 byte-order mark (`--excel`).
    pub excel: bool,
}

/// The run an earlier results file at `path` records, read from its first
/// line that names one (never the whole file: a results file may hold a
/// million rows); `None` when it is not a results file.
fn first_run_id(path: &Path) -> Option<Option<String>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .ok()?;
    let header: Vec<String> = reader.headers().ok()?.iter().map(str::to_string).collect();
    // (Older results files have no run_id column: kept as `earlier`.)
    let Some(&at) = result_columns(&header)?.get("run_id") else {
        return Some(None);
    };
    let found = reader
        .records()
        .map_while(Result::ok)
        .filter_map(|record| record.get(at).map(str::to_string))
        .find(|id| !id.is_empty());
    Some(found)
}

/// Moves an earlier run's record at `path` (its results, journal and
/// intents; its created groups copied) to `<stem>.replaced-<its run
/// id>.csv` beside it (0600 as it was), as `--force` does before a run
/// writes there, so that replacing a results file never loses the record
/// of a run. Anything else at `path` is left to the file rules.
pub fn set_aside(path: &Path, inputs: &[&Path]) -> Result<(), OutputError> {
    let is_file = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_file());
    // A run killed before it opened its results left only its intents.
    let marked_only = !is_file && killed_before_results(path);
    if !(is_file || marked_only)
        || inputs
            .iter()
            .any(|i| crate::output::files::same_file(i, path))
    {
        return Ok(());
    }
    let run_id = match is_file {
        true => match first_run_id(path) {
            Some(run_id) => run_id,
            None => return Ok(()),
        },
        false => None,
    };
    // A run killed before its first line is named by its mark.
    let marked = || {
        super::intents::Intents::read(path)
            .ok()?
            .into_iter()
            .find(|intent| intent.is_run_mark())
            .map(|mark| mark.run_id)
    };
    // (Only a name sebulk could have made goes into the file name.)
    let run_id = run_id
        .or_else(marked)
        .filter(|id| id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'))
        .unwrap_or_else(|| "earlier".to_string());
    let stem = path
        .file_stem()
        .map_or_else(|| "results".into(), |s| s.to_string_lossy().into_owned());
    let name = |n: u32| match n {
        1 => format!("{stem}.replaced-{run_id}.csv"),
        n => format!("{stem}.replaced-{run_id}-{n}.csv"),
    };
    let mut n = 1;
    while path.with_file_name(name(n)).exists() {
        n += 1;
    }
    let kept = path.with_file_name(name(n));
    // A killed run's journal goes with its results: undo reads both.
    let journal = journal_path(path);
    if journal.exists() {
        std::fs::rename(&journal, journal_path(&kept)).map_err(|e| OutputError::io(&journal, e))?;
    }
    // And its intents: what a killed run had on the wire, and its mark.
    let intents = super::intents::Intents::path_for(path);
    if intents.exists() {
        let kept_intents = super::intents::Intents::path_for(&kept);
        std::fs::rename(&intents, kept_intents).map_err(|e| OutputError::io(&intents, e))?;
    }
    // So do the groups its runs created (copied: a run resumed from them
    // goes on in the same list).
    let groups = super::created_groups::path_for(path);
    if groups.exists() {
        std::fs::copy(&groups, super::created_groups::path_for(&kept))
            .map_err(|e| OutputError::io(&groups, e))?;
    }
    if !is_file {
        return Ok(());
    }
    std::fs::rename(path, &kept).map_err(|e| OutputError::io(path, e))
}

/// Whether a run killed before it opened the results file `path` left
/// its intents there (its mark, and what it had on the wire).
pub fn killed_before_results(path: &Path) -> bool {
    !path.exists() && super::intents::Intents::path_for(path).exists()
}

/// How a results file's lines are sealed as they are written.
struct SealedLines {
    key: crate::model::SealKey,
    /// The results' final name, beside which the run records the groups
    /// it creates (a resumed run writes beside it first, then renames).
    recorded_as: PathBuf,
    chain: super::line_chain::LineChain,
    /// The line written last, held back until the next (or the end) says
    /// whether it is the last.
    held: Option<Vec<String>>,
    /// The runs its lines name: the last line binds their created groups.
    run_ids: std::collections::BTreeSet<String>,
}

/// A line waiting for the rows before it, its cells in one allocation:
/// each cell's length (4 bytes) and then its bytes.
struct PackedLine(Box<[u8]>);

impl PackedLine {
    fn pack(cells: &[String]) -> Self {
        let size = cells.iter().map(|cell| 4 + cell.len()).sum();
        let mut packed = Vec::with_capacity(size);
        for cell in cells {
            // A cell is a CSV field read or made in memory: far below 4 GB.
            let len = u32::try_from(cell.len()).unwrap_or(u32::MAX);
            packed.extend_from_slice(&len.to_le_bytes());
            packed.extend_from_slice(&cell.as_bytes()[..len as usize]);
        }
        PackedLine(packed.into_boxed_slice())
    }

    fn unpack(&self) -> Vec<String> {
        let mut cells = Vec::new();
        let mut rest: &[u8] = &self.0;
        while let Some((len, tail)) = rest.split_first_chunk::<4>() {
            let len = (u32::from_le_bytes(*len) as usize).min(tail.len());
            let (cell, tail) = tail.split_at(len);
            // Packed from whole strings, so every cell is whole UTF-8.
            cells.push(String::from_utf8_lossy(cell).into_owned());
            rest = tail;
        }
        cells
    }
}

/// A CSV file whose lines are numbered rows written in row order as they
/// finish (results and plans alike).
pub struct OrderedCsv {
    writer: csv::Writer<Stream>,
    path: PathBuf,
    /// Lines that finished ahead of an earlier row, packed (a fraction of
    /// the size of their cells as strings): a slow row can hold thousands
    /// of them.
    pending: BTreeMap<u64, PackedLine>,
    next_row: u64,
    written: u64,
    /// A results file's: how its lines are sealed.
    chain: Option<SealedLines>,
    /// A plan's: the digest so far, the seal to close it with, the header.
    sealing: Option<(
        crate::output::plan_file::Sealing,
        crate::output::plan_file::PlanSeal,
        Vec<String>,
    )>,
}

impl OrderedCsv {
    /// Creates the file (0600; `-` for standard output) with `header`;
    /// `excel` starts it with a UTF-8 byte-order mark.
    pub fn create(
        path: &Path,
        rules: FileRules,
        inputs: &[&Path],
        header: &[String],
    ) -> Result<Self, OutputError> {
        let mut file = Stream::create(path, rules.force, inputs)?;
        if rules.excel {
            std::io::Write::write_all(&mut file, "\u{feff}".as_bytes())
                .map_err(|e| OutputError::io(path, e))?;
        }
        let mut writer = csv::WriterBuilder::new().flexible(false).from_writer(file);
        writer
            .write_record(header)
            .map_err(|e| OutputError::io(path, e.into()))?;
        writer.flush().map_err(|e| OutputError::io(path, e))?;
        Ok(OrderedCsv {
            writer,
            path: path.to_path_buf(),
            pending: BTreeMap::new(),
            next_row: 1,
            written: 0,
            chain: None,
            sealing: None,
        })
    }

    /// A plan file: `header` and every line go into a digest, and the
    /// file ends with `seal` closing them (see `plan_file`).
    pub fn plan(
        path: &Path,
        rules: FileRules,
        inputs: &[&Path],
        header: &[String],
        seal: crate::output::plan_file::PlanSeal,
    ) -> Result<Self, OutputError> {
        let mut file = Self::create(path, rules, inputs, header)?;
        let mut sealing = crate::output::plan_file::Sealing::default();
        sealing.take(header);
        file.sealing = Some((sealing, seal, header.to_vec()));
        Ok(file)
    }

    /// A results file: the fixed columns, then the input's own header.
    /// An earlier run's results at `path` are the record of what that run
    /// did (undo reads it): `--force` moves them aside, never deletes them.
    /// Its lines are sealed under the tenant's `key` as one chain (see
    /// [`super::line_chain`]), the last binding the groups recorded beside
    /// `recorded_as` (the file's final name; `path` when none is given).
    pub fn results(
        path: &Path,
        rules: FileRules,
        (inputs, input_header): (&[&Path], &[String]),
        (key, recorded_as): (Option<&crate::model::SealKey>, Option<&Path>),
    ) -> Result<Self, OutputError> {
        let sealing = key.map(|key| (key.clone(), recorded_as.unwrap_or(path)));
        if rules.force {
            set_aside(path, inputs)?;
        }
        let mut file = Self::create(path, rules, inputs, &results_header(input_header))?;
        file.chain = sealing.map(|(key, recorded_as)| SealedLines {
            chain: super::line_chain::LineChain::new(key.clone()),
            key,
            recorded_as: recorded_as.to_path_buf(),
            held: None,
            run_ids: std::collections::BTreeSet::new(),
        });
        Ok(file)
    }

    /// Accepts row `row`'s line and writes every line that is now in order.
    pub fn push(&mut self, row: u64, record: Vec<String>) -> Result<(), OutputError> {
        if row != self.next_row {
            self.pending.insert(row, PackedLine::pack(&record));
            return Ok(());
        }
        self.write_line(record)?;
        while let Some(line) = self.pending.remove(&self.next_row) {
            self.write_line(line.unpack())?;
        }
        self.writer
            .flush()
            .map_err(|e| OutputError::io(&self.path, e))
    }

    /// Writes the next row's line (into the digest too, for a plan).
    fn write_line(&mut self, record: Vec<String>) -> Result<(), OutputError> {
        if let Some((sealing, _, _)) = &mut self.sealing {
            sealing.take(&record);
        }
        self.next_row += 1;
        self.written += 1;
        if let Some(sealed) = &mut self.chain {
            if let Some(run_id) = record.get(RUN_ID_AT)
                && !sealed.run_ids.contains(run_id)
            {
                sealed.run_ids.insert(run_id.clone());
            }
            let Some(mut earlier) = sealed.held.replace(record) else {
                return Ok(());
            };
            sealed.chain.seal(&mut earlier, SEAL_AT, None);
            return self
                .writer
                .write_record(&earlier)
                .map_err(|e| OutputError::io(&self.path, e.into()));
        }
        self.writer
            .write_record(&record)
            .map_err(|e| OutputError::io(&self.path, e.into()))
    }

    /// Whether the line written last is held back (a sealed results
    /// file's, until the next line or the end).
    pub fn holds_back(&self) -> bool {
        self.chain.is_some()
    }

    /// The row whose line is written next (rows after it wait).
    pub fn next_row(&self) -> u64 {
        self.next_row
    }

    /// Flushes and syncs; every row must have been pushed.
    pub fn finish(mut self) -> Result<PathBuf, OutputError> {
        if let Some(row) = self.pending.keys().next() {
            return Err(OutputError::io(
                &self.path,
                std::io::Error::other(format!(
                    "row {} finished but row {} never did",
                    row, self.next_row
                )),
            ));
        }
        if let Some(SealedLines {
            key,
            recorded_as,
            mut chain,
            held: Some(mut last),
            run_ids,
        }) = self.chain.take()
        {
            let bound = match recorded_as == Path::new("-") {
                true => String::new(),
                false => super::created_groups::bound(&recorded_as, &run_ids, &key)
                    .map_err(|why| OutputError::read(&self.path, std::io::Error::other(why)))?,
            };
            chain.seal(&mut last, SEAL_AT, Some(&bound));
            self.writer
                .write_record(&last)
                .map_err(|e| OutputError::io(&self.path, e.into()))?;
        }
        if let Some((sealing, seal, header)) = self.sealing.take() {
            self.writer
                .write_record(sealing.close(seal, &header))
                .map_err(|e| OutputError::io(&self.path, e.into()))?;
        }
        self.writer
            .flush()
            .map_err(|e| OutputError::io(&self.path, e))?;
        let mut file = self
            .writer
            .into_inner()
            .map_err(|e| OutputError::io(&self.path, e.into_error()))?;
        file.sync().map_err(|e| OutputError::io(&self.path, e))?;
        Ok(self.path)
    }
}

/// Where a results line's seal stands: after the other fixed columns.
pub const SEAL_AT: usize = RESULT_COLUMNS.len() - 1;

/// Where a results line names its run.
pub const RUN_ID_AT: usize = 13;

/// A results file's header: the fixed columns, then the input's.
pub fn results_header(input_header: &[String]) -> Vec<String> {
    RESULT_COLUMNS
        .iter()
        .map(|c| c.to_string())
        .chain(input_header.iter().cloned())
        .collect()
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

/// Where the journal of the results file `results` is (see
/// [`Journal`](super::reader::Journal)).
pub fn journal_path(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".journal");
    PathBuf::from(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_run_id_stands_where_its_column_is() {
        assert_eq!(RESULT_COLUMNS[RUN_ID_AT], "run_id");
        assert_eq!(RESULT_COLUMNS[SEAL_AT], "line_seal");
    }

    #[test]
    fn a_waiting_line_comes_back_cell_for_cell() {
        let cells: Vec<String> = ["", "ana", "Zoë \u{1F600}", "a,\"b\"\n", ""]
            .iter()
            .map(|c| c.to_string())
            .collect();
        assert_eq!(PackedLine::pack(&cells).unpack(), cells);
        assert!(PackedLine::pack(&[]).unpack().is_empty());
    }

    #[test]
    fn changes_and_timestamps() {
        let changes = vec![
            FieldChange {
                field: "mobile".into(),
                old: String::new(),
                new: "+44 20".into(),
            },
            FieldChange {
                field: "password".into(),
                old: "secret-old".into(),
                new: "secret-new".into(),
            },
        ];
        let cell = FieldChange::format(&changes);
        assert_eq!(cell, "mobile: \"\" → \"+44 20\"; password set");
        assert!(!cell.contains("secret"));
        let back = FieldChange::parse(&cell).unwrap();
        assert_eq!(back[0], changes[0]);
        assert_eq!(back[1].field, "password");
        assert_eq!(FieldChange::parse(""), Some(Vec::new()));
        assert_eq!(FieldChange::parse("not changes"), None);
    }
}
