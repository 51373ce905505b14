//! Runs the ACR emulator standalone (placeholder).
fn main() {}
