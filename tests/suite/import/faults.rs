use std::collections::BTreeMap;

use sebulk::Completion;
use sebulk::sandbox::Seed;

use super::rows::{import, write_input};
use crate::support::{config, read_csv, start};

/// 120 new hires in 4 of the demo groups, plus updates of the demo users.
pub fn batch() -> Vec<String> {
    let groups = ["Sales", "Engineering", "Finance", "Marketing"];
    let mut lines: Vec<String> = (0..120)
        .map(|i| {
            format!(
                "hire{i:03},hire{i:03}@northwind.example,Hire,Number{i},Dept{},,GB,All Staff;{},Slack,",
                i % 5,
                groups[i % 4]
            )
        })
        .collect();
    lines.push("amelia.hughes,amelia.hughes@northwind.example,,,People,,,,,".to_string());
    lines.push("priya.raman,priya.raman@northwind.example,,,,,,Sales,,".to_string());
    lines
}

/// The tenant holds every hire of [`batch`] exactly once, created once, with
/// its two groups and one application, beside the 8 demo users.
pub fn assert_batch_applied(tenant: &sebulk::sandbox::Tenant) {
    let mut per_username: BTreeMap<String, usize> = BTreeMap::new();
    for user in tenant.users() {
        *per_username
            .entry(user.fields.username.clone().unwrap().to_lowercase())
            .or_default() += 1;
    }
    assert!(per_username.values().all(|n| *n == 1));
    assert_eq!(tenant.users().count(), 8 + 120);
    for i in 0..120 {
        let user = tenant.user_by_username(&format!("hire{i:03}")).unwrap();
        let groups: Vec<String> = tenant
            .groups_of(&user.id)
            .into_iter()
            .map(|g| g.name)
            .collect();
        assert_eq!(groups.len(), 2, "hire{i:03}: {groups:?}");
        assert_eq!(tenant.applications_of(&user.id).len(), 1);
        assert_eq!(user.password.times_set, 1, "hire{i:03}: exactly one create");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn faults_do_not_cost_a_row_or_duplicate_a_user() {
    let mut faulty = config();
    faulty.faults.latency = std::time::Duration::from_millis(5);
    faulty.faults.rate_limit = Some(150);
    faulty.faults.fail_rate = 0.1;
    faulty.faults.drop_rate = 0.15;
    faulty.faults.max_page_size = Some(7);
    faulty.faults.seed = 11;
    let sandbox = start(faulty).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "batch.csv", &batch());
    let (completion, results) = import(&sandbox, &input, &["--auto-password"]).await;
    let lines = read_csv(&results);
    assert_eq!(
        completion,
        Completion::Clean,
        "{:?}",
        lines
            .iter()
            .filter(|l| l["outcome"] == "failed")
            .collect::<Vec<_>>()
    );
    let rows: Vec<u64> = lines.iter().map(|l| l["row"].parse().unwrap()).collect();
    assert_eq!(
        rows,
        (1..=122).collect::<Vec<_>>(),
        "one line per row, in order"
    );
    let counters = sandbox.counters();
    assert!(
        counters.failed > 0 && counters.dropped > 0 && counters.throttled > 0,
        "the faults fired: {counters:?}"
    );

    let tenant = sandbox.tenant();
    assert_batch_applied(&tenant);
    assert_eq!(
        tenant
            .user_by_username("amelia.hughes")
            .unwrap()
            .fields
            .department
            .as_deref(),
        Some("People")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn group_assignments_are_coalesced() {
    let mut quiet = config();
    quiet.seed = Seed::Demo;
    let sandbox = start(quiet).await;
    let dir = tempfile::tempdir().unwrap();
    let input = write_input(dir.path(), "batch.csv", &batch()[..120]);
    let summary = dir.path().join("summary.json");
    let summary_text = summary.display().to_string();
    let (completion, _) = import(&sandbox, &input, &["--summary-json", &summary_text]).await;
    assert_eq!(completion, Completion::Clean);
    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["counts"]["created"], 120);
    // 120 creates + (All Staff: 2 chunks, 4 groups: 1 each) + Slack: 2 chunks = 128 writes.
    assert_eq!(summary["write_calls"], 128, "{summary}");
    let calls = summary["api_calls"].as_u64().unwrap();
    assert!(calls <= 128 + 6, "lookups stay few: {summary}");
}
