//! An outage timeline: what happened to every request, bucketed by time, printed as a compact
//! table and rendered as an SVG picture (no plotting dependency: the SVG is written by hand).

#![allow(dead_code)] // each user takes what it needs

use std::{collections::BTreeMap, fmt::Write as _, time::Duration};

/// How one request ended, from the caller's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum End {
    /// The server's real answer.
    Success,
    /// The fallback answered instead.
    Fallback,
    /// A policy rejected the call; the name says which (`"circuit-open"`, `"bulkhead-full"`, ..).
    Rejected(&'static str),
    /// The call failed and nothing answered for it.
    Failed,
}

/// One bucket of the timeline.
#[derive(Debug, Default, Clone)]
pub struct Bucket {
    /// Requests that ended in this bucket, by how they ended.
    pub ends: BTreeMap<End, u64>,
    /// Retries started in this bucket.
    pub retries: u64,
    /// Calls that reached the server in this bucket.
    pub server_calls: u64,
    /// Latencies of the requests that ended in this bucket.
    pub latencies: Vec<Duration>,
    /// The breaker's state at the end of the bucket, if someone reported it.
    pub breaker: Option<&'static str>,
    /// The server's mode during the bucket, if someone reported it.
    pub server: Option<&'static str>,
}

impl Bucket {
    /// Requests that ended here.
    pub fn requests(&self) -> u64 {
        self.ends.values().sum()
    }

    /// How many ended as `end`.
    pub fn count(&self, end: End) -> u64 {
        self.ends.get(&end).copied().unwrap_or(0)
    }

    /// Rejections of every kind.
    pub fn rejections(&self) -> u64 {
        self.ends
            .iter()
            .filter(|(e, _)| matches!(e, End::Rejected(_)))
            .map(|(_, n)| n)
            .sum()
    }

    /// The `q` quantile (0.0..=1.0) of the latencies, or zero when there are none.
    pub fn quantile(&self, q: f64) -> Duration {
        if self.latencies.is_empty() {
            return Duration::ZERO;
        }
        let mut sorted = self.latencies.clone();
        sorted.sort_unstable();
        // Nearest rank: the smallest value with at least `q` of the samples at or below it.
        let rank = (q * sorted.len() as f64).ceil() as usize;
        sorted[rank.clamp(1, sorted.len()) - 1]
    }
}

/// Requests bucketed by when they ended.
#[derive(Debug, Clone)]
pub struct Timeline {
    width: Duration,
    buckets: Vec<Bucket>,
}

impl Timeline {
    /// An empty timeline with buckets `width` wide.
    pub fn new(width: Duration) -> Self {
        Self {
            width,
            buckets: Vec::new(),
        }
    }

    /// The bucket width.
    pub fn width(&self) -> Duration {
        self.width
    }

    /// The buckets, oldest first.
    pub fn buckets(&self) -> &[Bucket] {
        &self.buckets
    }

    fn bucket(&mut self, at: Duration) -> &mut Bucket {
        let i = (at.as_nanos() / self.width.as_nanos()) as usize;
        if self.buckets.len() <= i {
            self.buckets.resize_with(i + 1, Bucket::default);
        }
        &mut self.buckets[i]
    }

    /// A request that ended at `at` (since the start) after `latency`.
    pub fn end(&mut self, at: Duration, end: End, latency: Duration) {
        let b = self.bucket(at);
        *b.ends.entry(end).or_default() += 1;
        b.latencies.push(latency);
    }

    /// A retry started at `at`.
    pub fn retry(&mut self, at: Duration) {
        self.bucket(at).retries += 1;
    }

    /// A call reached the server at `at`.
    pub fn server_call(&mut self, at: Duration) {
        self.bucket(at).server_calls += 1;
    }

    /// `n` calls reached the server at `at`.
    pub fn server_calls(&mut self, at: Duration, n: u64) {
        self.bucket(at).server_calls += n;
    }

    /// The breaker was in `state` at `at`.
    pub fn breaker(&mut self, at: Duration, state: &'static str) {
        self.bucket(at).breaker = Some(state);
    }

    /// The server was in `mode` at `at`.
    pub fn server(&mut self, at: Duration, mode: &'static str) {
        self.bucket(at).server = Some(mode);
    }

    /// Totals over every bucket, by how requests ended.
    pub fn totals(&self) -> BTreeMap<End, u64> {
        let mut totals = BTreeMap::new();
        for b in &self.buckets {
            for (e, n) in &b.ends {
                *totals.entry(*e).or_default() += n;
            }
        }
        totals
    }

    /// A compact table, one line per bucket: the server's mode, requests ended, how they ended
    /// (rejections in total and by kind), retries started, calls that reached the server, the
    /// breaker's state, and p50/p99 latency.
    pub fn table(&self) -> String {
        let kinds: Vec<&'static str> = self
            .totals()
            .keys()
            .filter_map(|e| match e {
                End::Rejected(kind) => Some(*kind),
                _ => None,
            })
            .collect();
        let mut out = String::new();
        let _ = write!(
            out,
            "{:>6} {:>10} {:>5} {:>5} {:>5} {:>5}",
            "t(s)", "server", "reqs", "ok", "fallb", "rej"
        );
        for kind in &kinds {
            let _ = write!(out, " {kind:>w$}", w = kind.len().max(5));
        }
        let _ = writeln!(
            out,
            " {:>5} {:>5} {:>5} {:>9} {:>8} {:>8}",
            "fail", "retry", "srv", "breaker", "p50", "p99"
        );
        for (i, b) in self.buckets.iter().enumerate() {
            let t = (self.width * i as u32).as_secs_f64();
            let _ = write!(
                out,
                "{:>6.1} {:>10} {:>5} {:>5} {:>5} {:>5}",
                t,
                b.server.unwrap_or("-"),
                b.requests(),
                b.count(End::Success),
                b.count(End::Fallback),
                b.rejections(),
            );
            for kind in &kinds {
                let _ = write!(
                    out,
                    " {:>w$}",
                    b.count(End::Rejected(kind)),
                    w = kind.len().max(5)
                );
            }
            let _ = writeln!(
                out,
                " {:>5} {:>5} {:>5} {:>9} {:>8} {:>8}",
                b.count(End::Failed),
                b.retries,
                b.server_calls,
                b.breaker.unwrap_or("-"),
                format!("{:.1?}", b.quantile(0.5)),
                format!("{:.1?}", b.quantile(0.99)),
            );
        }
        out
    }

    /// The timeline as an SVG picture: requests per bucket stacked by outcome, the server's mode
    /// and the breaker's state as bands, and p50/p99 latency.
    pub fn svg(&self, title: &str) -> String {
        const W: f64 = 960.0;
        const LEFT: f64 = 70.0;
        const RIGHT: f64 = 150.0;
        let plot_w = W - LEFT - RIGHT;
        let n = self.buckets.len().max(1) as f64;
        let bw = plot_w / n;
        let max_reqs = self
            .buckets
            .iter()
            .map(Bucket::requests)
            .max()
            .unwrap_or(1)
            .max(1) as f64;
        let max_lat = self
            .buckets
            .iter()
            .map(|b| b.quantile(0.99).as_secs_f64())
            .fold(0.0_f64, f64::max)
            .max(0.001);

        let mut s = String::new();
        let _ = writeln!(
            s,
            r#"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="520" font-family="sans-serif" font-size="12">"#
        );
        let _ = writeln!(s, r#"<rect width="100%" height="100%" fill="white"/>"#);
        let _ = writeln!(
            s,
            r#"<text x="{LEFT}" y="22" font-size="16" font-weight="bold">{}</text>"#,
            escape(title)
        );

        // Panel 1: requests per bucket, stacked by outcome.
        let (top, h) = (40.0, 240.0);
        let colours = [
            (End::Success, "#2e7d32", "success"),
            (End::Fallback, "#f9a825", "fallback"),
            (End::Failed, "#c62828", "failed"),
        ];
        for (i, b) in self.buckets.iter().enumerate() {
            let x = LEFT + i as f64 * bw;
            let mut y = top + h;
            let mut stack = |count: u64, colour: &str| {
                let bar = count as f64 / max_reqs * h;
                y -= bar;
                let _ = writeln!(
                    s,
                    r#"<rect x="{x:.1}" y="{y:.1}" width="{:.1}" height="{bar:.1}" fill="{colour}"/>"#,
                    (bw - 1.0).max(0.5)
                );
            };
            for (end, colour, _) in colours {
                stack(b.count(end), colour);
            }
            stack(b.rejections(), "#757575");
        }
        axis(&mut s, LEFT, top, h, max_reqs, "requests");
        let mut legend_y = top + 10.0;
        for (label, colour) in colours
            .iter()
            .map(|(_, c, l)| (*l, *c))
            .chain([("rejected (typed)", "#757575")])
        {
            legend(&mut s, W - RIGHT + 10.0, legend_y, colour, label);
            legend_y += 18.0;
        }

        // Panel 2: bands for the server's mode and the breaker's state.
        for (row, label, pick) in [
            (
                0.0,
                "server",
                (|b: &Bucket| b.server) as fn(&Bucket) -> Option<&'static str>,
            ),
            (1.0, "breaker", |b: &Bucket| b.breaker),
        ] {
            let y = 300.0 + row * 28.0;
            let _ = writeln!(
                s,
                r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{label}</text>"#,
                LEFT - 6.0,
                y + 15.0
            );
            for (i, b) in self.buckets.iter().enumerate() {
                let colour = band_colour(pick(b));
                let _ = writeln!(
                    s,
                    r#"<rect x="{:.1}" y="{y:.1}" width="{bw:.1}" height="22" fill="{colour}"/>"#,
                    LEFT + i as f64 * bw
                );
            }
        }
        let mut legend_y = 300.0;
        for (key, label) in [
            ("healthy", "healthy / closed"),
            ("overloaded", "503 / half-open"),
            ("failing", "failing / open"),
            ("down", "down"),
        ] {
            legend(
                &mut s,
                W - RIGHT + 10.0,
                legend_y,
                band_colour(Some(key)),
                label,
            );
            legend_y += 16.0;
        }

        // Panel 3: latency.
        let (top, h) = (380.0, 100.0);
        for (q, colour, label) in [
            (0.5, "#1565c0", "p50 latency"),
            (0.99, "#6a1b9a", "p99 latency"),
        ] {
            let points: Vec<String> = self
                .buckets
                .iter()
                .enumerate()
                .map(|(i, b)| {
                    let x = LEFT + (i as f64 + 0.5) * bw;
                    let y = top + h - b.quantile(q).as_secs_f64() / max_lat * h;
                    format!("{x:.1},{y:.1}")
                })
                .collect();
            let _ = writeln!(
                s,
                r#"<polyline points="{}" fill="none" stroke="{colour}" stroke-width="2"/>"#,
                points.join(" ")
            );
            legend(
                &mut s,
                W - RIGHT + 10.0,
                top + if q < 0.9 { 10.0 } else { 28.0 },
                colour,
                label,
            );
        }
        axis(&mut s, LEFT, top, h, max_lat * 1000.0, "latency (ms)");

        // Time axis.
        let _ = writeln!(
            s,
            r#"<text x="{:.1}" y="510" text-anchor="middle">time (s)</text>"#,
            LEFT + plot_w / 2.0
        );
        let step = (self.buckets.len() / 10).max(1);
        for i in (0..=self.buckets.len()).step_by(step) {
            let x = LEFT + i as f64 * bw;
            let t = (self.width * i as u32).as_secs_f64();
            let _ = writeln!(
                s,
                r#"<text x="{x:.1}" y="495" text-anchor="middle">{t:.1}</text>"#
            );
        }
        s.push_str("</svg>\n");
        s
    }
}

fn axis(s: &mut String, left: f64, top: f64, h: f64, max: f64, label: &str) {
    let _ = writeln!(
        s,
        r##"<line x1="{left}" y1="{top}" x2="{left}" y2="{:.1}" stroke="#333"/>"##,
        top + h
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">{max:.0}</text>"#,
        left - 6.0,
        top + 10.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{:.1}" text-anchor="end">0</text>"#,
        left - 6.0,
        top + h
    );
    let _ = writeln!(
        s,
        r#"<text x="14" y="{:.1}" transform="rotate(-90 14 {:.1})" text-anchor="middle">{label}</text>"#,
        top + h / 2.0,
        top + h / 2.0
    );
}

fn legend(s: &mut String, x: f64, y: f64, colour: &str, label: &str) {
    let _ = writeln!(
        s,
        r#"<rect x="{x:.1}" y="{:.1}" width="12" height="12" fill="{colour}"/>"#,
        y - 10.0
    );
    let _ = writeln!(
        s,
        r#"<text x="{:.1}" y="{y:.1}">{}</text>"#,
        x + 18.0,
        escape(label)
    );
}

fn band_colour(state: Option<&str>) -> &'static str {
    match state {
        Some("healthy" | "closed") => "#a5d6a7",
        Some("slow" | "half-open" | "overloaded") => "#ffe082",
        Some("failing" | "open") => "#ef9a9a",
        Some("down") => "#616161",
        _ => "#eeeeee",
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}
