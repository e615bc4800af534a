//! The TXT registry (being written).
