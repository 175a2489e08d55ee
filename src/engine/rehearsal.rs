//! The rows of an import or a sync rehearsed before the first write: every
//! row decided exactly as the run will decide it (the same lookups, the
//! same `decide`), nothing sent, and what the decisions do to access
//! counted by class ([`crate::decision::access`]) for the one guard over the
//! run ([`guard::check_changes`]). A column that flips everyone (every
//! row `Enabled = FALSE`, a new email domain, a groups column that drops
//! everyone's groups under `--sync-groups`) is refused whole, before any
//! change, as an offboarding of as many people would be.
//!
//! A rehearsal costs no calls where the tenant was listed (the decisions
//! read the index); a run of no more rows than the fewest any limit
//! allows cannot be over a limit and is not rehearsed.

use std::sync::Arc;

use futures::StreamExt;

use crate::api::Client;
use crate::engine::guard::{self, Changed, Limits};
use crate::engine::leavers::{self, Found, Leaver};
use crate::engine::runner::{self, Disposition, Job, JobSource, RowAction, RunError, Stops};
use crate::events::{Event, Events};
use crate::output::{Outcome, RowResult};

/// Decides every row `source` reads when no row makes a call (the tenant
/// listed, memberships read up front: [`Lookups::decides_without_calls`]):
/// the rows are only decided, and what they change counted by the action,
/// nothing recorded. The rows go in the reader's batches, each batch a
/// task of its own on every core, without the runner's per-row
/// bookkeeping, which only a run whose rows wait on calls needs (measured
/// at 100,000 rows: a rehearsal through the runner cost a quarter of an
/// import). Stops, as the runner does, at the first interrupt.
///
/// [`Lookups::decides_without_calls`]: crate::decision::lookup::Lookups::decides_without_calls
pub async fn decide_offline<A: RowAction>(
    (client, action): (&Client, &Arc<A>),
    (source, rows): (JobSource<A::Input>, u64),
    stops: &Stops,
    events: &dyn Events,
) -> Result<(), RunError> {
    events.on(Event::Total(rows));
    let (batches, reader, cells_back) = runner::read_in_batches(source);
    let at_once = std::thread::available_parallelism().map_or(2, |n| n.get()) * 2;
    let mut decided = runner::receiver_stream(batches)
        .map(|batch| {
            let (client, action, first) = (client.clone(), action.clone(), stops.first.clone());
            runner::spawned(
                decide_batch(client, action, batch, first, cells_back.clone()),
                stops.abort.clone(),
            )
        })
        .buffer_unordered(at_once);
    while let Some(done) = decided.next().await {
        let items = done.unwrap_or_default();
        events.on(Event::Advanced { items, failed: 0 });
        if stops.first.is_cancelled() {
            break;
        }
    }
    drop(decided);
    let read = reader.await.map_err(|e| RunError::Reader(e.to_string()))?;
    // A reader cut short by the interrupt has nothing to say.
    if !stops.first.is_cancelled() {
        read?;
    }
    Ok(())
}

/// Decides a batch's rows in order (those the runner would run: to be
/// processed, or done again), handing their cells back to the reader;
/// how many rows the batch held.
async fn decide_batch<A: RowAction>(
    client: Client,
    action: Arc<A>,
    batch: Vec<Job<A::Input>>,
    first: tokio_util::sync::CancellationToken,
    cells_back: runner::CellsBack,
) -> u64 {
    let rows = batch.len() as u64;
    let mut cells = Vec::with_capacity(batch.len());
    for job in batch {
        if first.is_cancelled() {
            break;
        }
        if matches!(job.disposition, Disposition::Process | Disposition::Redo(_)) {
            let result = RowResult::new(job.row, &job.label, Outcome::NotAttempted, job.cells);
            let decided = action.process(client.clone(), job.input, result).await;
            cells.push(decided.result.cells);
        }
    }
    // A reader already gone frees them here.
    let _ = cells_back.send(cells);
    rows
}

/// Whether a run of `rows` rows needs rehearsing in a tenant of `tenant`.
pub fn needed(rows: u64, tenant: u64, limits: &Limits) -> bool {
    rows > limits.fewest_allowed(tenant)
}

/// The events of a rehearsal, as the user should see them: its phase and
/// progress, never its rows (they are the real run's to report).
pub struct Quiet<'a>(pub &'a dyn Events);

impl Events for Quiet<'_> {
    fn on(&self, event: Event<'_>) {
        match event {
            Event::Row(_) | Event::Failed | Event::Problem(_) | Event::Mapped(_) => {}
            Event::Warning(_) => {}
            other => self.0.on(other),
        }
    }
}

/// The one guard over what the rows change: `Err` refuses a real run;
/// a dry run carries its would-be refusal to its end (`Ok(Some)`).
pub fn judge(
    changed: &Changed,
    tenant: u64,
    (limits, joiners_count): (Limits, bool),
    run: (bool, &Client),
    events: &dyn Events,
) -> Result<Option<String>, String> {
    let verdict = guard::check_changes(changed, tenant, limits, joiners_count);
    guard::enforce(verdict, run, events)
}

/// A real run's verdict on what its rehearsed rows change (`changed`),
/// out of `tenant` under `limits`: `Err` inside refuses the run, else
/// the people the rows take access from (none of `saved`), to be saved
/// before the first write.
pub async fn verdict(
    client: &Client,
    mut changed: Changed,
    (tenant, limits): (u64, (Limits, bool)),
    saved: &[Leaver],
    events: &dyn Events,
) -> Result<Result<Vec<Leaver>, String>, RunError> {
    if let Err(refusal) = judge(&changed, tenant, limits, (false, client), events) {
        return Ok(Err(refusal));
    }
    Ok(Ok(people_taken(client, &mut changed, saved).await?))
}

/// The people the rows take access from, as decided on (once each, none
/// of `besides`), their groups and applications read: what the run's
/// snapshot holds for them.
pub async fn people_taken(
    client: &Client,
    changed: &mut Changed,
    besides: &[Leaver],
) -> Result<Vec<Leaver>, RunError> {
    let mut seen: std::collections::HashSet<String> = besides
        .iter()
        .filter_map(|l| l.found.user().map(|u| u.id.clone()))
        .collect();
    let mut people: Vec<Leaver> = std::mem::take(&mut changed.taken_users)
        .into_iter()
        .filter(|user| seen.insert(user.id.clone()))
        .map(|user| {
            let label = user.fields.username.clone().unwrap_or_default();
            Leaver {
                leaving: false,
                ..Leaver::new(0, label, Vec::new(), Found::User(Box::new(user)))
            }
        })
        .collect();
    leavers::read_holdings(client, &mut people, &[]).await?;
    Ok(people)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decision::access::AccessEffect;

    #[test]
    fn a_column_that_flips_everyone_is_refused() {
        let mut changed = Changed::default();
        let disabled = AccessEffect {
            takes: vec!["disabled".into()],
            ..AccessEffect::default()
        };
        for i in 0..200 {
            changed.add(&format!("u{i}"), &format!("user{i}"), &disabled);
        }
        let refused = guard::check_changes(&changed, 200, Limits::default(), false).unwrap_err();
        assert!(
            refused.contains("200 of the tenant's 200") && refused.contains("--max-affected 200"),
            "{refused}"
        );
        assert!(refused.contains("user0: disabled"), "{refused}");
        let allowed = Limits {
            max_affected: Some(guard::MaxAffected::Count(200)),
            ..Limits::default()
        };
        assert!(guard::check_changes(&changed, 200, allowed, false).is_ok());
        assert!(needed(11, 200, &Limits::default()));
        assert!(!needed(10, 200, &Limits::default()));
    }

    #[test]
    fn joiners_count_only_in_a_sync_and_identities_on_their_own() {
        let mut changed = Changed::default();
        let created = AccessEffect {
            creates: true,
            hands: vec!["created".into()],
            ..AccessEffect::default()
        };
        for _ in 0..50 {
            changed.add("", "new", &created);
        }
        assert!(guard::check_changes(&changed, 600, Limits::default(), false).is_ok());
        assert!(guard::check_changes(&changed, 600, Limits::default(), true).is_ok());
        assert!(guard::check_changes(&changed, 200, Limits::default(), true).is_err());
        let mut renamed = Changed::default();
        let identity = AccessEffect {
            identity: vec!["email 'a' → 'b'".into()],
            ..AccessEffect::default()
        };
        for i in 0..40 {
            renamed.add(&format!("u{i}"), "x", &identity);
        }
        let refused = guard::check_changes(&renamed, 200, Limits::default(), false).unwrap_err();
        assert!(refused.contains("--max-identity-changes 40"), "{refused}");
    }
}
