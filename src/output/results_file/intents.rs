//! The intents beside a results file: each write a run is about to send,
//! a line each (`row,username,endpoint,run id`), written before the write goes
//! out. The journal records a user once its write is answered; this
//! records it before, so a run killed with a write on the wire still
//! names the user it may have changed, and undo says so rather than
//! pass over it.
//!
//! Invariants: a line is appended whole with one `write` on a file opened
//! for appending (a kill leaves at most a cut last line, which is read as
//! the row it names or skipped); the file goes with the journal when the
//! results file is complete; a resumed run's intents start with the
//! earlier run's that no results settle. The first line of a run is its
//! mark (row 0, endpoint `run`), written before its first write of any
//! kind (a group it creates comes before its results file): a run killed
//! before any row is still named, and undo finds what it created.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::output::files::OutputError;

/// One write a run was about to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    pub row: u64,
    /// The row's user, as the results call it.
    pub label: String,
    /// The write: `POST /users`, `PUT /users/{id}`, ...
    pub endpoint: String,
    /// The run that was sending it.
    pub run_id: String,
    /// An HMAC-SHA-256 under the tenant's key over the others (empty
    /// in an older file): a line added by hand is told from one sebulk
    /// wrote ([`Intent::verifies`]) before anything is taken on its word.
    pub seal: String,
    /// What the write changes, as the results' `changes` cell (old and
    /// new values; empty for a write that says nothing of fields): a
    /// user's update that lands after a kill is still on record, so a
    /// resume credits it and undo can put the old values back.
    pub changes: String,
}

/// What seals an intent line (no other file's lines).
const DOMAIN: &str = "sebulk intent v1";

/// The endpoint of the line that marks a run's start.
const RUN_MARK: &str = "run";

impl Intent {
    /// The line that marks `run_id`'s start, sealed under `key`.
    fn run_mark(run_id: &str, key: Option<&crate::model::SealKey>) -> Self {
        let mut mark = Intent {
            row: 0,
            label: String::new(),
            endpoint: RUN_MARK.to_string(),
            run_id: run_id.to_string(),
            seal: String::new(),
            changes: String::new(),
        };
        if let Some(key) = key {
            mark.seal = key.seal(DOMAIN, &mark.message());
        }
        mark
    }

    /// Whether this marks a run's start (no write).
    pub fn is_run_mark(&self) -> bool {
        self.row == 0 && self.endpoint == RUN_MARK
    }

    /// What the seal covers: the changes only when there are some, so
    /// the lines of a file written before they were recorded still verify.
    fn message(&self) -> Vec<u8> {
        let row = self.row.to_string();
        let parts = [row.as_str(), &self.label, &self.endpoint, &self.run_id];
        match self.changes.is_empty() {
            true => super::line_chain::line_message(&parts),
            false => super::line_chain::line_message(&[&parts[..], &[&self.changes]].concat()),
        }
    }

    /// The user this write updates and what it changes, when it is a
    /// user's update that recorded its changes (`PUT /users/{id}`).
    pub fn update(&self) -> Option<(&str, Vec<crate::model::FieldChange>)> {
        let id = self.endpoint.strip_prefix("PUT /users/")?;
        if id.is_empty() || id.contains('/') || self.changes.is_empty() {
            return None;
        }
        Some((id, crate::model::FieldChange::parse(&self.changes)?))
    }

    /// The membership change this write sends, if it is one: its kind,
    /// whether it adds, and the target's id (`POST /{kind}/{id}/assignusers`
    /// or `removeusers`).
    pub fn membership(&self) -> Option<(crate::model::TargetKind, bool, &str)> {
        let path = self.endpoint.strip_prefix("POST /")?;
        let (kind, rest) = path.split_once('/')?;
        let (id, verb) = rest.rsplit_once('/')?;
        let kind = crate::model::TargetKind::ALL
            .into_iter()
            .find(|k| k.path() == kind)?;
        let add = match verb {
            "assignusers" => true,
            "removeusers" => false,
            _ => return None,
        };
        (!id.is_empty() && !id.contains('/')).then_some((kind, add, id))
    }

    /// Whether the line was written by sebulk for the tenant of `key`.
    pub fn verifies(&self, key: &crate::model::SealKey) -> bool {
        key.check(DOMAIN, &self.message(), &self.seal) == crate::model::SealCheck::Verified
    }
}

/// The intents file of one run, appended to by every row as it writes.
#[derive(Debug)]
pub struct Intents {
    file: Mutex<std::fs::File>,
    path: PathBuf,
    run_id: String,
    key: Option<crate::model::SealKey>,
}

impl Intents {
    /// Where the intents of the results file `results` are.
    pub fn path_for(results: &Path) -> PathBuf {
        let mut name = results.as_os_str().to_owned();
        name.push(".intents");
        PathBuf::from(name)
    }

    /// Starts the intents of `results` (replacing old ones), carrying
    /// `carried` over from an earlier run that no results settle.
    pub fn create(
        results: &Path,
        carried: &[Intent],
        (run_id, key): (&str, Option<crate::model::SealKey>),
    ) -> Result<Self, OutputError> {
        let path = Self::path_for(results);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| OutputError::io(&path, e))?;
        let mark = Intent::run_mark(run_id, key.as_ref());
        for intent in std::iter::once(&mark).chain(carried) {
            file.write_all(&line(intent))
                .map_err(|e| OutputError::io(&path, e))?;
        }
        Ok(Intents {
            file: Mutex::new(file),
            path,
            run_id: run_id.to_string(),
            key,
        })
    }

    /// Marks beside `results` that the run `run_id` has begun, before
    /// its results file is opened (it sends writes of its own first: the
    /// groups its rows need).
    pub fn mark_run(
        results: &Path,
        run_id: &str,
        key: &crate::model::SealKey,
    ) -> Result<(), OutputError> {
        let path = Self::path_for(results);
        let mut options = std::fs::OpenOptions::new();
        options.append(true).create(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&path).map_err(|e| OutputError::io(&path, e))?;
        file.write_all(&line(&Intent::run_mark(run_id, Some(key))))
            .map_err(|e| OutputError::io(&path, e))
    }

    /// Records that row `row` (user `label`) is about to send `endpoint`,
    /// which changes `changes` (the results' cell; empty: not told).
    pub fn note(&self, row: u64, label: &str, endpoint: &str, changes: &str) -> Result<(), String> {
        let mut intent = Intent {
            row,
            label: label.to_string(),
            endpoint: endpoint.to_string(),
            run_id: self.run_id.clone(),
            seal: String::new(),
            changes: changes.to_string(),
        };
        if let Some(key) = &self.key {
            intent.seal = key.seal(DOMAIN, &intent.message());
        }
        let bytes = line(&intent);
        let mut file = self
            .file
            .lock()
            .map_err(|_| "the intents file is unusable after a panic".to_string())?;
        file.write_all(&bytes)
            .map_err(|e| format!("{}: {e}", self.path.display()))
    }

    /// The results file is complete: the intents go.
    pub fn close(&self) -> Result<(), OutputError> {
        match std::fs::remove_file(&self.path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(OutputError::io(&self.path, e))
            }
            _ => Ok(()),
        }
    }

    /// The intents beside `results`, in the order written (none when
    /// there is no file); a line cut by a kill is skipped.
    pub fn read(results: &Path) -> Result<Vec<Intent>, OutputError> {
        let path = Self::path_for(results);
        let bytes = match std::fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(OutputError::io(&path, e)),
        };
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .from_reader(bytes.as_slice());
        Ok(reader
            .records()
            .flatten()
            .filter(|record| matches!(record.len(), 4..=6))
            .filter_map(|record| {
                Some(Intent {
                    row: record.get(0)?.parse().ok()?,
                    label: record.get(1)?.to_string(),
                    endpoint: record.get(2)?.to_string(),
                    run_id: record.get(3)?.to_string(),
                    seal: record.get(4).unwrap_or_default().to_string(),
                    changes: record.get(5).unwrap_or_default().to_string(),
                })
            })
            .collect())
    }
}

/// One intent as a whole CSV line.
fn line(intent: &Intent) -> Vec<u8> {
    let mut writer = csv::WriterBuilder::new()
        .has_headers(false)
        .from_writer(Vec::new());
    let row = intent.row.to_string();
    let fields = [
        row.as_str(),
        &intent.label,
        &intent.endpoint,
        &intent.run_id,
        &intent.seal,
        &intent.changes,
    ];
    // Six fields only with changes: older readers took four or five.
    let fields = &fields[..if intent.changes.is_empty() { 5 } else { 6 }];
    // Writing to memory does not fail; an empty line is skipped on reading.
    let _ = writer.write_record(fields);
    writer.into_inner().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_are_read_back_and_a_cut_line_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let results = dir.path().join("r.csv");
        let carried = [Intent {
            row: 1,
            label: "ana, \"the first\"".into(),
            endpoint: "POST /users".into(),
            run_id: "import-1".into(),
            seal: String::new(),
            changes: String::new(),
        }];
        let key = crate::model::SealKey::derive("k", "https://acme/api");
        let intents = Intents::create(&results, &carried, ("import-2", Some(key.clone()))).unwrap();
        let changes = r#"department: "Ops" → "Sales, \"EMEA\"""#;
        intents.note(7, "bob", "PUT /users/42", changes).unwrap();
        drop(intents);
        let path = Intents::path_for(&results);
        let mut text = std::fs::read(&path).unwrap();
        text.extend_from_slice(b"9,cut,POST /us");
        std::fs::write(&path, text).unwrap();
        let mut read = Intents::read(&results).unwrap();
        assert_eq!(read.len(), 3);
        let mark = read.remove(0);
        assert!(mark.is_run_mark() && mark.verifies(&key), "{mark:?}");
        assert_eq!(mark.run_id, "import-2");
        assert_eq!(read[0], carried[0]);
        assert_eq!(read[1].row, 7);
        assert_eq!(read[1].endpoint, "PUT /users/42");
        assert_eq!(read[1].run_id, "import-2");
        assert!(read[1].verifies(&key) && !read[0].verifies(&key));
        let (id, changed) = read[1].update().expect("an update with its changes");
        assert_eq!(id, "42");
        assert_eq!(
            changed,
            [crate::model::FieldChange {
                field: "department".into(),
                old: "Ops".into(),
                new: "Sales, \"EMEA\"".into(),
            }]
        );
        let mut forged = read[1].clone();
        forged.changes = r#"department: "Finance" → "Sales""#.into();
        assert!(!forged.verifies(&key), "changes edited by hand");
        let mut forged = read[1].clone();
        forged.row = 8;
        assert!(!forged.verifies(&key), "an edited line");
        Intents::create(&results, &[], ("import-3", None))
            .unwrap()
            .close()
            .unwrap();
        assert!(!path.exists());
        assert!(Intents::read(&results).unwrap().is_empty());
    }
}
