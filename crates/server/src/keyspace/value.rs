//! [`Value`]: what a key holds. One variant per Redis type; each type's compact encodings
//! live inside its variant so a lookup costs one match.

use super::bytes::SmallBytes;

/// A key's value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// A string (Redis encodings int/embstr/raw are derived from the bytes).
    Str(SmallBytes),
}

impl Value {
    /// A string value copied from `b`.
    pub fn str(b: &[u8]) -> Value {
        Value::Str(SmallBytes::new(b))
    }

    /// The name TYPE reports.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
        }
    }

    /// The name OBJECT ENCODING reports (Redis's names, derived as Redis would choose them).
    pub fn encoding(&self) -> &'static str {
        match self {
            Value::Str(s) => {
                if s.len() <= 20 && crate::util::parse_i64(s).is_some() {
                    "int"
                } else if s.len() <= 44 {
                    "embstr"
                } else {
                    "raw"
                }
            }
        }
    }

    /// Approximate heap bytes owned by the value beyond its inline size.
    pub fn heap_size(&self) -> usize {
        match self {
            Value::Str(s) => s.heap_size(),
        }
    }
}
