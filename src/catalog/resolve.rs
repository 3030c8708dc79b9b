//! Overload resolution (interim stub; replaced by the catalog work).
use super::Function;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgType {
    UntypedLiteral,
    BraceLiteral,
    ArrayCtor(Option<String>),
    Typed(String),
    Integer,
    Numeric,
    Boolean,
    Null,
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    Unique {
        overload: usize,
        roles: Vec<&'static str>,
    },
    Runtime {
        overload: usize,
        readings: Vec<Vec<&'static str>>,
        rule: &'static str,
    },
    Ambiguous {
        candidates: Vec<usize>,
    },
    Undecidable {
        candidates: Vec<usize>,
    },
    NoMatch,
}

pub fn resolve(f: &Function, positional: &[ArgType], _named: &[(&str, ArgType)]) -> Resolution {
    match f
        .overloads
        .iter()
        .position(|o| o.arg_types.len() == positional.len())
    {
        Some(i) => Resolution::Unique {
            overload: i,
            roles: f.overloads[i].arg_names.to_vec(),
        },
        None => Resolution::NoMatch,
    }
}
