//! Stage graphs.
