package web

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwk"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/openbadges"
)

// Open Badges 3.0 credentials: what an outside verifier dereferences (the
// issuer Profile, each key, the status list), the public verification page
// of each credential with its JSON-LD twin and baked images, the verifier
// endpoint, and revocation (docs/badges.md, "Open Badges 3.0").

// maxVerifyUpload bounds what POST /credentials/verify reads.
const maxVerifyUpload = 2 << 20

// issuerTTL is how long a process keeps its loaded keys before reading
// them again, so a rotation made by another process reaches it.
const issuerTTL = time.Minute

// issuerForceGap is the least time between two forced reloads, so requests
// for made-up kids cannot make every request read the keys again.
const issuerForceGap = 5 * time.Second

func (b *badgeWeb) credentialRoutes(mux *http.ServeMux) {
	s := b.s
	mux.HandleFunc("GET /issuer", b.handleIssuerProfile)
	mux.HandleFunc("GET /keys/{kid}", b.handleKey)
	mux.HandleFunc("GET /credentials/status/1", b.handleStatusList)
	mux.HandleFunc("POST /credentials/verify", b.handleVerify)
	mux.HandleFunc("GET /credentials/{id}", b.handleCredentialPage)
	mux.HandleFunc("GET /credentials/{id}/credential.jwt", b.handleCredentialFile)
	mux.HandleFunc("GET /credentials/{id}/badge.svg", b.handleBakedSVG)
	mux.HandleFunc("GET /credentials/{id}/badge.png", b.handleBakedPNG)
	mux.HandleFunc("POST /api/admin/badge-awards/{id}/revoke", s.requireRole(b.handleRevoke, optio.RoleAdmin))
	mux.HandleFunc("POST /admin/credentials/{id}/revoke", s.requirePageRole(b.handleRevokeForm, optio.RoleAdmin))
}

// loadIssuer returns the credential issuer, reading Optio's signing keys
// from the database (creating the first one on the very first use) at most
// once a minute, or sooner when force is set (a kid this process has not
// seen may be a key another process just rotated in) and the last read is
// more than issuerForceGap old.
func (b *badgeWeb) loadIssuer(ctx context.Context, force bool) (*openbadges.Issuer, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	now := b.s.now()
	age := now.Sub(b.loaded)
	if b.issuer != nil && (age < issuerTTL && !force || age < issuerForceGap) {
		return b.issuer, nil
	}
	is, err := openbadges.LoadIssuer(ctx, b.s.Store, b.s.Config.BaseURL)
	if err != nil {
		return nil, err
	}
	b.issuer, b.loaded = is, now
	return is, nil
}

// newSalt is a random salt for a recipient's email hash.
func newSalt() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// issued is an award with its credential, signed.
type issued struct {
	Award      *optio.BadgeAward
	Student    *optio.User
	Credential openbadges.Credential
	JWT        string
}

// issue signs the credential of an award: its status index and salt are
// assigned on the first issue, the recipient identifier hashes the
// student's current email.
func (b *badgeWeb) issue(ctx context.Context, awardID string) (*issued, error) {
	award, err := b.s.Store.IssueBadgeCredential(ctx, awardID, openbadges.StatusListSize, newSalt)
	if err != nil {
		return nil, err
	}
	student, err := b.s.Store.UserByID(ctx, award.UserID)
	if err != nil {
		return nil, err
	}
	is, err := b.loadIssuer(ctx, false)
	if err != nil {
		return nil, err
	}
	c := is.CredentialFor(award, student.Email)
	jwt, err := is.Sign(c)
	if err != nil {
		return nil, err
	}
	return &issued{Award: award, Student: student, Credential: c, JWT: jwt}, nil
}

// resolver verifies against Optio's own keys and status list, never
// fetching anything: a key or list of another origin is not Optio's.
type resolver struct{ b *badgeWeb }

func (r resolver) Key(ctx context.Context, kid string) (jwk.Key, error) {
	is, err := r.b.loadIssuer(ctx, false)
	if err != nil {
		return nil, err
	}
	if k, ok := is.PublicKey(kid); ok {
		return k, nil
	}
	if !strings.HasPrefix(kid, is.BaseURL()+openbadges.KeysPath) {
		return nil, fmt.Errorf("not a key Optio serves")
	}
	if is, err = r.b.loadIssuer(ctx, true); err != nil {
		return nil, err
	}
	if k, ok := is.PublicKey(kid); ok {
		return k, nil
	}
	return nil, fmt.Errorf("not a key Optio serves")
}

func (r resolver) StatusList(ctx context.Context, listURL string) (*openbadges.StatusList, error) {
	is, err := r.b.loadIssuer(ctx, false)
	if err != nil {
		return nil, err
	}
	if listURL != is.BaseURL()+openbadges.StatusListPath {
		return nil, fmt.Errorf("not a status list Optio serves")
	}
	return r.b.statusList(ctx)
}

// statusList is the revocation list as the store has it now.
func (b *badgeWeb) statusList(ctx context.Context) (*openbadges.StatusList, error) {
	revoked, err := b.s.Store.RevokedStatusIndexes(ctx)
	if err != nil {
		return nil, err
	}
	l := openbadges.NewStatusList()
	for _, i := range revoked {
		if err := l.Set(i); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// verification is the answer of POST /credentials/verify and the check on
// each credential page.
type verification struct {
	Verified   bool                   `json:"verified"`
	Revoked    bool                   `json:"revoked"`
	Error      string                 `json:"error,omitempty"`
	KeyID      string                 `json:"kid,omitempty"`
	Credential *openbadges.Credential `json:"credential,omitempty"`
	// Reason is the admin's reason when Optio revoked the credential.
	Reason string `json:"revocation_reason,omitempty"`
}

// verify checks a VC-JWT the way an outside verifier would, against the
// keys and status list Optio serves; a credential that fails is an answer
// (Verified false, with the reason), not an error.
func (b *badgeWeb) verify(ctx context.Context, token string) (*verification, error) {
	res, err := openbadges.Verify(ctx, token, resolver{b}, b.s.now())
	if errors.Is(err, openbadges.ErrNotVerified) {
		return &verification{Error: strings.TrimPrefix(err.Error(), openbadges.ErrNotVerified.Error()+": ")}, nil
	}
	if err != nil {
		return nil, err
	}
	v := &verification{Verified: !res.Revoked, Revoked: res.Revoked, KeyID: res.KeyID, Credential: res.Credential}
	if res.Revoked {
		is, err := b.loadIssuer(ctx, false)
		if err != nil {
			return nil, err
		}
		if id, ok := strings.CutPrefix(res.Credential.ID, is.BaseURL()+openbadges.CredentialPath("")); ok {
			if a, err := b.s.Store.BadgeAwardByID(ctx, id); err == nil {
				v.Reason = a.RevokedReason
			}
		}
	}
	return v, nil
}

func (b *badgeWeb) handleIssuerProfile(w http.ResponseWriter, r *http.Request) {
	is, err := b.loadIssuer(r.Context(), false)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	p := is.Profile()
	p.Context = openbadges.Contexts
	p.Description = "Optio issues Open Badges to students for Spark courses completed and XP earned in them."
	writePublicJSON(w, "application/ld+json", p)
}

func (b *badgeWeb) handleKey(w http.ResponseWriter, r *http.Request) {
	is, err := b.loadIssuer(r.Context(), false)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	key, err := resolver{b}.Key(r.Context(), is.KeyURL(r.PathValue("kid")))
	if err != nil {
		b.s.Error(w, r, optio.Errorf(optio.ENOTFOUND, "Key not found."))
		return
	}
	writePublicJSON(w, "application/jwk+json", key)
}

func (b *badgeWeb) handleJWKS(w http.ResponseWriter, r *http.Request) {
	is, err := b.loadIssuer(r.Context(), false)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writePublicJSON(w, "application/jwk-set+json", is.JWKS())
}

// writePublicJSON answers what verifiers anywhere fetch: cacheable briefly,
// readable cross-origin.
func writePublicJSON(w http.ResponseWriter, contentType string, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", contentType)
	w.Header().Set("Cache-Control", "public, max-age=300")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write(body)
}

// handleStatusList serves the BitstringStatusListCredential as a VC-JWT. It
// is built for every request, so a revocation shows at once; the short
// cache matches the list's own validity.
func (b *badgeWeb) handleStatusList(w http.ResponseWriter, r *http.Request) {
	is, err := b.loadIssuer(r.Context(), false)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	l, err := b.statusList(r.Context())
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	jwt, err := is.SignStatusList(is.StatusListCredential(l, b.s.now()))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/vc+jwt")
	w.Header().Set("Cache-Control", "public, max-age=60")
	w.Header().Set("Access-Control-Allow-Origin", "*")
	_, _ = w.Write([]byte(jwt))
}

// credentialFormat is what a request for a credential's URL asks for: its
// page ("html"), its JSON-LD ("jsonld") or its VC-JWT ("jwt"), by the first
// of those the Accept header names.
func credentialFormat(r *http.Request) string {
	for _, part := range strings.Split(r.Header.Get("Accept"), ",") {
		mt, _, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		switch mt {
		case "application/ld+json", "application/vc+ld+json", "application/vc", "application/json":
			return "jsonld"
		case "application/vc+jwt", "application/jwt":
			return "jwt"
		case "text/html":
			return "html"
		}
	}
	return "html"
}

// credentialPage is what the verification page shows.
type credentialPage struct {
	Award *optio.BadgeAward
	// Name is the student's name, "" when their portfolio settings hide it
	// from this viewer.
	Name         string
	PortfolioURL string
	Criteria     string
	Check        *verification
	URL          string
	LinkedIn     string
	Share        string
	IsAdmin      bool
}

func (b *badgeWeb) handleCredentialPage(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	iss, err := b.issue(ctx, r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	w.Header().Set("Vary", "Accept")
	switch credentialFormat(r) {
	case "jwt":
		w.Header().Set("Content-Type", "application/vc+jwt")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write([]byte(iss.JWT))
		return
	case "jsonld":
		body, err := json.Marshal(iss.Credential)
		if err != nil {
			b.s.Error(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/ld+json")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		_, _ = w.Write(body)
		return
	}
	check, err := b.verify(ctx, iss.JWT)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	acc, err := b.s.portfolioAccess(ctx, userOf(r), iss.Student)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	p := credentialPage{Award: iss.Award, Criteria: iss.Credential.CredentialSubject.Achievement.Criteria.Narrative,
		Check: check, URL: iss.Credential.ID, Share: iss.Credential.ID,
		IsAdmin: userOf(r) != nil && userOf(r).Role == optio.RoleAdmin}
	if acc != accessNone {
		p.Name = iss.Student.DisplayName()
		if iss.Student.PortfolioSlug != "" {
			p.PortfolioURL = "/portfolio/" + iss.Student.PortfolioSlug
		}
	}
	if iss.Award.RevokedAt == nil {
		p.LinkedIn = linkedInURL(iss.Award, iss.Credential.ID)
	}
	b.s.render(w, r, "credential", pageData{Title: iss.Award.Badge.Name, Data: p})
}

// linkedInURL is LinkedIn's documented "Add to profile" link for a
// certification, filled from the credential.
func linkedInURL(a *optio.BadgeAward, credentialURL string) string {
	q := url.Values{}
	q.Set("startTask", "CERTIFICATION_NAME")
	q.Set("name", a.Badge.Name)
	q.Set("organizationName", "Optio")
	q.Set("issueYear", strconv.Itoa(a.EarnedAt.Year()))
	q.Set("issueMonth", strconv.Itoa(int(a.EarnedAt.Month())))
	q.Set("certUrl", credentialURL)
	q.Set("certId", a.ID)
	return "https://www.linkedin.com/profile/add?" + q.Encode()
}

func (b *badgeWeb) handleCredentialFile(w http.ResponseWriter, r *http.Request) {
	iss, err := b.issue(r.Context(), r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="optio-badge.jwt"`)
	_, _ = w.Write([]byte(iss.JWT))
}

func (b *badgeWeb) handleBakedSVG(w http.ResponseWriter, r *http.Request) {
	iss, err := b.issue(r.Context(), r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	svg, err := openbadges.BakeSVG(badgeSVG(&iss.Award.Badge), iss.JWT)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "image/svg+xml")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; style-src 'none'; script-src 'none'; sandbox")
	h.Set("Cache-Control", "no-store")
	h.Set("Content-Disposition", `attachment; filename="optio-badge.svg"`)
	_, _ = w.Write([]byte(svg))
}

func (b *badgeWeb) handleBakedPNG(w http.ResponseWriter, r *http.Request) {
	iss, err := b.issue(r.Context(), r.PathValue("id"))
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	img, err := badgePNG(&iss.Award.Badge)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	baked, err := openbadges.BakePNG(img, iss.JWT)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Disposition", `attachment; filename="optio-badge.png"`)
	_, _ = w.Write(baked)
}

// handleVerify reads a credential — the VC-JWT as text, a baked PNG or SVG,
// as the request body or as the "file" of a multipart form — and answers
// whether it verifies: JSON, or the result page for a browser's form.
func (b *badgeWeb) handleVerify(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, maxVerifyUpload)
	form := false
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		form = true
	}
	page := form && strings.Contains(r.Header.Get("Accept"), "text/html")
	v, err := b.verifyUpload(r, form)
	switch {
	case page && optio.ErrorCode(err) == optio.EINVALID:
		b.s.renderStatus(w, r, http.StatusBadRequest, "credential_verify", pageData{Title: "Check a badge", Data: verifyPage{Problem: optio.ErrorMessage(err)}})
	case err != nil:
		b.s.Error(w, r, err)
	case page:
		b.s.render(w, r, "credential_verify", pageData{Title: "Check a badge", Data: verifyPage{Result: v}})
	default:
		writeJSON(w, http.StatusOK, v)
	}
}

// verifyPage is the result page of the "check a badge" form.
type verifyPage struct {
	Result  *verification
	Problem string
}

// verifyUpload reads the upload and verifies the credential in it.
func (b *badgeWeb) verifyUpload(r *http.Request, form bool) (*verification, error) {
	var data []byte
	var err error
	if form {
		f, _, ferr := r.FormFile("file")
		if ferr != nil {
			return nil, &optio.Error{Code: optio.EINVALID, Message: "Choose a badge image or credential file to check.",
				Fields: map[string]string{"file": "is required"}}
		}
		defer f.Close()
		data, err = io.ReadAll(f)
	} else {
		data, err = io.ReadAll(r.Body)
	}
	if err != nil {
		return nil, optio.Errorf(optio.EINVALID, "The upload could not be read (at most %d bytes).", maxVerifyUpload)
	}
	token, err := openbadges.Extract(data)
	if err != nil {
		return nil, optio.Errorf(optio.EINVALID, "No Open Badges credential found: send a VC-JWT, or a baked PNG or SVG badge.")
	}
	return b.verify(r.Context(), token)
}

type revokeInput struct {
	Reason string `json:"reason"`
}

func (b *badgeWeb) handleRevoke(w http.ResponseWriter, r *http.Request) {
	var in revokeInput
	if err := decodeJSON(w, r, 16<<10, &in); err != nil {
		b.s.Error(w, r, err)
		return
	}
	a, err := b.s.Store.RevokeBadgeAward(r.Context(), r.PathValue("id"), in.Reason, userOf(r).ID)
	if err != nil {
		b.s.Error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"award": a})
}

func (b *badgeWeb) handleRevokeForm(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		b.s.Error(w, r, optio.Errorf(optio.EINVALID, "The form could not be read."))
		return
	}
	id := r.PathValue("id")
	if _, err := b.s.Store.RevokeBadgeAward(r.Context(), id, r.PostForm.Get("reason"), userOf(r).ID); err != nil {
		b.s.Error(w, r, err)
		return
	}
	http.Redirect(w, r, openbadges.CredentialPath(id)+"?flash="+url.QueryEscape("Badge revoked."), http.StatusSeeOther)
}
