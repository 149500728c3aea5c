package optio

// Error codes of the SSO defences against login CSRF (issue 17): a sign-in
// link may only be followed as a top-level navigation, and switching the
// signed-in person needs their confirmation.
const (
	// ESSONotNavigation: /spark/sso was loaded as an image, a script, by
	// fetch() or in a frame Optio does not expect, not opened as a page.
	ESSONotNavigation = "sso_not_navigation"
	// ESSOSwitchUnconfirmed: the confirmation to switch accounts was not
	// sent from Optio's own page for this browser's session.
	ESSOSwitchUnconfirmed = "sso_switch_unconfirmed"
)
