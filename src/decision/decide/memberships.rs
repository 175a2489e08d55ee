//! Which groups and applications a row adds or removes: names resolved
//! against the tenant's directory (unknown names handed back), the delta
//! against the user's current memberships, and removals named, not only
//! numbered. Removals happen only when the run syncs memberships.

use std::collections::BTreeSet;

use super::{MembershipDelta, RowPlan};
use crate::decision::catalog::{Catalog, Directory, Target};

pub(super) fn resolve(
    names: Option<&[String]>,
    directory: &Directory,
) -> (Option<Vec<Target>>, Vec<String>) {
    let Some(names) = names else {
        return (None, Vec::new());
    };
    let mut found = Vec::new();
    let mut unknown = Vec::new();
    for name in names {
        match directory.resolve(name) {
            Some(target) if !found.contains(target) => found.push(target.clone()),
            Some(_) => {}
            None => unknown.push(name.clone()),
        }
    }
    (Some(found), unknown)
}

/// Removals are known by id (the user's current memberships); they are
/// named as additions are, so results, plans and the guard say which
/// group a person leaves, not its id.
pub(super) fn name_removals(plan: &mut RowPlan, catalog: &Catalog) {
    for (delta, directory) in [
        (&mut plan.groups, &catalog.groups),
        (&mut plan.applications, &catalog.applications),
    ] {
        for target in &mut delta.remove {
            if let Some(known) = directory.resolve(&target.id) {
                target.name = known.name.clone();
            }
        }
    }
}

/// Adds (and, when syncing, removes) against what the user has now.
pub(super) fn delta(
    wanted: Option<Vec<Target>>,
    current: Option<&BTreeSet<String>>,
    sync: bool,
) -> MembershipDelta {
    let Some(wanted) = wanted else {
        return MembershipDelta::default();
    };
    let empty = BTreeSet::new();
    let current = current.unwrap_or(&empty);
    let add = wanted
        .iter()
        .filter(|t| !current.contains(&t.id))
        .cloned()
        .collect();
    let remove = if sync {
        current
            .iter()
            .filter(|id| !wanted.iter().any(|t| &t.id == *id))
            .map(|id| Target {
                id: id.clone(),
                name: id.clone(),
            })
            .collect()
    } else {
        Vec::new()
    };
    MembershipDelta { add, remove }
}
