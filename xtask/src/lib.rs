//! The spec toolchain behind `cargo xtask`: the LAP parser, lowering to the IR, and the
//! commands that regenerate the `acr` crate.

pub mod api_diff;
pub mod bench;
pub mod codegen_cmd;
pub mod fuzz_cmd;
pub mod generate;
pub mod lap;
pub mod lap_check;
pub mod lower;
pub mod manifest;
pub mod msrv;
pub mod registry;
pub mod sample;
pub mod soak;
pub mod tree;
pub mod workspace;
