//! Digested JSON-lines files (snapshots, held changes): a header line,
//! then one entry per line, the header carrying a SHA-256 digest of the
//! entry lines and a keyed seal (see [`crate::model::seal`]) over the
//! whole header, digest included. Written whole (0600, never a half file,
//! never over an existing one); read back only when the entries are the
//! ones written, and the reader is told how the seal reads: anyone can
//! recompute a digest, only the key's holder a seal.

use std::io::{BufRead, Write};
use std::path::Path;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::atomic::AtomicOutput;
use super::files::OutputError;
use crate::model::{SealCheck, SealKey};

/// A digested file's header: it carries the keyed seal over itself.
pub trait SealedHeader: Serialize {
    /// The seal's domain: the file's kind (`sebulk-held`, ...).
    const DOMAIN: &'static str;
    /// The seal, as written (empty while it is being computed).
    fn seal_mut(&mut self) -> &mut String;
}

/// The header as its seal covers it: every field, the seal left empty.
fn sealed_text<H: SealedHeader>(header: &mut H) -> Result<(String, String), serde_json::Error> {
    let found = std::mem::take(header.seal_mut());
    let text = serde_json::to_string(header);
    *header.seal_mut() = found.clone();
    Ok((text?, found))
}

/// Seals `header` under `key` (the seal written into it).
fn seal<H: SealedHeader>(header: &mut H, key: &SealKey) -> Result<(), serde_json::Error> {
    let (text, _) = sealed_text(header)?;
    *header.seal_mut() = key.seal(H::DOMAIN, text.as_bytes());
    Ok(())
}

/// How `header`'s seal reads under `key`.
fn check<H: SealedHeader>(header: &mut H, key: &SealKey) -> SealCheck {
    match sealed_text(header) {
        Ok((text, found)) => key.check(H::DOMAIN, text.as_bytes(), &found),
        Err(_) => SealCheck::Forged,
    }
}

/// The digest of entry lines, as a header carries it.
pub fn digest<'a>(lines: impl IntoIterator<Item = &'a str>) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for line in lines {
        hasher.update(line.as_bytes());
        hasher.update(b"\n");
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Writes `entries` under the header `stamp` makes of their digest,
/// sealed under `key`.
pub fn write<E: Serialize, H: SealedHeader>(
    path: &Path,
    entries: &[E],
    key: &SealKey,
    stamp: impl FnOnce(String) -> H,
) -> Result<(), OutputError> {
    let lines: Vec<String> = entries
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<_, _>>()
        .map_err(|e| OutputError::io(path, e.into()))?;
    let mut header = stamp(digest(lines.iter().map(String::as_str)));
    seal(&mut header, key).map_err(|e| OutputError::io(path, e.into()))?;
    let header = serde_json::to_string(&header).map_err(|e| OutputError::io(path, e.into()))?;
    let mut out = AtomicOutput::create(path, false, &[])?;
    for line in std::iter::once(&header).chain(&lines) {
        out.write_all(line.as_bytes())
            .and_then(|()| out.write_all(b"\n"))
            .map_err(|e| OutputError::io(path, e))?;
    }
    out.commit().map(|_| ())
}

/// What a digested file holds: its header, its entries and their digest
/// as found (for the caller to compare with the header's), and how the
/// header's seal reads under the tenant's key.
pub struct Read<H, E> {
    pub header: H,
    pub entries: Vec<E>,
    pub digest: String,
    pub seal: SealCheck,
}

/// Reads a digested file whose header `is_kind` accepts (`what` names the
/// kind in the refusal), its seal checked under `key`.
pub fn read<H: DeserializeOwned + SealedHeader, E: DeserializeOwned>(
    path: &Path,
    what: &str,
    key: &SealKey,
    is_kind: impl Fn(&H) -> bool,
) -> Result<Read<H, E>, OutputError> {
    let bad = |line: usize, why: String| {
        OutputError::read(path, std::io::Error::other(format!("line {line}: {why}")))
    };
    let file = std::fs::File::open(path).map_err(|e| OutputError::read(path, e))?;
    let mut lines = std::io::BufReader::new(file).lines();
    let first = lines
        .next()
        .transpose()
        .map_err(|e| OutputError::read(path, e))?
        .ok_or_else(|| bad(1, "the file is empty".into()))?;
    let mut header: H = serde_json::from_str(&first)
        .ok()
        .filter(|h| is_kind(h))
        .ok_or_else(|| bad(1, format!("this is not {what}")))?;
    let mut entries = Vec::new();
    let mut texts = Vec::new();
    for (index, line) in lines.enumerate() {
        let line = line.map_err(|e| OutputError::read(path, e))?;
        if line.trim().is_empty() {
            continue;
        }
        entries.push(serde_json::from_str(&line).map_err(|e| bad(index + 2, e.to_string()))?);
        texts.push(line);
    }
    let seal = check(&mut header, key);
    Ok(Read {
        header,
        entries,
        digest: digest(texts.iter().map(String::as_str)),
        seal,
    })
}
