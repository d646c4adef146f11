//! Faults a replay injects on request: each matches a route and fires a number of times.

use serde::Deserialize;
use std::time::Duration;

/// Which requests a fault applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Route {
    R2z2Sequence,
    R2z2Package,
    Redisq,
    EsiKillmail,
    EsiNames,
    Any,
}

/// What a fault does to the response.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "kebab-case", tag = "kind")]
pub enum Effect {
    /// Answer with this status and a short error body.
    Status { status: u16 },
    /// Answer 200 with a body that is not JSON.
    Malformed,
    /// Wait before answering normally.
    Slow { delay_ms: u64 },
}

/// One injected fault: `effect` on the next `times` requests to `route`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Fault {
    pub route: Route,
    #[serde(flatten)]
    pub effect: Effect,
    pub times: u32,
}

impl Fault {
    pub fn status(route: Route, status: u16, times: u32) -> Self {
        Self { route, effect: Effect::Status { status }, times }
    }

    pub fn malformed(route: Route, times: u32) -> Self {
        Self { route, effect: Effect::Malformed, times }
    }

    pub fn slow(route: Route, delay: Duration, times: u32) -> Self {
        Self { route, effect: Effect::Slow { delay_ms: delay.as_millis() as u64 }, times }
    }
}

/// The queue of pending faults.
#[derive(Debug, Default)]
pub struct Faults {
    pending: Vec<Fault>,
}

impl Faults {
    pub fn add(&mut self, fault: Fault) {
        if fault.times > 0 {
            self.pending.push(fault);
        }
    }

    /// The effect for a request to `route`, if a fault is due; spends one of its times.
    pub fn take(&mut self, route: Route) -> Option<Effect> {
        let i = self.pending.iter().position(|f| f.route == route || f.route == Route::Any)?;
        let effect = self.pending[i].effect.clone();
        self.pending[i].times -= 1;
        if self.pending[i].times == 0 {
            self.pending.remove(i);
        }
        Some(effect)
    }

    /// Drop every pending fault: the upstream is well again.
    pub fn clear(&mut self) {
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_fault_fires_its_number_of_times_on_its_route() {
        let mut f = Faults::default();
        f.add(Fault::status(Route::R2z2Package, 429, 2));
        assert_eq!(f.take(Route::EsiKillmail), None);
        assert_eq!(f.take(Route::R2z2Package), Some(Effect::Status { status: 429 }));
        assert_eq!(f.take(Route::R2z2Package), Some(Effect::Status { status: 429 }));
        assert_eq!(f.take(Route::R2z2Package), None);
    }

    #[test]
    fn faults_parse_from_the_control_endpoint_json() {
        let f: Fault = serde_json::from_str(r#"{"route":"r2z2-package","kind":"status","status":503,"times":3}"#).unwrap();
        assert_eq!(f, Fault::status(Route::R2z2Package, 503, 3));
        let f: Fault = serde_json::from_str(r#"{"route":"any","kind":"slow","delay_ms":50,"times":1}"#).unwrap();
        assert_eq!(f.effect, Effect::Slow { delay_ms: 50 });
    }
}
