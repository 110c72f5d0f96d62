//! The cloud's rate-limit headers (`wyze.md` §3): `X-RateLimit-Remaining`
//! and `X-RateLimit-Reset-By`, whose date is written `%a %b %d %H:%M:%S %Z %Y`.
//! Pure: no clock; the client compares the reset with its own.

/// What the rate-limit headers said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    /// `X-RateLimit-Remaining`.
    pub remaining: u64,
    /// `X-RateLimit-Reset-By` as Unix seconds, when it parsed.
    pub reset_unix: Option<u64>,
}

/// Reads `X-RateLimit-Remaining` and `X-RateLimit-Reset-By` (names are
/// case-insensitive; `lookup` gets them lower-cased).
pub fn parse_rate_limit<'a>(lookup: impl Fn(&str) -> Option<&'a str>) -> Option<RateLimit> {
    let remaining = lookup("x-ratelimit-remaining")?.trim().parse().ok()?;
    let reset_unix = lookup("x-ratelimit-reset-by").and_then(parse_reset_by);
    Some(RateLimit {
        remaining,
        reset_unix,
    })
}

/// Parses the `X-RateLimit-Reset-By` date, `%a %b %d %H:%M:%S %Z %Y`
/// (`Thu Nov 21 10:00:00 GMT 2026`), to Unix seconds. The zone is taken as
/// UTC (`GMT`/`UTC`/`Z`); any other zone name is refused.
pub fn parse_reset_by(s: &str) -> Option<u64> {
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_weekday, month, day, time, zone, year] = parts[..] else {
        return None;
    };
    if !matches!(zone, "GMT" | "UTC" | "Z") {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(month))? as u32 + 1;
    let day: u32 = day.parse().ok().filter(|d| (1..=31).contains(d))?;
    let year: i64 = year.parse().ok().filter(|y| (1970..=9999).contains(y))?;
    let mut hms = time.split(':').map(|p| p.parse::<u64>().ok());
    let (Some(Some(h)), Some(Some(m)), Some(Some(sec)), None) =
        (hms.next(), hms.next(), hms.next(), hms.next())
    else {
        return None;
    };
    if h > 23 || m > 59 || sec > 60 {
        return None;
    }
    let days = days_from_civil(year, month, day);
    u64::try_from(days)
        .ok()
        .map(|d| d * 86_400 + h * 3600 + m * 60 + sec)
}

/// Formats Unix seconds the way `X-RateLimit-Reset-By` is written (for mocks and tests).
pub fn format_reset_by(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let rem = unix % 86_400;
    let (y, mo, d) = civil_from_days(days);
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} GMT {}",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(mo - 1) as usize],
        d,
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        y
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = i64::from((m + 9) % 12);
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_and_their_date_format() {
        // 2026-11-21 was a Saturday.
        let t = parse_reset_by("Sat Nov 21 10:00:00 GMT 2026").unwrap();
        assert_eq!(t, 1_795_255_200);
        assert_eq!(format_reset_by(t), "Sat Nov 21 10:00:00 GMT 2026");
        assert_eq!(format_reset_by(0), "Thu Jan 01 00:00:00 GMT 1970");
        assert_eq!(parse_reset_by("Thu Jan 01 00:00:00 UTC 1970"), Some(0));
        assert_eq!(parse_reset_by("Thu Jan 01 00:00:00 PST 1970"), None);
        assert_eq!(parse_reset_by("garbage"), None);
        assert_eq!(parse_reset_by("Thu Foo 01 00:00:00 GMT 1970"), None);
        let headers = [
            ("x-ratelimit-remaining", " 7"),
            ("x-ratelimit-reset-by", "Sat Nov 21 10:00:00 GMT 2026"),
        ];
        let look = |k: &str| headers.iter().find(|(n, _)| *n == k).map(|(_, v)| *v);
        assert_eq!(
            parse_rate_limit(look),
            Some(RateLimit {
                remaining: 7,
                reset_unix: Some(t)
            })
        );
        assert_eq!(parse_rate_limit(|_| None), None);
    }
}
