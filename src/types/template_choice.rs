//! Which template reads a job's documents: one named by the client, or
//! `auto`, each document's own chosen by keywords (SPEC §2.1).

use std::fmt;

use super::{TemplateId, UnknownName};

/// A job's template, or `auto`. Also what a delivery is about: the template
/// its document was read with, or `auto` when none was chosen.
#[derive(Clone, Debug, PartialEq, Eq, Hash, sea_orm::DeriveValueType)]
#[sea_orm(value_type = "String")]
pub enum TemplateChoice {
    Fixed(TemplateId),
    Auto,
}

/// How clients and the database write [`TemplateChoice::Auto`].
pub const AUTO: &str = "auto";

impl TemplateChoice {
    /// The template named, when one is.
    pub fn fixed(&self) -> Option<&TemplateId> {
        match self {
            TemplateChoice::Fixed(id) => Some(id),
            TemplateChoice::Auto => None,
        }
    }

    pub fn as_str(&self) -> &str {
        match self {
            TemplateChoice::Fixed(id) => id.as_str(),
            TemplateChoice::Auto => AUTO,
        }
    }
}

impl From<TemplateId> for TemplateChoice {
    fn from(id: TemplateId) -> Self {
        TemplateChoice::Fixed(id)
    }
}

impl fmt::Display for TemplateChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for TemplateChoice {
    type Err = UnknownName;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s == AUTO {
            return Ok(TemplateChoice::Auto);
        }
        TemplateId::parse(s)
            .map(TemplateChoice::Fixed)
            .ok_or_else(|| UnknownName {
                what: "template",
                text: s.to_string(),
            })
    }
}

impl serde::Serialize for TemplateChoice {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for TemplateChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

impl From<&TemplateChoice> for sea_orm::Value {
    fn from(v: &TemplateChoice) -> Self {
        v.as_str().into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auto_and_ids_read_back() {
        let id = TemplateId::new();
        for choice in [TemplateChoice::Auto, TemplateChoice::Fixed(id.clone())] {
            let text = choice.to_string();
            assert_eq!(text.parse::<TemplateChoice>().unwrap(), choice);
        }
        assert_eq!(TemplateChoice::Auto.to_string(), "auto");
        assert!("Auto".parse::<TemplateChoice>().is_err());
        assert_eq!(TemplateChoice::from(id.clone()).fixed(), Some(&id));
    }
}
