//! Deciding what an import will do: the tenant's groups and applications,
//! how rows find their users, and the per-row decision.

pub mod access;
pub mod catalog;
pub mod decide;
pub mod index;
pub mod lookup;

pub use catalog::Catalog;
pub use decide::{Action, Current, PlanAction, Policy, Refusal, RowPlan, decide};
