//! Snapshots: before a run takes anything away, every user it will touch
//! is written down whole (all fields, groups, applications, the type of
//! their second factor), so `sebulk restore` can give them back.
//!
//! One JSON object per line: a header naming the run and tenant, then one
//! line per user. Written whole before the first change (0600, never a
//! half file), never holding a secret: a second factor's data is not
//! recorded, only its type. The header carries a SHA-256 digest of the
//! entry lines: a snapshot changed after its run wrote it (by hand, by a
//! tool, cut short) is refused, never restored as it stands.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::files::OutputError;
use crate::model::{Group, Target, User};

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

/// Writes a snapshot whole (0600), refusing an existing file, and
/// returns its digest (for the run's results to carry).
pub fn write(
    path: &Path,
    header: &SnapshotHeader,
    entries: &[SnapshotItem],
) -> Result<String, OutputError> {
    let mut written = String::new();
    super::digested::write(path, entries, |digest| {
        written = digest.clone();
        SnapshotHeader {
            digest: Some(digest),
            ..header.clone()
        }
    })?;
    Ok(written)
}

/// Reads a snapshot.
pub fn read(path: &Path) -> Result<(SnapshotHeader, Vec<SnapshotItem>), OutputError> {
    let bad = |line: usize, why: String| {
        OutputError::read(path, std::io::Error::other(format!("line {line}: {why}")))
    };
    let super::digested::Read {
        header,
        entries,
        digest: found,
    } = super::digested::read::<SnapshotHeader, SnapshotItem>(path, "a sebulk snapshot", |h| {
        h.kind == KIND
    })?;
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
    Ok((header, entries))
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
        write(&path, &header, &entries).unwrap();
        let (back_header, back) = read(&path).unwrap();
        assert_eq!(back_header.run_id, header.run_id);
        assert!(back_header.digest.is_some());
        assert_eq!(back, entries);
        // A hand edit anywhere in the entries is refused.
        let text = std::fs::read_to_string(&path).unwrap();
        let edited = path.with_extension("edited");
        std::fs::write(&edited, text.replace("Sales", "IT Admins")).unwrap();
        let refused = read(&edited).unwrap_err().to_string();
        assert!(
            refused.contains("changed after its run wrote it"),
            "{refused}"
        );
        assert!(
            write(&path, &header, &entries).is_err(),
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
        assert!(read(&path).is_err());
    }
}
