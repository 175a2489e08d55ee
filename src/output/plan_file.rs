//! Plan files as `apply` reads them. A plan (`plan -o`, `sync --dry-run
//! -o`) is the CSV a person reviews — the row, what will happen, the
//! field changes, the input's cells — with two columns more for the
//! machine: `decided_on` (the user's id and fingerprint the row was
//! decided on) and `exact` (the writes, as JSON). Its last line is a seal:
//! `plan-seal` in the first cell and, in `exact`, what the plan was made
//! from (run, tenant, input and its digest, as-of date, options), a
//! SHA-256 digest of the header and every line before it, and a keyed
//! seal over all of that (see [`crate::model::seal`]). A plan cut short
//! or changed after it was written (by hand, or by a spreadsheet saving
//! it again, its digest recomputed or not) no longer matches its seal and
//! is refused whole; so is one sealed the old way, with a plain digest.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::files::OutputError;
use crate::model::{SealCheck, SealKey};

/// The columns only the machine reads, after the plan's own.
pub const MACHINE_COLUMNS: [&str; 2] = ["decided_on", "exact"];

/// A plan file's header: the plan's `own` columns, the machine's, then
/// the input's.
pub fn plan_header(own: &[&str], input_header: &[String]) -> Vec<String> {
    own.iter()
        .chain(&MACHINE_COLUMNS)
        .map(|c| c.to_string())
        .chain(input_header.iter().cloned())
        .collect()
}

/// Whether `path` reads as a plan: its header holds the plan's machine
/// columns.
pub fn is_plan(path: &Path) -> bool {
    csv::Reader::from_path(path)
        .and_then(|mut reader| reader.headers().cloned())
        .is_ok_and(|header| {
            MACHINE_COLUMNS
                .iter()
                .all(|c| header.iter().any(|h| h == *c))
        })
}

/// What the seal line's first cell says.
pub const SEAL_MARK: &str = "plan-seal";

/// What a plan file says about itself.
const KIND: &str = "sebulk-plan";

/// What a plan was made from, and the digest that seals it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PlanSeal {
    /// Always `sebulk-plan`.
    pub kind: String,
    /// The dry run that wrote it.
    pub run_id: String,
    pub tenant: String,
    /// The command it plans (`import`, `sync`).
    pub command: String,
    pub input: String,
    /// SHA-256 of the input file's bytes as read.
    pub input_sha256: String,
    /// The day a sync decided by (YYYY-MM-DD).
    #[serde(default)]
    pub as_of: Option<String>,
    /// The options it was decided with, as given.
    #[serde(default)]
    pub options: Vec<String>,
    /// The tenant's users when the plan was made (the guard's base).
    #[serde(default)]
    pub tenant_users: Option<u64>,
    /// The lines before the seal.
    #[serde(default)]
    pub rows: u64,
    /// SHA-256 (hex) of the header and lines before the seal.
    #[serde(default)]
    pub digest: String,
    /// The keyed seal over every field above (empty in an old plan).
    #[serde(default)]
    pub mac: String,
    /// The tenant's key the plan is sealed under when written (never
    /// written itself).
    #[serde(skip)]
    pub key: Option<SealKey>,
}

impl PlanSeal {
    /// The text the keyed seal covers: every field, the seal left empty.
    fn sealed_text(&self) -> String {
        let unsealed = PlanSeal {
            mac: String::new(),
            key: None,
            ..self.clone()
        };
        serde_json::to_string(&unsealed).unwrap_or_default()
    }
}

impl PlanSeal {
    /// A seal for a plan of `command`, its digest filled in when written.
    pub fn new(command: &str) -> Self {
        PlanSeal {
            kind: KIND.to_string(),
            command: command.to_string(),
            ..Default::default()
        }
    }
}

/// A plan row's machine cells.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlannedCells {
    pub decided_on: String,
    pub exact: String,
}

/// The running digest of a plan being written or read.
#[derive(Clone, Default)]
pub struct Sealing {
    hasher: Sha256,
    lines: u64,
}

impl Sealing {
    /// Takes one line (the header too) into the digest.
    pub fn take(&mut self, cells: &[impl AsRef<str>]) {
        let cells: Vec<&str> = cells.iter().map(AsRef::as_ref).collect();
        let line = serde_json::to_string(&cells).unwrap_or_default();
        self.hasher.update(line.as_bytes());
        self.hasher.update(b"\n");
        self.lines += 1;
    }

    /// The seal line closing what was taken: `seal`, counted, digested
    /// and sealed under its key (a seal without one stays unkeyed, and
    /// `apply` refuses the plan), its JSON in the `exact` column of a line
    /// as wide as `header`.
    pub fn close(self, mut seal: PlanSeal, header: &[String]) -> Vec<String> {
        seal.rows = self.lines.saturating_sub(1);
        seal.digest = hex(self.hasher);
        if let Some(key) = seal.key.take() {
            seal.mac = key.seal(KIND, seal.sealed_text().as_bytes());
        }
        let mut line = vec![String::new(); header.len()];
        if let Some(first) = line.first_mut() {
            *first = SEAL_MARK.to_string();
        }
        if let Some(at) = header.iter().position(|c| c == "exact") {
            line[at] = serde_json::to_string(&seal).unwrap_or_default();
        }
        line
    }
}

fn hex(hasher: Sha256) -> String {
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// SHA-256 (hex) of a file's bytes; empty for standard input.
pub fn file_digest(path: &Path) -> Result<String, OutputError> {
    if path.as_os_str() == "-" {
        return Ok(String::new());
    }
    let mut file = std::fs::File::open(path).map_err(|e| OutputError::read(path, e))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(|e| OutputError::read(path, e))?;
    Ok(hex(hasher))
}

/// One row of a plan, as read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanLine {
    pub row: u64,
    pub username: String,
    /// What the plan said would happen (`update`, `pending`, ...).
    pub planned: String,
    pub user_id: String,
    /// Why, or what else the reviewer was told.
    pub note: String,
    pub machine: PlannedCells,
    /// The input's own cells, as the plan repeats them.
    pub cells: Vec<String>,
}

/// A plan read whole and checked against its seal.
#[derive(Debug, Clone)]
pub struct ReadPlan {
    pub seal: PlanSeal,
    /// The input's own header, as the plan repeats it.
    pub input_header: Vec<String>,
    pub lines: Vec<PlanLine>,
}

/// The plan's header (a byte-order mark taken off).
fn read_header(
    path: &Path,
    records: &mut csv::StringRecordsIter<'_, std::fs::File>,
) -> Result<Vec<String>, OutputError> {
    match records.next() {
        Some(Ok(record)) => Ok(record
            .iter()
            .enumerate()
            .map(|(i, c)| match i {
                0 => c.trim_start_matches('\u{feff}').to_string(),
                _ => c.to_string(),
            })
            .collect()),
        Some(Err(e)) => Err(OutputError::read(path, e.into())),
        None => Err(OutputError::read(
            path,
            std::io::Error::other("the file is empty: it is not a plan"),
        )),
    }
}

/// Why `seal` does not seal the `rows` lines whose digest is `digest`,
/// under `key`, if it does not.
fn why_not_sealed(
    seal: &PlanSeal,
    (rows, digest): (u64, String),
    key: &SealKey,
) -> Option<&'static str> {
    if seal.kind != KIND {
        return Some("its seal is not a sebulk plan's");
    }
    if seal.rows != rows || seal.digest != digest {
        return Some(
            "its lines are not the ones sealed when it was written (changed, added or taken away): a plan is applied exactly or not at all; write it again",
        );
    }
    match key.check(KIND, seal.sealed_text().as_bytes(), &seal.mac) {
        SealCheck::Verified => None,
        SealCheck::Unkeyed => Some(
            "it is sealed the old way (a plain digest anyone who can edit the file can recompute): refused; make a fresh plan with sebulk plan -o or sebulk sync --dry-run -o",
        ),
        SealCheck::Forged => Some(
            "its seal does not verify under this tenant's API key: it was changed and resealed after it was written, or was made for another tenant or under an API key since rotated; a plan is applied exactly or not at all; make a fresh one",
        ),
    }
}

/// Reads the plan at `path`, refusing one that is not a sebulk plan, is
/// cut short, was changed after it was written, or is not sealed under
/// `key` (the tenant's).
pub fn read(path: &Path, key: &SealKey) -> Result<ReadPlan, OutputError> {
    let refuse = |why: String| OutputError::read(path, std::io::Error::other(why));
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(false)
        .from_path(path)
        .map_err(|e| OutputError::read(path, e.into()))?;
    let mut records = reader.records();
    let header = read_header(path, &mut records)?;
    let column = |name: &str| header.iter().position(|c| c == name);
    let (Some(exact_at), Some(decided_at)) = (column("exact"), column("decided_on")) else {
        return Err(refuse(
            "this is not a plan sebulk can apply (it has no decided_on and exact columns): write one with sebulk plan -o or sebulk sync --dry-run -o".into(),
        ));
    };
    let planned_at = column("action").or_else(|| column("outcome"));
    let note_at = column("notes").or_else(|| column("error"));
    let mut sealing = Sealing::default();
    sealing.take(&header);
    let mut lines = Vec::new();
    let mut seal = None;
    for record in records {
        let record = record.map_err(|e| OutputError::read(path, e.into()))?;
        let cells: Vec<&str> = record.iter().collect();
        if seal.is_some() {
            return Err(refuse(
                "lines follow the plan's seal: the plan was changed after it was written".into(),
            ));
        }
        if cells.first() == Some(&SEAL_MARK) {
            let text = cells.get(exact_at).copied().unwrap_or_default();
            seal = Some(
                serde_json::from_str::<PlanSeal>(text)
                    .map_err(|e| refuse(format!("its seal cannot be read ({e})")))?,
            );
            continue;
        }
        sealing.take(&cells);
        if cells.len() != header.len() {
            return Err(refuse(format!(
                "line {} has {} cells where the header has {}: the plan was changed after it was written",
                lines.len() + 2,
                cells.len(),
                header.len()
            )));
        }
        let get = |at: Option<usize>| {
            at.and_then(|i| cells.get(i))
                .map(|c| crate::formats::unneutralize(c).to_string())
                .unwrap_or_default()
        };
        lines.push(PlanLine {
            row: get(Some(0)).parse().map_err(|_| {
                refuse(format!(
                    "line {}: '{}' is not a row number",
                    lines.len() + 2,
                    get(Some(0))
                ))
            })?,
            username: get(column("username")),
            planned: get(planned_at),
            user_id: get(column("user_id")),
            note: get(note_at),
            machine: PlannedCells {
                decided_on: get(Some(decided_at)),
                exact: cells[exact_at].to_string(),
            },
            cells: cells[exact_at + 1..]
                .iter()
                .map(|c| c.to_string())
                .collect(),
        });
    }
    let Some(seal) = seal else {
        return Err(refuse(
            "it has no seal: the plan is cut short, or was saved again by another program; write it again".into(),
        ));
    };
    why_not_sealed(&seal, (lines.len() as u64, hex(sealing.hasher)), key)
        .map_or(Ok(()), |why| Err(refuse(why.to_string())))?;
    Ok(ReadPlan {
        seal,
        input_header: header[exact_at + 1..].to_vec(),
        lines,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, lines: &[Vec<String>]) {
        let mut writer = csv::Writer::from_path(path).unwrap();
        for line in lines {
            writer.write_record(line).unwrap();
        }
        writer.flush().unwrap();
    }

    fn sealed() -> Vec<Vec<String>> {
        let header: Vec<String> = [
            "row",
            "username",
            "action",
            "user_id",
            "notes",
            "decided_on",
            "exact",
            "email",
        ]
        .map(String::from)
        .to_vec();
        let line: Vec<String> = [
            "1",
            "ana",
            "update",
            "7",
            "",
            "7:abc",
            "{\"do\":\"x\"}",
            "a@x.io",
        ]
        .map(String::from)
        .to_vec();
        let mut sealing = Sealing::default();
        sealing.take(&header);
        sealing.take(&line);
        let seal = PlanSeal {
            key: Some(key()),
            ..PlanSeal::new("import")
        };
        let seal = sealing.close(seal, &header);
        vec![header, line, seal]
    }

    fn key() -> SealKey {
        SealKey::derive("k", "https://t/api")
    }

    #[test]
    fn a_sealed_plan_reads_and_an_edited_one_does_not() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.csv");
        let lines = sealed();
        write(&path, &lines);
        let plan = read(&path, &key()).unwrap();
        assert_eq!(plan.lines.len(), 1);
        assert_eq!(plan.lines[0].machine.decided_on, "7:abc");
        assert_eq!(plan.lines[0].cells, vec!["a@x.io"]);
        assert_eq!(plan.input_header, vec!["email"]);

        let mut edited = lines.clone();
        edited[1][7] = "b@x.io".into();
        write(&path, &edited);
        assert!(
            read(&path, &key())
                .unwrap_err()
                .to_string()
                .contains("not the ones sealed")
        );

        let cut = lines[..2].to_vec();
        write(&path, &cut);
        assert!(
            read(&path, &key())
                .unwrap_err()
                .to_string()
                .contains("no seal")
        );

        let mut dropped = lines.clone();
        dropped.remove(1);
        write(&path, &dropped);
        assert!(read(&path, &key()).is_err());

        // Edited and resealed by hand (the digest recomputed): refused.
        let mut resealed = lines.clone();
        resealed[1][2] = "create".into();
        let mut sealing = Sealing::default();
        sealing.take(&resealed[0]);
        sealing.take(&resealed[1]);
        let at = resealed[0].iter().position(|c| c == "exact").unwrap();
        let mut seal: PlanSeal = serde_json::from_str(&lines[2][at]).unwrap();
        seal.digest = hex(sealing.hasher);
        resealed[2][at] = serde_json::to_string(&seal).unwrap();
        write(&path, &resealed);
        let refused = read(&path, &key()).unwrap_err().to_string();
        assert!(refused.contains("does not verify"), "{refused}");
        // The seal's own fields are covered: another as-of day is refused.
        let mut moved = lines.clone();
        let mut seal: PlanSeal = serde_json::from_str(&lines[2][at]).unwrap();
        seal.as_of = Some("2027-01-01".into());
        moved[2][at] = serde_json::to_string(&seal).unwrap();
        write(&path, &moved);
        assert!(read(&path, &key()).is_err());
        // Sealed the old way: refused, naming how to make a fresh plan.
        seal.as_of = None;
        seal.mac.clear();
        moved[2][at] = serde_json::to_string(&seal).unwrap();
        write(&path, &moved);
        let refused = read(&path, &key()).unwrap_err().to_string();
        assert!(refused.contains("old way"), "{refused}");
        // Another tenant's key: refused.
        write(&path, &lines);
        assert!(read(&path, &SealKey::derive("k", "https://u/api")).is_err());
    }
}
