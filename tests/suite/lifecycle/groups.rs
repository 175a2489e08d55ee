//! `groups import`: upsert by name, no call for what matches, --prune
//! under guard rails with a snapshot restore gives back.

use std::path::Path;

use sebulk::Completion;

use crate::support::{against, config, file_in, read_csv, restore, start};

fn write(dir: &Path, name: &str, text: &str) -> String {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn groups_are_upserted_by_name_and_a_second_run_sends_nothing() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "groups.csv",
        "Group Name,Description,enforceSecondFactor\n\
         sales,,\n\
         Engineering,Platform and product engineers,\n\
         New Team,Started this week,yes\n\
         ,no name,\n\
         NEW TEAM,twice,\n\
         Finance,,maybe\n",
    );
    let results = dir.path().join("r.csv");
    let args = ["groups", "import", &file, "-o", results.to_str().unwrap()];
    let (completion, lines) = crate::support::run_and_read(&sandbox, &args, &results).await;
    assert_eq!(completion, Completion::WithProblems);
    assert_eq!(
        crate::support::column(&lines, "outcome"),
        [
            "unchanged",
            "updated",
            "created",
            "invalid",
            "invalid",
            "invalid"
        ]
    );
    assert!(lines[1]["changes"].contains(
        "description: \"Software and platform engineers\" → \"Platform and product engineers\""
    ));
    assert!(lines[4]["error"].contains("duplicate"));
    assert!(lines[5]["error"].contains("maybe"));
    let tenant = sandbox.tenant();
    let groups: Vec<_> = tenant.groups().cloned().collect();
    let new_team = groups.iter().find(|g| g.name == "New Team").unwrap();
    assert_eq!(new_team.enforce_second_factor, Some(true));
    let engineering = groups.iter().find(|g| g.name == "Engineering").unwrap();
    assert_eq!(
        engineering.enforce_second_factor,
        Some(true),
        "an empty cell keeps the value"
    );

    let writes = sandbox.counters().writes;
    let args = [
        "groups",
        "import",
        &file,
        "-o",
        results.to_str().unwrap(),
        "--force",
    ];
    against(&sandbox, &args).await.unwrap();
    assert_eq!(sandbox.counters().writes, writes, "nothing left to change");
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prune_is_guarded_and_restore_gives_the_groups_back() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = write(
        dir.path(),
        "groups.csv",
        "name\nAll Staff\nEngineering\nFinance\nSales\nIT Admins\n",
    );
    let protect = write(dir.path(), "protect.txt", "*office\n");
    let results = dir.path().join("r.csv");
    let members_before = |name: &str| {
        let tenant = sandbox.tenant();
        let group = tenant.groups().find(|g| g.name == name).unwrap().clone();
        let mut members: Vec<String> = tenant
            .members_of_group(&group.id)
            .unwrap()
            .into_iter()
            .map(|u| u.fields.username.clone().unwrap_or_default())
            .collect();
        members.sort();
        members
    };
    let hr_members = members_before("Human Resources");
    assert!(!hr_members.is_empty());

    let results_path = results.to_str().unwrap().to_string();
    // `groups import --prune`, with `--max-affected` when given.
    let prune_with = |limit: Option<&'static str>| -> Vec<String> {
        let mut args = vec!["groups", "import", &file, "--prune", "--protect", &protect];
        args.extend(
            limit
                .map(|limit| ["--max-affected", limit])
                .into_iter()
                .flatten(),
        );
        args.extend(["-o", &results_path]);
        args.into_iter().map(str::to_string).collect()
    };
    // Three of ten groups would go: more than 5% of them.
    let refused = against(&sandbox, &refs(&prune_with(None)))
        .await
        .expect_err("over the limit");
    assert!(
        refused
            .to_string()
            .contains("would make changes to 3 of the tenant's 10 groups"),
        "{refused}"
    );
    assert_eq!(sandbox.counters().writes, 0);

    // Three groups allowed, but their members lose a membership too:
    // more people than three once Marketing has six more members.
    let mut adds = String::from("username,group,action\n");
    let users: Vec<String> = sandbox
        .tenant()
        .users()
        .filter_map(|u| u.public().fields.username)
        .take(6)
        .collect();
    for username in &users {
        adds.push_str(&format!("{username},Marketing,add\n"));
    }
    let adds = write(dir.path(), "adds.csv", &adds);
    let added = dir.path().join("adds.results.csv");
    let args = [
        "memberships",
        "import",
        &adds,
        "-o",
        added.to_str().unwrap(),
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &refs(&prune_with(Some("3"))))
        .await
        .expect_err("members count");
    assert!(
        refused
            .to_string()
            .contains("changes to 6 of the tenant's 8 users")
            && refused.to_string().contains("lose that membership"),
        "{refused}"
    );
    assert_eq!(
        sandbox.counters().writes,
        writes,
        "refused before any change"
    );
    assert_eq!(
        against(&sandbox, &refs(&prune_with(Some("6"))))
            .await
            .unwrap(),
        Completion::Clean
    );
    let lines = read_csv(&results);
    let pruned: Vec<(&str, &str)> = lines[5..]
        .iter()
        .map(|l| (l["name"].as_str(), l["outcome"].as_str()))
        .collect();
    assert_eq!(
        pruned,
        [
            ("Berlin Office", "protected"),
            ("Contractors", "deleted"),
            ("Human Resources", "deleted"),
            ("London Office", "protected"),
            ("Marketing", "deleted")
        ]
    );
    assert_eq!(sandbox.tenant().groups().count(), 7);

    let snapshot = file_in(dir.path(), ".snapshot-").expect("a snapshot of the pruned groups");
    assert_eq!(
        restore(&sandbox, &snapshot, dir.path()).await.unwrap(),
        Completion::Clean
    );
    assert_eq!(sandbox.tenant().groups().count(), 10);
    assert_eq!(
        members_before("Human Resources"),
        hr_members,
        "members are back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_prune_with_results_on_standard_output_still_writes_its_snapshot() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let mut names: Vec<String> = sandbox.tenant().groups().map(|g| g.name.clone()).collect();
    names.sort();
    let gone = names.pop().unwrap();
    let file = write(
        dir.path(),
        "groups.csv",
        &format!("name\n{}\n", names.join("\n")),
    );
    let args = [
        "groups",
        "import",
        &file,
        "--prune",
        "--max-affected",
        "100%",
        "-o",
        "-",
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert!(sandbox.tenant().groups().all(|g| g.name != gone));
    let snapshot = file_in(dir.path(), "groups.snapshot-").expect("the snapshot, beside the input");
    assert_eq!(
        restore(&sandbox, &snapshot, dir.path()).await.unwrap(),
        Completion::Clean
    );
    assert!(sandbox.tenant().groups().any(|g| g.name == gone));
}
