//! `memberships import`: what export wrote goes back with no write, new
//! memberships are coalesced, --sync removes under guard rails.

use sebulk::Completion;

use crate::support::{against, config, read_csv, start};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_export_of_memberships_imports_with_no_write() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("members.csv");
    let export_text = export.display().to_string();
    against(&sandbox, &["export", "memberships", "-o", &export_text])
        .await
        .unwrap();
    let exported = read_csv(&export).len();
    assert!(exported > 10);
    let results = dir.path().join("r.csv");
    let args = [
        "memberships",
        "import",
        &export_text,
        "-o",
        results.to_str().unwrap(),
    ];
    let requests = sandbox.counters().requests;
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    assert_eq!(sandbox.counters().writes, 0, "nothing to change");
    let lines = read_csv(&results);
    assert_eq!(lines.len(), exported);
    assert!(lines.iter().all(|l| l["outcome"] == "unchanged"));
    // Reads only: the catalog and each target's members once.
    let reads = sandbox.counters().requests - requests;
    assert!(reads <= 2 + 17 + 2, "{reads} reads");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn changes_are_coalesced_and_sync_is_guarded() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("changes.csv");
    std::fs::write(
        &file,
        "username,type,target,action\n\
         amelia.hughes,group,Contractors,add\n\
         jonas.becker,group,Contractors,add\n\
         priya.raman,group,contractors,add\n\
         mateo.garcia,application,VPN,add\n\
         yuki.tanaka,group,Nonexistent Team,add\n\
         nobody.here,group,Sales,add\n\
         lars.nilsson,group,Contractors,remove\n",
    )
    .unwrap();
    let results = dir.path().join("r.csv");
    let args = [
        "memberships",
        "import",
        file.to_str().unwrap(),
        "-o",
        results.to_str().unwrap(),
    ];
    let (completion, lines) = crate::support::run_and_read(&sandbox, &args, &results).await;
    assert_eq!(completion, Completion::WithProblems);
    assert_eq!(
        crate::support::column(&lines, "outcome"),
        [
            "updated", "updated", "updated", "updated", "invalid", "failed", "updated"
        ]
    );
    assert_eq!(lines[0]["groups_added"], "Contractors");
    assert_eq!(lines[3]["applications_added"], "VPN");
    assert_eq!(lines[6]["groups_removed"], "Contractors");
    assert!(lines[4]["error"].contains("unknown group 'Nonexistent Team'"));
    // Three adds to one group, one add to an application, one removal: three calls.
    assert_eq!(sandbox.counters().writes, 3);

    // --sync Contractors to just amelia: the other members go, under the guard rails.
    let sync = dir.path().join("sync.csv");
    std::fs::write(&sync, "username,target\namelia.hughes,Contractors\n").unwrap();
    let args = [
        "memberships",
        "import",
        sync.to_str().unwrap(),
        "--sync",
        "Contractors",
        "-o",
        results.to_str().unwrap(),
        "--force",
    ];
    let refused = against(&sandbox, &args)
        .await
        .expect_err("two removals of eight users is over 5%");
    assert!(
        refused.to_string().contains("members of group Contractors"),
        "{refused}"
    );
    let args = [&args[..], &["--max-affected", "2"]].concat();
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let tenant = sandbox.tenant();
    let contractors = tenant
        .groups()
        .find(|g| g.name == "Contractors")
        .unwrap()
        .clone();
    let members: Vec<String> = tenant
        .members_of_group(&contractors.id)
        .unwrap()
        .into_iter()
        .map(|u| u.fields.username.clone().unwrap_or_default())
        .collect();
    assert_eq!(members, ["amelia.hughes"]);
}
