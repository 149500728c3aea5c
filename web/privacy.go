package web

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/optio-edu/optio"
)

// ExportStore reads finished export ZIPs (the filestore package).
type ExportStore interface {
	// OpenExport reads the ZIP at key; Size is its length.
	OpenExport(ctx context.Context, key string) (ExportReader, error)
}

// ExportReader is an open export ZIP.
type ExportReader interface {
	io.ReadCloser
	Size() int64
}

// privacyRoutes are a family's rights over a student's data (issue 25,
// docs/privacy.md): export everything, and delete everything after a
// cooling-off period. Who may ask is decided by privacyAccess alone.
func (s *Server) privacyRoutes(mux *http.ServeMux) {
	mux.HandleFunc("POST /api/students/{id}/export", s.requireUser(s.handleRequestExport))
	mux.HandleFunc("GET /api/students/{id}/export", s.requireUser(s.handleExportStatus))
	mux.HandleFunc("POST /api/students/{id}/deletion", s.requireUser(s.handleRequestDeletion))
	mux.HandleFunc("GET /api/students/{id}/deletion", s.requireUser(s.handleDeletionStatus))
	mux.HandleFunc("DELETE /api/students/{id}/deletion", s.requireUser(s.handleCancelDeletion))
	mux.HandleFunc("GET /exports/{request_id}", s.handleDownloadExport)

	mux.HandleFunc("POST /privacy/{id}/export", s.requirePageUser(s.handleExportForm))
	mux.HandleFunc("POST /privacy/{id}/deletion", s.requirePageUser(s.handleDeletionForm))
	mux.HandleFunc("POST /privacy/{id}/deletion/cancel", s.requirePageUser(s.handleCancelDeletionForm))
}

// privacyAccess is what a user may do with a student's data rights. It
// builds on the family relationship (accessTo, through student): the student
// themselves, a linked parent and an admin may export; anyone else — an
// observer included — gets 404, as for a student who does not exist.
// Deletion is for a linked parent while the student is a minor, for the
// student once an adult (by a birth date a parent, admin or Spark recorded),
// and for an admin; the same people, and only they, may cancel one: a
// minor cannot undo what their parent asked for, nor a parent what their
// adult child asked for.
type privacyAccess struct {
	student   *optio.User
	canDelete bool
	// deleteWhy and cancelWhy say why asking for a deletion, and cancelling
	// one, are not offered ("" when they are).
	deleteWhy, cancelWhy string
}

func (s *Server) privacyAccess(ctx context.Context, u *optio.User, studentID string) (*privacyAccess, error) {
	st, a, err := s.student(ctx, u, studentID)
	if err != nil {
		return nil, err
	}
	if !a.self && !a.parent && !a.admin {
		return nil, errNoChild
	}
	p := &privacyAccess{student: st}
	minor := !st.AdultForConsent(s.now())
	switch {
	case a.admin:
		p.canDelete = true
	case a.parent && minor:
		p.canDelete = true
	case a.parent:
		p.deleteWhy = "Your child is an adult: only they can ask for their account to be deleted."
		p.cancelWhy = "Your child is an adult: only they can cancel a deletion of their account."
	case a.self && !minor:
		p.canDelete = true
	default:
		p.deleteWhy = "A parent linked to your account can ask for it to be deleted."
		p.cancelWhy = "Your parent asked for this: only a parent linked to your account can cancel it."
	}
	return p, nil
}

// exportView is an export request as the API and pages show it.
type exportView struct {
	*optio.DataRequest
	DownloadURL string `json:"download_url,omitempty"`
}

func (s *Server) exportView(ctx context.Context, r *optio.DataRequest) (*exportView, error) {
	v := &exportView{DataRequest: r}
	if r.Status == optio.RequestReady && r.ExpiresAt != nil && r.ExpiresAt.After(s.now()) {
		sig, err := s.exportSignature(ctx, r)
		if err != nil {
			return nil, err
		}
		v.DownloadURL = s.Config.BaseURL + "/exports/" + r.ID + "?sig=" + sig
	}
	return v, nil
}

// exportSignature signs a ready export's id and expiry with a key kept in the
// database (so every process makes and checks the same links): the link
// works for whoever holds it, until the export expires.
func (s *Server) exportSignature(ctx context.Context, r *optio.DataRequest) (string, error) {
	keys, err := s.Store.SigningKeys(ctx, "export-links", "HS256", func() (string, error) {
		b := make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return "", err
		}
		return hex.EncodeToString(b), nil
	})
	if err != nil {
		return "", err
	}
	key := keys[0].PrivateKey
	m := hmac.New(sha256.New, []byte(key))
	m.Write([]byte(r.ID + "|" + strconv.FormatInt(r.ExpiresAt.Unix(), 10)))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil)), nil
}

// errNoExport answers any download that is not a ready, unexpired export
// with a matching signature.
var errNoExport = &optio.Error{Code: optio.ENOTFOUND, Message: "This download link is not valid or has expired; ask for a new export."}

func (s *Server) handleDownloadExport(w http.ResponseWriter, r *http.Request) {
	req, err := s.Store.DataRequestByID(r.Context(), r.PathValue("request_id"))
	if err != nil || req.Kind != optio.RequestExport || req.Status != optio.RequestReady || req.ExpiresAt == nil ||
		!req.ExpiresAt.After(s.now()) || s.Exports == nil {
		if err != nil && optio.ErrorCode(err) != optio.ENOTFOUND {
			s.Error(w, r, err)
			return
		}
		s.Error(w, r, errNoExport)
		return
	}
	want, err := s.exportSignature(r.Context(), req)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	if !hmac.Equal([]byte(want), []byte(r.URL.Query().Get("sig"))) {
		s.Error(w, r, errNoExport)
		return
	}
	zr, err := s.Exports.OpenExport(r.Context(), req.BlobKey)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			err = errNoExport
		}
		s.Error(w, r, err)
		return
	}
	defer zr.Close()
	h := w.Header()
	h.Set("Content-Type", "application/zip")
	h.Set("Content-Length", strconv.FormatInt(zr.Size(), 10))
	h.Set("Content-Disposition", `attachment; filename="optio-export-`+req.ID+`.zip"`)
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	_, _ = io.Copy(w, zr)
}

func (s *Server) handleRequestExport(w http.ResponseWriter, r *http.Request) {
	v, err := s.requestExport(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, v)
}

func (s *Server) requestExport(r *http.Request) (*exportView, error) {
	p, err := s.privacyAccess(r.Context(), userOf(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	req, err := s.Store.RequestExport(r.Context(), p.student.ID, userOf(r).ID)
	if err != nil {
		return nil, err
	}
	return s.exportView(r.Context(), req)
}

func (s *Server) handleExportStatus(w http.ResponseWriter, r *http.Request) {
	p, err := s.privacyAccess(r.Context(), userOf(r), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	req, err := s.Store.LatestDataRequest(r.Context(), p.student.ID, optio.RequestExport)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			err = &optio.Error{Code: optio.ENOTFOUND, Message: "No export has been asked for."}
		}
		s.Error(w, r, err)
		return
	}
	v, err := s.exportView(r.Context(), req)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (s *Server) handleRequestDeletion(w http.ResponseWriter, r *http.Request) {
	req, err := s.requestDeletion(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusAccepted, req)
}

func (s *Server) requestDeletion(r *http.Request) (*optio.DataRequest, error) {
	p, err := s.privacyAccess(r.Context(), userOf(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !p.canDelete {
		return nil, &optio.Error{Code: optio.EFORBIDDEN, Message: p.deleteWhy}
	}
	return s.Store.RequestDeletion(r.Context(), p.student.ID, userOf(r).ID, s.now().Add(s.Config.DeletionCoolingOff))
}

func (s *Server) handleDeletionStatus(w http.ResponseWriter, r *http.Request) {
	p, err := s.privacyAccess(r.Context(), userOf(r), r.PathValue("id"))
	if err != nil {
		s.Error(w, r, err)
		return
	}
	req, err := s.Store.LatestDataRequest(r.Context(), p.student.ID, optio.RequestDeletion)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			err = &optio.Error{Code: optio.ENOTFOUND, Message: "No deletion has been asked for."}
		}
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) handleCancelDeletion(w http.ResponseWriter, r *http.Request) {
	req, err := s.cancelDeletion(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, req)
}

func (s *Server) cancelDeletion(r *http.Request) (*optio.DataRequest, error) {
	p, err := s.privacyAccess(r.Context(), userOf(r), r.PathValue("id"))
	if err != nil {
		return nil, err
	}
	if !p.canDelete {
		return nil, &optio.Error{Code: optio.EFORBIDDEN, Message: p.cancelWhy}
	}
	return s.Store.CancelDeletion(r.Context(), p.student.ID, userOf(r).ID)
}

// privacyPanel is the "Your data" box on the student's account page and on
// each child of the parent dashboard.
type privacyPanel struct {
	StudentID string
	Name      string
	Export    *exportView
	Deletion  *optio.DataRequest
	// CanDelete is also who may cancel a pending deletion.
	CanDelete bool
	DeleteWhy string
	CancelWhy string
	// CoolingOff is how long a deletion waits, in words.
	CoolingOff string
}

// privacyPanelFor builds the panel, or nil when the user has no data rights
// over the student (the panel is then not shown).
func (s *Server) privacyPanelFor(ctx context.Context, u *optio.User, studentID string) (*privacyPanel, error) {
	p, err := s.privacyAccess(ctx, u, studentID)
	if err != nil {
		if optio.ErrorCode(err) == optio.ENOTFOUND {
			return nil, nil
		}
		return nil, err
	}
	out := &privacyPanel{StudentID: p.student.ID, Name: p.student.DisplayName(), CanDelete: p.canDelete, DeleteWhy: p.deleteWhy, CancelWhy: p.cancelWhy,
		CoolingOff: humanDuration(s.Config.DeletionCoolingOff)}
	if req, err := s.Store.LatestDataRequest(ctx, p.student.ID, optio.RequestExport); err == nil {
		if out.Export, err = s.exportView(ctx, req); err != nil {
			return nil, err
		}
	} else if optio.ErrorCode(err) != optio.ENOTFOUND {
		return nil, err
	}
	if req, err := s.Store.LatestDataRequest(ctx, p.student.ID, optio.RequestDeletion); err == nil {
		out.Deletion = req
	} else if optio.ErrorCode(err) != optio.ENOTFOUND {
		return nil, err
	}
	return out, nil
}

// humanDuration says a cooling-off period in days or hours.
func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour && d%(24*time.Hour) == 0:
		return fmt.Sprintf("%d days", d/(24*time.Hour))
	case d >= time.Hour && d%time.Hour == 0:
		return fmt.Sprintf("%d hours", d/time.Hour)
	case d <= 0:
		return "no time"
	}
	return d.String()
}

// privacyBack is where a form returns: the page the panel is on.
func privacyBack(u *optio.User, studentID, msg string) string {
	back := "/account"
	if u.ID != studentID {
		back = "/parent"
	}
	return back + "?flash=" + url.QueryEscape(msg) + "#data-" + studentID
}

func (s *Server) handleExportForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.requestExport(r); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, privacyBack(userOf(r), r.PathValue("id"), "The export is being built; this page shows when it is ready."), http.StatusSeeOther)
}

func (s *Server) handleDeletionForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 4<<10)
	if r.PostFormValue("confirm") != "yes" {
		s.Error(w, r, &optio.Error{Code: optio.EINVALID, Message: "Tick the box to confirm the deletion."})
		return
	}
	req, err := s.requestDeletion(r)
	if err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, privacyBack(userOf(r), r.PathValue("id"), "Deletion scheduled for "+req.DueAt.Format("2 Jan 2006 15:04 UTC")+"; you can cancel it until then."), http.StatusSeeOther)
}

func (s *Server) handleCancelDeletionForm(w http.ResponseWriter, r *http.Request) {
	if _, err := s.cancelDeletion(r); err != nil {
		s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, privacyBack(userOf(r), r.PathValue("id"), "Deletion cancelled: nothing will be deleted."), http.StatusSeeOther)
}
