//! Storage: object-safe, synchronous traits split by capability, and their backends.
