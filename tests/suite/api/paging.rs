use futures::TryStreamExt;
use sebulk::api::UserQuery;
use sebulk::model::User;
use sebulk::sandbox::{ListShape, SandboxHandle, Seed};

use crate::support::{client, config, new_user, settings, start};

async fn tenant_with_users(
    n: usize,
    shape: ListShape,
    cap: Option<u32>,
) -> sebulk::sandbox::SandboxHandle {
    let mut config = config();
    config.seed = Seed::Empty;
    config.variant.list_shape = shape;
    config.faults.max_page_size = cap;
    let sandbox = start(config).await;
    let api = client(&sandbox);
    let creates = (0..n).map(|i| {
        let api = api.clone();
        async move { api.create_user(&new_user(&format!("user{i:03}"))).await }
    });
    futures::future::try_join_all(creates).await.unwrap();
    sandbox
}

fn usernames(users: &[User]) -> Vec<String> {
    let mut names: Vec<String> = users
        .iter()
        .map(|u| u.fields.username.clone().unwrap())
        .collect();
    names.sort();
    names
}

/// A client asking for pages of `page_size`, and every user it listed.
async fn listed_in_pages(
    sandbox: &SandboxHandle,
    page_size: u32,
) -> (sebulk::api::Client, Vec<User>) {
    let mut settings = settings(sandbox);
    settings.page_size = page_size;
    let api = sebulk::api::Client::new(&settings).unwrap();
    let users: Vec<User> = api
        .list_users(&UserQuery::default())
        .try_collect()
        .await
        .unwrap();
    (api, users)
}

#[tokio::test]
async fn a_capped_page_size_loses_no_record_in_any_shape() {
    for shape in [
        ListShape::Items,
        ListShape::Data,
        ListShape::Value,
        ListShape::Array,
    ] {
        let sandbox = tenant_with_users(53, shape, Some(7)).await;
        let (api, users) = listed_in_pages(&sandbox, 20).await;
        assert_eq!(users.len(), 53, "{shape:?}");
        let expected: Vec<String> = (0..53).map(|i| format!("user{i:03}")).collect();
        assert_eq!(
            usernames(&users),
            expected,
            "{shape:?}: each user exactly once"
        );
        let pages = api.stats().requests;
        // 8 pages of 7 (the last short); with a total the last is known,
        // without one an empty page ends it, and the page numbering is
        // checked first (two calls of one record).
        let expected_pages = if shape == ListShape::Array { 11 } else { 8 };
        assert_eq!(pages, expected_pages, "{shape:?}");
    }
}

#[tokio::test]
async fn an_exact_multiple_ends_on_the_total_without_an_extra_call() {
    let sandbox = tenant_with_users(40, ListShape::Items, None).await;
    let (api, users) = listed_in_pages(&sandbox, 10).await;
    assert_eq!(users.len(), 40);
    assert_eq!(api.stats().requests, 4);
}
