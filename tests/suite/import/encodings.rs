//! The files Excel and HR systems really write: every encoding and
//! delimiter, and spreadsheets with title rows, dates and numbers, each
//! imported into a sandbox with the expected users.

use std::path::Path;

use sebulk::Completion;

use crate::support::{against, config, read_csv, start};

const HEADER: [&str; 5] = ["username", "email", "firstName", "lastName", "department"];
const ROWS: [[&str; 5]; 2] = [
    [
        "zoe.muller",
        "zoe.muller@northwind.example",
        "Zoë",
        "Müller",
        "Forschung & Entwicklung",
    ],
    [
        "rene.lefevre",
        "rene.lefevre@northwind.example",
        "René",
        "Lefèvre",
        "Ventes",
    ],
];

fn text(delimiter: char, line_end: &str) -> String {
    let mut out = String::new();
    for line in std::iter::once(HEADER).chain(ROWS) {
        out.push_str(&line.join(&delimiter.to_string()));
        out.push_str(line_end);
    }
    out
}

fn utf16(text: &str, big_endian: bool, bom: bool) -> Vec<u8> {
    let mut bytes = Vec::new();
    let units = std::iter::once(0xFEFF)
        .filter(|_| bom)
        .chain(text.encode_utf16());
    for unit in units {
        bytes.extend(if big_endian {
            unit.to_be_bytes()
        } else {
            unit.to_le_bytes()
        });
    }
    bytes
}

/// Imports `bytes` saved as `name` into a fresh sandbox and checks the two people.
async fn imports(name: &str, bytes: &[u8], extra: &[&str]) {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join(name);
    std::fs::write(&input, bytes).unwrap();
    check(&sandbox, &input, extra, name).await;
}

async fn check(sandbox: &sebulk::sandbox::SandboxHandle, input: &Path, extra: &[&str], name: &str) {
    let results = input.with_extension("results.csv");
    let (input_text, results_text) = (input.display().to_string(), results.display().to_string());
    let mut args = vec![
        "import",
        "--auto-password",
        "--force",
        "--results",
        &results_text,
    ];
    args.extend_from_slice(extra);
    args.push(&input_text);
    let done = against(sandbox, &args).await;
    assert!(matches!(done, Ok(Completion::Clean)), "{name}: {done:?}");
    let lines = read_csv(&results);
    assert_eq!(lines.len(), 2, "{name}");
    let tenant = sandbox.tenant();
    for row in ROWS {
        let user = tenant
            .user_by_username(row[0])
            .unwrap_or_else(|_| panic!("{name}: {}", row[0]));
        assert_eq!(user.fields.first_name.as_deref(), Some(row[2]), "{name}");
        assert_eq!(user.fields.last_name.as_deref(), Some(row[3]), "{name}");
        assert_eq!(user.fields.department.as_deref(), Some(row[4]), "{name}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_encoding_excel_writes() {
    let plain = text(',', "\r\n");
    imports("utf8.csv", plain.as_bytes(), &[]).await;
    imports(
        "utf8-bom.csv",
        &[b"\xEF\xBB\xBF".as_slice(), plain.as_bytes()].concat(),
        &[],
    )
    .await;
    // Excel's "Unicode Text": UTF-16 LE with a byte-order mark, tab-delimited.
    imports("unicode.txt", &utf16(&text('\t', "\r\n"), false, true), &[]).await;
    imports("utf16be.csv", &utf16(&plain, true, true), &[]).await;
    imports("utf16-no-bom.csv", &utf16(&plain, false, false), &[]).await;
    // A European Excel CSV: Windows-1252, semicolons, found without --encoding.
    let european = text(';', "\r\n");
    let (cp1252, _, lossy) = encoding_rs::WINDOWS_1252.encode(&european);
    assert!(!lossy);
    imports("excel-de.csv", &cp1252, &[]).await;
    imports(
        "excel-de-told.csv",
        &cp1252,
        &["--encoding", "windows-1252"],
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_delimiter() {
    for (name, delimiter) in [
        ("comma", ','),
        ("semicolon", ';'),
        ("tab", '\t'),
        ("pipe", '|'),
    ] {
        imports(
            &format!("{name}.csv"),
            text(delimiter, "\n").as_bytes(),
            &[],
        )
        .await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_ragged_row_is_a_row_error_with_its_line() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("ragged.csv");
    std::fs::write(
        &input,
        format!("{}zoe.x,zoe.x@northwind.example,Zoë\n", text(',', "\n")),
    )
    .unwrap();
    let report = dir.path().join("report.csv");
    let done = against(
        &sandbox,
        &[
            "validate",
            "-o",
            report.to_str().unwrap(),
            input.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(done.ok(), Some(Completion::WithProblems));
    let problems = read_csv(&report);
    assert!(
        problems
            .iter()
            .any(|p| p["line"] == "4" && p["problem"].contains("3 cells")),
        "{problems:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_report_style_spreadsheet_with_dates_and_numbers() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.xlsx");
    let mut workbook = Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.write_string(0, 0, "Northwind: new starters").unwrap();
    sheet.write_string(1, 0, "Run on 2026-11-29 by HR").unwrap();
    let header = [
        "username",
        "email",
        "firstName",
        "lastName",
        "department",
        "Employee ID",
        "Start date",
    ];
    for (c, name) in header.iter().enumerate() {
        sheet.write_string(3, c as u16, *name).unwrap();
    }
    let date = Format::new().set_num_format("dd/mm/yyyy");
    for (r, row) in ROWS.iter().enumerate() {
        let r = 4 + r as u32;
        for (c, value) in row.iter().enumerate() {
            sheet.write_string(r, c as u16, *value).unwrap();
        }
        sheet.write_number(r, 5, 1001.0 + f64::from(r)).unwrap();
        let start = ExcelDateTime::from_ymd(2026, 12, 1).unwrap();
        sheet
            .write_datetime_with_format(r, 6, &start, &date)
            .unwrap();
    }
    workbook.save(&path).unwrap();

    let sandbox = start(config()).await;
    // The header is found below the title rows; the date column reads as ISO.
    let validated = crate::support::sebulk_in_process(&["validate", path.to_str().unwrap()]).await;
    assert_eq!(validated.ok(), Some(Completion::Clean));
    check(
        &sandbox,
        &path,
        &["--ignore-column", "Start date"],
        "report.xlsx",
    )
    .await;
    let tenant = sandbox.tenant();
    let zoe = tenant.user_by_username("zoe.muller").unwrap();
    assert_eq!(
        zoe.fields.employee_number.as_deref(),
        Some("1005"),
        "a whole number, no .0"
    );

    // A mapping filters on the spreadsheet's date, read as ISO.
    let mapping = dir.path().join("m.toml");
    std::fs::write(
        &mapping,
        "[[filter]]\ncolumn = \"Start date\"\non_or_after = \"2026-12-01\"\n[options]\nignore_columns = [\"Start date\"]\n",
    )
    .unwrap();
    let other = start(config()).await;
    check(
        &other,
        &path,
        &["--mapping", mapping.to_str().unwrap()],
        "report.xlsx mapped",
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_central_european_file_is_not_guessed_as_western_and_garbled_names_are_not_created() {
    let sandbox = start(config()).await;
    let dir = tempfile::tempdir().unwrap();
    let polish = "username,email,firstName,lastName,city\n\
                  anna.w,anna.w@northwind.example,Anna,Wiśniewska,Gdańsk\n";
    let (bytes, _, lossy) = encoding_rs::WINDOWS_1250.encode(polish);
    assert!(!lossy);
    let input = dir.path().join("kadry.csv");
    std::fs::write(&input, &bytes).unwrap();
    let i = input.display().to_string();
    let writes = sandbox.counters().writes;
    let refused = against(&sandbox, &["import", "--auto-password", &i])
        .await
        .expect_err("not guessed");
    let why = refused.to_string();
    assert!(why.contains("--encoding windows-1250"), "{why}");
    assert_eq!(sandbox.counters().writes, writes, "nothing written");
    let args = [
        "import",
        "--auto-password",
        "--force",
        "--encoding",
        "windows-1250",
        &i,
    ];
    assert_eq!(against(&sandbox, &args).await.unwrap(), Completion::Clean);
    let user = sandbox.tenant().user_by_username("anna.w").unwrap().clone();
    assert_eq!(user.fields.last_name.as_deref(), Some("Wiśniewska"));
    assert_eq!(user.fields.city.as_deref(), Some("Gdańsk"));

    // UTF-8 that went through Windows-1250 once already, letters only.
    let garbled = dir.path().join("garbled.csv");
    std::fs::write(
        &garbled,
        "username,email,firstName,lastName\nzoe.m,zoe.m@northwind.example,Zoe,MĂĽller\n",
    )
    .unwrap();
    let g = garbled.display().to_string();
    let results = dir.path().join("garbled.results.csv");
    let r = results.display().to_string();
    let args = ["import", "--auto-password", "-o", &r, &g];
    let done = against(&sandbox, &args).await.unwrap();
    assert_ne!(done, Completion::Clean);
    assert!(
        sandbox.tenant().user_by_username("zoe.m").is_err(),
        "not created"
    );
    let line = &read_csv(&results)[0];
    assert!(line["error"].contains("looks garbled"), "{line:?}");
}
