//! `--report-missing`: the tenant users a roster does not name, so leavers
//! show up during the normal joiners run.
//!
//! A roster keeps a user when one of its rows carries the user's match key
//! (the rows a mapping filters out keep no one, as with `offboard
//! --roster`). The keys come from the import's first pass over the file
//! and the tenant listing the import makes anyway feeds the report, so it
//! costs no extra read of the file and no extra call. The file it writes is a leavers
//! file: `sebulk offboard FILE` takes it as it is.

use std::path::Path;

use crate::engine::users::Roster;
use crate::engine::users::{NamedOtherwise, key_of};
use crate::input::MatchBy;
use crate::model::User;
use crate::output::OutputError;
use crate::output::records::Format;
use crate::output::records::RecordWriter;

/// The report's columns: a leavers file matched by username.
const COLUMNS: [&str; 6] = [
    "username",
    "email",
    "employeeNumber",
    "firstName",
    "lastName",
    "user_id",
];

/// The roster's keys, and the tenant users it does not hold.
pub struct MissingUsers {
    match_by: MatchBy,
    roster: Roster,
    /// Tenant users the roster does not name.
    pub missing: Vec<User>,
    /// Tenant users named only by their email or employee number.
    pub named_otherwise: NamedOtherwise,
    /// Tenant users with no value in the match field (they cannot be named).
    pub unmatchable: u64,
}

impl MissingUsers {
    /// Against the match keys the first pass kept.
    pub fn new(roster: Roster, match_by: MatchBy) -> Self {
        MissingUsers {
            match_by,
            roster,
            missing: Vec::new(),
            named_otherwise: NamedOtherwise::default(),
            unmatchable: 0,
        }
    }

    /// Sees one tenant user.
    pub fn see(&mut self, user: &User) {
        match key_of(user, self.match_by) {
            None => self.unmatchable += 1,
            Some(key) if self.roster.current.contains(&key) => {}
            Some(_) if self.roster.names_otherwise(user) => self.named_otherwise.note(user),
            Some(_) => self.missing.push(user.clone()),
        }
    }

    /// Writes the report, sorted by username.
    pub fn write(&mut self, path: &Path, force: bool) -> Result<(), OutputError> {
        self.missing
            .sort_by_key(|u| u.fields.username.clone().unwrap_or_default().to_lowercase());
        let mut writer = RecordWriter::create(path, Format::Csv, force, false, true)?;
        writer.header(&COLUMNS.map(String::from))?;
        for user in &self.missing {
            let f = &user.fields;
            let text = |v: &Option<String>| v.clone().unwrap_or_default();
            let cells = [
                text(&f.username),
                text(&f.email),
                text(&f.employee_number),
                text(&f.first_name),
                text(&f.last_name),
                user.id.clone(),
            ];
            writer.record(&cells, || serde_json::Value::Null)?;
        }
        writer.commit()?;
        Ok(())
    }
}
