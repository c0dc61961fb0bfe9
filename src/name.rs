//! Policy names.

use std::{borrow::Borrow, fmt, sync::Arc};

/// The name of a policy, shown in `tracing` events, errors and snapshots.
///
/// A name made from a `&'static str` costs nothing to clone, so a policy whose name is a literal
/// adds no work per call. A name built at run time (a per-host breaker, say) is shared behind an
/// [`Arc`]: cloning it is one atomic increment, and it is cloned only where a call may need it.
///
/// # Examples
///
/// ```
/// use failguard::Name;
///
/// let fixed = Name::from("payments");
/// let dynamic = Name::from(format!("payments-{}", 3));
/// assert_eq!(fixed.as_str(), "payments");
/// assert_eq!(dynamic.to_string(), "payments-3");
/// ```
#[derive(Clone)]
pub struct Name(Repr);

#[derive(Clone)]
enum Repr {
    Static(&'static str),
    Shared(Arc<str>),
}

impl Name {
    /// A name from a string literal, usable in `const` context.
    ///
    /// ```
    /// const NAME: failguard::Name = failguard::Name::from_static("search");
    /// assert_eq!(NAME.as_str(), "search");
    /// ```
    pub const fn from_static(name: &'static str) -> Self {
        Self(Repr::Static(name))
    }

    /// The name as a string slice.
    ///
    /// ```
    /// assert_eq!(failguard::Name::from("db").as_str(), "db");
    /// ```
    pub fn as_str(&self) -> &str {
        match &self.0 {
            Repr::Static(s) => s,
            Repr::Shared(s) => s,
        }
    }
}

impl From<&'static str> for Name {
    fn from(name: &'static str) -> Self {
        Self::from_static(name)
    }
}

impl From<String> for Name {
    fn from(name: String) -> Self {
        Self(Repr::Shared(name.into()))
    }
}

impl From<Arc<str>> for Name {
    fn from(name: Arc<str>) -> Self {
        Self(Repr::Shared(name))
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}

impl Borrow<str> for Name {
    fn borrow(&self) -> &str {
        self.as_str()
    }
}

impl PartialEq for Name {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Name {}

impl std::hash::Hash for Name {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq<str> for Name {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for Name {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// Written as a plain string.
///
/// ```
/// let name = failguard::Name::from("payments");
/// assert_eq!(serde_json::to_string(&name).unwrap(), r#""payments""#);
/// ```
#[cfg(feature = "serde")]
impl serde::Serialize for Name {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

/// Read from a string (kept behind an [`Arc`], as [`Name::from`] a `String` does).
///
/// ```
/// let name: failguard::Name = serde_json::from_str(r#""payments""#).unwrap();
/// assert_eq!(name, "payments");
/// ```
#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Name {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Name::from)
    }
}
