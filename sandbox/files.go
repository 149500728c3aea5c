package sandbox

import "github.com/optio-edu/optio/filestore"

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
