//! The row commands, one module each, every one on the engine
//! (`crate::engine`): import (which reads its rows as it goes), sync,
//! apply (a saved plan), the lifecycle commands (offboard, restore,
//! passwords, groups, memberships) and undo, which decide their rows up
//! front and run them through `engine::prepared`. A command uses the
//! engine and never another command (a test in `lib.rs` holds it); what
//! two commands share lives in the engine, named for what it is.

pub mod apply;
pub mod groups;
pub mod import;
pub mod memberships;
pub mod offboard;
pub mod passwords;
pub mod restore;
pub mod sync;
pub mod undo;
