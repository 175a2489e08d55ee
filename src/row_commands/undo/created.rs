//! The groups an import or sync created because its rows named them
//! (recorded beside its results, [`crate::output::results_file::created_groups`]),
//! deleted once the undo's rows are done: by then the undo has taken out
//! the members the run put in. A group that has members still, was
//! renamed, or is protected is kept and named; one already gone is
//! passed over.

use serde::Serialize;

use crate::api::{ApiError, Client, found};
use crate::engine::guard::Protection;
use crate::events::{Event, Events};
use crate::model::TargetKind;
use crate::output::results_file::created_groups::CreatedGroup;

/// What became of the groups the run created.
#[derive(Debug, Clone, Default, Serialize)]
pub struct GroupsUndone {
    /// Deleted (or, in a dry run, to be deleted), by name.
    #[serde(rename = "groups_deleted")]
    pub deleted: Vec<String>,
    /// Kept, each with why.
    #[serde(rename = "groups_kept")]
    pub kept: Vec<String>,
}

/// Deletes each of `groups` that is as the run left it and empty now
/// (nothing in a dry run: only said).
pub async fn delete_created(
    client: &Client,
    groups: &[CreatedGroup],
    (protection, dry_run): (&Protection, bool),
    events: &dyn Events,
) -> Result<GroupsUndone, ApiError> {
    let mut undone = GroupsUndone::default();
    for created in groups {
        let group = match created.id.is_empty() {
            // Sent when the run was killed, its answer never recorded.
            true => client.find_group_by_name(&created.name).await?,
            false => found(client.get_group(&created.id).await)?,
        };
        let Some(group) = group else {
            continue;
        };
        let kept = if group.name != created.name {
            Some(format!("renamed '{}' since", group.name))
        } else if created.id.is_empty()
            && group.description.as_deref()
                != Some(crate::output::results_file::created_groups::DESCRIPTION)
        {
            Some(
                "the run was killed as it sent its create, and the group of that name is not as sebulk creates one (someone else's)"
                    .to_string(),
            )
        } else if let Some(why) = protection.protects_name(&group.name) {
            Some(why)
        } else {
            let members = client.members(TargetKind::Group, &group.id).await?;
            (!members.is_empty()).then(|| format!("it has {} members now", members.len()))
        };
        match kept {
            Some(why) => {
                events.on(Event::Warning(&format!(
                    "group '{}' (created by {}) kept: {why}",
                    created.name, created.run_id
                )));
                undone.kept.push(format!("{}: {why}", created.name));
            }
            None => {
                if !dry_run {
                    client.delete_group(&group.id).await?;
                }
                undone.deleted.push(created.name.clone());
            }
        }
    }
    Ok(undone)
}
