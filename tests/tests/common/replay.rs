//! The replay server (filled in below).
