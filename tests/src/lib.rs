//! Test estate for the ACR client: the ACR emulator and the real-registry harness.
//!
//! * [`registry`]: starts Debian's `docker-registry` (CNCF distribution 2.8) on a free loopback
//!   port, open or behind htpasswd Basic auth.
//! * [`emulator`]: an in-process ACR emulator (axum) for what no open-source registry implements:
//!   `/acr/v1`, `/oauth2`, ACR's token challenge and scopes, attribute locks, injected faults.

pub mod emulator;
pub mod registry;
pub mod skip;

pub use skip::skip;
