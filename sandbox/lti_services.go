package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/optio-edu/optio"
)

// The LTI Advantage services: the OAuth 2 token endpoint (client
// credentials with a private_key_jwt client assertion, 1EdTech Security
// Framework 4.1), Names and Role Provisioning Services 2.0 and Assignment
// and Grade Services 2.0.

// Media types of NRPS and AGS.
const (
	mediaMembership    = "application/vnd.ims.lti-nrps.v2.membershipcontainer+json"
	mediaLineItem      = "application/vnd.ims.lis.v2.lineitem+json"
	mediaLineItems     = "application/vnd.ims.lis.v2.lineitemcontainer+json"
	mediaScore         = "application/vnd.ims.lis.v1.score+json"
	mediaResults       = "application/vnd.ims.lis.v2.resultcontainer+json"
	assertionJWTBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
)

// handleToken is the token endpoint.
func (s *Sandbox) handleToken(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	oauthError := func(status int, code, desc string) {
		s.log.Info("sandbox: lti token refused", "error", code, "description", desc)
		writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxAPIBody)
	if err := r.ParseForm(); err != nil {
		oauthError(http.StatusBadRequest, "invalid_request", "the body must be an application/x-www-form-urlencoded form")
		return
	}
	f := r.PostForm
	if f.Get("grant_type") != "client_credentials" {
		oauthError(http.StatusBadRequest, "unsupported_grant_type", "grant_type must be client_credentials")
		return
	}
	if f.Get("client_assertion_type") != assertionJWTBearer {
		oauthError(http.StatusBadRequest, "invalid_request", "client_assertion_type must be "+assertionJWTBearer)
		return
	}
	t, claims, err := s.verifyToolJWT(r.Context(), f.Get("client_assertion"))
	if err != nil {
		oauthError(http.StatusUnauthorized, "invalid_client", "client_assertion: "+err.Error())
		return
	}
	e := s.ltiEndpoints()
	jti := claimString(claims, "jti")
	switch {
	case claimString(claims, "sub") != t.ClientID:
		oauthError(http.StatusUnauthorized, "invalid_client", "client_assertion: sub must be the client id")
		return
	case !audienceHas(claims["aud"], e.Token) && !audienceHas(claims["aud"], e.Issuer):
		oauthError(http.StatusUnauthorized, "invalid_client", "client_assertion: aud must be the token endpoint "+e.Token)
		return
	case jti == "":
		oauthError(http.StatusUnauthorized, "invalid_client", "client_assertion: jti is required")
		return
	}
	requested := splitScopes(f.Get("scope"))
	var granted []string
	for _, sc := range requested {
		if slices.Contains(t.Scopes, sc) && !slices.Contains(granted, sc) {
			granted = append(granted, sc)
		}
	}
	if len(granted) == 0 {
		oauthError(http.StatusBadRequest, "invalid_scope", "none of the requested scopes is granted to this client")
		return
	}
	now := s.clock.Now()
	exp, _ := numericDate(claims, "exp")
	lp := s.lti
	lp.mu.Lock()
	pruneUsed(lp.usedJTIs, now)
	for tok, at := range lp.accessTokens {
		if now.After(at.expires) {
			delete(lp.accessTokens, tok)
		}
	}
	key := t.ClientID + "|" + jti
	if _, used := lp.usedJTIs[key]; used {
		lp.mu.Unlock()
		oauthError(http.StatusUnauthorized, "invalid_client", "client_assertion: jti was already used (a replay)")
		return
	}
	lp.usedJTIs[key] = exp
	token := randomToken() + randomToken()
	lp.accessTokens[token] = &accessToken{clientID: t.ClientID, scopes: granted, expires: now.Add(accessTokenTTL)}
	lp.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{
		"access_token": token, "token_type": "Bearer", "expires_in": int(accessTokenTTL / time.Second), "scope": strings.Join(granted, " "),
	})
}

// serviceToken checks the request's bearer access token holds one of anyOf.
func (s *Sandbox) serviceToken(w http.ResponseWriter, r *http.Request, anyOf ...string) (*accessToken, error) {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	lp := s.lti
	lp.mu.Lock()
	at := lp.accessTokens[strings.TrimSpace(token)]
	lp.mu.Unlock()
	if !strings.EqualFold(scheme, "Bearer") || at == nil || s.clock.Now().After(at.expires) {
		w.Header().Set("WWW-Authenticate", `Bearer realm="spark-sandbox-lti", error="invalid_token"`)
		return nil, optio.Errorf(optio.EUNAUTHORIZED, "Send an access token from the token endpoint as Authorization: Bearer <token>.")
	}
	for _, sc := range anyOf {
		if slices.Contains(at.scopes, sc) {
			return at, nil
		}
	}
	w.Header().Set("WWW-Authenticate", `Bearer realm="spark-sandbox-lti", error="insufficient_scope", scope="`+strings.Join(anyOf, " ")+`"`)
	return nil, optio.Errorf(optio.EFORBIDDEN, "The access token lacks the scope %s.", strings.Join(anyOf, " or "))
}

// writeMedia writes v as JSON with an LTI media type.
func writeMedia(w http.ResponseWriter, status int, mediaType string, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, "Internal error.", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", mediaType)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// pageOf reads limit (default the sandbox's PageSize, at most 1000) and
// page (from 1), and returns the slice bounds of n items and the next
// page's URL ("" on the last page).
func (s *Sandbox) pageOf(r *http.Request, n int) (from, to int, next string, err error) {
	q := r.URL.Query()
	limit, page := s.cfg.PageSize, 1
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, "", &optio.Error{Code: optio.EINVALID, Message: "The paging is invalid.", Fields: map[string]string{"limit": "a whole number from 1 to 1000"}}
		}
	}
	if v := q.Get("page"); v != "" {
		if page, err = strconv.Atoi(v); err != nil || page < 1 {
			return 0, 0, "", &optio.Error{Code: optio.EINVALID, Message: "The paging is invalid.", Fields: map[string]string{"page": "a whole number from 1"}}
		}
	}
	from = min((page-1)*limit, n)
	to = min(from+limit, n)
	if to < n {
		next = s.pageURL(r, page+1)
	}
	return from, to, next, nil
}

func (s *Sandbox) pageURL(r *http.Request, page int) string {
	q := r.URL.Query()
	q.Set("page", strconv.Itoa(page))
	return s.URL() + r.URL.Path + "?" + q.Encode()
}

// handleMemberships is the NRPS context membership service.
func (s *Sandbox) handleMemberships(w http.ResponseWriter, r *http.Request) {
	if _, err := s.serviceToken(w, r, ScopeMemberships); err != nil {
		s.apiError(w, r, err)
		return
	}
	c := s.courseByID[r.PathValue("id")]
	members, err := s.ltiMembers(r.PathValue("id"))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	from, to, next, err := s.pageOf(r, len(members))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	s.lti.mu.Lock()
	loop := s.lti.faults.nrpsLoop
	s.lti.mu.Unlock()
	if next == "" && loop {
		next = s.pageURL(r, 1)
	}
	if next != "" {
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	out := []map[string]any{}
	for _, m := range members[from:to] {
		status := "Active"
		if !m.Active {
			status = "Inactive"
		}
		var roles []string
		for _, role := range m.Roles {
			if strings.Contains(role, "/membership#") {
				roles = append(roles, role)
			}
		}
		out = append(out, map[string]any{
			"status": status, "user_id": m.User.ID, "name": m.User.Name(), "given_name": m.User.GivenName,
			"family_name": m.User.FamilyName, "email": m.User.Email, "roles": roles,
		})
	}
	writeMedia(w, http.StatusOK, mediaMembership, map[string]any{
		"id":      s.URL() + r.URL.RequestURI(),
		"context": map[string]any{"id": c.ID, "label": c.ID, "title": c.Title},
		"members": out,
	})
}

// lineItemJSON is a line item as AGS carries it.
type lineItemJSON struct {
	ID             string  `json:"id,omitempty"`
	ScoreMaximum   float64 `json:"scoreMaximum"`
	Label          string  `json:"label"`
	ResourceID     string  `json:"resourceId,omitempty"`
	Tag            string  `json:"tag,omitempty"`
	ResourceLinkID string  `json:"resourceLinkId,omitempty"`
	StartDateTime  string  `json:"startDateTime,omitempty"`
	EndDateTime    string  `json:"endDateTime,omitempty"`
}

func lineItemOut(li *LTILineItem) lineItemJSON {
	return lineItemJSON{
		ID: li.URL, ScoreMaximum: li.ScoreMaximum, Label: li.Label, ResourceID: li.ResourceID, Tag: li.Tag,
		ResourceLinkID: li.ResourceLinkID, StartDateTime: li.StartDateTime, EndDateTime: li.EndDateTime,
	}
}

// newLineItem stores a line item; the caller holds lp.mu.
func (lp *ltiPlatform) newLineItem(s *Sandbox, courseID, clientID string, li LTILineItem) *LTILineItem {
	li.ID = "li-" + randomToken()[:12]
	li.CourseID, li.ClientID = courseID, clientID
	li.URL = s.LTIIssuer() + "/courses/" + url.PathEscape(courseID) + "/line_items/" + li.ID
	lp.lineItems = append(lp.lineItems, &li)
	return &li
}

// readMedia decodes a JSON body that must come as mediaType.
func readMedia(w http.ResponseWriter, r *http.Request, mediaType string, v any) error {
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != mediaType {
		return optio.Errorf(optio.EUNSUPPORTED, "Send the body as %s.", mediaType)
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxAPIBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return optio.Errorf(optio.ETOOLARGE, "The body is larger than %d bytes.", maxAPIBody)
		}
		return fmt.Errorf("read body: %w", err)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return optio.Errorf(optio.EMALFORMED, "The body is not JSON of the expected shape: %v.", err)
	}
	return nil
}

// checkLineItem validates a line item from a tool; the caller holds lp.mu.
func (lp *ltiPlatform) checkLineItem(courseID, clientID string, in lineItemJSON) error {
	fields := map[string]string{}
	if strings.TrimSpace(in.Label) == "" {
		fields["label"] = "required"
	}
	if in.ScoreMaximum <= 0 {
		fields["scoreMaximum"] = "a number above 0"
	}
	if in.ResourceLinkID != "" {
		if p := lp.placement(courseID, clientID, in.ResourceLinkID); p == nil || p.ID != in.ResourceLinkID {
			fields["resourceLinkId"] = "not a resource link of this tool in this course"
		}
	}
	for name, v := range map[string]string{"startDateTime": in.StartDateTime, "endDateTime": in.EndDateTime} {
		if _, err := time.Parse(time.RFC3339, v); v != "" && err != nil {
			fields[name] = "an ISO 8601 date-time with a time zone"
		}
	}
	if len(fields) > 0 {
		return &optio.Error{Code: optio.EINVALID, Message: "The line item is invalid.", Fields: fields}
	}
	return nil
}

// agsRequest runs the steps every AGS endpoint shares: the 429 fault, the
// access token, the course.
func (s *Sandbox) agsRequest(w http.ResponseWriter, r *http.Request, scopes ...string) (*accessToken, string, bool) {
	if s.agsThrottled(w) {
		return nil, "", false
	}
	at, err := s.serviceToken(w, r, scopes...)
	if err == nil && s.courseByID[r.PathValue("id")] == nil {
		err = notFound("course", r.PathValue("id"))
	}
	if err != nil {
		s.apiError(w, r, err)
		return nil, "", false
	}
	return at, r.PathValue("id"), true
}

func (s *Sandbox) handleListLineItems(w http.ResponseWriter, r *http.Request) {
	at, courseID, ok := s.agsRequest(w, r, ScopeLineItem, ScopeLineItemReadOnly)
	if !ok {
		return
	}
	q := r.URL.Query()
	s.lti.mu.Lock()
	var items []lineItemJSON
	for _, li := range s.lti.lineItems {
		if li.CourseID != courseID || li.ClientID != at.clientID ||
			(q.Has("resource_link_id") && li.ResourceLinkID != q.Get("resource_link_id")) ||
			(q.Has("resource_id") && li.ResourceID != q.Get("resource_id")) ||
			(q.Has("tag") && li.Tag != q.Get("tag")) {
			continue
		}
		items = append(items, lineItemOut(li))
	}
	s.lti.mu.Unlock()
	from, to, next, err := s.pageOf(r, len(items))
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	if next != "" {
		w.Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	writeMedia(w, http.StatusOK, mediaLineItems, append([]lineItemJSON{}, items[from:to]...))
}

// lineItem finds the tool's line item named by the path; the caller holds lp.mu.
func (lp *ltiPlatform) lineItem(courseID, clientID, id string) (*LTILineItem, int) {
	for i, li := range lp.lineItems {
		if li.CourseID == courseID && li.ClientID == clientID && li.ID == id {
			return li, i
		}
	}
	return nil, -1
}

func (s *Sandbox) handleGetLineItem(w http.ResponseWriter, r *http.Request) {
	at, courseID, ok := s.agsRequest(w, r, ScopeLineItem, ScopeLineItemReadOnly)
	if !ok {
		return
	}
	s.lti.mu.Lock()
	li, _ := s.lti.lineItem(courseID, at.clientID, r.PathValue("lid"))
	var out lineItemJSON
	if li != nil {
		out = lineItemOut(li)
	}
	s.lti.mu.Unlock()
	if li == nil {
		s.apiError(w, r, notFound("line item", r.PathValue("lid")))
		return
	}
	writeMedia(w, http.StatusOK, mediaLineItem, out)
}

// handleSaveLineItem creates a line item (POST to the container) or
// replaces one (PUT to the line item; its id, if sent, must be its URL).
func (s *Sandbox) handleSaveLineItem(w http.ResponseWriter, r *http.Request) {
	at, courseID, ok := s.agsRequest(w, r, ScopeLineItem)
	if !ok {
		return
	}
	var in lineItemJSON
	if err := readMedia(w, r, mediaLineItem, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	lid := r.PathValue("lid")
	lp := s.lti
	lp.mu.Lock()
	var li *LTILineItem
	err := lp.checkLineItem(courseID, at.clientID, in)
	if lid != "" {
		li, _ = lp.lineItem(courseID, at.clientID, lid)
		switch {
		case li == nil:
			err = notFound("line item", lid)
		case err == nil && in.ID != "" && in.ID != li.URL:
			err = &optio.Error{Code: optio.EINVALID, Message: "The line item is invalid.", Fields: map[string]string{"id": "must be the line item's URL or absent"}}
		}
	}
	if err != nil {
		lp.mu.Unlock()
		s.apiError(w, r, err)
		return
	}
	fields := LTILineItem{
		Label: in.Label, ScoreMaximum: in.ScoreMaximum, ResourceID: in.ResourceID, Tag: in.Tag,
		ResourceLinkID: in.ResourceLinkID, StartDateTime: in.StartDateTime, EndDateTime: in.EndDateTime,
	}
	status := http.StatusOK
	if li == nil {
		li, status = lp.newLineItem(s, courseID, at.clientID, fields), http.StatusCreated
	} else {
		fields.ID, fields.URL, fields.CourseID, fields.ClientID = li.ID, li.URL, li.CourseID, li.ClientID
		*li = fields
	}
	out := lineItemOut(li)
	lp.mu.Unlock()
	if status == http.StatusCreated {
		w.Header().Set("Location", out.ID)
	}
	writeMedia(w, status, mediaLineItem, out)
}

func (s *Sandbox) handleDeleteLineItem(w http.ResponseWriter, r *http.Request) {
	at, courseID, ok := s.agsRequest(w, r, ScopeLineItem)
	if !ok {
		return
	}
	lp := s.lti
	lp.mu.Lock()
	li, i := lp.lineItem(courseID, at.clientID, r.PathValue("lid"))
	if li != nil {
		lp.lineItems = slices.Delete(lp.lineItems, i, i+1)
		for k, res := range lp.results {
			if res.LineItemID == li.ID {
				delete(lp.results, k)
			}
		}
		for _, p := range lp.placements {
			if p.LineItemID == li.ID {
				p.LineItemID = ""
			}
		}
	}
	lp.mu.Unlock()
	if li == nil {
		s.apiError(w, r, notFound("line item", r.PathValue("lid")))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// scoreJSON is a score as a tool posts it (AGS 2.0 Score publish service).
type scoreJSON struct {
	UserID           string   `json:"userId"`
	ScoreGiven       *float64 `json:"scoreGiven"`
	ScoreMaximum     *float64 `json:"scoreMaximum"`
	Comment          string   `json:"comment"`
	Timestamp        string   `json:"timestamp"`
	ActivityProgress string   `json:"activityProgress"`
	GradingProgress  string   `json:"gradingProgress"`
}

var (
	activityProgresses = []string{"Initialized", "Started", "InProgress", "Submitted", "Completed"}
	gradingProgresses  = []string{"FullyGraded", "Pending", "PendingManual", "Failed", "NotReady"}
)

// handlePostScore stores a score as the user's result for the line item.
// A score older than the result on record is refused (409); the same score
// sent again (a retry) changes nothing.
func (s *Sandbox) handlePostScore(w http.ResponseWriter, r *http.Request) {
	at, courseID, ok := s.agsRequest(w, r, ScopeScore)
	if !ok {
		return
	}
	var in scoreJSON
	if err := readMedia(w, r, mediaScore, &in); err != nil {
		s.apiError(w, r, err)
		return
	}
	members, err := s.ltiMembers(courseID)
	if err != nil {
		s.apiError(w, r, err)
		return
	}
	fields := map[string]string{}
	learner := false
	for _, m := range members {
		learner = learner || (m.User.ID == in.UserID && slices.Contains(m.Roles, RoleLearner))
	}
	if !learner {
		fields["userId"] = "not a student of this course"
	}
	if !slices.Contains(activityProgresses, in.ActivityProgress) {
		fields["activityProgress"] = "one of " + strings.Join(activityProgresses, ", ")
	}
	if !slices.Contains(gradingProgresses, in.GradingProgress) {
		fields["gradingProgress"] = "one of " + strings.Join(gradingProgresses, ", ")
	}
	ts, terr := time.Parse(time.RFC3339Nano, in.Timestamp)
	if terr != nil {
		fields["timestamp"] = "an ISO 8601 date-time with a time zone"
	}
	if in.ScoreGiven != nil && *in.ScoreGiven < 0 {
		fields["scoreGiven"] = "0 or more"
	}
	if in.ScoreGiven != nil && (in.ScoreMaximum == nil || *in.ScoreMaximum <= 0) {
		fields["scoreMaximum"] = "required above 0 with scoreGiven"
	}
	if len(fields) > 0 {
		s.apiError(w, r, &optio.Error{Code: optio.EINVALID, Message: "The score is invalid.", Fields: fields})
		return
	}
	sc := LTIScore{
		CourseID: courseID, LineItemID: r.PathValue("lid"), ClientID: at.clientID, UserID: in.UserID,
		ScoreGiven: in.ScoreGiven, ScoreMaximum: in.ScoreMaximum, Comment: in.Comment,
		ActivityProgress: in.ActivityProgress, GradingProgress: in.GradingProgress, Timestamp: ts, ReceivedAt: s.clock.Now(),
	}
	lp := s.lti
	lp.mu.Lock()
	defer lp.mu.Unlock()
	if li, _ := lp.lineItem(courseID, at.clientID, sc.LineItemID); li == nil {
		s.apiError(w, r, notFound("line item", sc.LineItemID))
		return
	}
	key := sc.LineItemID + "|" + sc.UserID
	if old := lp.results[key]; old != nil && !old.Timestamp.Before(ts) {
		if old.Timestamp.Equal(ts) && sameScore(*old, sc) {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		s.apiError(w, r, optio.Errorf(optio.ECONFLICT, "A score with timestamp %s or later is already on record for this user and line item.", in.Timestamp))
		return
	}
	lp.results[key] = &sc
	lp.scores = append(lp.scores, sc)
	w.WriteHeader(http.StatusNoContent)
}

func sameScore(a, b LTIScore) bool {
	a.ReceivedAt, b.ReceivedAt = time.Time{}, time.Time{}
	return reflect.DeepEqual(a, b)
}

// handleResults is the AGS result service.
func (s *Sandbox) handleResults(w http.ResponseWriter, r *http.Request) {
	at, courseID, ok := s.agsRequest(w, r, ScopeResultReadOnly)
	if !ok {
		return
	}
	lp := s.lti
	lp.mu.Lock()
	li, _ := lp.lineItem(courseID, at.clientID, r.PathValue("lid"))
	out := []map[string]any{}
	if li != nil {
		for _, res := range lp.results {
			if res.LineItemID != li.ID || (r.URL.Query().Has("user_id") && res.UserID != r.URL.Query().Get("user_id")) {
				continue
			}
			item := map[string]any{"id": li.URL + "/results/" + url.PathEscape(res.UserID), "scoreOf": li.URL, "userId": res.UserID}
			if res.ScoreGiven != nil {
				item["resultScore"] = *res.ScoreGiven
				item["resultMaximum"] = *res.ScoreMaximum
			}
			if res.Comment != "" {
				item["comment"] = res.Comment
			}
			out = append(out, item)
		}
	}
	lp.mu.Unlock()
	if li == nil {
		s.apiError(w, r, notFound("line item", r.PathValue("lid")))
		return
	}
	slices.SortFunc(out, func(a, b map[string]any) int { return strings.Compare(a["userId"].(string), b["userId"].(string)) })
	writeMedia(w, http.StatusOK, mediaResults, out)
}
