//! The snapshot a run writes before it takes anything from people: each
//! one whole (user, groups, applications, second factor), sealed, its
//! digest recorded in the run's stamp, so `sebulk restore` can give back
//! exactly what was there.

use super::{Found, Leaver, Step};
use crate::engine::runner::RunError;
use crate::output::snapshot::{self, SnapshotEntry, SnapshotItem};

/// Writes the snapshot of what the leavers have before any change, and
/// records its digest in the run's stamp.
pub fn write_snapshot(
    anchor: &std::path::Path,
    stamp: &mut crate::output::results_file::writer::RunStamp,
    (leavers, steps): (&[Leaver], &[Step]),
    key: &crate::model::SealKey,
) -> Result<std::path::PathBuf, RunError> {
    let names: Vec<&str> = steps.iter().map(|s| s.name()).collect();
    let purpose = format!("offboard {}", names.join(","));
    snapshot_of(anchor, stamp, (leavers, &purpose), key)
}

/// Writes the snapshot of `people` (what they have, as read) for a run
/// about to take something from them, and records its digest in the
/// run's stamp.
pub fn snapshot_of(
    anchor: &std::path::Path,
    stamp: &mut crate::output::results_file::writer::RunStamp,
    (leavers, purpose): (&[Leaver], &str),
    key: &crate::model::SealKey,
) -> Result<std::path::PathBuf, RunError> {
    let path = snapshot::path_beside(anchor, &stamp.run_id);
    let entries: Vec<SnapshotItem> = leavers
        .iter()
        .filter_map(|l| match (&l.before, &l.found) {
            // What a killed run's write on the wire may have changed
            // already: given back as that run found it.
            (Some(before), Found::User(_) | Found::Deleted(_)) => {
                Some(SnapshotItem::User(before.clone()))
            }
            (None, Found::User(user)) => Some(SnapshotItem::User(Box::new(SnapshotEntry {
                user: (**user).clone(),
                groups: l.groups.clone(),
                applications: l.applications.clone(),
                second_factor: l.second_factor.clone(),
                leaving: l.leaving,
            }))),
            _ => None,
        })
        .collect();
    let header = snapshot::header(&stamp.run_id, &stamp.tenant, purpose, entries.len() as u64);
    stamp.snapshot = snapshot::write(&path, &header, &entries, key)?;
    Ok(path)
}
