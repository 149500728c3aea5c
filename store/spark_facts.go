package store

import (
	"context"
	"database/sql"
	"time"

	"github.com/optio-edu/optio"
)

// sparkFactsTx records the birth date and publish consent a trusted Spark
// token carried (SSOLogin.BirthDate/PublishConsent, set only with
// SPARK_TRUST_CONSENT=true) with source "spark" and the time. Spark never
// overrides a birth date a parent or an administrator recorded, nor a
// consent decision a parent recorded: a parent's decision, earlier or later,
// wins. An unchanged fact is not rewritten, so its time stays the first
// time Spark said it.
func (db *DB) sparkFactsTx(ctx context.Context, tx *sql.Tx, studentID string, in optio.SSOLogin) error {
	if in.BirthDate == nil && in.PublishConsent == nil {
		return nil
	}
	var birth sql.NullTime
	var birthSrc, consentSrc sql.NullString
	var consent bool
	if err := tx.QueryRowContext(ctx, `SELECT birth_date, birth_date_source, parent_consent, parent_consent_source FROM users WHERE id = $1`+db.forUpdate(),
		studentID).Scan(&birth, &birthSrc, &consent, &consentSrc); err != nil {
		return translate(err)
	}
	if b := in.BirthDate; b != nil && birthSrc.String != optio.SourceParent && birthSrc.String != optio.SourceAdmin {
		d := time.Date(b.Year(), b.Month(), b.Day(), 0, 0, 0, 0, time.UTC)
		same := birth.Valid && birthSrc.String == optio.SourceSpark && birth.Time.Format(time.DateOnly) == d.Format(time.DateOnly)
		if !same {
			if err := db.recordBirthDateTx(ctx, tx, "", studentID, d, optio.SourceSpark); err != nil {
				return err
			}
		}
	}
	if c := in.PublishConsent; c != nil && consentSrc.String != optio.SourceParent {
		if consentSrc.String == optio.SourceSpark && consent == *c {
			return nil
		}
		now := db.now()
		if _, err := tx.ExecContext(ctx, `UPDATE users SET parent_consent = $1, parent_consent_source = $2, parent_consent_set_at = $3,
			parent_consent_set_by = NULL, updated_at = $3 WHERE id = $4`, *c, optio.SourceSpark, now, studentID); err != nil {
			return translate(err)
		}
		return db.auditTx(ctx, tx, "", "parent_consent.set", studentID, map[string]any{"consent": *c, "source": optio.SourceSpark})
	}
	return nil
}
