package optio_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/optio-edu/optio"
)

func TestSparkCoursePillar(t *testing.T) {
	t.Parallel()
	for title, want := range map[string]optio.Pillar{
		"Digital Illustration":        optio.PillarArt,
		"Art of the Renaissance":      optio.PillarArt,
		"Graphic Design 101":          optio.PillarArt,
		"Marine Biology":              optio.PillarSTEM,
		"AP Physics":                  optio.PillarSTEM,
		"Mathematics for Makers":      optio.PillarSTEM,
		"Zoology: Big Cats":           optio.PillarSTEM,
		"Creative Writing":            optio.PillarCommunication,
		"US History":                  optio.PillarCivics,
		"Health & Fitness":            optio.PillarWellness,
		"Physical Education":          optio.PillarWellness,
		"PE and Health":               optio.PillarWellness,
		"Physical Science":            optio.PillarSTEM,
		"Social Studies":              optio.PillarCivics,
		"World History":               optio.PillarCivics,
		"Civics and Government":       optio.PillarCivics,
		"American Government":         optio.PillarCivics,
		"Spanish I":                   optio.PillarCommunication,
		"World Languages":             optio.PillarCommunication,
		"English Language Arts":       optio.PillarCommunication,
		"American Literature":         optio.PillarCommunication,
		"Music Theory":                optio.PillarArt,
		"Intro to Music":              optio.PillarArt,
		"Studio Art":                  optio.PillarArt,
		"Theatre Arts":                optio.PillarArt,
		"Chemistry":                   optio.PillarSTEM,
		"Algebra II":                  optio.PillarSTEM,
		"Starting a Business":         optio.PillarSTEM, // "start" is not "art"; no subject word: the default
		"Articles and Essays Unknown": optio.PillarSTEM,
		"":                            optio.PillarSTEM,
	} {
		require.Equal(t, want, optio.SparkCoursePillar(title), title)
	}
}

func TestSparkTaskXP(t *testing.T) {
	t.Parallel()
	f := func(v float64) *float64 { return &v }
	require.Equal(t, 100, optio.SparkTaskXP(nil))
	require.Equal(t, 100, optio.SparkTaskXP(f(0)))
	require.Equal(t, 43, optio.SparkTaskXP(f(42.6)))
	require.Equal(t, 1000, optio.SparkTaskXP(f(1e9)))
}
