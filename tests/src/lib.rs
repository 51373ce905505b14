//! Test estate for the ACR client: the ACR emulator and the real-registry harness.
