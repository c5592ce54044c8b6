//! Templates: the field format and its validation, and CRUD.

pub mod fields;
pub mod service;
