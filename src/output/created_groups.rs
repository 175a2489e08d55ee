//! The groups a run created because its rows named them
//! (`--create-missing-groups`), kept beside its results file
//! (`RESULTS.groups`, a line each: `group_id,name,run_id,line_seal`), so
//! that `undo RESULTS` can delete them again once it has taken their
//! members out. The results file holds one line per input row and has no
//! place for them.
//!
//! Invariants: a line is appended whole, sealed under the tenant's key
//! like a results line (a line edited or added by hand refuses the undo);
//! the file outlives the run (undo needs it) and grows by run, each line
//! naming its run. A group's name is written (with no id) before its
//! create is sent, and again with its id once answered: a run killed in
//! between leaves the first line alone, and undo looks the group up by
//! name.

use std::io::Write;
use std::path::{Path, PathBuf};

use super::files::OutputError;
use super::line_chain::line_message;
use crate::model::{SealCheck, SealKey};

/// What seals a line (never the same as any other file's lines).
const DOMAIN: &str = "sebulk created group v1";

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

/// Appends `group` to the list beside `results`, sealed by `key`; with
/// an empty id, before its create is sent.
pub fn record(results: &Path, group: &CreatedGroup, key: &SealKey) -> Result<(), OutputError> {
    let path = path_for(results);
    let mut options = std::fs::OpenOptions::new();
    options.append(true).create(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&path).map_err(|e| OutputError::io(&path, e))?;
    let seal = key.seal(DOMAIN, &line_message(&group.cells()));
    let mut writer = csv::WriterBuilder::new().from_writer(Vec::new());
    let [id, name, run_id] = group.cells();
    writer
        .write_record([id, name, run_id, seal.as_str()])
        .map_err(|e| OutputError::io(&path, e.into()))?;
    let line = writer
        .into_inner()
        .map_err(|e| OutputError::io(&path, std::io::Error::other(e.to_string())))?;
    // One write: a kill leaves at most a cut last line.
    file.write_all(&line).map_err(|e| OutputError::io(&path, e))
}

/// The groups recorded beside `results` by the runs `run_ids` (none when
/// there is no such file); `Err` when a line does not verify under `key`.
/// A last line cut by a kill is left out (its group is named by nothing).
pub fn read(
    results: &Path,
    key: &SealKey,
    run_ids: &[String],
) -> Result<Vec<CreatedGroup>, String> {
    let path = path_for(results);
    let bytes = match std::fs::read(&path) {
        Ok(bytes) => bytes,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
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
    let mut groups = Vec::new();
    for (at, record) in records.into_iter().enumerate() {
        if !whole && at + 1 == count {
            continue;
        }
        let [Some(id), Some(name), Some(run_id), Some(seal)] = [0, 1, 2, 3].map(|i| record.get(i))
        else {
            return Err(format!(
                "{} line {}: not a created group",
                path.display(),
                at + 1
            ));
        };
        if key.check(DOMAIN, &line_message(&[id, name, run_id]), seal) != SealCheck::Verified {
            return Err(format!(
                "{} line {}: its seal does not verify under this tenant's key: edited after it was written; no group is deleted on its word",
                path.display(),
                at + 1
            ));
        }
        if run_ids.iter().any(|r| r == run_id) {
            groups.push(CreatedGroup {
                id: id.to_string(),
                name: name.to_string(),
                run_id: run_id.to_string(),
            });
        }
    }
    // A create whose answer was recorded settles the line sent before it.
    let settled: Vec<(String, String)> = groups
        .iter()
        .filter(|g| !g.id.is_empty())
        .map(|g| (g.name.clone(), g.run_id.clone()))
        .collect();
    groups.retain(|g| !g.id.is_empty() || !settled.contains(&(g.name.clone(), g.run_id.clone())));
    Ok(groups)
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
