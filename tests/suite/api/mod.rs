//! The client against the in-process sandbox: every endpoint, and every
//! fault the foundation must survive.

mod bad_input;
mod endpoints;
mod faults;
mod paging;
mod persistence;
