//! Aspects: what an assertion checks about its object (`existence`, `type`,
//! `privileges`, ...), from the pgTAP catalog, plus the words suites give their own helpers.

use std::borrow::Borrow;
use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

/// Declares [`Aspect`]'s fixed words with their names in one list.
macro_rules! aspects {
    ($($(#[$doc:meta])* $variant:ident = $name:literal,)*) => {
        /// What an assertion checks about its object.
        ///
        /// An aspect is its name: serialised as it, and equal, ordered and hashed as it
        /// (a declared word that happens to be a known one is that one), so maps keyed
        /// by aspects are looked up by name too (`Borrow<str>`).
        #[derive(Debug, Clone)]
        pub enum Aspect {
            $($(#[$doc])* $variant,)*
            /// A word a `[[helper]]` declaration gives that is none of the above.
            Declared(Arc<str>),
        }

        impl Aspect {
            /// The fixed aspects (not [`Aspect::Declared`]), in declaration order.
            pub const KNOWN: &'static [Aspect] = &[$(Aspect::$variant,)*];

            /// The name reports and the catalog use (`result_set`).
            pub fn name(&self) -> &str {
                match self {
                    $(Aspect::$variant => $name,)*
                    Aspect::Declared(word) => word,
                }
            }
        }
    };
}

aspects! {
    /// `policy_cmd_is`: the command a policy applies to.
    Command = "command",
    /// Keys and checks: `has_pk`, `col_is_pk`, `has_fk`, `col_is_fk`, ...
    Constraint = "constraint",
    /// Column defaults: `col_has_default`, `col_default_is`, ...
    Default = "default",
    /// `throws_ok`, `lives_ok`, ...
    Exception = "exception",
    /// `has_*` / `hasnt_*`.
    Existence = "existence",
    /// `has_inherited_tables`, `is_ancestor_of`, `is_descendent_of`, ...
    Inheritance = "inheritance",
    /// `enum_has_labels`.
    Labels = "labels",
    /// `is_member_of`, `isnt_member_of`.
    Membership = "membership",
    /// `col_not_null`, `col_is_null`.
    Nullability = "nullability",
    /// `*_owner_is`.
    Owner = "owner",
    /// `is_partitioned`, `partitions_are`, ...
    Partitioning = "partitioning",
    /// `performs_ok`, `performs_within`.
    Performance = "performance",
    /// `table_privs_are`, `function_privs_are`, `schema_privs_are`, ...
    Privileges = "privileges",
    /// `index_is_unique`, `trigger_is`, `is_superuser`, `is_clustered`, ...
    Properties = "properties",
    /// `results_eq`, `set_eq`, `bag_has`, ...
    ResultSet = "result_set",
    /// `policy_roles_are`.
    Roles = "roles",
    /// Set assertions: `tables_are`, `columns_are`, `policies_are`, ...
    Set = "set",
    /// `col_type_is`, `domain_type_is`, `domain_type_isnt`.
    Type = "type",
    /// `is`, `ok`, `matches`, ...
    Value = "value",
    /// Row level security is enabled (supabase-test-helpers' `tests.rls_enabled`).
    Rls = "rls",
}

impl Aspect {
    /// The aspect named `name`: a fixed one, or a declared word.
    pub fn from_name(name: &str) -> Aspect {
        Aspect::known(name).unwrap_or_else(|| Aspect::Declared(name.into()))
    }

    /// The fixed aspect named `name`, if it is one.
    pub fn known(name: &str) -> Option<Aspect> {
        Aspect::KNOWN.iter().find(|a| a.name() == name).cloned()
    }
}

impl fmt::Display for Aspect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl AsRef<str> for Aspect {
    fn as_ref(&self) -> &str {
        self.name()
    }
}

impl Borrow<str> for Aspect {
    fn borrow(&self) -> &str {
        self.name()
    }
}

impl PartialEq for Aspect {
    fn eq(&self, other: &Self) -> bool {
        self.name() == other.name()
    }
}

impl Eq for Aspect {}

impl Hash for Aspect {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.name().hash(state);
    }
}

impl Ord for Aspect {
    fn cmp(&self, other: &Self) -> Ordering {
        self.name().cmp(other.name())
    }
}

impl PartialOrd for Aspect {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl serde::Serialize for Aspect {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl<'de> serde::Deserialize<'de> for Aspect {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let word = String::deserialize(d)?;
        Ok(Aspect::from_name(&word))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_declared_words_equal_known_ones() {
        for (i, a) in Aspect::KNOWN.iter().enumerate() {
            assert!(!matches!(a, Aspect::Declared(_)));
            assert_eq!(Aspect::from_name(a.name()), *a);
            assert!(!Aspect::KNOWN[..i].contains(a), "{a} twice");
        }
        assert_eq!(
            Aspect::from_name("grants"),
            Aspect::Declared("grants".into())
        );
        assert_eq!(Aspect::Declared("existence".into()), Aspect::Existence);
        assert!(Aspect::Existence < Aspect::Set);
        assert_eq!(
            serde_json::to_string(&Aspect::ResultSet).unwrap(),
            "\"result_set\""
        );
    }
}
