//! RDB format (see docs).
