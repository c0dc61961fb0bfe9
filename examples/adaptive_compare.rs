//! failguard's adaptive limit against tower-resilience's adaptive limiter and tower-acc, on the
//! same model server (`support/model.rs`: capacity 20, 10 ms unloaded; 0.5×, 1×, 3× offered
//! load, then 3× with the capacity halved, then restored).
//!
//! The peers time calls with `std::time::Instant`, so no paused clock drives them: this runs on
//! the real clock (about 16 s per limiter, phases half as long as the test's), and its figures
//! move a little from run to run on a busy machine. Each limiter starts at 5, may go from 1 to
//! 200, and sheds at once when full (the peers wait for a permit in `poll_ready`: tower's
//! `LoadShed` turns that into a rejection). The "limit" followed is what each one admits: the
//! requests inside the server, the same measure for all.
//!
//! ```text
//! cargo run --release --example adaptive_compare -- [--svg examples/adaptive.svg]
//! ```
//!
//! Prints a markdown table (settling time of the admitted concurrency into ±20% of the capacity,
//! goodput and p99 once settled, for the 3× phases) and writes the picture. Goodput is against
//! the nominal capacity (20 per 10 ms); on the real clock every sleep overshoots by a
//! millisecond or two, so about 85% is the most any limiter can show.

#[path = "support/model.rs"]
mod model;

use std::{fmt::Write as _, future::Future, sync::Arc};

use failguard::adaptive::{AdaptiveLimit, Aimd, Gradient2, Vegas};
use model::{BASE, C0, Measured, Phase, Server, Trace, run};
use tower::{BoxError, ServiceBuilder, ServiceExt};

const PHASES: [Phase; 5] = [
    Phase {
        name: "0.5x",
        load: 0.5,
        capacity: C0,
        secs: 2,
    },
    Phase {
        name: "1x",
        load: 1.0,
        capacity: C0,
        secs: 2,
    },
    Phase {
        name: "3x",
        load: 3.0,
        capacity: C0,
        secs: 4,
    },
    Phase {
        name: "3x, C halved",
        load: 3.0,
        capacity: C0 / 2,
        secs: 4,
    },
    Phase {
        name: "3x, C restored",
        load: 3.0,
        capacity: C0,
        secs: 4,
    },
];

/// One request through a tower stack that sheds when its limiter is full.
fn through<S>(
    svc: S,
) -> impl Fn(Arc<Server>) -> std::pin::Pin<Box<dyn Future<Output = bool> + Send>>
where
    S: tower::Service<(), Response = (), Error = BoxError> + Clone + Send + 'static,
    S::Future: Send,
{
    move |_| {
        let svc = svc.clone();
        Box::pin(async move { svc.oneshot(()).await.is_ok() })
    }
}

async fn measure_failguard(limit: AdaptiveLimit, fail: bool) -> (Vec<Measured>, Trace) {
    let server = Server::new(fail);
    run(
        &PHASES,
        server,
        move |server| {
            let limit = limit.clone();
            async move {
                limit
                    .call(|| async move { server.serve().await })
                    .await
                    .is_ok()
            }
        },
        || None,
    )
    .await
}

macro_rules! peer {
    ($layer:expr, $fail:expr) => {{
        let server = Server::new($fail);
        let backend = server.clone();
        let svc = ServiceBuilder::new()
            .map_err(|e: BoxError| e)
            .load_shed()
            .layer($layer)
            .map_err(BoxError::from)
            .service_fn(move |()| {
                let backend = backend.clone();
                async move { backend.serve().await }
            });
        run(&PHASES, server, through(svc), || None).await
    }};
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let svg = std::env::args().skip_while(|a| a != "--svg").nth(1);
    // On the real clock a 10 ms sleep takes 11 to 12 ms: the AIMDs' latency threshold is 1.5×
    // the nominal service time here (1.1× in the paused-clock test).
    let timeout = BASE.mul_f64(1.5);
    let mut rows: Vec<(&str, Vec<Measured>, Trace)> = Vec::new();

    let vegas = Vegas::new().initial_limit(5).queue_bounds(2, 4).unwrap();
    let (m, t) = measure_failguard(
        AdaptiveLimit::builder().algorithm(vegas).build().unwrap(),
        false,
    )
    .await;
    rows.push(("failguard Vegas", m, t));
    let aimd = Aimd::new().initial_limit(5).timeout(timeout).unwrap();
    let (m, t) = measure_failguard(
        AdaptiveLimit::builder().algorithm(aimd).build().unwrap(),
        true,
    )
    .await;
    rows.push(("failguard AIMD", m, t));
    let gradient = Gradient2::new().initial_limit(5);
    let (m, t) = measure_failguard(
        AdaptiveLimit::builder()
            .algorithm(gradient)
            .build()
            .unwrap(),
        false,
    )
    .await;
    rows.push(("failguard Gradient2", m, t));

    {
        use tower_resilience_adaptive as tr;
        let aimd = tr::Aimd::builder()
            .initial_limit(5)
            .min_limit(1)
            .max_limit(200)
            .latency_threshold(timeout)
            .build()
            .unwrap();
        let (m, t) = peer!(tr::AdaptiveLimiterLayer::new(aimd), true);
        rows.push(("tower-resilience AIMD", m, t));
        let vegas = tr::Vegas::builder()
            .initial_limit(5)
            .min_limit(1)
            .max_limit(200)
            .build()
            .unwrap();
        let (m, t) = peer!(tr::AdaptiveLimiterLayer::new(vegas), false);
        rows.push(("tower-resilience Vegas", m, t));
        let gradient = tr::Gradient2::builder()
            .initial_limit(5)
            .min_limit(1)
            .max_limit(200)
            .build()
            .unwrap();
        let (m, t) = peer!(tr::AdaptiveLimiterLayer::new(gradient), false);
        rows.push(("tower-resilience Gradient2", m, t));
    }
    {
        let aimd = tower_acc::Aimd::builder()
            .initial_limit(5)
            .min_limit(1)
            .max_limit(200)
            .timeout(timeout)
            .build();
        let (m, t) = peer!(tower_acc::ConcurrencyLimitLayer::new(aimd), true);
        rows.push(("tower-acc AIMD", m, t));
        let vegas = tower_acc::Vegas::builder()
            .initial_limit(5)
            .max_limit(200)
            .build();
        let (m, t) = peer!(tower_acc::ConcurrencyLimitLayer::new(vegas), false);
        rows.push(("tower-acc Vegas", m, t));
        let gradient = tower_acc::Gradient2::builder()
            .initial_limit(5)
            .min_limit(1)
            .max_limit(200)
            .build();
        let (m, t) = peer!(tower_acc::ConcurrencyLimitLayer::new(gradient), false);
        rows.push(("tower-acc Gradient2", m, t));
    }

    println!(
        "| limiter | 3x: settled | goodput | p99 | admitted | C halved: settled | goodput | p99 | admitted | C restored: settled | goodput | p99 | admitted |"
    );
    println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
    for (name, measured, _) in &rows {
        let mut line = format!("| {name} ");
        for m in &measured[2..] {
            let settled = m
                .settled
                .map_or("never".into(), |d| format!("{:.2} s", d.as_secs_f64()));
            let _ = write!(
                line,
                "| {settled} | {:.0}% | {:.0} ms | {}–{} ",
                m.goodput * 100.0,
                m.p99.as_secs_f64() * 1e3,
                m.limits.0,
                m.limits.1
            );
        }
        println!("{line}|");
    }
    if let Some(path) = svg {
        let picked: Vec<_> = rows
            .iter()
            .filter(|(n, ..)| {
                [
                    "failguard Vegas",
                    "tower-resilience Vegas",
                    "tower-acc Vegas",
                    "tower-acc Gradient2",
                ]
                .contains(n)
            })
            .map(|(n, _, t)| (*n, t))
            .collect();
        std::fs::write(&path, picture(&picked)).unwrap();
        println!("\nwrote {path}");
    }
}

const COLOURS: [&str; 4] = ["#1b7837", "#c51b7d", "#2166ac", "#e08214"];

/// Two panels over time: admitted concurrency (with the capacity), and the p99 latency of each
/// 100 ms. Hand-written SVG, as `support/timeline.rs` draws its picture.
fn picture(rows: &[(&str, &Trace)]) -> String {
    let (w, h, left, top) = (900.0, 250.0, 50.0, 30.0);
    let end = rows
        .iter()
        .flat_map(|(_, t)| t.points.last())
        .map(|p| p.0)
        .fold(1.0, f64::max);
    let x = |s: f64| left + s / end * w;
    let mut svg = String::new();
    let total = 2.0 * h + 3.0 * top + 40.0;
    let _ = writeln!(
        svg,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{}" height="{total}" font-family="sans-serif" font-size="12">"#,
        w + left + 20.0
    );
    let _ = writeln!(svg, r#"<rect width="100%" height="100%" fill="white"/>"#);
    for (panel, (title, max)) in [
        ("admitted concurrency (capacity dashed)", 60.0),
        ("p99 latency per 100 ms, ms", 100.0),
    ]
    .into_iter()
    .enumerate()
    {
        let y0 = top + panel as f64 * (h + top);
        let y = |v: f64| y0 + h - v.min(max) / max * h;
        let _ = writeln!(svg, r#"<text x="{left}" y="{}">{title}</text>"#, y0 - 8.0);
        let _ = writeln!(
            svg,
            r##"<rect x="{left}" y="{y0}" width="{w}" height="{h}" fill="none" stroke="#999"/>"##
        );
        for tick in [0.0, max / 2.0, max] {
            let _ = writeln!(
                svg,
                r#"<text x="{}" y="{}" text-anchor="end">{tick}</text>"#,
                left - 4.0,
                y(tick) + 4.0
            );
        }
        if let Some((_, t)) = rows.first() {
            // Phase boundaries and names, and the time axis.
            for (i, (start, _)) in t.phases.iter().enumerate() {
                let _ = writeln!(
                    svg,
                    r##"<line x1="{0:.1}" y1="{y0}" x2="{0:.1}" y2="{1}" stroke="#ccc"/>"##,
                    x(*start),
                    y0 + h
                );
                if panel == 0 {
                    let _ = writeln!(
                        svg,
                        r##"<text x="{:.1}" y="{}" fill="#555">{}</text>"##,
                        x(*start) + 4.0,
                        y0 + 14.0,
                        PHASES[i].name
                    );
                }
            }
            let mut second = 0.0;
            while second <= end {
                let _ = writeln!(
                    svg,
                    r##"<text x="{:.1}" y="{}" text-anchor="middle" fill="#555">{second} s</text>"##,
                    x(second),
                    y0 + h + 14.0
                );
                second += 2.0;
            }
        }
        if panel == 0 {
            if let Some((_, t)) = rows.first() {
                let mut path = String::new();
                for (i, (start, c)) in t.phases.iter().enumerate() {
                    let stop = t.phases.get(i + 1).map_or(end, |p| p.0);
                    let _ = write!(
                        path,
                        "M{:.1},{:.1} L{:.1},{:.1} ",
                        x(*start),
                        y(*c as f64),
                        x(stop),
                        y(*c as f64)
                    );
                }
                let _ = writeln!(
                    svg,
                    r##"<path d="{path}" stroke="#000" stroke-dasharray="4 3" fill="none"/>"##
                );
            }
        }
        // failguard's line last, on top and thicker; the peers' under it, lighter.
        for (i, ((name, trace), colour)) in rows.iter().zip(COLOURS).enumerate().rev() {
            let (width, opacity) = if i == 0 { (2.0, 1.0) } else { (1.0, 0.55) };
            let points: Vec<(f64, f64)> = if panel == 0 {
                trace.points.iter().map(|p| (p.0, p.2 as f64)).collect()
            } else {
                p99_per_bucket(&trace.latencies, 0.1)
            };
            let mut line = String::new();
            for (s, v) in points {
                let _ = write!(line, "{:.1},{:.1} ", x(s), y(v));
            }
            let _ = writeln!(
                svg,
                r#"<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="{width}" stroke-opacity="{opacity}"><title>{name}</title></polyline>"#
            );
        }
    }
    let legend_y = 2.0 * h + 3.0 * top + 20.0;
    for (i, ((name, _), colour)) in rows.iter().zip(COLOURS).enumerate() {
        let lx = left + i as f64 * 220.0;
        let _ = writeln!(
            svg,
            r#"<rect x="{lx}" y="{}" width="14" height="4" fill="{colour}"/>"#,
            legend_y - 4.0
        );
        let _ = writeln!(
            svg,
            r#"<text x="{}" y="{legend_y}">{name}</text>"#,
            lx + 20.0
        );
    }
    svg.push_str("</svg>\n");
    svg
}

fn p99_per_bucket(latencies: &[(f64, f64)], width: f64) -> Vec<(f64, f64)> {
    let mut buckets: Vec<Vec<f64>> = Vec::new();
    for &(t, ms) in latencies {
        let i = (t / width) as usize;
        if buckets.len() <= i {
            buckets.resize(i + 1, Vec::new());
        }
        buckets[i].push(ms);
    }
    buckets
        .into_iter()
        .enumerate()
        .filter(|(_, b)| !b.is_empty())
        .map(|(i, mut b)| {
            b.sort_by(f64::total_cmp);
            ((i as f64 + 0.5) * width, b[b.len() * 99 / 100])
        })
        .collect()
}
