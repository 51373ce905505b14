//! Param lists (stub).
