//! Units of measure as ERP imports want them: the UNECE Recommendation 20
//! code of a unit printed on a line item ("kg" is KGM, "pcs" is H87).

/// Printed units (lower case) and their UNECE Recommendation 20 codes.
const CODES: &[(&[&str], &str)] = &[
    (
        &["l", "lt", "ltr", "liter", "litre", "liters", "litres", "ℓ"],
        "LTR",
    ),
    (&["ml", "milliliter", "millilitre"], "MLT"),
    (
        &["kg", "kgs", "kgm", "kilo", "kilogram", "kilograms"],
        "KGM",
    ),
    (&["g", "gr", "grm", "gram", "grams", "gramme"], "GRM"),
    (&["t", "tonne", "tonnes"], "TNE"),
    (&["m", "mtr", "meter", "metre", "meters", "metres"], "MTR"),
    (&["cm"], "CMT"),
    (&["mm"], "MMT"),
    (&["km"], "KMT"),
    (&["m2", "m²", "sqm"], "MTK"),
    (&["m3", "m³"], "MTQ"),
    (
        &[
            "pc", "pcs", "piece", "pieces", "ea", "each", "unit", "units", "st", "stk", "stk.",
            "stuk", "stuks", "stück", "pce", "pces", "x",
        ],
        "H87",
    ),
    (&["set", "sets"], "SET"),
    (&["pair", "pairs", "pr"], "PR"),
    (&["box", "boxes"], "BX"),
    (
        &["h", "hr", "hrs", "hour", "hours", "uur", "uren", "std"],
        "HUR",
    ),
    (&["min", "minute", "minutes"], "MIN"),
    (
        &[
            "d", "day", "days", "dag", "dagen", "tag", "tage", "jour", "jours",
        ],
        "DAY",
    ),
    (
        &[
            "month", "months", "maand", "maanden", "mnd", "monat", "mois",
        ],
        "MON",
    ),
    (&["year", "years", "jaar", "jahr", "an", "ans"], "ANN"),
    (&["kwh"], "KWH"),
];

/// The UNECE code of a printed unit, case and surrounding space ignored.
pub(super) fn unece(unit: &str) -> Option<&'static str> {
    let unit = unit.trim().to_lowercase();
    CODES
        .iter()
        .find(|(printed, _)| printed.contains(&unit.as_str()))
        .map(|(_, code)| *code)
}

#[cfg(test)]
mod tests {
    #[test]
    fn printed_units_have_their_codes() {
        for (printed, code) in [
            ("kg", Some("KGM")),
            (" Units ", Some("H87")),
            ("g", Some("GRM")),
            ("L", Some("LTR")),
            ("Stück", Some("H87")),
            ("parsecs", None),
        ] {
            assert_eq!(super::unece(printed), code, "{printed}");
        }
    }
}
