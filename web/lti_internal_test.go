package web

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

// TestLTICookiesReachAPlatformsFrame: an https Optio sets a launch's
// cookies SameSite=None; Secure; Partitioned, so they reach Optio inside
// the LMS's iframe; a plain-http Optio (the demo) cannot set Secure
// cookies and uses Lax, which reaches a frame of the same site.
func TestLTICookiesReachAPlatformsFrame(t *testing.T) {
	t.Parallel()
	s := &Server{Config: &optio.Config{BaseURL: "https://optio.school.test"}}
	c := s.ltiCookie(SessionCookie, "v", "/", 60)
	require.Equal(t, http.SameSiteNoneMode, c.SameSite)
	require.True(t, c.Secure)
	require.True(t, c.Partitioned)
	require.True(t, c.HttpOnly)
	require.Contains(t, c.String(), "SameSite=None")
	require.Contains(t, c.String(), "Partitioned")

	s = &Server{Config: &optio.Config{BaseURL: "http://127.0.0.1:8080"}}
	c = s.ltiCookie(SessionCookie, "v", "/", 60)
	require.Equal(t, http.SameSiteLaxMode, c.SameSite)
	require.False(t, c.Secure)
	require.True(t, c.HttpOnly)
}
