//! Reading a whole listing fast and completely: page 1 first; when the
//! server gives a total, the remaining pages concurrently (in order, through
//! the shared throttle, never beyond `--rate`); then pages one by one until
//! an empty page if records were added meanwhile. Records are de-duplicated
//! by id, so rows that shift between pages are written once.

use std::collections::HashSet;

use futures::{StreamExt, stream};
use serde::de::DeserializeOwned;

use crate::api::{ApiError, Client, Identified, ListRequest, Page};
use crate::pipeline::progress::Progress;

/// What reading a listing saw.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ListingStats {
    pub pages: u64,
    pub records: u64,
    /// Records that appeared on two pages (shifted while we read).
    pub duplicates: u64,
    pub first_total: Option<u64>,
    pub last_total: Option<u64>,
}

impl ListingStats {
    /// A sentence when the server's count moved while we read.
    pub fn count_change(&self, what: &str) -> Option<String> {
        match (self.first_total, self.last_total) {
            (Some(first), Some(last)) if first != last => Some(format!(
                "the tenant's {what} count changed during the export: {first} → {last}; run it again for a consistent snapshot"
            )),
            _ => None,
        }
    }
}

/// Reads every record of `request`, handing each (once) to `emit` in page order.
pub async fn read_all<T, E>(
    client: &Client,
    request: &ListRequest,
    concurrency: usize,
    progress: &Progress,
    mut emit: impl FnMut(T) -> Result<(), E>,
) -> Result<ListingStats, E>
where
    T: DeserializeOwned + Identified + Send + 'static,
    E: From<ApiError>,
{
    let mut stats = ListingStats::default();
    let mut seen: HashSet<String> = HashSet::new();
    let mut take = |page: Page<T>, stats: &mut ListingStats| -> Result<usize, E> {
        stats.pages += 1;
        if page.total.is_some() {
            stats.last_total = page.total;
        }
        let count = page.items.len();
        progress.inc_by(count as u64);
        for item in page.items {
            if !item.id().is_empty() && !seen.insert(item.id().to_string()) {
                stats.duplicates += 1;
                continue;
            }
            stats.records += 1;
            emit(item)?;
        }
        Ok(count)
    };
    let first: Page<T> = client.fetch_page(request, 1).await?;
    stats.first_total = first.total;
    if let Some(total) = first.total {
        progress.set_length(total);
    }
    let first_len = first.items.len() as u64;
    if take(first, &mut stats)? == 0 {
        return Ok(stats);
    }
    let mut next_page = 2u64;
    if let Some(total) = stats.first_total
        && total > first_len
    {
        // The server's page size is what it actually sent.
        let pages = total.div_ceil(first_len.max(1));
        let mut concurrent = stream::iter(2..=pages)
            .map(|page| {
                let client = client.clone();
                let request = request.clone();
                async move { client.fetch_page::<T>(&request, page).await }
            })
            // More pages under way than slots, so the limiter always has one waiting
            // even when the oldest page is the slowest.
            .buffered(concurrency.max(1) * 4);
        while let Some(page) = concurrent.next().await {
            take(page?, &mut stats)?;
        }
        next_page = pages + 1;
        if stats.last_total.is_some_and(|now| stats.records >= now) {
            return Ok(stats);
        }
    } else if stats.first_total.is_some() {
        return Ok(stats);
    }
    // No total, or records were added while we read: on until an empty page.
    loop {
        let page: Page<T> = client.fetch_page(request, next_page).await?;
        let duplicates_before = stats.duplicates;
        let received = take(page, &mut stats)? as u64;
        if received == 0 {
            return Ok(stats);
        }
        if stats.duplicates - duplicates_before == received {
            if received >= first_len {
                return Err(ApiError::Decode {
                    endpoint: format!("/{}", request.path.join("/")),
                    message: format!("page {next_page} repeated records already seen: the server seems to ignore the page parameter"),
                }
                .into());
            }
            // A short page of repeats: the server sent everything already.
            return Ok(stats);
        }
        if stats.last_total.is_some_and(|now| stats.records >= now) {
            return Ok(stats);
        }
        next_page += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_moving_count_is_reported() {
        let mut stats = ListingStats {
            first_total: Some(100),
            last_total: Some(100),
            ..Default::default()
        };
        assert_eq!(stats.count_change("user"), None);
        stats.last_total = Some(101);
        let warning = stats.count_change("user").unwrap();
        assert!(warning.contains("100 → 101"), "{warning}");
    }
}
