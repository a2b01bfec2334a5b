//! Times of day as people type them into a time field: `9:30`, `09:30`, `930`, `9.30`,
//! `9h30`, `9`, `9:30 pm`, `9pm`, `12 am`, `21:30`. A 24-hour clock unless am or pm is
//! written; the same reading in the browser and on the server.

use chrono::NaiveTime;

/// A time as typed into a time field, written `HH:MM` when it names one; otherwise as
/// typed (trimmed), for the form to refuse with its own message. `24:00` (the end of a
/// day) stays as it is.
pub fn typed_time(input: &str) -> String {
    parse_time_of_day(input).map_or_else(|| input.trim().to_owned(), |t| t.format("%H:%M").to_string())
}

/// The time of day `input` names, or `None` when it names none (`24:00`, `13 pm`, `9:7`,
/// words).
pub fn parse_time_of_day(input: &str) -> Option<NaiveTime> {
    if input.len() > 16 {
        return None;
    }
    let text: String = input.chars().filter(|c| !c.is_whitespace()).collect::<String>().to_ascii_lowercase();
    let mut clock = text.as_str();
    let mut meridiem = None;
    for (suffix, pm) in [
        ("a.m.", false),
        ("a.m", false),
        ("am", false),
        ("a", false),
        ("p.m.", true),
        ("p.m", true),
        ("pm", true),
        ("p", true),
    ] {
        if let Some(rest) = clock.strip_suffix(suffix) {
            clock = rest;
            meridiem = Some(pm);
            break;
        }
    }
    let digits = |s: &str| !s.is_empty() && s.len() <= 2 && s.bytes().all(|b| b.is_ascii_digit());
    let (hour, minute) = match clock.find([':', '.', 'h']) {
        Some(at) => {
            let (hour, minute) = (&clock[..at], &clock[at + 1..]);
            let minute = if minute.is_empty() && clock.as_bytes()[at] == b'h' { "00" } else { minute };
            if !digits(hour) || minute.len() != 2 || !digits(minute) {
                return None;
            }
            (hour, minute)
        }
        None if clock.bytes().all(|b| b.is_ascii_digit()) => match clock.len() {
            1 | 2 => (clock, "00"),
            3 | 4 => clock.split_at(clock.len() - 2),
            _ => return None,
        },
        None => return None,
    };
    let (mut hour, minute): (u32, u32) = (hour.parse().ok()?, minute.parse().ok()?);
    match meridiem {
        Some(pm) => {
            if !(1..=12).contains(&hour) {
                return None;
            }
            hour = match (hour, pm) {
                (12, false) => 0,
                (12, true) => 12,
                (h, true) => h + 12,
                (h, false) => h,
            };
        }
        None if hour > 23 => return None,
        None => {}
    }
    NaiveTime::from_hms_opt(hour, minute, 0)
}

#[cfg(test)]
mod tests {
    use super::{parse_time_of_day, typed_time};

    #[test]
    fn typed_times_are_written_in_24_hours_or_left_as_typed() {
        assert_eq!(typed_time(" 5 pm "), "17:00");
        assert_eq!(typed_time("930"), "09:30");
        assert_eq!(typed_time("24:00"), "24:00");
        assert_eq!(typed_time(" soon "), "soon");
    }
    use chrono::NaiveTime;

    fn at(h: u32, m: u32) -> Option<NaiveTime> {
        NaiveTime::from_hms_opt(h, m, 0)
    }

    #[test]
    fn times_read_as_typed() {
        for (text, want) in [
            ("9:30", at(9, 30)),
            ("09:30", at(9, 30)),
            (" 21:05 ", at(21, 5)),
            ("930", at(9, 30)),
            ("0930", at(9, 30)),
            ("2130", at(21, 30)),
            ("9.30", at(9, 30)),
            ("9h30", at(9, 30)),
            ("9h", at(9, 0)),
            ("9", at(9, 0)),
            ("0", at(0, 0)),
            ("23:59", at(23, 59)),
            ("9:30 pm", at(21, 30)),
            ("9:30PM", at(21, 30)),
            ("9 p.m.", at(21, 0)),
            ("9pm", at(21, 0)),
            ("9 a", at(9, 0)),
            ("12 am", at(0, 0)),
            ("12:15 am", at(0, 15)),
            ("12 pm", at(12, 0)),
            ("12:45 PM", at(12, 45)),
        ] {
            assert_eq!(parse_time_of_day(text), want, "{text}");
        }
    }

    #[test]
    fn what_is_not_a_time_is_refused() {
        for text in [
            "",
            "24:00",
            "25",
            "13 pm",
            "0 am",
            "9:7",
            "9:777",
            "12345",
            "noon",
            "9:30 xm",
            ":30",
            "9:",
            "9::30",
            "٩:٣٠",
            "9:30 pm pm",
            "99999999999999999999",
        ] {
            assert_eq!(parse_time_of_day(text), None, "{text:?}");
        }
    }
}
