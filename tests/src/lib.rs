//! Test estate for the ACR client: the ACR emulator and the real-registry harness.
//!
//! * [`registry`]: starts Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback
//!   port, open or behind htpasswd Basic auth.
//! * [`emulator`]: the `acr-emulator` package (in `tests/emulator/`), re-exported: an in-process
//!   ACR emulator (axum) for what no open-source registry implements: `/acr/v1`, `/oauth2`, ACR's
//!   token challenge and scopes, attribute locks, injected faults.
//! * [`fault_proxy`]: a loopback TCP relay that cuts connections after N bytes, N times, to put
//!   real network faults between a client and a real server.

pub mod fault_proxy;
pub mod registry;
pub mod skip;

pub use acr_emulator as emulator;
pub use skip::skip;
