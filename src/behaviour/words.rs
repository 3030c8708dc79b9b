//! The reader's word table: every word the reader knows (keywords of its lists, pgTAP's
//! functions, PostgreSQL's built-in functions and types) with what it is, as bit flags,
//! found with one cheap probe per identifier.
//!
//! Identifiers are looked up many times a statement (is it trivial, a keyword, a pgTAP
//! call); a general-purpose hash map of strings cost more than the rest of the reader's
//! work on a token. Here a word is lower-cased once into a zero-padded 32-byte key (the
//! words the reader compares with are ASCII and shorter), hashed with one multiply and
//! compared as four integers.

/// A lower-cased ASCII word of at most 32 bytes, zero-padded: the table's key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Word {
    buf: [u8; 32],
    len: u8,
}

impl std::ops::Deref for Word {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.buf[..self.len as usize]
    }
}

impl Word {
    /// `text` lower-cased; `None` when longer than 32 bytes or not ASCII (no word of the
    /// table is).
    #[inline]
    pub fn new(text: &[u8]) -> Option<Word> {
        if text.len() > 32 {
            return None;
        }
        let mut buf = [0u8; 32];
        buf[..text.len()].copy_from_slice(text);
        // Eight bytes at a time: see whether one is not ASCII, and lower-case the
        // letters (`A`..=`Z` get `0x20`).
        let mut high = 0u64;
        for chunk in buf.chunks_exact_mut(8) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            let v = u64::from_le_bytes(b);
            high |= v;
            chunk.copy_from_slice(&fold_ascii8(v).to_le_bytes());
        }
        if high & 0x8080_8080_8080_8080 != 0 {
            return None;
        }
        Some(Word {
            buf,
            len: text.len() as u8,
        })
    }

    /// `text` as it is, when it is a word the table can hold (lower-case ASCII).
    fn exact(text: &str) -> Option<Word> {
        let w = Word::new(text.as_bytes())?;
        (&*w == text.as_bytes()).then_some(w)
    }

    fn key(&self) -> [u64; 4] {
        let mut k = [0u64; 4];
        for (k, chunk) in k.iter_mut().zip(self.buf.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *k = u64::from_le_bytes(b);
        }
        k
    }
}

/// Eight ASCII bytes with their upper-case letters lower-cased (what
/// `to_ascii_lowercase` does to each; bytes of `0x80` and above are left as they are).
#[inline]
fn fold_ascii8(v: u64) -> u64 {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    let seven = v & LOW7;
    // Per byte, no carry out of it (at most 0x7f + 0x3f): the high bit says `>= b'A'`
    // for the first sum and `> b'Z'` for the second.
    let at_least_a = seven + 0x3f3f_3f3f_3f3f_3f3f;
    let past_z = seven + 0x2525_2525_2525_2525;
    let upper = at_least_a & !past_z & !v & HIGH;
    v | (upper >> 2)
}

fn hash(k: &[u64; 4]) -> u64 {
    (k[0] ^ k[1].rotate_left(21) ^ k[2].rotate_left(42) ^ k[3].rotate_left(63))
        .wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Words with flags: open addressing, linear probing, a power-of-two size at most half
/// full. The all-zero key (the empty word, never an identifier) marks a free slot.
pub struct Table {
    slots: Vec<([u64; 4], u32)>,
    shift: u32,
}

impl Table {
    /// A table of `words` with their flags (a word given twice gets both flags).
    /// Words that are not lower-case ASCII of at most 32 bytes are left out: no
    /// identifier lower-cases to them.
    pub fn new<'w>(words: impl IntoIterator<Item = (&'w str, u32)>) -> Table {
        let words: Vec<(Word, u32)> = words
            .into_iter()
            .filter_map(|(w, f)| Some((Word::exact(w)?, f)))
            .collect();
        let bits = (words.len().max(1) * 2)
            .next_power_of_two()
            .trailing_zeros()
            .max(4);
        let mut t = Table {
            slots: vec![([0; 4], 0); 1 << bits],
            shift: 64 - bits,
        };
        for (w, flags) in words {
            let key = w.key();
            let i = t.find(&key);
            t.slots[i].0 = key;
            t.slots[i].1 |= flags;
        }
        t
    }

    /// The slot holding `key`, or the free slot where it would go.
    fn find(&self, key: &[u64; 4]) -> usize {
        let mask = self.slots.len() - 1;
        let mut i = (hash(key) >> self.shift) as usize;
        loop {
            let (k, _) = &self.slots[i];
            if k == key || *k == [0; 4] {
                return i;
            }
            i = (i + 1) & mask;
        }
    }

    /// The flags of a (lower-cased) word; 0 for a word the table does not hold.
    #[inline]
    pub fn get(&self, w: &Word) -> u32 {
        let key = w.key();
        let (k, flags) = self.slots[self.find(&key)];
        if k == key {
            flags
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Eight bytes folded at once are folded as `to_ascii_lowercase` folds each, every
    /// byte value in every lane.
    #[test]
    fn folding_eight_bytes_at_once_lowercases_as_each_byte_would() {
        for lane in 0..8 {
            for b in 0..=255u8 {
                let mut bytes = *b"xY@[`{Z\x7f";
                bytes[lane] = b;
                let want: Vec<u8> = bytes.iter().map(u8::to_ascii_lowercase).collect();
                let got = fold_ascii8(u64::from_le_bytes(bytes)).to_le_bytes();
                assert_eq!(&got[..], &want[..], "{b:#x} in lane {lane}");
            }
        }
        for text in [
            &b"SELECT"[..],
            b"Has_Table",
            b"AZaz@[`{",
            b"0123456789_$ABCDEFGHIJKLMNOPQRST",
        ] {
            let w = Word::new(text).unwrap();
            assert_eq!(&*w, &text.to_ascii_lowercase()[..]);
        }
        assert!(Word::new("café".as_bytes()).is_none());
        assert!(Word::new(b"abcdefghijklmnopqrstuvwxyz01234\xff").is_none());
    }

    #[test]
    fn words_are_found_whatever_their_case_and_others_are_not() {
        let t = Table::new([("select", 1), ("from", 2), ("select", 4), ("Upper", 8)]);
        let get = |s: &str| Word::new(s.as_bytes()).map(|w| t.get(&w));
        assert_eq!(get("SELECT"), Some(5));
        assert_eq!(get("From"), Some(2));
        assert_eq!(get("upper"), Some(0), "only lower-case words are held");
        assert_eq!(get("selec"), Some(0));
        assert_eq!(get("select_"), Some(0));
        assert_eq!(get(&"a".repeat(33)), None);
        assert_eq!(get("café"), None);
        let long = "a".repeat(32);
        let t = Table::new([(long.as_str(), 1)]);
        assert_eq!(Word::new(long.as_bytes()).map(|w| t.get(&w)), Some(1));
    }
}
