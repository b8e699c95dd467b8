//! ABI helpers: function and event signatures, exact static-argument encoding, topic encoding.
