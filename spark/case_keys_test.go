package spark_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
	"github.com/optio-edu/optio/spark"
)

// Issue 17, item 5: encoding/json matches keys case-insensitively, so a
// signed body with "spark_user_id" and "Spark_User_Id" meant a different
// student to Optio (the last wins) than to a case-sensitive reader.
func TestDecodeRefusesCaseVariantKeys(t *testing.T) {
	t.Parallel()
	body := func(extra string) []byte {
		return []byte(`{"spark_user_id":"stu_1",` + extra + `"spark_assignment_id":"asg_1","spark_course_id":"crs_1",
			"submitted_at":"2026-03-01T14:00:00Z","submission_files":[{"filename":"a.txt","content_base64":"aGk="}]}`)
	}
	for name, tc := range map[string]struct {
		body       []byte
		key, field string
	}{
		"the attack":          {body(`"Spark_User_Id":"stu_victim",`), "Spark_User_Id", "spark_user_id"},
		"upper case":          {body(`"SPARK_COURSE_ID":"crs_2",`), "SPARK_COURSE_ID", "spark_course_id"},
		"long s folds to s":   {body(`"ſpark_assignment_id":"asg_2",`), "ſpark_assignment_id", "spark_assignment_id"},
		"nested file field":   {[]byte(strings.Replace(string(body("")), `"filename"`, `"FileName"`, 1)), "submission_files[0].FileName", "filename"},
		"alone, no duplicate": {[]byte(`{"Spark_User_Id":"stu_1","spark_assignment_id":"a","spark_course_id":"c","submitted_at":"2026-03-01T14:00:00Z","submission_text":"x"}`), "Spark_User_Id", "spark_user_id"},
	} {
		_, err := spark.DecodeSubmission(tc.body)
		require.Error(t, err, name)
		require.Equal(t, optio.EPAYLOAD, optio.ErrorCode(err), name)
		require.Contains(t, optio.ErrorMessage(err), tc.key, name)
		require.Contains(t, optio.ErrorMessage(err), tc.field, name)
		var oe *optio.Error
		require.ErrorAs(t, err, &oe)
		require.Contains(t, oe.Fields, tc.key, name)
	}

	// Keys no field matches in any case stay accepted (Spark may add fields),
	// also when two of them differ only in case.
	sub, err := spark.DecodeSubmission(body(`"spark_section":"B","Spark_Section":"C","x_extra":{"Nested":1},`))
	require.NoError(t, err)
	require.Equal(t, "stu_1", sub.SparkUserID)

	_, err = spark.DecodeRoster([]byte(`{"spark_user_id":"u","spark_course_id":"c","action":"enroll","Action":"drop","occurred_at":"2026-03-01T14:00:00Z"}`))
	require.Equal(t, optio.EPAYLOAD, optio.ErrorCode(err), "roster bodies too")
	_, err = spark.DecodeCourse([]byte(`{"spark_course_id":"c","course_title":"T","assignments":[{"spark_assignment_id":"a","Title":"x","title":"y"}]}`))
	require.Equal(t, optio.EPAYLOAD, optio.ErrorCode(err), "course bodies too")
}
