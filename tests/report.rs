//! investigate / report.html tests (helper-3 fills this in).
