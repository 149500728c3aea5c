package web

import (
	"context"

	"github.com/optio-edu/optio"
)

// The upload quota (OPTIO_UPLOAD_QUOTA_BYTES) bounds what one account keeps,
// so one student cannot fill the disk. Usage is the sum of the sizes of the
// files they own, files synced from Spark included: those count, but a sync
// is never refused for them (the school's work always arrives), they only
// leave less room for uploads. See docs/SECURITY.md, "Issue 17".

// uploadRoom is the most the next file of u may hold: the per-file cap or
// what is left of the quota, whichever is smaller, with the bytes u already
// uses. A quota already used up is refused before a byte is stored.
func (s *Server) uploadRoom(ctx context.Context, u *optio.User) (room, used int64, err error) {
	used, err = s.Store.StoredBytes(ctx, u.ID)
	if err != nil {
		return 0, 0, err
	}
	left := s.Config.UploadQuota() - used
	if left <= 0 {
		s.Metrics.Quota.Inc()
		return 0, used, optio.QuotaError(used, s.Config.UploadQuota())
	}
	return min(left, s.Config.MaxUploadBytes), used, nil
}

// overQuota turns the file store's too_large into quota_exceeded when what
// was left of the quota, not the per-file cap, stopped the file.
func (s *Server) overQuota(err error, room, used int64) error {
	if optio.ErrorCode(err) == optio.ETOOLARGE && room < s.Config.MaxUploadBytes {
		s.Metrics.Quota.Inc()
		return optio.QuotaError(used, s.Config.UploadQuota())
	}
	return err
}
