package sandbox

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"

	"github.com/optio-edu/optio/spark"
)

// Simulation is a class of made-up students who enrol and then submit work
// over time, for demos and load tests.
type Simulation struct {
	// Students is the class size (1–10000).
	Students int
	// Every is the time between two submissions across the class. Default 2s.
	Every time.Duration
	// Seed makes the class and its choices repeatable. Default 1.
	Seed uint64
}

var (
	simGiven  = []string{"Aria", "Ben", "Chloe", "Diego", "Emma", "Finn", "Grace", "Hiro", "Isla", "Jonah", "Kira", "Liam", "Mia", "Nico", "Olive", "Priya", "Quinn", "Ravi", "Sara", "Theo"}
	simFamily = []string{"Adams", "Baker", "Cruz", "Diaz", "Evans", "Fox", "Garcia", "Hughes", "Ito", "Jones", "Khan", "Lopez", "Moore", "Nguyen", "Olsen", "Patel"}
)

// StartSimulation adds sim.Students students (ids spark-sim-0001…), enrols
// each in two or three courses (roster webhooks), and then, every
// sim.Every, has a random student submit a random sample to one of their
// assignments. It runs until Close.
func (s *Sandbox) StartSimulation(sim Simulation) error {
	if sim.Students < 1 || sim.Students > 10000 {
		return fmt.Errorf("sandbox: simulate %d students: choose 1 to 10000", sim.Students)
	}
	if sim.Every <= 0 {
		sim.Every = 2 * time.Second
	}
	if sim.Seed == 0 {
		sim.Seed = 1
	}
	rng := rand.New(rand.NewPCG(sim.Seed, sim.Seed^0x5eed))
	ctx, cancel := context.WithCancel(context.Background())
	s.mu.Lock()
	if s.stopSim != nil {
		s.mu.Unlock()
		cancel()
		return errors.New("sandbox: a simulation is already running")
	}
	s.stopSim = cancel
	var ids []string
	for i := range sim.Students {
		id := fmt.Sprintf("spark-sim-%04d", i+1)
		if s.userByID[id] != nil {
			continue
		}
		g, f := simGiven[rng.IntN(len(simGiven))], simFamily[rng.IntN(len(simFamily))]
		u := &User{ID: id, Role: RoleStudent, GivenName: g, FamilyName: f,
			Email: fmt.Sprintf("%s.%s.%04d@spark.example", lowerASCII(g), lowerASCII(f), i+1)}
		s.users = append(s.users, u)
		s.userByID[id] = u
		ids = append(ids, id)
	}
	s.mu.Unlock()

	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		for _, id := range ids {
			for _, k := range rng.Perm(len(s.courses))[:2+rng.IntN(2)] {
				if !s.simStep(ctx, func() error {
					_, err := s.Roster(ctx, id, s.courses[k].ID, spark.RosterEnroll)
					return err
				}) {
					return
				}
			}
		}
		t := time.NewTicker(sim.Every)
		defer t.Stop()
		samples := SampleFiles()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			id := ids[rng.IntN(len(ids))]
			courses := s.Enrollments(id)
			var choices []string
			for _, c := range s.courses {
				if e, ok := courses[c.ID]; ok && e.Status == StatusActive {
					for _, a := range c.Assignments {
						choices = append(choices, a.ID)
					}
				}
			}
			if len(choices) == 0 {
				continue
			}
			aid := choices[rng.IntN(len(choices))]
			sample := samples[rng.IntN(len(samples))]
			text := fmt.Sprintf("Submission %d from the simulated class.", n+1)
			s.simStep(ctx, func() error {
				_, err := s.Submit(ctx, id, aid, text, []SampleFile{sample})
				return err
			})
		}
	}()
	return nil
}

// simStep runs one simulated action; it reports false once the simulation
// is stopping. A full webhook queue is logged and skipped, like a real
// sender shedding load.
func (s *Sandbox) simStep(ctx context.Context, f func() error) bool {
	if ctx.Err() != nil {
		return false
	}
	if err := f(); err != nil && ctx.Err() == nil {
		s.log.Warn("simulation step failed", "err", err)
	}
	return ctx.Err() == nil
}

func lowerASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
