//! The other half of the lifecycle: leavers (offboard) under guard rails,
//! snapshots and restore.

mod apply;
mod bad_rows;
mod changes;
mod dates;
mod groups;
mod identity;
mod memberships;
mod nightly;
mod offboard;
mod one_person;
mod one_run;
mod passwords;
mod safety;
mod soak;
mod sync;
mod undo;
mod variants;
