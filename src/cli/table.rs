//! Aligned plain-text tables for the human output of the subcommands.

use unicode_width::UnicodeWidthStr;

/// How a column's cells line up.
#[derive(Clone, Copy)]
pub enum Align {
    /// Text.
    Left,
    /// Numbers.
    Right,
}

/// Renders rows under a header, each column as wide as its widest cell; the last column is
/// left unpadded so long reasons wrap naturally instead of pushing the table wider.
pub fn render(header: &[&str], align: &[Align], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.width()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.width());
        }
    }
    let mut out = String::new();
    let header: Vec<String> = header.iter().map(|h| h.to_string()).collect();
    for row in std::iter::once(&header).chain(rows) {
        let last = row.len().saturating_sub(1);
        let cells: Vec<String> = row
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                if i == last {
                    return cell.clone();
                }
                let pad = " ".repeat(widths[i].saturating_sub(cell.width()));
                match align.get(i).copied().unwrap_or(Align::Left) {
                    Align::Left => format!("{cell}{pad}"),
                    Align::Right => format!("{pad}{cell}"),
                }
            })
            .collect();
        out.push_str(cells.join("  ").trim_end());
        out.push('\n');
    }
    out
}

/// Groups digits in thousands: 1234567 → `1,234,567`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_with_wide_characters() {
        let out = render(
            &["NAME", "ROWS", "WHY"],
            &[Align::Left, Align::Right, Align::Left],
            &[vec!["café ☕".into(), "5".into(), "x".into()], vec!["t".into(), "12".into(), "y".into()]],
        );
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines[0], "NAME     ROWS  WHY");
        assert_eq!(lines[1], "café ☕     5  x");
        assert_eq!(lines[2], "t          12  y");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1234567), "1,234,567");
    }
}
