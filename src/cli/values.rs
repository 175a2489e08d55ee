//! How the engine's enums are spelled on the command line. The engine
//! knows nothing of clap; these impls are the one place that does.

use clap::ValueEnum;
use clap::builder::PossibleValue;

use crate::api::SortOrder;
use crate::diff::DiffKey;
use crate::export::{Entity, Format};
use crate::input::{MatchBy, Mode, UsernameFrom};
use crate::model::AuthScheme;
use crate::model::dates::DateOrder;
#[cfg(feature = "sandbox")]
use crate::sandbox::{ListShape, UnknownFields};

/// `value_enum!(Type { Variant => "name" ["alias"] "help", ... })`
macro_rules! value_enum {
    ($ty:ty { $($variant:ident => $name:literal $([$alias:literal])? $help:literal),+ $(,)? }) => {
        impl ValueEnum for $ty {
            fn value_variants<'a>() -> &'a [Self] {
                &[$(<$ty>::$variant),+]
            }

            fn to_possible_value(&self) -> Option<PossibleValue> {
                Some(match self {
                    $(<$ty>::$variant => PossibleValue::new($name)
                        $(.alias($alias))?
                        .help($help),)+
                })
            }
        }
    };
}

value_enum!(AuthScheme {
    Bearer => "bearer" "Authorization: Bearer KEY",
    XApiKey => "x-api-key" "x-api-key: KEY",
    ApikeyBase64 => "apikey-base64" "Authorization: APIKEY base64(KEY), the older SecurEnvoy form",
});

value_enum!(DateOrder {
    Dmy => "dmy" "day first: 03/01/2027 is 3 January",
    Mdy => "mdy" "month first: 03/01/2027 is 1 March",
});

value_enum!(SortOrder {
    Asc => "asc" "ascending",
    Desc => "desc" "descending",
});

value_enum!(MatchBy {
    Username => "username" "the username",
    Email => "email" "the email address",
    EmployeeNumber => "employeeNumber" ["employee-number"] "the employee number",
});

value_enum!(UsernameFrom {
    Email => "email" "the whole email address",
    LocalPart => "local-part" "the email address before the @",
});

value_enum!(Mode {
    Upsert => "upsert" "create missing users, update existing ones",
    Create => "create" "create missing users; existing ones are skipped",
    Update => "update" "update existing users; missing ones fail",
});

value_enum!(Entity {
    Users => "users" "users, in the import format",
    Groups => "groups" "groups with their member counts",
    Applications => "applications" "applications with their user counts",
    Memberships => "memberships" "one line per user and group or application",
    Factors => "factors" "each user's first- and second-factor types (one call per user)",
});

value_enum!(Format {
    Csv => "csv" "CSV",
    Jsonl => "jsonl" "one JSON object per line",
});

value_enum!(DiffKey {
    Auto => "auto" "user_id when both files have it, else username",
    UserId => "user-id" "the tenant's user id",
    Username => "username" "the username, ignoring case",
});

#[cfg(feature = "sandbox")]
value_enum!(ListShape {
    Items => "items" "{\"items\": [...], \"totalCount\": N}",
    Data => "data" "{\"data\": [...], \"totalCount\": N}",
    Results => "results" "{\"results\": [...], \"totalCount\": N}",
    Value => "value" "{\"value\": [...], \"totalCount\": N}",
    Array => "array" "a bare JSON array, no total",
});

#[cfg(feature = "sandbox")]
value_enum!(UnknownFields {
    Refuse => "refuse" "400, naming the field",
    Accept => "accept" "ignored",
});
