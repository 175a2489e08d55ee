//! The user fields of the reference, each declared once: the wire struct
//! [`UserFields`], the [`Field`] enum with each field's wire name and kind,
//! and typed access by field. Adding a field is one line in
//! [`user_fields!`]; every `match` on [`Field`] then tells the compiler
//! what else must know about it.

use serde::{Deserialize, Serialize};

/// One entry of a user's `customAttributes`. Name and value may come back
/// null from a tenant; they are kept as they came so a user read and
/// written back is unchanged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct CustomAttribute {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    /// The tenant's id for the attribute, when it has one.
    pub id: Option<String>,
    #[serde(default)]
    /// The attribute's name (null from some tenants).
    pub name: Option<String>,
    #[serde(default)]
    /// The attribute's value (null from some tenants).
    pub value: Option<String>,
}

impl CustomAttribute {
    /// An attribute set by sebulk: a name and a value.
    pub fn new(name: impl Into<String>, value: impl Into<String>) -> Self {
        CustomAttribute {
            id: None,
            name: Some(name.into()),
            value: Some(value.into()),
        }
    }

    /// The name, empty when the tenant gave none.
    pub fn name(&self) -> &str {
        self.name.as_deref().unwrap_or_default()
    }

    /// The value, empty when the tenant gave none.
    pub fn value(&self) -> &str {
        self.value.as_deref().unwrap_or_default()
    }
}

/// What kind of value a field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// Text.
    Text,
    /// True or false.
    Bool,
    /// A list of strings (`aliases`).
    List,
    /// `customAttributes`: named values.
    Attributes,
}

/// A field's value, borrowed, typed by its kind.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum FieldValue<'a> {
    /// A text field's value.
    Text(Option<&'a str>),
    /// A boolean field's value.
    Bool(Option<bool>),
    /// A list field's items.
    List(Option<&'a [String]>),
    /// The custom attributes.
    Attributes(Option<&'a [CustomAttribute]>),
}

impl FieldValue<'_> {
    /// The value as a cell shows it (empty when absent): lists `;`-joined,
    /// attributes as `name=value;…`.
    pub fn display(&self) -> String {
        match self {
            FieldValue::Text(text) => text.unwrap_or_default().to_string(),
            FieldValue::Bool(flag) => flag.map(|b| b.to_string()).unwrap_or_default(),
            FieldValue::List(items) => items.map(|items| items.join(";")).unwrap_or_default(),
            FieldValue::Attributes(attributes) => attributes
                .unwrap_or_default()
                .iter()
                .map(|a| format!("{}={}", a.name(), a.value()))
                .collect::<Vec<_>>()
                .join(";"),
        }
    }
}

impl FieldValue<'_> {
    /// Whether the two show as the same cell ([`FieldValue::display`]
    /// equal), told without building either where it can be: every field
    /// of every row of a run is compared.
    pub fn shows_as(&self, other: &FieldValue<'_>) -> bool {
        match (self, other) {
            (FieldValue::Text(a), FieldValue::Text(b)) => a.unwrap_or("") == b.unwrap_or(""),
            (FieldValue::Bool(a), FieldValue::Bool(b)) => a == b,
            (FieldValue::List(a), FieldValue::List(b))
                if a.unwrap_or_default() == b.unwrap_or_default() =>
            {
                true
            }
            (FieldValue::Attributes(a), FieldValue::Attributes(b))
                if a.unwrap_or_default().is_empty() && b.unwrap_or_default().is_empty() =>
            {
                true
            }
            _ => self.display() == other.display(),
        }
    }
}

impl FieldValue<'_> {
    /// The value exactly, for audit and undo (empty when absent): text as
    /// it is, lists and attributes as JSON, so no separator is ambiguous.
    pub fn exact(&self) -> String {
        match self {
            FieldValue::List(Some(items)) if !items.is_empty() => {
                serde_json::to_string(items).unwrap_or_default()
            }
            FieldValue::Attributes(Some(attributes)) if !attributes.is_empty() => {
                serde_json::to_string(attributes).unwrap_or_default()
            }
            FieldValue::List(_) | FieldValue::Attributes(_) => String::new(),
            _ => self.display(),
        }
    }
}

/// One field's change, with its exact old and new values
/// ([`FieldValue::exact`]); a password change never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FieldChange {
    /// The field's wire name (`password` for a password reset).
    pub field: String,
    /// The value before (empty when there was none).
    pub old: String,
    /// The value after.
    pub new: String,
}

/// How a password change is written: never the password.
pub const PASSWORD_SET: &str = "password set";

impl FieldChange {
    /// A password reset.
    pub fn password() -> Self {
        FieldChange {
            field: "password".to_string(),
            old: String::new(),
            new: String::new(),
        }
    }

    /// Changes as one cell: `field: "old" → "new"; …`, values as JSON
    /// strings so any text (quotes, `; `, line breaks) survives exactly; a
    /// password change is only `password set`.
    pub fn format(changes: &[FieldChange]) -> String {
        changes
            .iter()
            .map(|c| {
                if c.field == "password" {
                    PASSWORD_SET.to_string()
                } else {
                    format!("{}: {} → {}", c.field, quoted(&c.old), quoted(&c.new))
                }
            })
            .collect::<Vec<_>>()
            .join("; ")
    }

    /// Reads a cell written by [`FieldChange::format`]; `None` when it is not one.
    pub fn parse(cell: &str) -> Option<Vec<FieldChange>> {
        let mut changes = Vec::new();
        let mut rest = cell.trim();
        while !rest.is_empty() {
            if let Some(after) = rest.strip_prefix(PASSWORD_SET) {
                changes.push(FieldChange::password());
                rest = after;
            } else {
                let (field, after) = rest.split_once(": ")?;
                let (old, after) = json_string(after)?;
                let after = after.strip_prefix(" → ")?;
                let (new, after) = json_string(after)?;
                changes.push(FieldChange {
                    field: field.to_string(),
                    old,
                    new,
                });
                rest = after;
            }
            rest = match rest.strip_prefix("; ") {
                Some(next) => next,
                None if rest.is_empty() => rest,
                None => return None,
            };
        }
        Some(changes)
    }
}

fn quoted(text: &str) -> String {
    serde_json::to_string(text).unwrap_or_else(|_| format!("\"{text}\""))
}

/// A JSON string at the start of `text`, and what follows it.
fn json_string(text: &str) -> Option<(String, &str)> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<String>();
    let value = stream.next()?.ok()?;
    let used = stream.byte_offset();
    Some((value, text.get(used..)?))
}

/// The Rust type of a field, and the kind it makes.
pub trait FieldType {
    /// The kind of field this type makes.
    const KIND: FieldKind;
    /// The value, borrowed.
    fn value(&self) -> FieldValue<'_>;
    /// The slot, when this is a text field.
    fn text_slot(&mut self) -> Option<&mut Option<String>> {
        None
    }
    /// The slot, when this is a boolean field.
    fn flag_slot(&mut self) -> Option<&mut Option<bool>> {
        None
    }
    /// Sets the value from `text` as [`FieldValue::exact`] wrote it (empty
    /// means absent); `Err` says why `text` is not such a value.
    fn set_recorded(&mut self, text: &str) -> Result<(), String>;
}

/// A JSON-valued field (lists, attributes) from its recorded text.
fn recorded_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<Option<T>, String> {
    if text.is_empty() {
        return Ok(None);
    }
    serde_json::from_str(text)
        .map(Some)
        .map_err(|e| format!("is not a recorded value ({e})"))
}

impl FieldType for Option<String> {
    const KIND: FieldKind = FieldKind::Text;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Text(self.as_deref())
    }
    fn text_slot(&mut self) -> Option<&mut Option<String>> {
        Some(self)
    }
    fn set_recorded(&mut self, text: &str) -> Result<(), String> {
        *self = (!text.is_empty()).then(|| text.to_string());
        Ok(())
    }
}

impl FieldType for Option<bool> {
    const KIND: FieldKind = FieldKind::Bool;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Bool(*self)
    }
    fn flag_slot(&mut self) -> Option<&mut Option<bool>> {
        Some(self)
    }
    fn set_recorded(&mut self, text: &str) -> Result<(), String> {
        *self = match text {
            "" => None,
            "true" => Some(true),
            "false" => Some(false),
            _ => return Err("is not true or false".to_string()),
        };
        Ok(())
    }
}

impl FieldType for Option<Vec<String>> {
    const KIND: FieldKind = FieldKind::List;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::List(self.as_deref())
    }
    fn set_recorded(&mut self, text: &str) -> Result<(), String> {
        *self = recorded_json(text)?;
        Ok(())
    }
}

impl FieldType for Option<Vec<CustomAttribute>> {
    const KIND: FieldKind = FieldKind::Attributes;
    fn value(&self) -> FieldValue<'_> {
        FieldValue::Attributes(self.as_deref())
    }
    fn set_recorded(&mut self, text: &str) -> Result<(), String> {
        *self = recorded_json(text)?;
        Ok(())
    }
}

/// Declares every user field once: `rust_name: Type => Variant, "wireName";`
macro_rules! user_fields {
    ($( $field:ident : $ty:ty => $variant:ident, $wire:literal; )*) => {
        /// The readable fields of a user, all optional so absence is
        /// distinguishable from an empty value.
        #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
        #[serde(rename_all = "camelCase")]
        pub struct UserFields {
            $(
                #[serde(default, skip_serializing_if = "Option::is_none")]
                /// A field of the reference's user body.
                pub $field: $ty,
            )*
        }

        /// A field of the reference's user body.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Field {
            $(
                #[doc = concat!("`", $wire, "`")]
                $variant,
            )*
        }

        impl Field {
            /// Every field, in the reference's order.
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The field's name in JSON bodies.
            pub fn wire(self) -> &'static str {
                match self {
                    $(Field::$variant => $wire,)*
                }
            }

            /// What kind of value the field holds.
            pub fn kind(self) -> FieldKind {
                match self {
                    $(Field::$variant => <$ty as FieldType>::KIND,)*
                }
            }
        }

        impl UserFields {
            /// The value of `field`.
            pub fn get(&self, field: Field) -> FieldValue<'_> {
                match field {
                    $(Field::$variant => self.$field.value(),)*
                }
            }

            /// The slot of a text field (`None` for other kinds).
            pub fn text_mut(&mut self, field: Field) -> Option<&mut Option<String>> {
                match field {
                    $(Field::$variant => self.$field.text_slot(),)*
                }
            }

            /// The slot of a boolean field (`None` for other kinds).
            pub fn flag_mut(&mut self, field: Field) -> Option<&mut Option<bool>> {
                match field {
                    $(Field::$variant => self.$field.flag_slot(),)*
                }
            }

            /// Sets `field` from a value as [`FieldValue::exact`] wrote it
            /// (an audit record's old value, for undo); empty means absent.
            /// Each field sets only itself, whatever its kind.
            pub fn set_exact(&mut self, field: Field, text: &str) -> Result<(), String> {
                match field {
                    $(Field::$variant => self.$field.set_recorded(text),)*
                }
                .map_err(|why| format!("{field}: '{text}' {why}"))
            }
        }
    };
}

user_fields! {
    username: Option<String> => Username, "username";
    email: Option<String> => Email, "email";
    first_name: Option<String> => FirstName, "firstName";
    middle_name: Option<String> => MiddleName, "middleName";
    last_name: Option<String> => LastName, "lastName";
    user_type: Option<String> => UserType, "userType";
    phone: Option<String> => Phone, "phone";
    mobile: Option<String> => Mobile, "mobile";
    fax: Option<String> => Fax, "fax";
    street_address: Option<String> => StreetAddress, "streetAddress";
    city: Option<String> => City, "city";
    postal_code: Option<String> => PostalCode, "postalCode";
    po_box: Option<String> => PoBox, "poBox";
    state: Option<String> => State, "state";
    employee_number: Option<String> => EmployeeNumber, "employeeNumber";
    department: Option<String> => Department, "department";
    job_title: Option<String> => JobTitle, "jobTitle";
    employment_type: Option<String> => EmploymentType, "employmentType";
    country: Option<String> => Country, "country";
    is_locked: Option<bool> => IsLocked, "isLocked";
    is_enabled: Option<bool> => IsEnabled, "isEnabled";
    aliases: Option<Vec<String>> => Aliases, "aliases";
    custom_attributes: Option<Vec<CustomAttribute>> => CustomAttributes, "customAttributes";
}

impl std::fmt::Display for Field {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.wire())
    }
}

impl Field {
    /// The field whose wire name is `name`.
    pub fn from_wire(name: &str) -> Option<Field> {
        Field::ALL.iter().copied().find(|f| f.wire() == name)
    }

    /// The fields of one kind, in order.
    pub fn of_kind(kind: FieldKind) -> impl Iterator<Item = Field> {
        Field::ALL.iter().copied().filter(move |f| f.kind() == kind)
    }
}

impl UserFields {
    /// The value of a text field (`None` when absent or not text).
    pub fn text(&self, field: Field) -> Option<&str> {
        match self.get(field) {
            FieldValue::Text(text) => text,
            _ => None,
        }
    }

    /// The value of a boolean field (`None` when absent or not boolean).
    pub fn flag(&self, field: Field) -> Option<bool> {
        match self.get(field) {
            FieldValue::Bool(flag) => flag,
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_as_agrees_with_comparing_the_cells() {
        let lists: [&[String]; 4] = [
            &[],
            &["a".to_string()],
            &["a;b".to_string()],
            &["a".to_string(), "b".to_string()],
        ];
        let attributes = [CustomAttribute::new("n", "v")];
        let mut values = vec![
            FieldValue::Text(None),
            FieldValue::Text(Some("")),
            FieldValue::Text(Some("x")),
            FieldValue::Bool(None),
            FieldValue::Bool(Some(true)),
            FieldValue::Bool(Some(false)),
            FieldValue::List(None),
            FieldValue::Attributes(None),
            FieldValue::Attributes(Some(&[])),
            FieldValue::Attributes(Some(&attributes)),
        ];
        values.extend(lists.iter().map(|l| FieldValue::List(Some(l))));
        for a in &values {
            for b in &values {
                let same = a.display() == b.display();
                assert_eq!(a.shows_as(b), same, "{a:?} against {b:?}");
            }
        }
    }

    #[test]
    fn recorded_values_set_only_their_own_field() {
        let mut fields = UserFields::default();
        for field in Field::ALL {
            let mut alone = UserFields::default();
            let text = match field.kind() {
                FieldKind::Text => "x".to_string(),
                FieldKind::Bool => "true".to_string(),
                FieldKind::List => r#"["a"]"#.to_string(),
                FieldKind::Attributes => r#"[{"name":"n","value":"v"}]"#.to_string(),
            };
            alone.set_exact(*field, &text).unwrap();
            for other in Field::ALL.iter().filter(|f| *f != field) {
                assert!(
                    alone.get(*other).exact().is_empty(),
                    "{field} wrote {other}"
                );
            }
            assert_eq!(alone.get(*field).exact(), text, "{field} round trip");
            fields.set_exact(*field, &text).unwrap();
        }
        assert!(fields.set_exact(Field::IsLocked, "maybe").is_err());
        fields.set_exact(Field::Aliases, "").unwrap();
        assert_eq!(fields.aliases, None);
    }

    #[test]
    fn exact_values_set_back_what_they_recorded() {
        let mut fields = UserFields {
            department: Some("Sales; \"East\"".into()),
            is_locked: Some(true),
            aliases: Some(vec!["a;b".into(), "c".into()]),
            custom_attributes: serde_json::from_str(r#"[{"name":"Cost Centre","value":"C=1"}]"#)
                .ok(),
            ..UserFields::default()
        };
        let recorded: Vec<(Field, String)> = Field::ALL
            .iter()
            .map(|f| (*f, fields.get(*f).exact()))
            .collect();
        let mut again = UserFields::default();
        for (field, text) in &recorded {
            again.set_exact(*field, text).unwrap();
        }
        assert_eq!(again, fields);
        fields.set_exact(Field::Department, "").unwrap();
        assert_eq!(fields.department, None);
        assert!(fields.set_exact(Field::IsLocked, "yes").is_err());
        assert!(fields.set_exact(Field::Aliases, "not json").is_err());
    }

    #[test]
    fn every_field_maps_to_its_own_wire_name_and_slot() {
        let mut fields = UserFields::default();
        for field in Field::of_kind(FieldKind::Text) {
            *fields.text_mut(field).unwrap() = Some(field.wire().to_string());
        }
        for field in Field::of_kind(FieldKind::Bool) {
            *fields.flag_mut(field).unwrap() = Some(field == Field::IsEnabled);
        }
        let json = serde_json::to_value(&fields).unwrap();
        for field in Field::of_kind(FieldKind::Text) {
            assert_eq!(json[field.wire()], field.wire());
            assert_eq!(fields.text(field), Some(field.wire()));
        }
        assert_eq!(json["isEnabled"], true);
        assert_eq!(json["isLocked"], false);
        assert_eq!(fields.flag(Field::IsLocked), Some(false));
        assert_eq!(Field::from_wire("jobTitle"), Some(Field::JobTitle));
        assert_eq!(Field::from_wire("nope"), None);
        assert!(fields.text_mut(Field::IsEnabled).is_none());
        assert!(fields.flag_mut(Field::Email).is_none());
        assert_eq!(Field::ALL.len(), 23);
    }
}
