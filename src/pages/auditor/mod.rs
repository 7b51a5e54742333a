//! The auditor's views (administrators see the audit log too).

pub mod audit;
pub mod directory;
