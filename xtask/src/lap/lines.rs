//! Splitting text into logical lines: one directive each, continuation lines joined with a space.

use std::borrow::Cow;
use std::cell::Cell;

use super::ast::Pos;

/// One physical piece of a logical line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Seg<'a> {
    /// Byte offset of this piece in the logical text.
    start: usize,
    /// 1-based physical line number.
    line: u32,
    /// 1-based char column, in the physical line, of the piece's first char.
    col0: u32,
    /// The whole physical line (for error display).
    phys: &'a str,
}

/// A directive line with its continuation lines joined on.
#[derive(Debug)]
pub(crate) struct Logical<'a> {
    /// The logical text (borrowed unless continuation lines were joined).
    pub text: Cow<'a, str>,
    segs: Vec<Seg<'a>>,
    /// Cache for monotone column queries: (byte offset, char column, segment index).
    cache: Cell<(usize, u32, usize)>,
}

impl<'a> Logical<'a> {
    /// A one-line logical line on its own (line 1), for re-parsing printed fragments.
    pub fn detached(text: &'a str) -> Self {
        Logical::new(text, 1)
    }

    fn new(phys: &'a str, line: u32) -> Self {
        Logical {
            text: Cow::Borrowed(phys),
            segs: vec![Seg {
                start: 0,
                line,
                col0: 1,
                phys,
            }],
            cache: Cell::new((0, 1, 0)),
        }
    }

    fn join(&mut self, phys: &'a str, line: u32) {
        let trimmed = phys.trim_start_matches([' ', '\t']);
        let skipped = phys.len() - trimmed.len();
        let text = self.text.to_mut();
        text.push(' ');
        let start = text.len();
        text.push_str(trimmed);
        self.segs.push(Seg {
            start,
            line,
            col0: 1 + skipped as u32,
            phys,
        });
    }

    /// The 1-based line of the directive.
    pub fn line(&self) -> u32 {
        self.segs[0].line
    }

    /// The position of a byte offset of the logical text.
    pub fn pos(&self, off: usize) -> Pos {
        let off = off.min(self.text.len());
        let seg_idx = match self.segs.len() {
            1 => 0,
            _ => self.segs.iter().rposition(|s| s.start <= off).unwrap_or(0),
        };
        let seg = self.segs[seg_idx];
        let (c_off, c_col, c_seg) = self.cache.get();
        let (from, mut col) = if c_seg == seg_idx && c_off <= off {
            (c_off, c_col)
        } else {
            (seg.start, seg.col0)
        };
        let text: &str = &self.text;
        let piece = text.get(from..off).unwrap_or("");
        col += if piece.is_ascii() {
            piece.len() as u32
        } else {
            piece.chars().count() as u32
        };
        self.cache.set((off, col, seg_idx));
        Pos {
            line: seg.line,
            col,
        }
    }

    /// The physical line holding a byte offset (for error display).
    pub fn phys_line(&self, off: usize) -> &'a str {
        let idx = self.segs.iter().rposition(|s| s.start <= off).unwrap_or(0);
        self.segs[idx].phys
    }
}

/// Splits `text` into logical lines. Blank lines and `#` comment lines are dropped; a line
/// that starts with neither `@` nor `#` and is not blank joins the previous directive.
/// A continuation before any directive comes back as its own logical line (the caller
/// reports it). Lines are split on `\n` only; trailing `\r`s are stripped.
pub(crate) fn logical_lines(text: &str) -> Vec<Logical<'_>> {
    let mut out: Vec<Logical<'_>> = Vec::new();
    for (idx, raw) in text.split('\n').enumerate() {
        let line_no = u32::try_from(idx + 1).unwrap_or(u32::MAX);
        let phys = raw.trim_end_matches('\r');
        if phys.trim_matches([' ', '\t']).is_empty() || phys.starts_with('#') {
            continue;
        }
        if phys.starts_with('@') {
            out.push(Logical::new(phys, line_no));
        } else if let Some(last) = out.last_mut() {
            last.join(phys, line_no);
        } else {
            out.push(Logical::new(phys, line_no));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn joins_continuations_and_maps_positions() {
        let lines = logical_lines("@lap v0.3\n# c\n\n@optional {a: str,\n    b: int}\r\n@end");
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[1].text, "@optional {a: str, b: int}");
        let b = lines[1].text.find("b:").unwrap();
        assert!(lines[1].pos(b).same_place(&Pos::new(5, 5)));
        assert!(lines[1].pos(1).same_place(&Pos::new(4, 2)));
        assert_eq!(lines[2].text, "@end");
    }

    #[test]
    fn columns_count_chars() {
        let lines = logical_lines("@desc é x");
        let x = lines[0].text.find('x').unwrap();
        assert!(lines[0].pos(x).same_place(&Pos::new(1, 9)));
        // a query before the cached one still works
        assert!(lines[0].pos(1).same_place(&Pos::new(1, 2)));
    }

    #[test]
    fn keeps_lone_cr_inside_a_line() {
        let lines = logical_lines("@desc a\rb\r\r\n");
        assert_eq!(lines[0].text, "@desc a\rb");
    }
}
