//! The mapping file as written (TOML): `[options]`, `[fields]` and
//! `[[filter]]`. See docs/mapping.md for the format with examples.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::MappingError;
use super::filter::FilterSpec;

/// A whole mapping file.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MappingFile {
    /// What the mapping is for, shown by `mapping show`.
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub options: MappingOptions,
    /// Target field (`username`, `custom.Cost Centre`, `groups`) → its source.
    #[serde(default)]
    pub fields: BTreeMap<String, FieldSpec>,
    /// Every filter must keep a row for it to be imported.
    #[serde(default)]
    pub filter: Vec<FilterSpec>,
}

/// The feed's import options; the command line wins over each.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct MappingOptions {
    pub encoding: Option<String>,
    /// `,` `;` `|` or `tab`.
    pub delimiter: Option<String>,
    /// The line (CSV) or row (spreadsheet) holding the header, from 1.
    pub header_row: Option<u32>,
    pub sheet: Option<String>,
    /// `username`, `email` or `employeeNumber`.
    pub match_by: Option<String>,
    /// `upsert`, `create` or `update`.
    pub mode: Option<String>,
    /// `email` or `local-part`.
    pub username_from: Option<String>,
    #[serde(default)]
    pub ignore_columns: Vec<String>,
    pub ignore_unknown_columns: Option<bool>,
    /// Columns the mapping does not name still feed the fields their
    /// names match (default true).
    pub auto: Option<bool>,
    pub strict: Option<bool>,
    pub auto_password: Option<bool>,
    pub send_email: Option<bool>,
    pub must_change_password: Option<bool>,
    pub sync_groups: Option<bool>,
    pub sync_applications: Option<bool>,
    pub create_missing_groups: Option<bool>,
    /// How slashed dates read: `dmy` (03/01/2027 is 3 January) or `mdy`.
    pub date_order: Option<String>,
}

/// Where a field's value comes from.
#[derive(Debug, Clone, Deserialize)]
#[serde(try_from = "toml::Value")]
pub enum FieldSpec {
    /// A column.
    Column(String),
    /// The first of these columns the file has.
    Columns(Vec<String>),
    /// Everything else.
    Full(Box<FieldTable>),
}

/// A field's source with its transforms.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct FieldTable {
    /// A column, or the first of several the file has.
    pub column: Option<OneOrMany>,
    /// `{First Name|lower}.{Last Name|lower}`.
    pub template: Option<String>,
    /// The same value for every row.
    pub value: Option<String>,
    /// Transforms after the value map, in order.
    #[serde(default)]
    pub transform: OneOrMany,
    /// Source value → value (any case): `FT = "Full-time"`.
    #[serde(default)]
    pub map: BTreeMap<String, String>,
    /// A value the map does not list: `keep` (default), `empty` or `error`.
    pub unmapped: Option<String>,
    /// The value when the result is empty.
    pub default: Option<String>,
    /// The column may be missing from the file without a warning.
    #[serde(default)]
    pub optional: bool,
}

/// One string or a list of them.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl Default for OneOrMany {
    fn default() -> Self {
        OneOrMany::Many(Vec::new())
    }
}

impl OneOrMany {
    pub fn items(&self) -> Vec<String> {
        match self {
            OneOrMany::One(item) => vec![item.clone()],
            OneOrMany::Many(items) => items.clone(),
        }
    }
}

impl TryFrom<toml::Value> for FieldSpec {
    type Error = String;

    /// Read by hand so a mistake is named (`unknown field colum`), not
    /// "matched no variant".
    fn try_from(value: toml::Value) -> Result<Self, String> {
        match value {
            toml::Value::String(column) => Ok(FieldSpec::Column(column)),
            toml::Value::Array(items) => items
                .into_iter()
                .map(|item| match item {
                    toml::Value::String(column) => Ok(column),
                    other => Err(format!(
                        "a list of columns holds {other}, not a column name"
                    )),
                })
                .collect::<Result<_, _>>()
                .map(FieldSpec::Columns),
            toml::Value::Table(table) => FieldTable::deserialize(table)
                .map(|t| FieldSpec::Full(Box::new(t)))
                .map_err(|e| e.to_string()),
            other => Err(format!(
                "a field is a column name, a list of them, or a table, not {other}"
            )),
        }
    }
}

impl FieldSpec {
    /// The spec as a table.
    pub fn table(&self) -> FieldTable {
        match self {
            FieldSpec::Column(column) => FieldTable {
                column: Some(OneOrMany::One(column.clone())),
                ..FieldTable::default()
            },
            FieldSpec::Columns(columns) => FieldTable {
                column: Some(OneOrMany::Many(columns.clone())),
                ..FieldTable::default()
            },
            FieldSpec::Full(table) => (**table).clone(),
        }
    }
}

impl MappingFile {
    /// Reads a mapping from TOML; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<MappingFile, MappingError> {
        toml::from_str(text).map_err(|err| MappingError::Parse {
            origin: origin.to_string(),
            message: crate::formats::toml_error(text, &err),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_form_of_field_reads() {
        let file = MappingFile::parse(
            r#"
            description = "test"
            [options]
            match_by = "employeeNumber"
            header_row = 3
            [fields]
            firstName = "Given name"
            lastName = ["Surname", "Last name"]
            username = { template = "{Given name|lower}.{Surname|lower}", transform = "ascii" }
            employmentType = { column = "Type", map = { FT = "Full-time" }, unmapped = "error" }
            "custom.Cost Centre" = { value = "CC-1" }
            [[filter]]
            column = "Status"
            in = ["Active"]
            "#,
            "test.toml",
        )
        .unwrap();
        assert_eq!(file.options.header_row, Some(3));
        assert_eq!(file.fields.len(), 5);
        assert_eq!(
            file.fields["lastName"]
                .table()
                .column
                .unwrap()
                .items()
                .len(),
            2
        );
        assert_eq!(file.fields["username"].table().transform.items(), ["ascii"]);
        assert_eq!(file.filter[0].column, "Status");
        let typo = MappingFile::parse("[fields]\nusername = { colum = \"x\" }", "t.toml");
        assert!(typo.is_err(), "unknown keys are refused");
    }
}
