//! The intermediate representation of an API and the emitters that turn it into Rust.
//!
//! Pure functions: no file or network I/O happens here.

pub mod ir;
