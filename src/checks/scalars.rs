//! AppSync's date, time and address scalars, validated as AppSync does:
//! by value, not by shape. `2024-13-45` has the shape of an AWSDate and is
//! still refused by AppSync, so a check that matched only a regular
//! expression would pass items the API then fails to return.
//!
//! The rules follow AppSync's scalar reference:
//! - AWSDate: `YYYY-MM-DD` (a leading `-` for years before 0000), a real
//!   calendar day (leap years included), optionally a time zone offset;
//! - AWSTime: `hh:mm`, `hh:mm:ss` or `hh:mm:ss.f` (1 to 9 digits), hour 00
//!   to 23, minutes and seconds 00 to 59, optionally an offset;
//! - AWSDateTime: an AWSDate, `T`, an AWSTime, and an offset, which is
//!   compulsory;
//! - offsets: `Z`, `+hh:mm` or `+hh:mm:ss` (or `-`), at most 18 hours;
//! - AWSIPAddress: IPv4 in dotted quads (octets 0 to 255) or IPv6, with an
//!   optional CIDR prefix (`/0` to `/32`, `/0` to `/128`).

use std::net::{Ipv4Addr, Ipv6Addr};

/// `YYYY-MM-DD` with an optional offset.
pub fn valid_date(s: &str) -> bool {
    match date_part(s) {
        Some(rest) => rest.is_empty() || valid_offset(rest),
        None => false,
    }
}

/// `hh:mm[:ss[.f]]` with an optional offset.
pub fn valid_time(s: &str) -> bool {
    match time_part(s) {
        Some(rest) => rest.is_empty() || valid_offset(rest),
        None => false,
    }
}

/// An AWSDate, `T`, an AWSTime, and a compulsory offset.
pub fn valid_datetime(s: &str) -> bool {
    let Some(rest) = date_part(s) else { return false };
    let Some(rest) = rest.strip_prefix('T') else { return false };
    match time_part(rest) {
        Some(offset) => valid_offset(offset),
        None => false,
    }
}

/// IPv4 or IPv6, with an optional CIDR prefix.
pub fn valid_ip(s: &str) -> bool {
    let (addr, prefix) = match s.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s, None),
    };
    let max = if addr.parse::<Ipv4Addr>().is_ok() {
        32
    } else if addr.parse::<Ipv6Addr>().is_ok() {
        128
    } else {
        return false;
    };
    match prefix {
        None => true,
        Some(p) => !p.is_empty() && p.len() <= 3 && p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u32>().is_ok_and(|n| n <= max),
    }
}

/// Parses `digits` ASCII digits at the start of `s`.
fn number(s: &str, digits: usize) -> Option<(u32, &str)> {
    let head = s.get(..digits)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &s[digits..]))
}

/// The date at the start of `s`; returns what follows it.
fn date_part(s: &str) -> Option<&str> {
    let (negative, s) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    let (year, s) = number(s, 4)?;
    let s = s.strip_prefix('-')?;
    let (month, s) = number(s, 2)?;
    let s = s.strip_prefix('-')?;
    let (day, s) = number(s, 2)?;
    let year = if negative { -(year as i64) } else { year as i64 };
    ((1..=12).contains(&month) && day >= 1 && day <= days_in_month(year, month)).then_some(s)
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        4 | 6 | 9 | 11 => 30,
        2 if year.rem_euclid(4) == 0 && (year.rem_euclid(100) != 0 || year.rem_euclid(400) == 0) => 29,
        2 => 28,
        _ => 31,
    }
}

/// The time at the start of `s`; returns what follows it.
fn time_part(s: &str) -> Option<&str> {
    let (hour, s) = number(s, 2)?;
    let s = s.strip_prefix(':')?;
    let (minute, mut s) = number(s, 2)?;
    if hour > 23 || minute > 59 {
        return None;
    }
    if let Some(rest) = s.strip_prefix(':') {
        let (second, rest) = number(rest, 2)?;
        if second > 59 {
            return None;
        }
        s = rest;
        if let Some(fraction) = s.strip_prefix('.') {
            let digits = fraction.bytes().take_while(u8::is_ascii_digit).count();
            if !(1..=9).contains(&digits) {
                return None;
            }
            s = &fraction[digits..];
        }
    }
    Some(s)
}

/// `Z`, or `±hh:mm[:ss]` of at most 18 hours.
fn valid_offset(s: &str) -> bool {
    if s == "Z" {
        return true;
    }
    let Some(rest) = s.strip_prefix('+').or_else(|| s.strip_prefix('-')) else { return false };
    let Some((hours, rest)) = number(rest, 2) else { return false };
    let Some(rest) = rest.strip_prefix(':') else { return false };
    let Some((minutes, rest)) = number(rest, 2) else { return false };
    let seconds = match rest.strip_prefix(':') {
        None if rest.is_empty() => 0,
        None => return false,
        Some(r) => match number(r, 2) {
            Some((sec, "")) => sec,
            _ => return false,
        },
    };
    minutes <= 59 && seconds <= 59 && hours * 3600 + minutes * 60 + seconds <= 18 * 3600
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Valid and invalid values, the valid ones from AppSync's scalar
    /// reference where it gives examples.
    #[test]
    fn dates() {
        for ok in [
            "1970-01-01",
            "1970-01-01Z",
            "1970-01-01-07:00",
            "1970-01-01+05:30",
            "2024-02-29",
            "2000-02-29",
            "-0044-03-15",
            "1970-01-01+05:30:15",
        ] {
            assert!(valid_date(ok), "{ok}");
        }
        for bad in [
            "2024-13-45",
            "2024-00-10",
            "2024-01-00",
            "2023-02-29",
            "1900-02-29",
            "2024-04-31",
            "2024-1-01",
            "24-01-01",
            "2024-01-01T",
            "2024-01-01+5:00",
            "2024-01-01+05",
            "2024-01-01+19:00",
            "2024-01-01+05:60",
            "2024-01-01z",
            "",
            "2024/01/01",
            "２０２４-01-01",
        ] {
            assert!(!valid_date(bad), "{bad}");
        }
    }

    #[test]
    fn times() {
        for ok in ["12:30", "12:30Z", "12:30:24-07:00", "12:30:24.500+05:30", "00:00:00.123456789", "23:59:59", "12:30:24+05:30:15"] {
            assert!(valid_time(ok), "{ok}");
        }
        for bad in ["24:00", "12:60", "12:30:60", "12:30:24.", "12:30:24.1234567890", "12:30.5", "1:30", "12:30:24+24:00", "12:30 Z", ""] {
            assert!(!valid_time(bad), "{bad}");
        }
    }

    #[test]
    fn datetimes() {
        for ok in [
            "1970-01-01T12:00:00Z",
            "1970-01-01T12:00Z",
            "1970-01-01T12:00:00.2Z",
            "1970-01-01T12:00:00.277Z",
            "1970-01-01T12:00:00.123456789Z",
            "-2017-01-01T00:00Z",
            "2024-02-29T23:59:59+05:30",
            "1970-01-01T12:00:00-07:00:30",
        ] {
            assert!(valid_datetime(ok), "{ok}");
        }
        for bad in [
            "2021-01-11T12:30:24",
            "2024-13-01T00:00Z",
            "2023-02-29T00:00Z",
            "2024-01-01T25:00Z",
            "2024-01-01T12:61Z",
            "2024-01-01 12:00Z",
            "2024-01-01T12:00:00+0530",
            "2024-01-01T12:00:00+05:30:60",
        ] {
            assert!(!valid_datetime(bad), "{bad}");
        }
    }

    #[test]
    fn ip_addresses() {
        for ok in ["123.12.34.56", "0.0.0.0", "255.255.255.255", "123.45.67.89/16", "1a2b:3c4b::1234:4567", "::1", "::/0", "fe80::1/128"] {
            assert!(valid_ip(ok), "{ok}");
        }
        for bad in
            ["256.1.1.1", "1.2.3", "1.2.3.4.5", "1.2.3.4/33", "1.2.3.4/", "::g", "1:2:3:4:5:6:7:8:9", "fe80::1/129", "1.2.3.4/+8", ""]
        {
            assert!(!valid_ip(bad), "{bad}");
        }
    }
}
