package optio

import "time"

// SparkPollStatus is how the last poll of Spark's API went, for admins
// (/admin/spark and GET /api/admin/spark/sync/evidence-queue): a poll that
// failed or hit a limit says so here, not only in the log.
type SparkPollStatus struct {
	StartedAt  time.Time `json:"started_at"`
	FinishedAt time.Time `json:"finished_at"`
	// OK is false when the poll stopped early; Error says why (a limit
	// exceeded names its variable).
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	// LastOKAt is when a poll last finished without error (zero: never).
	LastOKAt    time.Time `json:"last_ok_at"`
	Courses     int       `json:"courses"`
	Assignments int       `json:"assignments"`
	Seen        int       `json:"seen"`
	Queued      int       `json:"queued"`
	Requeued    int       `json:"requeued"`
	Rejected    int       `json:"rejected"`
}
