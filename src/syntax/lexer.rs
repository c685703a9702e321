//! Token-level lexer (logos) for highlighting and semantic tokens.
