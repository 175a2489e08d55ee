//! The tenant's data as it travels on the wire, and the rules it obeys.
//!
//! Shared by the client and the sandbox; depends on nothing else in the crate.

pub mod auth;
pub mod country;
pub mod dates;
pub mod directory;
pub mod fields;
pub mod rules;
pub mod seal;
pub mod text;
pub mod user;

pub use auth::AuthScheme;
pub use directory::{Application, Credentials, Factor, Group, GroupWrite, Target, TargetKind};
pub use fields::{Field, FieldChange, FieldKind, FieldValue, PASSWORD_SET, UserFields};
pub use seal::{SealCheck, SealKey};
pub use user::{CustomAttribute, Password, PasswordOptions, User, UserWrite};
