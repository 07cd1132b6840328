//! The overview's chart: questions per day, stacked by decision, drawn by plotters as SVG
//! on the server (any browser shows it, with JavaScript off, and in screenshots).

use plotters::prelude::*;

use crate::admin::report::Day;

/// The chart's size in pixels.
const WIDTH: u32 = 720;
const HEIGHT: u32 = 260;

/// The decisions stacked, bottom first, with their colours and legend names.
const SERIES: [(&str, RGBColor); 4] = [
    ("answer", RGBColor(46, 125, 50)),
    ("clarify", RGBColor(249, 168, 37)),
    ("decline", RGBColor(96, 125, 139)),
    ("fallback", RGBColor(198, 40, 40)),
];

fn counts(day: &Day) -> [u64; 4] {
    [day.answers, day.clarifications, day.declines, day.fallbacks]
}

/// Questions per day (`days`, oldest first) as stacked bars, in an SVG document; the page
/// lists the same numbers in a table beside it.
pub fn per_day(days: &[Day]) -> String {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, (WIDTH, HEIGHT)).into_drawing_area();
        // Drawing into a string cannot fail but for a bug: an empty chart then.
        let _ = draw(&root, days);
        let _ = root.present();
    }
    svg
}

fn draw(
    root: &DrawingArea<SVGBackend<'_>, plotters::coord::Shift>,
    days: &[Day],
) -> Result<(), DrawingAreaErrorKind<std::io::Error>> {
    root.fill(&WHITE)?;
    let tallest = days
        .iter()
        .map(|d| counts(d).iter().sum::<u64>())
        .max()
        .unwrap_or(0)
        .max(1);
    let n = days.len().max(1) as u32;
    // Margins for the axes drawn by hand: plotters' own labels need fonts.
    let plot = root.margin(10, 10, 10, 10);
    let (w, h) = plot.dim_in_pixel();
    let bar = (w / n).max(2);
    for (i, day) in days.iter().enumerate() {
        let x0 = i as i32 * bar as i32;
        let mut y = h as i32;
        for ((_, colour), count) in SERIES.iter().zip(counts(day)) {
            if count == 0 {
                continue;
            }
            let height = (count as f64 / tallest as f64 * f64::from(h)).round() as i32;
            plot.draw(&Rectangle::new(
                [(x0 + 1, y - height), (x0 + bar as i32 - 1, y)],
                colour.filled(),
            ))?;
            y -= height;
        }
    }
    plot.draw(&PathElement::new(
        vec![(0, h as i32), (w as i32, h as i32)],
        BLACK.stroke_width(1),
    ))?;
    Ok(())
}

/// The legend's entries: name and CSS colour, bottom of the stack first.
pub fn legend() -> Vec<(&'static str, String)> {
    SERIES
        .iter()
        .map(|(name, RGBColor(r, g, b))| (*name, format!("rgb({r},{g},{b})")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(answers: u64, fallbacks: u64) -> Day {
        Day {
            day: "2026-12-01".to_owned(),
            questions: answers + fallbacks,
            answers,
            clarifications: 0,
            fallbacks,
            declines: 0,
        }
    }

    #[test]
    fn each_decision_of_each_day_is_a_bar_of_its_share() {
        let svg = per_day(&[day(3, 1), day(0, 0), day(4, 0)]);
        assert!(svg.starts_with("<svg"), "{svg}");
        // Three answer segments' worth of bars: 3 and 4 answers, 1 fallback.
        assert_eq!(svg.matches("fill=\"#2E7D32\"").count(), 2, "{svg}");
        assert_eq!(svg.matches("fill=\"#C62828\"").count(), 1, "{svg}");
        let empty = per_day(&[]);
        assert!(
            empty.starts_with("<svg") && empty.ends_with("</svg>\n"),
            "{empty}"
        );
    }
}
