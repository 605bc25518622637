//! The chart: each strategy's latency at p50 … p99.99, on a log scale.

use std::error::Error;
use std::path::Path;

use plotters::prelude::*;

use crate::sim::{Model, Row, Strategy};

/// One colour per strategy, in `Strategy::ALL` order (Okabe-Ito palette, as the storm's).
const COLORS: [RGBColor; 3] = [RGBColor(0, 0, 0), RGBColor(213, 94, 0), RGBColor(0, 114, 178)];

const PERCENTILES: [f64; 6] = [50.0, 90.0, 95.0, 99.0, 99.9, 99.99];

/// Writes the chart as an SVG file.
pub fn write_svg(rows: &[Row], model: &Model, path: &Path) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (900, 560)).into_drawing_area();
    root.fill(&WHITE)?;
    let title = format!(
        "Hedged calls (steadfast, up to 3 copies): lognormal({} ms, σ {}), {}% in [{}, {}] ms",
        model.median_ms,
        model.sigma,
        model.slow_fraction * 100.0,
        model.slow_min_ms,
        model.slow_max_ms
    );
    let max_y = rows.iter().map(|r| r.percentile(99.99)).fold(1.0, f64::max) * 1.5;
    let min_y = rows.iter().map(|r| r.percentile(50.0)).fold(f64::INFINITY, f64::min).max(0.01) / 1.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(16)
        .x_label_area_size(40)
        .y_label_area_size(70)
        .build_cartesian_2d(-0.3f64..(PERCENTILES.len() as f64 - 0.7), (min_y..max_y).log_scale())?;
    chart
        .configure_mesh()
        .x_labels(PERCENTILES.len())
        .x_label_formatter(&|x| {
            let i = x.round() as usize;
            if (x - i as f64).abs() < 0.01 && i < PERCENTILES.len() {
                format!("p{}", PERCENTILES[i])
            } else {
                String::new()
            }
        })
        .x_desc("percentile of call latency")
        .y_desc("milliseconds (log)")
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 13))
        .draw()?;
    for (row, color) in rows.iter().zip(COLORS) {
        let series: Vec<(f64, f64)> =
            PERCENTILES.iter().enumerate().map(|(i, &q)| (i as f64, row.percentile(q))).collect();
        let label = match row.strategy {
            Strategy::None => "none".to_string(),
            s => format!("{} (+{:.1}% copies)", s.name(), row.extra_load * 100.0),
        };
        chart
            .draw_series(LineSeries::new(series.iter().copied(), color.stroke_width(2)))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2)));
        chart.draw_series(series.iter().map(|&p| Circle::new(p, 3, color.filled())))?;
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()?;
    root.present()?;
    Ok(())
}
