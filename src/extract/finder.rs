//! Finds candidate assertion calls: one Aho-Corasick automaton over every catalog function
//! name and every user-declared helper name (ASCII case-insensitive). It is applied to code
//! tokens only: anchored on each identifier token followed by `(` (so prose, strings and
//! comments cost nothing), and unanchored over a comment's text for `--include-commented`.

use aho_corasick::{
    AhoCorasick, AhoCorasickBuilder, AhoCorasickKind, Anchored, Input, MatchKind, StartKind,
};

use crate::catalog::{Function, FUNCTIONS};
use crate::config::HelperDecl;

/// What a matched name may be.
#[derive(Debug, Default)]
pub struct Callees {
    pub function: Option<&'static Function>,
    /// Indexes into the helper declarations with this bare name.
    pub helpers: Vec<usize>,
}

pub struct Finder {
    ac: AhoCorasick,
    callees: Vec<Callees>,
}

/// A hit: the byte span of a name found in comment text.
#[derive(Debug, Clone, Copy)]
pub struct Hit {
    pub start: u32,
    // Only the start is needed to find the call; the end makes a hit a span for the tests.
    #[allow(dead_code)]
    pub end: u32,
}

impl Finder {
    pub fn new(helpers: &[HelperDecl]) -> Finder {
        let mut names: Vec<String> = Vec::with_capacity(FUNCTIONS.len() + helpers.len());
        let mut callees: Vec<Callees> = Vec::with_capacity(FUNCTIONS.len() + helpers.len());
        for f in FUNCTIONS {
            names.push(f.name.to_string());
            callees.push(Callees {
                function: Some(f),
                helpers: Vec::new(),
            });
        }
        for (i, h) in helpers.iter().enumerate() {
            let bare = h.bare_name().to_ascii_lowercase();
            match names.iter().position(|n| *n == bare) {
                Some(p) => callees[p].helpers.push(i),
                None => {
                    names.push(bare);
                    callees.push(Callees {
                        function: None,
                        helpers: vec![i],
                    });
                }
            }
        }
        let ac = AhoCorasickBuilder::new()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::LeftmostLongest)
            // A full DFA: a few hundred KB for ~230 names, and one table lookup per byte
            // where the default NFA measured 26% of a scan's instructions.
            .kind(Some(AhoCorasickKind::DFA))
            // Anchored for identifier tokens, unanchored for comment text.
            .start_kind(StartKind::Both)
            .build(&names)
            // The patterns are a fixed, small set of identifiers: building cannot fail
            // for any input file.
            .unwrap_or_else(|e| panic!("building the name automaton: {e}"));
        Finder { ac, callees }
    }

    /// Appends every hit in `src` that starts and ends on an identifier boundary.
    pub fn find(&self, src: &[u8], out: &mut Vec<Hit>) {
        for m in self.ac.find_iter(src) {
            let (s, e) = (m.start(), m.end());
            let before_ok = s == 0 || !is_ident_byte(src[s - 1]);
            let after_ok = e == src.len() || !is_ident_byte(src[e]);
            if before_ok && after_ok {
                out.push(Hit {
                    start: s as u32,
                    end: e as u32,
                });
            }
        }
    }

    /// The pattern an identifier token is, if it is exactly one of the names: the
    /// automaton runs anchored over the token's bytes only.
    pub fn lookup(&self, ident: &[u8]) -> Option<u32> {
        let m = self.ac.find(Input::new(ident).anchored(Anchored::Yes))?;
        (m.end() == ident.len()).then(|| m.pattern().as_u32())
    }

    pub fn callees(&self, pattern: u32) -> &Callees {
        &self.callees[pattern as usize]
    }
}

fn is_ident_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'$' || b >= 0x80
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_matches_whole_identifiers_only() {
        let f = Finder::new(&[]);
        assert!(f.lookup(b"HAS_TABLE").is_some());
        assert!(f.lookup(b"is").is_some());
        assert!(f.lookup(b"has_tablex").is_none());
        assert!(f.lookup(b"xhas_table").is_none());
        assert!(f.lookup(b"").is_none());
    }

    #[test]
    fn finds_whole_words_case_insensitively() {
        let f = Finder::new(&[]);
        let src = b"SELECT HAS_TABLE('x'); select foo_has_table(1); hasnt_table";
        let mut hits = Vec::new();
        f.find(src, &mut hits);
        let words: Vec<&[u8]> = hits
            .iter()
            .map(|h| &src[h.start as usize..h.end as usize])
            .collect();
        assert_eq!(words, vec![&b"HAS_TABLE"[..], &b"hasnt_table"[..]]);
    }
}
