//! Upserting one row, as import does for every row and sync for its
//! joiners, movers and rehires: find its user, decide, write the user
//! record. Membership changes are handed back to the runner, to be
//! coalesced. `write_plan` writes one decided row (apply's writes too).

use std::collections::{BTreeSet, HashMap};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::api::{ApiError, Client};
use crate::decision::decide::describe;
use crate::decision::lookup::{Found, Lookups};
use crate::decision::{Action, Catalog, Current, Policy, Refusal, RowPlan, decide};
use crate::engine::batcher::Pending;
use crate::engine::guard::Changed;
use crate::engine::plan_rows::PlannedWrites;
use crate::engine::runner::{ProcessedRow, RowAction, finish_with};
use crate::input::RowInput;
use crate::model::{TargetKind, UserFields};
use crate::output::{Outcome, RowResult};

/// How a group the rows name but the tenant lacks is held in the catalog
/// until it is created: its id starts so (no tenant id does).
pub const NEW_GROUP: &str = "(new) ";

/// What every row of an import shares.
pub struct UpsertAction {
    /// The tenant's groups and applications; groups the rows name that
    /// the tenant lacks are placeholders until the guard has judged the
    /// run and they are created ([`UpsertAction::settle_groups`]).
    pub catalog: std::sync::RwLock<Catalog>,
    pub lookups: Lookups,
    pub policy: Policy,
    /// In a dry run nothing is written: rows are only decided.
    pub dry_run: bool,
    /// Set while the rows are rehearsed before the first write: decided
    /// and counted, nothing sent (see [`crate::engine::rehearsal`]).
    pub rehearsing: AtomicBool,
    /// What the decided rows do to access, counted in a dry run or a
    /// rehearsal, for the one guard over the run.
    pub changed: Mutex<Changed>,
    /// The missing groups a decided row that sends something adds its
    /// user to: only these are created (a refused row's groups are not).
    new_groups_wanted: Mutex<BTreeSet<String>>,
    /// Rows whose create a killed run had on the wire (row → that run),
    /// from the intents of the results resumed from.
    creates_in_flight: std::collections::HashMap<u64, String>,
    updates_in_flight: HashMap<u64, LandedUpdate>,
    /// Rows the rehearsal found settled (see [`SettledRows`]).
    settled: SettledRows,
}

/// The rows a rehearsal decided that leave their user as it is, with
/// nothing to say, where no row makes a call (the tenant listed and the
/// memberships read up front, so the real run decides on the very same
/// data): the real run finds their user again but decides nothing (at
/// 100,000 rows, deciding again took a fifth of the real run's CPU). One
/// bit a row, some 12 KB at 100,000 rows.
#[derive(Default)]
struct SettledRows(Mutex<Vec<u64>>);

/// A user's update a killed run had on the wire, as its intent recorded
/// it: the run, the user, and the changes with their old values.
#[derive(Debug, Clone)]
pub struct LandedUpdate {
    pub run_id: String,
    pub user_id: String,
    pub changes: Vec<crate::model::FieldChange>,
}

impl SettledRows {
    fn note(&self, row: u64) {
        let (word, bit) = ((row / 64) as usize, row % 64);
        if let Ok(mut words) = self.0.lock() {
            if words.len() <= word {
                words.resize(word + 1, 0);
            }
            words[word] |= 1 << bit;
        }
    }

    fn holds(&self, row: u64) -> bool {
        let (word, bit) = ((row / 64) as usize, row % 64);
        self.0
            .lock()
            .is_ok_and(|words| words.get(word).is_some_and(|w| w & (1 << bit) != 0))
    }
}

impl RowAction for UpsertAction {
    type Input = RowInput;
    type Detail = RowPlan;

    async fn process(
        &self,
        client: Client,
        input: RowInput,
        mut result: RowResult,
    ) -> ProcessedRow<RowPlan> {
        let (client, tally) = client.tallied();
        let outcome = self.run_row(&client, &input, &mut result).await;
        finish_with(
            result,
            outcome.map(|(plan, pending)| (Some(plan), pending)),
            &tally,
        )
    }
}

impl UpsertAction {
    /// The action of an import (or a sync's people) over `catalog` and
    /// `lookups`, deciding by `policy`.
    pub fn new(catalog: Catalog, lookups: Lookups, policy: Policy, dry_run: bool) -> Self {
        UpsertAction {
            catalog: std::sync::RwLock::new(catalog),
            lookups,
            policy,
            dry_run,
            rehearsing: AtomicBool::new(false),
            changed: Mutex::new(Changed::default()),
            new_groups_wanted: Mutex::new(BTreeSet::new()),
            creates_in_flight: std::collections::HashMap::new(),
            updates_in_flight: HashMap::new(),
            settled: SettledRows::default(),
        }
    }

    /// With the rows whose create a killed run had on the wire (row →
    /// that run's id): such a row that finds its user now is that create,
    /// landed, and is recorded as created, for undo to delete.
    ///
    /// Also the rows whose user's update a killed run had on the wire,
    /// with that run and what the update changed: each such row is
    /// decided again, and what landed is credited to its result. Both
    /// from `in_flight`, the intents resumed from, and only lines sebulk
    /// wrote (sealed under `key`): a line added by hand deletes nobody
    /// at undo and credits nothing (the last line of a row counts,
    /// should it have two).
    pub fn with_writes_in_flight(
        mut self,
        in_flight: &[crate::output::results_file::intents::Intent],
        key: &crate::model::SealKey,
    ) -> Self {
        for intent in in_flight.iter().filter(|intent| intent.verifies(key)) {
            if intent.endpoint == "POST /users" {
                self.creates_in_flight
                    .insert(intent.row, intent.run_id.clone());
            } else if let Some((user_id, changes)) = intent.update() {
                let landed = LandedUpdate {
                    run_id: intent.run_id.clone(),
                    user_id: user_id.to_string(),
                    changes,
                };
                self.updates_in_flight.insert(intent.row, landed);
            }
        }
        self
    }

    /// Credits to `result` the update a killed run had on the wire for
    /// this row, where the tenant (as this run found `existing`) shows
    /// its new values: those changes are this row's too, with their old
    /// values from the intent, so undo puts them back. A field this run
    /// changed again keeps the intent's old value as where it began.
    fn credit_landed_update(&self, result: &mut RowResult, existing: Option<&crate::model::User>) {
        let (Some(landed), Some(user)) = (self.updates_in_flight.get(&result.row), existing) else {
            return;
        };
        if landed.user_id != user.id {
            return;
        }
        let now: HashMap<String, String> = describe(&UserFields::default(), &user.fields)
            .into_iter()
            .map(|c| (c.field, c.new))
            .collect();
        let mut credited = 0;
        for change in &landed.changes {
            let shown = now.get(&change.field).map_or("", String::as_str);
            if shown != change.new {
                continue;
            }
            match result.changes.iter_mut().find(|c| c.field == change.field) {
                Some(again) if again.old == change.new => again.old = change.old.clone(),
                Some(_) => continue,
                None => result.changes.push(change.clone()),
            }
            credited += 1;
        }
        if credited == 0 {
            return;
        }
        if result.outcome == Outcome::Unchanged {
            result.outcome = Outcome::Updated;
        }
        result.add_error(format!(
            "{credited} change(s) made by run {}, whose update was on the wire when it was killed and landed: recorded here, so undo puts them back",
            landed.run_id
        ));
    }

    /// For a row whose create was in flight at a kill and whose user the
    /// tenant now holds under the row's username: the user as created
    /// (with this row's changes laid over), as a create records it.
    fn landed_create(
        &self,
        row: u64,
        input: &RowInput,
        existing: Option<&crate::model::User>,
        plan: &RowPlan,
    ) -> Option<(String, Vec<crate::model::FieldChange>)> {
        use crate::model::text::match_key;
        let run_id = self.creates_in_flight.get(&row)?;
        let user = existing?;
        let named = input.set.username.as_deref().map(match_key);
        if named.is_none() || user.fields.username.as_deref().map(match_key) != named {
            return None;
        }
        let after = match &plan.action {
            Action::Update {
                body: Some(body), ..
            } => &body.fields,
            Action::Update { .. } | Action::Unchanged { .. } => &user.fields,
            _ => return None,
        };
        Some((run_id.clone(), describe(&UserFields::default(), after)))
    }

    /// Names the groups and applications of `result` that it gives by id
    /// (the membership calls a killed run's intents laid over its journal
    /// name their targets by id): results name them as every other line.
    pub fn name_targets(&self, result: &mut RowResult) {
        let Ok(catalog) = self.catalog.read() else {
            return;
        };
        for kind in crate::model::TargetKind::ALL {
            for added in [true, false] {
                let targets = result.targets_mut(kind, added);
                for target in targets.iter_mut() {
                    if let Some(known) = catalog.of(kind).resolve(target)
                        && known.id == *target
                    {
                        *target = known.name.clone();
                    }
                }
                // A target the line named and an intent gave by id is one.
                let mut seen = std::collections::HashSet::new();
                targets.retain(|target| seen.insert(target.clone()));
            }
        }
    }

    /// Of `missing` (the groups the rows name that the tenant lacks), the
    /// ones a row decided so far (rehearsed, or in a dry run) would add a
    /// user to: what is created. A row refused (conflict, privilege,
    /// unknown application) wants none.
    pub fn new_groups_wanted(&self, missing: &[String]) -> Vec<String> {
        let Ok(wanted) = self.new_groups_wanted.lock() else {
            return missing.to_vec();
        };
        missing
            .iter()
            .filter(|name| wanted.contains(*name))
            .cloned()
            .collect()
    }

    /// Notes the missing groups `plan` adds its user to, when it sends something.
    fn want_new_groups(&self, plan: &RowPlan) {
        if plan.change().is_none() {
            return;
        }
        let new = plan
            .groups
            .add
            .iter()
            .filter(|t| t.id.starts_with(NEW_GROUP));
        if let Ok(mut wanted) = self.new_groups_wanted.lock() {
            wanted.extend(new.map(|t| t.name.clone()));
        }
    }

    /// Groups created once the run was cleared, in place of the
    /// placeholders the rows were rehearsed against.
    pub fn settle_groups(&self, created: Vec<crate::model::Target>) {
        if let Ok(mut catalog) = self.catalog.write() {
            for group in created {
                catalog.groups.insert(group);
            }
        }
    }

    /// Starts (or ends) a rehearsal: rows only decided and counted, what
    /// they read user by user kept for the real run.
    pub fn rehearse(&self, on: bool) {
        self.rehearsing.store(on, Ordering::SeqCst);
        self.lookups.read_ahead(on);
    }

    /// Notes a rehearsed row whose plan settles quietly, where the real
    /// run will decide it on the same data (see [`SettledRows`]); a row
    /// whose create a killed run had on the wire is always decided again.
    fn note_if_settled(&self, row: u64, plan: &RowPlan) {
        if !self.dry_run
            && self.lookups.decides_without_calls()
            && plan.settles_quietly()
            && !self.creates_in_flight.contains_key(&row)
            && !self.updates_in_flight.contains_key(&row)
        {
            self.settled.note(row);
        }
    }

    /// Whether the rehearsal found row `row` settled, in the real run.
    fn settled_before(&self, row: u64) -> bool {
        !self.deciding_only() && self.settled.holds(row)
    }

    /// Whether rows are only decided (a dry run, or a rehearsal).
    pub fn deciding_only(&self) -> bool {
        self.dry_run || self.rehearsing.load(Ordering::SeqCst)
    }

    /// What the rows decided so far do to access, taken (the count starts
    /// again).
    pub fn take_changed(&self) -> Changed {
        self.changed
            .lock()
            .map(|mut changed| std::mem::take(&mut *changed))
            .unwrap_or_default()
    }

    /// Counts what `plan` does to access (in a dry run or a rehearsal).
    fn count(&self, plan: &RowPlan, existing: Option<&crate::model::User>, label: &str) {
        let effect = plan.effect(existing, &self.policy.privilege);
        if let Ok(mut changed) = self.changed.lock() {
            changed.add_row(existing, label, &effect);
        }
    }

    /// The row's own calls. On success returns its plan and membership changes.
    pub(crate) async fn run_row(
        &self,
        client: &Client,
        input: &RowInput,
        result: &mut RowResult,
    ) -> Result<(RowPlan, Vec<Pending>), ApiError> {
        let lookups = &self.lookups;
        let met = lookups.find(client, input).await?;
        let existing = match met.found {
            Found::One(user) => Some(*user),
            Found::None => None,
            Found::Ambiguous(count) => {
                let plan = RowPlan::refuse(
                    None,
                    Refusal::Ambiguous,
                    format!(
                        "{count} users share this {}: the row cannot be matched safely",
                        self.policy.match_by.field()
                    ),
                );
                return Ok(self.settle(plan, result));
            }
        };
        if input.set.username.is_none()
            && let Some(username) = existing.as_ref().and_then(|u| u.fields.username.clone())
        {
            result.username = username;
        }
        if let Some(user) = existing
            .as_ref()
            .filter(|_| self.settled_before(result.row))
        {
            result.user_id = user.id.clone();
            result.outcome = Outcome::Unchanged;
            return Ok((RowPlan::unchanged(user.id.clone()), Vec::new()));
        }
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
            username_holder: met.username_holder.as_ref(),
            identity_holder: met.identity_holder.as_ref(),
            lookalike: met.lookalike.as_ref(),
        };
        let plan = match self.catalog.read() {
            Ok(catalog) => decide(input, current, &catalog, &self.policy),
            Err(poisoned) => decide(input, current, &poisoned.into_inner(), &self.policy),
        };
        if let Some(id) = plan.action.user_id() {
            result.user_id = id.to_string();
        }
        if self.deciding_only() {
            self.count(&plan, existing.as_ref(), &result.username);
            self.want_new_groups(&plan);
            self.note_if_settled(result.row, &plan);
        }
        for kept in &plan.kept {
            result.add_error(kept);
        }
        if self.deciding_only() {
            // A rehearsal's rows go nowhere: only a plan shows their cells.
            if let Some(exact) = self.dry_run.then(|| PlannedWrites::of(&plan)).flatten() {
                let read = [
                    (TargetKind::Group, groups.unwrap_or_default()),
                    (TargetKind::Application, applications.unwrap_or_default()),
                ];
                result.planned = Some(Box::new(exact.cells(existing.as_ref(), &read)));
            }
            return Ok((plan, Vec::new()));
        }
        let landed = self.landed_create(result.row, input, existing.as_ref(), &plan);
        let done = match write_plan(client, &plan, result).await? {
            Some(pending) => (plan, pending),
            None => self.settle(plan, result),
        };
        self.credit_landed_update(result, existing.as_ref());
        if let Some((run_id, created)) = landed
            && matches!(result.outcome, Outcome::Updated | Outcome::Unchanged)
        {
            result.outcome = Outcome::Created;
            result.changes = created;
            result.add_error(format!(
                "created by run {run_id}, whose create was on the wire when it was killed and landed: recorded as created, so undo deletes it"
            ));
        }
        Ok(done)
    }

    /// A plan that sends nothing: its outcome, and no memberships.
    fn settle(&self, plan: RowPlan, result: &mut RowResult) -> (RowPlan, Vec<Pending>) {
        match &plan.action {
            Action::Unchanged { .. } => result.outcome = Outcome::Unchanged,
            Action::Skip { reason, .. } => {
                result.outcome = Outcome::Skipped;
                result.add_error(reason);
            }
            Action::Refuse {
                reason,
                kind: Refusal::Privileged,
                ..
            } => {
                result.outcome = Outcome::Protected;
                result.add_error(reason);
            }
            Action::Refuse { reason, .. } => {
                result.outcome = Outcome::Failed;
                result.add_error(reason);
            }
            Action::Create(_) | Action::Update { .. } => {}
        }
        (plan, Vec::new())
    }
}

/// Carries out a row's plan: its user created or updated, its membership
/// changes handed back (`None`: the plan sends nothing). Import runs the
/// plans it decides; `apply` the plans it reads.
pub async fn write_plan(
    client: &Client,
    plan: &RowPlan,
    result: &mut RowResult,
) -> Result<Option<Vec<Pending>>, ApiError> {
    let user_id = match &plan.action {
        Action::Create(body) => {
            let created = client.create_user(body).await?;
            result.outcome = Outcome::Created;
            // What it was created with: undo tells a later change by this.
            result.changes = describe(&UserFields::default(), &body.fields);
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
                // Recorded with its old values before it goes: an update
                // that lands after a kill is still on record.
                let changes = crate::model::FieldChange::format(&plan.changes);
                client
                    .describing(changes)
                    .update_user(user_id, body)
                    .await?;
                // Written: the rest of the row finishes whatever happens.
                client = client.uncut();
            }
            if let Some(options) = reset_password {
                client.set_password(user_id, options).await?;
            }
            result.outcome = Outcome::Updated;
            result.changes = plan.changes.clone();
            user_id.clone()
        }
        _ => return Ok(None),
    };
    Ok(Some(pending_changes(plan, &user_id)))
}

/// The membership changes of a plan, for one user.
pub fn pending_changes(plan: &RowPlan, user_id: &str) -> Vec<Pending> {
    let mut pending = Vec::new();
    for (kind, delta) in [
        (TargetKind::Group, &plan.groups),
        (TargetKind::Application, &plan.applications),
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
