package sandbox

import (
	"time"

	"github.com/optio-edu/optio/filestore"
)

// AddFile stores a file the sandbox serves at /files/{id}, as Spark serves
// submission attachments, and returns its URL. Load tests use it for files
// of a chosen size; Submit stores the files of the submissions it makes.
// Call it after Start (or with Config.PublicURL set).
func (s *Sandbox) AddFile(name, contentType string, data []byte) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID("file")
	s.files[id] = &storedFile{name: filestore.SafeFilename(name), contentType: contentType, data: data, modTime: s.clock.Now().UTC()}
	return s.publicURL + "/files/" + id
}

// SampleFileID is the id under which the sandbox serves the sample file
// with key from start-up: GET /files/sample-<key> (/files/sample-chart-png).
// Hand-made webhooks (curl, the Postman collection in docs/spark/postman)
// point their submission_files at these stable addresses.
func SampleFileID(key string) string { return "sample-" + key }

// seedSampleFiles serves every sample file at its SampleFileID.
func (s *Sandbox) seedSampleFiles(now time.Time) {
	for _, f := range samples() {
		s.files[SampleFileID(f.Key)] = &storedFile{name: f.Name, contentType: f.ContentType, data: f.Data, modTime: now.UTC()}
	}
}
