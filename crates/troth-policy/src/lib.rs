//! Policy-as-code: the `policy.toml` manifest model, its validation, rendering,
//! content hash and diff.
