package sandbox

import (
	_ "embed" // the HEIC sample photo
	"net/http"
)

// photoHEIC is a small real HEIC photo (an iPhone's default format),
// copied from github.com/gen2brain/heic's testdata/test8.heic (MIT), so
// Optio's HEIC path is exercised with a file libheif itself produced.
//
//go:embed photo.heic
var photoHEIC []byte

// exeStub is the start of a Windows executable (an "MZ" header and
// padding): what a student's "game mod" upload looks like to a type sniffer.
// Optio must refuse it and show it as not imported.
var exeStub = append([]byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00\xb8"), make([]byte, 111)...)

// SetFilesDown makes the sandbox's file host answer 503 to every download
// while down is true: a Spark file server outage, for showing (and testing)
// that Optio retries until it is back.
func (s *Sandbox) SetFilesDown(down bool) {
	s.filesDown.Store(down)
}

// filesAreDown answers 503 when SetFilesDown(true) is in force.
func (s *Sandbox) filesAreDown(w http.ResponseWriter) bool {
	if !s.filesDown.Load() {
		return false
	}
	w.Header().Set("Retry-After", "60")
	http.Error(w, "file storage is down for maintenance", http.StatusServiceUnavailable)
	return true
}
