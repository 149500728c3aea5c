package web

import (
	"mime"
	"net/http"
	"strings"

	"github.com/optio-edu/optio"
)

// inlineTypes may be shown in the browser; everything else downloads.
func inlineType(ct string) bool {
	switch {
	case strings.HasPrefix(ct, "image/") && ct != "image/svg+xml",
		strings.HasPrefix(ct, "video/"), strings.HasPrefix(ct, "audio/"),
		ct == "application/pdf", strings.HasPrefix(ct, "text/plain"):
		return true
	}
	return false
}

// serveFile streams a stored file with its sniffed content type, a
// Content-Disposition, range support (video seeking) and cache headers. The
// caller has checked access.
func (s *Server) serveFile(w http.ResponseWriter, r *http.Request, f *optio.File, cacheControl string) {
	if s.Files == nil {
		s.Error(w, r, &optio.Error{Code: optio.ENOTCONFIG, Message: "File storage is not configured."})
		return
	}
	rd, err := s.Files.Open(r.Context(), f.BlobKey)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	defer rd.Close()
	h := w.Header()
	h.Set("Content-Type", f.ContentType)
	disp := "attachment"
	if inlineType(f.ContentType) {
		disp = "inline"
	}
	h.Set("Content-Disposition", mime.FormatMediaType(disp, map[string]string{"filename": f.Filename}))
	h.Set("Cache-Control", cacheControl)
	h.Set("ETag", `"`+f.SHA256+`"`)
	h.Set("Content-Security-Policy", "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox")
	http.ServeContent(w, r, "", f.CreatedAt, rd)
}
