//! Reading a roster once: the first, offline pass over an import's or a
//! sync's input, every row checked and what the strategies need to know
//! about the batch gathered, before a single call is made; the rows are
//! then replayed from the file as the run goes.

use std::collections::BTreeMap;

use crate::decision::lookup::{BatchShape, key_fingerprint, row_key};
use crate::engine::runner::RunError;
pub use crate::engine::users::Roster;
use crate::events::{Event, Events};
use crate::input::{InputSpec, Problem, Scan, Severity, header_problems, scan};

/// What the first pass found.
#[derive(Debug, Default)]
pub struct FirstPass {
    pub scan: Scan,
    pub shape: BatchShape,
    /// Invalid rows and why, for `--skip-invalid`.
    pub invalid: BTreeMap<u64, String>,
    /// Rows valid only if the tenant is seen to use their unknown values:
    /// row → (field, value, message).
    pub pending: BTreeMap<u64, Vec<(&'static str, String, String)>>,
    /// The first problems, for the screen.
    pub shown: Vec<Problem>,
    /// `--report-missing` and `sync`: the people the file names.
    pub roster: Option<Roster>,
    /// Why the rows refuse the run when that is not simply "they are
    /// invalid" (`sync`: the roster looks broken).
    pub broken: Option<String>,
}

impl FirstPass {
    /// Settles the pending rows once the tenant's values are known: a row
    /// whose every unknown value the tenant uses is valid; the others are
    /// invalid, with their messages. Returns how many became invalid.
    pub fn settle(&mut self, tenant_uses: impl Fn(&str, &str) -> bool) -> u64 {
        let mut invalid = 0;
        for (row, values) in std::mem::take(&mut self.pending) {
            let refused: Vec<String> = values
                .iter()
                .filter(|(field, value, _)| !tenant_uses(field, value))
                .map(|(field, _, message)| format!("{field}: {message}"))
                .collect();
            if !refused.is_empty() {
                invalid += 1;
                self.invalid.insert(row, refused.join("; "));
            }
        }
        self.scan.rows_with_errors += invalid;
        invalid
    }

    /// Tells the header's issues, the first problems and the untold
    /// passwords.
    pub fn report(&self, events: &dyn Events) {
        for problem in header_problems(&self.scan.header_issues) {
            events.on(Event::Problem(&problem));
        }
        for problem in self.shown.iter().chain(&self.scan.footers) {
            events.on(Event::Problem(problem));
        }
        if self.scan.untold_passwords > 0 {
            let warning = crate::input::scan::untold_passwords(self.scan.untold_passwords);
            events.on(Event::Warning(&warning));
        }
        events.on(Event::Mapped(&self.scan));
    }

    /// Whether the input's problems stop the run before anything is sent:
    /// header errors, or invalid rows without `--skip-invalid`.
    pub fn refuses(&self, skip_invalid: bool) -> bool {
        self.scan.header_errors() > 0 || (!self.invalid.is_empty() && !skip_invalid)
    }
}

/// How many problems the screen shows.
pub const SHOWN: usize = 20;

fn reason(problem: &Problem) -> String {
    if problem.column.is_empty() {
        problem.message.clone()
    } else {
        format!("{}: {}", problem.column, problem.message)
    }
}

/// What the first pass keeps of the people a file names: nothing, or
/// their keys, with rows ended by an as-of date (days) told apart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RosterKeys {
    None,
    /// Every row current (`--report-missing`: dates are not read).
    All,
    /// Rows whose end date is on or before this day have ended (`sync`).
    AsOf(i64),
}

impl RosterKeys {
    /// Every row's key when `wanted` (`--report-missing`), else none.
    pub fn all_if(wanted: bool) -> Self {
        if wanted {
            RosterKeys::All
        } else {
            RosterKeys::None
        }
    }
}

/// Reads the whole input once, offline; keeps the keys `roster` asks for.
pub fn first_pass(input: &InputSpec, roster: RosterKeys) -> Result<FirstPass, RunError> {
    let mut pass = FirstPass {
        roster: (roster != RosterKeys::None).then(Default::default),
        ..FirstPass::default()
    };
    let match_by = input.rules.match_by;
    let scan = scan(
        input,
        |_| Ok(()),
        |record, row, problems| {
            pass.shape.rows += 1;
            let invalid = problems.iter().any(|p| p.severity == Severity::Error);
            // A row the filters leave out keeps no one.
            if let Some(keys) = &mut pass.roster
                && record.filtered.is_none()
            {
                let as_of = match roster {
                    RosterKeys::AsOf(as_of) => Some(as_of),
                    _ => None,
                };
                keys.note_row(&row, match_by, (as_of, invalid));
            }
            for problem in problems {
                let deferred = matches!(problem.severity, Severity::UnlessTenantUses { .. });
                if pass.shown.len() < SHOWN && !deferred {
                    pass.shown.push(problem.clone());
                }
            }
            let errors: Vec<&Problem> = problems
                .iter()
                .filter(|p| p.severity == Severity::Error)
                .collect();
            if !errors.is_empty() {
                let reasons: Vec<String> = errors.iter().map(|p| reason(p)).collect();
                pass.invalid.insert(record.row, reasons.join("; "));
                return Ok::<_, RunError>(());
            }
            let deferred: Vec<(&'static str, String, String)> = problems
                .iter()
                .filter_map(|p| match &p.severity {
                    Severity::UnlessTenantUses { field, value } => {
                        Some((*field, value.clone(), p.message.clone()))
                    }
                    _ => None,
                })
                .collect();
            if !deferred.is_empty() {
                pass.pending.insert(record.row, deferred);
            }
            let key = row_key(&row, match_by).map(key_fingerprint);
            pass.shape.employee_numbers |= row
                .set
                .employee_number
                .as_deref()
                .is_some_and(|n| !n.trim().is_empty());
            if let Some(groups) = &row.groups {
                pass.shape.groups.extend(groups.iter().cloned());
                pass.shape.keys_with_groups.extend(key);
            }
            if let Some(applications) = &row.applications {
                pass.shape.applications.extend(applications.iter().cloned());
                pass.shape.keys_with_applications.extend(key);
            }
            Ok(())
        },
    )?;
    // A person with a current row (a rehire listed twice) has not left.
    if let Some(keys) = &mut pass.roster {
        let current = &keys.current;
        keys.ended.retain(|key| !current.contains(key));
    }
    // Pending rows are not counted as rows with errors until settled.
    pass.scan = Scan {
        rows_with_errors: scan.rows_with_errors - pass.pending.len() as u64,
        ..scan
    };
    Ok(pass)
}
