//! The seals of a results file (or journal) as one chain: each line's
//! seal covers the line's cells and the seal of the line before it, and
//! the last line of a finished results file is sealed as the last. So a
//! line edited, taken out, moved or spliced in from another run's file
//! breaks the seal of the line after it, and lines taken off the end
//! leave a file that no longer ends as its run ended. The last line also
//! covers what the run recorded beside the file (the tails of its created
//! groups' chains, [`super::created_groups::bound`]), so lines taken from
//! there show too. Only the tenant's key (derived from its API key) makes
//! these seals.

use crate::model::{SealCheck, SealKey};

/// What a line that follows another is sealed in.
const LINK_DOMAIN: &str = "sebulk results line v2";
/// What the last line of a finished results file is sealed in.
const LAST_DOMAIN: &str = "sebulk results last line v2";

/// What a created-group line is sealed in (its run's own chain).
const GROUP_DOMAIN: &str = "sebulk created group v2";

/// The seals of one file's lines, in the order they are written or read.
#[derive(Clone)]
pub struct LineChain {
    key: SealKey,
    previous: String,
    /// What a line that follows another is sealed in, and the last.
    domains: [&'static str; 2],
}

/// How a line read against the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// Sealed as following the line before it.
    Follows,
    /// Sealed as the last line of a finished file.
    Last,
}

impl LineChain {
    /// A chain starting at a file's first line.
    pub fn new(key: SealKey) -> Self {
        LineChain {
            key,
            previous: String::new(),
            domains: [LINK_DOMAIN, LAST_DOMAIN],
        }
    }

    /// The chain of one run's created-group lines, after the line sealed
    /// `previous` (empty: the run's first).
    pub fn groups(key: SealKey, previous: &str) -> Self {
        LineChain {
            key,
            previous: previous.to_string(),
            domains: [GROUP_DOMAIN, GROUP_DOMAIN],
        }
    }

    /// The seal of the line read or written last.
    pub fn previous(&self) -> &str {
        &self.previous
    }

    /// What a line's seal covers: its cells (the seal cell at `seal_at`
    /// left out) and the seal before it.
    fn message(&self, record: &[String], seal_at: usize) -> Vec<u8> {
        let size: usize = record.iter().map(|cell| cell.len() + 4).sum();
        let mut message = Vec::with_capacity(size + 8 + self.previous.len() + 80);
        let cells = record
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != seal_at)
            .map(|(_, cell)| cell.as_str());
        push_cells(&mut message, cells);
        message.extend_from_slice(b"\0after:");
        message.extend_from_slice(self.previous.as_bytes());
        message
    }

    /// What the last line covers besides: `bound`, what the run recorded
    /// beside the file.
    fn last_message(&self, record: &[String], seal_at: usize, bound: &str) -> Vec<u8> {
        let mut message = self.message(record, seal_at);
        message.extend_from_slice(b"\0bound:");
        message.extend_from_slice(bound.as_bytes());
        message
    }

    /// Seals `record` (its cell at `seal_at`) as the next line; as the
    /// last of a finished file when `last` says what else it binds.
    pub fn seal(&mut self, record: &mut [String], seal_at: usize, last: Option<&str>) {
        let seal = match last {
            None => self
                .key
                .seal(self.domains[0], &self.message(record, seal_at)),
            Some(bound) => self
                .key
                .seal(self.domains[1], &self.last_message(record, seal_at, bound)),
        };
        record[seal_at] = seal.clone();
        self.previous = seal;
    }

    /// Reads `record` as the next line (a last line binding `bound`): how
    /// it is sealed, or why it does not follow ([`SealCheck::Unkeyed`]:
    /// no seal at all).
    pub fn follow(
        &mut self,
        record: &[String],
        seal_at: usize,
        bound: &str,
    ) -> Result<Link, SealCheck> {
        let seal = record[seal_at].as_str();
        let message = self.message(record, seal_at);
        let link = match self.key.check(self.domains[0], &message, seal) {
            SealCheck::Verified => Link::Follows,
            SealCheck::Unkeyed => return Err(SealCheck::Unkeyed),
            SealCheck::Forged => {
                let last = self.last_message(record, seal_at, bound);
                match self.key.check(self.domains[1], &last, seal) {
                    SealCheck::Verified => Link::Last,
                    other => return Err(other),
                }
            }
        };
        self.previous = seal.to_string();
        Ok(link)
    }
}

/// What a sealed line covers: its cells as written, each with its
/// length (no cell can pass for two). Results, intents and created-group
/// lines alike.
pub fn line_message<S: AsRef<str>>(cells: &[S]) -> Vec<u8> {
    let mut message = Vec::new();
    push_cells(&mut message, cells.iter().map(AsRef::as_ref));
    message
}

/// [`line_message`] written onto `message` (sealing every line of a
/// results file, no allocation a cell).
fn push_cells<'a>(message: &mut Vec<u8>, cells: impl Iterator<Item = &'a str>) {
    for cell in cells {
        push_decimal(message, cell.len());
        message.push(b':');
        message.extend_from_slice(cell.as_bytes());
    }
}

/// `n` in decimal digits, as `n.to_string()` writes it.
fn push_decimal(out: &mut Vec<u8>, n: usize) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = n;
    loop {
        at -= 1;
        digits[at] = b'0' + (rest % 10) as u8;
        rest /= 10;
        if rest == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_are_written_as_decimal_numbers() {
        for n in [0, 7, 10, 99, 100, 65_535, usize::MAX] {
            let mut out = Vec::new();
            push_decimal(&mut out, n);
            assert_eq!(out, n.to_string().into_bytes());
        }
        assert_eq!(line_message(&["ab", "", "ü"]), b"2:ab0:2:\xc3\xbc".to_vec());
    }

    fn lines(key: &SealKey, n: usize) -> Vec<Vec<String>> {
        let mut chain = LineChain::new(key.clone());
        (0..n)
            .map(|i| {
                let mut line = vec![i.to_string(), String::new(), format!("user{i}")];
                chain.seal(&mut line, 1, (i + 1 == n).then_some("groups"));
                line
            })
            .collect()
    }

    fn read(key: &SealKey, lines: &[Vec<String>]) -> Result<Vec<Link>, SealCheck> {
        let mut chain = LineChain::new(key.clone());
        lines
            .iter()
            .map(|line| chain.follow(line, 1, "groups"))
            .collect()
    }

    #[test]
    fn a_finished_file_reads_whole_and_ends_last() {
        let key = SealKey::derive("k", "t");
        let links = read(&key, &lines(&key, 3)).unwrap();
        assert_eq!(links, vec![Link::Follows, Link::Follows, Link::Last]);
    }

    #[test]
    fn lines_taken_out_moved_or_spliced_break_the_chain() {
        let key = SealKey::derive("k", "t");
        let file = lines(&key, 4);
        let mut without = file.clone();
        without.remove(1);
        assert_eq!(read(&key, &without), Err(SealCheck::Forged), "taken out");
        let mut moved = file.clone();
        moved.swap(1, 2);
        assert_eq!(read(&key, &moved), Err(SealCheck::Forged), "moved");
        let mut edited = file.clone();
        edited[2][2] = "someone".into();
        assert_eq!(read(&key, &edited), Err(SealCheck::Forged), "edited");
        let mut repeated = file.clone();
        repeated.insert(2, file[1].clone());
        assert_eq!(read(&key, &repeated), Err(SealCheck::Forged), "repeated");
        let mut from_other_run = file.clone();
        from_other_run.insert(2, lines(&key, 5)[2].clone());
        assert_eq!(
            read(&key, &from_other_run),
            Err(SealCheck::Forged),
            "spliced"
        );
        // The end taken off: what is left reads, but does not end last.
        let cut = &file[..3];
        assert_eq!(read(&key, cut).unwrap().last(), Some(&Link::Follows));
        let mut blank = file.clone();
        blank[0][1].clear();
        assert_eq!(read(&key, &blank), Err(SealCheck::Unkeyed));
        let mut other_bound = LineChain::new(key.clone());
        let unbound: Result<Vec<Link>, SealCheck> = file
            .iter()
            .map(|line| other_bound.follow(line, 1, ""))
            .collect();
        assert_eq!(unbound, Err(SealCheck::Forged), "what it bound changed");
        let other_key = SealKey::derive("k2", "t");
        assert_eq!(read(&other_key, &file), Err(SealCheck::Forged));
    }
}
