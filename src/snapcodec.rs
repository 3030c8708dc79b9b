//! The byte primitives of the `--cache` run snapshot (see `crate::scan` and
//! `crate::coverage`): LEB128 integers and length-prefixed strings. Reading checks every
//! length and returns `None` on anything unexpected; the snapshot as a whole is checked by
//! a checksum before it is read, so that only happens with a format change.

/// Appends values to a byte vector.
#[derive(Default)]
pub(crate) struct Enc {
    pub out: Vec<u8>,
}

impl Enc {
    pub fn uint(&mut self, mut n: u64) {
        while n >= 0x80 {
            self.out.push((n as u8) | 0x80);
            n >>= 7;
        }
        self.out.push(n as u8);
    }
    pub fn flag(&mut self, b: bool) {
        self.out.push(u8::from(b));
    }
    pub fn str(&mut self, s: &str) {
        self.uint(s.len() as u64);
        self.out.extend_from_slice(s.as_bytes());
    }
    pub fn opt_str(&mut self, s: Option<&str>) {
        self.flag(s.is_some());
        if let Some(s) = s {
            self.str(s);
        }
    }
    pub fn opt_u32(&mut self, n: Option<u32>) {
        self.flag(n.is_some());
        if let Some(n) = n {
            self.uint(n.into());
        }
    }
}

/// Reads what [`Enc`] wrote.
pub(crate) struct Dec<'a> {
    pub b: &'a [u8],
}

impl<'a> Dec<'a> {
    pub fn uint(&mut self) -> Option<u64> {
        let mut n: u64 = 0;
        for shift in (0..64).step_by(7) {
            let (&byte, rest) = self.b.split_first()?;
            self.b = rest;
            n |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(n);
            }
        }
        None
    }
    pub fn u32(&mut self) -> Option<u32> {
        u32::try_from(self.uint()?).ok()
    }
    /// A count of things each at least one byte long: never more than the bytes left.
    pub fn len(&mut self) -> Option<usize> {
        let n = usize::try_from(self.uint()?).ok()?;
        (n <= self.b.len()).then_some(n)
    }
    pub fn flag(&mut self) -> Option<bool> {
        let (&byte, rest) = self.b.split_first()?;
        self.b = rest;
        match byte {
            0 => Some(false),
            1 => Some(true),
            _ => None,
        }
    }
    pub fn str(&mut self) -> Option<&'a str> {
        let n = self.len()?;
        let (s, rest) = self.b.split_at(n);
        self.b = rest;
        std::str::from_utf8(s).ok()
    }
    pub fn opt_str(&mut self) -> Option<Option<&'a str>> {
        Some(if self.flag()? {
            Some(self.str()?)
        } else {
            None
        })
    }
    pub fn opt_u32(&mut self) -> Option<Option<u32>> {
        Some(if self.flag()? {
            Some(self.u32()?)
        } else {
            None
        })
    }
}
