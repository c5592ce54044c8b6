//! Templates: the field format and its validation, the request clients send, and CRUD.

pub mod fields;
pub mod input;
pub mod preview;
pub mod service;
pub mod webhook_test;
