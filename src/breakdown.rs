//! "Split this into micro-steps": the rule-based suggestions used when no language model is
//! configured (or it fails), and the reading of a model's reply. Pure and deterministic.
//!
//! Rules: a title that already lists its parts ("wash, dry and fold the laundry", "call Sam
//! then book the table") becomes those parts; otherwise the task's first word picks a
//! small, concrete recipe (write, clean, call, email, read, plan, fix, buy, study, pay…),
//! and anything else gets a generic start-small sequence. Every list starts with a step that
//! takes two minutes, because starting is the hard part. An estimate is shared out over the
//! steps in whole minutes.

use serde::{Deserialize, Serialize};

/// The most steps taken from a suggestion, and the longest step title.
pub const MAX_STEPS: usize = 12;
pub const MAX_STEP_CHARS: usize = 200;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Suggestion {
    pub title: String,
    pub estimate_minutes: Option<u32>,
}

fn recipe(verb: &str, rest: &str) -> Option<Vec<String>> {
    let it = if rest.is_empty() { "it".to_owned() } else { rest.to_owned() };
    let steps: Vec<String> = match verb {
        "write" | "draft" => vec![
            format!("Open a blank page for {it}"),
            "Jot down three points it must make".to_owned(),
            "Write a rough first draft, badly on purpose".to_owned(),
            "Read it once and fix what stands out".to_owned(),
        ],
        "clean" | "tidy" | "declutter" => vec![
            "Set a 10-minute timer".to_owned(),
            "Put away anything that has a place".to_owned(),
            format!("Clear and wipe the surfaces of {it}"),
            "Take out what goes to the bin".to_owned(),
        ],
        "call" | "phone" | "ring" => vec![
            format!("Find the number for {it}"),
            "Write down the one thing to ask or say".to_owned(),
            "Make the call".to_owned(),
            "Note what was agreed and the next step".to_owned(),
        ],
        "email" | "reply" | "answer" | "message" | "text" => {
            vec![format!("Open the thread with {it}"), "Write three plain sentences".to_owned(), "Send it".to_owned()]
        }
        "read" | "review" => vec![
            format!("Get {it} and a quiet spot"),
            "Read for 10 minutes".to_owned(),
            "Note one thing worth keeping".to_owned(),
        ],
        "plan" | "organise" | "organize" | "prepare" => vec![
            format!("Write what a good outcome for {it} looks like"),
            "List everything that comes to mind".to_owned(),
            "Pick the first three things and give each a day".to_owned(),
        ],
        "fix" | "repair" => vec![
            format!("Look at {it} and write what is wrong"),
            "Gather the tools or parts needed".to_owned(),
            "Do the fix".to_owned(),
            "Check that it works".to_owned(),
        ],
        "buy" | "order" | "get" => vec![
            format!("Write down exactly which {it} you need"),
            "Pick where to get it".to_owned(),
            "Buy it".to_owned(),
        ],
        "study" | "learn" | "practice" | "practise" => vec![
            format!("Open your notes on {it}"),
            "Study for one 25-minute session".to_owned(),
            "Write three things you now know".to_owned(),
        ],
        "pay" | "file" | "renew" | "book" | "schedule" => vec![
            format!("Find what you need to {verb} {it} (login, number, papers)"),
            format!("{} {it}", capitalised(verb)),
            "Save the confirmation".to_owned(),
        ],
        _ => return None,
    };
    Some(steps)
}

fn capitalised(text: &str) -> String {
    let mut chars = text.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().collect::<String>() + chars.as_str(),
        None => String::new(),
    }
}

/// The parts of a title that lists them: split on commas, semicolons, " and ", " then ".
fn listed_parts(title: &str) -> Vec<String> {
    let mut parts = vec![title.to_owned()];
    for separator in [";", ",", " and then ", " then ", " and "] {
        parts = parts.iter().flat_map(|p| p.split(separator).map(str::to_owned).collect::<Vec<_>>()).collect();
    }
    parts.into_iter().map(|p| p.trim().trim_end_matches('.').trim().to_owned()).filter(|p| !p.is_empty()).collect()
}

/// Micro-steps for a task, without a language model.
pub fn suggest(title: &str, estimate_minutes: Option<u32>) -> Vec<Suggestion> {
    let title = title.trim();
    let parts = listed_parts(title);
    let words: Vec<&str> = title.split_whitespace().collect();
    let verb = words.first().map(|w| w.to_lowercase()).unwrap_or_default();
    let rest = words.get(1..).map(|w| w.join(" ")).unwrap_or_default();
    let mut steps: Vec<String> = if parts.len() >= 2 {
        // The verb of the first part carries over ("wash, dry and fold the laundry").
        let mut list: Vec<String> = parts.iter().map(|p| capitalised(p)).collect();
        list.insert(0, "Get everything you need in one place".to_owned());
        list
    } else if let Some(list) = recipe(&verb, &rest) {
        list
    } else {
        vec![
            format!("Decide what “done” means for {}", if title.is_empty() { "this" } else { title }),
            "Gather what you need".to_owned(),
            "Do the first 5 minutes".to_owned(),
            "Keep going, or take a short break and come back".to_owned(),
            "Wrap up and write down the next step".to_owned(),
        ]
    };
    steps.truncate(MAX_STEPS);
    share(steps, estimate_minutes)
}

/// Shares an estimate over the steps: the first gets 2 minutes (or what there is), the rest
/// split evenly, the remainder to the earliest.
pub fn share(steps: Vec<String>, estimate: Option<u32>) -> Vec<Suggestion> {
    let Some(total) = estimate.filter(|t| *t > 0) else {
        return steps.into_iter().map(|title| Suggestion { title, estimate_minutes: None }).collect();
    };
    let n = steps.len() as u32;
    let first = total.min(2);
    let rest_total = total - first;
    let others = n.saturating_sub(1).max(1);
    steps
        .into_iter()
        .enumerate()
        .map(|(i, title)| {
            let minutes = if i == 0 {
                first
            } else {
                let i = i as u32 - 1;
                rest_total / others + u32::from(i < rest_total % others)
            };
            Suggestion { title, estimate_minutes: (minutes > 0).then_some(minutes) }
        })
        .collect()
}

/// Reads a model's reply: one step per line, list markers (`1.`, `-`, `*`, `•`, `[ ]`) and
/// surrounding quotes dropped, empty lines and headings ending in `:` skipped, at most
/// [`MAX_STEPS`] steps of at most [`MAX_STEP_CHARS`] characters.
pub fn read_reply(text: &str) -> Vec<String> {
    text.lines()
        .map(|line| {
            let mut line = line.trim();
            loop {
                let before = line;
                line = line.trim_start_matches(['-', '*', '•', '–', '#']).trim_start();
                line = line.strip_prefix("[ ]").unwrap_or(line).trim_start();
                let digits = line.chars().take_while(|c| c.is_ascii_digit()).count();
                if digits > 0 && line[digits..].starts_with(['.', ')', ':']) {
                    line = line[digits + 1..].trim_start();
                }
                if line == before {
                    break;
                }
            }
            line.replace("**", "").trim_matches(['"', '“', '”', '*']).trim().to_owned()
        })
        .filter(|line| !line.is_empty() && !line.ends_with(':'))
        .map(|line| line.chars().take(MAX_STEP_CHARS).collect())
        .take(MAX_STEPS)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn titles(list: &[Suggestion]) -> Vec<&str> {
        list.iter().map(|s| s.title.as_str()).collect()
    }

    #[test]
    fn a_title_that_lists_its_parts_becomes_those_parts() {
        let steps = suggest("Wash, dry and fold the laundry", None);
        assert_eq!(titles(&steps), ["Get everything you need in one place", "Wash", "Dry", "Fold the laundry"]);
        let steps = suggest("Call Sam then book the table", None);
        assert_eq!(titles(&steps)[1..], ["Call Sam", "Book the table"]);
    }

    #[test]
    fn known_verbs_get_a_concrete_recipe_and_others_a_gentle_generic_one() {
        let steps = suggest("Write the quarterly report", None);
        assert_eq!(steps[0].title, "Open a blank page for the quarterly report");
        assert_eq!(steps.len(), 4);
        let steps = suggest("Sort out the garage", None);
        assert!(steps[0].title.contains("Sort out the garage"));
        assert_eq!(steps.len(), 5);
        assert!(!suggest("", None).is_empty(), "even an empty title gets a start");
    }

    #[test]
    fn the_estimate_is_shared_out_starting_with_two_minutes() {
        let steps = suggest("Write the essay", Some(60));
        let minutes: Vec<u32> = steps.iter().map(|s| s.estimate_minutes.unwrap_or(0)).collect();
        assert_eq!(minutes, [2, 20, 19, 19]);
        assert_eq!(minutes.iter().sum::<u32>(), 60);
        let tiny = suggest("Write a note", Some(1));
        assert_eq!(tiny[0].estimate_minutes, Some(1));
        assert_eq!(tiny[1].estimate_minutes, None);
    }

    #[test]
    fn a_model_reply_is_read_one_step_per_line() {
        let reply =
            "Here are the steps:\n\n1. Open the laptop\n2) **Write** the intro\n- [ ] Add a chart\n• \"Send it\"\n";
        assert_eq!(read_reply(reply), ["Open the laptop", "Write the intro", "Add a chart", "Send it"]);
        let many = (1..40).map(|n| format!("{n}. step {n}")).collect::<Vec<_>>().join("\n");
        assert_eq!(read_reply(&many).len(), MAX_STEPS);
        assert!(read_reply("").is_empty());
    }
}
