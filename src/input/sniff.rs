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

/// Why a file that is not UTF-8 must not be guessed as Windows-1252: a
/// word that reads as no Western name would (`Gdañsk`, `Wiœniewski`,
/// `Wa³êsa`, `Dvoøák`, `Ïåòðîâ`) and as letters in the Central European
/// or Cyrillic code page, shown both ways. Names written wrong into the
/// directory are damage; a flag is not.
pub fn implausible_as_western(prefix: &[u8]) -> Option<String> {
    let words = prefix.split(|b| !(b.is_ascii_alphabetic() || *b >= 0x80));
    for word in words.filter(|w| w.iter().any(|b| *b >= 0x80)) {
        let (western, _) = encoding_rs::WINDOWS_1252.decode_without_bom_handling(word);
        // Each code page the word may be in, and whether it is suspect as
        // Western text in the way that code page explains.
        let candidates = [
            (encoding_rs::WINDOWS_1251, "Cyrillic", looks_cyrillic(word)),
            (
                encoding_rs::WINDOWS_1250,
                "Central European",
                !western_word(&western),
            ),
        ];
        for (encoding, name, suspect) in candidates {
            let (other, _) = encoding.decode_without_bom_handling(word);
            if suspect && other.chars().all(char::is_alphabetic) {
                let label = encoding.name().to_ascii_lowercase();
                return Some(format!(
                    "the file is not UTF-8, and it does not read as Windows-1252 (Western European): '{western}' reads as '{other}' in {label} ({name}); name its encoding with --encoding {label} (or --encoding windows-1252 if '{western}' is right)"
                ));
            }
        }
    }
    None
}

/// A word of at least four bytes, all in the upper half of the code
/// page: Cyrillic in 1251, and a run of accented letters no Western
/// word has in 1252.
fn looks_cyrillic(word: &[u8]) -> bool {
    word.len() >= 4 && word.iter().all(|b| *b >= 0xC0)
}

/// Whether a word read as Windows-1252 is one a Western name could be:
/// no symbol touching a letter (`³` for `ł`), `ñ` only before a vowel
/// (as Spanish writes it, not `Gdañsk`), `œ` only before `u`, `i` or `e`
/// or at the start (not `Wiœniewski`), a grave `ì`, `ò` or `ù` only at
/// the end (as Italian writes it, not `Mìsto`), `ø` never before an
/// acute vowel (not `Dvoøák`).
fn western_word(word: &str) -> bool {
    let chars: Vec<char> = word.chars().collect();
    let vowel = |c: char| "aeiouyáéíóúüAEIOUYÁÉÍÓÚÜ".contains(c);
    chars.iter().enumerate().all(|(at, c)| {
        let next = chars.get(at + 1).copied();
        match c {
            'ñ' | 'Ñ' => next.is_some_and(vowel),
            'œ' | 'Œ' => at == 0 || next.is_some_and(|n| "uieUIE".contains(n)),
            'ì' | 'ò' | 'ù' => next.is_none(),
            'ø' | 'Ø' => !next.is_some_and(|n| "áéíóúýÁÉÍÓÚÝ".contains(n)),
            c if !c.is_alphabetic() => false,
            _ => true,
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;

    fn in_code_page(text: &str, encoding: &'static Encoding) -> Vec<u8> {
        let (bytes, _, lossy) = encoding.encode(text);
        assert!(!lossy, "{text}");
        bytes.into_owned()
    }

    #[test]
    fn central_european_and_cyrillic_files_are_not_guessed_as_western() {
        let polish = in_code_page("city,name\nGdańsk,Wiśniewski\n", encoding_rs::WINDOWS_1250);
        let why = implausible_as_western(&polish).unwrap();
        assert!(why.contains("'Gdañsk' reads as 'Gdańsk'"), "{why}");
        assert!(why.contains("--encoding windows-1250"), "{why}");
        for word in ["Wałęsa", "Dvořák", "Měšťan", "Łukasz"] {
            let bytes = in_code_page(word, encoding_rs::WINDOWS_1250);
            assert!(implausible_as_western(&bytes).is_some(), "{word}");
        }
        let russian = in_code_page("Петров", encoding_rs::WINDOWS_1251);
        let why = implausible_as_western(&russian).unwrap();
        assert!(why.contains("windows-1251"), "{why}");
        for western in [
            "René Lefèvre",
            "Zoë Müller",
            "Peña",
            "España",
            "Cœur",
            "Œuvre",
            "Niccolò",
            "più",
            "Søren Kierkegaard",
            "Ærø",
            "João",
            "Ångström",
            "François",
            "Forschung & Entwicklung",
        ] {
            let bytes = in_code_page(western, encoding_rs::WINDOWS_1252);
            assert_eq!(implausible_as_western(&bytes), None, "{western}");
        }
    }
}
