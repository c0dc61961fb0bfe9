use std::{convert::Infallible, future::ready};

use failguard::{Error, config::StackConfig};
use tower::{Layer, Service, service_fn};

use crate::{assert_no_alloc, in_runtime};

const EVERY_SECTION: &str = r#"
[bulkhead]
max_concurrent = 8
[timeout]
duration = "5s"
[retry]
max_attempts = 3
[retry_budget]
percent = 10.0
[breaker]
count_window = 10
[attempt_timeout]
duration = "1s"
"#;

/// A stack read from a file costs what the same layers wrapped by hand cost: nothing allocated,
/// with every section, with none, and through tower.
#[test]
fn a_stack_from_a_file_allocates_nothing_with_or_without_its_sections() {
    in_runtime(|| {
        for text in [EVERY_SECTION, "", "[breaker]"] {
            let stack = toml::from_str::<StackConfig>(text)
                .unwrap()
                .build()
                .unwrap();
            let out = assert_no_alloc(|| stack.call(|| ready(Ok::<_, Infallible>(1))));
            assert_eq!(out.unwrap(), 1, "{text}");

            let mut svc = stack
                .layer()
                .layer(service_fn(|x: u32| ready(Ok::<_, Error<Infallible>>(x))));
            let out = assert_no_alloc(|| svc.call(3));
            assert_eq!(out.unwrap(), 3, "{text}");
        }
    })
}
