//! The chart: completions a minute over time, one line per strategy, and the best rate the
//! hidden limits allow.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::{Options, Run};

/// One colour per strategy, in `Strategy::ALL` order (Okabe-Ito palette).
const COLORS: [RGBColor; 4] = [
    RGBColor(0, 0, 0),     // none
    RGBColor(0, 114, 178), // fixed-low
    RGBColor(213, 94, 0),  // fixed-high
    RGBColor(0, 158, 115), // adaptive
];

/// Completions a minute in windows of `window` seconds, at each window's middle.
fn rate(run: &Run, window: f64) -> Vec<(f64, f64)> {
    let end = run.wall.as_secs_f64();
    let windows = (end / window).ceil().max(1.0) as usize;
    let mut counts = vec![0u32; windows];
    for &t in &run.completions {
        counts[((t / window) as usize).min(windows - 1)] += 1;
    }
    counts.iter().enumerate().map(|(i, &c)| ((i as f64 + 0.5) * window, f64::from(c) / window * 60.0)).collect()
}

pub fn write_svg(runs: &[Run], best_rpm: f64, o: &Options, path: &Path) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (1000, 520)).into_drawing_area();
    root.fill(&WHITE)?;
    let longest = runs.iter().map(|r| r.wall.as_secs_f64()).fold(1.0, f64::max);
    let window = (longest / 40.0).max(5.0);
    let series: Vec<Vec<(f64, f64)>> = runs.iter().map(|r| rate(r, window)).collect();
    let top = series.iter().flatten().map(|p| p.1).fold(best_rpm, f64::max) * 1.1;
    let title = format!(
        "{} prompts, 16 at a time, hidden limits {} req/min and {} tokens/min ({})",
        o.prompts,
        o.limits.rpm,
        o.limits.tpm,
        if o.headers { "rate-limit headers" } else { "429 + Retry-After only" }
    );
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(14)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(0f64..longest * 1.02, 0f64..top)?;
    chart
        .configure_mesh()
        .x_desc("seconds (virtual clock)")
        .y_desc(format!("completions a minute ({window:.0}s windows)"))
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    let grey = RGBColor(120, 120, 120);
    chart
        .draw_series(DashedLineSeries::new([(0.0, best_rpm), (longest, best_rpm)], 6, 4, grey.stroke_width(1)))?
        .label(format!("best the limits allow ({best_rpm:.0}/min)"))
        .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], grey.stroke_width(1)));
    for ((run, points), color) in runs.iter().zip(&series).zip(COLORS) {
        chart
            .draw_series(LineSeries::new(points.iter().copied(), color.stroke_width(2)))?
            .label(run.strategy.name())
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .label_font(("sans-serif", 14))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .draw()?;
    root.present()?;
    Ok(())
}
