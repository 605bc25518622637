//! The chart of the retry-storm simulation: work and time against the number of clients.

use std::error::Error;
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use crate::sim::{Algorithm, Point};

/// One colour per algorithm, in `Algorithm::ALL` order; distinct in print and for the
/// common colour-vision deficiencies (Okabe-Ito palette).
const COLORS: [RGBColor; 5] = [
    RGBColor(0, 0, 0),       // none
    RGBColor(213, 94, 0),    // exponential
    RGBColor(0, 114, 178),   // full
    RGBColor(0, 158, 115),   // equal
    RGBColor(204, 121, 167), // decorrelated
];

type Area<'a> = DrawingArea<SVGBackend<'a>, Shift>;

/// Writes the two panels side by side as an SVG file.
pub fn write_svg(points: &[Point], path: &Path, runs: u32) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (1200, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!("Retry storm: N clients, one OCC row, mean of {runs} runs (steadfast Policy)");
    let root = root.titled(&title, ("sans-serif", 22))?;
    let (left, right) = root.split_horizontally(600);
    panel(&left, points, "Work (write calls)", "write calls", |p| p.calls, None)?;
    // Exponential without jitter takes tens of seconds and would flatten every other line;
    // like the blog, the time panel leaves it out and says how far off it is.
    let slowest =
        points.iter().filter(|p| p.algorithm == Algorithm::Exponential).map(|p| p.time_ms).fold(0.0, f64::max);
    let caption = format!("Time until the last client succeeds (exponential, up to {:.0} s, left out)", slowest / 1e3);
    panel(&right, points, &caption, "milliseconds", |p| p.time_ms, Some(Algorithm::Exponential))?;
    root.present()?;
    Ok(())
}

/// One chart of `value` against N, one line per algorithm except `left_out`.
fn panel(
    area: &Area<'_>,
    points: &[Point],
    title: &str,
    y_desc: &str,
    value: fn(&Point) -> f64,
    left_out: Option<Algorithm>,
) -> Result<(), Box<dyn Error>> {
    let shown = |p: &&Point| Some(p.algorithm) != left_out;
    let max_x = points.iter().map(|p| p.clients).max().unwrap_or(10) as u32;
    let max_y = points.iter().filter(shown).map(value).fold(1.0, f64::max) * 1.05;
    let mut chart = ChartBuilder::on(area)
        .caption(title, ("sans-serif", 18))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0u32..max_x + 10, 0f64..max_y)?;
    chart
        .configure_mesh()
        .x_desc("clients (N)")
        .y_desc(y_desc)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 13))
        .draw()?;

    for (algorithm, color) in Algorithm::ALL.into_iter().zip(COLORS) {
        if Some(algorithm) == left_out {
            continue;
        }
        let series: Vec<(u32, f64)> =
            points.iter().filter(|p| p.algorithm == algorithm).map(|p| (p.clients as u32, value(p))).collect();
        chart
            .draw_series(LineSeries::new(series.iter().copied(), color.stroke_width(2)))?
            .label(algorithm.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(series.iter().map(|&(x, y)| Circle::new((x, y), 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
