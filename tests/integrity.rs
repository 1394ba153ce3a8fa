//! integrity tests (helper-2 fills this in).
