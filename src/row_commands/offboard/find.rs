//! Who leaves: the rows of a leavers file or a roster, read offline, and
//! the tenant users they name (or, for a roster, do not name).

use futures::StreamExt;

use super::{OffboardOptions, Who};
use crate::api::{ApiError, Client};
use crate::decision::lookup::row_key;
use crate::engine::leavers::{Found, Leaver};
use crate::engine::runner::RunError;
use crate::engine::users::{NamedOtherwise, Roster};
use crate::engine::users::{TenantUsers, key_of, one_user, tenant_users};
use crate::input::scan::open_with;
use crate::input::{InputSpec, MatchBy, Mode};
use crate::model::text::match_key;
use crate::model::{Field, User};
use crate::output::held;

/// A file's rows as offboarding needs them.
pub struct ReadWho {
    pub match_by: MatchBy,
    pub shown: String,
    pub file: std::path::PathBuf,
    /// The header the results repeat the rows under.
    pub header: Vec<String>,
    /// Named: (row, match key if any, masked cells).
    pub named: Vec<(u64, Option<String>, Vec<String>)>,
    /// Named: the other keys each row gives (username, email, employee
    /// number), which must name the same user as its match key.
    pub identities: std::collections::HashMap<u64, Vec<(Field, String)>>,
    /// Roster: every match key it holds (lower case), the emails and
    /// employee numbers of its rows, and its row count.
    pub roster: Roster,
    pub roster_rows: Option<u64>,
    /// Rows that could not be read as they should (said as warnings).
    pub problems: Vec<String>,
    /// Named rows whose cells do not fit the header: why (failed rows).
    pub unreadable: std::collections::HashMap<u64, String>,
    /// The header's width.
    pub width: usize,
    /// Approving held changes: what was held.
    pub held: Option<(held::HeldHeader, Vec<held::HeldUser>)>,
}

/// The columns an approval's results repeat.
const HELD_COLUMNS: [&str; 4] = ["user_id", "username", "email", "employeeNumber"];

/// Reads a held file as the rows of an approval.
fn read_held(path: &std::path::Path, key: &crate::model::SealKey) -> Result<ReadWho, RunError> {
    let (header, users) = held::read(path, key)?;
    let named = users
        .iter()
        .map(|u| (u.row, Some(u.user_id.clone()), u.cells()))
        .collect();
    Ok(ReadWho {
        match_by: MatchBy::Username,
        shown: crate::input::reader::shown(path),
        file: path.to_path_buf(),
        header: HELD_COLUMNS.iter().map(|c| c.to_string()).collect(),
        named,
        identities: Default::default(),
        roster: Roster::default(),
        roster_rows: None,
        problems: Vec::new(),
        unreadable: Default::default(),
        width: HELD_COLUMNS.len(),
        held: Some((header, users)),
    })
}

/// The held users found again by id: each must still be the person held
/// (username, email and employee number), else its row fails.
async fn find_held(client: &Client, users: &[held::HeldUser]) -> Result<FoundAll, RunError> {
    let answers: Vec<(u64, Result<Option<User>, ApiError>)> = futures::stream::iter(users)
        .map(|held| async move {
            (
                held.row,
                crate::api::found(client.get_user(&held.user_id).await),
            )
        })
        .buffered(16)
        .collect()
        .await;
    let mut leavers = Vec::new();
    for (held, (row, answer)) in users.iter().zip(answers) {
        let found = match answer? {
            None => Found::Missing(format!(
                "user {} (held as '{}') is gone since the run was held",
                held.user_id, held.username
            )),
            Some(user) => {
                let identity = [
                    (Field::Username, held.username.clone()),
                    (Field::Email, held.email.clone()),
                    (Field::EmployeeNumber, held.employee_number.clone()),
                ];
                let changed = identity.iter().find(|(field, was)| {
                    match_key(user.fields.text(*field).unwrap_or_default()) != match_key(was)
                });
                match changed {
                    Some((field, was)) => Found::Missing(format!(
                        "user {} is no longer the person held: its {field} was '{was}', now '{}'; not changed",
                        user.id,
                        user.fields.text(*field).unwrap_or_default()
                    )),
                    None => Found::User(Box::new(user)),
                }
            }
        };
        leavers.push(Leaver::new(row, held.username.clone(), held.cells(), found));
    }
    Ok(FoundAll {
        leavers,
        tenant_users: crate::engine::users::tenant_size(client).await?,
        unmatchable: 0,
        named_otherwise: NamedOtherwise::default(),
        roster_unmatched: Vec::new(),
        protect_unmatched: Vec::new(),
    })
}

impl ReadWho {
    pub fn inputs(&self) -> Vec<&std::path::Path> {
        vec![self.file.as_path()]
    }
}

/// The fields that say who a person is.
const IDENTITY: [Field; 3] = [Field::Username, Field::Email, Field::EmployeeNumber];

/// Why `user` is not the person a row's other keys name, if it is not:
/// a row whose username names one person and whose email names another
/// is an error, never a guess.
fn disagreement(user: &User, identity: &[(Field, String)], by: &str) -> Option<String> {
    let differs: Vec<String> = identity
        .iter()
        .filter_map(|(field, value)| {
            let held = user.fields.text(*field).unwrap_or_default();
            (!match_key(held).is_empty() && match_key(held) != match_key(value))
                .then(|| format!("its {field} is '{value}' where the user's is '{held}'"))
        })
        .collect();
    (!differs.is_empty()).then(|| {
        format!(
            "the row's keys name different people: its {by} is {}'s, but {}",
            user.fields.username.as_deref().unwrap_or(&user.id),
            differs.join(", ")
        )
    })
}

/// Reads the leavers file or the roster (blocking).
pub fn read_who(who: &Who, key: &crate::model::SealKey) -> Result<ReadWho, RunError> {
    let (spec, is_roster) = match who {
        Who::Named(spec) => (spec, false),
        Who::Roster(spec) => (spec, true),
        Who::Held(path) => return read_held(path, key),
    };
    // Only the match key matters here: read as an update feed, so a row is
    // not refused for what an import would need (an email, say).
    let mut spec: InputSpec = spec.clone();
    spec.rules.mode = Mode::Update;
    let match_by = spec.rules.match_by;
    let (mut rows, mut validator, issues) = open_with(&spec, spec.vocabulary.clone())?;
    if let Some(issue) = issues.iter().find(|i| i.is_error) {
        return Err(RunError::Reader(issue.message.clone()));
    }
    let mut read = ReadWho {
        match_by,
        shown: crate::input::reader::shown(&spec.file),
        file: spec.file.clone(),
        header: if is_roster {
            vec!["username".into(), "email".into(), "employeeNumber".into()]
        } else {
            rows.echo_header().to_vec()
        },
        named: Vec::new(),
        identities: Default::default(),
        roster: Roster::default(),
        roster_rows: is_roster.then_some(0),
        problems: Vec::new(),
        unreadable: Default::default(),
        width: rows.header().len(),
        held: None,
    };
    while let Some(record) = rows.next_record() {
        let record = record?;
        if let Some(count) = &mut read.roster_rows {
            *count += 1;
        }
        if record.filtered.is_some() {
            // A roster's filters say who is not staff: they are leavers.
            continue;
        }
        if let Some(why) = record.shape_problem(read.width) {
            if is_roster {
                // A roster row not read keeps no one: refuse rather than guess.
                return Err(RunError::Reader(format!(
                    "roster row {} (line {}): {why}",
                    record.row, record.line
                )));
            }
            let cells = rows.echo(&record, validator.header());
            read.unreadable.insert(record.row, why);
            read.named.push((record.row, None, cells));
            continue;
        }
        let (input, _) = validator.check(&record);
        let key = row_key(&input, match_by).map(str::to_string);
        if is_roster {
            read.roster.note_identities(&input, match_by);
            match key.as_deref().map(match_key).filter(|k| !k.is_empty()) {
                Some(key) => {
                    read.roster.current.insert(key);
                }
                None => read.problems.push(format!(
                    "roster row {} (line {}) has no {}: it keeps no one",
                    record.row,
                    record.line,
                    match_by.field().wire()
                )),
            }
        } else {
            let cells = rows.echo(&record, validator.header());
            let identity: Vec<(Field, String)> = IDENTITY
                .into_iter()
                .filter(|f| *f != match_by.field())
                .filter_map(|f| {
                    let value = input.set.text(f)?;
                    (!match_key(value).is_empty()).then(|| (f, value.to_string()))
                })
                .collect();
            if !identity.is_empty() {
                read.identities.insert(record.row, identity);
            }
            read.named.push((record.row, key, cells));
        }
    }
    Ok(read)
}

/// What the tenant said about the file.
pub struct FoundAll {
    pub leavers: Vec<Leaver>,
    pub tenant_users: u64,
    /// Roster: tenant users without a value in the match field.
    pub unmatchable: u64,
    /// Roster: tenant users whose match key no row has but whose email or
    /// employee number one does (kept).
    pub named_otherwise: NamedOtherwise,
    /// Roster: its keys no tenant user holds (as read, sorted).
    pub roster_unmatched: Vec<String>,
    /// Roster: protected patterns that name none of the tenant's users.
    pub protect_unmatched: Vec<String>,
}

/// Matches the file to the tenant: one lookup per name when that is
/// cheaper, else one listing.
pub async fn find(
    client: &Client,
    read: &ReadWho,
    options: &OffboardOptions,
) -> Result<FoundAll, RunError> {
    if let Some((_, users)) = &read.held {
        return find_held(client, users).await;
    }
    let keys: Option<Vec<String>> = read.roster_rows.is_none().then(|| {
        read.named
            .iter()
            .filter_map(|(_, key, _)| key.clone())
            .collect()
    });
    let TenantUsers {
        by_key,
        listed,
        total: tenant_users,
    } = tenant_users(client, keys.as_deref(), read.match_by).await?;
    let field = read.match_by.field().wire();
    let mut leavers = Vec::new();
    let mut unmatchable = 0;
    let mut named_otherwise = NamedOtherwise::default();
    let mut roster_unmatched = Vec::new();
    let mut protect_unmatched = Vec::new();
    if read.roster_rows.is_some() {
        roster_unmatched = read
            .roster
            .current
            .iter()
            .filter(|key| !by_key.contains_key(*key))
            .map(str::to_string)
            .collect();
        roster_unmatched.sort();
        protect_unmatched = options.protection.unmatched(&listed);
        let mut gone: Vec<&User> = Vec::new();
        for user in &listed {
            match key_of(user, read.match_by) {
                None => unmatchable += 1,
                Some(key) if read.roster.current.contains(&key) => {}
                Some(_) if read.roster.names_otherwise(user) => named_otherwise.note(user),
                Some(_) => gone.push(user),
            }
        }
        gone.sort_by_key(|u| u.fields.username.clone().unwrap_or_default().to_lowercase());
        for (index, user) in gone.into_iter().enumerate() {
            let text = |f: Option<&String>| f.cloned().unwrap_or_default();
            let cells = vec![
                text(user.fields.username.as_ref()),
                text(user.fields.email.as_ref()),
                text(user.fields.employee_number.as_ref()),
            ];
            let found = Found::User(Box::new(user.clone()));
            leavers.push(Leaver::new(
                index as u64 + 1,
                cells[0].clone(),
                cells,
                found,
            ));
        }
    } else {
        for (row, key, cells) in &read.named {
            let found = match key {
                None if read.unreadable.contains_key(row) => {
                    Found::Missing(read.unreadable[row].clone())
                }
                None => Found::Missing(format!("the row gives no {field}")),
                Some(key) => match one_user(&by_key, key, field) {
                    Ok(user) => match read
                        .identities
                        .get(row)
                        .and_then(|identity| disagreement(user, identity, field))
                    {
                        Some(why) => Found::Missing(why),
                        None => Found::User(Box::new(user.clone())),
                    },
                    Err(why) => Found::Missing(why),
                },
            };
            let label = match &found {
                Found::User(user) => user.fields.username.clone().unwrap_or_default(),
                _ => key.clone().unwrap_or_default(),
            };
            leavers.push(Leaver::new(*row, label, cells.clone(), found));
        }
    }
    Ok(FoundAll {
        leavers,
        tenant_users,
        unmatchable,
        named_otherwise,
        roster_unmatched,
        protect_unmatched,
    })
}
