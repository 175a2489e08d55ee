//! Snapshots: before a run takes anything away, every user it will touch
//! is written down whole (all fields, groups, applications, the type of
//! their second factor), so `sebulk restore` can give them back.
//!
//! One JSON object per line: a header naming the run and tenant, then one
//! line per user. Written whole before the first change (0600, never a
//! half file), never holding a secret: a second factor's data is not
//! recorded, only its type. The header carries a SHA-256 digest of the
//! entry lines and a keyed seal over the header (see
//! [`crate::model::seal`]): a snapshot changed after its run wrote it (by
//! hand, by a tool, cut short, resealed with a recomputed digest) is
//! refused, never restored as it stands. One sealed the old way (a plain
//! digest) is read only when the caller asks for it explicitly.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digested::SealedHeader;
use super::files::OutputError;
use crate::model::{Group, SealCheck, SealKey, Target, User};

/// What the snapshot is of.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotHeader {
    /// Always `sebulk-snapshot`.
    pub kind: String,
    pub run_id: String,
    pub tenant: String,
    pub taken_at: String,
    /// What the run was about to do (`offboard disable,revoke-access`).
    pub purpose: String,
    pub users: u64,
    /// SHA-256 (hex) of the entry lines as written, newline-terminated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
    /// The keyed seal over this header (digest included).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub seal: String,
}

impl SealedHeader for SnapshotHeader {
    const DOMAIN: &'static str = KIND;
    fn seal_mut(&mut self) -> &mut String {
        &mut self.seal
    }
}

/// What to do with a snapshot sealed the old way (a plain digest anyone
/// who can edit the file can recompute): last month's offboarding stays
/// restorable, but only when asked for by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum OldSeals {
    /// Refused, naming the flag that accepts it.
    #[default]
    Refuse,
    /// Read, and the caller warns.
    Accept,
}

/// One thing a snapshot holds: a user, or a group.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum SnapshotItem {
    User(Box<SnapshotEntry>),
    Group(SnapshotGroup),
}

/// A group as it was, with its members (id and username).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotGroup {
    pub group: Group,
    #[serde(default)]
    pub members: Vec<Target>,
}

/// One user as it was.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SnapshotEntry {
    pub user: User,
    #[serde(default)]
    pub groups: Vec<Target>,
    #[serde(default)]
    pub applications: Vec<Target>,
    /// The second factor's type, when the run removes second factors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub second_factor: Option<String>,
    /// A leaver of its run (a row of its own), not a user whose update
    /// took some access: what its run's writes took is all in this entry.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub leaving: bool,
}

const KIND: &str = "sebulk-snapshot";

/// Where a run's snapshot goes: beside its results, named by the run.
pub fn path_beside(results: &Path, run_id: &str) -> PathBuf {
    let stem = results
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sebulk".to_string());
    let stem = stem.strip_suffix(".results").unwrap_or(&stem).to_string();
    results.with_file_name(format!("{stem}.snapshot-{run_id}.jsonl"))
}

/// Where run `run_id`'s snapshot is, for the results file `results`:
/// beside it under the name the run gave it, or any
/// `*.snapshot-<run id>.jsonl` in its folder (a results file renamed).
pub fn find_beside(results: &Path, run_id: &str) -> Option<PathBuf> {
    let beside = path_beside(results, run_id);
    if beside.is_file() {
        return Some(beside);
    }
    let suffix = format!(".snapshot-{run_id}.jsonl");
    let dir = match results.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::read_dir(dir)
        .ok()?
        .flatten()
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(&suffix))
}

/// Run `run_id`'s snapshot, found beside the results file `results`
/// ([`find_beside`]) and read under `key` ([`read`]), when it says it is
/// that run's: another run's, copied, linked or renamed into its place,
/// is sealed as well as its own. `Ok(None)`: there is none; `Err`: why
/// the one there is refused. The path it was read from, with it.
pub fn read_of_run(
    results: &Path,
    run_id: &str,
    (key, old): (&SealKey, OldSeals),
) -> Result<Option<(PathBuf, ReadSnapshot)>, String> {
    let Some(path) = find_beside(results, run_id) else {
        return Ok(None);
    };
    let read = read(&path, key, old).map_err(|e| e.to_string())?;
    if read.header.run_id != run_id {
        return Err(format!(
            "{} is the snapshot of run {}, not of run {run_id}: refused, nothing is given back from it",
            path.display(),
            read.header.run_id
        ));
    }
    Ok(Some((path, read)))
}

/// Writes a snapshot whole (0600), sealed under `key`, refusing an
/// existing file, and returns its digest (for the run's results to carry).
pub fn write(
    path: &Path,
    header: &SnapshotHeader,
    entries: &[SnapshotItem],
    key: &SealKey,
) -> Result<String, OutputError> {
    let mut written = String::new();
    super::digested::write(path, entries, key, |digest| {
        written = digest.clone();
        SnapshotHeader {
            digest: Some(digest),
            ..header.clone()
        }
    })?;
    Ok(written)
}

/// A snapshot as read: its header, its items, and whether it was sealed
/// the old way (read only because the caller accepted that).
pub struct ReadSnapshot {
    pub header: SnapshotHeader,
    pub items: Vec<SnapshotItem>,
    pub unkeyed: bool,
}

/// Reads a snapshot whose seal verifies under `key` (or, with
/// [`OldSeals::Accept`], one sealed the old way).
pub fn read(path: &Path, key: &SealKey, old: OldSeals) -> Result<ReadSnapshot, OutputError> {
    let bad = |line: usize, why: String| {
        OutputError::read(path, std::io::Error::other(format!("line {line}: {why}")))
    };
    let super::digested::Read {
        header,
        entries,
        digest: found,
        seal,
    } = super::digested::read::<SnapshotHeader, SnapshotItem>(
        path,
        "a sebulk snapshot",
        key,
        |h| h.kind == KIND,
    )?;
    match (seal, old) {
        (SealCheck::Verified, _) | (SealCheck::Unkeyed, OldSeals::Accept) => {}
        (SealCheck::Unkeyed, OldSeals::Refuse) => {
            return Err(bad(
                1,
                "the snapshot is sealed the old way (a plain digest anyone who can edit the file can recompute), so a change to it cannot be ruled out: refused; if you trust the file as it stands, say so with --accept-old-seal".into(),
            ));
        }
        (SealCheck::Forged, _) => {
            return Err(bad(
                1,
                "the snapshot's seal does not verify under this tenant's API key: it was changed after its run wrote it (header or users), or was taken of another tenant (restore gives users back to the tenant they were taken from) or under an API key since rotated; refused, nothing is restored from it".into(),
            ));
        }
    }
    match &header.digest {
        Some(recorded) if *recorded == found => {}
        Some(_) => {
            return Err(bad(
                1,
                "the snapshot was changed after its run wrote it (its digest does not match): refused, nothing is restored from it".into(),
            ));
        }
        None => {
            return Err(bad(
                1,
                "the snapshot carries no digest, so a change to it cannot be told: refused (snapshots of this sebulk always carry one)".into(),
            ));
        }
    }
    if entries.len() as u64 != header.users {
        return Err(bad(
            entries.len() + 2,
            format!(
                "the snapshot names {} users but holds {}",
                header.users,
                entries.len()
            ),
        ));
    }
    Ok(ReadSnapshot {
        header,
        items: entries,
        unkeyed: seal == SealCheck::Unkeyed,
    })
}

/// A new header.
pub fn header(run_id: &str, tenant: &str, purpose: &str, users: u64) -> SnapshotHeader {
    SnapshotHeader {
        kind: KIND.to_string(),
        run_id: run_id.to_string(),
        tenant: tenant.to_string(),
        taken_at: crate::formats::utc_now(),
        purpose: purpose.to_string(),
        users,
        digest: None,
        seal: String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshots_round_trip_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("leavers.results.csv"), "run-1");
        assert!(path.ends_with("leavers.snapshot-run-1.jsonl"));
        let mut user = User {
            id: "u1".into(),
            ..User::default()
        };
        user.fields.username = Some("ana".into());
        user.extra
            .insert("createdAt".into(), serde_json::json!("2026-01-01"));
        let entries = vec![
            SnapshotItem::User(Box::new(SnapshotEntry {
                user,
                groups: vec![Target::new("g1", "Sales")],
                applications: Vec::new(),
                second_factor: Some("sms".into()),
                leaving: true,
            })),
            SnapshotItem::Group(SnapshotGroup {
                group: Group {
                    id: "g9".into(),
                    name: "Old Team".into(),
                    ..Group::default()
                },
                members: vec![Target::new("u1", "ana")],
            }),
        ];
        let header = header("run-1", "https://t/api", "offboard delete", 2);
        let key = SealKey::derive("k", "https://t/api");
        write(&path, &header, &entries, &key).unwrap();
        let back = read(&path, &key, OldSeals::Refuse).unwrap();
        assert_eq!(back.header.run_id, header.run_id);
        assert!(back.header.digest.is_some());
        assert!(!back.unkeyed);
        assert_eq!(back.items, entries);
        // A hand edit anywhere in the entries is refused.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = path.with_extension("edited");
        std::fs::write(&edited, text.replace("Sales", "IT Admins")).unwrap();
        let refused = read(&edited, &key, OldSeals::Accept)
            .err()
            .unwrap()
            .to_string();
        assert!(
            refused.contains("changed after its run wrote it"),
            "{refused}"
        );
        // ... and so is one whose digest was recomputed by hand.
        let lines: Vec<String> = text
            .replace("Sales", "IT Admins")
            .lines()
            .map(String::from)
            .collect();
        let mut resealed: SnapshotHeader = serde_json::from_str(&lines[0]).unwrap();
        resealed.digest = Some(crate::output::digested::digest(
            lines[1..].iter().map(String::as_str),
        ));
        // The file with `header` over the edited entries, read back.
        let with_header = |header: &SnapshotHeader, old: OldSeals| {
            let text = std::iter::once(serde_json::to_string(header).unwrap())
                .chain(lines[1..].iter().cloned())
                .collect::<Vec<_>>()
                .join("\n");
            std::fs::write(&edited, format!("{text}\n")).unwrap();
            read(&edited, &key, old).err().unwrap().to_string()
        };
        let refused = with_header(&resealed, OldSeals::Accept);
        assert!(refused.contains("does not verify"), "{refused}");
        // The old way (a digest, no seal): only when accepted.
        resealed.seal.clear();
        let refused = with_header(&resealed, OldSeals::Refuse);
        assert!(refused.contains("--accept-old-seal"), "{refused}");
        assert!(read(&edited, &key, OldSeals::Accept).unwrap().unkeyed);
        assert!(
            write(&path, &header, &entries, &key).is_err(),
            "never overwritten"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(
                std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
                0o600
            );
        }
        std::fs::write(&path, "{\"kind\":\"other\"}\n").unwrap();
        assert!(read(&path, &key, OldSeals::Accept).is_err());
    }
}
