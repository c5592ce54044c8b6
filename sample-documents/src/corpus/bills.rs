//! The corpus's bills: a decimal-comma utility bill with its amount in white
//! on green, and a three-page bank statement.

use rand::rngs::StdRng;
use rand::Rng;
use serde_json::{json, Value};

use super::layouts::truth;
use super::{amount, date, iso, money, pick, Drawn, Sheet, MONTHS};
use crate::pdf::{Font, WHITE};

/// A utility bill with decimal commas and the amount in white on a green band.
pub(super) fn utility_bill(rng: &mut StdRng) -> Drawn {
    let account = format!(
        "{}-{:04}-{:02}",
        rng.gen_range(1000..9999),
        rng.gen_range(0..9999),
        rng.gen_range(0..99)
    );
    let (y, m, d) = date(rng);
    let tenths = rng.gen_range(800..40000);
    let price = rng.gen_range(2400..3900);
    let total = (tenths * price / 1000 + 1250) as i64;
    let mut s = Sheet::new(Font::Helvetica, 10.0);
    s.pen(Font::HelveticaBold, 18.0)
        .at(40.0, 40.0, "Nordhafen Energy");
    s.pen(Font::Helvetica, 12.0)
        .at(40.0, 64.0, "Electricity bill");
    s.pen(Font::Helvetica, 10.0)
        .at(330.0, 40.0, "Account number")
        .at(460.0, 40.0, &account)
        .at(330.0, 56.0, "Bill date")
        .at(
            460.0,
            56.0,
            &format!("{d:02} {} {y}", &MONTHS[m as usize - 1][..3]),
        )
        .at(330.0, 72.0, "Period")
        .at(460.0, 72.0, "01.10. - 31.10.");
    s.fill(40.0, 150.0, 515.0, 20.0, [0.85, 0.85, 0.85]);
    s.pen(Font::HelveticaBold, 10.0)
        .at(46.0, 155.0, "Item")
        .right(550.0, 155.0, "EUR");
    s.pen(Font::Helvetica, 10.0)
        .at(
            46.0,
            180.0,
            &format!(
                "Consumption {},{} kWh",
                group_dots(tenths / 10),
                tenths % 10
            ),
        )
        .right(550.0, 180.0, &money((tenths * price / 1000) as i64, true))
        .at(46.0, 198.0, &format!("Energy price 0,{price:04} EUR/kWh"))
        .at(46.0, 216.0, "Standing charge")
        .right(550.0, 216.0, &money(1250, true));
    s.pen(Font::HelveticaBold, 13.0)
        .at(40.0, 290.0, "Amount to pay");
    s.fill(300.0, 282.0, 200.0, 30.0, [0.13, 0.55, 0.33]);
    s.pen(Font::HelveticaBold, 14.0).ink(WHITE).at(
        316.0,
        290.0,
        &format!("EUR {}", money(total, true)),
    );
    s.ink([0.0, 0.0, 0.0]).pen(Font::Helvetica, 9.0).at(
        40.0,
        780.0,
        "Nordhafen Energy, Kaiweg 4, Hamburg",
    );
    Drawn {
        width: 595.0,
        height: 842.0,
        pages: vec![s.done()],
        truth: truth(vec![
            ("account_number", json!(account)),
            ("bill_date", iso((y, m, d))),
            ("consumption", Value::from(tenths as f64 / 10.0)),
            ("amount", amount(total)),
        ]),
    }
}

/// Whole units grouped with dots, as a decimal-comma bill prints them.
fn group_dots(units: i32) -> String {
    money(i64::from(units) * 100, true)
        .trim_end_matches(",00")
        .to_string()
}

/// A three-page bank statement; the closing balance is on the last page.
pub(super) fn statement(rng: &mut StdRng) -> Drawn {
    let account = format!(
        "{:02}-{:04}-{:07}",
        rng.gen_range(10..99),
        rng.gen_range(0..9999),
        rng.gen_range(0..9_999_999)
    );
    let (y, m, d) = date(rng);
    let opening = rng.gen_range(50_000..900_000);
    let mut balance = opening;
    let mut pages = Vec::new();
    let mut transactions = Vec::new();
    for page in 1..=3 {
        let mut s = Sheet::new(Font::Helvetica, 9.0);
        s.pen(Font::HelveticaBold, 16.0)
            .at(50.0, 40.0, "Harbour Bank");
        s.pen(Font::Helvetica, 9.0)
            .right(562.0, 760.0, &format!("Page {page} of 3"));
        let mut top = 100.0;
        if page == 1 {
            s.pen(Font::Helvetica, 11.0)
                .at(50.0, 64.0, "Statement of account")
                .at(360.0, 40.0, "Account")
                .at(450.0, 40.0, &account)
                .at(360.0, 56.0, "Statement date")
                .at(450.0, 56.0, &format!("{m:02}/{d:02}/{y}"))
                .at(50.0, 110.0, "Opening balance")
                .right(300.0, 110.0, &money(opening, false));
            top = 140.0;
        }
        s.pen(Font::HelveticaBold, 9.0)
            .at(50.0, top, "Date")
            .at(110.0, top, "Description")
            .right(470.0, top, "Amount")
            .right(562.0, top, "Balance");
        s.pen(Font::Helvetica, 9.0);
        let rows = if page == 3 { rng.gen_range(4..12) } else { 24 };
        for i in 0..rows {
            let row = top + 20.0 + 22.0 * i as f32;
            if i % 2 == 0 {
                s.fill(48.0, row - 4.0, 516.0, 17.0, [0.92, 0.92, 0.92]);
            }
            let change = if rng.gen_bool(0.2) {
                rng.gen_range(10_000..200_000)
            } else {
                -rng.gen_range(200..20_000)
            };
            balance = (balance + change).max(1_000);
            let day = format!("{:02}/{:02}", m, rng.gen_range(1..=28));
            let description = pick(
                rng,
                &[
                    "Card payment GROCER",
                    "Transfer to savings",
                    "Salary ACME LTD",
                    "Direct debit POWER",
                    "ATM withdrawal",
                ],
            );
            transactions.push(json!({
                "date": day,
                "description": description,
                "amount": amount(change),
                "balance": amount(balance),
            }));
            s.at(50.0, row, &day)
                .at(110.0, row, description)
                .right(470.0, row, &money(change, false))
                .right(562.0, row, &money(balance, false));
        }
        if page == 3 {
            let row = top + 40.0 + 22.0 * rows as f32;
            s.pen(Font::HelveticaBold, 11.0)
                .at(50.0, row, "Closing balance")
                .right(562.0, row, &money(balance, false));
        }
        pages.push(s.done());
    }
    Drawn {
        width: 612.0,
        height: 792.0,
        pages,
        truth: truth(vec![
            ("account", json!(account)),
            ("statement_date", iso((y, m, d))),
            ("opening_balance", amount(opening)),
            ("closing_balance", amount(balance)),
            ("transactions", Value::Array(transactions)),
        ]),
    }
}
