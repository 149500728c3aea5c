package optio

import (
	"fmt"
	"time"
)

// validatePollLimits checks the Spark API and polling limits (zero values,
// as in a Config built by hand, mean the defaults).
func (c *Config) validatePollLimits() error {
	for _, v := range []struct {
		name string
		n    int64
	}{
		{"SPARK_API_CONCURRENCY", int64(c.SparkAPIConcurrency)},
		{"SPARK_API_MAX_RESPONSE_BYTES", c.SparkAPIMaxResponseBytes},
		{"SPARK_POLL_MAX_COURSES", int64(c.SparkPollMaxCourses)},
		{"SPARK_POLL_MAX_ASSIGNMENTS", int64(c.SparkPollMaxAssignments)},
		{"SPARK_POLL_MAX_SUBMISSIONS", int64(c.SparkPollMaxSubmissions)},
	} {
		if v.n < 0 {
			return fmt.Errorf("%s: must not be negative (0 means the default)", v.name)
		}
	}
	if c.SparkAPIConcurrency > 64 {
		return fmt.Errorf("SPARK_API_CONCURRENCY: at most 64 (Optio should not flood Spark)")
	}
	if c.SparkPollReconcileEvery < 0 || (c.SparkPollReconcileEvery > 0 && c.SparkPollReconcileEvery < time.Minute) {
		return fmt.Errorf("SPARK_POLL_RECONCILE_EVERY: 0 (off) or at least 1m")
	}
	return nil
}
