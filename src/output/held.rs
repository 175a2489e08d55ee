//! Held changes: what a destructive run refused by its guard would have
//! done, written down so that a person can look at it and release
//! exactly that (`sebulk approve HELD`), as Entra's accidental-deletion
//! quarantine does. Nothing is recomputed on release: the held users are
//! found again by id, must still be the people held (username, email and
//! employee number), and get exactly the held actions.
//!
//! One JSON object per line: a header (the run, the tenant, the actions,
//! the count, a SHA-256 digest of the entry lines, and a keyed seal over
//! all of that), then one line per user. Written whole and private
//! (0600); a held file changed after it was written — its users or its
//! header, resealed by hand or not — is refused, and so is one sealed the
//! old way (a plain digest anyone can recompute).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::digested;
use super::files::OutputError;
use crate::model::{SealCheck, SealKey};

/// What the file is.
const KIND: &str = "sebulk-held";

/// The first line of a held file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldHeader {
    /// Always `sebulk-held`.
    pub kind: String,
    /// The refused run.
    pub run_id: String,
    pub tenant: String,
    /// The offboarding actions held (`disable`, `delete`, ...).
    pub actions: Vec<String>,
    /// How many users are held.
    pub users: u64,
    /// Why the run was refused.
    pub refusal: String,
    /// SHA-256 (hex) of the entry lines as written.
    pub digest: String,
    /// The keyed seal over this header (digest included).
    #[serde(default)]
    pub seal: String,
}

impl digested::SealedHeader for HeldHeader {
    const DOMAIN: &'static str = KIND;
    fn seal_mut(&mut self) -> &mut String {
        &mut self.seal
    }
}

/// One held user: who the refused run decided on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HeldUser {
    /// The row of the file the run read (or the leaver's number).
    pub row: u64,
    pub user_id: String,
    #[serde(default)]
    pub username: String,
    #[serde(default)]
    pub email: String,
    #[serde(default, rename = "employeeNumber")]
    pub employee_number: String,
}

impl HeldUser {
    /// The cells an approval's results repeat: user_id, username, email,
    /// employeeNumber.
    pub fn cells(&self) -> Vec<String> {
        vec![
            self.user_id.clone(),
            self.username.clone(),
            self.email.clone(),
            self.employee_number.clone(),
        ]
    }
}

/// Where the held changes of run `run_id` go: beside `anchor` (the
/// results, else the input).
pub fn path_beside(anchor: &Path, run_id: &str) -> PathBuf {
    let stem = anchor
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "sebulk".to_string());
    anchor.with_file_name(format!("{stem}.held-{run_id}.jsonl"))
}

/// Writes a held file whole (0600), sealed under `key`, refusing an
/// existing file.
pub fn write(
    path: &Path,
    header: &HeldHeader,
    users: &[HeldUser],
    key: &SealKey,
) -> Result<(), OutputError> {
    digested::write(path, users, key, |digest| HeldHeader {
        kind: KIND.to_string(),
        users: users.len() as u64,
        digest,
        ..header.clone()
    })
}

/// Reads a held file, refusing one that is not whole, was changed, or
/// is not sealed under `key`.
pub fn read(path: &Path, key: &SealKey) -> Result<(HeldHeader, Vec<HeldUser>), OutputError> {
    let digested::Read {
        header,
        entries,
        digest,
        seal,
    } = digested::read::<HeldHeader, HeldUser>(path, "a sebulk held-changes file", key, |h| {
        h.kind == KIND
    })?;
    let refuse = |why: &str| {
        Err(OutputError::read(
            path,
            std::io::Error::other(why.to_string()),
        ))
    };
    match seal {
        SealCheck::Verified => {}
        SealCheck::Unkeyed => {
            return refuse(
                "the held changes are sealed the old way (a plain digest anyone who can edit the file can recompute): refused, nothing is applied; run the refused command again to hold its changes under a keyed seal",
            );
        }
        SealCheck::Forged => {
            return refuse(
                "the held changes' seal does not verify under this tenant's API key: they were changed after the refused run wrote them (header or users), or were held for another tenant or under an API key since rotated; refused, nothing is applied",
            );
        }
    }
    if digest != header.digest || entries.len() as u64 != header.users {
        return Err(OutputError::read(
            path,
            std::io::Error::other(
                "the held changes were changed after the refused run wrote them (their digest does not match): refused, nothing is applied",
            ),
        ));
    }
    Ok((header, entries))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_changes_round_trip_and_an_edit_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_beside(&dir.path().join("leavers.offboard.csv"), "offboard-1");
        assert!(path.ends_with("leavers.offboard.held-offboard-1.jsonl"));
        let header = HeldHeader {
            kind: String::new(),
            run_id: "offboard-1".into(),
            tenant: "t".into(),
            actions: vec!["delete".into()],
            users: 0,
            refusal: "too many".into(),
            digest: String::new(),
            seal: String::new(),
        };
        let key = SealKey::derive("k", "t");
        let users = vec![HeldUser {
            row: 1,
            user_id: "u1".into(),
            username: "ana".into(),
            email: "ana@example.com".into(),
            employee_number: "E1".into(),
        }];
        write(&path, &header, &users, &key).unwrap();
        let (back, held) = read(&path, &key).unwrap();
        assert_eq!(back.users, 1);
        assert_eq!(held, users);
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, text.replace("\"u1\"", "\"u2\"")).unwrap();
        assert!(
            read(&path, &key)
                .unwrap_err()
                .to_string()
                .contains("digest")
        );
        // The header is sealed too: `delete` for `disable` is refused,
        // and so is a digest recomputed by hand.
        std::fs::write(&path, text.replace("\"delete\"", "\"disable\"")).unwrap();
        let refused = read(&path, &key).unwrap_err().to_string();
        assert!(refused.contains("does not verify"), "{refused}");
        let lines: Vec<&str> = text.lines().collect();
        let entry = lines[1].replace("\"u1\"", "\"u2\"");
        let mut forged: HeldHeader = serde_json::from_str(lines[0]).unwrap();
        forged.digest = digested::digest([entry.as_str()]);
        let forged = serde_json::to_string(&forged).unwrap();
        std::fs::write(&path, format!("{forged}\n{entry}\n")).unwrap();
        let refused = read(&path, &key).unwrap_err().to_string();
        assert!(refused.contains("does not verify"), "{refused}");
        // Sealed under another key: refused; without a seal: the old way.
        write(
            &dir.path().join("other.jsonl"),
            &header,
            &users,
            &SealKey::derive("k2", "t"),
        )
        .unwrap();
        assert!(read(&dir.path().join("other.jsonl"), &key).is_err());
        let mut old: HeldHeader = serde_json::from_str(lines[0]).unwrap();
        old.seal.clear();
        let old = serde_json::to_string(&old).unwrap();
        std::fs::write(&path, format!("{old}\n{}\n", lines[1])).unwrap();
        let refused = read(&path, &key).unwrap_err().to_string();
        assert!(refused.contains("the old way"), "{refused}");
    }
}
