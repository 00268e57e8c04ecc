//! Proleptic Gregorian dates from and to days since 1970-01-01 (Howard Hinnant's algorithms), so
//! timestamps can be written and read without a date library.

/// (year, month 1–12, day 1–31) of a day count since 1970-01-01.
pub fn from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Days since 1970-01-01 of a date (month 1–12).
pub fn to_days(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// (date, seconds into the day) of Unix seconds, UTC.
pub fn from_unix(secs: i64) -> ((i64, i64, i64), i64) {
    (from_days(secs.div_euclid(86_400)), secs.rem_euclid(86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(from_days(0), (1970, 1, 1));
        assert_eq!(from_days(11_016), (2000, 2, 29));
        assert_eq!(from_days(-1), (1969, 12, 31));
        assert_eq!(from_days(19_723), (2024, 1, 1));
        assert_eq!(from_days(20_513), (2026, 3, 1));
        for d in [-800_000, -1, 0, 59, 11_016, 20_000, 2_000_000] {
            let (y, m, day) = from_days(d);
            assert_eq!(to_days(y, m, day), d);
        }
        assert_eq!(from_unix(1_704_067_199), ((2023, 12, 31), 86_399));
    }
}
