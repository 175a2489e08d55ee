//! Telling what an input is from its first bytes, whatever its name: a
//! spreadsheet's container (ZIP for `.xlsx` and `.ods`, OLE for `.xls`),
//! and the encoding of text (a byte-order mark, UTF-16 without one, or
//! Windows-1252 when it is not UTF-8).

use std::fs::File;
use std::io::Read;
use std::path::Path;

use encoding_rs::Encoding;

/// Bytes looked at to tell the encoding.
const SNIFF_BYTES: usize = 64 * 1024;

/// Reads up to [`SNIFF_BYTES`] raw bytes, returning them and the rest.
pub fn read_prefix<R: Read>(mut reader: R) -> std::io::Result<(Vec<u8>, R)> {
    let mut prefix = vec![0u8; SNIFF_BYTES];
    let mut filled = 0;
    while filled < prefix.len() {
        let n = reader.read(&mut prefix[filled..])?;
        if n == 0 {
            break;
        }
        filled += n;
    }
    prefix.truncate(filled);
    Ok((prefix, reader))
}

/// The encoding of a file without `--encoding`: a byte-order mark decides
/// (left to the decoder); UTF-16 without one shows as NUL every other byte;
/// text that is not UTF-8 is taken as Windows-1252 (what Excel writes in
/// Western Europe), and the note says so.
pub fn sniff_encoding(prefix: &[u8]) -> (Option<&'static Encoding>, Option<String>) {
    let has_bom = prefix.starts_with(&[0xEF, 0xBB, 0xBF])
        || prefix.starts_with(&[0xFF, 0xFE])
        || prefix.starts_with(&[0xFE, 0xFF]);
    if has_bom {
        return (None, None);
    }
    let pairs = prefix.len() / 2;
    if pairs >= 2 {
        let zeros = |parity: usize| {
            prefix
                .iter()
                .skip(parity)
                .step_by(2)
                .filter(|b| **b == 0)
                .count()
        };
        let (even, odd) = (zeros(0), zeros(1));
        if odd * 10 > pairs * 3 && even * 20 < pairs {
            return (
                Some(encoding_rs::UTF_16LE),
                Some(
                    "the file is UTF-16 (little-endian) without a byte-order mark; read as such"
                        .to_string(),
                ),
            );
        }
        if even * 10 > pairs * 3 && odd * 20 < pairs {
            return (
                Some(encoding_rs::UTF_16BE),
                Some(
                    "the file is UTF-16 (big-endian) without a byte-order mark; read as such"
                        .to_string(),
                ),
            );
        }
    }
    match std::str::from_utf8(prefix) {
        Ok(_) => (None, None),
        // Cut in the middle of a character at the end of the sample: UTF-8.
        Err(err) if err.error_len().is_none() => (None, None),
        Err(_) => (
            Some(encoding_rs::WINDOWS_1252),
            Some(
                "the file is not UTF-8; read as Windows-1252 (name another with --encoding)"
                    .to_string(),
            ),
        ),
    }
}

/// The first bytes of `path` (none if it cannot be read: opening it
/// says why).
pub fn first_bytes(path: &Path) -> Vec<u8> {
    let mut start = Vec::with_capacity(8);
    if let Ok(file) = File::open(path) {
        let _ = file.take(8).read_to_end(&mut start);
    }
    start
}

/// What a file whose bytes begin with `start` is, if a spreadsheet's
/// container: ZIP (`.xlsx`, `.ods`) or OLE (`.xls`).
pub fn spreadsheet_magic(start: &[u8]) -> Option<&'static str> {
    if start.starts_with(b"PK\x03\x04") {
        Some("a ZIP archive, as .xlsx and .ods files are")
    } else if start.starts_with(&[0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1]) {
        Some("an OLE compound file, as .xls files are")
    } else {
        None
    }
}
