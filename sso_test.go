package optio_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func TestSSORole(t *testing.T) {
	t.Parallel()
	const (
		none    = optio.Role("")
		student = optio.RoleStudent
		parent  = optio.RoleParent
		admin   = optio.RoleAdmin
		obs     = optio.RoleObserver
	)
	for _, tc := range []struct {
		existing, token optio.Role
		allow           bool
		want            optio.Role
		code            string
	}{
		{none, student, false, student, ""},
		{none, parent, false, parent, ""},
		{none, admin, false, none, optio.ESSOAdminNotAllowed},
		{none, admin, true, admin, ""},
		{student, student, false, student, ""},
		{student, parent, false, none, optio.ESSORoleMismatch},
		{student, parent, true, none, optio.ESSORoleMismatch},
		{student, admin, false, none, optio.ESSOAdminNotAllowed},
		{student, admin, true, admin, ""},
		{parent, student, false, none, optio.ESSORoleMismatch},
		{obs, student, false, none, optio.ESSORoleMismatch},
		{admin, student, false, none, optio.ESSOAdminNotAllowed},
		{admin, student, true, none, optio.ESSORoleMismatch},
		{admin, admin, true, admin, ""},
	} {
		got, err := optio.SSORole(tc.existing, tc.token, tc.allow)
		require.Equal(t, tc.code, optio.ErrorCode(err), "%+v", tc)
		require.Equal(t, tc.want, got, "%+v", tc)
	}
}
