//! CSV for spreadsheets: every field quoted, and a field a spreadsheet would take for a formula
//! (OWASP's list: a leading `=`, `+`, `-`, `@`, TAB or CR) neutralised with a leading `'`, so
//! a name or an address typed by anyone is never run when an officer opens the export.

/// The characters that make a spreadsheet read a cell as a formula when they lead it.
const FORMULA_START: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// One field, quoted, with a formula start neutralised.
pub fn field(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 3);
    out.push('"');
    if s.starts_with(FORMULA_START) {
        out.push('\'');
    }
    out.push_str(&s.replace('"', "\"\""));
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::field;

    #[test]
    fn formula_starts_are_neutralised_and_quotes_doubled() {
        for (raw, cell) in [
            ("=1+1", "\"'=1+1\""),
            ("+81", "\"'+81\""),
            ("-2", "\"'-2\""),
            ("@SUM(A1)", "\"'@SUM(A1)\""),
            ("\t=cmd", "\"'\t=cmd\""),
            ("\r=cmd", "\"'\r=cmd\""),
            ("田中 \"花子\"", "\"田中 \"\"花子\"\"\""),
            ("a=b", "\"a=b\""),
            ("", "\"\""),
        ] {
            assert_eq!(field(raw), cell, "{raw:?}");
        }
    }
}
