//! Decisions for rows against a tenant held in memory: creates, updates,
//! skips, conflicts and refusals, with the exact changes each names.

use serde_json::Value;

use super::fields::{looks_garbled, lost_letters};
use super::*;
use crate::decision::catalog::Directory;
use crate::model::Field;

#[test]
fn letters_lost_to_an_encoding_are_told_apart_from_changes() {
    assert!(lost_letters("?ukasz", "Łukasz"));
    assert!(lost_letters("Zo\u{FFFD}", "Zoë"));
    assert!(!lost_letters("Lukasz", "Łukasz"), "a real change");
    assert!(!lost_letters("?ukasz", "?ukasz"), "unchanged");
    assert!(
        !lost_letters("what?", "whatx"),
        "a question mark where the tenant has ASCII"
    );
    assert!(!lost_letters("?uk", "Łukasz"));
}
use crate::input::cells::parse_row;
use crate::input::columns::map_header;

#[test]
fn a_question_mark_for_a_letter_is_told_from_a_question() {
    assert!(looks_garbled(Field::FirstName, "?ukasz"));
    assert!(looks_garbled(Field::City, "Gda?sk"));
    assert!(looks_garbled(Field::LastName, "Pawe?"));
    assert!(!looks_garbled(Field::JobTitle, "Why not?"), "not a name");
    assert!(!looks_garbled(Field::LastName, "O'Brien"));
    assert!(!looks_garbled(Field::StreetAddress, "1 ? Street"));
    assert!(
        looks_garbled(Field::FirstName, "??"),
        "a script the code page lost"
    );
    assert!(looks_garbled(Field::LastName, "?"));
    assert!(looks_garbled(Field::City, "??"));
    assert!(looks_garbled(Field::Department, "???"));
    assert!(looks_garbled(Field::LastName, "Wang ?"));
    // Lookalikes and text read in the wrong code page.
    assert!(looks_garbled(Field::Email, "\u{430}melia@example.com"));
    assert!(looks_garbled(Field::Username, "\u{430}melia.hughes"));
    assert!(looks_garbled(Field::LastName, "M\u{413}\u{458}ller"));
    assert!(looks_garbled(Field::LastName, "M\u{251C}\u{255D}ller"));
    assert!(looks_garbled(Field::LastName, "M\u{221A}\u{BA}ller"));
    assert!(looks_garbled(Field::FirstName, "Jos\u{C3}\u{A9}"));
    assert!(looks_garbled(Field::LastName, "M\u{AD}ller"));
    // Real names in one script each, and the punctuation names use.
    for name in [
        "Zoë",
        "Иван",
        "Ελένη",
        "Col·lell",
        "Mª José",
        "D'Angelo",
        "Łukasz",
    ] {
        assert!(!looks_garbled(Field::FirstName, name), "{name}");
    }
}

#[test]
fn a_name_that_lost_letters_creates_nobody_and_changes_no_one() {
    let new = row(
        &["username", "email", "firstName"],
        &["lk", "lk@example.com", "?ukasz"],
    );
    let plan = decide(&new, Current::default(), &catalog(), &Policy::default());
    assert!(
        matches!(
            &plan.action,
            Action::Refuse { kind: Refusal::LostLetters, reason, .. } if reason.contains("firstName '?ukasz'")
        ),
        "{plan:?}"
    );
    // Ana's first name is kept (nothing like "?na"), her department changes.
    let user = existing();
    let moved = row(
        &["username", "firstName", "department"],
        &["ana", "?nna", "Legal"],
    );
    let current = Current {
        user: Some(&user),
        ..Default::default()
    };
    let plan = decide(&moved, current, &catalog(), &Policy::default());
    let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["department"], "{plan:?}");
    assert!(
        plan.kept[0].contains("firstName kept as 'Ana'"),
        "{:?}",
        plan.kept
    );
}

fn row(headers: &[&str], cells: &[&str]) -> RowInput {
    let names: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
    let (header, _) = map_header(&names, &Default::default());
    let cells: Vec<String> = cells.iter().map(|s| s.to_string()).collect();
    let (input, problems) = parse_row(&header, &cells, &Default::default());
    assert!(problems.is_empty(), "{problems:?}");
    input
}

fn catalog() -> Catalog {
    Catalog {
        groups: Directory::new([
            Target {
                id: "g1".into(),
                name: "Sales".into(),
            },
            Target {
                id: "g2".into(),
                name: "Ops".into(),
            },
        ]),
        applications: Directory::new([Target {
            id: "a1".into(),
            name: "Slack".into(),
        }]),
    }
}

fn existing() -> User {
    serde_json::from_value(serde_json::json!({
        "id": "u1", "username": "ana", "email": "ana@example.com", "firstName": "Ana",
        "department": "Sales", "mobile": "+44 1", "employeeNumber": "E1", "lastLogin": "kept"
    }))
    .unwrap()
}

#[test]
fn new_users_are_created_with_their_groups() {
    let input = row(
        &["username", "email", "groups"],
        &["bo", "bo@example.com", "sales;OPS"],
    );
    let policy = Policy {
        auto_password: true,
        ..Default::default()
    };
    let plan = decide(&input, Current::default(), &catalog(), &policy);
    let Action::Create(body) = &plan.action else {
        panic!("{plan:?}")
    };
    assert_eq!(body.password.auto_generate_password, Some(true));
    let added: Vec<&str> = plan.groups.add.iter().map(|t| t.id.as_str()).collect();
    assert_eq!(added, vec!["g1", "g2"]);
}

#[test]
fn updates_merge_and_never_lose_fields() {
    let user = existing();
    let input = row(
        &["username", "department", "mobile", "firstName"],
        &["ana", "Marketing", "<clear>", ""],
    );
    let plan = decide(
        &input,
        Current {
            user: Some(&user),
            ..Default::default()
        },
        &catalog(),
        &Policy::default(),
    );
    let Action::Update {
        body: Some(body), ..
    } = &plan.action
    else {
        panic!("{plan:?}")
    };
    assert_eq!(
        body.fields.first_name.as_deref(),
        Some("Ana"),
        "empty cell keeps the field"
    );
    assert_eq!(body.fields.department.as_deref(), Some("Marketing"));
    assert_eq!(body.fields.mobile, None);
    let json = serde_json::to_value(body.as_ref()).unwrap();
    assert_eq!(json["mobile"], Value::Null, "a clear is sent explicitly");
    assert_eq!(json["lastLogin"], "kept", "unknown fields travel back");
    let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["mobile", "department"]);
    assert_eq!(plan.changes[1].old, "Sales");
}

#[test]
fn a_row_that_changes_nothing_is_unchanged() {
    let user = existing();
    let groups: BTreeSet<String> = ["g1".to_string()].into();
    let input = row(
        &["username", "email", "department", "groups"],
        &["ana", "ana@example.com", "Sales", "Sales"],
    );
    let current = Current {
        user: Some(&user),
        groups: Some(&groups),
        ..Default::default()
    };
    let plan = decide(&input, current, &catalog(), &Policy::default());
    assert_eq!(
        plan.action,
        Action::Unchanged {
            user_id: "u1".into()
        }
    );
    assert!(plan.changes.is_empty());
}

#[test]
fn the_key_a_row_matched_on_keeps_the_tenants_spelling() {
    let user = existing();
    let current = Current {
        user: Some(&user),
        ..Default::default()
    };
    // Case only: the same key, nothing to write.
    let input = row(&["username", "email"], &["ANA", "ana@example.com"]);
    let plan = decide(&input, current, &catalog(), &Policy::default());
    assert!(matches!(plan.action, Action::Unchanged { .. }), "{plan:?}");
    // A field that is not the key is HR's to set, case and all.
    let input = row(&["username", "email"], &["ana", "Ana@Example.com"]);
    let plan = decide(&input, current, &catalog(), &Policy::default());
    let fields: Vec<&str> = plan.changes.iter().map(|c| c.field.as_str()).collect();
    assert_eq!(fields, vec!["email"]);
}

#[test]
fn passwords_of_existing_users_are_left_alone_unless_reset() {
    let user = existing();
    let input = row(&["username", "password"], &["ana", "new-password-1"]);
    let current = Current {
        user: Some(&user),
        ..Default::default()
    };
    let plan = decide(&input, current, &catalog(), &Policy::default());
    assert!(matches!(plan.action, Action::Unchanged { .. }));
    assert!(plan.notes[0].contains("--reset-passwords"));
    let reset = Policy {
        reset_passwords: true,
        ..Default::default()
    };
    let plan = decide(&input, current, &catalog(), &reset);
    let Action::Update {
        body: None,
        reset_password: Some(options),
        ..
    } = &plan.action
    else {
        panic!("{plan:?}")
    };
    assert_eq!(
        options.password.as_ref().unwrap().expose(),
        "new-password-1"
    );
    assert!(!format!("{:?}", plan.changes).contains("new-password-1"));
}

#[test]
fn sync_removes_what_is_not_listed() {
    let user = existing();
    let groups: BTreeSet<String> = ["g1".to_string(), "g2".to_string()].into();
    let input = row(&["username", "groups"], &["ana", "Sales"]);
    let current = Current {
        user: Some(&user),
        groups: Some(&groups),
        ..Default::default()
    };
    let additive = decide(&input, current, &catalog(), &Policy::default());
    assert!(matches!(additive.action, Action::Unchanged { .. }));
    let sync = Policy {
        sync_groups: true,
        ..Default::default()
    };
    let plan = decide(&input, current, &catalog(), &sync);
    assert_eq!(
        plan.groups
            .remove
            .iter()
            .map(|t| t.id.as_str())
            .collect::<Vec<_>>(),
        vec!["g2"]
    );
}

#[test]
fn refusals_and_skips() {
    let user = existing();
    let current = Current {
        user: Some(&user),
        ..Default::default()
    };
    let unknown = row(&["username", "groups"], &["ana", "Sales;Nope"]);
    let plan = decide(&unknown, current, &catalog(), &Policy::default());
    assert!(matches!(&plan.action, Action::Refuse { reason, .. } if reason.contains("Nope")));

    let other_employee = row(&["username", "employeeNumber"], &["ana", "E9"]);
    let plan = decide(&other_employee, current, &catalog(), &Policy::default());
    assert!(matches!(&plan.action, Action::Refuse { reason, .. } if reason.contains("E1")));

    let create_only = Policy {
        mode: Mode::Create,
        ..Default::default()
    };
    let plan = decide(
        &row(&["username"], &["ana"]),
        current,
        &catalog(),
        &create_only,
    );
    assert!(matches!(plan.action, Action::Skip { .. }));

    let update_only = Policy {
        mode: Mode::Update,
        ..Default::default()
    };
    let plan = decide(
        &row(&["username"], &["zed"]),
        Current::default(),
        &catalog(),
        &update_only,
    );
    assert!(matches!(plan.action, Action::Refuse { .. }));
}
