//! Reading what leavers have before anything is taken from them: groups
//! and applications (for the snapshot and for revoke-access) and, when
//! second factors go, the factor's type. Reads only.

use futures::StreamExt;

use super::{Leaver, Step};
use crate::api::{ApiError, Client};
use crate::model::TargetKind;

/// Reads what each leaver to be changed has: groups and applications
/// (for the snapshot and for revoke-access) and, when second factors are
/// removed, its type. Reads only.
pub async fn read_holdings(
    client: &Client,
    leavers: &mut [Leaver],
    steps: &[Step],
) -> Result<(), ApiError> {
    // A delete takes the factor too: the snapshot says which was lost.
    let second_factor = steps.contains(&Step::RemoveSecondFactor) || steps.contains(&Step::Delete);
    let reads = futures::stream::iter(leavers.iter_mut().filter(|l| l.found.user().is_some()))
        .map(|leaver| async move {
            let Some(user) = leaver.found.user() else {
                return Ok(());
            };
            let id = user.id.clone();
            let (groups, applications) = futures::try_join!(
                client.memberships_of(TargetKind::Group, &id),
                client.memberships_of(TargetKind::Application, &id)
            )?;
            leaver.groups = groups;
            leaver.applications = applications;
            if second_factor {
                leaver.second_factor = client
                    .credentials_or_empty(&id)
                    .await?
                    .second_factor
                    .map(|f| f.kind)
                    .filter(|k| !k.is_empty());
            }
            Ok::<(), ApiError>(())
        })
        .buffer_unordered(16);
    let results: Vec<Result<(), ApiError>> = reads.collect().await;
    results.into_iter().collect()
}
