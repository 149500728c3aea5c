package jobs

import (
	"net/url"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// notImportedBlock is the evidence entry of a file that could not be
// imported: a document block without a file, carrying the reason people see
// ("could not import: …") and, when safe, the link Spark offered.
func notImportedBlock(base optio.BlockContent, f spark.SubmissionFile, name string, err error) optio.BlockInput {
	c := base
	c.Filename = name
	c.NotImported = notImportedReason(err)
	if optio.ErrorCode(err) != optio.EFORBIDDEN && !f.Inline() {
		c.OriginalURL = SafeOriginalURL(f.URL)
	}
	return optio.BlockInput{BlockType: optio.BlockDocument, Content: c}
}

// notImportedReason is the reason shown on the portfolio. It is built from
// the error's code and Optio's own messages, which name no URL (download
// errors carry only a redacted URL, and that is left out too).
func notImportedReason(err error) string {
	switch optio.ErrorCode(err) {
	case optio.EFORBIDDEN:
		return "the download was refused (the file's host is not allowed, or it denied access)"
	case optio.ETOOLARGE, optio.EUNSUPPORTED, optio.EINVALID:
		return optio.ErrorMessage(err)
	}
	return "the file could not be read"
}

// SafeOriginalURL returns raw when it can be shown to anyone who sees the
// portfolio, else "". Spark's file links may be signed: a token lives in
// the query string, the fragment or user info, so a URL with any of these is
// never shown; nor is anything but http(s). A refused host is never linked
// (the caller leaves it out), so a portfolio never points at an address
// Optio would not fetch.
func SafeOriginalURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.User != nil ||
		u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || len(raw) > 2048 {
		return ""
	}
	return u.String()
}
