//! Listing: every record of a list endpoint, complete or a clear error.
//!
//! This is the crate's one pager. Its end rules live in [`Tracker`] and
//! nowhere else; [`Client::read_listing`] drives it, fetching the remaining
//! pages concurrently once page 1 has given a total, one by one otherwise.
//!
//! Invariants:
//! - no record is lost to a server that caps `pageSize` below what we asked
//!   for: a short page ends a listing only when the total says so, or when
//!   the page after it is empty;
//! - every listing ends: an empty page, a page that repeats page 1 (the
//!   server ignores `page`), a run of pages holding nothing new, or more
//!   pages than the server's own total allows all stop it;
//! - records are told apart by id, or by their whole content when they
//!   have none, so rows that shift between pages are yielded once;
//! - a listing that ends with fewer records than the server's stable total
//!   says so ([`ListingStats::incomplete`]), and one odd record never fails
//!   a whole listing: it is decoded leniently and noted.

use std::collections::HashSet;
use std::hash::{DefaultHasher, Hash, Hasher};

use futures::{Stream, StreamExt, stream};
use reqwest::Method;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::client::{Call, Client};
use super::error::ApiError;
use super::wire::{self, ListShape, RawPage};
use crate::model::{Application, Group, User};

/// Records a listing yields: they carry a server id (maybe empty) and keep
/// fields they could not read in `extra`, so nothing is lost on the way back.
pub trait Listed: DeserializeOwned + Send + 'static {
    /// The server's id (empty when the record has none).
    fn id(&self) -> &str;
    /// Keeps fields that could not be read, raw, for the way back.
    fn keep_raw(&mut self, fields: Vec<(String, Value)>);
}

impl Listed for User {
    fn id(&self) -> &str {
        &self.id
    }
    fn keep_raw(&mut self, fields: Vec<(String, Value)>) {
        self.extra.extend(fields);
    }
}
impl Listed for Group {
    fn id(&self) -> &str {
        &self.id
    }
    fn keep_raw(&mut self, fields: Vec<(String, Value)>) {
        self.extra.extend(fields);
    }
}
impl Listed for Value {
    fn id(&self) -> &str {
        self.get("id").and_then(Value::as_str).unwrap_or_default()
    }
    fn keep_raw(&mut self, fields: Vec<(String, Value)>) {
        if let Value::Object(map) = self {
            map.extend(fields);
        }
    }
}

impl Listed for Application {
    fn id(&self) -> &str {
        &self.id
    }
    fn keep_raw(&mut self, fields: Vec<(String, Value)>) {
        self.extra.extend(fields);
    }
}

/// A record that was not read as it came, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RecordNote {
    /// The record's id, when it has one.
    pub id: Option<String>,
    /// What was odd about it.
    pub message: String,
}

/// Decodes one listed record. A field of an unexpected type (a number where
/// text belongs, say) is kept raw in `extra` and noted; only a record that is
/// not an object at all is dropped, and noted.
pub fn decode_lenient<T: Listed>(value: Value) -> Result<(T, Option<RecordNote>), RecordNote> {
    let id_of = |value: &Value| match value.get("id") {
        Some(Value::String(id)) => Some(id.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    match serde_json::from_value::<T>(value.clone()) {
        Ok(record) => return Ok((record, None)),
        Err(err) if !value.is_object() => {
            return Err(RecordNote {
                id: None,
                message: format!("a listed record is not an object and was skipped: {err}"),
            });
        }
        Err(_) => {}
    }
    let id = id_of(&value);
    let Value::Object(mut map) = value else {
        return Err(RecordNote {
            id,
            message: "a listed record is not an object".to_string(),
        });
    };
    // Each field alone tells whether it is the one that does not fit.
    let bad: Vec<String> = map
        .iter()
        .filter(|(key, field)| {
            let mut alone = Map::new();
            alone.insert((*key).clone(), (*field).clone());
            serde_json::from_value::<T>(Value::Object(alone)).is_err()
        })
        .map(|(key, _)| key.clone())
        .collect();
    let kept: Vec<(String, Value)> = bad
        .iter()
        .filter_map(|key| map.remove(key).map(|v| (key.clone(), v)))
        .collect();
    match serde_json::from_value::<T>(Value::Object(map)) {
        Ok(mut record) => {
            let names: Vec<&str> = kept.iter().map(|(k, _)| k.as_str()).collect();
            let note = RecordNote {
                id: id.clone(),
                message: format!(
                    "field(s) {} had values of an unexpected type; kept as they came",
                    names.join(", ")
                ),
            };
            record.keep_raw(kept);
            Ok((record, Some(note)))
        }
        Err(err) => Err(RecordNote {
            id,
            message: format!("a listed record could not be read and was skipped: {err}"),
        }),
    }
}

/// A list endpoint and its filters, without the paging parameters.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    /// The path segments below the API root.
    pub path: Vec<String>,
    /// The filters and sort parameters.
    pub query: Vec<(&'static str, String)>,
    /// Overrides the client's page size.
    pub page_size: Option<u32>,
}

impl ListRequest {
    /// A request for the list at `path`, with no filters.
    pub fn new(path: &[&str]) -> Self {
        ListRequest {
            path: path.iter().map(|s| s.to_string()).collect(),
            ..Default::default()
        }
    }

    /// Adds a query parameter when `value` is set.
    pub fn param(mut self, name: &'static str, value: Option<impl ToString>) -> Self {
        if let Some(value) = value {
            self.query.push((name, value.to_string()));
        }
        self
    }

    /// The path listed, as messages name it (`/users`).
    pub fn endpoint(&self) -> String {
        format!("/{}", self.path.join("/"))
    }
}

/// One decoded page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    /// The records that could be read.
    pub items: Vec<T>,
    /// One key per item, telling records apart (see [`record_key`]).
    pub keys: Vec<u64>,
    /// The server's total of records, when it gave one.
    pub total: Option<u64>,
    /// How the response was shaped.
    pub shape: ListShape,
    /// Records not read as they came.
    pub notes: Vec<RecordNote>,
}

impl<T: Listed> Page<T> {
    /// Adds the record `raw` as [`decode_lenient`] reads it, keyed as
    /// [`record_key`] keys it (or notes why it could not be read).
    fn take_lenient(&mut self, raw: Value) {
        let key = record_key(&raw);
        match decode_lenient::<T>(raw) {
            Ok((record, note)) => {
                self.items.push(record);
                self.keys.push(key);
                self.notes.extend(note);
            }
            Err(note) => self.notes.push(note),
        }
    }
}

/// A record's identity for de-duplication: its id, or its whole content
/// when it has no id (so id-less records cannot defeat the repeat guard).
pub fn record_key(raw: &Value) -> u64 {
    let mut hasher = DefaultHasher::new();
    match raw.get("id") {
        Some(Value::String(id)) if !id.is_empty() => ("id", id.as_str()).hash(&mut hasher),
        Some(Value::Number(n)) => ("id", n.to_string().as_str()).hash(&mut hasher),
        _ => ("record", raw.to_string().as_str()).hash(&mut hasher),
    }
    hasher.finish()
}

/// What reading a listing saw.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListingStats {
    /// Pages read.
    pub pages: u64,
    /// Distinct records yielded.
    pub records: u64,
    /// Records that appeared on two pages (shifted while we read).
    pub duplicates: u64,
    /// The server's total on page 1.
    pub first_total: Option<u64>,
    /// The server's total on the last page that gave one.
    pub last_total: Option<u64>,
    /// The endpoint ignored paging and sent the whole list on page 1.
    pub unpaged: bool,
    /// Records not read as they came (see [`decode_lenient`]).
    pub notes: Vec<RecordNote>,
    /// Things worth telling the user that do not make the listing wrong.
    pub warnings: Vec<String>,
}

impl ListingStats {
    /// A sentence when the server's count moved while we read.
    pub fn count_change(&self, what: &str) -> Option<String> {
        match (self.first_total, self.last_total) {
            (Some(first), Some(last)) if first != last => Some(format!(
                "the tenant's {what} count changed while it was read: {first} → {last}; run it again for a consistent snapshot"
            )),
            _ => None,
        }
    }

    /// Records the server's total promised but the listing never yielded,
    /// when the total held still (a moving total is [`Self::count_change`]).
    pub fn missing(&self) -> Option<u64> {
        match (self.first_total, self.last_total) {
            (Some(first), Some(last)) if first == last && self.records < last => {
                Some(last - self.records)
            }
            _ => None,
        }
    }

    /// Why the listing is known to be incomplete, if it is.
    pub fn incomplete(&self, endpoint: &str) -> Option<String> {
        self.missing().map(|missing| {
            format!(
                "{endpoint}: the server's total is {} but only {} distinct records arrived ({missing} missing); if the tenant numbers pages from 0, pass --page-base 0 (`sebulk check` tells)",
                self.last_total.unwrap_or_default(),
                self.records
            )
        })
    }
}

/// What the tracker says after a page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Read the next page.
    More,
    /// The listing is complete.
    Complete,
    /// The listing cannot be completed.
    Failed(String),
}

/// Pages in a row holding nothing new before a listing gives up.
const MAX_REPEATS: u32 = 3;

/// The end rules of every listing, applied page by page in page order.
#[derive(Debug)]
pub struct Tracker {
    asked: u64,
    seen: HashSet<u64>,
    first_keys: Vec<u64>,
    repeats: u32,
    /// What the listing saw so far.
    pub stats: ListingStats,
}

impl Tracker {
    /// A tracker for a listing asking `asked` records per page.
    pub fn new(asked: u32) -> Self {
        Tracker {
            asked: u64::from(asked.max(1)),
            seen: HashSet::new(),
            first_keys: Vec::new(),
            repeats: 0,
            stats: ListingStats::default(),
        }
    }

    /// The most pages the server's first total allows, with a small margin
    /// for records added while we read (a total that keeps growing cannot
    /// keep a listing going for ever).
    pub fn page_limit(&self) -> Option<u64> {
        let total = self.stats.first_total?;
        let per_page = (self.first_keys.len() as u64).max(1);
        let pages = total.div_ceil(per_page).max(1);
        Some(pages + 2 + pages / 10)
    }

    /// Takes page `number` and passes its new records to `emit`; `true`
    /// once the listing is complete, an error (made by `failed`) when an
    /// end rule says it cannot be.
    pub fn pass_on<T, E: From<ApiError>>(
        &mut self,
        number: u64,
        page: Page<T>,
        emit: &mut impl FnMut(T) -> Result<(), E>,
        failed: &impl Fn(String) -> ApiError,
    ) -> Result<bool, E> {
        let (fresh, verdict) = self.take(number, page);
        fresh.into_iter().try_for_each(emit)?;
        match verdict {
            Verdict::More => Ok(false),
            Verdict::Complete => Ok(true),
            Verdict::Failed(message) => Err(failed(message).into()),
        }
    }

    /// Takes page `number` (1-based); returns its new records and the verdict.
    pub fn take<T>(&mut self, number: u64, page: Page<T>) -> (Vec<T>, Verdict) {
        self.stats.pages += 1;
        self.stats.notes.extend(page.notes);
        if let Some(total) = page.total {
            if number == 1 {
                self.stats.first_total = Some(total);
            }
            self.stats.last_total = Some(total);
        }
        let received = page.keys.len() as u64;
        if received == 0 {
            return (Vec::new(), Verdict::Complete);
        }
        if number == 1 {
            self.first_keys = page.keys.clone();
            if let Some(total) = page.total.filter(|total| received > *total) {
                self.stats.warnings.push(format!(
                    "the server's total says {total} records, but page 1 alone held {received}; the total is not trusted"
                ));
                self.stats.first_total = None;
                self.stats.last_total = None;
            }
        } else if page.keys == self.first_keys {
            return (Vec::new(), self.page_one_again(number));
        }
        let mut fresh = Vec::with_capacity(page.items.len());
        for (item, key) in page.items.into_iter().zip(&page.keys) {
            if self.seen.insert(*key) {
                fresh.push(item);
            }
        }
        let new = fresh.len() as u64;
        self.stats.records += new;
        self.stats.duplicates += received - new;
        let total = self.stats.last_total;
        let short_of_total = total.is_some_and(|t| self.stats.records < t);
        if received > self.asked && !short_of_total {
            // More than we asked for: the server sent the whole list at once.
            self.stats.unpaged = true;
            return (fresh, Verdict::Complete);
        }
        if new == 0 {
            self.repeats += 1;
            if received < self.asked && !short_of_total {
                // A short page of repeats: everything was sent already.
                return (fresh, Verdict::Complete);
            }
            if self.repeats >= MAX_REPEATS {
                return (
                    fresh,
                    Verdict::Failed(format!(
                        "{MAX_REPEATS} pages in a row (up to page {number}) held only records already seen: the server seems to ignore the page parameter, so the listing cannot be completed"
                    )),
                );
            }
            return (fresh, Verdict::More);
        }
        self.repeats = 0;
        if total.is_some_and(|t| self.stats.records >= t) {
            return (fresh, Verdict::Complete);
        }
        if let Some(limit) = self.page_limit().filter(|limit| number >= *limit) {
            return (
                fresh,
                Verdict::Failed(format!(
                    "read {number} pages, more than the server's total of {} records allows ({limit} pages at most); the listing does not end",
                    total.unwrap_or_default()
                )),
            );
        }
        (fresh, Verdict::More)
    }

    /// Page `number` repeated page 1 exactly: the endpoint is not paged.
    fn page_one_again(&mut self, number: u64) -> Verdict {
        self.stats.duplicates += self.first_keys.len() as u64;
        let first_len = self.first_keys.len() as u64;
        let more_promised = self
            .stats
            .last_total
            .is_some_and(|total| total > self.stats.records);
        if first_len >= self.asked && more_promised {
            return Verdict::Failed(format!(
                "page {number} repeats page 1 while the server's total says {} records and page 1 held {first_len}: the server ignores the page parameter, so the rest cannot be read",
                self.stats.last_total.unwrap_or_default()
            ));
        }
        self.stats.unpaged = true;
        Verdict::Complete
    }
}

/// The most pages of one listing under way at once: 64 pages in flight
/// keep 3,000 requests/s going up to 20 ms of latency (6,400 records of
/// 100 a page); a slower tenant lists at 64 pages per latency.
const PAGES_AHEAD: usize = 64;

/// The key [`record_key`] gives a record whose id is `id` (not empty).
fn id_key(id: &str) -> u64 {
    let mut hasher = DefaultHasher::new();
    ("id", id).hash(&mut hasher);
    hasher.finish()
}

/// A page decoded record by record from each record's own text: a record
/// that reads plainly and has an id costs no JSON tree; any other is read
/// as [`decode_lenient`] reads it, keyed as [`record_key`] keys it.
fn page_of_texts<T: Listed>(texts: wire::RawTexts<'_>) -> Page<T> {
    let mut page = Page {
        items: Vec::with_capacity(texts.items.len()),
        keys: Vec::with_capacity(texts.items.len()),
        total: texts.total,
        shape: texts.shape,
        notes: Vec::new(),
    };
    for text in texts.items {
        if let Ok(record) = serde_json::from_str::<T>(text.get())
            && !record.id().is_empty()
        {
            page.keys.push(id_key(record.id()));
            page.items.push(record);
            continue;
        }
        let raw = match serde_json::from_str::<Value>(text.get()) {
            Ok(raw) => raw,
            Err(err) => {
                page.notes.push(RecordNote {
                    id: None,
                    message: format!("a listed record could not be read and was skipped: {err}"),
                });
                continue;
            }
        };
        page.take_lenient(raw);
    }
    page
}

impl Client {
    /// Fetches logical page `page` (1 is the first, whatever the tenant's
    /// page base) of `request`.
    pub async fn fetch_page<T: Listed>(
        &self,
        request: &ListRequest,
        page: u64,
    ) -> Result<Page<T>, ApiError> {
        let page_size = request.page_size.unwrap_or(self.page_size());
        let sent_page = page.saturating_sub(1).saturating_add(self.page_base());
        let mut query: Vec<(&str, String)> = request.query.clone();
        query.push(("page", sent_page.to_string()));
        query.push(("pageSize", page_size.to_string()));
        let path: Vec<&str> = request.path.iter().map(String::as_str).collect();
        let reply = self
            .execute(&Call {
                method: Method::GET,
                path: &path,
                query: &query,
                body: None,
                replay_if_maybe_sent: true,
            })
            .await?;
        if let Some(texts) = wire::parse_list_texts(&reply.body) {
            return Ok(page_of_texts(texts));
        }
        let RawPage {
            items,
            total,
            shape,
        } = wire::parse_list(&reply.body).map_err(|message| ApiError::Decode {
            endpoint: request.endpoint(),
            message,
        })?;
        let mut page = Page {
            items: Vec::with_capacity(items.len()),
            keys: Vec::with_capacity(items.len()),
            total,
            shape,
            notes: Vec::new(),
        };
        for raw in items {
            page.take_lenient(raw);
        }
        Ok(page)
    }

    /// Reads every record of `request`, handing each (once, in page order)
    /// to `emit`; `on_total` hears the server's total when page 1 gives
    /// one. Once it does, the other pages are fetched concurrently through
    /// the shared throttle.
    pub async fn read_listing<T, E>(
        &self,
        request: &ListRequest,
        on_total: impl FnMut(u64),
        emit: impl FnMut(T) -> Result<(), E>,
    ) -> Result<ListingStats, E>
    where
        T: Listed,
        E: From<ApiError>,
    {
        self.read_listing_from(request, None, on_total, emit).await
    }

    /// [`Self::read_listing`], going on from page 1 when the caller has
    /// fetched it already (to decide whether to list at all).
    pub async fn read_listing_from<T, E>(
        &self,
        request: &ListRequest,
        first: Option<Page<T>>,
        mut on_total: impl FnMut(u64),
        mut emit: impl FnMut(T) -> Result<(), E>,
    ) -> Result<ListingStats, E>
    where
        T: Listed,
        E: From<ApiError>,
    {
        let asked = request.page_size.unwrap_or(self.page_size());
        let mut tracker = Tracker::new(asked);
        let failed = |message: String| ApiError::Decode {
            endpoint: request.endpoint(),
            message,
        };
        let first: Page<T> = match first {
            Some(page) => page,
            None => self.fetch_page(request, 1).await?,
        };
        let first_len = first.keys.len() as u64;
        if first.total.is_none() {
            // Nothing will tell a lost page later (a short or empty page 1
            // may be page 2 of a tenant that counts from 0, or capped):
            // check the numbering now, once a run.
            self.confirm_page_base().await?;
        }
        let (fresh, verdict) = tracker.take(1, first);
        if let Some(total) = tracker.stats.last_total {
            on_total(total);
        }
        fresh.into_iter().try_for_each(&mut emit)?;
        match verdict {
            Verdict::More => {}
            Verdict::Complete => return Ok(tracker.stats),
            Verdict::Failed(message) => return Err(failed(message).into()),
        }
        let mut next = 2u64;
        if let Some(total) = tracker.stats.last_total.filter(|_| first_len > 0) {
            let last = total
                .div_ceil(first_len)
                .min(tracker.page_limit().unwrap_or(u64::MAX));
            let mut pages = stream::iter(2..=last)
                .map(|number| {
                    let client = self.clone();
                    let request = request.clone();
                    async move { client.fetch_page::<T>(&request, number).await }
                })
                // As many pages under way as slots (and a few more), so the
                // limiter is kept fed without holding many answered pages
                // behind a slow one; never more than PAGES_AHEAD, whatever
                // the latency: each is a connection with its buffers and a
                // page of records in memory (measured at 100,000 users on
                // a loaded machine: 300 slots held 20 MB more).
                .buffered(self.parallelism().min(PAGES_AHEAD) + 4);
            while let Some(page) = pages.next().await {
                if tracker.pass_on(next, page?, &mut emit, &failed)? {
                    return Ok(tracker.stats);
                }
                next += 1;
            }
        }
        // No total, or records were added while we read: on until the end.
        loop {
            let page: Page<T> = self.fetch_page(request, next).await?;
            if tracker.pass_on(next, page, &mut emit, &failed)? {
                return Ok(tracker.stats);
            }
            next += 1;
        }
    }

    /// The tenant's first page number: page 0 and page 1 of one record each
    /// hold different users on a 0-based tenant; a 1-based one refuses page 0
    /// or answers it as page 1. `None` when there are too few users to tell.
    pub async fn detect_page_base(&self) -> Result<Option<u64>, ApiError> {
        let first_of = |page: u64| async move {
            let reply = self
                .get_raw(
                    &["users"],
                    &[("page", page.to_string()), ("pageSize", "1".to_string())],
                )
                .await;
            match reply {
                Ok(reply) => Ok(wire::parse_list(&reply.body)
                    .ok()
                    .and_then(|page| page.items.into_iter().next())
                    .map(|record| record_key(&record))),
                Err(err) if err.status().is_some_and(|s| (400..500).contains(&s)) => Ok(None),
                Err(err) => Err(err),
            }
        };
        let zero = first_of(0).await?;
        let one = first_of(1).await?;
        Ok(match (zero, one) {
            (None, Some(_)) => Some(1),
            (Some(a), Some(b)) if a == b => Some(1),
            (Some(_), Some(_)) => Some(0),
            _ => None,
        })
    }

    /// Refuses a listing without a total when the tenant numbers pages
    /// otherwise than configured: with no total, nothing would show that
    /// the first page was never read (a sync would take its users for
    /// missing). Two calls, once per run.
    async fn confirm_page_base(&self) -> Result<(), ApiError> {
        use std::sync::atomic::Ordering;
        if self.page_base_confirmed().load(Ordering::SeqCst) {
            return Ok(());
        }
        match self.detect_page_base().await? {
            Some(base) if base != self.page_base() => Err(ApiError::Incomplete(format!(
                "the tenant numbers list pages from {base}, not {}: a listing would lose its first page and no total would show it; pass --page-base {base} (or set page_base in the profile; `sebulk check` tells)",
                self.page_base()
            ))),
            _ => {
                self.page_base_confirmed().store(true, Ordering::SeqCst);
                Ok(())
            }
        }
    }

    /// Every record of `request`; a listing the server's own total shows to
    /// be incomplete is an error.
    pub async fn list_all<T: Listed>(&self, request: ListRequest) -> Result<Vec<T>, ApiError> {
        let mut records = Vec::new();
        let stats = self
            .read_listing(
                &request,
                |_| {},
                |record| {
                    records.push(record);
                    Ok::<_, ApiError>(())
                },
            )
            .await?;
        if let Some(message) = stats.incomplete(&request.endpoint()) {
            return Err(ApiError::Incomplete(message));
        }
        for warning in &stats.warnings {
            tracing::warn!("{}: {warning}", request.endpoint());
        }
        for note in &stats.notes {
            tracing::warn!(
                "{}{}: {}",
                request.endpoint(),
                note.id
                    .as_deref()
                    .map(|id| format!(" (record {id})"))
                    .unwrap_or_default(),
                note.message
            );
        }
        Ok(records)
    }

    /// The server's total for `request` (one call for one record), if it gives one.
    pub async fn count(&self, request: &ListRequest) -> Result<Option<u64>, ApiError> {
        let mut probe = request.clone();
        probe.page_size = Some(1);
        let first = self.fetch_page::<Value>(&probe, 1).await?;
        Ok(first
            .total
            .filter(|total| first.keys.len() as u64 <= *total))
    }

    /// Every record of `request`, as a stream (read whole first).
    pub fn list<T: Listed>(
        &self,
        request: ListRequest,
    ) -> impl Stream<Item = Result<T, ApiError>> + Send + 'static {
        let client = self.clone();
        stream::once(async move { client.list_all::<T>(request).await })
            .map(|result| match result {
                Ok(records) => stream::iter(records.into_iter().map(Ok)).left_stream(),
                Err(err) => stream::iter(vec![Err(err)]).right_stream(),
            })
            .flatten()
            .boxed()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn page(ids: &[&str], total: Option<u64>) -> Page<String> {
        Page {
            items: ids.iter().map(|s| s.to_string()).collect(),
            keys: ids
                .iter()
                .map(|id| record_key(&json!({ "id": id })))
                .collect(),
            total,
            shape: ListShape::Array,
            notes: Vec::new(),
        }
    }

    fn ids(n: std::ops::Range<usize>) -> Vec<String> {
        n.map(|i| format!("u{i}")).collect()
    }

    fn refs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }

    #[test]
    fn a_capped_page_reads_on_until_the_total() {
        let mut tracker = Tracker::new(100);
        let (_, v) = tracker.take(1, page(&refs(&ids(0..40)), Some(90)));
        assert_eq!(v, Verdict::More);
        let (_, v) = tracker.take(2, page(&refs(&ids(40..80)), Some(90)));
        assert_eq!(v, Verdict::More);
        let (fresh, v) = tracker.take(3, page(&refs(&ids(80..90)), Some(90)));
        assert_eq!((fresh.len(), v), (10, Verdict::Complete));
        assert_eq!(tracker.stats.missing(), None);
    }

    #[test]
    fn without_a_total_a_short_page_is_not_the_end_but_an_empty_one_is() {
        let mut tracker = Tracker::new(100);
        assert_eq!(tracker.take(1, page(&["a", "b"], None)).1, Verdict::More);
        assert_eq!(tracker.take(2, page(&[], None)).1, Verdict::Complete);
        assert_eq!(tracker.stats.records, 2);
    }

    #[test]
    fn more_than_asked_means_the_whole_list() {
        let mut tracker = Tracker::new(100);
        let all = ids(0..300);
        let (fresh, v) = tracker.take(1, page(&refs(&all), None));
        assert_eq!((fresh.len(), v), (300, Verdict::Complete));
        assert!(tracker.stats.unpaged);
        // Unless the total says there is more: then it is the server's page size.
        let mut tracker = Tracker::new(100);
        let (_, v) = tracker.take(1, page(&refs(&ids(0..200)), Some(400)));
        assert_eq!(v, Verdict::More);
    }

    #[test]
    fn page_two_repeating_page_one_ends_an_unpaged_list() {
        for total in [None, Some(2)] {
            let mut tracker = Tracker::new(100);
            tracker.take(1, page(&["a", "b"], total));
            let v = if total.is_some() {
                Verdict::Complete
            } else {
                tracker.take(2, page(&["a", "b"], total)).1
            };
            assert_eq!(v, Verdict::Complete);
            assert_eq!(tracker.stats.records, 2);
        }
        // A full page 1 repeated while the total promises more loses records: an error.
        let mut tracker = Tracker::new(2);
        tracker.take(1, page(&["a", "b"], Some(5)));
        assert!(matches!(
            tracker.take(2, page(&["a", "b"], Some(5))).1,
            Verdict::Failed(_)
        ));
    }

    #[test]
    fn records_without_ids_are_told_apart_by_content() {
        let a = json!({"username": "a"});
        let b = json!({"username": "b"});
        assert_ne!(record_key(&a), record_key(&b));
        assert_eq!(record_key(&a), record_key(&json!({"username": "a"})));
        assert_ne!(
            record_key(&json!({"id": "1"})),
            record_key(&json!({"id": "2"}))
        );
    }

    #[test]
    fn pages_that_keep_repeating_fail_and_the_total_bounds_the_pages() {
        let mut tracker = Tracker::new(2);
        tracker.take(1, page(&["a", "b"], None));
        tracker.take(2, page(&["c", "d"], None));
        let mut verdict = Verdict::More;
        for n in 3..10 {
            verdict = tracker.take(n, page(&["c", "a"], None)).1;
            if verdict != Verdict::More {
                break;
            }
        }
        assert!(matches!(verdict, Verdict::Failed(_)), "{verdict:?}");

        // A total of 4 in pages of 2 allows a few pages, not hundreds.
        let mut tracker = Tracker::new(2);
        tracker.take(1, page(&["p0a", "p0b"], Some(4)));
        let mut verdict = Verdict::More;
        let mut n = 2;
        while verdict == Verdict::More && n < 100 {
            let first = format!("x{n}");
            verdict = tracker.take(n, page(&[first.as_str()], Some(4))).1;
            n += 1;
        }
        assert_eq!(verdict, Verdict::Complete);
    }

    #[test]
    fn a_total_that_keeps_growing_cannot_keep_a_listing_going() {
        let mut tracker = Tracker::new(1);
        tracker.take(1, page(&["r1"], Some(20)));
        let mut verdict = Verdict::More;
        let mut n = 2;
        while verdict == Verdict::More && n < 1000 {
            let id = format!("r{n}");
            // Always one more than has been seen: a lying server.
            verdict = tracker.take(n, page(&[id.as_str()], Some(n + 1))).1;
            n += 1;
        }
        assert!(matches!(verdict, Verdict::Failed(_)), "{verdict:?}");
        assert!(n <= 26, "stopped after {n} pages");
    }

    #[test]
    fn a_total_below_page_one_is_not_trusted() {
        let mut tracker = Tracker::new(100);
        let (_, v) = tracker.take(1, page(&refs(&ids(0..10)), Some(3)));
        assert_eq!(v, Verdict::More);
        assert_eq!(tracker.stats.warnings.len(), 1);
        assert_eq!(tracker.stats.missing(), None);
    }

    #[test]
    fn ending_short_of_a_stable_total_is_reported() {
        let mut tracker = Tracker::new(2);
        tracker.take(1, page(&["c", "d"], Some(4)));
        assert_eq!(tracker.take(2, page(&[], Some(4))).1, Verdict::Complete);
        assert_eq!(tracker.stats.missing(), Some(2));
        assert!(
            tracker
                .stats
                .incomplete("/users")
                .unwrap()
                .contains("--page-base 0")
        );
    }

    #[test]
    fn odd_records_are_read_leniently() {
        let raw = json!({"id": "7", "username": "ana", "isEnabled": "yes",
            "customAttributes": [{"name": null, "value": null}], "firstName": null});
        let (user, note) = decode_lenient::<User>(raw).unwrap();
        assert_eq!(user.fields.username.as_deref(), Some("ana"));
        assert_eq!(user.extra["isEnabled"], "yes");
        assert_eq!(
            user.fields.custom_attributes.as_ref().unwrap()[0].value(),
            ""
        );
        let note = note.unwrap();
        assert_eq!(note.id.as_deref(), Some("7"));
        assert!(note.message.contains("isEnabled"));
        let body = serde_json::to_value(crate::model::UserWrite::from_user(&user)).unwrap();
        assert_eq!(
            body["isEnabled"], "yes",
            "the raw value travels back as it came"
        );
        assert!(decode_lenient::<User>(json!("nope")).is_err());
        let (group, note) = decode_lenient::<Group>(json!({"id": 3, "name": null})).unwrap();
        assert_eq!((group.id.as_str(), group.name.as_str()), ("3", ""));
        assert!(note.is_some());
    }
}
