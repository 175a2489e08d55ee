//! Listing as a stream of records over pages.
//!
//! Invariant: no record is lost to a server that caps `pageSize` below what
//! we asked for. A short page ends the listing only when the server's own
//! total says so; otherwise we stop on an empty page. Records are
//! de-duplicated by id, so rows that shift between pages while we read are
//! yielded once.

use std::collections::HashSet;

use futures::{Stream, StreamExt, TryStreamExt, stream};
use reqwest::Method;
use serde::de::DeserializeOwned;

use super::client::{Call, Client};
use super::error::ApiError;
use super::wire::{self, ListShape, RawPage};
use crate::model::{Application, Group, User};

/// Records that carry a server id.
pub trait Identified {
    fn id(&self) -> &str;
}

impl Identified for User {
    fn id(&self) -> &str {
        &self.id
    }
}
impl Identified for Group {
    fn id(&self) -> &str {
        &self.id
    }
}
impl Identified for Application {
    fn id(&self) -> &str {
        &self.id
    }
}

/// A list endpoint and its filters, without the paging parameters.
#[derive(Debug, Clone, Default)]
pub struct ListRequest {
    pub path: Vec<String>,
    pub query: Vec<(&'static str, String)>,
    /// Overrides the client's page size.
    pub page_size: Option<u32>,
}

impl ListRequest {
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
}

/// One decoded page.
#[derive(Debug, Clone)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub total: Option<u64>,
    pub shape: ListShape,
}

impl Client {
    /// Fetches page `page` (1-based) of `request`.
    pub async fn fetch_page<T: DeserializeOwned>(
        &self,
        request: &ListRequest,
        page: u64,
    ) -> Result<Page<T>, ApiError> {
        let page_size = request.page_size.unwrap_or(self.page_size());
        let mut query: Vec<(&str, String)> = request.query.clone();
        query.push(("page", page.to_string()));
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
        let endpoint = || format!("/{}", request.path.join("/"));
        let RawPage {
            items,
            total,
            shape,
        } = wire::parse_list(&reply.body).map_err(|message| ApiError::Decode {
            endpoint: endpoint(),
            message,
        })?;
        let items = items
            .into_iter()
            .map(serde_json::from_value)
            .collect::<Result<Vec<T>, _>>()
            .map_err(|err| ApiError::Decode {
                endpoint: endpoint(),
                message: format!("a listed record did not decode: {err}"),
            })?;
        Ok(Page {
            items,
            total,
            shape,
        })
    }

    /// Every record of `request`, page after page, each id once.
    pub fn list<T>(
        &self,
        request: ListRequest,
    ) -> impl Stream<Item = Result<T, ApiError>> + Send + 'static
    where
        T: DeserializeOwned + Identified + Send + 'static,
    {
        let state = Pager {
            client: self.clone(),
            request,
            next_page: 1,
            seen: HashSet::new(),
            done: false,
        };
        stream::try_unfold(state, |mut pager| async move {
            let batch = pager.next_batch::<T>().await?;
            Ok::<_, ApiError>(batch.map(|items| (items, pager)))
        })
        .map_ok(|items| stream::iter(items.into_iter().map(Ok)))
        .try_flatten()
        .boxed()
    }

    /// Every record of `request`, collected.
    pub async fn list_all<T>(&self, request: ListRequest) -> Result<Vec<T>, ApiError>
    where
        T: DeserializeOwned + Identified + Send + 'static,
    {
        self.list(request).try_collect().await
    }
}

struct Pager {
    client: Client,
    request: ListRequest,
    next_page: u64,
    seen: HashSet<String>,
    done: bool,
}

impl Pager {
    /// The next page's new records, or `None` when the listing is complete.
    async fn next_batch<T: DeserializeOwned + Identified>(
        &mut self,
    ) -> Result<Option<Vec<T>>, ApiError> {
        if self.done {
            return Ok(None);
        }
        let page_number = self.next_page;
        let page: Page<T> = self.client.fetch_page(&self.request, page_number).await?;
        self.next_page += 1;
        if page.items.is_empty() {
            return Ok(None);
        }
        let asked = u64::from(self.request.page_size.unwrap_or(self.client.page_size()));
        let received = page.items.len() as u64;
        let fresh: Vec<T> = page
            .items
            .into_iter()
            .filter(|item| item.id().is_empty() || self.seen.insert(item.id().to_string()))
            .collect();
        if fresh.is_empty() {
            let short_of_total = page
                .total
                .is_some_and(|total| (self.seen.len() as u64) < total);
            if received >= asked || short_of_total {
                return Err(ApiError::Decode {
                    endpoint: format!("/{}", self.request.path.join("/")),
                    message: format!(
                        "page {page_number} repeated records already seen: the server seems to ignore the page parameter, so the listing cannot be completed"
                    ),
                });
            }
            // A short page of repeats: the server sent everything at once.
            return Ok(None);
        }
        if page
            .total
            .is_some_and(|total| self.seen.len() as u64 >= total)
        {
            self.done = true;
        }
        Ok(Some(fresh))
    }
}
