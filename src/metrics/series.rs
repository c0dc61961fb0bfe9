//! The metrics' names, labels and descriptions (the module docs' table), and registering a
//! series with the recorder in effect.

use ::metrics::{
    Counter, Gauge, Histogram, Key, Label, Level, Metadata, Unit, describe_counter, describe_gauge,
    describe_histogram, with_recorder,
};

use crate::Name;

pub(crate) const CALLS: &str = "failguard.calls";
pub(crate) const CALL_DURATION: &str = "failguard.call.duration";
pub(crate) const REJECTIONS: &str = "failguard.rejections";
pub(crate) const TRANSITIONS: &str = "failguard.breaker.transitions";
pub(crate) const RETRIES: &str = "failguard.retries";
pub(crate) const EXHAUSTED: &str = "failguard.retry.exhausted";
pub(crate) const FALLBACKS: &str = "failguard.fallbacks";
pub(crate) const FLEET_DEGRADED: &str = "failguard.fleet.degraded";
pub(crate) const KEYED_EVICTIONS: &str = "failguard.keyed.evictions";
pub(crate) const BREAKER_STATE: &str = "failguard.breaker.state";
pub(crate) const FAILURE_RATE: &str = "failguard.breaker.failure_rate";
pub(crate) const BULKHEAD_CALLS: &str = "failguard.bulkhead.calls";
pub(crate) const BULKHEAD_LIMIT: &str = "failguard.bulkhead.limit";
pub(crate) const QUEUE_ITEMS: &str = "failguard.queue.items";
pub(crate) const QUEUE_CAPACITY: &str = "failguard.queue.capacity";
pub(crate) const BUDGET_AVAILABLE: &str = "failguard.retry.budget.available";
pub(crate) const ADAPTIVE_LIMIT: &str = "failguard.adaptive.limit";
pub(crate) const ADAPTIVE_CALLS: &str = "failguard.adaptive.calls";
pub(crate) const KEYED_KEYS: &str = "failguard.keyed.keys";
pub(crate) const HEDGES: &str = "failguard.hedges";
pub(crate) const CHAOS_INJECTIONS: &str = "failguard.chaos.injections";

pub(crate) const POLICY_TYPE: &str = "failguard.policy.type";
pub(crate) const POLICY_NAME: &str = "failguard.policy.name";
pub(crate) const OUTCOME: &str = "failguard.outcome";
pub(crate) const REASON: &str = "failguard.reason";
pub(crate) const STATE: &str = "failguard.state";

/// The type of a retry budget, which has no events of its own.
pub(crate) const BUDGET: &str = "retry-budget";

static METADATA: Metadata<'static> = Metadata::new("failguard", Level::INFO, Some(module_path!()));

/// One policy's series: its type and name, which every metric carries.
#[derive(Debug, Clone)]
pub(crate) struct Of<'a> {
    pub(crate) policy: &'static str,
    pub(crate) name: &'a Name,
}

impl Of<'_> {
    fn key(&self, metric: &'static str, label: Option<(&'static str, &'static str)>) -> Key {
        let mut labels = Vec::with_capacity(3);
        labels.push(Label::from_static_parts(POLICY_TYPE, self.policy));
        labels.push(Label::new(POLICY_NAME, self.name.as_str().to_owned()));
        if let Some((key, value)) = label {
            labels.push(Label::from_static_parts(key, value));
        }
        Key::from_parts(metric, labels)
    }

    pub(crate) fn counter(
        &self,
        metric: &'static str,
        label: Option<(&'static str, &'static str)>,
    ) -> Counter {
        let key = self.key(metric, label);
        with_recorder(|r| r.register_counter(&key, &METADATA))
    }

    pub(crate) fn histogram(
        &self,
        metric: &'static str,
        label: Option<(&'static str, &'static str)>,
    ) -> Histogram {
        let key = self.key(metric, label);
        with_recorder(|r| r.register_histogram(&key, &METADATA))
    }

    pub(crate) fn gauge(
        &self,
        metric: &'static str,
        label: Option<(&'static str, &'static str)>,
    ) -> Gauge {
        let key = self.key(metric, label);
        with_recorder(|r| r.register_gauge(&key, &METADATA))
    }

    /// A counter per value of the label `key`, in the order of `values`.
    pub(crate) fn family(
        &self,
        metric: &'static str,
        key: &'static str,
        values: &[&'static str],
    ) -> Family {
        Family {
            metric,
            key,
            series: values
                .iter()
                .map(|&v| (v, self.counter(metric, Some((key, v)))))
                .collect(),
        }
    }
}

/// The counters of one metric, one per value of one label.
#[derive(Debug)]
pub(crate) struct Family {
    metric: &'static str,
    key: &'static str,
    series: Box<[(&'static str, Counter)]>,
}

impl Family {
    /// Adds one to the series of `value`; a value this version does not list (a reason added
    /// later) is registered on the spot.
    pub(crate) fn increment(&self, of: &Of<'_>, value: &'static str) {
        match self.series.iter().find(|(v, _)| *v == value) {
            Some((_, counter)) => counter.increment(1),
            None => of
                .counter(self.metric, Some((self.key, value)))
                .increment(1),
        }
    }

    /// The counter of the value at `index` in the list it was made from.
    pub(crate) fn at(&self, index: usize) -> &Counter {
        &self.series[index].1
    }
}

/// Describes every metric to the recorder in effect (its `# HELP` and unit, in Prometheus).
pub(crate) fn describe() {
    describe_counter!(
        CALLS,
        Unit::Count,
        "Calls a policy let through, by outcome."
    );
    describe_histogram!(
        CALL_DURATION,
        Unit::Seconds,
        "How long a circuit breaker's calls took, when it times them."
    );
    describe_counter!(
        REJECTIONS,
        Unit::Count,
        "Calls a policy turned away or abandoned, by reason."
    );
    describe_counter!(
        TRANSITIONS,
        Unit::Count,
        "Circuit breaker state changes, by the state entered."
    );
    describe_counter!(RETRIES, Unit::Count, "Retries granted, by reason.");
    describe_counter!(
        EXHAUSTED,
        Unit::Count,
        "Calls a retry gave up on, by reason."
    );
    describe_counter!(
        KEYED_EVICTIONS,
        Unit::Count,
        "Keys a keyed container dropped, by reason."
    );
    describe_counter!(
        FLEET_DEGRADED,
        Unit::Count,
        "Times an instance lost the fleet's store and went on with local state."
    );
    describe_counter!(
        FALLBACKS,
        Unit::Count,
        "Errors a fallback replaced, by what failed."
    );
    describe_gauge!(
        BREAKER_STATE,
        "1 for the state a call arriving now would find, 0 for the others."
    );
    describe_gauge!(
        FAILURE_RATE,
        "Failures over calls in the circuit breaker's window, 0.0 to 1.0."
    );
    describe_gauge!(
        BULKHEAD_CALLS,
        Unit::Count,
        "Calls holding a bulkhead permit (in_flight) and waiting for one (waiting)."
    );
    describe_gauge!(
        BULKHEAD_LIMIT,
        Unit::Count,
        "The bulkhead's limit of calls in flight."
    );
    describe_gauge!(
        QUEUE_ITEMS,
        Unit::Count,
        "Queue items waiting (queued) and running on a worker (running)."
    );
    describe_gauge!(QUEUE_CAPACITY, Unit::Count, "The queue's waiting slots.");
    describe_gauge!(
        BUDGET_AVAILABLE,
        Unit::Count,
        "Retries the retry budget allows now."
    );
    describe_gauge!(
        ADAPTIVE_LIMIT,
        Unit::Count,
        "The adaptive limit's current limit of calls in flight."
    );
    describe_gauge!(
        ADAPTIVE_CALLS,
        Unit::Count,
        "Calls holding a place under the adaptive limit (in_flight) and waiting for one (waiting)."
    );
    describe_gauge!(KEYED_KEYS, Unit::Count, "Keys a keyed container holds.");
    describe_counter!(
        HEDGES,
        Unit::Count,
        "Hedged attempts sent, hedged attempts that won, and hedges the budget refused."
    );
    describe_counter!(
        CHAOS_INJECTIONS,
        Unit::Count,
        "Faults a chaos policy injected, by kind."
    );
}
