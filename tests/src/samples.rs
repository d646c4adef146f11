//! Measured values (latencies in milliseconds, mostly) and their percentiles, for the benches.

/// Samples, sorted once.
pub struct Samples(Vec<f64>);

impl Samples {
    pub fn new(mut values: Vec<f64>) -> Self {
        assert!(!values.is_empty(), "a percentile of no samples");
        values.sort_by(f64::total_cmp);
        Self(values)
    }

    /// The value below which a fraction `p` (0–1) of the samples lie.
    pub fn at(&self, p: f64) -> f64 {
        self.0[((self.0.len() as f64 * p) as usize).min(self.0.len() - 1)]
    }

    pub fn median(&self) -> f64 {
        self.at(0.5)
    }

    pub fn max(&self) -> f64 {
        self.0[self.0.len() - 1]
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::Samples;

    #[test]
    fn percentiles_of_sorted_samples() {
        let s = Samples::new((1..=100).rev().map(f64::from).collect());
        assert_eq!((s.median(), s.at(0.99), s.max(), s.len()), (51.0, 100.0, 100.0, 100));
    }
}
