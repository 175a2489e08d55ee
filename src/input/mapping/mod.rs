//! Column mapping: what HR or the old directory produced, turned into
//! sebulk's import columns before any row is checked.
//!
//! A mapping (a TOML file, or a built-in preset) says per field which
//! column feeds it, or a constant, or a template over other columns, with
//! transforms, a value map and a default; filters say which rows are
//! people to import. Columns it does not name still feed the fields their
//! names match, unless `auto = false`. The mapped record is what the
//! validator, the plan and the results see, so what the mapping did is
//! always visible before anything is written.

pub mod file;
pub mod filter;
pub mod init;
pub mod presets;
pub mod template;

use std::collections::HashMap;

use self::file::{FieldTable, MappingFile};
use self::filter::Filter;
use self::template::{Template, Transform, apply_all};
use super::columns::{Column, HeaderIssue, canonical_column, column_for, display_name, normalize};

/// Why a mapping cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    #[error("{origin}: {message}")]
    Parse { origin: String, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error("cannot read the mapping {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("there is no preset '{0}' (presets: {presets})", presets = presets::NAMES.join(", "))]
    NoPreset(String),
}

/// A mapping, read and checked, not yet bound to a file's header.
#[derive(Debug, Clone)]
pub struct Mapping {
    /// Where it came from (`preset entra`, a path), for messages.
    pub origin: String,
    pub file: MappingFile,
    /// Days since 1970-01-01 that `today` in filters means.
    pub today: i64,
    /// How the run reads slashed dates: the mapping's `date_order` option
    /// until the run resolves it (the command line wins); a filter's own
    /// `date_order` wins over it.
    pub date_order: Option<filter::DateOrder>,
}

impl Mapping {
    /// Reads and checks a mapping; `origin` names it in messages.
    pub fn parse(text: &str, origin: &str) -> Result<Mapping, MappingError> {
        let file = MappingFile::parse(text, origin)?;
        let date_order = file
            .options
            .date_order
            .as_deref()
            .map(str::parse)
            .transpose()
            .map_err(|why: String| MappingError::Invalid(format!("{origin}: [options] {why}")))?;
        let mapping = Mapping {
            origin: origin.to_string(),
            file,
            today: filter::today(),
            date_order,
        };
        mapping.check()?;
        Ok(mapping)
    }

    /// Reads a mapping file.
    pub fn read(path: &std::path::Path) -> Result<Mapping, MappingError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| MappingError::Read {
            path: shown.clone(),
            source,
        })?;
        Mapping::parse(&text, &shown)
    }

    /// A built-in preset.
    pub fn preset(name: &str) -> Result<Mapping, MappingError> {
        let text = presets::text(name).ok_or_else(|| MappingError::NoPreset(name.to_string()))?;
        Mapping::parse(text, &format!("preset {name}"))
    }

    /// Everything that can be checked without a file: field names,
    /// transforms, templates, value-map policies, filters.
    fn check(&self) -> Result<(), MappingError> {
        let bad = |message: String| MappingError::Invalid(format!("{}: {message}", self.origin));
        for (name, spec) in &self.file.fields {
            match canonical_column(name) {
                Some(Column::Extra) | None => {
                    return Err(bad(format!(
                        "[fields] '{name}' is not a field sebulk imports (see docs/csv-format.md; custom attributes are 'custom.NAME')"
                    )));
                }
                Some(Column::UserId) => {
                    return Err(bad(
                        "[fields] user_id comes from the tenant, not a mapping".into()
                    ));
                }
                Some(_) => {}
            }
            let table = spec.table();
            compile_value(name, &table).map_err(|e| bad(e.to_string()))?;
        }
        for spec in &self.file.filter {
            Filter::compile(spec, self.today, self.date_order).map_err(|e| bad(e.to_string()))?;
        }
        Ok(())
    }

    /// Binds the mapping to a file's header.
    pub fn bind(&self, header: &[String]) -> Result<(Mapper, Vec<HeaderIssue>), MappingError> {
        Mapper::new(self, header)
    }

    /// Whether the mapping makes `username` itself (a template or a
    /// constant) rather than reading it from a column: a username meant
    /// for new users, never a rename of a user matched by another key.
    pub fn derives_username(&self) -> bool {
        self.file.fields.iter().any(|(name, spec)| {
            column_for(name) == Some(Column::Text(crate::model::Field::Username))
                && matches!(spec, file::FieldSpec::Full(table)
                    if table.template.is_some() || table.value.is_some())
        })
    }
}

/// How a field's value is made, before it is bound to a header.
#[derive(Debug, Clone)]
struct ValueSpec {
    source: SourceSpec,
    map: Vec<(String, String)>,
    unmapped: Unmapped,
    transforms: Vec<Transform>,
    default: Option<String>,
    optional: bool,
}

#[derive(Debug, Clone)]
enum SourceSpec {
    Columns(Vec<String>),
    Template(Template),
    Constant(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Unmapped {
    Keep,
    Empty,
    Error,
}

fn compile_value(name: &str, table: &FieldTable) -> Result<ValueSpec, MappingError> {
    let bad = |why: &str| MappingError::Invalid(format!("[fields] {name}: {why}"));
    let sources = [
        table.column.is_some(),
        table.template.is_some(),
        table.value.is_some(),
    ];
    let source = match sources {
        [true, false, false] => {
            let columns = table.column.as_ref().map(|c| c.items()).unwrap_or_default();
            if columns.is_empty() {
                return Err(bad("column names no column"));
            }
            SourceSpec::Columns(columns)
        }
        [false, true, false] => {
            SourceSpec::Template(Template::parse(table.template.as_deref().unwrap_or(""))?)
        }
        [false, false, true] => SourceSpec::Constant(table.value.clone().unwrap_or_default()),
        [false, false, false] if table.default.is_some() => SourceSpec::Constant(String::new()),
        _ => return Err(bad("give exactly one of column, template or value")),
    };
    let unmapped = match table.unmapped.as_deref() {
        None | Some("keep") => Unmapped::Keep,
        Some("empty") => Unmapped::Empty,
        Some("error") => Unmapped::Error,
        Some(other) => {
            return Err(bad(&format!(
                "unmapped is keep, empty or error, not '{other}'"
            )));
        }
    };
    Ok(ValueSpec {
        source,
        map: table
            .map
            .iter()
            .map(|(from, to)| (from.trim().to_lowercase(), to.clone()))
            .collect(),
        unmapped,
        transforms: table
            .transform
            .items()
            .iter()
            .map(|t| Transform::parse(t))
            .collect::<Result<_, _>>()?,
        default: table.default.clone(),
        optional: table.optional,
    })
}

/// Where a template placeholder or a filter reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Source(usize),
    Field(usize),
    /// An optional placeholder (`{Name?}`) naming a column this file lacks.
    Missing,
}

/// One mapped field, bound to the header.
#[derive(Debug, Clone)]
struct Bound {
    name: String,
    spec: ValueSpec,
    /// The columns read (for `column`: the first with a value wins), or
    /// the slots a template reads.
    columns: Vec<usize>,
    slots: Vec<Slot>,
    /// The column a `column` source wanted is not in the file.
    missing: bool,
}

/// A mapping bound to one file's header: turns its records into mapped
/// records.
#[derive(Debug, Clone)]
pub struct Mapper {
    fields: Vec<Bound>,
    /// The order fields are computed in (templates after what they use).
    order: Vec<usize>,
    /// Source columns passed through as they are, by index.
    passed: Vec<usize>,
    filters: Vec<(Slot, Filter)>,
    header: Vec<String>,
    described: Vec<String>,
    /// The file's own header, to name a column in messages.
    source: Vec<String>,
}

/// A record after mapping.
#[derive(Debug, Clone, Default)]
pub struct Mapped {
    pub cells: Vec<String>,
    /// Why the filters leave the row out.
    pub filtered: Option<String>,
    /// (column, value, message) of values the mapping could not use.
    pub problems: Vec<(String, String, String)>,
    /// Fields a template left empty because what it is made from is
    /// empty on this row: (field, what was empty).
    pub empty_sources: Vec<(String, String)>,
}

/// A source cell as the mapping reads it: trimmed, a neutralised formula
/// given back, empty when the record is short.
fn source_cell(cells: &[String], column: usize) -> &str {
    cells
        .get(column)
        .map(|c| crate::formats::unneutralize(c.trim()))
        .unwrap_or("")
}

/// `value` through the field's value map (matched without case); one the
/// map lacks is kept, emptied, or emptied with a problem, as the mapping says.
fn through_value_map(
    field: &Bound,
    mut value: String,
    problems: &mut Vec<(String, String, String)>,
) -> String {
    if field.spec.map.is_empty() || value.is_empty() {
        return value;
    }
    let key = value.to_lowercase();
    match field.spec.map.iter().find(|(from, _)| *from == key) {
        Some((_, to)) => value = to.clone(),
        None => match field.spec.unmapped {
            Unmapped::Keep => {}
            Unmapped::Empty => value.clear(),
            Unmapped::Error => {
                problems.push((
                    field.name.clone(),
                    super::cells::shorten(&value).into_owned(),
                    format!(
                        "'{}' is not in the mapping's value map for {}",
                        super::cells::shorten(&value),
                        field.name
                    ),
                ));
                value.clear();
            }
        },
    }
    value
}

/// Binds a mapping to one file's header: which column or field feeds
/// what, and the header's problems found on the way.
struct Binder<'a> {
    mapping: &'a Mapping,
    source: &'a [String],
    /// Normalised column name → its first position.
    by_name: HashMap<String, usize>,
    issues: Vec<HeaderIssue>,
}

/// The field the mapping defines under `name` (or its canonical spelling).
fn field_index(name: &str, fields: &[Bound]) -> Option<usize> {
    let wanted = column_for(name).map(|c| display_name(&c));
    fields
        .iter()
        .position(|f| Some(&f.name) == wanted.as_ref() || normalize(&f.name) == normalize(name))
}

/// The source column a slot reads, if it reads one.
fn source_column(slot: &Slot) -> Option<usize> {
    match slot {
        Slot::Source(column) => Some(*column),
        Slot::Field(_) | Slot::Missing => None,
    }
}

impl<'a> Binder<'a> {
    fn new(mapping: &'a Mapping, source: &'a [String]) -> Self {
        let by_name = source
            .iter()
            .enumerate()
            .rev()
            .map(|(i, name)| (normalize(name), i))
            .collect();
        Binder {
            mapping,
            source,
            by_name,
            issues: Vec::new(),
        }
    }

    fn bad(&self, message: impl std::fmt::Display) -> MappingError {
        MappingError::Invalid(format!("{}: {message}", self.mapping.origin))
    }

    fn find(&self, name: &str) -> Option<usize> {
        self.by_name.get(&normalize(name)).copied()
    }

    fn warn(&mut self, column: String, message: String) {
        self.issues.push(HeaderIssue {
            column,
            message,
            is_error: false,
        });
    }

    /// The mapping's fields, compiled, under their canonical names.
    fn fields(&self) -> Result<Vec<Bound>, MappingError> {
        let mut fields = Vec::new();
        for (name, spec) in &self.mapping.file.fields {
            let spec = compile_value(name, &spec.table()).map_err(|e| self.bad(e))?;
            let canonical = column_for(name)
                .map(|c| display_name(&c))
                .unwrap_or(name.clone());
            fields.push(Bound {
                name: canonical,
                spec,
                columns: Vec::new(),
                slots: Vec::new(),
                missing: false,
            });
        }
        Ok(fields)
    }

    /// Finds each field's columns, or its template's slots.
    fn sources(&mut self, fields: &mut [Bound]) -> Result<(), MappingError> {
        for i in 0..fields.len() {
            match fields[i].spec.source.clone() {
                SourceSpec::Columns(candidates) => {
                    let mut columns: Vec<usize> = Vec::new();
                    for column in candidates.iter().filter_map(|c| self.find(c)) {
                        if !columns.contains(&column) {
                            columns.push(column);
                        }
                    }
                    fields[i].missing = columns.is_empty();
                    fields[i].columns = columns;
                    if fields[i].missing && !fields[i].spec.optional {
                        let message = format!(
                            "the mapping feeds {} from '{}', which this file does not have",
                            fields[i].name,
                            candidates.join("' or '")
                        );
                        self.warn(candidates.join(" / "), message);
                    }
                }
                SourceSpec::Template(template) => {
                    fields[i].slots = self.slots(&template, i, fields)?;
                }
                SourceSpec::Constant(_) => {}
            }
        }
        Ok(())
    }

    /// What each slot of field `i`'s template reads: a field the mapping
    /// defines wins over a column of that name.
    fn slots(
        &self,
        template: &template::Template,
        i: usize,
        fields: &[Bound],
    ) -> Result<Vec<Slot>, MappingError> {
        let mut slots = Vec::new();
        for piece in &template.pieces {
            let template::Piece::Slot { name, optional, .. } = piece else {
                continue;
            };
            let slot = match field_index(name, fields) {
                Some(j) if j != i => Slot::Field(j),
                _ => match self.find(name) {
                    Some(column) => Slot::Source(column),
                    None if *optional => Slot::Missing,
                    None => {
                        return Err(self.bad(format!(
                            "the template of {} uses {{{name}}}, which is neither a column of this file nor a field the mapping makes",
                            fields[i].name
                        )));
                    }
                },
            };
            slots.push(slot);
        }
        Ok(slots)
    }

    /// The filters, each on a column of the file or a field the mapping makes.
    fn filters(&mut self, fields: &[Bound]) -> Result<Vec<(Slot, Filter)>, MappingError> {
        let mut filters = Vec::new();
        for spec in &self.mapping.file.filter {
            let filter = Filter::compile(spec, self.mapping.today, self.mapping.date_order)
                .map_err(|e| self.bad(e))?;
            let slot = match (field_index(&spec.column, fields), self.find(&spec.column)) {
                (_, Some(column)) => Slot::Source(column),
                (Some(field), None) => Slot::Field(field),
                (None, None) if spec.optional => {
                    let message = format!(
                        "the mapping's filter on '{}' is skipped: this file has no such column",
                        spec.column
                    );
                    self.warn(spec.column.clone(), message);
                    continue;
                }
                (None, None) => {
                    return Err(self.bad(format!(
                        "a filter tests '{}', which this file does not have",
                        spec.column
                    )));
                }
            };
            filters.push((slot, filter));
        }
        Ok(filters)
    }

    /// Columns the mapping does not name feed what their names match,
    /// unless the mapping gives that field itself.
    fn passed(&self, fields: &[Bound], filters: &[(Slot, Filter)]) -> Vec<usize> {
        if !self.mapping.file.options.auto.unwrap_or(true) {
            return Vec::new();
        }
        let mapped: Vec<Option<Column>> = fields.iter().map(|f| column_for(&f.name)).collect();
        let mut used: Vec<usize> = fields
            .iter()
            .flat_map(|f| {
                f.columns
                    .iter()
                    .copied()
                    .chain(f.slots.iter().filter_map(source_column))
            })
            .collect();
        used.extend(filters.iter().filter_map(|(slot, _)| source_column(slot)));
        let mut passed = Vec::new();
        for (index, name) in self.source.iter().enumerate() {
            let target = column_for(name);
            let shadowed = target.is_some() && mapped.contains(&target);
            // A column the mapping read, and which feeds nothing by its
            // own name, has done its work: no "unknown column" warning.
            let spent = target.is_none() && used.contains(&index);
            if !shadowed && !spent {
                passed.push(index);
            }
        }
        passed
    }
}

impl Mapper {
    fn new(
        mapping: &Mapping,
        source: &[String],
    ) -> Result<(Mapper, Vec<HeaderIssue>), MappingError> {
        let mut binder = Binder::new(mapping, source);
        let mut fields = binder.fields()?;
        binder.sources(&mut fields)?;
        let order = evaluation_order(&fields).map_err(|e| binder.bad(e))?;
        let filters = binder.filters(&fields)?;
        let passed = binder.passed(&fields, &filters);
        let mut header: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
        header.extend(passed.iter().map(|i| source[*i].clone()));
        let mut described = vec![format!("mapping: {}", mapping.origin)];
        described.extend(describe(&fields, source));
        if !mapping.file.options.auto.unwrap_or(true) {
            described.push("(other columns are not read: auto = false)".to_string());
        }
        for (_, filter) in &filters {
            described.push(format!("rows kept only where {}", filter.describe()));
        }
        Ok((
            Mapper {
                fields,
                order,
                passed,
                filters,
                header,
                described,
                source: source.to_vec(),
            },
            binder.issues,
        ))
    }

    /// The mapped header: the mapping's fields, then the columns passed through.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// The source columns whose values reach a mapped field that `secret`
    /// says is one (a password), directly or through other fields: what
    /// a results file repeating the file's own cells must mask.
    pub fn secret_sources(&self, secret: impl Fn(&str) -> bool) -> Vec<usize> {
        let mut sources = Vec::new();
        let mut stack: Vec<usize> = (0..self.fields.len())
            .filter(|i| secret(&self.fields[*i].name))
            .collect();
        let mut seen = std::collections::HashSet::new();
        while let Some(i) = stack.pop() {
            if !seen.insert(i) {
                continue;
            }
            let field = &self.fields[i];
            sources.extend(field.columns.iter().copied());
            for slot in &field.slots {
                match slot {
                    Slot::Source(column) => sources.push(*column),
                    Slot::Field(j) => stack.push(*j),
                    Slot::Missing => {}
                }
            }
        }
        sources
    }

    /// What feeds each mapped field, one line each, for the screen.
    pub fn describe(&self) -> &[String] {
        &self.described
    }

    /// Maps one record.
    pub fn apply(&self, cells: &[String]) -> Mapped {
        let source = |i: usize| source_cell(cells, i);
        let mut values: Vec<String> = vec![String::new(); self.fields.len()];
        let mut problems = Vec::new();
        let mut empty_sources = Vec::new();
        for &i in &self.order {
            let field = &self.fields[i];
            let raw = match &field.spec.source {
                SourceSpec::Columns(_) => field
                    .columns
                    .iter()
                    .map(|c| source(*c))
                    .find(|v| !v.is_empty())
                    .unwrap_or("")
                    .to_string(),
                SourceSpec::Constant(value) => value.clone(),
                SourceSpec::Template(template) => {
                    let filled: Vec<String> = field
                        .slots
                        .iter()
                        .map(|slot| match slot {
                            Slot::Source(column) => source(*column).to_string(),
                            Slot::Field(j) => values[*j].clone(),
                            Slot::Missing => String::new(),
                        })
                        .collect();
                    let rendered = template.render(|n| filled[n].clone());
                    if rendered.is_empty()
                        && let Some(n) = template.empty_slot(|n| filled[n].clone())
                    {
                        empty_sources.push((field.name.clone(), self.slot_origin(&field.slots[n])));
                    }
                    rendered
                }
            };
            let value = through_value_map(field, raw.trim().to_string(), &mut problems);
            let mut value = apply_all(value, &field.spec.transforms);
            if value.is_empty()
                && let Some(default) = &field.spec.default
            {
                value = default.clone();
            }
            values[i] = value;
        }
        let filtered = self.filtered_out(cells, &values, &mut problems);
        values.extend(
            self.passed
                .iter()
                .map(|i| cells.get(*i).cloned().unwrap_or_default()),
        );
        Mapped {
            cells: values,
            filtered,
            problems,
            empty_sources,
        }
    }

    /// Why the mapping's filters leave the row out (the first that does);
    /// a filter that cannot read its value adds a problem instead.
    fn filtered_out(
        &self,
        cells: &[String],
        values: &[String],
        problems: &mut Vec<(String, String, String)>,
    ) -> Option<String> {
        for (slot, filter) in &self.filters {
            let value = match slot {
                Slot::Source(column) => source_cell(cells, *column),
                Slot::Field(j) => values[*j].as_str(),
                Slot::Missing => "",
            };
            match filter.check(value) {
                Ok(None) => {}
                Ok(Some(reason)) => return Some(reason),
                Err(message) => problems.push((
                    filter.column.clone(),
                    super::cells::shorten(value).into_owned(),
                    message,
                )),
            }
        }
        None
    }

    /// What a template's slot reads, for a message: the column, or the
    /// field the mapping makes (and the column that field reads).
    fn slot_origin(&self, slot: &Slot) -> String {
        let column = |i: usize| self.source.get(i).cloned().unwrap_or_default();
        match slot {
            Slot::Source(i) => format!("column '{}'", column(*i)),
            Slot::Field(j) => {
                let field = &self.fields[*j];
                match field.columns.first() {
                    Some(i) => format!("{} (column '{}')", field.name, column(*i)),
                    None => field.name.clone(),
                }
            }
            Slot::Missing => "a column this file does not have".to_string(),
        }
    }
}

/// Fields in an order where each template comes after the fields it uses.
fn evaluation_order(fields: &[Bound]) -> Result<Vec<usize>, String> {
    let mut order = Vec::with_capacity(fields.len());
    let mut done = vec![false; fields.len()];
    while order.len() < fields.len() {
        let ready = (0..fields.len()).find(|&i| {
            !done[i]
                && fields[i].slots.iter().all(|slot| match slot {
                    Slot::Field(j) => done[*j],
                    Slot::Source(_) | Slot::Missing => true,
                })
        });
        match ready {
            Some(i) => {
                done[i] = true;
                order.push(i);
            }
            None => {
                let stuck: Vec<&str> = (0..fields.len())
                    .filter(|i| !done[*i])
                    .map(|i| fields[i].name.as_str())
                    .collect();
                return Err(format!(
                    "the templates of {} use each other in a circle",
                    stuck.join(", ")
                ));
            }
        }
    }
    Ok(order)
}

fn describe(fields: &[Bound], source: &[String]) -> Vec<String> {
    fields
        .iter()
        .map(|f| {
            let from = match &f.spec.source {
                SourceSpec::Columns(candidates) if f.columns.is_empty() => {
                    format!("column '{}' (not in this file)", candidates.join("' or '"))
                }
                SourceSpec::Columns(_) => {
                    let names: Vec<&str> = f.columns.iter().map(|c| source[*c].as_str()).collect();
                    format!("column '{}'", names.join("', else '"))
                }
                SourceSpec::Template(template) => {
                    let text: String = template
                        .pieces
                        .iter()
                        .map(template::Piece::written)
                        .collect();
                    format!("template '{text}'")
                }
                SourceSpec::Constant(value) => format!("'{value}' for every row"),
            };
            let mut extra = Vec::new();
            if !f.spec.map.is_empty() {
                extra.push(format!("{} mapped values", f.spec.map.len()));
            }
            if !f.spec.transforms.is_empty() {
                let names: Vec<&str> = f
                    .spec
                    .transforms
                    .iter()
                    .filter_map(|t| Transform::ALL.iter().find(|(_, k)| k == t).map(|(n, _)| *n))
                    .collect();
                extra.push(names.join(", "));
            }
            if let Some(default) = &f.spec.default {
                extra.push(format!("default '{default}'"));
            }
            let extra = if extra.is_empty() {
                String::new()
            } else {
                format!(" ({})", extra.join("; "))
            };
            format!("{} ← {from}{extra}", f.name)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    const MAPPING: &str = r#"
        [fields]
        username = { template = "{First Name|ascii|lower}.{Last Name|ascii|lower}" }
        email = { template = "{username}@example.com" }
        employmentType = { column = "Type", map = { FT = "Full-time", PT = "Part-time" }, unmapped = "error" }
        groups = { template = "All Staff;{Department?}" }
        userType = { value = "user" }
        jobTitle = { column = ["Job Title", "Title"], transform = "title", default = "Staff" }
        [[filter]]
        column = "Status"
        in = ["Active", "Pre-hire"]
        [[filter]]
        column = "Hire Date"
        on_or_before = "today+7"
    "#;

    fn mapper(header: &[&str]) -> (Mapper, Vec<HeaderIssue>) {
        let mut mapping = Mapping::parse(MAPPING, "test").unwrap();
        mapping.today = crate::model::dates::days_from_civil(2026, 11, 29);
        mapping.bind(&names(header)).unwrap()
    }

    #[test]
    fn templates_maps_defaults_and_filters() {
        let (mapper, issues) = mapper(&[
            "First Name",
            "Last Name",
            "Type",
            "Department",
            "Title",
            "Status",
            "Hire Date",
            "Email",
        ]);
        assert!(issues.is_empty(), "{issues:?}");
        assert_eq!(
            mapper.header(),
            names(&[
                "email",
                "employmentType",
                "groups",
                "jobTitle",
                "userType",
                "username",
                "First Name",
                "Last Name",
                "Department",
                "Hire Date",
            ]),
            "mapped fields first; columns the mapping replaces (Email, Title) or used up (Type, Status) are not passed on; Hire Date, which a filter read, still feeds startDate"
        );
        let row = names(&[
            "Zoë",
            "Ørsted",
            "FT",
            "Sales",
            "senior ANALYST",
            "Active",
            "2026-11-30",
            "old@x.com",
        ]);
        let mapped = mapper.apply(&row);
        assert_eq!(mapped.filtered, None);
        assert!(mapped.problems.is_empty());
        assert_eq!(
            &mapped.cells[..6],
            names(&[
                "zoe.orsted@example.com",
                "Full-time",
                "All Staff;Sales",
                "Senior Analyst",
                "user",
                "zoe.orsted"
            ])
        );

        let later = names(&["Ana", "Lima", "XX", "", "", "Active", "2027-01-10", ""]);
        let mapped = mapper.apply(&later);
        assert!(
            mapped.filtered.as_deref().unwrap().contains("Hire Date"),
            "{mapped:?}"
        );
        assert_eq!(mapped.problems.len(), 1, "XX is not in the value map");
        assert_eq!(
            mapped.cells[2], "All Staff;",
            "an optional placeholder may be empty"
        );
        assert_eq!(mapped.cells[3], "Staff", "the default fills an empty title");

        let gone = names(&["Bo", "Ng", "FT", "Ops", "x", "Terminated", "2020-01-01", ""]);
        assert!(mapper.apply(&gone).filtered.unwrap().contains("Terminated"));
    }

    #[test]
    fn mistakes_are_named() {
        let bad = |text: &str| Mapping::parse(text, "m.toml").unwrap_err().to_string();
        assert!(bad("[fields]\nsurname = \"Last\"").contains("not a field sebulk imports"));
        assert!(
            bad("[fields]\nusername = { column = \"a\", value = \"b\" }").contains("exactly one")
        );
        assert!(bad("[fields]\nusername = { template = \"{a|shout}\" }").contains("transform"));
        assert!(bad("[[filter]]\ncolumn = \"S\"").contains("tests nothing"));
        assert!(bad("[options]\ndate_order = \"ymd\"").contains("dmy or mdy"));
        let day_first = Mapping::parse("[options]\ndate_order = \"DMY\"", "m").unwrap();
        assert_eq!(day_first.date_order, Some(filter::DateOrder::Dmy));
        let mapping = Mapping::parse("[fields]\nusername = { template = \"{email}\" }\nemail = { template = \"{username}\" }", "m").unwrap();
        assert!(
            mapping
                .bind(&names(&["x"]))
                .unwrap_err()
                .to_string()
                .contains("circle")
        );
        let mapping =
            Mapping::parse("[fields]\nusername = { template = \"{Nope}\" }", "m").unwrap();
        assert!(
            mapping
                .bind(&names(&["x"]))
                .unwrap_err()
                .to_string()
                .contains("{Nope}")
        );
        let (_, issues) = mapper(&["First Name", "Last Name", "Status", "Hire Date"]);
        assert!(
            issues.iter().any(|i| i.message.contains("'Type'")),
            "{issues:?}"
        );
    }
}
