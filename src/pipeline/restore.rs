//! `restore SNAPSHOT`: the users a snapshot holds, given back. A user
//! that still exists gets its fields back as they were (re-enabled,
//! unlocked, its values) and the memberships it lost; a deleted user is
//! created again (a new id; a generated password, told only if asked)
//! with its memberships. What already matches is not sent again, so a
//! second restore changes nothing. A removed second factor cannot be
//! given back (its secret was never recorded): the row says so.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use serde::Serialize;

use crate::api::{ApiError, Client};
use crate::events::{Event, Events};
use crate::model::{PasswordOptions, Target, TargetKind, UserFields, UserWrite};
use crate::output::results::{RunStamp, utc_now};
use crate::output::snapshot::{self, SnapshotEntry};
use crate::output::{Outcome, RowResult};
use crate::pipeline::results_sink::{ResultsSink, RunTotals};
use crate::pipeline::runner::{
    Disposition, Finished, Job, JobSource, RowAction, RunError, Runner, Stops,
};
use crate::plan::decide::describe;

/// What a restore is asked to do.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    pub snapshot: PathBuf,
    pub output: Option<PathBuf>,
    pub force: bool,
    /// Email re-created users their new password.
    pub send_email: bool,
    pub dry_run: bool,
}

/// What a restore did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct RestoreSummary {
    #[serde(flatten)]
    pub totals: RunTotals,
    pub snapshot: String,
    /// The run the snapshot was taken for.
    pub snapshot_of: String,
}

/// Gives back one snapshot entry.
pub struct RestoreAction {
    pub send_email: bool,
    pub dry_run: bool,
}

impl RowAction for RestoreAction {
    type Input = SnapshotEntry;
    type Detail = ();

    async fn process(
        &self,
        client: Client,
        entry: SnapshotEntry,
        mut result: RowResult,
    ) -> Finished<()> {
        let (client, tally) = client.tallied();
        if let Err(err) = self.restore(&client, &entry, &mut result).await {
            result.outcome = match err {
                ApiError::Stopped(_) if tally.writes_sent() == 0 => Outcome::NotAttempted,
                _ => Outcome::Failed,
            };
            result.http_status = err.status();
            result.add_error(err.to_string());
        }
        result.attempts = tally.attempts();
        Finished {
            result,
            detail: None,
            pending: Vec::new(),
        }
    }
}

impl RestoreAction {
    async fn restore(
        &self,
        client: &Client,
        entry: &SnapshotEntry,
        result: &mut RowResult,
    ) -> Result<(), ApiError> {
        let was = &entry.user;
        let username = was.fields.username.clone().unwrap_or_default();
        // The same user if it is still there; else whoever holds the username now.
        let current = match client.get_user(&was.id).await {
            Ok(user) => Some(user),
            Err(err) if err.status() == Some(404) => {
                client.find_user_by_username(&username).await?
            }
            Err(err) => return Err(err),
        };
        let mut client = client.clone();
        let (user_id, held_groups, held_applications) = match current {
            Some(current) => {
                result.user_id = current.id.clone();
                let changes = describe(&current.fields, &was.fields);
                if !changes.is_empty() {
                    let mut body = UserWrite::from_user(&current);
                    // Every field as it was (one it did not have is cleared).
                    body.fields = was.fields.clone();
                    if !self.dry_run {
                        client.update_user(&current.id, &body).await?;
                        client = client.uncut();
                    }
                    result.changes = changes;
                    result.outcome = Outcome::Updated;
                } else {
                    result.outcome = Outcome::Unchanged;
                }
                let (groups, applications) = futures::try_join!(
                    client.memberships_of(TargetKind::Group, &current.id),
                    client.memberships_of(TargetKind::Application, &current.id)
                )?;
                (current.id, ids(&groups), ids(&applications))
            }
            None => {
                let body = UserWrite {
                    fields: was.fields.clone(),
                    extra: Default::default(),
                    password: PasswordOptions {
                        auto_generate_password: Some(true),
                        password: None,
                        must_change_password_on_logon: Some(true),
                        send_email: Some(self.send_email),
                    },
                };
                let id = if self.dry_run {
                    String::new()
                } else {
                    let created = client.create_user(&body).await?;
                    client = client.uncut();
                    created.user.id
                };
                result.user_id = id.clone();
                result.outcome = Outcome::Created;
                result.changes = describe(&UserFields::default(), &was.fields);
                if !self.send_email {
                    result.add_error("re-created with a generated password nobody was told: set one (sebulk passwords) before the user signs in");
                }
                (id, BTreeSet::new(), BTreeSet::new())
            }
        };
        for (kind, wanted, held) in [
            (TargetKind::Group, &entry.groups, &held_groups),
            (
                TargetKind::Application,
                &entry.applications,
                &held_applications,
            ),
        ] {
            let missing: Vec<&Target> = wanted.iter().filter(|t| !held.contains(&t.id)).collect();
            if missing.is_empty() {
                continue;
            }
            let missing_ids: Vec<String> = missing.iter().map(|t| t.id.clone()).collect();
            if !self.dry_run {
                match kind {
                    TargetKind::Group => client.assign_groups(&user_id, &missing_ids).await?,
                    TargetKind::Application => {
                        client.assign_applications(&user_id, &missing_ids).await?
                    }
                }
            }
            let names = missing.iter().map(|t| t.name.clone());
            match kind {
                TargetKind::Group => result.groups_added.extend(names),
                TargetKind::Application => result.applications_added.extend(names),
            }
            if result.outcome == Outcome::Unchanged {
                result.outcome = Outcome::Updated;
            }
        }
        if let Some(kind) = &entry.second_factor {
            result.add_error(format!(
                "its second factor ({kind}) was removed and cannot be given back: enrol it again"
            ));
        }
        Ok(())
    }
}

fn ids(targets: &[Target]) -> BTreeSet<String> {
    targets.iter().map(|t| t.id.clone()).collect()
}

/// Runs a restore (or its dry run).
pub async fn run(
    client: Client,
    options: &RestoreOptions,
    stops: Stops,
    events: &dyn Events,
) -> Result<(RestoreSummary, bool), RunError> {
    let started = Instant::now();
    let started_at = utc_now();
    let (header, entries) = snapshot::read(&options.snapshot)?;
    let tenant = client.base_url().to_string();
    if header.tenant != tenant {
        let note = format!(
            "the snapshot was taken of {}, not {tenant}: users are matched by id, then username",
            header.tenant
        );
        events.on(Event::Warning(&note));
    }
    let stamp = RunStamp {
        run_id: format!("restore-{}", header.run_id),
        tenant: tenant.clone(),
    };
    let input_header = vec![
        "username".to_string(),
        "email".to_string(),
        "snapshot_user_id".to_string(),
    ];
    let mut sink = ResultsSink::open(
        options.output.as_deref(),
        options.force,
        &[options.snapshot.as_path()],
        &input_header,
        stamp.clone(),
    )?;
    let rows = entries.len() as u64;
    let entries = Arc::new(entries);
    let source: JobSource<SnapshotEntry> = {
        let entries = entries.clone();
        Arc::new(move |emit| {
            for (index, entry) in entries.iter().enumerate() {
                let text = |f: &Option<String>| f.clone().unwrap_or_default();
                let job = Job {
                    row: index as u64 + 1,
                    label: text(&entry.user.fields.username),
                    cells: vec![
                        text(&entry.user.fields.username),
                        text(&entry.user.fields.email),
                        entry.user.id.clone(),
                    ],
                    disposition: Disposition::Process,
                    input: entry.clone(),
                };
                if !emit(job) {
                    break;
                }
            }
            Ok(())
        })
    };
    events.on(Event::Phase(if options.dry_run {
        "planning"
    } else {
        "restoring"
    }));
    let runner = Runner {
        client: client.clone(),
        action: Arc::new(RestoreAction {
            send_email: options.send_email,
            dry_run: options.dry_run,
        }),
        source,
        rows,
        stops,
        events,
        apply_memberships: false,
    };
    let outcome = runner.run(&mut sink).await?;
    let summary = RestoreSummary {
        totals: RunTotals::of(
            &stamp,
            (&started_at, started),
            &sink,
            &client,
            options.output.as_deref(),
            (rows, options.dry_run, outcome.interrupted),
        ),
        snapshot: options.snapshot.display().to_string(),
        snapshot_of: header.run_id,
    };
    sink.finish()?;
    Ok((summary, outcome.interrupted))
}
