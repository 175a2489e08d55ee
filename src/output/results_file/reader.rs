//! Results files read back, and the journal beside them: what `--resume`
//! starts from, what undo trusts, and the rows a crash left unsettled. A line cut short
//! by a crash is a row to do again; a row that names no tenant is refused,
//! since which directory it changed cannot be told.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::writer::{Outcome, RowResult, RunStamp, result_columns, results_header};
use crate::model::{FieldChange, SealKey};
use crate::output::files::OutputError;
use crate::output::files::Stream;

/// A journal beside a results file: each row's user outcome the moment
/// it is known (before its group and application changes are answered),
/// so a run killed at any moment leaves a record of every user it wrote.
/// It goes when the results file is complete and says what every
/// journaled row did (a row that failed after its user was written keeps
/// it, for `--resume`).
pub struct Journal {
    writer: csv::Writer<Stream>,
    path: PathBuf,
    /// Its lines' seals, one chain (none: an unsealed run).
    chain: Option<super::line_chain::LineChain>,
    /// The rows it holds (carried over, or noted by this run).
    rows: std::collections::BTreeSet<u64>,
    /// The writes about to be sent, beside it (see [`super::intents`]).
    intents: std::sync::Arc<super::intents::Intents>,
}

impl Journal {
    /// The journal of the results file `results`.
    pub fn path_for(results: &Path) -> PathBuf {
        super::writer::journal_path(results)
    }

    /// Starts the journal of `results` (replacing an old one), carrying
    /// over `carried`: what an earlier journal recorded that is still
    /// settled by no results file, so repeated crashes lose nothing.
    pub fn create(
        results: &Path,
        input_header: &[String],
        (carried, in_flight): (&[&Recorded], &[super::intents::Intent]),
        run: &RunStamp,
    ) -> Result<Self, OutputError> {
        let path = Self::path_for(results);
        let file = Stream::create(&path, true, &[results])?;
        let mut writer = csv::WriterBuilder::new().flexible(false).from_writer(file);
        writer
            .write_record(results_header(input_header))
            .map_err(|e| OutputError::io(&path, e.into()))?;
        let mut chain = run.key.clone().map(super::line_chain::LineChain::new);
        for recorded in carried {
            // Sealed anew under this run's key (the same tenant's).
            let record = seal_next(&mut chain, recorded.result.record(&recorded.stamp));
            writer
                .write_record(record)
                .map_err(|e| OutputError::io(&path, e.into()))?;
        }
        writer.flush().map_err(|e| OutputError::io(&path, e))?;
        let intents = std::sync::Arc::new(super::intents::Intents::create(
            results,
            in_flight,
            (&run.run_id, run.key.clone()),
        )?);
        Ok(Journal {
            writer,
            path,
            chain,
            rows: carried.iter().map(|r| r.result.row).collect(),
            intents,
        })
    }

    /// Where the run's rows record each write before it is sent.
    pub fn intents(&self) -> std::sync::Arc<super::intents::Intents> {
        self.intents.clone()
    }

    /// Records a row whose user was written.
    pub fn note(&mut self, result: &RowResult, stamp: &RunStamp) -> Result<(), OutputError> {
        self.rows.insert(result.row);
        let record = seal_next(&mut self.chain, result.record(stamp));
        self.writer
            .write_record(record)
            .and_then(|()| self.writer.flush().map_err(Into::into))
            .map_err(|e| OutputError::io(&self.path, e.into()))
    }

    /// Whether it holds row `row` (its user was written).
    pub fn holds(&self, row: u64) -> bool {
        self.rows.contains(&row)
    }

    /// The results file is complete: the journal goes.
    pub fn close(self) -> Result<(), OutputError> {
        drop(self.writer);
        self.intents.close()?;
        std::fs::remove_file(&self.path).map_err(|e| OutputError::io(&self.path, e))
    }
}

/// `record` sealed as the next line of a journal (which never ends: it
/// goes when its run does).
fn seal_next(
    chain: &mut Option<super::line_chain::LineChain>,
    mut record: Vec<String>,
) -> Vec<String> {
    if let Some(chain) = chain {
        chain.seal(&mut record, super::writer::SEAL_AT, None);
    }
    record
}

/// What `--resume` starts from: the results file's rows, and the
/// journal's rows whose users were written but which the results file
/// does not settle (absent, or recorded as not done).
#[derive(Debug, Default)]
pub struct Resumed {
    pub done: BTreeMap<u64, Recorded>,
    pub journaled: BTreeMap<u64, Recorded>,
    /// Writes the run was about to send for rows neither file settles:
    /// a kill may have left them on the wire.
    pub in_flight: Vec<super::intents::Intent>,
}

/// Whose records a resume trusts: lines sealed under `key`, the key of
/// `tenant` (see [`Resumed::read`]).
#[derive(Debug, Clone, Copy)]
pub struct SealedFor<'a> {
    pub key: &'a SealKey,
    pub tenant: &'a str,
}

impl Resumed {
    /// Reads the results file `path` and its journal, if there is one,
    /// for `--resume`, with the membership calls its intents sealed under
    /// the tenant's key laid over the journaled rows (see
    /// `with_sent_memberships`). With `sealed`, a file whose lines do not
    /// all verify under the tenant's key is refused (see
    /// [`Resumed::refuse_unsealed`]).
    pub fn read(path: &Path, sealed: Option<SealedFor<'_>>) -> Result<Self, OutputError> {
        let resumed = Self::read_with(path, false, sealed.map(|s| s.key))?;
        if let Some(sealed) = sealed {
            resumed.refuse_unsealed(path, sealed)?;
        }
        Ok(resumed)
    }

    /// A resume carries the lines it takes as done into a new results
    /// file, sealed afresh under the run's key: a line edited, forged or
    /// spliced in by hand would come out sealed, and undo would act on
    /// it. So the results file and its journal must verify line by line
    /// under the tenant's key first, and a results file with no journal
    /// beside it must end as its run ended, as undo demands. A file none of whose
    /// rows name this tenant is read as it is (none of its rows is taken
    /// as done: the resume's own check of the tenant column).
    fn refuse_unsealed(&self, path: &Path, sealed: SealedFor<'_>) -> Result<(), OutputError> {
        use crate::model::SealCheck;
        let ours = self
            .done
            .values()
            .chain(self.journaled.values())
            .any(|recorded| recorded.stamp.tenant == sealed.tenant);
        if !ours {
            return Ok(());
        }
        let refused = |file: &Path, why: String| {
            OutputError::read(
                file,
                std::io::Error::other(format!(
                    "{why}; --resume takes a row as done only on a line sealed under this tenant's key, so nothing was sent: resume from the file as its run left it, or run again without --resume"
                )),
            )
        };
        let checks = match check_record_seals(path, sealed.key) {
            Ok((checks, _)) => checks,
            Err(OutputError::Read { path, source }) => {
                return Err(refused(Path::new(&path), source.to_string()));
            }
            Err(other) => return Err(other),
        };
        match checks
            .iter()
            .find(|(_, check)| *check != SealCheck::Verified)
        {
            None => Ok(()),
            Some((file, SealCheck::Unkeyed)) => Err(refused(
                file,
                "its lines carry no seal (written by an older sebulk, or edited)".to_string(),
            )),
            Some((file, _)) => Err(refused(
                file,
                "its seals do not verify under this tenant's key".to_string(),
            )),
        }
    }

    /// As [`Resumed::read`], refusing a results file that cannot be read
    /// whole (see [`read_results_checked`]): what undo trusts.
    pub fn read_checked(path: &Path, key: Option<&SealKey>) -> Result<Self, OutputError> {
        Self::read_with(path, true, key)
    }

    fn read_with(path: &Path, checked: bool, key: Option<&SealKey>) -> Result<Self, OutputError> {
        let journal = Journal::path_for(path);
        if !checked && super::writer::killed_before_results(path) {
            // Killed before its results file was opened (it was creating
            // the groups its rows need): nothing done yet but those.
            let mut in_flight = super::intents::Intents::read(path)?;
            if let Some(key) = key {
                in_flight.retain(|intent| intent.verifies(key));
            }
            return Ok(Resumed {
                in_flight,
                ..Resumed::default()
            });
        }
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
        let (sent, mut in_flight): (Vec<_>, Vec<_>) = super::intents::Intents::read(path)?
            .into_iter()
            .filter(|intent| !done.get(&intent.row).is_some_and(|d| d.outcome.succeeded()))
            .partition(|intent| journaled.contains_key(&intent.row));
        if let Some(key) = key {
            with_sent_memberships(&mut journaled, &sent, key);
            // A line added by hand (or under another tenant's key) says
            // nothing was on the wire: undo would call a user uncertain
            // on its word.
            in_flight.retain(|intent| intent.verifies(key));
        }
        Ok(Resumed {
            done,
            journaled,
            in_flight,
        })
    }

    /// The runs whose rows (or writes on the wire) it holds.
    pub fn run_ids(&self) -> Vec<String> {
        let mut runs: Vec<String> = self
            .done
            .values()
            .chain(self.journaled.values())
            .map(|r| r.stamp.run_id.clone())
            .chain(self.in_flight.iter().map(|i| i.run_id.clone()))
            .filter(|run| !run.is_empty())
            .collect();
        runs.sort();
        runs.dedup();
        runs
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

/// The line seals of the results file `results` and of its journal, if
/// one is beside it, under `key` (see [`check_line_seals`]): how each
/// file reads, and whether the results file ends with the line its run
/// sealed last. Without its journal a results file is a finished run's
/// and must end so (lines taken off its end refuse it); a journal never
/// ends. What `--resume` and undo both hold a file to.
pub fn check_record_seals(
    results: &Path,
    key: &SealKey,
) -> Result<(Vec<(PathBuf, crate::model::SealCheck)>, bool), OutputError> {
    let journal = Journal::path_for(results);
    let finished = !journal.exists();
    let (check, ended) = check_line_seals(results, key, finished)?;
    let mut checks = vec![(results.to_path_buf(), check)];
    if !finished {
        checks.push((journal.clone(), check_line_seals(&journal, key, false)?.0));
    }
    Ok((checks, ended))
}

/// How the lines of the results file (or journal) `path` read under the
/// tenant's `key`: every line sealed by it, as one chain
/// ([`SealCheck::Verified`], see [`super::line_chain`]), or written by an
/// older sebulk, with no `line_seal` column at all
/// ([`SealCheck::Unkeyed`]). A line whose seal does not follow the line
/// before it — edited after it was written, its seal blanked, taken out,
/// moved, or spliced in from another run's file, its fixed columns
/// renamed or moved, or sealed under another tenant's key — refuses the
/// file; so does a file that must be `finished` (a results file whose run
/// left no journal) and does not end with the line its run sealed last
/// (lines taken off its end). A line cut short (a kill) is left to the
/// reader of the lines. With the check, whether the file ends with the
/// line its run sealed last (a run that finished, though a row that
/// failed after its user was written keeps its journal beside it).
pub fn check_line_seals(
    path: &Path,
    key: &crate::model::SealKey,
    finished: bool,
) -> Result<(crate::model::SealCheck, bool), OutputError> {
    use super::line_chain::{LineChain, Link};
    use crate::model::SealCheck;
    let refused = |why: String| OutputError::read(path, std::io::Error::other(why));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| refused(e.to_string()))?;
    let header: Vec<String> = reader
        .headers()
        .map_err(|e| refused(e.to_string()))?
        .iter()
        .map(str::to_string)
        .collect();
    let fixed = &super::writer::RESULT_COLUMNS;
    if !header.iter().any(|name| name == "line_seal") {
        // How such a file ended cannot be told.
        return sealed_since(&mut reader, &header)
            .map(|check| (check, false))
            .map_err(refused);
    }
    if header.len() < fixed.len() || header[..fixed.len()] != fixed[..] {
        return Err(refused(
            "its header's own columns are not sebulk's, in sebulk's order: the file was edited; nothing is trusted".to_string(),
        ));
    }
    // A last line with no line end was cut by a kill: the reader of the
    // lines judges it, not its seal.
    let whole = ends_with_line_end(path);
    // Read twice, never held whole (a results file may hold a million
    // rows): first how many lines there are and the runs they name, then
    // each line against the chain.
    let (mut count, mut run_ids, mut cut_run) = (0usize, BTreeSet::new(), None);
    for record in reader.records() {
        let record = record.map_err(|e| refused(e.to_string()))?;
        count += 1;
        run_ids.extend(cut_run.take());
        cut_run = record.get(super::writer::RUN_ID_AT).map(str::to_string);
    }
    if whole {
        run_ids.extend(cut_run);
    } else {
        if finished {
            return Err(refused(format!(
                "line {}: {CUT}, and no journal of a killed run is beside it: the file cannot be trusted as the run's record, so nothing is undone",
                count + 1
            )));
        }
        count = count.saturating_sub(1);
    }
    // The last line of a finished file binds its runs' created groups
    // (a journal's never is the last: nothing beside it is bound).
    let bound = super::created_groups::bound(path, &run_ids, key).map_err(refused)?;
    let mut chain = LineChain::new(key.clone());
    let mut last = None;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| refused(e.to_string()))?;
    for (number, record) in reader.records().take(count).enumerate() {
        let record = record.map_err(|e| refused(e.to_string()))?;
        let line = number + 2;
        if record.len() != header.len() {
            return Err(refused(format!(
                "line {line}: {} cells where the header has {}: the file was edited; nothing is undone on its word",
                record.len(),
                header.len()
            )));
        }
        if last == Some(Link::Last) {
            return Err(refused(format!(
                "line {line}: lines follow the one its run sealed as the file's last: they were added after it was written; nothing is undone on its word"
            )));
        }
        let cells: Vec<String> = record.iter().map(str::to_string).collect();
        match chain.follow(&cells, super::writer::SEAL_AT, &bound) {
            Ok(link) => last = Some(link),
            // Every line sebulk writes under the column is sealed.
            Err(SealCheck::Unkeyed) => {
                return Err(refused(format!(
                    "line {line}: its seal is missing, though the file has sebulk's line_seal column: it was blanked after the line was written; nothing is undone on its word (--accept-old-seal is for files older sebulk wrote without the column)"
                )));
            }
            Err(_) if finished && number + 1 == count => {
                return Err(refused(format!(
                    "line {line}: its seal does not verify under this tenant's key as the file's last line: the line was changed or moved, lines were taken off the end, or lines were taken out of the list of groups its run created ({}) or the list taken away; nothing is undone on its word",
                    super::created_groups::path_for(path).display()
                )));
            }
            Err(_) => {
                return Err(refused(format!(
                    "line {line}: its seal does not verify under this tenant's key as the line after the one before it: the line was changed, or a line was taken out, moved or added after the file was written (or it was written for another tenant, or under an API key since rotated); nothing is undone on its word"
                )));
            }
        }
    }
    if finished && last == Some(Link::Follows) {
        return Err(refused(format!(
            "it ends at line {} with a line its run did not seal as the last: lines were taken off its end after it was written (a run killed mid-way leaves its journal beside the file); nothing is undone on its word",
            count + 1
        )));
    }
    Ok((SealCheck::Verified, last == Some(Link::Last)))
}

/// Lays the membership calls an earlier run was sending for its journaled
/// rows (`sent`: their intent lines; only those sebulk wrote, sealed under
/// the tenant's `key`) over those rows' records, by target id: a kill or
/// an abort can cut a membership call on the wire after the row's journal
/// line, so its user may hold the membership though no line says so.
/// Undo then takes back what landed (and finds no "change since the run"
/// in it), and a resumed run's line keeps it.
fn with_sent_memberships(
    journaled: &mut BTreeMap<u64, Recorded>,
    sent: &[super::intents::Intent],
    key: &SealKey,
) {
    for intent in sent {
        let (Some((kind, add, id)), Some(recorded)) =
            (intent.membership(), journaled.get_mut(&intent.row))
        else {
            continue;
        };
        if !intent.verifies(key) {
            continue;
        }
        let targets = recorded.result.targets_mut(kind, add);
        if !targets.iter().any(|t| t == id) {
            targets.push(id.to_string());
        }
    }
}

/// The day sebulk began sealing every results line (`YYYYMMDD`, as run
/// ids carry it): a run since then wrote a `line_seal` column.
const SEALED_SINCE: &str = "20261207";

/// [`SealCheck::Unkeyed`] for a file without a `line_seal` column, unless
/// a line names a run from the days every line was sealed: then the
/// column was taken out by hand (to pass a forged line as an older
/// sebulk's), and the file is refused whatever `--accept-old-seal` says.
/// Whether the file at `path` ends with a line end (an empty or unreadable
/// file counts as whole), read from its last byte alone.
fn ends_with_line_end(path: &Path) -> bool {
    use std::io::{Read, Seek, SeekFrom};
    let Ok(mut file) = std::fs::File::open(path) else {
        return true;
    };
    let mut last = [0u8; 1];
    match file.seek(SeekFrom::End(-1)) {
        Ok(_) => file
            .read_exact(&mut last)
            .map_or(true, |()| last[0] == b'\n'),
        Err(_) => true,
    }
}

fn sealed_since(
    reader: &mut csv::Reader<std::fs::File>,
    header: &[String],
) -> Result<crate::model::SealCheck, String> {
    let Some(run_at) = header.iter().position(|name| name == "run_id") else {
        return Ok(crate::model::SealCheck::Unkeyed);
    };
    for (number, record) in reader.records().enumerate() {
        let Ok(record) = record else { continue };
        let run_id = record.get(run_at).unwrap_or_default();
        let day = run_id
            .split('-')
            .find(|part| part.len() >= 8 && part.as_bytes()[..8].iter().all(u8::is_ascii_digit))
            .map(|part| &part[..8]);
        if day.is_some_and(|day| day >= SEALED_SINCE) {
            return Err(format!(
                "line {}: run {run_id} is from the days sebulk seals every results line, yet the file has no line_seal column: it was taken out after the file was written; refused, whatever --accept-old-seal says",
                number + 2
            ));
        }
    }
    Ok(crate::model::SealCheck::Unkeyed)
}

/// What an earlier run recorded for one row.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub outcome: Outcome,
    pub result: RowResult,
    /// The run and tenant the row belongs to (empty in older files).
    pub stamp: RunStamp,
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
        key: None,
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
        if record.get(0) == Some(crate::output::plan_file::SEAL_MARK) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::output::results_file::writer::{FileRules, OrderedCsv};

    fn stamp() -> RunStamp {
        RunStamp {
            run_id: "run-1".into(),
            tenant: "https://acme/api".into(),
            snapshot: String::new(),
            key: None,
        }
    }

    fn sealed_for(key: &SealKey) -> SealedFor<'_> {
        SealedFor {
            key,
            tenant: "https://acme/api",
        }
    }

    /// A sealed results file `r.csv` in `dir` with one input column, its
    /// run's stamp and key: (path, stamp, key, input header, the file).
    fn sealed_results(dir: &Path) -> (PathBuf, RunStamp, SealKey, [String; 1], OrderedCsv) {
        let results = dir.join("r.csv");
        let key = SealKey::derive("k", "https://acme/api");
        let run = RunStamp {
            key: Some(key.clone()),
            ..stamp()
        };
        let input = ["username".to_string()];
        let rules = FileRules::default();
        let lines = OrderedCsv::results(&results, rules, (&[], &input), (Some(&key), None));
        (results, run, key, input, lines.unwrap())
    }

    #[test]
    fn a_resume_refuses_a_results_line_edited_forged_or_unsealed() {
        let dir = tempfile::tempdir().unwrap();
        let (results, run, key, _, mut lines) = sealed_results(dir.path());
        for (row, name) in [(1, "ana"), (2, "bo")] {
            let result = RowResult::new(row, name, Outcome::Unchanged, vec![name.to_string()]);
            lines.push(row, result.record(&run)).unwrap();
        }
        lines.finish().unwrap();
        assert_eq!(
            Resumed::read(&results, Some(sealed_for(&key)))
                .unwrap()
                .done
                .len(),
            2,
            "as written, it is read"
        );
        let text = std::fs::read_to_string(&results).unwrap();
        let edited = dir.path().join("edited.csv");
        std::fs::write(&edited, text.replacen(",unchanged,", ",created,", 1)).unwrap();
        let refused = Resumed::read(&edited, Some(sealed_for(&key))).unwrap_err();
        assert!(
            refused.to_string().contains("nothing was sent"),
            "{refused}"
        );
        // Another tenant's key does not verify this tenant's lines.
        let other = SealKey::derive("k2", "https://acme/api");
        assert!(Resumed::read(&results, Some(sealed_for(&other))).is_err());
        // Seals blanked: refused, not read as an older file.
        let blank: String = text
            .lines()
            .map(|line| match line.find("hmac-sha256:") {
                Some(at) => format!("{}{}", &line[..at], &line[at + 12 + 64..]),
                None => line.to_string(),
            })
            .collect::<Vec<_>>()
            .join("\n");
        let blanked = dir.path().join("blanked.csv");
        std::fs::write(&blanked, blank + "\n").unwrap();
        assert!(Resumed::read(&blanked, Some(sealed_for(&key))).is_err());
        // Its last line taken off: a finished run's file (no journal) that
        // no longer ends as it ended.
        let cut = dir.path().join("cut.csv");
        let kept: Vec<&str> = text.lines().take(2).collect();
        std::fs::write(&cut, kept.join("\n") + "\n").unwrap();
        assert!(Resumed::read(&cut, Some(sealed_for(&key))).is_err());
        // Read without a key (tests, tools): as before.
        assert_eq!(Resumed::read(&edited, None).unwrap().done.len(), 2);
    }

    #[test]
    fn membership_calls_a_killed_run_had_on_the_wire_stay_its_record() {
        use crate::model::SealKey;
        use std::io::Write;
        let dir = tempfile::tempdir().unwrap();
        // The run wrote two users, journaled them, and had their group
        // calls on the wire when it was killed (no results line yet).
        let (results, run, key, input, lines) = sealed_results(dir.path());
        drop(lines);
        let mut journal = Journal::create(&results, &input, (&[], &[]), &run).unwrap();
        for (row, name) in [(1, "ana"), (2, "bob")] {
            let mut written = RowResult::new(row, name, Outcome::Created, vec![name.into()]);
            written.user_id = format!("u{row}");
            journal.note(&written, &run).unwrap();
        }
        let intents = journal.intents();
        intents
            .note(1, "ana", "POST /groups/g-sales/assignusers", "")
            .unwrap();
        intents
            .note(1, "ana", "POST /applications/a-slack/assignusers", "")
            .unwrap();
        intents
            .note(2, "bob", "POST /groups/g-ops/removeusers", "")
            .unwrap();
        intents.note(2, "bob", "PUT /users/u2", "").unwrap();
        drop(journal);
        // A line added by hand is taken on nobody's word.
        let mut file = std::fs::OpenOptions::new()
            .append(true)
            .open(super::super::intents::Intents::path_for(&results))
            .unwrap();
        writeln!(file, "2,bob,POST /groups/g-admins/assignusers,run-1,").unwrap();
        // A create "on the wire" for a row no file settles, its seal lifted
        // from another line: undo would call eve uncertain on its word.
        let lifted = std::fs::read_to_string(super::super::intents::Intents::path_for(&results))
            .unwrap()
            .lines()
            .find_map(|line| line.rsplit(',').next().filter(|s| s.starts_with("hmac")))
            .unwrap()
            .to_string();
        writeln!(file, "6,eve,POST /users,run-1,{lifted}").unwrap();
        drop(file);

        let resumed = Resumed::read(&results, Some(sealed_for(&key))).unwrap();
        let unsettled: Vec<_> = resumed
            .in_flight
            .iter()
            .filter(|i| !i.is_run_mark())
            .collect();
        assert!(
            unsettled.is_empty(),
            "the journal settles both rows: {unsettled:?}"
        );
        let other = SealKey::derive("k2", "https://acme/api");
        // Under another tenant's key, for another tenant: read, none of
        // its memberships taken.
        let elsewhere = Resumed::read(
            &results,
            Some(SealedFor {
                key: &other,
                tenant: "https://elsewhere/api",
            }),
        )
        .unwrap();
        assert!(elsewhere.journaled[&1].result.groups_added.is_empty());
        let unkeyed = Resumed::read(&results, None).unwrap();
        assert!(unkeyed.journaled[&1].result.groups_added.is_empty());
        assert!(
            unkeyed.in_flight.iter().any(|i| i.row == 6),
            "read as written"
        );
        assert!(
            !resumed.in_flight.iter().any(|i| i.row == 6),
            "a lifted seal is no intent"
        );
        let (ana, bob) = (&resumed.journaled[&1].result, &resumed.journaled[&2].result);
        assert_eq!(ana.groups_added, vec!["g-sales"]);
        assert_eq!(ana.applications_added, vec!["a-slack"]);
        assert_eq!(bob.groups_removed, vec!["g-ops"]);
        assert!(
            bob.groups_added.is_empty(),
            "the unsealed line is not taken"
        );

        // A resumed run that finds ana's group landed keeps it as the
        // earlier run's, beside what it did itself (once by name).
        let mut again = RowResult::new(1, "ana", Outcome::Unchanged, vec!["ana".into()]);
        again.user_id = "u1".into();
        again.groups_added = vec!["Finance".into(), "g-sales".into()];
        again.carry_over(ana);
        assert_eq!(again.outcome, Outcome::Created);
        assert_eq!(again.groups_added, vec!["Finance", "g-sales"]);
        assert_eq!(again.applications_added, vec!["a-slack"]);
    }

    #[test]
    fn rows_are_written_in_order_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let header = vec!["username".to_string(), "note".to_string()];
        let mut writer =
            OrderedCsv::results(&path, FileRules::default(), (&[], &header), (None, None)).unwrap();
        let mut second =
            RowResult::new(2, "bo", Outcome::Failed, vec!["bo".into(), "=cmd()".into()]);
        second.add_error("HTTP 400: email");
        writer.push(2, second.record(&stamp())).unwrap();
        assert_eq!(writer.next_row(), 1, "row 2 waits for row 1");
        let mut first = RowResult::new(1, "ana", Outcome::Updated, vec!["ana".into(), "".into()]);
        first.groups_added = vec!["Sales".into(), "Ops".into()];
        first.changes = vec![FieldChange {
            field: "department".into(),
            old: "Sales; \"Old\" → x".into(),
            new: "=Ops\nnew".into(),
        }];
        writer.push(1, first.record(&stamp())).unwrap();
        assert_eq!(writer.next_row(), 3, "both written");
        writer.finish().unwrap();

        let recorded = read_results(&path).unwrap();
        assert_eq!(recorded[&1].outcome, Outcome::Updated);
        assert_eq!(recorded[&1].result.groups_added, vec!["Sales", "Ops"]);
        assert_eq!(
            recorded[&1].result.changes, first.changes,
            "changes survive exactly"
        );
        assert_eq!(recorded[&1].stamp, stamp());
        assert!(!recorded[&1].result.finished_at.is_empty());
        assert_eq!(
            recorded[&2].result.cells[1], "'=cmd()",
            "formulas are neutralized"
        );
        assert_eq!(recorded[&2].result.error, "HTTP 400: email");
    }

    #[test]
    fn audit_cells_that_look_like_formulas_come_back_exactly() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let header = vec!["username".to_string()];
        let rules = FileRules {
            force: false,
            excel: true,
        };
        let mut writer = OrderedCsv::results(&path, rules, (&[], &header), (None, None)).unwrap();
        let mut row = RowResult::new(1, "=ana", Outcome::Updated, vec!["=ana".into()]);
        row.groups_added = vec!["=SUM(A1)".into(), "+Ops".into()];
        row.applications_removed = vec!["@Slack".into()];
        row.changes = vec![FieldChange {
            field: "mobile".into(),
            old: "+44 20 7946 0000".into(),
            new: "-".into(),
        }];
        writer.push(1, row.record(&stamp())).unwrap();
        writer.finish().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with('\u{feff}'), "--excel marks the file");
        assert!(
            text.contains("'=SUM(A1);+Ops"),
            "a spreadsheet shows text: {text}"
        );
        let recorded = read_results(&path).unwrap();
        let back = &recorded[&1].result;
        assert_eq!(back.username, "=ana");
        assert_eq!(back.groups_added, row.groups_added);
        assert_eq!(back.applications_removed, row.applications_removed);
        assert_eq!(back.changes, row.changes);
    }

    #[test]
    fn a_cut_line_is_ignored_and_older_files_are_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let old = "row,username,outcome,user_id,groups_added,groups_removed,applications_added,applications_removed,http_status,attempts,error";
        std::fs::write(
            &path,
            format!("{old},username\n1,ana,created,u1,,,,,201,1,,ana\n2,bo,crea"),
        )
        .unwrap();
        let recorded = read_results(&path).unwrap();
        assert_eq!(recorded.len(), 1);
        assert_eq!(recorded[&1].result.user_id, "u1");
        assert_eq!(recorded[&1].result.cells, vec!["ana"]);
        std::fs::write(&path, "row,user\n").unwrap();
        assert!(read_results(&path).is_err());
    }

    #[test]
    fn a_results_line_changed_after_it_was_written_is_refused() {
        use crate::model::{SealCheck, SealKey};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let key = SealKey::derive("k", "https://acme/api");
        let input = ["username".to_string()];
        let header = results_header(&input);
        let lines: Vec<Vec<String>> = {
            let mut writer = OrderedCsv::results(
                &path,
                FileRules::default(),
                (&[], &input),
                (Some(&key), None),
            )
            .unwrap();
            for row in 1..=3 {
                let name = format!("user{row}");
                let mut created = RowResult::new(row, &name, Outcome::Created, vec![name.clone()]);
                created.user_id = format!("u{row}");
                writer.push(row, created.record(&stamp())).unwrap();
            }
            writer.finish().unwrap();
            let mut reader = csv::Reader::from_path(&path).unwrap();
            reader
                .records()
                .map(|r| r.unwrap().iter().map(str::to_string).collect())
                .collect()
        };
        let write = |lines: &[Vec<String>]| {
            let mut writer = csv::Writer::from_path(&path).unwrap();
            writer.write_record(&header).unwrap();
            for line in lines {
                writer.write_record(line).unwrap();
            }
            writer.flush().unwrap();
        };
        let check = |finished| check_line_seals(&path, &key, finished);
        assert_eq!(check(true).unwrap(), (SealCheck::Verified, true));
        let other = SealKey::derive("k2", "https://acme/api");
        assert!(
            check_line_seals(&path, &other, true).is_err(),
            "another key"
        );
        let mut forged = lines.clone();
        forged[1][3] = "u9".into();
        write(&forged);
        assert!(check(true).is_err(), "an edited user id");
        write(&[lines[0].clone(), lines[2].clone()]);
        let taken_out = check(true).unwrap_err().to_string();
        assert!(taken_out.contains("taken out"), "{taken_out}");
        write(&lines[..2]);
        let cut = check(true).unwrap_err().to_string();
        assert!(cut.contains("taken off its end"), "{cut}");
        assert_eq!(
            check(false).unwrap(),
            (SealCheck::Verified, false),
            "a killed run's file (its journal beside it) need not end"
        );
        let mut blanked = lines.clone();
        blanked[0][SEAL_AT_TEST].clear();
        write(&blanked);
        let blanked = check(true).unwrap_err().to_string();
        assert!(blanked.contains("seal is missing"), "{blanked}");
        // An older sebulk's file has no line_seal column at all.
        let without = |cells: &[String]| -> Vec<String> {
            cells
                .iter()
                .enumerate()
                .filter(|(i, _)| *i != SEAL_AT_TEST)
                .map(|(_, c)| c.clone())
                .collect()
        };
        let mut unsealed = without(&lines[0]);
        let run_at = header.iter().position(|h| h == "run_id").unwrap();
        unsealed[run_at] = "import-20261101T101500-ab12".into();
        let mut writer = csv::Writer::from_path(&path).unwrap();
        writer.write_record(without(&header)).unwrap();
        writer.write_record(&unsealed).unwrap();
        writer.flush().unwrap();
        assert_eq!(check(true).unwrap(), (SealCheck::Unkeyed, false));
        // The column taken out of a run from the sealing days: refused.
        unsealed[run_at] = "import-20261207T101500-ab12".into();
        let mut writer = csv::Writer::from_path(&path).unwrap();
        writer.write_record(without(&header)).unwrap();
        writer.write_record(unsealed).unwrap();
        writer.flush().unwrap();
        let taken_out = check(true).unwrap_err().to_string();
        assert!(taken_out.contains("taken out"), "{taken_out}");
    }

    #[test]
    fn a_finished_file_binding_created_groups_reads_whole_with_its_journal_kept() {
        use crate::model::{SealCheck, SealKey};
        use crate::output::results_file::created_groups::{CreatedGroup, record};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.csv");
        let key = SealKey::derive("k", "https://acme/api");
        let input = ["username".to_string()];
        let rules = FileRules::default();
        let mut writer =
            OrderedCsv::results(&path, rules, (&[], &input), (Some(&key), None)).unwrap();
        let group = CreatedGroup {
            id: "g1".into(),
            name: "Night".into(),
            run_id: stamp().run_id,
        };
        record(&path, &group, &key).unwrap();
        let mut failed = RowResult::new(1, "ana", Outcome::Failed, vec!["ana".into()]);
        failed.user_id = "u1".into();
        writer.push(1, failed.record(&stamp())).unwrap();
        writer.finish().unwrap();
        // A row failed after its user was written: the journal stays, and
        // the file is read as it ends, its groups bound, whichever way.
        for finished in [true, false] {
            let read = check_line_seals(&path, &key, finished).unwrap();
            assert_eq!(read, (SealCheck::Verified, true), "finished: {finished}");
        }
        std::fs::remove_file(crate::output::results_file::created_groups::path_for(&path)).unwrap();
        assert!(
            check_line_seals(&path, &key, false).is_err(),
            "its groups list gone"
        );
    }

    const SEAL_AT_TEST: usize = crate::output::results_file::writer::SEAL_AT;
}
