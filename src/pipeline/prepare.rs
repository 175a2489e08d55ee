//! The first, offline pass over an import's input: every row checked, and
//! what the strategies need to know about the batch gathered, before a
//! single call is made.

use std::collections::BTreeMap;

use crate::cli::InputArgs;
use crate::commands::CommandError;
use crate::commands::validate::{Scan, scan};
use crate::input::cells::MASK;
use crate::input::{Column, Header, Problem};
use crate::plan::lookup::{BatchShape, key_fingerprint, row_key};

/// What the first pass found.
#[derive(Debug, Default)]
pub struct FirstPass {
    pub scan: Scan,
    pub shape: BatchShape,
    /// Invalid rows and why, for `--skip-invalid`.
    pub invalid: BTreeMap<u64, String>,
    /// The first problems, for the screen.
    pub shown: Vec<Problem>,
}

/// How many problems the screen shows.
pub const SHOWN: usize = 20;

/// Reads the whole input once, offline.
pub fn first_pass(input: &InputArgs) -> Result<FirstPass, CommandError> {
    let mut pass = FirstPass::default();
    let match_by = input.match_by;
    let scan = scan(input, |record, row, problems| {
        pass.shape.rows += 1;
        if !problems.is_empty() {
            let reasons: Vec<String> = problems
                .iter()
                .map(|p| {
                    if p.column.is_empty() {
                        p.message.clone()
                    } else {
                        format!("{}: {}", p.column, p.message)
                    }
                })
                .collect();
            pass.invalid.insert(record.row, reasons.join("; "));
            for problem in problems {
                if pass.shown.len() < SHOWN {
                    pass.shown.push(problem.clone());
                }
            }
            return Ok(());
        }
        let key = row_key(&row, match_by).map(key_fingerprint);
        if let Some(groups) = &row.groups {
            pass.shape.groups.extend(groups.iter().cloned());
            pass.shape.keys_with_groups.extend(key);
        }
        if let Some(applications) = &row.applications {
            pass.shape.applications.extend(applications.iter().cloned());
            pass.shape.keys_with_applications.extend(key);
        }
        Ok(())
    })?;
    pass.scan = scan;
    Ok(pass)
}

/// The cells as results and plans repeat them: secrets masked.
pub fn masked_cells(header: &Header, cells: &[String]) -> Vec<String> {
    let mut masked: Vec<String> = cells.to_vec();
    masked.resize(header.columns.len().max(cells.len()), String::new());
    masked.truncate(header.columns.len());
    for (cell, column) in masked.iter_mut().zip(&header.columns) {
        if *column == Column::Password && !cell.trim().is_empty() {
            *cell = MASK.to_string();
        }
    }
    masked
}
