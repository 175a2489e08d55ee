use futures::TryStreamExt;
use sebulk::api::{ApiError, NamedQuery, SortOrder, UserQuery};
use sebulk::model::{Credentials, Factor, GroupWrite, Password, PasswordOptions, UserWrite};

use crate::support::{client, new_user, start, start_empty};

#[tokio::test]
async fn users_round_trip_through_every_user_endpoint() {
    let sandbox = start_empty().await;
    let api = client(&sandbox);

    let mut body = new_user("maría.lópez/ops team");
    body.fields.department = Some("Operations".into());
    body.fields.country = Some("Spain".into());
    body.password = PasswordOptions {
        password: Some(Password::new("correct-horse-battery")),
        must_change_password_on_logon: Some(true),
        ..Default::default()
    };
    let created = api.create_user(&body).await.unwrap();
    assert!(!created.confirmed_by_lookup);
    let id = created.user.id.clone();
    assert!(!id.is_empty());
    assert!(
        created.user.extra.get("password").is_none(),
        "passwords are never returned"
    );

    let by_id = api.get_user(&id).await.unwrap();
    assert_eq!(by_id.fields.department.as_deref(), Some("Operations"));
    let by_name = api
        .find_user_by_username("MARÍA.LÓPEZ/OPS TEAM")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        by_name.id, id,
        "usernames are percent-encoded and matched ignoring case"
    );
    assert!(api.find_user_by_username("nobody").await.unwrap().is_none());

    // PUT replaces: the client must send the merged user, and nothing is lost.
    let mut update = UserWrite::from_user(&by_id);
    update.fields.job_title = Some("Lead".into());
    let updated = api.update_user(&id, &update).await.unwrap();
    assert_eq!(updated.fields.job_title.as_deref(), Some("Lead"));
    assert_eq!(updated.fields.department.as_deref(), Some("Operations"));
    assert_eq!(updated.fields.country.as_deref(), Some("Spain"));

    api.create_user(&new_user("bob")).await.unwrap();
    api.create_user(&new_user("carla")).await.unwrap();
    let filtered: Vec<_> = api
        .list_users(&UserQuery {
            username: Some("CAR".into()),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1);
    let sorted: Vec<String> = api
        .list_users(&UserQuery {
            sort: Some("username".into()),
            sort_order: Some(SortOrder::Desc),
            ..Default::default()
        })
        .map_ok(|u| u.fields.username.unwrap_or_default())
        .try_collect()
        .await
        .unwrap();
    assert_eq!(sorted, vec!["maría.lópez/ops team", "carla", "bob"]);

    let dup = api.create_user(&new_user("BOB")).await.unwrap_err();
    assert_eq!(dup.status(), Some(409));

    let tenant = sandbox.tenant();
    let stored = tenant.users().find(|u| u.id == id).unwrap();
    assert_eq!(stored.password.times_set, 1);
    assert!(stored.password.must_change_on_logon);

    api.delete_user(&id).await.unwrap();
    assert!(api.get_user(&id).await.unwrap_err().is_not_found());
    api.delete_user_by_username("bob").await.unwrap();
    assert!(api.find_user_by_username("bob").await.unwrap().is_none());
    assert!(
        api.delete_user("no-such-id")
            .await
            .unwrap_err()
            .is_not_found()
    );
}

#[tokio::test]
async fn groups_and_memberships_work_from_both_sides() {
    let sandbox = start_empty().await;
    let api = client(&sandbox);
    let ana = api.create_user(&new_user("ana")).await.unwrap().user;
    let bo = api.create_user(&new_user("bo")).await.unwrap().user;

    let sales = api
        .create_group(&GroupWrite {
            name: "Sales".into(),
            description: Some("Sellers".into()),
            enforce_second_factor: Some(true),
        })
        .await
        .unwrap();
    let ops = api
        .create_group(&GroupWrite {
            name: "Ops".into(),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        api.get_group(&sales.id)
            .await
            .unwrap()
            .description
            .as_deref(),
        Some("Sellers")
    );
    let renamed = api
        .update_group(
            &ops.id,
            &GroupWrite {
                name: "Operations".into(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(renamed.name, "Operations");
    let listed: Vec<_> = api
        .list_groups(&NamedQuery {
            name: Some("oper".into()),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(
        api.find_group_by_name("Sales").await.unwrap().unwrap().id,
        sales.id
    );

    api.assign_groups(&ana.id, &[sales.id.clone(), ops.id.clone()])
        .await
        .unwrap();
    api.group_assign_users(&sales.id, std::slice::from_ref(&bo.id))
        .await
        .unwrap();
    let mut members: Vec<String> = api
        .group_users(&sales.id)
        .await
        .unwrap()
        .into_iter()
        .map(|u| u.id)
        .collect();
    members.sort();
    let mut expected = vec![ana.id.clone(), bo.id.clone()];
    expected.sort();
    assert_eq!(members, expected);
    assert_eq!(api.user_groups(&ana.id).await.unwrap().len(), 2);

    api.remove_groups(&ana.id, std::slice::from_ref(&ops.id))
        .await
        .unwrap();
    api.group_remove_users(&sales.id, std::slice::from_ref(&bo.id))
        .await
        .unwrap();
    assert_eq!(api.user_groups(&ana.id).await.unwrap().len(), 1);
    assert!(api.user_groups(&bo.id).await.unwrap().is_empty());

    let unknown = api
        .assign_groups(&ana.id, &["no-such-group".into()])
        .await
        .unwrap_err();
    assert_eq!(unknown.status(), Some(400));
    assert!(unknown.to_string().contains("no-such-group"));
    assert!(
        api.group_assign_users("no-such-group", std::slice::from_ref(&ana.id))
            .await
            .unwrap_err()
            .is_not_found()
    );

    api.delete_group(&sales.id).await.unwrap();
    assert!(api.user_groups(&ana.id).await.unwrap().is_empty());
    assert!(api.get_group(&sales.id).await.unwrap_err().is_not_found());
}

#[tokio::test]
async fn applications_and_credentials() {
    let sandbox = start(crate::support::config()).await;
    let api = client(&sandbox);
    let apps: Vec<_> = api
        .list_applications(&NamedQuery::default())
        .try_collect()
        .await
        .unwrap();
    assert!(apps.len() >= 5, "the demo tenant ships applications");
    let slack = apps.iter().find(|a| a.name == "Slack").unwrap();
    let filtered: Vec<_> = api
        .list_applications(&NamedQuery {
            detail: Some("crm".into()),
            ..Default::default()
        })
        .try_collect()
        .await
        .unwrap();
    assert_eq!(filtered.len(), 1, "label filter");

    let zoe = api.create_user(&new_user("zoe")).await.unwrap().user;
    api.assign_applications(&zoe.id, std::slice::from_ref(&slack.id))
        .await
        .unwrap();
    assert!(
        api.application_users(&slack.id)
            .await
            .unwrap()
            .iter()
            .any(|u| u.id == zoe.id)
    );
    api.application_remove_users(&slack.id, std::slice::from_ref(&zoe.id))
        .await
        .unwrap();
    assert!(api.user_applications(&zoe.id).await.unwrap().is_empty());
    api.application_assign_users(&slack.id, std::slice::from_ref(&zoe.id))
        .await
        .unwrap();
    api.remove_applications(&zoe.id, std::slice::from_ref(&slack.id))
        .await
        .unwrap();
    assert!(api.user_applications(&zoe.id).await.unwrap().is_empty());

    api.set_password(
        &zoe.id,
        &PasswordOptions {
            auto_generate_password: Some(true),
            send_email: Some(true),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let credentials = api.get_credentials(&zoe.id).await.unwrap();
    assert_eq!(credentials.first_factor.unwrap().kind, "password");
    api.set_credentials(
        &zoe.id,
        &Credentials {
            id: zoe.id.clone(),
            first_factor: None,
            second_factor: Some(Factor {
                kind: "sms".into(),
                ..Default::default()
            }),
        },
    )
    .await
    .unwrap();
    assert_eq!(
        api.get_credentials(&zoe.id)
            .await
            .unwrap()
            .second_factor
            .unwrap()
            .kind,
        "sms"
    );
    let stored = sandbox
        .tenant()
        .users()
        .find(|u| u.id == zoe.id)
        .cloned()
        .unwrap();
    assert_eq!(
        (stored.password.times_set, stored.password.emails_sent),
        (1, 1)
    );

    let refused = api
        .set_password(&zoe.id, &PasswordOptions::default())
        .await
        .unwrap_err();
    assert!(matches!(refused, ApiError::Status { status: 400, .. }));
}
