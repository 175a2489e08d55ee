//! The seals of a results file (or journal) as one chain: each line's
//! seal covers the line's cells and the seal of the line before it, and
//! the last line of a finished results file is sealed as the last. So a
//! line edited, taken out, moved or spliced in from another run's file
//! breaks the seal of the line after it, and lines taken off the end
//! leave a file that no longer ends as its run ended. Only the tenant's
//! key (derived from its API key) makes these seals.

use crate::model::{SealCheck, SealKey};

/// What a line that follows another is sealed in.
const LINK_DOMAIN: &str = "sebulk results line v2";
/// What the last line of a finished results file is sealed in.
const LAST_DOMAIN: &str = "sebulk results last line v2";

/// The seals of one file's lines, in the order they are written or read.
#[derive(Clone)]
pub struct LineChain {
    key: SealKey,
    previous: String,
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
        }
    }

    /// What a line's seal covers: its cells (the seal cell at `seal_at`
    /// left out) and the seal before it.
    fn message(&self, record: &[String], seal_at: usize) -> Vec<u8> {
        let cells: Vec<&str> = record
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != seal_at)
            .map(|(_, cell)| cell.as_str())
            .collect();
        let mut message = line_message(&cells);
        message.extend_from_slice(b"\0after:");
        message.extend_from_slice(self.previous.as_bytes());
        message
    }

    /// Seals `record` (its cell at `seal_at`) as the next line; `last`
    /// when it ends a finished file.
    pub fn seal(&mut self, record: &mut [String], seal_at: usize, last: bool) {
        let domain = if last { LAST_DOMAIN } else { LINK_DOMAIN };
        let seal = self.key.seal(domain, &self.message(record, seal_at));
        record[seal_at] = seal.clone();
        self.previous = seal;
    }

    /// Reads `record` as the next line: how it is sealed, or why it does
    /// not follow ([`SealCheck::Unkeyed`]: no seal at all).
    pub fn follow(&mut self, record: &[String], seal_at: usize) -> Result<Link, SealCheck> {
        let seal = record[seal_at].as_str();
        let message = self.message(record, seal_at);
        let link = match self.key.check(LINK_DOMAIN, &message, seal) {
            SealCheck::Verified => Link::Follows,
            SealCheck::Unkeyed => return Err(SealCheck::Unkeyed),
            SealCheck::Forged => match self.key.check(LAST_DOMAIN, &message, seal) {
                SealCheck::Verified => Link::Last,
                other => return Err(other),
            },
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
    for cell in cells {
        let cell = cell.as_ref();
        message.extend_from_slice(cell.len().to_string().as_bytes());
        message.push(b':');
        message.extend_from_slice(cell.as_bytes());
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(key: &SealKey, n: usize) -> Vec<Vec<String>> {
        let mut chain = LineChain::new(key.clone());
        (0..n)
            .map(|i| {
                let mut line = vec![i.to_string(), String::new(), format!("user{i}")];
                chain.seal(&mut line, 1, i + 1 == n);
                line
            })
            .collect()
    }

    fn read(key: &SealKey, lines: &[Vec<String>]) -> Result<Vec<Link>, SealCheck> {
        let mut chain = LineChain::new(key.clone());
        lines.iter().map(|line| chain.follow(line, 1)).collect()
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
        let other_key = SealKey::derive("k2", "t");
        assert_eq!(read(&other_key, &file), Err(SealCheck::Forged));
    }
}
