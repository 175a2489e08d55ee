//! `export factors`: who has which first and second factor.
//!
//! One row per user with the factor *types* from `GET /credentials/{id}`;
//! factor data (phone numbers, seeds, whatever a tenant keeps there) is
//! never read into a cell, so the file is safe to hand to an auditor. It
//! costs one call per user, paced by the shared limiter, in listing order.
//! A user deleted between the listing and its credentials read is left out
//! with a warning rather than failing a nightly audit.

use futures::{StreamExt, TryStreamExt, stream};
use serde_json::json;

use super::{ExportError, ExportSummary, user_request};
use crate::api::{ApiError, Client, found};
use crate::events::{Event, Events};
use crate::model::{Credentials, User};
use crate::output::records::RecordWriter;

use super::ExportOptions;

/// The file's columns.
pub const COLUMNS: [&str; 4] = ["username", "user_id", "first_factor", "second_factor"];

/// A factor's type as a cell: empty when there is none.
fn factor_type(factor: Option<&crate::model::Factor>) -> String {
    factor
        .map(|f| f.kind.trim().to_string())
        .unwrap_or_default()
}

pub(super) async fn export_factors(
    client: &Client,
    options: &ExportOptions,
    mut writer: RecordWriter,
    summary: &mut ExportSummary,
    events: &dyn Events,
) -> Result<super::Exported, ExportError> {
    writer.header(&COLUMNS.map(String::from))?;
    events.on(Event::Phase("listing users"));
    let mut users: Vec<(String, String)> = Vec::new();
    let stats = client
        .read_listing(
            &user_request(options),
            |_| {},
            |user: User| {
                if super::filters::keeps_user(options.entity, &options.filters, &user) {
                    users.push((user.id, user.fields.username.unwrap_or_default()));
                }
                Ok::<_, ExportError>(())
            },
        )
        .await?;
    events.on(Event::Phase("reading credentials"));
    events.on(Event::Total(users.len() as u64));
    let mut answers = stream::iter(users)
        .map(|(id, username)| {
            let client = client.clone();
            async move {
                let credentials = found(client.credentials_or_empty(&id).await)?;
                Ok::<_, ApiError>((id, username, credentials))
            }
        })
        .buffered(client.parallelism());
    let mut without_second = 0u64;
    let mut written = 0u64;
    while let Some((id, username, credentials)) = answers.try_next().await? {
        events.on(Event::Advanced {
            items: 1,
            failed: 0,
        });
        let Some(Credentials {
            first_factor,
            second_factor,
            ..
        }) = credentials
        else {
            summary.warnings.push(format!(
                "user {username} ({id}) was deleted while the export ran; it is not in the file"
            ));
            continue;
        };
        let first = factor_type(first_factor.as_ref());
        // No second factor is written `none`, as the reference's own
        // type says it, never an empty cell that reads as unknown.
        let second = match factor_type(second_factor.as_ref()) {
            second if second.is_empty() => "none".to_string(),
            second => second,
        };
        if !super::filters::keeps_factors(&options.filters, &first, &second) {
            continue;
        }
        // The reference lists `none` among the factor types.
        if second.eq_ignore_ascii_case("none") {
            without_second += 1;
        }
        let cells = [username, id, first, second];
        writer.record(&cells, || {
            json!({
                "username": cells[0],
                "user_id": cells[1],
                "first_factor": cells[2],
                "second_factor": cells[3],
            })
        })?;
        written += 1;
    }
    summary.without_second_factor = Some(without_second);
    summary.records = written;
    Ok((writer, stats))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Factor;

    #[test]
    fn only_the_type_of_a_factor_is_a_cell() {
        let factor = Factor {
            kind: " sms ".into(),
            data: serde_json::from_str(r#"{"mobile":"+44 7700 900123"}"#).unwrap_or_default(),
            remove: None,
        };
        assert_eq!(factor_type(Some(&factor)), "sms");
        assert_eq!(factor_type(None), "");
    }
}
