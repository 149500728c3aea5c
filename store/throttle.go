package store

import (
	"context"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// throttleHitSQL counts one attempt in one upsert, so concurrent attempts in
// any number of processes are counted one after the other under the row's
// lock (PostgreSQL) or the single writer (SQLite). Parameters: $1 key, $2 now,
// $3 window, $4 limit, $5 first lock, $6 longest lock (times in ms). In the
// DO UPDATE part the table's columns are the row's values before this attempt.
//
//	L  the key is locked now: refuse, count nothing
//	F  the run is forgotten: this attempt starts a new one
//	N  the count after this attempt
//	LU the lock after this attempt: from the Limit-th attempt of a run on,
//	   each counted attempt locks for Lock·2^(N−Limit), at most MaxLock
//	WS the run's first attempt
var throttleHitSQL = func() string {
	lockFor := func(n string) string {
		shifted := "CAST($5 AS BIGINT) * (CAST(1 AS BIGINT) << (" + n + "))"
		return "(CASE WHEN (" + n + ") >= 30 THEN CAST($6 AS BIGINT) WHEN " + shifted + " > $6 THEN $6 ELSE " + shifted + " END)"
	}
	r := strings.NewReplacer(
		"{EX}", "(CASE WHEN {LU} > {WS} THEN {LU} ELSE {WS} END) + CAST($3 AS BIGINT)",
		"{LU}", "(CASE WHEN {L} THEN {T}locked_until_ms WHEN {N} >= $4 THEN $2 + "+lockFor("{N} - $4")+" ELSE 0 END)",
		"{WS}", "(CASE WHEN {F} THEN $2 ELSE {T}window_start_ms END)",
		"{N}", "(CASE WHEN {L} THEN {T}count WHEN {F} THEN 1 ELSE {T}count + 1 END)",
		"{L}", "{T}locked_until_ms > $2",
		"{F}", "{T}expires_ms <= $2",
		"{T}", "throttle_counters.",
	)
	expand := func(s string) string {
		for strings.Contains(s, "{") {
			s = r.Replace(s)
		}
		return s
	}
	insertLock := "(CASE WHEN 1 >= CAST($4 AS INTEGER) THEN CAST($2 AS BIGINT) + " + lockFor("1 - $4") + " ELSE 0 END)"
	return expand(`INSERT INTO throttle_counters (key, window_start_ms, count, locked_until_ms, expires_ms, refused, prev_locked_until_ms)
VALUES ($1, $2, 1, ` + insertLock + `, (CASE WHEN ` + insertLock + ` > $2 THEN ` + insertLock + ` ELSE $2 END) + $3, 0, 0)
ON CONFLICT (key) DO UPDATE SET
	count = {N},
	window_start_ms = {WS},
	locked_until_ms = {LU},
	expires_ms = CASE WHEN {L} THEN {T}expires_ms ELSE {EX} END,
	refused = CASE WHEN {L} THEN 1 ELSE 0 END,
	prev_locked_until_ms = CASE WHEN {L} THEN {T}prev_locked_until_ms ELSE {T}locked_until_ms END
RETURNING count, locked_until_ms, refused`)
}()

// ThrottleHit counts one attempt against key under rule, or refuses it while
// the key is locked (see optio.ThrottleRule).
func (db *DB) ThrottleHit(ctx context.Context, key string, rule optio.ThrottleRule) (optio.ThrottleResult, error) {
	now := db.now().UnixMilli()
	var count, refused int
	var lockedUntil int64
	err := db.W.QueryRowContext(ctx, throttleHitSQL, key, now, rule.Window.Milliseconds(), rule.Limit,
		rule.Lock.Milliseconds(), rule.MaxLock.Milliseconds()).Scan(&count, &lockedUntil, &refused)
	if err != nil {
		return optio.ThrottleResult{}, translate(err)
	}
	res := optio.ThrottleResult{Allowed: refused == 0, Count: count}
	if lockedUntil > now {
		res.RetryAfter = time.Duration(lockedUntil-now) * time.Millisecond
	}
	return res, nil
}

// ThrottleForgive takes back the latest counted attempt of key and the lock
// it set, restoring the lock that was there before it. (Were another attempt
// counted in between, that attempt's lock is the one lifted: the count it
// added stays, so at most one more attempt gets through.)
func (db *DB) ThrottleForgive(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `UPDATE throttle_counters SET count = count - 1, locked_until_ms = prev_locked_until_ms
		WHERE key = $1 AND count > 0`, key)
	return err
}

// ThrottleReset forgets key.
func (db *DB) ThrottleReset(ctx context.Context, key string) error {
	_, err := db.exec(ctx, `DELETE FROM throttle_counters WHERE key = $1`, key)
	return err
}

// PruneThrottle deletes the counters whose run is forgotten.
func (db *DB) PruneThrottle(ctx context.Context) (int64, error) {
	res, err := db.exec(ctx, `DELETE FROM throttle_counters WHERE expires_ms <= $1`, db.now().UnixMilli())
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

// StoredBytes is the total size of the files userID owns, uploaded or synced.
func (db *DB) StoredBytes(ctx context.Context, userID string) (int64, error) {
	if !validID(userID) {
		return 0, nil
	}
	var n int64
	err := db.queryRow(ctx, `SELECT COALESCE(SUM(size), 0) FROM files WHERE owner_id = $1`, userID).Scan(&n)
	return n, err
}
