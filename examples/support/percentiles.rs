//! Draws latency percentile curves as an SVG: the x axis in "nines" (p50, p90, p99, p99.9 evenly
//! spaced), the y axis in milliseconds on a log scale, one line per series.

use std::{fmt::Write, time::Duration};

const W: f64 = 720.0;
const H: f64 = 360.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// `series`: (label, colour, latencies, sorted or not).
pub fn svg(title: &str, series: &[(&str, &str, Vec<Duration>)]) -> String {
    let nines = |q: f64| -(1.0 - q).log10(); // p50 -> 0.30, p99.9 -> 3
    let (x0, x1) = (nines(0.5), nines(0.999));
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    let all = series.iter().flat_map(|s| s.2.iter().copied());
    let (lo, hi) = all.fold((f64::MAX, 0f64), |(lo, hi), d| {
        (lo.min(ms(d)), hi.max(ms(d)))
    });
    let (y0, y1) = ((lo.max(0.1) / 1.5).log10(), (hi * 1.5).log10());
    let px = |x: f64| LEFT + (x - x0) / (x1 - x0) * (W - LEFT - RIGHT);
    let py = |y: f64| TOP + (1.0 - (y.log10() - y0) / (y1 - y0)) * (H - TOP - BOTTOM);
    let mut out = String::new();
    let _ = write!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" font-family="sans-serif" font-size="12"><rect width="{W}" height="{H}" fill="white"/><text x="{}" y="22" font-size="14" text-anchor="middle">{title}</text>"#,
        W / 2.0
    );
    for (q, label) in [(0.5, "p50"), (0.9, "p90"), (0.99, "p99"), (0.999, "p99.9")] {
        let x = px(nines(q));
        let _ = write!(
            out,
            r##"<line x1="{x:.1}" y1="{TOP}" x2="{x:.1}" y2="{}" stroke="#ddd"/><text x="{x:.1}" y="{}" text-anchor="middle">{label}</text>"##,
            H - BOTTOM,
            H - BOTTOM + 18.0
        );
    }
    let mut tick = 10f64.powf(y0.floor());
    while tick.log10() <= y1 {
        if tick.log10() >= y0 {
            let y = py(tick);
            let _ = write!(
                out,
                r##"<line x1="{LEFT}" y1="{y:.1}" x2="{}" y2="{y:.1}" stroke="#eee"/><text x="{}" y="{:.1}" text-anchor="end">{tick} ms</text>"##,
                W - RIGHT,
                LEFT - 6.0,
                y + 4.0
            );
        }
        tick *= 10.0;
    }
    for (i, (label, colour, latencies)) in series.iter().enumerate() {
        let mut sorted = latencies.clone();
        sorted.sort_unstable();
        let mut points = String::new();
        for step in 0..=300 {
            let x = x0 + (x1 - x0) * step as f64 / 300.0;
            let q = 1.0 - 10f64.powf(-x);
            let rank = ((q * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len());
            let _ = write!(
                points,
                "{:.1},{:.1} ",
                px(x),
                py(ms(sorted[rank - 1]).max(lo))
            );
        }
        // The legend sits low on the right, under the slow tail's line and above the fast one.
        let lx = W - RIGHT - 300.0;
        let ly = H - BOTTOM - 60.0 + 18.0 * i as f64;
        let _ = write!(
            out,
            r#"<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/><line x1="{lx}" y1="{ly}" x2="{}" y2="{ly}" stroke="{colour}" stroke-width="2"/><text x="{}" y="{}">{label}</text>"#,
            lx + 24.0,
            lx + 30.0,
            ly + 4.0
        );
    }
    let _ = write!(
        out,
        r#"<text x="{}" y="{}" text-anchor="middle">percentile of requests (by nines)</text></svg>"#,
        W / 2.0,
        H - 10.0
    );
    out
}
