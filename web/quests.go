package web

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/filestore"
)

func (s *Server) handleListQuests(w http.ResponseWriter, r *http.Request) {
	qs, err := s.Store.ListQuests(r.Context(), userOf(r).Role != optio.RoleAdmin)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if qs == nil {
		qs = []optio.Quest{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"quests": qs})
}

func (s *Server) handleGetQuest(w http.ResponseWriter, r *http.Request) {
	q, err := s.questFor(r.Context(), userOf(r), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

func (s *Server) handleCreateQuest(w http.ResponseWriter, r *http.Request) {
	var in optio.QuestInput
	if err := decodeJSON(w, r, 1<<20, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	q, err := s.Store.CreateQuest(r.Context(), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, q)
}

func (s *Server) handleUpdateQuest(w http.ResponseWriter, r *http.Request) {
	var in optio.QuestInput
	if err := decodeJSON(w, r, 1<<20, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	q, err := s.Store.UpdateQuest(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, q)
}

func (s *Server) handleCreateTask(w http.ResponseWriter, r *http.Request) {
	var in optio.TaskInput
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	t, err := s.Store.CreateTask(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, t)
}

func (s *Server) handleUpdateTask(w http.ResponseWriter, r *http.Request) {
	var in optio.TaskInput
	if err := decodeJSON(w, r, 64<<10, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	t, err := s.Store.UpdateTask(r.Context(), r.PathValue("id"), in)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, t)
}

func (s *Server) handleStartQuest(w http.ResponseWriter, r *http.Request) {
	e, err := s.Store.StartQuest(r.Context(), userOf(r).ID, r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, e)
}

// questFor is quest id as u may see it: a retired quest is found only by an
// admin. The API and the quest page both ask it.
func (s *Server) questFor(ctx context.Context, u *optio.User, id string) (*optio.Quest, error) {
	q, err := s.Store.QuestByID(ctx, id)
	if err == nil && !q.Active && u.Role != optio.RoleAdmin {
		err = &optio.Error{Code: optio.ENOTFOUND, Message: "Quest not found."}
	}
	return q, err
}

// evidenceItem is one piece of evidence in a completion request: text, a
// link, or a file uploaded first through POST /api/uploads.
type evidenceItem struct {
	Type    string `json:"type"`
	Text    string `json:"text,omitempty"`
	URL     string `json:"url,omitempty"`
	Title   string `json:"title,omitempty"`
	FileID  string `json:"file_id,omitempty"`
	Private bool   `json:"private,omitempty"`
}

func (s *Server) handleCompleteTask(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Evidence []evidenceItem `json:"evidence"`
	}
	if err := decodeJSON(w, r, 1<<20, &in); err != nil {
		s.Error(w, r, err)
		return
	}
	u := userOf(r)
	blocks, err := s.evidenceBlocks(r.Context(), u, in.Evidence)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	v, err := s.completeTask(r.Context(), u, r.PathValue("id"), blocks)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, v)
}

// completeTask completes taskID for student u with blocks as evidence: the
// one way Optio's API and the quest page's form both complete a task. There
// must be at least one piece of evidence; the store checks the blocks.
func (s *Server) completeTask(ctx context.Context, u *optio.User, taskID string, blocks []optio.BlockInput) (*optio.CompletionView, error) {
	if len(blocks) == 0 {
		return nil, &optio.Error{Code: optio.EINVALID, Message: "Add some evidence: a description, a link or a file.",
			Fields: map[string]string{"evidence": "add at least one piece of evidence"}}
	}
	return s.Store.CompleteTask(ctx, optio.CompletionInput{UserID: u.ID, TaskID: taskID, Blocks: blocks, Source: "optio"})
}

// evidenceBlocks turns request evidence into blocks, checking that every file
// belongs to the student; completeTask checks there is some.
func (s *Server) evidenceBlocks(ctx context.Context, u *optio.User, items []evidenceItem) ([]optio.BlockInput, error) {
	f := optio.FieldErrors{}
	var blocks []optio.BlockInput
	for i, it := range items {
		p := fmt.Sprintf("evidence[%d].", i)
		switch it.Type {
		case "text":
			blocks = append(blocks, optio.BlockInput{BlockType: optio.BlockText, Content: optio.BlockContent{Text: it.Text}, Private: it.Private})
		case "link":
			blocks = append(blocks, optio.BlockInput{BlockType: optio.BlockLink, Content: optio.BlockContent{URL: it.URL, Title: it.Title}, Private: it.Private})
		case "file":
			file, err := s.Store.FileByID(ctx, it.FileID)
			if err != nil || file.OwnerID != u.ID {
				f.Add(p+"file_id", "is not a file you uploaded")
				continue
			}
			blocks = append(blocks, optio.BlockInput{BlockType: blockTypeFor(file.ContentType), Private: it.Private,
				Content: optio.BlockContent{FileID: file.ID, Filename: file.Filename, ContentType: file.ContentType, Size: file.Size}})
		default:
			f.Add(p+"type", "must be text, link or file")
		}
	}
	if err := f.Err(optio.EINVALID, "The evidence is not valid."); err != nil {
		return nil, err
	}
	return blocks, nil
}

// blockTypeFor picks the evidence block type for a sniffed content type.
func blockTypeFor(contentType string) optio.BlockType {
	switch {
	case strings.HasPrefix(contentType, "image/"):
		return optio.BlockImage
	case strings.HasPrefix(contentType, "video/"):
		return optio.BlockVideo
	default:
		return optio.BlockDocument
	}
}

// storeUpload streams one multipart file into the file store under the
// client's name (any path in it is dropped, see filestore.DisplayName). The
// record is returned unsaved so the caller can write it with the data that
// uses it.
func (s *Server) storeUpload(ctx context.Context, u *optio.User, part io.Reader, clientName string) (*optio.File, error) {
	if s.Files == nil {
		return nil, &optio.Error{Code: optio.ENOTCONFIG, Message: "File storage is not configured."}
	}
	name := filestore.SafeFilename(clientName)
	body := &requestReader{r: part}
	room, used, err := s.uploadRoom(ctx, u)
	if err != nil {
		return nil, err
	}
	obj, err := s.Files.Put(ctx, body, name, room)
	if err != nil {
		if body.err != nil {
			return nil, uploadErr(body.err, s.Config.MaxUploadBytes)
		}
		return nil, s.overQuota(err, room, used)
	}
	return &optio.File{OwnerID: u.ID, BlobKey: obj.Key, SHA256: obj.SHA256, Filename: filestore.DisplayName(name, obj.ContentType),
		ContentType: obj.ContentType, Size: obj.Size}, nil
}

// handleUpload stores one file (multipart field "file") and returns its id
// for use as evidence.
func (s *Server) handleUpload(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, s.Config.MaxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		s.Error(w, r, optio.Errorf(optio.EINVALID, "Send the file as multipart/form-data in a field named \"file\"."))
		return
	}
	u := userOf(r)
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.Error(w, r, uploadErr(err, s.Config.MaxUploadBytes))
			return
		}
		if part.FormName() != "file" || part.FileName() == "" {
			part.Close()
			continue
		}
		f, err := s.storeUpload(r.Context(), u, part, part.FileName())
		part.Close()
		if err != nil {
			s.Error(w, r, err)
			return
		}
		if err := s.Store.CreateFile(r.Context(), f); err != nil {
			s.Error(w, r, err)
			return
		}
		writeJSON(w, http.StatusCreated, f)
		return
	}
	s.Error(w, r, &optio.Error{Code: optio.EINVALID, Message: "No file was sent.", Fields: map[string]string{"file": "is required"}})
}

// uploadErr explains a failure reading an upload request: past the size
// limit is a 413 with the limit; anything else (a malformed multipart body or
// part header, a body cut off) is the client's, a 400.
func uploadErr(err error, limit int64) error {
	var mbe *http.MaxBytesError
	var oe *optio.Error
	switch {
	case errors.As(err, &mbe):
		return optio.Errorf(optio.ETOOLARGE, "The file is larger than the %d MB limit.", limit>>20)
	case errors.As(err, &oe), errors.Is(err, context.Canceled):
		return err
	}
	return &optio.Error{Code: optio.EINVALID, Message: "The upload could not be read: it is not well-formed multipart/form-data, or it was cut off."}
}

// requestReader remembers the error reading the request gave, so that a
// failed upload is blamed on the request, not on storage.
type requestReader struct {
	r   io.Reader
	err error
}

func (b *requestReader) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

func (s *Server) handleDashboard(w http.ResponseWriter, r *http.Request) {
	d, err := s.dashboard(r.Context(), userOf(r))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// Dashboard is a student's home: quests in progress, recent work and XP.
type Dashboard struct {
	User        *optio.User            `json:"user"`
	XP          *optio.XPSummary       `json:"xp"`
	Quests      []optio.QuestProgress  `json:"quests"`
	Completions []optio.CompletionView `json:"recent_completions"`
	// Visibility is the page's portfolio settings form.
	Visibility visibilityForm `json:"-"`
}

func (s *Server) dashboard(ctx context.Context, u *optio.User) (*Dashboard, error) {
	// Work first, XP last: XP only grows, so the total shown always covers
	// the completions shown even when a sync commits between the reads.
	cs, err := s.Store.RecentCompletions(ctx, u.ID, 10, 0)
	if err != nil {
		return nil, err
	}
	qs, err := s.Store.QuestProgressFor(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	xp, err := s.Store.XPSummary(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if qs == nil {
		qs = []optio.QuestProgress{}
	}
	if cs == nil {
		cs = []optio.CompletionView{}
	}
	return &Dashboard{User: u, XP: xp, Quests: qs, Completions: cs}, nil
}

// handleFile serves an evidence file to its owner or an admin, with ranges.
func (s *Server) handleFile(w http.ResponseWriter, r *http.Request) {
	f, err := s.Store.FileByID(r.Context(), r.PathValue("id"))
	u := userOf(r)
	if err == nil && f.OwnerID != u.ID && u.Role != optio.RoleAdmin {
		err = &optio.Error{Code: optio.ENOTFOUND, Message: "File not found."}
	}
	if err != nil {
		s.Error(w, r, err)
		return
	}
	s.serveFile(w, r, f, "private, max-age=300")
}
