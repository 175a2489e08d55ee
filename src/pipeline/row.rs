//! One row's work: find its user, decide, and write the user record.
//! Membership changes are handed back, to be coalesced across rows.

use std::collections::BTreeSet;
use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use crate::api::{ApiError, Client, Tally};
use crate::input::RowInput;
use crate::model::TargetKind;
use crate::output::{Outcome, RowResult};
use crate::plan::lookup::{Found, Lookups};
use crate::plan::{Action, Catalog, Current, Policy, RowPlan, Target, decide};

/// Groups or applications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Kind {
    Group,
    Application,
}

/// One membership change waiting to be sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub kind: Kind,
    pub add: bool,
    pub target: Target,
    pub user_id: String,
}

/// What the pipeline knows of a row before it is processed.
#[derive(Debug, Clone)]
pub struct Job {
    pub row: u64,
    pub username: String,
    pub input: RowInput,
    /// The input cells, secrets masked, as the results file repeats them.
    pub cells: Vec<String>,
    pub disposition: Disposition,
}

/// Whether a row is to be processed at all.
#[derive(Debug, Clone)]
pub enum Disposition {
    Process,
    /// The row failed validation (with `--skip-invalid`).
    Invalid(String),
    /// An earlier run already did it (with `--resume`).
    Done(Box<RowResult>),
}

/// A processed row: its result so far, and its membership changes still to send.
#[derive(Debug, Clone)]
pub struct RowWork {
    pub result: RowResult,
    pub plan: Option<RowPlan>,
    pub pending: Vec<Pending>,
}

/// What every row shares.
pub struct Context {
    pub client: Client,
    pub catalog: Catalog,
    pub lookups: Lookups,
    pub policy: Policy,
    /// Set on the first interrupt: rows not yet started are not attempted.
    pub stop_starting: CancellationToken,
    /// In a dry run nothing is written: rows are only decided.
    pub dry_run: bool,
}

/// Processes one job into a result (final, or waiting for memberships).
pub async fn process(context: Arc<Context>, job: Job) -> RowWork {
    let mut result = RowResult::new(
        job.row,
        &job.username,
        Outcome::NotAttempted,
        job.cells.clone(),
    );
    match job.disposition {
        Disposition::Invalid(message) => {
            result.outcome = Outcome::Invalid;
            result.error = message;
            return RowWork {
                result,
                plan: None,
                pending: Vec::new(),
            };
        }
        Disposition::Done(previous) => {
            return RowWork {
                result: *previous,
                plan: None,
                pending: Vec::new(),
            };
        }
        Disposition::Process => {}
    }
    if context.stop_starting.is_cancelled() {
        result.error = "interrupted before this row was started".to_string();
        return RowWork {
            result,
            plan: None,
            pending: Vec::new(),
        };
    }
    // Until the row writes, an interrupt withdraws its requests not yet sent.
    let (client, tally) = context
        .client
        .with_cut(context.stop_starting.clone())
        .tallied();
    let outcome = run_row(&context, &client, &job.input, &mut result).await;
    result.attempts = tally.attempts();
    result.http_status = tally.last_status();
    match outcome {
        Ok((plan, pending)) => RowWork {
            result,
            plan: Some(plan),
            pending,
        },
        Err(err) => {
            fail(&mut result, &tally, &err);
            RowWork {
                result,
                plan: None,
                pending: Vec::new(),
            }
        }
    }
}

fn fail(result: &mut RowResult, tally: &Tally, err: &ApiError) {
    // A row stopped before it sent any write changed nothing: not attempted.
    result.outcome = match err {
        ApiError::Stopped(_) if tally.writes_sent() == 0 => Outcome::NotAttempted,
        _ => Outcome::Failed,
    };
    result.http_status = err.status().or(tally.last_status());
    result.add_error(err.to_string());
}

/// The row's own calls. On success returns its plan and membership changes.
async fn run_row(
    context: &Context,
    client: &Client,
    input: &RowInput,
    result: &mut RowResult,
) -> Result<(RowPlan, Vec<Pending>), ApiError> {
    let lookups = &context.lookups;
    let (found, holder) = lookups.find(client, input).await?;
    let existing = match found {
        Found::One(user) => Some(*user),
        Found::None => None,
        Found::Ambiguous(count) => {
            let reason = format!(
                "{count} users share this {}: the row cannot be matched safely",
                context.policy.match_by.field()
            );
            result.outcome = Outcome::Failed;
            result.add_error(&reason);
            return Ok((RowPlan::refuse(None, reason), Vec::new()));
        }
    };
    let mut groups: Option<BTreeSet<String>> = None;
    let mut applications: Option<BTreeSet<String>> = None;
    if let Some(user) = &existing {
        if input.groups.is_some() {
            groups = Some(lookups.current(client, TargetKind::Group, &user.id).await?);
        }
        if input.applications.is_some() {
            applications = Some(
                lookups
                    .current(client, TargetKind::Application, &user.id)
                    .await?,
            );
        }
    }
    let current = Current {
        user: existing.as_ref(),
        groups: groups.as_ref(),
        applications: applications.as_ref(),
        username_holder: holder.as_ref(),
    };
    let plan = decide(input, current, &context.catalog, &context.policy);
    if let Some(id) = plan.action.user_id() {
        result.user_id = id.to_string();
    }
    if context.dry_run {
        return Ok((plan, Vec::new()));
    }
    let user_id = match &plan.action {
        Action::Create(body) => {
            let created = client.create_user(body).await?;
            result.outcome = Outcome::Created;
            result.user_id = created.user.id.clone();
            created.user.id
        }
        Action::Update {
            user_id,
            body,
            reset_password,
        } => {
            let mut client = client.clone();
            if let Some(body) = body {
                client.update_user(user_id, body).await?;
                // Written: the rest of the row finishes whatever happens.
                client = client.uncut();
            }
            if let Some(options) = reset_password {
                client.set_password(user_id, options).await?;
            }
            result.outcome = Outcome::Updated;
            user_id.clone()
        }
        Action::Unchanged { .. } => {
            result.outcome = Outcome::Unchanged;
            return Ok((plan, Vec::new()));
        }
        Action::Skip { reason, .. } => {
            result.outcome = Outcome::Skipped;
            result.add_error(reason);
            return Ok((plan, Vec::new()));
        }
        Action::Refuse { reason, .. } => {
            result.outcome = Outcome::Failed;
            result.add_error(reason);
            return Ok((plan, Vec::new()));
        }
    };
    let pending = pending_changes(&plan, &user_id);
    Ok((plan, pending))
}

/// The membership changes of a plan, for one user.
pub fn pending_changes(plan: &RowPlan, user_id: &str) -> Vec<Pending> {
    let mut pending = Vec::new();
    for (kind, delta) in [
        (Kind::Group, &plan.groups),
        (Kind::Application, &plan.applications),
    ] {
        for (add, targets) in [(true, &delta.add), (false, &delta.remove)] {
            for target in targets {
                pending.push(Pending {
                    kind,
                    add,
                    target: target.clone(),
                    user_id: user_id.to_string(),
                });
            }
        }
    }
    pending
}
