//! Statistics as pictures: tasks done and focus minutes per day, a streak heatmap, energy
//! against focus time, focus per zone, and estimates against focused time. Server-rendered
//! SVG (each mark has a `<title>`, the browser's own tooltip); once hydrated, hovering or
//! focusing a mark shows its figure under the chart too.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::components::A;
use leptos_router::hooks::use_query_map;

use crate::components::{RequireUser, count};
use crate::models::{DayStat, StatsInfo};
use crate::server::tasks::load_stats;

#[component]
pub fn StatsPage() -> impl IntoView {
    let query = use_query_map();
    let days = move || query.read().get("days").and_then(|d| d.parse::<i64>().ok()).unwrap_or(28);
    let stats = Resource::new(days, load_stats);
    view! {
        <Title text="Statistics" />
        <RequireUser>
            <section class="card stats-page">
                <h1>"Statistics"</h1>
                <nav class="tabs" aria-label="Period">
                    {[(14, "2 weeks"), (28, "4 weeks"), (91, "3 months")].into_iter().map(|(n, label)| view! {
                        <a href=format!("/stats?days={n}") aria-current=move || (days() == n).then_some("page")>{label}</a>
                    }).collect_view()}
                    <A href="/focus">"Focus"</A>
                </nav>
                <Transition fallback=|| view! { <p class="loading">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        match stats.await {
                            Ok(stats) => view! { <Charts stats /> }.into_any(),
                            Err(error) => view! { <p class="form-error">{error.to_string()}</p> }.into_any(),
                        }
                    })}
                </Transition>
            </section>
        </RequireUser>
    }
    .into_any()
}

#[component]
fn Charts(stats: StatsInfo) -> impl IntoView {
    let tasks: Vec<Bar> = stats
        .days
        .iter()
        .map(|d| Bar {
            label: short_date(&d.date),
            value: d.tasks_done as f64,
            tip: format!(
                "{}: {}, {} done",
                d.date,
                count(d.tasks_done, "task", "tasks"),
                count(d.steps_done, "step", "steps")
            ),
        })
        .collect();
    let focus: Vec<Bar> = stats
        .days
        .iter()
        .map(|d| Bar {
            label: short_date(&d.date),
            value: d.focus_minutes as f64,
            tip: format!("{}: {} min of focus", d.date, d.focus_minutes),
        })
        .collect();
    let zones: Vec<Bar> = stats
        .zones
        .iter()
        .map(|z| Bar {
            label: z.zone.clone(),
            value: z.focus_minutes as f64,
            tip: format!("{}: {} min", z.zone, z.focus_minutes),
        })
        .collect();
    // Focus minutes per week (weeks starting on Monday), oldest first.
    let mut weeks: Vec<(String, i64)> = Vec::new();
    for day in &stats.days {
        let Ok(date) = chrono::NaiveDate::parse_from_str(&day.date, "%Y-%m-%d") else { continue };
        let monday = date - chrono::Duration::days(i64::from(chrono::Datelike::weekday(&date).num_days_from_monday()));
        let key = monday.format("%Y-%m-%d").to_string();
        match weeks.last_mut() {
            Some((week, minutes)) if *week == key => *minutes += day.focus_minutes,
            _ => weeks.push((key, day.focus_minutes)),
        }
    }
    let weekly: Vec<Bar> = weeks
        .into_iter()
        .map(|(week, minutes)| Bar {
            label: short_date(&week),
            value: minutes as f64,
            tip: format!("Week of {week}: {minutes} min of focus"),
        })
        .collect();
    let total_tasks: i64 = stats.days.iter().map(|d| d.tasks_done).sum();
    let total_focus: i64 = stats.days.iter().map(|d| d.focus_minutes).sum();
    view! {
        <p class="hint" data-testid="stats-summary">
            {format!(
                "{} done and {} of focus in {}.",
                count(total_tasks, "task", "tasks"),
                count(total_focus, "minute", "minutes"),
                count(stats.days.len() as i64, "day", "days")
            )}
        </p>
        <h2>"Tasks done per day"</h2>
        <BarChart bars=tasks label="Tasks done per day" testid="chart-tasks" color="var(--success)" />
        <h2>"Focus minutes per day"</h2>
        <BarChart bars=focus label="Focus minutes per day" testid="chart-focus" color="var(--accent)" />
        <h2>"Focus minutes per week"</h2>
        <BarChart bars=weekly label="Focus minutes per week" testid="chart-weeks" color="var(--accent)" />
        <h2>"Streak"</h2>
        <Heatmap days=stats.days.clone() />
        <h2>"Energy and focus"</h2>
        <Scatter days=stats.days />
        {(!zones.is_empty()).then(|| view! {
            <h2>"Focus per zone"</h2>
            <BarChart bars=zones label="Focus minutes per zone" testid="chart-zones" color="var(--accent)" />
        })}
        {(!stats.estimates.is_empty()).then(|| view! {
            <h2>"Estimated and focused"</h2>
            <ul class="estimates" data-testid="estimates">
                {stats.estimates.into_iter().map(|e| {
                    let most = e.estimate_minutes.max(e.focus_minutes).max(1) as f64;
                    view! {
                        <li>
                            <span>{e.title.clone()}</span>
                            <svg viewBox="0 0 100 10" class="pair" role="img" aria-label=format!("{}: estimated {} min, focused {} min", e.title, e.estimate_minutes, e.focus_minutes)>
                                <rect x="0" y="0" height="4" width=format!("{:.1}", e.estimate_minutes as f64 / most * 100.0) class="estimate"><title>{format!("Estimated {} min", e.estimate_minutes)}</title></rect>
                                <rect x="0" y="6" height="4" width=format!("{:.1}", e.focus_minutes as f64 / most * 100.0) class="actual"><title>{format!("Focused {} min", e.focus_minutes)}</title></rect>
                            </svg>
                        </li>
                    }
                }).collect_view()}
            </ul>
        })}
    }
    .into_any()
}

fn short_date(date: &str) -> String {
    date.get(5..).unwrap_or(date).to_owned()
}

#[derive(Clone)]
struct Bar {
    label: String,
    value: f64,
    tip: String,
}

#[component]
fn BarChart(bars: Vec<Bar>, label: &'static str, testid: &'static str, color: &'static str) -> impl IntoView {
    let tip = RwSignal::new(None::<String>);
    // A value axis on the left (0, half and the top, a round number) with grid lines.
    let (left, width, height, bottom) = (40.0, 600.0, 160.0, 20.0);
    let top = nice_ceiling(bars.iter().map(|b| b.value).fold(0.0f64, f64::max));
    let plot = width - left;
    let step = plot / bars.len().max(1) as f64;
    let every = (bars.len() / 7).max(1);
    let y = move |value: f64| height - value / top * (height - 10.0);
    let ticks = [0.0, top / 2.0, top]
        .into_iter()
        .map(|value| {
            view! {
                <line x1=left.to_string() x2=width.to_string() y1=format!("{:.1}", y(value)) y2=format!("{:.1}", y(value)) class=if value == 0.0 { "axis" } else { "grid" } />
                <text x=(left - 6.0).to_string() y=format!("{:.1}", y(value) + 3.5) text-anchor="end" class="tick">{number(value)}</text>
            }
        })
        .collect_view();
    let rows = bars
        .iter()
        .map(|bar| view! { <tr><th scope="row">{bar.label.clone()}</th><td>{number(bar.value)}</td></tr> })
        .collect_view();
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {width} {}", height + bottom) role="img" aria-label=label data-testid=testid>
                {ticks}
                {bars.into_iter().enumerate().map(|(i, bar)| {
                    let h = height - y(bar.value);
                    let x = left + i as f64 * step;
                    let tip_text = bar.tip.clone();
                    view! {
                        <g tabindex="0" class="mark" data-value=bar.value.to_string()
                            on:mouseenter=move |_| tip.set(Some(tip_text.clone()))
                            on:focus={let t = bar.tip.clone(); move |_| tip.set(Some(t.clone()))}>
                            <rect x=format!("{:.1}", x + step * 0.15) y=format!("{:.1}", height - h) width=format!("{:.1}", step * 0.7)
                                height=format!("{:.1}", h.max(0.0)) style=format!("fill: {color}")>
                                <title>{bar.tip.clone()}</title>
                            </rect>
                            {(i % every == 0).then(|| view! {
                                <text x=format!("{:.1}", x + step / 2.0) y=(height + 14.0).to_string() text-anchor="middle" class="tick">{bar.label.clone()}</text>
                            })}
                        </g>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="tip" data-testid=format!("{testid}-tip")>{move || tip.get().unwrap_or_default()}</figcaption>
            // The same figures as text, for screen readers and for whoever wants the numbers.
            <details class="chart-data">
                <summary>{format!("{label}: the numbers")}</summary>
                <table data-testid=format!("{testid}-table")>
                    <tbody>{rows}</tbody>
                </table>
            </details>
        </figure>
    }
    .into_any()
}

/// The smallest of 1, 2 or 5 times a power of ten that is at least `max` (and at least 1),
/// so an axis reads in round numbers.
fn nice_ceiling(max: f64) -> f64 {
    let max = max.max(1.0);
    let power = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 5.0, 10.0].into_iter().map(|m| m * power).find(|v| *v >= max).unwrap_or(max)
}

/// A chart's number: whole numbers without decimals, others with one.
fn number(value: f64) -> String {
    if value.fract() == 0.0 { format!("{value:.0}") } else { format!("{value:.1}") }
}

/// One square per day, weeks as columns; filled on streak days.
#[component]
fn Heatmap(days: Vec<DayStat>) -> impl IntoView {
    let tip = RwSignal::new(None::<String>);
    let size = 14.0;
    // The first column starts on the weekday of the first day (Monday on top).
    let offset = days
        .first()
        .and_then(|d| chrono::NaiveDate::parse_from_str(&d.date, "%Y-%m-%d").ok())
        .map(|d| chrono::Datelike::weekday(&d).num_days_from_monday() as usize)
        .unwrap_or(0);
    let columns = (days.len() + offset).div_ceil(7);
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {} {}", columns as f64 * size, 7.0 * size) class="heatmap" role="img" aria-label="Days that counted for the streak" data-testid="chart-streak">
                {days.into_iter().enumerate().map(|(i, d)| {
                    let cell = i + offset;
                    let (x, y) = ((cell / 7) as f64 * size, (cell % 7) as f64 * size);
                    let text = format!("{}: {}", d.date, if d.active { "counted" } else { "—" });
                    let hover = text.clone();
                    view! {
                        <rect x=(x + 1.0).to_string() y=(y + 1.0).to_string() width=(size - 2.0).to_string() height=(size - 2.0).to_string()
                            rx="2" class:active=d.active class="day" data-active=d.active.to_string()
                            on:mouseenter=move |_| tip.set(Some(hover.clone()))>
                            <title>{text}</title>
                        </rect>
                    }
                }).collect_view()}
            </svg>
            <figcaption class="tip" data-testid="chart-streak-tip">{move || tip.get().unwrap_or_default()}</figcaption>
        </figure>
    }
    .into_any()
}

/// Each day with logged energy: energy (1–5) across, focus minutes up.
#[component]
fn Scatter(days: Vec<DayStat>) -> impl IntoView {
    let points: Vec<(f64, i64, String)> =
        days.into_iter().filter_map(|d| d.energy.map(|e| (e, d.focus_minutes, d.date))).collect();
    if points.is_empty() {
        return view! { <p class="empty" data-testid="chart-energy">"Log your energy on the Focus page to see it against your focus time."</p> }.into_any();
    }
    let max = points.iter().map(|p| p.1).max().unwrap_or(0).max(30) as f64;
    let (width, height) = (300.0, 160.0);
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {width} {}", height + 20.0) role="img" aria-label="Energy against focus minutes" data-testid="chart-energy">
                <line x1="0" x2=width.to_string() y1=height.to_string() y2=height.to_string() class="axis" />
                {(1..=5).map(|e| view! {
                    <text x=((e as f64 - 0.5) / 5.0 * width).to_string() y=(height + 14.0).to_string() text-anchor="middle" class="tick">{format!("energy {e}")}</text>
                }).collect_view()}
                {points.into_iter().map(|(energy, minutes, date)| view! {
                    <circle cx=format!("{:.1}", (energy - 0.5) / 5.0 * width) cy=format!("{:.1}", height - minutes as f64 / max * (height - 10.0)) r="5" class="point">
                        <title>{format!("{date}: energy {energy:.1}, {minutes} min of focus")}</title>
                    </circle>
                }).collect_view()}
            </svg>
        </figure>
    }
    .into_any()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chart_axis_reads_in_round_numbers() {
        for (max, top) in [
            (0.0, 1.0),
            (0.4, 1.0),
            (1.0, 1.0),
            (3.0, 5.0),
            (7.0, 10.0),
            (12.0, 20.0),
            (25.0, 50.0),
            (480.0, 500.0),
            (501.0, 1000.0),
        ] {
            assert_eq!(nice_ceiling(max), top, "{max}");
        }
        assert_eq!(number(12.0), "12");
        assert_eq!(number(2.5), "2.5");
    }
}
