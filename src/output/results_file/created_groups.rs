//! The groups a run created because its rows named them
//! (`--create-missing-groups`), kept beside its results file
//! (`RESULTS.csv.groups`, a line each: `group_id,name,run_id,line_seal`), so
//! that `undo RESULTS` can delete them again once it has taken their
//! members out. The results file holds one line per input row and has no
//! place for them.
//!
//! Invariants: a line is appended whole, sealed under the tenant's key
//! as the next link of its run's own chain (a line edited, added or taken
//! out by hand refuses the undo), and the last line of a finished results
//! file binds the tails of its runs' chains ([`bound`]): lines taken off
//! the end, or the whole file, refuse it too. The file outlives the run
//! (undo needs it) and grows by run, each line naming its run; a run
//! resumed from another carries that run's groups into its own chain
//! ([`carry`]). A group's name is written (with no id) before its
//! create is sent, and again with its id once answered: a run killed in
//! between leaves the first line alone, and undo looks the group up by
//! name.

use std::io::Write;
use std::path::{Path, PathBuf};

use std::collections::{BTreeMap, BTreeSet};

use super::line_chain::LineChain;
use crate::model::SealKey;
use crate::output::files::OutputError;

/// Where a line's seal stands: after the group's id, name and run.
const SEAL_AT: usize = 3;

/// The description a group created for a run's rows is given: what
/// tells it, found by name after a kill, from one someone else made.
pub const DESCRIPTION: &str = "created by sebulk import";

/// One group a run created.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedGroup {
    /// Empty when the run was killed before the create's answer was
    /// recorded: the group may or may not exist.
    pub id: String,
    pub name: String,
    pub run_id: String,
}

impl CreatedGroup {
    fn cells(&self) -> [&str; 3] {
        [&self.id, &self.name, &self.run_id]
    }
}

/// Where the created groups of the results file `results` are kept.
pub fn path_for(results: &Path) -> PathBuf {
    let mut name = results.as_os_str().to_owned();
    name.push(".groups");
    PathBuf::from(name)
}

/// Appends `group` to the list beside `results`, sealed by `key` after
/// its run's line before it; with an empty id, before its create is sent.
pub fn record(results: &Path, group: &CreatedGroup, key: &SealKey) -> Result<(), OutputError> {
    let path = path_for(results);
    let tails = match read_chains(results, key) {
        Ok(chains) => chains.tails,
        Err(why) => return Err(OutputError::read(&path, std::io::Error::other(why))),
    };
    let previous = tails.get(&group.run_id).map_or("", String::as_str);
    let mut line: Vec<String> = group.cells().iter().map(|c| c.to_string()).collect();
    line.push(String::new());
    LineChain::groups(key.clone(), previous).seal(&mut line, SEAL_AT, None);
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| OutputError::io(&path, e))?;
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    writer
        .write_record(&line)
        .map_err(|e| OutputError::io(&path, e.into()))?;
    let line = writer
        .into_inner()
        .map_err(|e| OutputError::io(&path, std::io::Error::other(e.to_string())))?;
    // One write: a kill leaves at most a cut last line.
    file.write_all(&line).map_err(|e| OutputError::io(&path, e))
}

/// Every line beside `results`, each verified as the next of its run's
/// chain, and the last seal of each run's chain.
struct Chains {
    groups: Vec<CreatedGroup>,
    tails: BTreeMap<String, String>,
}

/// Reads the list beside `results` (none: empty); `Err` when a line does
/// not follow its run's line before it under `key`. A last line cut by a
/// kill is left out (its group is named by nothing).
fn read_chains(results: &Path, key: &SealKey) -> Result<Chains, String> {
    let path = path_for(results);
    let mut chains = Chains {
        groups: Vec::new(),
        tails: BTreeMap::new(),
    };
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(chains),
        Err(e) => return Err(format!("{}: {e}", path.display())),
    };
    let whole = bytes.ends_with(b"\n");
    let records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(bytes.as_slice())
        .records()
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let count = records.len();
    for (at, record) in records.into_iter().enumerate() {
        if !whole && at + 1 == count {
            continue;
        }
        let line: Vec<String> = record.iter().map(str::to_string).collect();
        if line.len() != SEAL_AT + 1 {
            return Err(format!(
                "{} line {}: not a created group",
                path.display(),
                at + 1
            ));
        }
        let run_id = line[2].clone();
        let previous = chains.tails.get(&run_id).map_or("", String::as_str);
        let mut chain = LineChain::groups(key.clone(), previous);
        if chain.follow(&line, SEAL_AT, "") != Ok(super::line_chain::Link::Follows) {
            return Err(format!(
                "{} line {}: its seal does not verify under this tenant's key as the line after its run's one before it: edited, added or taken out after it was written; no group is deleted on its word",
                path.display(),
                at + 1
            ));
        }
        chains
            .tails
            .insert(run_id.clone(), chain.previous().to_string());
        chains.groups.push(CreatedGroup {
            id: line[0].clone(),
            name: line[1].clone(),
            run_id,
        });
    }
    Ok(chains)
}

/// What the last line of a finished results file at `results` binds: the
/// last seal of each of `run_ids`' created-group chains beside it, in
/// order (empty when they created none). A file whose list lost lines at
/// the end, or was taken away, no longer matches it.
pub fn bound(results: &Path, run_ids: &BTreeSet<String>, key: &SealKey) -> Result<String, String> {
    let chains = read_chains(results, key)?;
    Ok(run_ids
        .iter()
        .filter_map(|run| chains.tails.get(run).map(|tail| format!("{run}={tail};")))
        .collect())
}

/// The groups recorded beside `results` by the runs `run_ids` (none when
/// there is no such file); `Err` when a line does not verify under `key`.
/// A create sent whose answer was never recorded (a kill) is named with
/// an empty id, unless a later line of its run settles it.
pub fn read(
    results: &Path,
    key: &SealKey,
    run_ids: &[String],
) -> Result<Vec<CreatedGroup>, String> {
    let mut groups = read_chains(results, key)?.groups;
    groups.retain(|g| run_ids.contains(&g.run_id));
    // A create whose answer was recorded settles the line sent before it.
    let settled: Vec<(String, String)> = groups
        .iter()
        .filter(|g| !g.id.is_empty())
        .map(|g| (g.name.clone(), g.run_id.clone()))
        .collect();
    groups.retain(|g| !g.id.is_empty() || !settled.contains(&(g.name.clone(), g.run_id.clone())));
    Ok(groups)
}

/// Records beside `to` (under the run `run_id`) the groups that the runs
/// `from_runs` recorded beside `from`: a run resumed from a killed one
/// goes on with what it created, and undo of the resumed results must
/// find those groups by the runs they name.
pub fn carry(
    (from, from_runs): (&Path, &[String]),
    (to, run_id): (&Path, &str),
    key: &SealKey,
) -> Result<(), OutputError> {
    let groups = read(from, key, from_runs)
        .map_err(|why| OutputError::read(&path_for(from), std::io::Error::other(why)))?;
    for group in &groups {
        let carried = CreatedGroup {
            run_id: run_id.to_string(),
            ..group.clone()
        };
        record(to, &carried, key)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recorded_groups_read_back_only_as_sealed_and_by_run() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        let key = SealKey::derive("k", "https://acme/api");
        let group = |id: &str, run: &str| CreatedGroup {
            id: id.into(),
            name: format!("Team, {id}"),
            run_id: run.into(),
        };
        let sent = CreatedGroup {
            id: String::new(),
            ..group("g1", "import-1")
        };
        record(&results, &sent, &key).unwrap();
        record(&results, &group("g1", "import-1"), &key).unwrap();
        record(&results, &group("g2", "import-2"), &key).unwrap();
        let read_back = read(&results, &key, &["import-1".to_string()]).unwrap();
        assert_eq!(
            read_back,
            vec![group("g1", "import-1")],
            "sent, then settled"
        );
        let mut killed = group("", "import-2");
        killed.name = "Team, g3".into();
        record(&results, &killed, &key).unwrap();
        let read_back = read(&results, &key, &["import-2".to_string()]).unwrap();
        assert_eq!(
            read_back,
            vec![group("g2", "import-2"), killed],
            "sent, never answered"
        );
        let other = SealKey::derive("k2", "https://acme/api");
        assert!(read(&results, &other, &["import-1".to_string()]).is_err());
        let edited = std::fs::read_to_string(path_for(&results))
            .unwrap()
            .replace("g1", "g9");
        std::fs::write(path_for(&results), edited).unwrap();
        assert!(read(&results, &key, &["import-1".to_string()]).is_err());
        assert_eq!(
            read(&dir.path().join("none.csv"), &key, &[]).unwrap(),
            Vec::new()
        );
    }
}
