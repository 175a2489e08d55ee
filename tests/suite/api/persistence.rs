use sebulk::model::{Password, PasswordOptions};

use crate::support::{client, config, new_user, start};

#[tokio::test]
async fn the_state_file_carries_the_tenant_across_runs_without_passwords() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("tenant.json");
    let mut first = config();
    first.state_file = Some(state.clone());
    let sandbox = start(first).await;
    let api = client(&sandbox);
    let mut body = new_user("persisted");
    body.password = PasswordOptions {
        password: Some(Password::new("a-very-secret-password")),
        ..Default::default()
    };
    let created = api.create_user(&body).await.unwrap().user;
    let groups: Vec<_> = sandbox
        .tenant()
        .groups()
        .map(|g| g.id.clone())
        .take(1)
        .collect();
    api.assign_groups(&created.id, &groups).await.unwrap();
    sandbox.shutdown().await.unwrap();

    let text = std::fs::read_to_string(&state).unwrap();
    assert!(
        !text.contains("a-very-secret-password"),
        "no password in the state file"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&state).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "the state file is private");
    }

    let mut second = config();
    second.state_file = Some(state.clone());
    let sandbox = start(second).await;
    let api = client(&sandbox);
    let again = api
        .find_user_by_username("persisted")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again.id, created.id);
    assert_eq!(api.user_groups(&again.id).await.unwrap().len(), 1);
    let other = api
        .create_user(&new_user("after-restart"))
        .await
        .unwrap()
        .user;
    assert_ne!(
        other.id, created.id,
        "id generation continues where it left off"
    );
    sandbox.shutdown().await.unwrap();
}
