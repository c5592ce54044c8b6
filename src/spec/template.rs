//! What a template says besides its fields and options (SPEC §2.1): the
//! keywords that choose it for `"template_id": "auto"`, and blocks of named
//! groups; and the whole template compiled, as extraction uses it.

use std::collections::BTreeMap;

use regex::Regex;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::checks::{compile_checks, Check, CheckDef};
use super::field::{Field, FieldType};
use super::options::{text_rules, DateRules, Options, TextRules};
use super::patterns::Budget;
use super::{invalid, InvalidTemplate};

/// The template-level members of SPEC §2.1, stored together.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TemplateRules {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub exclude_keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<i32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub blocks: Vec<BlockDef>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub checks: Vec<CheckDef>,
}

/// invoice2data's `tables`: between `start` and `end`, each line is searched
/// with `body` and its named groups become fields of the result.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlockDef {
    pub start: String,
    pub end: String,
    /// A regex with named groups, such as `(?P<gstin>\w+)\s+(?P<cin>\w+)`.
    pub body: String,
    /// Types of the groups (`number`, `integer`, `date`, `boolean`); strings otherwise.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schema(value_type = BTreeMap<String, super::FieldTypeName>)]
    pub types: BTreeMap<String, String>,
}

/// The default priority of a template with keywords.
pub const DEFAULT_PRIORITY: i32 = 5;
/// Most keywords (and, apart, exclude keywords) one template may list.
pub const MAX_KEYWORDS: usize = 50;
/// Most blocks one template may list.
pub const MAX_BLOCKS: usize = 20;

/// A block, compiled.
#[derive(Clone, Debug)]
pub struct Block {
    pub start: Regex,
    pub end: Regex,
    pub body: Regex,
    /// Each named group of `body`, in order, with its type.
    pub groups: Vec<(String, FieldType)>,
}

/// What chooses a template for a document, compiled.
#[derive(Clone, Debug)]
pub struct Selector {
    pub keywords: Vec<Regex>,
    pub exclude: Vec<Regex>,
    pub priority: i32,
}

/// A template compiled for extraction: every regex built once.
#[derive(Clone, Debug)]
pub struct Compiled {
    pub fields: Vec<Field>,
    pub text: TextRules,
    pub dates: DateRules,
    pub blocks: Vec<Block>,
    pub selector: Option<Selector>,
    pub checks: Vec<Check>,
}

impl Compiled {
    /// Fields alone, with default text rules: the form tools and tests build.
    pub fn of_fields(fields: Vec<Field>) -> Self {
        Self {
            fields,
            text: TextRules::default(),
            dates: DateRules::default(),
            blocks: Vec::new(),
            selector: None,
            checks: Vec::new(),
        }
    }

    /// Names of the values a document gets: fields, then blocks' groups.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.fields.iter().map(|f| f.name.as_str()).chain(
            self.blocks
                .iter()
                .flat_map(|b| b.groups.iter().map(|(n, _)| n.as_str())),
        )
    }
}

/// Checks the template-level members, naming the member and the problem.
pub fn check_rules(rules: &TemplateRules, fields: &[Field]) -> Result<(), InvalidTemplate> {
    compile_rules(rules, fields, &mut Budget::default())?;
    compile_checks(&rules.checks, fields).map_err(invalid)?;
    Ok(())
}

/// Compiles the template-level members, charging their regexes to `budget`.
pub fn compile_rules(
    rules: &TemplateRules,
    fields: &[Field],
    budget: &mut Budget,
) -> Result<(Vec<Block>, Option<Selector>), InvalidTemplate> {
    for (member, list) in [
        ("keywords", &rules.keywords),
        ("exclude_keywords", &rules.exclude_keywords),
    ] {
        if list.len() > MAX_KEYWORDS {
            return Err(invalid(format!(
                "{member}: {} entries, more than the limit of {MAX_KEYWORDS}",
                list.len()
            )));
        }
        if let Some(i) = list.iter().position(|k| k.trim().is_empty()) {
            return Err(invalid(format!("{member}[{i}]: must not be empty")));
        }
    }
    if rules.keywords.is_empty() && !rules.exclude_keywords.is_empty() {
        return Err(invalid(
            "exclude_keywords: needs keywords (a template is chosen by its keywords)",
        ));
    }
    if rules.keywords.is_empty() && rules.priority.is_some() {
        return Err(invalid(
            "priority: needs keywords (it ranks templates chosen by keywords)",
        ));
    }
    let mut regexes = |member: &str, list: &[String]| -> Result<Vec<Regex>, InvalidTemplate> {
        list.iter()
            .enumerate()
            .map(|(i, k)| {
                budget
                    .compile(k)
                    .map_err(|e| invalid(format!("{member}[{i}]: invalid regex: {e}")))
            })
            .collect()
    };
    let keywords = regexes("keywords", &rules.keywords)?;
    let exclude = regexes("exclude_keywords", &rules.exclude_keywords)?;
    let selector = (!keywords.is_empty()).then(|| Selector {
        keywords,
        exclude,
        priority: rules.priority.unwrap_or(DEFAULT_PRIORITY),
    });
    if rules.blocks.len() > MAX_BLOCKS {
        return Err(invalid(format!(
            "blocks: {} blocks, more than the limit of {MAX_BLOCKS}",
            rules.blocks.len()
        )));
    }
    let mut names: Vec<String> = fields.iter().map(|f| f.name.clone()).collect();
    let mut blocks = Vec::with_capacity(rules.blocks.len());
    for (i, b) in rules.blocks.iter().enumerate() {
        let re = |member: &str, p: &str, budget: &mut Budget| {
            budget
                .compile(p)
                .map_err(|e| invalid(format!("blocks[{i}].{member}: invalid regex: {e}")))
        };
        let (start, end, body) = (
            re("start", &b.start, budget)?,
            re("end", &b.end, budget)?,
            re("body", &b.body, budget)?,
        );
        let mut groups = Vec::new();
        for name in body.capture_names().flatten() {
            let ty = match b.types.get(name) {
                Some(t) => match FieldType::parse(t) {
                    Ok(FieldType::Lines) => {
                        return Err(invalid(format!(
                            "blocks[{i}].types.{name}: a block's group cannot be lines"
                        )))
                    }
                    Ok(ty) => ty,
                    Err(e) => return Err(invalid(format!("blocks[{i}].types.{name}: {e}"))),
                },
                None => FieldType::String,
            };
            if names.iter().any(|n| n == name) {
                return Err(invalid(format!(
                    "blocks[{i}].body: the group {name:?} has the name of a field or of another block's group"
                )));
            }
            names.push(name.to_string());
            groups.push((name.to_string(), ty));
        }
        if groups.is_empty() {
            return Err(invalid(format!(
                "blocks[{i}].body: needs named groups such as (?P<total>\\d+)"
            )));
        }
        if let Some(extra) = b
            .types
            .keys()
            .find(|k| !groups.iter().any(|(n, _)| n == *k))
        {
            return Err(invalid(format!(
                "blocks[{i}].types.{extra}: no group of that name in body"
            )));
        }
        blocks.push(Block {
            start,
            end,
            body,
            groups,
        });
    }
    Ok((blocks, selector))
}

/// Compiles a whole stored template.
pub fn compile_template(
    defs: &[super::FieldDef],
    options: &Options,
    rules: &TemplateRules,
) -> Result<Compiled, InvalidTemplate> {
    let mut budget = Budget::default();
    let fields = defs
        .iter()
        .enumerate()
        .map(|(i, d)| {
            super::field::compile(d, &mut budget)
                .map_err(|e| invalid(format!("fields[{i}] (field {:?}): {e}", d.name)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let text = text_rules(options, &mut budget)?;
    let (blocks, selector) = compile_rules(rules, &fields, &mut budget)?;
    let checks = compile_checks(&rules.checks, &fields).map_err(invalid)?;
    Ok(Compiled {
        fields,
        text,
        dates: options.dates(),
        blocks,
        selector,
        checks,
    })
}
