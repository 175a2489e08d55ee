//! Entry points for the fuzz targets under `fuzz/` and for the property
//! tests: each runs sebulk's own parsing on arbitrary bytes and panics
//! only when one of its promises breaks, never on bad input.
//!
//! Compiled only with the `fuzzing` feature (and in tests); not an API.

use std::io::Cursor;
use std::sync::Arc;

use crate::api::paging::decode_lenient;
use crate::api::wire::parse_list;
use crate::decision::decide::{Action, Current, Policy, decide};
use crate::decision::{Catalog, index::codec};
use crate::input::columns::map_header;
use crate::input::validate::Validator;
use crate::input::{CsvSource, ReadOptions, RowInput, Rules, Vocabulary};
use crate::model::{Application, Group, User};
use crate::sandbox::UnknownFields;
use crate::sandbox::validate::user_body;

/// Bytes → decoded records → mapped header → validated rows: any row
/// `--strict --mode create` validation accepts becomes a create body the strict sandbox
/// accepts.
pub fn input_rows(bytes: &[u8]) {
    let raw = Box::new(Cursor::new(bytes.to_vec()));
    let Ok(mut source) = CsvSource::from_reader(raw, "fuzz.csv".into(), &ReadOptions::default())
    else {
        return;
    };
    let (header, issues) = map_header(source.header(), &Default::default());
    if issues.iter().any(|i| i.is_error) {
        return;
    }
    // As `--mode create` checks rows: every one must be creatable (an
    // upsert's row may leave out what only a new user needs).
    let rules = Rules {
        mode: crate::input::Mode::Create,
        ..Rules::default()
    };
    let mut validator = Validator::new(header, rules, strict_vocabulary());
    while let Some(record) = source.next_record() {
        let Ok(record) = record else {
            // A file-level error stops the file: nothing after it is read.
            return;
        };
        let (row, problems) = validator.check(&record);
        if problems.iter().all(|p| !p.is_error())
            && let Err(message) = create_body_is_accepted(&row)
        {
            panic!("row {} passed validation but {message}", record.row);
        }
    }
}

/// The vocabulary of `--strict`, built once: guessed rules (lengths, user
/// types) are errors, as the strict sandbox enforces them. Without
/// `--strict` they are warnings by design, and a row over a guessed
/// limit is left for the tenant to judge.
fn strict_vocabulary() -> Arc<Vocabulary> {
    static STRICT: std::sync::OnceLock<Arc<Vocabulary>> = std::sync::OnceLock::new();
    STRICT
        .get_or_init(|| {
            Arc::new(Vocabulary {
                strict: true,
                ..Vocabulary::default()
            })
        })
        .clone()
}

/// The body a create of `row` would send, checked by the strict sandbox.
pub fn create_body_is_accepted(row: &RowInput) -> Result<(), String> {
    let mut row = row.clone();
    // Groups and applications resolve against a tenant; not the point here.
    row.groups = None;
    row.applications = None;
    let plan = decide(
        &row,
        Current::default(),
        &Catalog::default(),
        &Policy::default(),
    );
    let body = match plan.action {
        Action::Create(body) => body,
        // A name with a '?' for a lost letter is refused by decision, not
        // by validation (an update keeps the tenant's value instead).
        Action::Refuse {
            kind: crate::decision::Refusal::LostLetters,
            ..
        } => return Ok(()),
        other => return Err(format!("was not planned as a create: {other:?}")),
    };
    let json = serde_json::to_value(&body).map_err(|e| format!("did not serialise: {e}"))?;
    user_body(&json, UnknownFields::Refuse)
        .map(|_| ())
        .map_err(|rejection| format!("the sandbox refused its body {json}: {rejection:?}"))
}

/// A list response: taken apart whatever its shape, every record read
/// leniently, and every user that was read survives the tenant index's
/// compact encoding exactly.
pub fn list_response(bytes: &[u8]) {
    let Ok(page) = parse_list(bytes) else {
        return;
    };
    for item in page.items {
        let _ = decode_lenient::<Group>(item.clone());
        let _ = decode_lenient::<Application>(item.clone());
        if let Ok((user, _)) = decode_lenient::<User>(item) {
            let encoded = codec::encode(&user);
            let decoded = codec::decode(&encoded);
            assert_eq!(decoded.as_ref(), Some(&user), "the index changed a user");
        }
    }
    let _ = codec::decode(bytes);
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    const HEADER: [&str; 13] = [
        "username",
        "email",
        "firstName",
        "lastName",
        "department",
        "jobTitle",
        "mobile",
        "country",
        "employeeNumber",
        "userType",
        "isEnabled",
        "aliases",
        "custom.costCentre",
    ];

    /// A cell: usually plausible, sometimes anything at all.
    fn cell(plausible: &'static str) -> impl Strategy<Value = String> {
        prop_oneof![
            4 => proptest::string::string_regex(plausible).expect("a valid pattern"),
            1 => any::<String>(),
            1 => Just(String::new()),
        ]
    }

    fn row() -> impl Strategy<Value = Vec<String>> {
        [
            "[a-zA-Z0-9][a-zA-Z0-9._@-]{0,30}",
            "[a-z0-9._%+-]{1,12}@[a-z0-9-]{1,12}\\.[a-z]{2,6}",
            "\\PC{1,40}",
            "[=+@-]?\\PC{1,40}",
            "\\PC{1,60}",
            "[\\PC&&[^;]]{1,60}",
            "\\+?[0-9 ()-]{3,20}",
            "(GB|DE|Germany|SGP|United Kingdom|Côte d'Ivoire|FR)",
            "[A-Z0-9-]{1,12}",
            "(Internal|External|Customer|Partner)",
            "(true|false|yes|no|1|0|TRUE)",
            "([a-z]{1,8}@[a-z]{1,8}\\.com;?){0,3}",
            "[A-Z]{2}-[0-9]{3}",
        ]
        .map(|pattern| cell(pattern).boxed())
        .to_vec()
    }

    fn csv_bytes(rows: &[Vec<String>]) -> Vec<u8> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(HEADER).expect("in memory");
        for row in rows {
            writer.write_record(row).expect("in memory");
        }
        writer.into_inner().expect("in memory")
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Whatever validation lets through, the strict sandbox takes.
        #[test]
        fn validated_rows_become_bodies_the_sandbox_accepts(rows in prop::collection::vec(row(), 1..6)) {
            input_rows(&csv_bytes(&rows));
        }

        /// Arbitrary bytes never panic the reader or the list parser.
        #[test]
        fn arbitrary_bytes_are_refused_not_crashed_on(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
            input_rows(&bytes);
            list_response(&bytes);
        }
    }

    #[test]
    fn the_property_has_teeth() {
        // A row validation passes: it must reach the sandbox check.
        let bytes = csv_bytes(&[vec![
            "ana".into(),
            "ana@northwind.example".into(),
            "Ana".into(),
            "=Lee".into(),
            "Ops".into(),
            String::new(),
            "+44 20 7946 0000".into(),
            "GB".into(),
            String::new(),
            String::new(),
            "true".into(),
            "a@b.com;c@d.com".into(),
            "CC-100".into(),
        ]]);
        input_rows(&bytes);
        let raw = Box::new(Cursor::new(bytes));
        let mut source =
            CsvSource::from_reader(raw, "t.csv".into(), &ReadOptions::default()).unwrap();
        let (header, _) = map_header(source.header(), &Default::default());
        // As `--mode create` checks rows: every one must be creatable (an
        // upsert's row may leave out what only a new user needs).
        let rules = Rules {
            mode: crate::input::Mode::Create,
            ..Rules::default()
        };
        let mut validator = Validator::new(header, rules, strict_vocabulary());
        let record = source.next_record().unwrap().unwrap();
        let (row, problems) = validator.check(&record);
        assert!(problems.iter().all(|p| !p.is_error()), "{problems:?}");
        assert_eq!(create_body_is_accepted(&row), Ok(()));
        // And a body the sandbox would refuse is caught.
        let mut bad = row.clone();
        bad.set.email = Some(" spaced@x.com ".into());
        assert!(create_body_is_accepted(&bad).is_err());
        list_response(br#"{"users":[{"id":"1","username":"ana","customAttributes":[{"name":"a","value":"b"}]}],"total":1}"#);
        // Found by the list_response fuzz target: a long number in a field
        // kept raw changed by one unit in the last place on the way back.
        list_response(b"[{\"i\":20444444555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555555e2}]");
    }
}
